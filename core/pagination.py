from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

from core.catalog_cache import catalog_key


class StandardPagination(PageNumberPagination):
    """`{count, next, previous, results}`, `?page=` and `?page_size=` (default 20, at most 100)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class CachedCountPaginator(Paginator):
    """A Paginator whose `count` is cached for `settings.CATALOG_CACHE_SECONDS`, keyed by the
    filtered query itself and the catalog version (core.catalog_cache), so a catalog write makes
    every cached total stale at once. A COUNT(*) over a large filtered catalogue (tens of thousands of
    rows at 100k products) costs far more than fetching the 20 rows of the page. Writes that skip
    `catalog_changed()` (raw SQL, a shell) may leave the total lagging by the cache time; the rows
    themselves are always read from the database."""

    @cached_property
    def count(self) -> int:
        timeout = getattr(settings, "CATALOG_CACHE_SECONDS", 0)
        if not timeout or not hasattr(self.object_list, "query"):
            return super().count
        # Without ORDER BY: every ordering of the same filter shares one total.
        try:
            sql, params = self.object_list.order_by().query.sql_with_params()
        except EmptyResultSet:
            # A filter that can match nothing (`.none()`, e.g. an unknown `?category=`, or an empty
            # `__in`) has no SQL at all: the total is 0, with no query and nothing to cache.
            return 0
        key = catalog_key("count", f"{sql}\x00{params!r}")
        if key is None:  # the cache is unusable: count in the database
            return super().count
        count = cache.get(key)
        if count is None:
            count = super().count
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
