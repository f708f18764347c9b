"""The admin changelist over N tasks: time per page, Redis round trips and SQL queries per page.

django-redbeat's changelist reads the page's run state from Redis; django-celery-beat's reads it
from its own table. Both pages are rendered in full by Django's test client, logged in as a
superuser; the page size is the ModelAdmin's ``list_per_page``.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench import roundtrips
from bench.subjects import django_setup, specs

URLS = {
    "django-redbeat": "/admin/django_redbeat/periodictask/",
    "django-celery-beat": "/admin/django_celery_beat/periodictask/",
}


def populate_ours(n: int) -> Any:
    from django_redbeat.models import PeriodicTask

    rows = [
        PeriodicTask(
            name=name, task="bench.noop", args=[arg], kind="interval", every=int(every),
            period="seconds",
        )
        for name, arg, every, _ in specs(n, "far")
    ]  # fmt: skip
    PeriodicTask.objects.bulk_create(rows)  # synced into Redis by the queryset
    return PeriodicTask


def populate_dcb(n: int) -> Any:
    from django_celery_beat.models import PeriodicTask

    from bench.celery_app import app
    from bench.subjects import DjangoCeleryBeat

    DjangoCeleryBeat(app).create(n, "far")
    return PeriodicTask


def page(client: Any, url: str) -> tuple[float, int, int]:
    """Seconds, Redis round trips and SQL queries of one changelist request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    trips = roundtrips.count()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed, roundtrips.count() - trips, len(queries)


def run(subject: str, n: int, repeat: int = 10, **_: Any) -> dict[str, Any]:
    django_setup(subject)
    roundtrips.install()
    from django.contrib import admin
    from django.contrib.auth.models import User
    from django.test import Client

    model = populate_ours(n) if subject == "django-redbeat" else populate_dcb(n)
    client = Client()
    client.force_login(User.objects.create(username="bench", is_staff=True, is_superuser=True))
    model_admin = admin.site._registry[model]
    result: dict[str, Any] = {}
    for size in (20, 100, 500):
        model_admin.list_per_page = size
        page(client, URLS[subject])  # warm: templates, caches
        runs = [page(client, URLS[subject]) for _ in range(repeat if size == 100 else 2)]
        result[f"admin_{size}_ms"] = 1000 * statistics.median(r[0] for r in runs)
        result[f"admin_{size}_roundtrips"] = max(r[1] for r in runs)
        result[f"admin_{size}_queries"] = max(r[2] for r in runs)
    return result
