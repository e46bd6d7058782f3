"""Stop's two statements, each compiled by Django once: ``UPDATE … RETURNING`` and a read.

Stopping a stream is a conditional write whose answer needs the row it wrote. Django has
no public ``QuerySet.update()`` that returns rows (before 6.1 it has none at all), so a
stop would cost a SELECT and an UPDATE: two round trips where PostgreSQL and SQLite need
one. ``update_returning`` compiles the UPDATE with Django's own compiler, so the
queryset's filters (the caller's scope: owner, status, whatever a host's
``get_queryset`` adds) become the WHERE clause exactly as ``update()`` writes it, appends
``RETURNING`` and turns the rows into model instances with the backend's converters.
``select_first`` is the read a stop that changed nothing (a re-stop, a 404) needs.

Building and compiling a query costs about 0.4 ms of CPU, a quarter of a whole stop
request. For the common shape (a manager's unfiltered queryset plus exact lookups on the
model's own fields) the SQL text depends only on the model, the database and the field
names, so it is compiled once and kept. A statement is kept only after the parameters
this module prepares for it came out identical to the compiler's, so the cache can only
ever repeat what Django itself wrote; any other shape is compiled every time.

Elsewhere (MySQL, MariaDB, Oracle, third-party backends) and for multi-table-inheritance
models, ``supports_update_returning`` is False and callers take the read-then-write path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast
from weakref import WeakKeyDictionary

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router, transaction
from django.db.models import Field
from django.db.models.sql import UpdateQuery

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models import Model, QuerySet
    from django.db.models.expressions import Col

    Compile = Callable[
        [QuerySet[Any], Mapping[str, Any], BaseDatabaseWrapper], tuple[str, list[Any]]
    ]

RETURNING_VENDORS = frozenset({"postgresql", "sqlite"})

M = TypeVar("M", bound="Model")

# (kind, model, database alias, vendor, SET field names, WHERE field names) -> SQL text.
StatementKey = tuple[str, type[Any], str, str, tuple[str, ...], tuple[str, ...]]
_statements: dict[StatementKey, str] = {}
MAX_STATEMENTS = 256
_converters: WeakKeyDictionary[BaseDatabaseWrapper, dict[type[Any], list[Any]]] = (
    WeakKeyDictionary()
)


def supports_update_returning(queryset: QuerySet[Any]) -> bool:
    """Whether ``update_returning`` can run this queryset's UPDATE in one statement."""
    return (
        connections[write_alias(queryset)].vendor in RETURNING_VENDORS
        and not queryset.model._meta.parents
        and not queryset.query.is_sliced
        and not queryset.query.combinator
    )


def update_returning(
    queryset: QuerySet[M], values: Mapping[str, Any], lookup: Mapping[str, Any] | None = None
) -> list[M]:
    """``queryset.filter(**lookup).update(**values)`` in one statement, returning the rows.

    The instances hold every concrete field as the database wrote it. Raise
    ``NotImplementedError`` where ``supports_update_returning`` is False.
    """
    if not supports_update_returning(queryset):
        raise NotImplementedError("UPDATE … RETURNING is not available for this queryset.")
    lookup = lookup or {}
    using = write_alias(queryset)
    fields = returned_fields(queryset.model)
    sql, params = statement(
        queryset, using, kind="update", values=values, lookup=lookup, compile_=compile_update
    )
    with transaction.mark_for_rollback_on_error(using):
        return fetch(queryset.model, using, fields, sql, params)


def select_first(queryset: QuerySet[M], lookup: Mapping[str, Any]) -> M | None:
    """``queryset.filter(**lookup).order_by().first()``, compiled once where it can be.

    It follows a write, so it reads from the database writes go to (not a replica that
    may lag), and reads every concrete field, as ``update_returning`` returns them.
    """
    using = write_alias(queryset)
    fields = returned_fields(queryset.model)
    sql, params = statement(
        queryset, using, kind="select", values={}, lookup=lookup, compile_=compile_select
    )
    rows = fetch(queryset.model, using, fields, sql, params)
    return rows[0] if rows else None


def write_alias(queryset: QuerySet[Any]) -> str:
    """The database ``queryset.update()`` would write to (``queryset.db`` is the read's)."""
    explicit: str | None = getattr(queryset, "_db", None)  # set by .using()
    return explicit or router.db_for_write(queryset.model, **getattr(queryset, "_hints", {}))


# -- compiling, once --------------------------------------------------------------------


def statement(
    queryset: QuerySet[Any],
    using: str,
    *,
    kind: str,
    values: Mapping[str, Any],
    lookup: Mapping[str, Any],
    compile_: Compile,
) -> tuple[str, list[Any]]:
    """The SQL and parameters for ``kind``: from the cache, or compiled (and then kept)."""
    model = queryset.model
    connection = connections[using]
    key = statement_key(queryset, using, kind, values, lookup)
    sql = _statements.get(key) if key is not None else None
    if sql is not None:
        params = prepared_params(model, values, lookup, connection)
        if params is not None:
            return sql, params
    filtered = queryset.filter(**lookup) if lookup else queryset
    sql, compiled = compile_(filtered, values, connection)
    cacheable = key is not None and len(_statements) < MAX_STATEMENTS
    if cacheable and prepared_params(model, values, lookup, connection) == compiled:
        _statements[cast("StatementKey", key)] = sql
    return sql, compiled


def compile_update(
    queryset: QuerySet[Any], values: Mapping[str, Any], connection: BaseDatabaseWrapper
) -> tuple[str, list[Any]]:
    """What ``queryset.update(**values)`` would execute, compiled by Django itself, with
    ``RETURNING`` every concrete column appended."""
    query = cast("UpdateQuery", queryset.query.chain(UpdateQuery))
    query.add_update_values(dict(values))
    query.annotations = {}
    sql, params = query.get_compiler(connection=connection).as_sql()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column_of(field)) for field in returned_fields(queryset.model))
    return f"{sql} RETURNING {columns}", list(params)


def compile_select(
    queryset: QuerySet[Any], values: Mapping[str, Any], connection: BaseDatabaseWrapper
) -> tuple[str, list[Any]]:
    """``queryset`` as a SELECT of ``returned_fields``, unordered, compiled by Django."""
    names = [field.attname for field in returned_fields(queryset.model)]
    query = queryset.order_by().values_list(*names).query
    sql, params = query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def statement_key(
    queryset: QuerySet[Any],
    using: str,
    kind: str,
    values: Mapping[str, Any],
    lookup: Mapping[str, Any],
) -> StatementKey | None:
    """A cache key when the SQL text cannot depend on anything but field names.

    That holds for a queryset with no filters, annotations or extras of its own (a plain
    manager's) and plain ``field=value`` lookups, which ``filter()`` orders by name.
    """
    query = queryset.query
    if query.where or query.annotations or query.extra or query.extra_tables:
        return None
    if query.deferred_loading[0] or not query.default_cols:
        return None
    if any("__" in name for name in lookup):
        return None
    return (
        kind,
        queryset.model,
        using,
        connections[using].vendor,
        tuple(values),
        tuple(sorted(lookup)),
    )


def prepared_params(
    model: type[Model],
    values: Mapping[str, Any],
    lookup: Mapping[str, Any],
    connection: BaseDatabaseWrapper,
) -> list[Any] | None:
    """The parameters the compiler writes for a cached statement, or ``None``.

    SET values as ``save()`` prepares them, then exact lookups in name order as the
    ``exact`` lookup prepares them (a foreign key's through its target field). ``None``
    (an expression, a ``NULL``, which compiles to ``IS NULL``, or a field whose SQL may
    depend on its value) means "compile it".
    """
    params: list[Any] = []
    try:
        for name, value in values.items():
            field = field_named(model, name)
            if value is None or hasattr(value, "resolve_expression"):
                return None
            if hasattr(field, "get_placeholder"):
                return None
            params.append(field.get_db_prep_save(value, connection))
        for name in sorted(lookup):
            value = lookup[name]
            if value is None or hasattr(value, "resolve_expression"):
                return None
            field = field_named(model, name)
            target = getattr(field, "target_field", None) or field
            prepared = field.get_prep_value(value)
            params.append(target.get_db_prep_value(prepared, connection, prepared=True))
    except FieldDoesNotExist:
        return None
    return params


# -- reading rows -------------------------------------------------------------------------


def fetch(
    model: type[M], using: str, fields: list[Field[Any, Any]], sql: str, params: list[Any]
) -> list[M]:
    """Run ``sql`` and build instances, converting values as an ORM read would."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = [field.attname for field in fields]
    return [model.from_db(using, names, convert(row, fields, connection)) for row in rows]


def convert(row: Any, fields: list[Field[Any, Any]], connection: BaseDatabaseWrapper) -> list[Any]:
    """Apply the converters an ORM read applies (UUIDs, datetimes on SQLite, …)."""
    values = list(row)
    for position, converters, column in converters_for(fields, connection):
        for converter in converters:
            values[position] = converter(values[position], column, connection)
    return values


def converters_for(
    fields: list[Field[Any, Any]], connection: BaseDatabaseWrapper
) -> list[tuple[int, list[Any], Col]]:
    """The converters of each column, looked up once per connection and model.

    Backend converters are methods of one connection's ``ops``, so they are kept per
    connection (each thread has its own), never shared between them.
    """
    model = fields[0].model
    per_connection = _converters.get(connection)
    if per_connection is None:
        per_connection = _converters[connection] = {}
    found = per_connection.get(model)
    if found is None:
        table = model._meta.db_table
        found = []
        for position, field in enumerate(fields):
            column = field.get_col(table)
            converters = connection.ops.get_db_converters(column)
            converters = converters + column.get_db_converters(connection)
            if converters:
                found.append((position, converters, column))
        per_connection[model] = found
    return found


def field_named(model: type[Model], name: str) -> Field[Any, Any]:
    opts = model._meta
    field = opts.pk if name == "pk" else opts.get_field(name)
    # Not a column of this table: a reverse relation, or a many-to-many (which Django 5.2
    # still calls concrete).
    if not isinstance(field, Field) or not field.concrete or field.many_to_many:
        raise FieldDoesNotExist(name)
    return field


def returned_fields(model: type[Model]) -> list[Field[Any, Any]]:
    return [field for field in model._meta.concrete_fields if field.column]


def column_of(field: Field[Any, Any]) -> str:
    return cast("str", field.column)
