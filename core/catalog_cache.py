"""The versioned catalog cache: cached catalog responses and counts are never older than the
last catalog write.

Every cached catalog entry (an anonymous response body, a paginator COUNT) is stored with the
*catalog version* that was current when its reader started. Every write that changes what those
entries show (a product or category created, changed or deleted by a service, the admin or
`seed_demo`; stock taken or released by an order) calls `catalog_changed()`, which replaces the
version once its transaction commits. An entry whose stored version is not the current one is a
miss: the next read after a write reads the database and stores over it; entries nobody asks for
again age out with their TTL (`CATALOG_CACHE_SECONDS`, now only a memory bound).

One cache round trip per lookup (`catalog_lookup`): the entry's key does not depend on the
version, so the versions and the entry come back from one `get_many`, and the stored version is
compared with the current one. Under the web server's threads a round trip is most of what a cached
answer costs (docs/bench.md); a key holding the version would need the version first, then the
entry: two round trips.

Why after commit: a reader that took the new version before the writer's rows were visible
could store old rows under the new version. Bumping after commit means whoever sees the new
version also sees the committed rows; an entry stored with the old version by a reader that
raced the write never matches again.

Stock has a version of its own: orders take and release stock all the time, and the storefront's
product shape shows no stock, so a checkout need not empty the storefront's cached pages. An entry
that shows stock (the canonical product list and detail, the COUNT with `in_stock=`) is keyed on
both versions; the storefront's on the catalog version only. A staff write (stock included)
bumps the catalog version, which makes every entry stale.

A version is a random token, not a counter: if the key is evicted or Redis restarts, the new
token cannot collide with a version whose entries are still stored. When the cache cannot be
read (Redis down with IGNORE_EXCEPTIONS), `catalog_version()` is None and callers skip the cache.
A bump the cache did not take (a write committed while Redis did not answer) is retried by the
writing process at its next catalog lookup or bump (`_unbumped`).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

VERSION_KEY = "catalog:version"
STOCK_VERSION_KEY = "catalog:stock-version"
# The versions an entry depends on: with the stock version when it shows stock.
_VERSION_KEYS = {True: (VERSION_KEY, STOCK_VERSION_KEY), False: (VERSION_KEY,)}


def catalog_version(*, with_stock: bool = True) -> str | None:
    """The current catalog version (with the stock version unless `with_stock` is False), created
    on first use; None when the cache is unusable."""
    keys = _VERSION_KEYS[with_stock]
    found = cache.get_many(keys)
    if len(found) < len(keys):
        for key in keys:
            if key not in found:
                cache.add(key, uuid.uuid4().hex, None)
        found = cache.get_many(keys)
        if len(found) < len(keys):
            return None
    return ".".join(found[key] for key in keys)


# Versions a commit could not replace (the cache did not take the write: Redis down, with
# IGNORE_EXCEPTIONS). This process replaces them at its next catalog lookup or bump, so the
# entries stored before the outage stop being served once Redis is back, instead of until they
# expire. A process that ends before Redis comes back takes its list with it.
_unbumped: set[str] = set()
_unbumped_lock = threading.Lock()


def _bump(*keys: str) -> None:
    """A new token for each version in `keys` and each an earlier bump could not replace; the ones
    the cache does not take (read back: a failed write is silent) are kept for the next try."""
    with _unbumped_lock:
        tokens = {key: uuid.uuid4().hex for key in {*keys, *_unbumped}}
        _unbumped.clear()
    if not tokens:
        return
    cache.set_many(tokens, None)
    stored = cache.get_many(list(tokens))
    failed = {key for key, token in tokens.items() if stored.get(key) != token}
    if failed:
        with _unbumped_lock:
            _unbumped.update(failed)


def catalog_changed(*, stock_only: bool = False, using: str | None = None) -> None:
    """Invalidate the cached catalog when the current transaction commits (at once in autocommit):
    every entry, or with `stock_only` only the entries that show stock. Cheap (one cache write and
    its read-back), so callers may call it on every write path."""
    key = STOCK_VERSION_KEY if stock_only else VERSION_KEY
    transaction.on_commit(lambda: _bump(key), using=using)


class CatalogEntry:
    """One cached catalog entry as `catalog_lookup` found it: where it lives (`key`), the versions
    current at the lookup (`version`), and its value when it was stored with those versions
    (`value`; None on a miss)."""

    __slots__ = ("key", "value", "version")

    def __init__(self, key: str, version: str, value):
        self.key, self.version, self.value = key, version, value

    def store(self, value, timeout: int) -> None:
        """Store `value` with the versions of the lookup: a write since then makes it a miss."""
        cache.set(self.key, (self.version, value), timeout)


def catalog_lookup(kind: str, text: str, *, with_stock: bool = True) -> CatalogEntry | None:
    """The entry `catalog:<kind>:<sha256(text)>` and the current versions, in one cache round trip
    while the versions exist; None when the cache cannot hold a version (callers skip it)."""
    if _unbumped:  # a write while the cache was down: its versions first
        _bump()
    key = f"catalog:{kind}:" + hashlib.sha256(text.encode()).hexdigest()
    version_keys = _VERSION_KEYS[with_stock]
    found = cache.get_many([*version_keys, key])
    if any(version_key not in found for version_key in version_keys):  # first use, evicted, cache down
        version = catalog_version(with_stock=with_stock)
        return None if version is None else CatalogEntry(key, version, None)
    version = ".".join(found[version_key] for version_key in version_keys)
    stored = found.get(key)
    value = stored[1] if type(stored) is tuple and len(stored) == 2 and stored[0] == version else None
    return CatalogEntry(key, version, value)


def cache_anonymous(view_method=None, *, shows_stock: bool = True):
    """Serve anonymous JSON GETs from the versioned catalog cache, keyed by the absolute URL (one
    cache read per hit: `catalog_lookup`; the rendered body is what is stored).
    `shows_stock=False` for a view whose answer depends on no stock figure: stock taken or
    released by orders then leaves its entries in place.

    Decorates a DRF view's handler method (`def list(self, request, ...)`) directly, not through
    `method_decorator`, which would decorate it again on every request.

    Only for views whose anonymous answer is the same for every anonymous caller. Authenticated
    requests always run the view (staff see inactive products; nothing per-user is stored); on
    the canonical API a request with a token is authenticated or already a 401, on the
    storefront's lenient views `Bearer null` is anonymous. Off when CATALOG_CACHE_SECONDS is 0.

    The response says `Cache-Control: no-cache`: a browser or CDN copy would not see the
    version bump, so HTTP caches must come back to the server, which answers from this cache.
    It also says `Vary: Authorization`: shared HTTP caches must not mix anonymous and
    authenticated answers up.
    """

    if view_method is None:
        return lambda method: cache_anonymous(method, shows_stock=shows_stock)

    @wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        timeout = settings.CATALOG_CACHE_SECONDS
        renderer = getattr(request, "accepted_renderer", None)
        cacheable = (
            timeout
            and request.method == "GET"
            and not request.user.is_authenticated
            and renderer is not None
            and renderer.format == "json"
        )
        entry = (
            catalog_lookup("response", request.build_absolute_uri(), with_stock=shows_stock)
            if cacheable
            else None
        )
        if entry is None:
            return view_method(view, request, *args, **kwargs)
        if entry.value is not None:
            # A new response with no Vary or Cache-Control yet: the headers the patches below
            # would give it, set directly.
            response = HttpResponse(entry.value, content_type="application/json")
            response.headers["Vary"] = "Authorization"
            response.headers["Cache-Control"] = "no-cache"
            return response
        response = view_method(view, request, *args, **kwargs)
        if response.status_code == 200:

            def store(rendered) -> None:  # a callback's return value would replace the response
                entry.store(rendered.content, timeout)

            response.add_post_render_callback(store)
            patch_vary_headers(response, ["Authorization"])
            patch_cache_control(response, no_cache=True)
        return response

    return wrapper
