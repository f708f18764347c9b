"""Django settings shared by the benchmark's two Django projects: SQLite in a file whose path
``BENCH_DB`` gives (in the run's temporary folder), the admin, UTC."""

from __future__ import annotations

import os

from support.django_settings import *  # noqa: F403

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB", ":memory:"),
    }
}
ROOT_URLCONF = "bench.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
