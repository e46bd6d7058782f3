"""``UPDATE … RETURNING`` for one queryset, on the backends that have it.

Stopping a stream is a conditional write whose answer needs the row it wrote. Django has
no public ``QuerySet.update()`` that returns rows (before 6.1 it has none at all), so a
stop would cost a SELECT and an UPDATE: two round trips where PostgreSQL and SQLite need
one. This module compiles the UPDATE with Django's own compiler, so the queryset's
filters (the caller's scope: owner, status, whatever a host's ``get_queryset`` adds)
become the WHERE clause exactly as ``update()`` would write it, appends ``RETURNING``
and turns the rows into model instances with the backend's value converters.

Elsewhere (MySQL, MariaDB, Oracle, third-party backends) and for multi-table-inheritance
models, ``supports_update_returning`` is False and callers take the read-then-write path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import connections, transaction
from django.db.models.sql import UpdateQuery

if TYPE_CHECKING:
    from collections.abc import Mapping

    from django.db.models import Model, QuerySet

RETURNING_VENDORS = frozenset({"postgresql", "sqlite"})

M = TypeVar("M", bound="Model")


def supports_update_returning(queryset: QuerySet[Any]) -> bool:
    """Whether ``update_returning`` can run this queryset's UPDATE in one statement."""
    return (
        connections[queryset.db].vendor in RETURNING_VENDORS
        and not queryset.model._meta.parents
        and not queryset.query.is_sliced
        and not queryset.query.combinator
    )


def update_returning(queryset: QuerySet[M], values: Mapping[str, Any]) -> list[M]:
    """``queryset.update(**values)`` in one statement, returning the updated rows.

    The instances hold every concrete field as the database wrote it. Raise
    ``NotImplementedError`` where ``supports_update_returning`` is False.
    """
    if not supports_update_returning(queryset):
        raise NotImplementedError("UPDATE … RETURNING is not available for this queryset.")
    model = queryset.model
    using = queryset.db
    connection = connections[using]
    columns = {field: field.column for field in model._meta.concrete_fields if field.column}
    fields = list(columns)

    query = cast("UpdateQuery", queryset.query.chain(UpdateQuery))
    query.add_update_values(dict(values))
    query.annotations = {}
    compiler = query.get_compiler(using)
    sql, params = compiler.as_sql()
    quote = connection.ops.quote_name
    sql = f"{sql} RETURNING {', '.join(quote(column) for column in columns.values())}"

    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[Any] = cursor.fetchall()

    converters = compiler.get_converters([field.get_col(model._meta.db_table) for field in fields])
    if converters:
        rows = list(compiler.apply_converters(rows, converters))
    names = [field.attname for field in fields]
    return [model.from_db(using, names, row) for row in rows]
