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
        """Count one more run of ``name``; return the new count."""
        with transaction.atomic():
            cls.objects.get_or_create(name=name)
            cls.objects.filter(name=name).update(count=F("count") + 1, last_run_at=timezone.now())
            return cls.objects.get(name=name).count
