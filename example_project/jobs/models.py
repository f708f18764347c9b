"""TaskRun: how often each job ran, shown in the admin."""

from __future__ import annotations

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone


class TaskRun(models.Model):
    name = models.CharField(max_length=100, unique=True)
    count = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.count}"

    @classmethod
    def record(cls, name: str) -> int:
        """Count one more run of ``name``; return the new count.

        The UPDATE comes first: it takes SQLite's write lock at the transaction's first statement,
        where the busy timeout lets it wait for another job's write. A read first (as
        ``get_or_create`` does) would have to upgrade its lock later, which SQLite refuses at
        once with "database is locked" when another job wrote in between.
        """
        now = timezone.now()
        with transaction.atomic():
            counted = F("count") + 1
            if not cls.objects.filter(name=name).update(count=counted, last_run_at=now):
                cls.objects.create(name=name, count=1, last_run_at=now)
            return cls.objects.get(name=name).count
