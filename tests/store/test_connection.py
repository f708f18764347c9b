from __future__ import annotations

import ssl

import pytest
import redis
from redis.connection import SSLConnection

from django_redbeat.schedulers import RetryingConnection, ensure_conf, get_redis
from support.redis_server import RedisServer


@pytest.fixture
def private_redis(tmp_path):
    """A server this test may stop and start (the session's is shared)."""
    server = RedisServer(tmp_path / "private")
    server.start()
    yield server
    server.stop()


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def retrying(server, period=10.0, on_sleep=None):
    clock = Clock()
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock.now += seconds
        if on_sleep:
            on_sleep()

    client = redis.Redis.from_url(server.url, decode_responses=True)
    return RetryingConnection(period, client, clock=clock, sleep=sleep), sleeps


def test_get_redis_builds_one_client_and_caches_it(celery_app):
    client = get_redis(celery_app)

    assert client.ping()
    assert get_redis(celery_app) is client
    assert celery_app.redbeat_redis is client


def test_a_client_set_on_the_app_is_used(celery_app, redis_url):
    injected = redis.Redis.from_url(redis_url, decode_responses=True)
    celery_app.redbeat_redis = injected

    assert get_redis(celery_app) is injected


def test_retry_period_wraps_the_client_in_a_retrying_connection(celery_app):
    celery_app.conf.redbeat_redis_options = {"retry_period": 3}

    client = get_redis(celery_app)

    assert isinstance(client, RetryingConnection)
    assert client.retry_period == 3
    assert client.set("k", "v") and client.get("k") == "v"


def test_a_command_is_retried_until_redis_is_back(private_redis):
    private_redis.stop()
    client, sleeps = retrying(private_redis, on_sleep=private_redis.start)

    assert client.set("k", "v") is True
    assert len(sleeps) == 1


def test_retries_back_off_and_stop_after_the_retry_period(private_redis):
    private_redis.stop()
    client, sleeps = retrying(private_redis, period=2.0)

    with pytest.raises(redis.exceptions.ConnectionError):
        client.ping()

    assert sleeps == [0.1, 0.2, 0.4, 0.8]  # doubling, and the next would pass the period
    assert sum(sleeps) <= 2.0


def test_a_pipeline_is_replayed_whole_after_a_connection_error(private_redis):
    client, _ = retrying(private_redis, on_sleep=private_redis.start)
    with client.pipeline() as pipe:
        pipe.set("a", "1")
        pipe.incr("counter")
        private_redis.stop()  # the server goes away between queueing and sending

        assert pipe.execute() == [True, 1]


def test_a_registered_script_is_retried(private_redis):
    client, sleeps = retrying(private_redis, on_sleep=private_redis.start)
    script = client.register_script("return redis.call('incr', KEYS[1])")
    private_redis.stop()

    assert script(keys=["n"]) == 1
    assert len(sleeps) == 1


def test_a_script_is_registered_once_per_text(private_redis):
    client, _ = retrying(private_redis)
    incr = client.register_script("return redis.call('incr', KEYS[1])")

    assert client.register_script("return redis.call('incr', KEYS[1])") is incr
    assert client.register_script("return 1") is not incr
    assert incr(keys=["n"]) == 1


def test_a_transaction_is_retried(private_redis):
    client, _ = retrying(private_redis, on_sleep=private_redis.start)
    private_redis.stop()

    def write(pipe):
        pipe.multi()
        pipe.set("t", "1")

    client.transaction(write, "t")

    assert client.get("t") == "1"


def test_rediss_urls_use_tls_with_certificates_required(celery_app):
    celery_app.conf.redbeat_redis_url = "rediss://localhost:6380/0"

    pool = get_redis(celery_app).connection_pool

    assert pool.connection_class is SSLConnection
    assert pool.connection_kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED


def test_redbeat_redis_use_ssl_options_are_passed_on(celery_app):
    celery_app.conf.update(
        redbeat_redis_url="rediss://localhost:6380/0",
        redbeat_redis_use_ssl={"ssl_cert_reqs": ssl.CERT_NONE, "ssl_ca_certs": "/ca.pem"},
    )

    kwargs = get_redis(celery_app).connection_pool.connection_kwargs

    assert kwargs["ssl_cert_reqs"] == ssl.CERT_NONE
    assert kwargs["ssl_ca_certs"] == "/ca.pem"


def test_redis_options_reach_the_client(celery_app):
    celery_app.conf.redbeat_redis_options = {"socket_timeout": 4, "retry_period": 1}

    client = get_redis(celery_app).wrapped_connection

    assert client.connection_pool.connection_kwargs["socket_timeout"] == 4


def test_broker_transport_options_do_not_reach_the_client(celery_app):
    celery_app.conf.broker_transport_options = {"socket_timeout": 4, "visibility_timeout": 9}
    with pytest.warns(DeprecationWarning, match="set redbeat_redis_options explicitly"):
        ensure_conf(celery_app)

    kwargs = get_redis(celery_app).connection_pool.connection_kwargs

    assert "socket_timeout" not in kwargs and "visibility_timeout" not in kwargs


def test_a_retry_budget_shortens_retries_in_its_block_only(private_redis):
    private_redis.stop()
    client, sleeps = retrying(private_redis, period=10.0)

    with client.retry_budget(0.3), pytest.raises(redis.exceptions.ConnectionError):
        client.ping()

    assert sum(sleeps) <= 0.3
    assert getattr(client._budget, "period", None) is None  # back to the full period
