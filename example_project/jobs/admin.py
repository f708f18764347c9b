from __future__ import annotations

from django.contrib import admin
from jobs.models import TaskRun


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    list_display = ("name", "count", "last_run_at")
    readonly_fields = ("name", "count", "last_run_at")
