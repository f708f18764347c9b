"""Django settings for the test suite (the Celery app and its Redis URL come from fixtures)."""

from __future__ import annotations

import importlib.util

from support.django_settings import *  # noqa: F403
from support.django_settings import ADMIN_APPS

SECRET_KEY = "tests-only"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# staticfiles: the browser tests' live server serves the admin's scripts and styles
INSTALLED_APPS = [*ADMIN_APPS, "django.contrib.staticfiles", "django_redbeat"]
# django-celery-beat's own models and migrations, which `redbeat_import --from-django-celery-beat`
# reads (a test-only dependency: where it cannot be installed, its tests skip and say why)
if importlib.util.find_spec("django_celery_beat") is not None:
    INSTALLED_APPS.append("django_celery_beat")
STATIC_URL = "/static/"
ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# the Celery app of the running test (set by the django_celery_app fixture)
REDBEAT_CELERY_APP = "tests.django_fixtures.current_app"
