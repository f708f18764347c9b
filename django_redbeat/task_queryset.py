"""PeriodicTask's QuerySet: the bulk writes that send no post_save sync what they touch.

``update()``, ``bulk_create()`` and ``bulk_update()`` send :data:`rows_changed`, which the
receivers turn into a sync after the commit.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.dispatch import Signal

#: Rows were written by a QuerySet method that sends no post_save (``update``, ``bulk_create``,
#: ``bulk_update``). Declared on the Django side, not in signals.py, because that module is the
#: beat side's and loads no Django; the receiver syncs them after the commit, so this module
#: need not import the sync package (which imports the models).
#: provides args: names (of the rows touched), created (new rows, written as they are), using
rows_changed = Signal()


class PeriodicTaskQuerySet(models.QuerySet):
    """``update()``, ``bulk_create()`` and ``bulk_update()`` send no signals: these sync
    the rows they touch into Redis themselves, after the transaction commits."""

    def update(self, **kwargs: Any) -> int:
        before = dict(self.values_list("pk", "name"))
        count = super().update(**kwargs)
        after = self.model.objects.filter(pk__in=before).values_list("name", flat=True)
        _send_rows_changed(self.model, {*before.values(), *after}, self.db)
        return count

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        # new rows are written as created: nothing to read back (a later change in the same
        # transaction syncs again after them)
        rows_changed.send(sender=self.model, names=(), created=created, using=self.db)
        return created

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        before = dict(self.filter(pk__in=[task.pk for task in objs]).values_list("pk", "name"))
        count = super().bulk_update(objs, fields, *args, **kwargs)
        _send_rows_changed(self.model, {*before.values(), *(task.name for task in objs)}, self.db)
        return count or 0


def _send_rows_changed(model: Any, names: set[str], using: str) -> None:
    rows_changed.send(sender=model, names=names, created=(), using=using)
