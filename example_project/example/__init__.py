"""The example project: django-redbeat with a Celery worker and a few jobs."""

from __future__ import annotations

from example.celery import app as celery_app

__all__ = ["celery_app"]
