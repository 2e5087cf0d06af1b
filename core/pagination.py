from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

from core.catalog_cache import CatalogEntry, catalog_lookup
from core.ids import MAX_ID
from core.prepared import CompiledCount


class StandardPagination(PageNumberPagination):
    """`{count, next, previous, results}`, `?page=` and `?page_size=` (default 20, at most 100)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class CachedCountPaginator(Paginator):
    """A Paginator whose `count` is cached for `settings.CATALOG_CACHE_SECONDS`, keyed by the
    COUNT's own SQL and stored with the catalog version (core.catalog_cache), so a catalog write
    makes every cached total stale at once. A COUNT(*) over a large filtered catalogue (tens of
    thousands of rows at 100k products) costs far more than fetching the 20 rows of the page.
    Writes that skip `catalog_changed()` (raw SQL, a shell) may leave the total lagging by the
    cache time; the rows themselves are always read from the database.

    The object list is a QuerySet, or an object with `compiled_count()` giving a
    `core.prepared.CompiledCount` (the product list's `selectors.ProductListSource`, whose SQL is
    compiled once per filter set). When it also has `rows_with_total(start, stop)` (the page's
    rows and the total from one query) and the total is not cached, a page costs one query, not
    a COUNT and then the rows."""

    @cached_property
    def _counter(self) -> CompiledCount | None:
        compiled_count = getattr(self.object_list, "compiled_count", None)
        if compiled_count is not None:
            return compiled_count()
        if isinstance(self.object_list, QuerySet) and self.object_list._result_cache is None:
            return CompiledCount(self.object_list)
        return None

    @cached_property
    def _cache_entry(self) -> CatalogEntry | None:
        """The total's cache entry, looked up once per paginator; None with the cache off or
        unusable, or nothing to count."""
        if not getattr(settings, "CATALOG_CACHE_SECONDS", 0):
            return None
        if self._counter is None or self._counter.statement is None:
            return None
        sql, params = self._counter.statement  # COUNT has no ORDER BY: every ordering shares one total
        return catalog_lookup("count", f"{sql}\x00{params!r}")

    @property
    def _cached_count(self) -> int | None:
        """The cached total; None when not cached."""
        return self._cache_entry.value if self._cache_entry is not None else None

    def _remember(self, count: int) -> None:
        self.__dict__["count"] = count  # the cached_property's slot
        if self._cache_entry is not None:
            self._cache_entry.store(count, settings.CATALOG_CACHE_SECONDS)

    @cached_property
    def count(self) -> int:
        counter = self._counter
        if counter is None:
            return super().count
        if counter.statement is None:
            # A filter that can match nothing (`.none()`, an empty `__in`) has no SQL at all: the
            # total is 0, with no query and nothing to cache.
            return 0
        count = self._cached_count
        if count is None:
            count = counter.run()
            self._remember(count)
        return count

    def page(self, number):
        fetch = getattr(self.object_list, "rows_with_total", None)
        if fetch is not None and "count" not in self.__dict__:
            number = self._page_number(number)
            bottom = (number - 1) * self.per_page
            # A cached total serves the usual path below; so does a page no OFFSET can say (404).
            if self._cached_count is None and bottom + self.per_page <= MAX_ID:
                rows, total = fetch(bottom, bottom + self.per_page)
                if rows or bottom == 0:  # a first page without rows: nothing matches
                    self._remember(total if rows else 0)
                    return self._get_page(rows, number, self)
                # Past the last row: the total alone says whether the page exists (a 404 if not).
        # Django stops the last page at `count`; with a total that lags, that would hide rows.
        # The rows of a page always come from the database: slice a full page.
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)

    def _page_number(self, number) -> int:
        """`validate_number`'s checks that need no total: an integer, at least 1."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number


class CachedCountPagination(StandardPagination):
    """StandardPagination with a cached total (see CachedCountPaginator): for the public catalogue."""

    django_paginator_class = CachedCountPaginator
