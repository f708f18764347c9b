"""Redis Sentinel: a real master, replica and three sentinels on loopback.

Beat follows the master through a failover with the client it was given at start (one pool),
and each scheduled slot goes out once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from celery.schedules import schedule
from django.test import override_settings
from redis.sentinel import SentinelConnectionPool

from django_redbeat.beat import status
from django_redbeat.beat.headers import SCHEDULED_AT_HEADER
from django_redbeat.checks import check_redis_url, check_sentinels
from django_redbeat.exceptions import ConfigurationError
from django_redbeat.models import PeriodicTask
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from django_redbeat.store.connection import connect, get_redis
from django_redbeat.store.redbeat_config import ensure_conf
from tests.servers import SERVICE, SentinelDeployment
from tests.test_admin import ADD_URL, form_data

ENTRIES = ("a", "b", "c")


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory):
    """A deployment the tests of this module share; none of them kills anything in it."""
    deployment = SentinelDeployment(tmp_path_factory.mktemp("sentinel")).start()
    yield deployment
    deployment.stop()


@pytest.fixture
def shared(sentinel):
    sentinel.master.client().flushall()
    return sentinel


@pytest.fixture
def failing_over(tmp_path):
    """A deployment of the test's own, whose master the test kills."""
    deployment = SentinelDeployment(tmp_path / "sentinel")
    try:
        yield deployment.start()
    finally:
        deployment.stop()


def every_second(app, name):
    return RedBeatSchedulerEntry(
        name,
        "tests.add",
        schedule(timedelta(seconds=1)),
        args=[name],
        options={"queue": "q"},
        app=app,
    ).save()


def sentinel_settings(deployment, form):
    """(url, options) naming the same deployment in each supported form."""
    first, second = (f"127.0.0.1:{sentinel.port}" for sentinel in deployment.sentinels[:2])
    if form == "url":
        return deployment.url, {}
    if form == "kombu-url":
        url = f"redis-sentinel://{first};redis-sentinel://{second}/0?service_name={SERVICE}"
        return url, {}
    # celery-redbeat's form: the sentinels and the service name in the options
    pairs = [("127.0.0.1", sentinel.port) for sentinel in deployment.sentinels]
    return "redis-sentinel://ignored:26379/0", {"sentinels": pairs, "service_name": SERVICE}


@pytest.mark.parametrize("form", ["url", "kombu-url", "options"])
def test_the_client_talks_to_the_master_the_sentinels_name(shared, celery_app, form):
    url, options = sentinel_settings(shared, form)
    celery_app.conf.update(redbeat_redis_url=url, redbeat_redis_options=options)

    client = get_redis(celery_app)
    client.set("written", "through sentinel")

    pool = client.wrapped_connection.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.master_address == ("127.0.0.1", shared.master.port)
    assert shared.master.client().get("written") == "through sentinel"


def test_a_service_the_sentinels_do_not_monitor_is_refused_at_start(shared, celery_app):
    celery_app.conf.redbeat_redis_url = shared.url.replace(SERVICE, "typo")

    with pytest.raises(ConfigurationError, match="no service named 'typo'.*mymaster"):
        get_redis(celery_app)


def test_the_scheduler_runs_against_the_sentinel_master(shared, celery_app, clock, broker):
    celery_app.conf.redbeat_redis_url = shared.url
    every_second(celery_app, "a")
    beat = RedBeatScheduler(app=celery_app)
    try:
        clock.advance(seconds=1)
        beat.tick()
    finally:
        beat.close()

    assert len(broker.messages("q")) == 1
    assert shared.master.client().zcard("redbeat::schedule") == 1


@pytest.mark.django_db(transaction=True)
def test_beat_and_the_admin_follow_the_master_through_a_failover(
    failing_over, django_celery_app, clock, broker, admin_client, caplog
):
    app = django_celery_app
    # retries last up to half the lock timeout: 30 s, far more than a failover takes here
    app.conf.update(redbeat_redis_url=failing_over.url, redbeat_lock_timeout=60)
    for name in ENTRIES:
        every_second(app, name)
    client = get_redis(app)
    pool = client.wrapped_connection.connection_pool
    beat = RedBeatScheduler(app=app)
    sent = record_sends(beat, kill_after=10, deployment=failing_over)
    try:
        ticks = 12
        for _ in range(ticks):
            clock.advance(seconds=1)
            beat.tick()  # the first tick after the kill waits, retrying, for the new master
        assert not failing_over.master.process  # killed mid-run (after the 10th send)
        assert failing_over.master_port() == failing_over.replica.port

        # one client, one pool: it follows the master instead of being rebuilt
        assert get_redis(app) is client
        assert client.wrapped_connection.connection_pool is pool
        assert pool.master_address == ("127.0.0.1", failing_over.replica.port)
        assert beat._held  # the lock key was replicated: the same beat keeps it

        # every slot once, none lost (the clock stood still while Redis failed over)
        by_entry = defaultdict(list)
        for message in broker.messages("q"):
            args, _kwargs, _embed = message.payload
            by_entry[args[0]].append(message.headers[SCHEDULED_AT_HEADER])
        assert sorted(by_entry) == list(ENTRIES)
        for slots in by_entry.values():
            assert len(slots) == len(set(slots)) == ticks
            assert slots == sorted(slots)
        assert len(sent) == ticks * len(ENTRIES)

        # writes from the Django side reach the new master: a model save and an admin save
        PeriodicTask.objects.create(
            name="after", task="tests.add", kind="interval", every=5, period="minutes"
        )
        response = admin_client.post(ADD_URL, form_data(name="from-admin"), follow=True)
        assert response.status_code == 200
        new_master = failing_over.replica.client()
        assert new_master.hget("redbeat:after", "definition")
        assert new_master.hget("redbeat:from-admin", "definition")
    finally:
        beat.close()


def record_sends(beat, kill_after, deployment):
    """Wrap the beat's sends; kill the master right after the ``kill_after``-th one."""
    sent = []
    original = beat.apply_async

    def apply_async(entry, *args, **kwargs):
        result = original(entry, *args, **kwargs)
        sent.append((entry.name, entry.options["headers"][SCHEDULED_AT_HEADER]))
        if len(sent) == kill_after:
            deployment.wait_until_replicated()  # the claims so far are on the replica
            deployment.kill_master()
            deployment.master.process = None
        return result

    beat.apply_async = apply_async
    return sent


@pytest.mark.parametrize(
    "settings",
    [
        {"REDBEAT_REDIS_URL": "redis-sentinel:///0"},
        {"REDBEAT_REDIS_URL": "redis://h/0", "REDBEAT_REDIS_OPTIONS": {"sentinels": [26379]}},
    ],
)
def test_a_sentinel_setting_that_names_no_sentinel_fails_the_checks(settings):
    with override_settings(**settings):
        [error] = check_sentinels()
    assert error.id == "django_redbeat.E011"


def test_a_malformed_host_list_fails_the_checks_with_the_password_masked():
    url = "redis-sentinel://:secret@s1:26379,s2:port/0"
    with override_settings(REDBEAT_REDIS_URL=url):
        [error] = check_redis_url()
    assert error.id == "django_redbeat.E001"
    assert "secret" not in error.msg and "s2:port" in error.msg


def test_a_malformed_host_list_stops_beat_with_a_configuration_error(celery_app):
    celery_app.conf.redbeat_redis_url = "redis-sentinel://:secret@s1:26379,s2:port/0"

    with pytest.raises(ConfigurationError, match="Bad host:port 's2:port'") as refused:
        get_redis(celery_app)
    assert "secret" not in str(refused.value)


def test_the_beat_banner_shows_a_sentinel_url_without_its_password(celery_app):
    celery_app.conf.redbeat_redis_url = "redis-sentinel://:secret@127.0.0.1:1,127.0.0.1:2/0"

    info = RedBeatScheduler(app=celery_app).info  # with a lock, nothing is read before the lock

    assert "redis-sentinel://:**@127.0.0.1:1,127.0.0.1:2/0" in info


def test_credentials_tls_and_timeouts_reach_the_master_and_the_sentinels(celery_app):
    celery_app.conf.update(
        redbeat_redis_url="redis-sentinel://beat:p%40ss%3Aw%2Frd@127.0.0.1:1,127.0.0.1:2/3",
        redbeat_redis_use_ssl={"ssl_ca_certs": "/ca.pem"},
        redbeat_redis_options={
            "service_name": "mymaster",
            "socket_timeout": 2,
            "sentinel_kwargs": {"password": "sentinel-secret"},
        },
    )

    client = connect(ensure_conf(celery_app)).wrapped_connection  # connects to nothing yet

    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("beat", "p@ss:w/rd", 3)
    assert kwargs["ssl_ca_certs"] == "/ca.pem" and kwargs["socket_timeout"] == 2
    assert pool.connection_class.__name__ == "SentinelManagedSSLConnection"
    assert pool.service_name == "mymaster"
    sentinel = pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs
    assert sentinel["password"] == "sentinel-secret" and sentinel["socket_timeout"] == 2
    ports = [s.connection_pool.connection_kwargs["port"] for s in pool.sentinel_manager.sentinels]
    assert ports == [1, 2]


def test_redbeat_status_shows_a_sentinel_url_without_its_password(shared, celery_app):
    ports = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in shared.sentinels)
    # the default user takes any password in AUTH default <password> (the servers have none);
    # a bare AUTH <password> is refused there, and redis-py 5 sends that for a URL without user
    celery_app.conf.redbeat_redis_url = (
        f"redis-sentinel://default:secret@{ports}/0?service_name={SERVICE}"
    )

    found = status.report(celery_app)

    assert found["redis"]["url"].startswith("redis-sentinel://default:**@127.0.0.1:")
