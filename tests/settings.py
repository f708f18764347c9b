"""Django settings for the test suite (the Redis URL is set by conftest.py)."""

from __future__ import annotations

SECRET_KEY = "tests-only"
USE_TZ = True
TIME_ZONE = "UTC"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_redbeat",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
