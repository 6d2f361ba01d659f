"""Prepared reads: a queryset that is a pure function of a key, built and compiled to SQL once per
process and then run again with new values for its cursors.

Building a read through the visibility policy (its conditions, their subqueries, the annotations of a
feed) and compiling it cost Django more than PostgreSQL spends running it: about 8 ms of the 18 ms of a
feed page. A prepared read pays that once per key and process, like a prepared statement.

The key must hold everything the queryset is built from (the person's part through
`agencies.visibility.policy_key`, which names every input of the policy), and the queryset must not
read the clock or any other value not in the key. Values that change from one run to the next (the
cursor of a page) are built into the queryset as a `Placeholder` and given at each run. The checks
that are not part of the SQL, such as whether the person may see anything at all, stay with the
caller, at every run.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql.compiler import SQLCompiler

_PLACEHOLDERS: set[int | str | tuple] = set()


class Placeholder(int):
    """An integer value given at each run: the queryset is built with it, and each query parameter
    equal to it is replaced (a field may have turned it into a plain int on the way). Its values are
    far below any id or count, so no other parameter equals one by chance."""

    _next = -(2**62)

    def __new__(cls) -> Placeholder:
        cls._next -= 1
        _PLACEHOLDERS.add(cls._next)
        return super().__new__(cls, cls._next)


class TextPlaceholder(str):
    """A text value given at each run, as `Placeholder` is for integers. Its values hold a NUL, which no
    text stored in PostgreSQL can, so no other parameter equals one by chance."""

    _count = 0

    def __new__(cls) -> TextPlaceholder:
        cls._count += 1
        value = f"\x00placeholder-{cls._count}"
        _PLACEHOLDERS.add(value)
        return super().__new__(cls, value)


class ArrayPlaceholder(tuple):
    """A list given at each run (a parameter that is a whole array: `= ANY(%s)`), as `Placeholder` is for
    integers. It must reach the query's parameters as it is (no field turning it into something else)."""

    _count = 0

    def __new__(cls) -> ArrayPlaceholder:
        cls._count += 1
        value = super().__new__(cls, (f"\x00placeholder-array-{cls._count}",))
        _PLACEHOLDERS.add(value)
        return value


def is_placeholder(value: Any) -> bool:
    if not isinstance(value, int | str | tuple) or isinstance(value, bool):
        return False
    try:
        return value in _PLACEHOLDERS
    except TypeError:  # a tuple holding a list
        return False


logger = logging.getLogger(__name__)
# Statements prepared on one connection at most; past it they are all deallocated and prepared again.
STATEMENTS_PER_CONNECTION = 1000
# What PostgreSQL answers when it cannot prepare a statement it would run as plain SQL (a parameter whose
# type it cannot tell): the read then runs as plain SQL. Any other error is the caller's.
UNPREPARABLE = {"42P18", "42P08", "42804", "42725"}
# A window of rows given at each run: LIMIT and OFFSET as parameters, not built into the SQL.
WINDOW = " LIMIT %s OFFSET %s"


@dataclass
class _Prepared:
    sql: str
    params: tuple
    compiler: SQLCompiler  # its select, klass_info and annotation_col_map, read only
    converters: dict  # column position -> (converters, expression), as Django's compiler gives them
    placeholders: dict[int, int | str | tuple]  # position in params -> placeholder value
    # The SQL with PostgreSQL's own parameters ($1, $2...), for PREPARE; None when it is not prepared.
    statement: str | None = None
    name: str = ""

    def plan_once(self) -> None:
        self.statement = _numbered(self.sql)
        # Named after the statement itself: a name prepared on a connection always means this very SQL.
        self.name = "fusionhub_" + hashlib.sha256(self.statement.encode()).hexdigest()[:32]


def _numbered(sql: str) -> str:
    """Django's SQL (psycopg2's %s for each parameter, %% for a percent sign) with $1, $2... instead."""
    numbers = itertools.count(1)
    out, i = [], 0
    while i < len(sql):
        if sql.startswith("%s", i):
            out.append(f"${next(numbers)}")
            i += 2
        elif sql.startswith("%%", i):
            out.append("%")
            i += 2
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def _execute(cursor, prepared: _Prepared, params: list[Any]) -> None:
    """Run the prepared SQL: as a statement PostgreSQL has prepared on this connection (it plans it once),
    or as plain SQL when prepared statements are off or PostgreSQL could not prepare this one."""
    connection = connections[prepared.compiler.using]
    if not settings.DATABASE_PREPARED_STATEMENTS or prepared.statement is None or connection.vendor != "postgresql":
        cursor.execute(prepared.sql, params)
        return
    raw = connection.connection
    registry = connection.__dict__.get("_prepared_statements")
    if registry is None or registry[0] is not raw:  # a new connection: nothing is prepared on it
        registry = connection.__dict__["_prepared_statements"] = (raw, set())
    if prepared.name not in registry[1]:
        if len(registry[1]) >= STATEMENTS_PER_CONNECTION:
            cursor.execute("DEALLOCATE ALL")
            registry[1].clear()
        try:
            # In a transaction, a refused PREPARE must not end it: a savepoint around it.
            guard = transaction.atomic(using=prepared.compiler.using) if connection.in_atomic_block else nullcontext()
            with guard:
                cursor.execute(f"PREPARE {prepared.name} AS {prepared.statement}")
        except DatabaseError as error:
            if getattr(error.__cause__, "pgcode", None) not in UNPREPARABLE:
                raise
            logger.warning("PostgreSQL could not prepare a read; it runs as plain SQL", exc_info=True)
            prepared.statement = None
            cursor.execute(prepared.sql, params)
            return
        registry[1].add(prepared.name)
    arguments = f" ({', '.join(['%s'] * len(params))})" if params else ""
    cursor.execute(f"EXECUTE {prepared.name}{arguments}", params)


_EMPTY = object()


class PreparedReads:
    """A bounded, per-process cache of compiled reads (least recently used out first)."""

    def __init__(self, size: int = 256, *, plan_once: bool = True):
        """`plan_once`: PostgreSQL prepares each read too, once per connection, and after a few runs keeps
        one plan for every value given (its generic plan). Right for reads whose best plan does not
        depend on the values; not for a text search, whose best plan does (how common the words are)."""
        self.size = size
        self.plan_once = plan_once
        self._entries: OrderedDict[Hashable, _Prepared | object] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def rows(
        self,
        key: Hashable,
        build: Callable[[], QuerySet],
        values: dict[int | str | tuple, Any] | None = None,
        *,
        window: tuple[int, int] | None = None,
    ) -> list[Model]:
        """The model instances of the queryset `build()` returns (built and compiled at the key's first
        run only), with each placeholder given its value: every placeholder given must be in the query,
        or this raises ValueError. `window` (bottom, top) reads that slice of the rows, given at each run
        (the queryset must then not be sliced itself)."""
        prepared = self._prepared(key, build, values, model_instances=True, window=window is not None)
        if prepared is _EMPTY:
            return []
        params = self._params(prepared, values)
        if window is not None:
            bottom, top = window
            params += [max(top - bottom, 0), bottom]
        return list(_instances(prepared, params))

    def scalars(
        self, key: Hashable, build: Callable[[], QuerySet], values: dict[int | str | tuple, Any] | None = None
    ) -> list[Any]:
        """The first column of each row of the queryset `build()` returns (a `values_list`, as it comes from
        the database: ids, say), prepared as `rows` is."""
        prepared = self._prepared(key, build, values, model_instances=False, window=False)
        if prepared is _EMPTY:
            return []
        with connections[prepared.compiler.using].cursor() as cursor:
            _execute(cursor, prepared, self._params(prepared, values))
            return [row[0] for row in cursor.fetchall()]

    def _prepared(
        self, key: Hashable, build: Callable[[], QuerySet], values, *, model_instances: bool, window: bool
    ) -> _Prepared | object:
        with self._lock:
            prepared = self._entries.get(key)
            if prepared is not None:
                self._entries.move_to_end(key)
        if prepared is None:
            prepared = self._prepare(build(), set(values or ()), model_instances=model_instances, window=window)
            if prepared is not _EMPTY and self.plan_once:
                prepared.plan_once()
            with self._lock:
                self._entries[key] = prepared
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return prepared

    @staticmethod
    def _params(prepared: _Prepared, values: dict | None) -> list[Any]:
        params = list(prepared.params)
        for position, placeholder in prepared.placeholders.items():
            params[position] = (values or {})[placeholder]
        return params

    @staticmethod
    def _prepare(queryset: QuerySet, expected: set, *, model_instances: bool, window: bool) -> _Prepared | object:
        if queryset._known_related_objects or queryset._prefetch_related_lookups:
            raise ValueError("A prepared read is one query: no prefetch.")
        if model_instances and queryset._iterable_class is not ModelIterable:
            raise ValueError("Prepared model instances come from a queryset of model instances.")
        if window and queryset.query.is_sliced:
            raise ValueError("A read with a window of rows is not sliced itself.")
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            if expected:  # a placeholder made the query empty (a value no column can hold): never right
                raise ValueError("A prepared read compiled to nothing with its placeholders.") from None
            return _EMPTY
        placeholders = {i: value for i, value in enumerate(params) if is_placeholder(value)}
        if set(placeholders.values()) != expected:
            # A placeholder given but not in the query was dropped on the way (an integer out of a field's
            # range, say): the value given at each run would silently be ignored.
            raise ValueError("A prepared read's placeholders are not those of its query.")
        if window:
            sql += WINDOW
        converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
        return _Prepared(
            sql=sql, params=tuple(params), compiler=compiler, converters=converters, placeholders=placeholders
        )


def _instances(prepared: _Prepared, params: list[Any]):
    """Django's ModelIterable, over the prepared SQL instead of a new compilation."""
    compiler = prepared.compiler
    db = compiler.using
    select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
    with connections[db].cursor() as cursor:
        _execute(cursor, prepared, params)
        rows = cursor.fetchall()
    connection = connections[db]
    if prepared.converters:
        rows = [list(row) for row in rows]
        for row in rows:
            for position, (converters, expression) in prepared.converters.items():
                for converter in converters:
                    row[position] = converter(row[position], expression, connection)
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    related_populators = get_related_populators(klass_info, select, db)
    for row in rows:
        obj = model_cls.from_db(db, init_list, row[start:end])
        for populator in related_populators:
            populator.populate(row, obj)
        for name, position in (annotation_col_map or {}).items():
            setattr(obj, name, row[position])
        yield obj
