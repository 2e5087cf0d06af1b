"""Read queries whose SQL Django compiles once, not on every request (issue 12).

Compiling a queryset (`SQLCompiler.as_sql`: the select list, joins, `only()`, ordering) was a third
of the CPU of an uncached product detail and of a cart read, for queries whose SQL never changes:
only the ids in them do. A `PreparedQuery` builds its queryset once per thread and shape with
placeholder ids, compiles it, and from then on runs the stored SQL with the real ids through
Django's cursor (so query counting, `DEBUG` logging and the database wrappers still see it),
applying the same converters and building the same model instances as the queryset would,
`select_related` and `only()` included.

Rules for a query built this way:
- every varying value is an integer argument of `build` (an id, or a list of ids for `__in`);
  nothing else may vary between calls (no `timezone.now()`, no user-dependent branches: make
  one PreparedQuery per branch);
- `build` must pass the arguments to lookups unchanged (`pk=`, `x_id=`, `x__in=`): a lookup
  that transforms them (`__icontains`, arithmetic) cannot be prepared and raises at first use;
- the caller checks that ids fit the column (`core.ids.as_id`); the ORM would have turned an overflowing
  id into "no rows", the stored SQL would send it to the database.

The compiled state is kept per thread (`threading.local`) and per shape (the database alias and
the length of each list argument): a compiler holds its thread's connection, so nothing is
shared between the threads of a gthread worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

# Placeholder ids: negative (no row has them) and inside a 32-bit integer column's range (Django
# turns an out-of-range value into "no rows" while compiling, which would hide the placeholder).
_PLACEHOLDER_BASE = -2_000_000_000


class _Compiled:
    __slots__ = (
        "alias",
        "annotations",
        "col_count",
        "compiler",
        "converters",
        "init_list",
        "model",
        "model_end",
        "model_start",
        "params",
        "populators",
        "slots",
        "sql",
        "trim",
    )


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
        compiled = compiled_by_shape.get(shape)
        if compiled is None:
            compiled = compiled_by_shape[shape] = self._compile(shape)
        return self._run(compiled, args)

    # --- first use in a thread: build, compile, find the placeholders -------------------------

    def _compile(self, shape: tuple[int | None, ...]) -> _Compiled:
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
        if (
            queryset._known_related_objects
            or queryset._prefetch_related_lookups
            or queryset._fields is not None
        ):
            raise ImproperlyConfigured(
                "PreparedQuery builds model instances: no prefetch, values() or known objects."
            )
        compiler = queryset.query.get_compiler(using=self._using)
        sql, params = compiler.as_sql()
        position = {value: index for index, value in enumerate(placeholders)}
        slots = [
            (index, position[param])
            for index, param in enumerate(params)
            if type(param) is int and param in position
        ]
        if {arg for _, arg in slots} != set(range(len(placeholders))):
            raise ImproperlyConfigured(
                "A PreparedQuery argument did not reach the SQL unchanged: every argument must go to a "
                "plain lookup (pk=, x_id=, x__in=)."
            )
        compiled = _Compiled()
        compiled.alias = self._using
        compiled.sql = sql
        compiled.params = tuple(params)
        compiled.slots = tuple(slots)
        compiled.compiler = compiler
        compiled.col_count = compiler.col_count
        compiled.trim = compiler.has_extra_select
        compiled.converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        klass_info = compiler.klass_info
        compiled.model = klass_info["model"]
        select_fields = klass_info["select_fields"]
        compiled.model_start, compiled.model_end = select_fields[0], select_fields[-1] + 1
        compiled.init_list = [
            column[0].target.attname for column in compiler.select[compiled.model_start : compiled.model_end]
        ]
        compiled.populators = get_related_populators(klass_info, compiler.select, self._using)
        compiled.annotations = tuple(compiler.annotation_col_map.items())
        return compiled

    # --- every call: the stored SQL with the real ids -----------------------------------------

    def _run(self, compiled: _Compiled, args: tuple) -> list:
        flat: list[int] = []
        for arg in args:
            if isinstance(arg, list | tuple):
                flat.extend(arg)
            else:
                flat.append(arg)
        params = list(compiled.params)
        for index, arg in compiled.slots:
            params[index] = flat[arg]
        with connections[compiled.alias].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        if compiled.trim:
            rows = [row[: compiled.col_count] for row in rows]
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        model, db, init_list = compiled.model, compiled.alias, compiled.init_list
        start, end = compiled.model_start, compiled.model_end
        instances = []
        for row in rows:
            obj = model.from_db(db, init_list, row[start:end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, column in compiled.annotations:
                setattr(obj, name, row[column])
            instances.append(obj)
        return instances
