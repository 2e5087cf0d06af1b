from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

from core.catalog_cache import catalog_key
from core.prepared import CompiledCount


class StandardPagination(PageNumberPagination):
    """`{count, next, previous, results}`, `?page=` and `?page_size=` (default 20, at most 100)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class CachedCountPaginator(Paginator):
    """A Paginator whose `count` is cached for `settings.CATALOG_CACHE_SECONDS`, keyed by the
    COUNT's own SQL and the catalog version (core.catalog_cache), so a catalog write makes every
    cached total stale at once. A COUNT(*) over a large filtered catalogue (tens of thousands of
    rows at 100k products) costs far more than fetching the 20 rows of the page. Writes that skip
    `catalog_changed()` (raw SQL, a shell) may leave the total lagging by the cache time; the rows
    themselves are always read from the database.

    The object list is a QuerySet, or an object with `compiled_count()` giving a
    `core.prepared.CompiledCount` (the product list's `selectors.ProductListSource`, whose SQL is
    compiled once per filter set)."""

    @cached_property
    def count(self) -> int:
        compiled_count = getattr(self.object_list, "compiled_count", None)
        if compiled_count is not None:
            counter = compiled_count()
        elif isinstance(self.object_list, QuerySet) and self.object_list._result_cache is None:
            counter = CompiledCount(self.object_list)
        else:
            return super().count
        if counter.statement is None:
            # A filter that can match nothing (`.none()`, an empty `__in`) has no SQL at all: the
            # total is 0, with no query and nothing to cache.
            return 0
        timeout = getattr(settings, "CATALOG_CACHE_SECONDS", 0)
        if not timeout:
            return counter.run()
        sql, params = counter.statement  # COUNT has no ORDER BY: every ordering shares one total
        key = catalog_key("count", f"{sql}\x00{params!r}")
        if key is None:  # the cache is unusable: count in the database
            return counter.run()
        count = cache.get(key)
        if count is None:
            count = counter.run()
            cache.set(key, count, timeout)
        return count

    def page(self, number):
        # Django stops the last page at `count`; with a total that lags, that would hide rows.
        # The rows of a page always come from the database: slice a full page.
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)


class CachedCountPagination(StandardPagination):
    """StandardPagination with a cached total (see CachedCountPaginator): for the public catalogue."""

    django_paginator_class = CachedCountPaginator
