"""Many new PeriodicTask rows at once (``redbeat_import``): on SQLite, one prepared INSERT.

Django's ``bulk_create()`` on SQLite makes INSERTs of at most 999 parameters (23 rows of this
model's 42 columns) and compiles every value on the way: a large part of an import's time
(bench/results/profile.md). Here SQLite runs one INSERT for every row (``executemany``),
with the values ``bulk_create()`` would write (each field's ``get_db_prep_save``), prepared
once per distinct value of a column: most columns of an import repeat a few values (defaults,
kind, task).
As ``bulk_create()``, it sends no signals, and the rows are synced into Redis on commit.
"""

from __future__ import annotations

import operator
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Field, Max
from django.utils import timezone

from django_redbeat.models import PeriodicTask
from django_redbeat.sync import bridge

#: The databases where bulk_create() is slow at many rows (SQLite: 999 parameters an INSERT).
ONE_INSERT_VENDORS = frozenset({"sqlite"})
#: The columns written: all but the primary key, which the database gives.
FIELDS = [field for field in PeriodicTask._meta.concrete_fields if not field.primary_key]
ATTNAMES = [field.attname for field in FIELDS]


def insert_tasks(tasks: list[PeriodicTask], using: str | None = None) -> None:
    """Insert new rows (no pk), give each its pk, and sync them into Redis on commit."""
    if not tasks:
        return
    using = using or router.db_for_write(PeriodicTask)
    connection = connections[using]
    if connection.vendor not in ONE_INSERT_VENDORS:
        PeriodicTask.objects.using(using).bulk_create(tasks)
        return
    rows = _rows(tasks, connection)
    with transaction.atomic(using=using, savepoint=False):
        last = PeriodicTask.objects.using(using).aggregate(last=Max("pk"))["last"] or 0
        with connection.cursor() as cursor:
            cursor.executemany(_insert_sql(connection), rows)
        _read_pks(tasks, using, after=last)
        bridge.sync_tasks_after_commit(tasks, using=using)


def _rows(tasks: list[PeriodicTask], connection: Any) -> list[tuple[Any, ...]]:
    """Each task's values as bulk_create() writes them, prepared column by column."""
    # date_changed is the one field whose pre_save() sets a value (auto_now): here one moment
    # for the whole insert; the other fields write the value they hold
    moment = timezone.now()
    for task in tasks:
        task.date_changed = moment
    columns = zip(*map(operator.attrgetter(*ATTNAMES), tasks), strict=True)
    prepared = [
        _prepared(field, values, connection) for field, values in zip(FIELDS, columns, strict=True)
    ]
    return list(zip(*prepared, strict=True))


def _prepared(field: Field, values: tuple[Any, ...], connection: Any) -> list[Any]:
    """A column's values as bulk_create() writes them, each distinct one prepared once."""
    try:
        if len(set(map(type, values))) > 1:  # most columns hold one type: keyed by value alone
            return _prepared_typed(field, values, connection)
        prepared = {value: field.get_db_prep_save(value, connection) for value in set(values)}
    except TypeError:  # JSON lists and objects
        return _prepared_json(field, values, connection)
    return list(map(prepared.__getitem__, values))


def _prepared_typed(field: Field, values: tuple[Any, ...], connection: Any) -> list[Any]:
    # the type is part of the key: 1, 1.0 and True are equal, their columns' text is not
    distinct = {(type(value), value) for value in values}
    prepared = {key: field.get_db_prep_save(key[1], connection) for key in distinct}
    return [prepared[type(value), value] for value in values]


def _prepared_json(field: Field, values: tuple[Any, ...], connection: Any) -> list[Any]:
    # each prepared on its own, but for the empty ones: most rows' kwargs, headers and options
    empty = {kind: field.get_db_prep_save(kind(), connection) for kind in (list, dict)}
    return [
        empty[type(value)]
        if not value and type(value) in empty
        else field.get_db_prep_save(value, connection)
        for value in values
    ]


def _insert_sql(connection: Any) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in FIELDS)
    placeholders = ", ".join(["%s"] * len(FIELDS))
    return f"INSERT INTO {quote(PeriodicTask._meta.db_table)} ({columns}) VALUES ({placeholders})"


def _read_pks(tasks: list[PeriodicTask], using: str, after: int) -> None:
    """Give each inserted row its pk and saved state, as bulk_create() does. SQLite numbers a
    new row after the highest pk there ever was (AUTOINCREMENT): these rows are among those
    past ``after``, each found by its name (unique). One query, where names would take one
    per 500 (SQLite limits a query's parameters)."""
    new = PeriodicTask.objects.using(using).filter(pk__gt=after)
    pks = dict(new.values_list("name", "pk"))
    for task in tasks:
        task.pk = pks[task.name]
        task._state.adding, task._state.db = False, using
