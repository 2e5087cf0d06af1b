from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import Count, Window
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

from core.catalog_cache import catalog_key
from core.ids import MAX_ID


class StandardPagination(PageNumberPagination):
    """`{count, next, previous, results}`, `?page=` and `?page_size=` (default 20, at most 100)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class CachedCountPaginator(Paginator):
    """A Paginator whose total costs no query of its own where it can help it.

    - The total is cached for `settings.CATALOG_CACHE_SECONDS`, keyed by the filtered query itself
      and the catalog version (core.catalog_cache), so a catalog write makes every cached total
      stale at once. A COUNT(*) over a large filtered catalogue (tens of thousands of rows at 100k
      products) costs far more than fetching the 20 rows of the page. Writes that skip
      `catalog_changed()` (raw SQL, a shell) may leave the total lagging by the cache time; the
      rows themselves are always read from the database.
    - When the total is not cached (the cache is off, or this filter's total expired), the page's
      query counts too: `COUNT(*) OVER ()` on each row is the total before LIMIT, so the page and
      its total come in one query instead of two (a COUNT(*) query was a sixth of an uncached list
      page's CPU). A page with no rows (past the end, or nothing matches) falls back to COUNT(*).
    """

    @cached_property
    def count(self) -> int:
        key, count = self._cached_count()
        if count is None:
            count = super().count
            self._store_count(key, count)
        return count

    def _count_key(self) -> str | None:
        """The cache key of this query's total, or None when it is not to be cached."""
        if not getattr(settings, "CATALOG_CACHE_SECONDS", 0) or not hasattr(self.object_list, "query"):
            return None
        # Without ORDER BY: every ordering of the same filter shares one total.
        sql, params = self.object_list.order_by().query.sql_with_params()
        return catalog_key("count", f"{sql}\x00{params!r}")

    def _cached_count(self) -> tuple[str | None, int | None]:
        """(the cache key or None, the cached total or None)."""
        try:
            key = self._count_key()
        except EmptyResultSet:
            # A filter that can match nothing (`.none()`, e.g. an unknown `?category=`, or an empty
            # `__in`) has no SQL at all: the total is 0, with no query and nothing to cache.
            return None, 0
        return key, (cache.get(key) if key is not None else None)

    def _store_count(self, key: str | None, count: int) -> None:
        if key is not None:
            cache.set(key, count, settings.CATALOG_CACHE_SECONDS)

    def _counts_in_page_query(self) -> bool:
        """Whether `COUNT(*) OVER ()` on the page's rows is the total: a plain filtered query (no
        DISTINCT, GROUP BY, aggregate, set operation or slice, which the window would miscount)."""
        query = getattr(self.object_list, "query", None)
        return bool(
            query is not None
            and not query.distinct
            and not query.combinator
            and query.group_by is None
            and not query.is_sliced
            and not any(getattr(a, "contains_aggregate", False) for a in query.annotations.values())
        )

    def page(self, number):
        # Django stops the last page at `count`; with a total that lags, that would hide rows.
        # The rows of a page always come from the database: slice a full page.
        if "count" not in self.__dict__ and self._counts_in_page_query():
            key, count = self._cached_count()
            if count is not None:
                self.count = count
            else:
                rows = self._page_with_total(number, key)
                if rows is not None:
                    number = self.validate_number(number)  # the total is known now
                    return self._get_page(rows, number, self)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)

    def _page_with_total(self, number, key: str | None) -> list | None:
        """The rows of page `number` with the total counted by the same query (and cached like
        `count`), or None when that cannot tell the total: an invalid number, or no rows."""
        try:
            number = int(number)
        except (TypeError, ValueError):
            return None
        if number < 1 or number * self.per_page > MAX_ID:
            return None  # Django's validation answers these (an OFFSET past a bigint would be a 500)
        bottom = (number - 1) * self.per_page
        counted = self.object_list.annotate(**{_TOTAL: Window(Count("*"))})
        rows = list(counted[bottom : bottom + self.per_page])
        if not rows:
            return None
        self.count = getattr(rows[0], _TOTAL)
        for row in rows:
            delattr(row, _TOTAL)
        self._store_count(key, self.count)
        return rows


# The annotation that carries the total on a page's rows (removed before the rows are used).
_TOTAL = "_paginator_total"


class CachedCountPagination(StandardPagination):
    """StandardPagination with a cached total (see CachedCountPaginator): for the public catalogue."""

    django_paginator_class = CachedCountPaginator
