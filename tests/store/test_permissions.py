"""ACL users: credentials in the URL, in the options or from a credential provider, the rule the
README gives, a clear error at start for a user that lacks something, and no password shown."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.schedules import schedule
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from redis.credentials import UsernamePasswordCredentialProvider

from django_redbeat.exceptions import ConfigurationError
from django_redbeat.models import PeriodicTask
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from django_redbeat.store.connection import get_redis
from django_redbeat.store.permissions import ACL_COMMANDS
from django_redbeat.store.redis_urls import safe_url
from django_redbeat.sync import drift
from support.processes import BeatProcess, wait_for
from support.redis_server import free_port
from tests import servers

PASSWORD = "p@ss:w/rd#?%&=+ ë;"  # every character a URL reserves, and one it cannot hold raw
USER = "beat"


class BeatCredentials(UsernamePasswordCredentialProvider):
    """What a project would name by dotted path (say, reading a secrets manager)."""

    def __init__(self) -> None:
        super().__init__(USER, PASSWORD)


@pytest.fixture(scope="module")
def acl_server(tmp_path_factory):
    process = servers.server(tmp_path_factory.mktemp("acl")).start()
    with servers.stopped_on_error(process):
        add_users(process.client())
    yield process
    process.stop()


def add_users(admin):
    # the rule the README gives: the commands, and the keys and channels under the prefix
    commands = ACL_COMMANDS.split()
    rule = ["reset", "on", f">{PASSWORD}", "~redbeat:*", "resetchannels", "&redbeat:*", *commands]
    admin.execute_command("ACL", "SETUSER", USER, *rule)
    # the same, less the scripts beat's lock and slot claims run
    weak = [part for part in rule if part not in ("+evalsha", "+script|load")]
    admin.execute_command("ACL", "SETUSER", "weak", *weak)
    # the same, less Redis's clock, which the slot claims read
    admin.execute_command("ACL", "SETUSER", "timeless", *[p for p in rule if p != "+time"])
    # the commands, but keys elsewhere only
    other = ["~elsewhere:*" if part == "~redbeat:*" else part for part in rule]
    admin.execute_command("ACL", "SETUSER", "elsewhere", *other)


@pytest.fixture
def acl_app(acl_server, celery_app):
    with acl_server.client() as admin:
        admin.flushall()
        # earlier tests' clients (other users) may still be connected: start with none
        admin.client_kill_filter(_type="normal", skipme=True)
    celery_app.conf.update(
        redbeat_redis_url=f"redis://127.0.0.1:{acl_server.port}/0",
        redbeat_redis_options={"username": USER, "password": PASSWORD},
    )
    return celery_app


def url_with(server, user=USER, password=PASSWORD) -> str:
    return f"redis://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{server.port}/0"


def connected_as(server) -> set[str]:
    """The users of the clients connected to the server, but the admin's."""
    with server.client() as admin:
        return {client["user"] for client in admin.client_list()} - {"default"}


def run_beat(app, clock, ticks=2):
    RedBeatSchedulerEntry(
        "acl", "tests.add", schedule(timedelta(seconds=1)), options={"queue": "q"}, app=app
    ).save()
    beat = RedBeatScheduler(app=app)
    try:
        for _ in range(ticks):
            clock.advance(seconds=1)
            beat.tick()
    finally:
        beat.close()
    return beat


def test_a_user_with_the_readme_rule_runs_beat_with_the_password_in_options(
    acl_server, acl_app, clock, broker
):
    run_beat(acl_app, clock)

    assert len(broker.messages("q")) == 2
    assert connected_as(acl_server) == {USER}


def test_the_password_percent_encoded_in_the_url(acl_server, acl_app, clock, broker):
    acl_app.conf.update(redbeat_redis_url=url_with(acl_server), redbeat_redis_options={})

    run_beat(acl_app, clock)

    assert len(broker.messages("q")) == 2
    assert connected_as(acl_server) == {USER}


@pytest.mark.parametrize(
    "provider", [BeatCredentials(), "tests.store.test_permissions:BeatCredentials"]
)
def test_a_credential_provider_instance_or_dotted_path(acl_app, clock, broker, provider):
    acl_app.conf.redbeat_redis_options = {"credential_provider": provider}

    run_beat(acl_app, clock)

    assert len(broker.messages("q")) == 2


def test_a_credential_provider_that_is_not_one_is_refused(acl_app):
    acl_app.conf.redbeat_redis_options = {
        "credential_provider": "tests.store.test_permissions:USER"
    }

    with pytest.raises(ConfigurationError, match="must be a redis.credentials"):
        get_redis(acl_app)


@pytest.mark.django_db(transaction=True)
def test_the_django_side_syncs_and_scans_with_the_readme_rule(acl_app, django_celery_app):
    PeriodicTask.objects.create(
        name="job", task="tests.add", kind="interval", every=5, period="minutes"
    )

    assert get_redis(acl_app).hget("redbeat:job", "definition")
    assert not drift.find(acl_app)  # SCAN and reads allowed: no drift


def test_a_user_without_the_script_commands_is_refused_at_start(acl_app):
    acl_app.conf.redbeat_redis_options = {"username": "weak", "password": PASSWORD}

    with pytest.raises(ConfigurationError) as refused:
        get_redis(acl_app)

    message = str(refused.value)
    assert "may not run what django-redbeat needs" in message
    assert "evalsha" in message and "ACL SETUSER" in message
    assert PASSWORD not in message


def test_a_user_without_redis_time_is_refused_at_start(acl_app):
    acl_app.conf.redbeat_redis_options = {"username": "timeless", "password": PASSWORD}

    with pytest.raises(ConfigurationError) as refused:
        get_redis(acl_app)

    reasons = str(refused.value).split("Grant the commands")[0]
    assert reasons.endswith("(time). ")  # the one command refused, named


def test_a_user_whose_keys_are_elsewhere_is_refused_at_start(acl_app):
    acl_app.conf.redbeat_redis_options = {"username": "elsewhere", "password": PASSWORD}

    with pytest.raises(ConfigurationError, match="access one of the keys .*~redbeat:"):
        get_redis(acl_app)


def test_a_wrong_password_fails_at_once_with_a_clear_error(acl_server, acl_app):
    acl_app.conf.update(
        redbeat_redis_url=url_with(acl_server, password="not-" + PASSWORD),
        redbeat_redis_options={},
    )
    started = time.monotonic()

    with pytest.raises(ConfigurationError, match="refused the credentials") as refused:
        get_redis(acl_app)

    assert time.monotonic() - started < 2  # not retried as if Redis were away
    assert PASSWORD not in str(refused.value)
    assert quote(PASSWORD, safe="") not in str(refused.value)


@pytest.mark.django_db  # manage.py check: Django 6.1's model checks open the database
def test_the_password_is_never_shown(acl_server, acl_app, clock, caplog):
    encoded = quote(PASSWORD, safe="")
    acl_app.conf.update(redbeat_redis_url=url_with(acl_server), redbeat_redis_options={})
    with caplog.at_level(logging.DEBUG):
        beat = run_beat(acl_app, clock)
        # Redis away: the retries and errors are logged too
        acl_app.conf.update(
            redbeat_redis_url=url_with(acl_server).replace(str(acl_server.port), str(free_port())),
            redbeat_redis_options={"retry_period": 0.3},
        )
        del acl_app.redbeat_conf, acl_app.redbeat_redis
        away = RedBeatScheduler(app=acl_app)
        away.tick()
        away.close()

    shown = [caplog.text, beat.info, away.info]
    with override_settings(REDBEAT_REDIS_URL=url_with(acl_server).replace("redis:", "redi:")):
        with pytest.raises(SystemCheckError) as check:
            call_command("check")
        shown.append(str(check.value))
    for text in shown:
        assert PASSWORD not in text and encoded not in text
    assert "beat:**@" in beat.info
    assert "Redis unavailable" in caplog.text


@pytest.mark.system
def test_a_beat_process_with_a_weak_user_stops_with_a_clear_error(acl_server, tmp_path):
    url = url_with(acl_server, user="weak")
    beat = BeatProcess(tmp_path / "beat", url, "memory://")
    try:
        wait_for(lambda: beat.process.poll() is not None, 30, "beat to stop")
    finally:
        beat.stop()

    log = beat.log()
    assert beat.process.returncode != 0
    assert "may not run what django-redbeat needs" in log
    assert PASSWORD not in log and quote(PASSWORD, safe="") not in log


@pytest.mark.parametrize(
    "url, shown",
    [
        ("redis://beat:p%40ss@h:6379/0", "redis://beat:**@h:6379/0"),
        ("rediss://:secret@h:6380/0?ssl_cert_reqs=required", "rediss://:**@h:6380/0?ssl_cert_reqs=required"),
        ("redis://h:6379/0?password=secret&db=1", "redis://h:6379/0?password=**&db=1"),
        ("redis-sentinel://u:secret@s1:26379,s2:26379/0?service_name=m",
         "redis-sentinel://u:**@s1:26379,s2:26379/0?service_name=m"),
        ("redis-sentinel://:secret@s1;redis-sentinel://:secret@s2",
         "redis-sentinel://:**@s1;redis-sentinel://:**@s2"),
        ("redis-cluster://u:secret@n1:7000,n2:7000", "redis-cluster://u:**@n1:7000,n2:7000"),
        ("redis://u:sec/ret@h/0", "redis://**@h/0"),  # not percent-encoded: all of it hidden
        ("redis://u:sec@ret@h/0", "redis://u:**@h/0"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
    ],
)  # fmt: skip
def test_a_url_is_shown_with_its_password_masked(url, shown):
    assert safe_url(url) == shown


@pytest.mark.django_db
def test_redbeat_status_works_for_the_user_and_never_shows_the_password(
    acl_server, acl_app, django_celery_app, clock
):
    acl_app.conf.update(redbeat_redis_url=url_with(acl_server), redbeat_redis_options={})
    run_beat(acl_app, clock)
    out = StringIO()

    call_command("redbeat_status", stdout=out)
    call_command("redbeat_status", "--json", stdout=out)

    assert "redis://beat:**@" in out.getvalue()
    assert PASSWORD not in out.getvalue() and quote(PASSWORD, safe="") not in out.getvalue()


@pytest.fixture
def not_redis():
    """A TCP server that answers every connection as an HTTP proxy would."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so that the loop sees ``stop``
    stop = threading.Event()

    def answer():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(5)
    listener.close()


def test_a_server_that_does_not_speak_redis_leaves_the_check_for_later(celery_app, not_redis):
    # what a proxy in front of a Redis that is away answers: not a permission problem
    celery_app.conf.redbeat_redis_url = not_redis

    client = get_redis(celery_app)

    assert celery_app.redbeat_redis is client


def test_the_readme_grants_every_command_in_the_rule():
    readme = (Path(__file__).parents[2] / "README.rst").read_text()
    rule = readme.split("ACL SETUSER beat on >password", 1)[1].split("\n\n", 1)[0]
    assert rule.split()[3:] == ACL_COMMANDS.split()
