"""The versioned catalog cache: cached catalog responses and counts are never older than the
last catalog write.

Every cached catalog entry (an anonymous response body, a paginator COUNT) has the current
*catalog version* in its key. Every write that changes what those entries show (a product or
category created, changed or deleted by a service, the admin or `seed_demo`; stock taken or
released by an order) calls `catalog_changed()`, which replaces the version once its
transaction commits. The next read then misses and reads the database; older entries are never
addressed again and age out with their TTL (`CATALOG_CACHE_SECONDS`, now only a memory bound).

Why after commit: a reader that took the new version before the writer's rows were visible
could store old rows under the new version. Bumping after commit means whoever sees the new
version also sees the committed rows; an entry stored under the old version by a reader that
raced the write is unreachable.

Stock has a version of its own: orders take and release stock all the time, and the storefront's
product shape shows no stock, so a checkout need not empty the storefront's cached pages. An entry
that shows stock (the canonical product list and detail, the COUNT with `in_stock=`) is keyed on
both versions; the storefront's on the catalog version only. A staff write (stock included)
bumps the catalog version, which makes every entry stale.

A version is a random token, not a counter: if the key is evicted or Redis restarts, the new
token cannot collide with a version whose entries are still stored. When the cache cannot be
read (Redis down with IGNORE_EXCEPTIONS), `catalog_version()` is None and callers skip the cache.
"""

from __future__ import annotations

import hashlib
import uuid
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

VERSION_KEY = "catalog:version"
STOCK_VERSION_KEY = "catalog:stock-version"


def catalog_version(*, with_stock: bool = True) -> str | None:
    """The current catalog version (with the stock version unless `with_stock` is False), created
    on first use; None when the cache is unusable."""
    keys = [VERSION_KEY, STOCK_VERSION_KEY] if with_stock else [VERSION_KEY]
    found = cache.get_many(keys)
    if len(found) < len(keys):
        for key in keys:
            if key not in found:
                cache.add(key, uuid.uuid4().hex, None)
        found = cache.get_many(keys)
        if len(found) < len(keys):
            return None
    return ".".join(found[key] for key in keys)


def _bump(key: str) -> None:
    cache.set(key, uuid.uuid4().hex, None)


def catalog_changed(*, stock_only: bool = False, using: str | None = None) -> None:
    """Invalidate the cached catalog when the current transaction commits (at once in autocommit):
    every entry, or with `stock_only` only the entries that show stock. Cheap (one cache write),
    so callers may call it on every write path."""
    key = STOCK_VERSION_KEY if stock_only else VERSION_KEY
    transaction.on_commit(lambda: _bump(key), using=using)


def catalog_key(kind: str, text: str, *, with_stock: bool = True) -> str | None:
    """`catalog:<kind>:<version>:<sha256(text)>`, or None when there is no version to key on."""
    version = catalog_version(with_stock=with_stock)
    if version is None:
        return None
    return f"catalog:{kind}:{version}:" + hashlib.sha256(text.encode()).hexdigest()


def cache_anonymous(view_func=None, *, shows_stock: bool = True):
    """Serve anonymous JSON GETs from the versioned catalog cache, keyed by the absolute URL and
    the catalog version (two cache reads per hit; the rendered body is what is stored).
    `shows_stock=False` for a view whose answer depends on no stock figure: stock taken or
    released by orders then leaves its entries in place.

    Only for views whose anonymous answer is the same for every anonymous caller. Authenticated
    requests always run the view (staff see inactive products; nothing per-user is stored); on
    the canonical API a request with a token is authenticated or already a 401, on the
    storefront's lenient views `Bearer null` is anonymous. Off when CATALOG_CACHE_SECONDS is 0.

    The response says `Cache-Control: no-cache`: a browser or CDN copy would not see the
    version bump, so HTTP caches must come back to the server, which answers from this cache.
    """

    if view_func is None:
        return lambda func: cache_anonymous(func, shows_stock=shows_stock)

    @wraps(view_func)
    def wrapper(request, *args, **kwargs):
        timeout = settings.CATALOG_CACHE_SECONDS
        renderer = getattr(request, "accepted_renderer", None)
        cacheable = (
            timeout
            and request.method == "GET"
            and not request.user.is_authenticated
            and renderer is not None
            and renderer.format == "json"
        )
        key = (
            catalog_key("response", request.build_absolute_uri(), with_stock=shows_stock)
            if cacheable
            else None
        )
        if key is None:
            return view_func(request, *args, **kwargs)
        content = cache.get(key)
        if content is not None:
            response = HttpResponse(content, content_type="application/json")
        else:
            response = view_func(request, *args, **kwargs)
            if response.status_code == 200:

                def store(rendered) -> None:  # a callback's return value would replace the response
                    cache.set(key, rendered.content, timeout)

                response.add_post_render_callback(store)
        if response.status_code == 200:
            patch_vary_headers(response, ["Authorization"])  # shared HTTP caches must not mix them up
            patch_cache_control(response, no_cache=True)
        return response

    return wrapper
