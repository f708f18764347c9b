"""System checks: each malformed REDBEAT_* setting gets its own ID, and no password leaks."""

from __future__ import annotations

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_redbeat.checks import check_settings


def ids(**settings) -> list[str]:
    with override_settings(**settings):
        return [message.id for message in check_settings()]


def test_the_defaults_pass():
    assert check_settings() == []


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"REDBEAT_REDIS_URL": "http://localhost:6379"}, "django_redbeat.E001"),
        ({"REDBEAT_REDIS_URL": 6379}, "django_redbeat.E001"),
        ({"REDBEAT_KEY_PREFIX": ""}, "django_redbeat.E002"),
        ({"REDBEAT_KEY_PREFIX": None}, "django_redbeat.E002"),
        ({"REDBEAT_LOCK_KEY": ""}, "django_redbeat.E003"),
        ({"REDBEAT_LOCK_KEY": 5}, "django_redbeat.E003"),
        ({"REDBEAT_LOCK_TIMEOUT": 0}, "django_redbeat.E004"),
        ({"REDBEAT_LOCK_TIMEOUT": "30"}, "django_redbeat.E004"),
        ({"REDBEAT_LOCK_TIMEOUT": True}, "django_redbeat.E004"),
        ({"REDBEAT_REDIS_OPTIONS": ["retry_period", 5]}, "django_redbeat.E005"),
        ({"REDBEAT_REDIS_OPTIONS": {"retry_period": "soon"}}, "django_redbeat.E005"),
        ({"REDBEAT_REDIS_USE_SSL": "yes"}, "django_redbeat.E006"),
        ({"REDBEAT_MAX_DUE_PER_TICK": 0}, "django_redbeat.E007"),
        ({"REDBEAT_MAX_DUE_PER_TICK": 2.5}, "django_redbeat.E007"),
        ({"REDBEAT_CELERY_APP": ""}, "django_redbeat.E008"),
        ({"REDBEAT_LOCK_RENEWAL_INTERVAL": 30}, "django_redbeat.E009"),
        ({"REDBEAT_LOCK_RENEWAL_INTERVAL": -1}, "django_redbeat.E009"),
        ({"REDBEAT_SEND_RETRY_WINDOW": 0}, "django_redbeat.E010"),
        ({"REDBEAT_STANDBY_GRACE": 0}, "django_redbeat.E012"),
        (
            {"REDBEAT_REDIS_URL": "redis-cluster://node:7000", "REDBEAT_KEY_PREFIX": "rb:"},
            "django_redbeat.W001",
        ),
        (
            {"REDBEAT_REDIS_OPTIONS": {"cluster": True}, "REDBEAT_KEY_PREFIX": "rb:"},
            "django_redbeat.W001",
        ),
        ({"REDBEAT_HISTORY_LENGTH": -1}, "django_redbeat.E020"),
        ({"REDBEAT_HISTORY_LENGTH": 2.5}, "django_redbeat.E020"),
    ],
)
def test_each_malformed_setting_has_its_id(settings, expected):
    assert ids(**settings) == [expected]


@pytest.mark.parametrize(
    "settings",
    [
        {"REDBEAT_REDIS_URL": "rediss://:secret@host:6380/0"},
        {"REDBEAT_REDIS_URL": "redis-sentinel://host:26379", "REDBEAT_LOCK_KEY": None},
        {"REDBEAT_REDIS_URL": "unix:///run/redis.sock", "REDBEAT_REDIS_USE_SSL": {}},
        {"REDBEAT_REDIS_URL": "redis-cluster://n:7000", "REDBEAT_KEY_PREFIX": "{redbeat}:"},
        {"REDBEAT_REDIS_URL": "redis-cluster://n:7000"},  # the default there is {redbeat}:
        {"REDBEAT_LOCK_TIMEOUT": 60, "REDBEAT_LOCK_RENEWAL_INTERVAL": 10.5},
        {"REDBEAT_REDIS_OPTIONS": {"retry_period": -1}, "REDBEAT_CELERY_APP": "proj.app"},
    ],
)
def test_valid_settings_pass(settings):
    assert ids(**settings) == []


def test_the_password_never_appears_in_a_message():
    with override_settings(REDBEAT_REDIS_URL="http://user:hunter2@redis.example:6379/0"):
        (message,) = check_settings()
    assert isinstance(message, Error)
    assert "hunter2" not in message.msg
    assert "hunter2" not in (message.hint or "")
    assert "redis.example" in message.msg


def test_cluster_without_a_hash_tag_is_a_warning():
    with override_settings(REDBEAT_REDIS_OPTIONS={"cluster": True}, REDBEAT_KEY_PREFIX="rb:"):
        (message,) = check_settings()
    assert isinstance(message, Warning)
    assert "{redbeat}:" in message.hint


@pytest.mark.django_db  # Django 6.1's model checks ask the database whether it has JSON fields
def test_manage_py_check_fails_on_an_error():
    with override_settings(REDBEAT_LOCK_TIMEOUT=-5), pytest.raises(SystemCheckError) as caught:
        call_command("check")
    assert "django_redbeat.E004" in str(caught.value)
