"""Read queries whose SQL Django compiles once, not on every request (issue 12).

Compiling a queryset (`SQLCompiler.as_sql`: the select list, joins, `only()`, ordering) was a third
of the CPU of an uncached product detail and of a cart read, for queries whose SQL never changes:
only the ids in them do. Two tools here run stored SQL through Django's cursor (so query
counting, `DEBUG` logging and the database wrappers still see it), applying the same converters
and building the same model instances (or `values_list()` tuples) as the queryset would,
`select_related` and `only()` included:

- `PreparedQuery`: one query shape whose only varying values are ids. It builds its queryset
  once per thread and shape with placeholder ids, compiles it, and from then on runs the stored
  SQL with the real ids.
- `QueryMemo`: queries whose SQL depends on more than ids (the product lists: which filters are
  named, a search term, the ordering, the page), remembered by a key that fixes everything the
  SQL depends on (the request's filter parameters and whether the reader is staff). A key seen
  before runs its stored SQL without building the queryset (nor its FilterSet) again; a new key
  builds, compiles and remembers it, within a per-thread bound (least recently used first out).
  It stores SQL, not rows: every call reads the database.

Rules for a PreparedQuery:
- every varying value is an integer argument of `build` (an id, or a list of ids for `__in`);
  nothing else may vary between calls (no `timezone.now()`, no user-dependent branches: make
  one PreparedQuery per branch);
- `build` must pass the arguments to lookups unchanged (`pk=`, `x_id=`, `x__in=`): a lookup
  that transforms them (`__icontains`, arithmetic) cannot be prepared and raises at first use;
- the caller checks that ids fit the column (`core.ids.as_id`); the ORM would have turned an overflowing
  id into "no rows", the stored SQL would send it to the database.

The rule for a QueryMemo key: the queryset its `build` gives must be a function of the key alone
(no clock, no database reads while building, no setting that changes at run time).

The compiled state is kept per thread (`threading.local`): converters are bound to the thread's
connection, so nothing is shared between the threads of a gthread worker.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators

# Placeholder ids: negative (no row has them) and inside a 32-bit integer column's range (Django
# turns an out-of-range value into "no rows" while compiling, which would hide the placeholder).
_PLACEHOLDER_BASE = -2_000_000_000


class CompiledRows:
    """A compiled SELECT and what turns its rows into what iterating the queryset gives: model
    instances (with `select_related` objects and annotations) or `values_list()` tuples.
    `run(params)` executes the stored SQL; `empty` is a query Django knows matches nothing (an
    empty `__in`, `.none()`): no SQL, no rows."""

    __slots__ = (
        "alias",
        "annotations",
        "col_count",
        "converters",
        "empty",
        "init_list",
        "model",
        "model_end",
        "model_start",
        "params",
        "populators",
        "sql",
        "trim",
    )

    @classmethod
    def of(cls, queryset: QuerySet, *, using: str | None = None) -> CompiledRows:
        """Compile `queryset` (model instances, or `values_list()` tuples) as iterating it would,
        for the database `using` (the queryset's own by default)."""
        if queryset._known_related_objects or queryset._prefetch_related_lookups:
            raise ImproperlyConfigured("Compiled rows come without prefetches or known related objects.")
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise ImproperlyConfigured("Compiled rows are model instances or values_list() tuples.")
        compiler = queryset.query.get_compiler(using=using or queryset.db)
        compiled = cls()
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            compiled.empty = True
            compiled.params = ()
            return compiled
        compiled.empty = False
        compiled.alias = compiler.using
        compiled.sql = sql
        compiled.params = tuple(params)
        compiled.col_count = compiler.col_count
        compiled.trim = compiler.has_extra_select
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        if compiler.has_composite_fields(fields):
            raise ImproperlyConfigured("Compiled rows do not support composite primary keys.")
        compiled.converters = tuple(compiler.get_converters(fields).items())
        if queryset._iterable_class is not ModelIterable:
            compiled.model = None
            return compiled
        klass_info = compiler.klass_info
        compiled.model = klass_info["model"]
        select_fields = klass_info["select_fields"]
        compiled.model_start, compiled.model_end = select_fields[0], select_fields[-1] + 1
        compiled.init_list = [
            column[0].target.attname for column in compiler.select[compiled.model_start : compiled.model_end]
        ]
        compiled.populators = get_related_populators(klass_info, compiler.select, compiled.alias)
        compiled.annotations = tuple(compiler.annotation_col_map.items())
        return compiled

    def run(self, params: Sequence | None = None) -> list:
        """The rows for the stored SQL with `params` (the compiled ones when None)."""
        if self.empty:
            return []
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params if params is None else params)
            rows = cursor.fetchall()
        if not rows:
            return []
        if self.trim:
            rows = [row[: self.col_count] for row in rows]
        if self.converters:
            rows = list(map(list, rows))
            for row in rows:  # SQLCompiler.apply_converters, in place
                for position, (functions, expression) in self.converters:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
        if self.model is None:
            return [tuple(row) for row in rows] if self.converters else rows
        model, db, init_list = self.model, self.alias, self.init_list
        start, end = self.model_start, self.model_end
        instances = []
        for row in rows:
            obj = model.from_db(db, init_list, row[start:end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, column in self.annotations:
                setattr(obj, name, row[column])
            instances.append(obj)
        return instances


class PreparedQuery:
    """`build(*args)` -> a model QuerySet; `query(*args)` -> its instances, as `list(build(*args))`
    gives them, without compiling the SQL again. An argument is an int or a sequence of ints."""

    def __init__(self, build: Callable[..., QuerySet], *, using: str = DEFAULT_DB_ALIAS):
        self._build = build
        self._using = using
        self._local = threading.local()

    def __call__(self, *args: int | Sequence[int]) -> list:
        shape = tuple(len(arg) if isinstance(arg, list | tuple) else None for arg in args)
        compiled_by_shape = self._local.__dict__.setdefault("compiled", {})
        found = compiled_by_shape.get(shape)
        if found is None:
            found = compiled_by_shape[shape] = self._compile(shape)
        compiled, slots = found
        flat: list[int] = []
        for arg in args:
            if isinstance(arg, list | tuple):
                flat.extend(arg)
            else:
                flat.append(arg)
        params = list(compiled.params)
        for index, arg in slots:
            params[index] = flat[arg]
        return compiled.run(params)

    # --- first use in a thread: build, compile, find the placeholders -------------------------

    def _compile(self, shape: tuple[int | None, ...]) -> tuple[CompiledRows, tuple[tuple[int, int], ...]]:
        counter = iter(range(_PLACEHOLDER_BASE, _PLACEHOLDER_BASE - 1_000_000, -1))
        placeholders: list[int] = []

        def placeholder() -> int:
            value = next(counter)
            placeholders.append(value)
            return value

        build_args = [
            placeholder() if size is None else [placeholder() for _ in range(size)] for size in shape
        ]
        queryset = self._build(*build_args)
        if queryset._iterable_class is not ModelIterable:
            raise ImproperlyConfigured(
                "PreparedQuery builds model instances: no prefetch, values() or known objects."
            )
        compiled = CompiledRows.of(queryset, using=self._using)
        position = {value: index for index, value in enumerate(placeholders)}
        slots = tuple(
            (index, position[param])
            for index, param in enumerate(compiled.params)
            if type(param) is int and param in position
        )
        if {arg for _, arg in slots} != set(range(len(placeholders))):
            raise ImproperlyConfigured(
                "A PreparedQuery argument did not reach the SQL unchanged: every argument must go to a "
                "plain lookup (pk=, x_id=, x__in=)."
            )
        return compiled, slots


class CompiledCount:
    """How many rows a queryset has, from SQL compiled once: `run()` executes it. `statement` is
    `(sql, params)`: `SELECT COUNT(*) FROM (<the queryset's SELECT of ids, unordered>)`, which is
    what Django's own `count()` sends for a sliced or distinct queryset and which PostgreSQL and
    SQLite flatten into a plain count (an index-only scan when an index serves the filter). None
    when Django knows the queryset matches nothing (an empty `__in`, `.none()`): 0, no query.
    For model querysets without aggregation, grouping or set operations."""

    __slots__ = ("alias", "statement")

    def __init__(self, queryset: QuerySet):
        query = queryset.query
        if query.group_by is not None or query.combinator or query.is_sliced or queryset._fields is not None:
            raise ImproperlyConfigured(
                "CompiledCount counts model querysets without grouping, set operations or slices."
            )
        self.alias = queryset.db
        ids = queryset.order_by().values("pk")
        try:
            sql, params = ids.query.get_compiler(using=self.alias).as_sql()
        except EmptyResultSet:
            self.statement = None
        else:
            self.statement = (f"SELECT COUNT(*) FROM ({sql}) counted", tuple(params))  # noqa: S608

    def run(self) -> int:
        if self.statement is None:
            return 0
        with connections[self.alias].cursor() as cursor:
            cursor.execute(*self.statement)
            return cursor.fetchone()[0]


class QueryMemo:
    """Compiled queries by key, per thread, at most `maxsize` of them (least recently used out).

    `rows(key, build)` gives what `list(build())` gives and `compiled_count(key, build).run()` what
    `build().count()` gives, from SQL compiled at the key's first use in this thread; `build` is
    called only then. The key must fix everything the built queryset depends on (module docstring)."""

    def __init__(self, *, maxsize: int = 128):
        self.maxsize = maxsize
        self._local = threading.local()

    def _entries(self) -> OrderedDict:
        entries = getattr(self._local, "entries", None)
        if entries is None:
            entries = self._local.entries = OrderedDict()
        return entries

    def _compiled(self, key: Hashable, make: Callable[[], object]):
        entries = self._entries()
        found = entries.get(key)
        if found is None:
            found = make()
            entries[key] = found
            if len(entries) > self.maxsize:
                entries.popitem(last=False)
        else:
            entries.move_to_end(key)
        return found

    def knows_count(self, key: Hashable) -> bool:
        """Whether `compiled_count(key, ...)` was compiled in this thread (so its `build` ran and
        succeeded)."""
        return ("count", key) in self._entries()

    def rows(self, key: Hashable, build: Callable[[], QuerySet]) -> list:
        return self._compiled(("rows", key), lambda: CompiledRows.of(build())).run()

    def compiled_count(self, key: Hashable, build: Callable[[], QuerySet]) -> CompiledCount:
        return self._compiled(("count", key), lambda: CompiledCount(build()))

    def clear(self) -> None:
        self._entries().clear()
