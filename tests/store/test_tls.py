"""TLS: a real ``redis-server --tls-port`` with certificates this module makes (openssl).

The server requires client certificates; the client verifies the server's against the CA.
"""

from __future__ import annotations

import ssl
from datetime import timedelta
from urllib.parse import quote

import pytest
import redis
from celery.schedules import schedule
from django.test import override_settings

from django_redbeat.checks import check_use_ssl
from django_redbeat.exceptions import ConfigurationError
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from django_redbeat.store.connection import get_redis
from tests.servers import make_certificates, tls_server


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs):
    process = tls_server(tmp_path_factory.mktemp("tls"), certs)
    yield process
    process.stop()


@pytest.fixture
def tls_app(server, certs, celery_app):
    server.client().flushall()
    celery_app.conf.update(
        redbeat_redis_url=f"rediss://127.0.0.1:{server.port}/0",
        redbeat_redis_use_ssl={
            "ssl_ca_certs": str(certs.ca),
            "ssl_certfile": str(certs.client_cert),
            "ssl_keyfile": str(certs.client_key),
        },
    )
    return celery_app


def add_entry(app, name="tls"):
    return RedBeatSchedulerEntry(
        name, "tests.add", schedule(timedelta(seconds=1)), options={"queue": "q"}, app=app
    ).save()


def test_beat_runs_over_tls_with_a_client_certificate(tls_app, server, clock, broker):
    add_entry(tls_app)
    beat = RedBeatScheduler(app=tls_app)
    try:
        clock.advance(seconds=1)
        beat.tick()
    finally:
        beat.close()

    assert len(broker.messages("q")) == 1
    kwargs = get_redis(tls_app).connection_pool.connection_kwargs
    assert kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert server.client().hget("redbeat:tls", "definition")


def test_the_tls_options_can_be_given_in_the_url(server, certs, celery_app):
    query = "&".join(
        f"{name}={quote(str(path), safe='')}"
        for name, path in [("ssl_ca_certs", certs.ca), ("ssl_certfile", certs.client_cert),
                           ("ssl_keyfile", certs.client_key)]
    )  # fmt: skip
    celery_app.conf.update(
        redbeat_redis_url=f"rediss://127.0.0.1:{server.port}/0?ssl_cert_reqs=required&{query}",
        redbeat_redis_use_ssl=None,
    )

    add_entry(celery_app)

    assert RedBeatSchedulerEntry.from_key("redbeat:tls", app=celery_app).task == "tests.add"


def test_a_server_certificate_from_another_ca_is_refused_at_start(tls_app, certs):
    tls_app.conf.redbeat_redis_use_ssl = {
        **tls_app.conf.redbeat_redis_use_ssl, "ssl_ca_certs": str(certs.other_ca)
    }  # fmt: skip

    with pytest.raises(ConfigurationError, match="could not be verified.*Set ssl_ca_certs"):
        get_redis(tls_app)


@pytest.mark.parametrize("cert_reqs", ["none", ssl.CERT_NONE])
def test_verification_can_be_turned_off(tls_app, certs, cert_reqs):
    tls_app.conf.redbeat_redis_use_ssl = {
        **tls_app.conf.redbeat_redis_use_ssl,
        "ssl_ca_certs": str(certs.other_ca),  # would fail if it were checked
        "ssl_cert_reqs": cert_reqs,
    }

    assert get_redis(tls_app).ping()


def test_a_client_without_a_certificate_is_refused_by_the_server(tls_app, certs):
    tls_app.conf.redbeat_redis_use_ssl = {"ssl_ca_certs": str(certs.ca)}
    tls_app.conf.redbeat_redis_options = {"retry_period": 0}

    with pytest.raises(redis.exceptions.ConnectionError):
        get_redis(tls_app).ping()


def test_kombu_style_option_names_are_understood(tls_app, certs):
    tls_app.conf.redbeat_redis_use_ssl = {
        "ca_certs": str(certs.ca), "certfile": str(certs.client_cert),
        "keyfile": str(certs.client_key), "cert_reqs": "CERT_REQUIRED",
    }  # fmt: skip

    assert get_redis(tls_app).ping()


@pytest.mark.parametrize(
    "use_ssl, errors",
    [
        ({"ssl_cert_reqs": "required", "ssl_ca_certs": "/ca.pem"}, []),
        ({"ssl_cert_reqs": ssl.CERT_NONE}, []),
        ({"cert_reqs": "CERT_OPTIONAL"}, []),
        ({"ssl_cert_reqs": "always"}, ["django_redbeat.E006"]),
    ],
)
def test_the_system_check_reads_ssl_cert_reqs(use_ssl, errors):
    with override_settings(REDBEAT_REDIS_USE_SSL=use_ssl):
        assert [error.id for error in check_use_ssl()] == errors


def test_an_unknown_ssl_cert_reqs_stops_beat_with_a_configuration_error(celery_app):
    celery_app.conf.update(
        redbeat_redis_url="rediss://127.0.0.1:1/0",
        redbeat_redis_use_ssl={"ssl_cert_reqs": "always"},
    )

    with pytest.raises(ConfigurationError, match="'required', 'optional' or 'none'"):
        get_redis(celery_app)
