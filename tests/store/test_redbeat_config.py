from __future__ import annotations

import pytest
from celery import Celery

from django_redbeat.exceptions import ConfigurationError
from django_redbeat.schedulers import RedBeatConfig, ensure_conf


@pytest.fixture
def app():
    app = Celery("config-tests", set_as_current=False)
    app.conf.redbeat_redis_url = "redis://localhost:6379/3"
    return app


def test_defaults(app):
    conf = RedBeatConfig(app)

    assert conf.key_prefix == "redbeat:"
    assert conf.schedule_key == "redbeat::schedule"
    assert conf.statics_key == "redbeat::statics"
    assert conf.lock_key == "redbeat::lock"
    assert conf.lock_timeout is None  # not configured, as celery-redbeat says it
    assert conf.effective_lock_timeout == 30
    assert conf.redis_url == "redis://localhost:6379/3"
    assert conf.redbeat_redis_options == {}


def test_celery_keys_keep_celery_redbeats_names(app):
    app.conf.update(
        redbeat_key_prefix="{beat}:",
        redbeat_lock_key="my-lock",
        redbeat_lock_timeout=12,
        redbeat_redis_options={"retry_period": 5},
    )

    conf = RedBeatConfig(app)

    assert conf.schedule_key == "{beat}::schedule"
    assert conf.lock_key == "{beat}:my-lock"  # put under the prefix, as celery-redbeat does
    assert conf.lock_timeout == 12
    assert conf.redbeat_redis_options == {"retry_period": 5}


def test_a_lock_key_of_none_disables_the_lock(app):
    app.conf.redbeat_lock_key = None

    assert RedBeatConfig(app).lock_key is None


def test_django_settings_win_over_celery_conf(app, settings):
    app.conf.update(redbeat_key_prefix="celery:", redbeat_lock_timeout=99)
    settings.REDBEAT_KEY_PREFIX = "django:"
    settings.REDBEAT_REDIS_URL = "redis://django-redis:6379/1"

    conf = RedBeatConfig(app)

    assert conf.key_prefix == "django:"
    assert conf.redis_url == "redis://django-redis:6379/1"
    assert conf.lock_timeout == 99  # not set in Django: the Celery value stands


def test_celery_namespace_settings_are_read(tmp_path, monkeypatch):
    (tmp_path / "ns_settings.py").write_text(
        "CELERY_REDBEAT_REDIS_URL = 'redis://ns:6379/2'\nCELERY_REDBEAT_KEY_PREFIX = 'ns:'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    app = Celery("ns", set_as_current=False)
    app.config_from_object("ns_settings", namespace="CELERY")

    conf = RedBeatConfig(app)

    assert (conf.redis_url, conf.key_prefix) == ("redis://ns:6379/2", "ns:")


def test_broker_url_is_used_with_a_deprecation_warning(caplog):
    app = Celery("fallback", set_as_current=False, broker="redis://broker:6379/0")

    with pytest.warns(DeprecationWarning, match="redbeat_redis_url"):
        conf = RedBeatConfig(app)

    assert conf.redis_url == "redis://broker:6379/0"
    assert "redbeat_redis_url" in caplog.text  # logged too: daemons hide warnings


def test_no_redis_url_at_all_is_a_clear_error():
    app = Celery("none", set_as_current=False)
    app.conf.broker_url = None

    with pytest.raises(ConfigurationError, match="REDBEAT_REDIS_URL"):
        RedBeatConfig(app)


def test_a_lock_timeout_of_none_means_the_default(app):
    app.conf.redbeat_lock_timeout = None

    assert RedBeatConfig(app).effective_lock_timeout == 30


@pytest.mark.parametrize("value", [0, -5, "soon"])
def test_a_bad_lock_timeout_names_the_setting(app, value):
    app.conf.redbeat_lock_timeout = value

    with pytest.raises(ConfigurationError, match="redbeat_lock_timeout"):
        RedBeatConfig(app)


def test_the_history_length_is_20_by_default_and_0_turns_it_off(app, settings):
    assert RedBeatConfig(app).history_length == 20
    app.conf.redbeat_history_length = 0
    assert RedBeatConfig(app).history_length == 0
    settings.REDBEAT_HISTORY_LENGTH = 5  # Django's setting wins
    assert RedBeatConfig(app).history_length == 5


@pytest.mark.parametrize("value", [-1, 2.5, "20", True])
def test_a_bad_history_length_names_the_setting(app, value):
    app.conf.redbeat_history_length = value

    with pytest.raises(ConfigurationError, match="redbeat_history_length"):
        RedBeatConfig(app)


def test_redis_options_must_be_a_dict(app):
    app.conf.redbeat_redis_options = "retry_period=5"

    with pytest.raises(ConfigurationError, match="redbeat_redis_options"):
        RedBeatConfig(app)


def test_ensure_conf_caches_the_config_on_the_app(app):
    conf = ensure_conf(app)

    assert app.redbeat_conf is conf
    assert ensure_conf(app) is conf


def test_schedule_is_the_apps_beat_schedule(app):
    conf = RedBeatConfig(app)
    conf.schedule = {"a": {"task": "t", "schedule": 5}}

    assert app.conf.beat_schedule == {"a": {"task": "t", "schedule": 5}}
