"""``manage.py redbeat_run``: beat in the Django process, woken by saves, stopped by signals.

The command runs in the test's main thread (signals reach only that one) while a helper thread
watches Redis, changes tasks and stops it.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
import redis
from celery.signals import beat_init
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.decoder import dumps, to_timestamp
from django_redbeat.management.commands.redbeat_run import Command
from django_redbeat.models import PeriodicTask
from django_redbeat.sync import bridge
from django_redbeat.sync.bridge import MANAGED_BY, MANAGED_FIELD
from django_redbeat.sync.database_scheduler import database_names
from support.processes import wait_for
from tests.django_fixtures import make_task

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app", "beat_loggers"),
]

LOCK = "redbeat::lock"
#: A beat with nothing due sleeps this long: only a wake-up can make it send sooner.
LONG_SLEEP = "300"


@pytest.fixture
def beat_loggers():
    """The command sets up beat's loggers: put them back afterwards."""
    loggers = [logging.getLogger(name) for name in ("celery", "django_redbeat")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    yield
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        for handler in set(logger.handlers) - set(handlers):
            logger.removeHandler(handler)
            handler.close()


@pytest.fixture(autouse=True)
def real_time(celery_app):
    """Beat runs in real time here, not on the test clock."""
    del celery_app.now


@pytest.fixture
def sigterm_guard():
    """A harmless SIGTERM handler while the test runs: a stray signal never kills pytest."""
    previous = signal.signal(signal.SIGTERM, lambda *args: None)
    yield signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, previous)


class Run:
    def __init__(self, out: str, err: str, seconds: float) -> None:
        self.out, self.err, self.seconds = out, err, seconds


def run_beat(act: Callable[[Command], None], *args: str) -> Run:
    """Run redbeat_run with ``args`` until ``act`` (in a helper thread) returns; then stop it."""
    command = Command()
    failures: list[BaseException] = []

    def helper() -> None:
        try:
            runner = wait_for(lambda: command.runner, 10, "the beat runner")
            act(command)
        except BaseException as exc:  # reported in the main thread
            failures.append(exc)
        finally:
            runner = command.runner
            if runner is not None:
                runner.stop()
            connection.close()

    out, err = StringIO(), StringIO()
    thread = threading.Thread(target=helper)
    started = time.monotonic()
    thread.start()
    call_command(command, *args, stdout=out, stderr=err)
    seconds = time.monotonic() - started
    thread.join(10)
    if failures:
        raise failures[0]
    return Run(out.getvalue(), err.getvalue(), seconds)


def asleep(command: Command, at_least: float = 100) -> None:
    """Wait until beat sleeps for a long time (after its first ticks)."""

    def sleeping() -> bool:
        until = command.runner.sleeping_until if command.runner else None
        return until is not None and until - time.monotonic() > at_least

    wait_for(sleeping, 10, "beat asleep")


def run_count(redis_client, name: str = "job") -> int:
    meta = redis_client.hget("redbeat:" + name, "meta")
    return RedBeatSchedulerEntry.decode_meta(meta).get("total_run_count") or 0


make_task = functools.partial(make_task, every=1, period="hours")


# ---- waking up ---------------------------------------------------------------------------------


def test_a_new_task_wakes_a_long_sleep_and_is_sent_at_once(redis_client):
    timings = {}

    def act(command):
        asleep(command)
        saved = time.monotonic()
        make_task(kind="oneoff", run_at=timezone.now())  # due now
        wait_for(lambda: run_count(redis_client) == 1, 3, "the new task sent")
        timings["sent after"] = time.monotonic() - saved

    run_beat(act, "--max-interval", LONG_SLEEP)
    assert timings["sent after"] < 2


def test_an_edit_reaches_the_sleeping_beat(redis_client, broker):
    # every hour, last run 90 minutes ago: due when beat starts, inside its catch-up window
    make_task(args=[1])
    last_run = timezone.now() - timedelta(minutes=90)
    redis_client.hset("redbeat:job", "meta", dumps({"last_run_at": last_run}))
    redis_client.zadd("redbeat::schedule", {"redbeat:job": to_timestamp(last_run) + 3600})

    def act(command):
        wait_for(lambda: run_count(redis_client) == 1, 10, "the first run")
        asleep(command)
        task = PeriodicTask.objects.get(name="job")
        task.args, task.every, task.period = [2], 1, "seconds"  # due again within a second
        task.save()
        wait_for(lambda: run_count(redis_client) == 2, 3, "the edited task sent")

    run_beat(act, "--max-interval", LONG_SLEEP)
    sent = [message.payload[0] for message in broker.messages()]
    assert sent[:2] == [[1], [2]]


# ---- start-up ----------------------------------------------------------------------------------


def test_on_start_the_database_is_written_to_redis_holding_the_lock(redis_client):
    make_task(name="a")
    make_task(name="b", enabled=False)
    redis_client.flushall()  # Redis lost everything while beat was away

    def act(command):
        asleep(command)
        assert redis_client.get(LOCK).split(":")[1] == str(os.getpid())

    run = run_beat(act, "--max-interval", LONG_SLEEP)
    assert redis_client.hget("redbeat:a", MANAGED_FIELD) == MANAGED_BY
    assert redis_client.zscore("redbeat::schedule", "redbeat:b") == -1
    assert "redbeat_run: beat for Celery app 'tests'" in run.out


def test_on_start_unchanged_entries_are_not_written_again(redis_client):
    make_task(name="a")
    make_task(name="b", enabled=False)

    def entry_writes() -> int:
        stats = redis_client.info("commandstats")
        commands = ("hset", "hsetnx", "hdel", "zadd", "zrem")  # DEL: the statics set's too
        return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in commands)

    before = entry_writes()
    run_beat(asleep, "--max-interval", LONG_SLEEP)
    assert entry_writes() == before


def test_beat_schedule_is_not_installed_and_its_entries_not_imported_are_named(
    celery_app, redis_client
):
    celery_app.conf.beat_schedule = {
        "imported": {"task": "tests.add", "schedule": 60},
        "not-imported": {"task": "tests.add", "schedule": 60},
    }
    make_task(name="imported")
    run = run_beat(asleep, "--max-interval", LONG_SLEEP)
    assert "1 entries of CELERY_BEAT_SCHEDULE are not in the database" in run.err
    assert "not-imported. Import them with `manage.py redbeat_import`." in run.err
    assert redis_client.exists("redbeat:not-imported") == 0
    assert redis_client.smembers("redbeat::statics") == set()


def make_tasks(count: int) -> list[str]:
    tasks = [
        PeriodicTask(name=f"task-{index}", task="tests.add", kind="interval", every=1,
                     period="hours")
        for index in range(count)
    ]  # fmt: skip
    return [task.name for task in PeriodicTask.objects.bulk_create(tasks)]


def test_names_among_many_more_tasks_are_looked_up_in_chunks(django_assert_num_queries):
    existing = make_tasks(2 * bridge.QUERY_CHUNK + 2)
    names = [*existing[: bridge.QUERY_CHUNK], "absent"]
    with django_assert_num_queries(3):  # a count, two chunks: SQLite limits the parameters
        assert database_names(names) == set(existing[: bridge.QUERY_CHUNK])


def test_as_many_names_as_tasks_are_found_in_one_read_of_all(django_assert_num_queries):
    existing = make_tasks(bridge.QUERY_CHUNK + 1)
    names = [*existing[1:], "absent"]
    with django_assert_num_queries(2):  # a count, every name
        assert database_names(names) == set(existing[1:])


def test_statics_the_database_now_owns_keep_their_run_state(celery_app, redis_client):
    """Switching from celery-redbeat: its statics were imported; they are not deleted."""
    make_task()
    redis_client.hset("redbeat:job", "meta", dumps({"total_run_count": 41, "last_run_at": None}))
    redis_client.hdel("redbeat:job", MANAGED_FIELD)  # as celery-redbeat wrote it: not marked
    redis_client.sadd("redbeat::statics", "job", "old-static")
    RedBeatSchedulerEntry("old-static", "tests.add", 60, app=celery_app).save()

    run_beat(asleep, "--max-interval", LONG_SLEEP)
    assert redis_client.smembers("redbeat::statics") == set()
    assert run_count(redis_client) == 42  # kept, and one more run (it was due)
    assert redis_client.exists("redbeat:old-static") == 0  # not configured any more


# ---- stopping ----------------------------------------------------------------------------------


def test_sigterm_stops_a_sleeping_beat_at_once_and_releases_the_lock(redis_client, sigterm_guard):
    stopped = {}

    def act(command):
        asleep(command)
        stopped["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(lambda: command.runner is None, 5, "beat stopped")
        stopped["after"] = time.monotonic() - stopped["at"]

    run = run_beat(act, "--max-interval", LONG_SLEEP)
    assert stopped["after"] < 1
    assert redis_client.exists(LOCK) == 0
    assert "redbeat_run: stopped." in run.out
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard  # the previous handler is back


def test_sigint_stops_a_standby_without_touching_the_lock(redis_client):
    redis_client.set(LOCK, "elsewhere:1:abc", px=60_000)

    def waiting_for_the_lock() -> bool:
        return any(client["cmd"] == "blpop" for client in redis_client.client_list())

    def act(command):
        wait_for(waiting_for_the_lock, 10, "beat standing by")
        started = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)
        wait_for(lambda: command.runner is None, 5, "beat stopped")
        assert time.monotonic() - started < 1

    run_beat(act, "--lock-timeout", "30")
    assert redis_client.get(LOCK) == "elsewhere:1:abc"


# ---- options -----------------------------------------------------------------------------------


def test_lock_options(redis_client):
    def act(command):
        asleep(command)
        assert 0 < redis_client.pttl("redbeat:my-lock") <= 5000

    run = run_beat(act, "--lock-key", "my-lock", "--lock-timeout", "5", "--max-interval", "300")
    assert "lock -> `redbeat:my-lock` 5.00 seconds (5.0s)" in run.out
    assert redis_client.exists("redbeat:my-lock") == 0


def test_max_interval_and_loglevel(redis_client, caplog):
    def act(command):
        asleep(command, at_least=0)
        assert command.runner.sleeping_until - time.monotonic() <= 2

    run = run_beat(act, "--max-interval", "2", "--loglevel", "debug")
    assert "max interval -> 2.00 seconds (2.0s)" in run.out
    assert "loglevel -> DEBUG" in run.out
    assert "beat: Waking up in 2.00 seconds." in caplog.text


def test_logfile(tmp_path):
    logfile = tmp_path / "beat.log"
    run_beat(asleep, "--logfile", str(logfile), "--max-interval", LONG_SLEEP)
    assert "INFO/MainProcess] beat: Acquired lock redbeat::lock as" in logfile.read_text()


def test_the_password_is_never_shown(own_redis, django_celery_app):
    import redis

    redis.Redis.from_url(own_redis.url).config_set("requirepass", "s3cret")
    django_celery_app.conf.redbeat_redis_url = own_redis.url.replace("//", "//:s3cret@")
    run = run_beat(asleep, "--max-interval", LONG_SLEEP)
    assert "s3cret" not in run.out + run.err
    assert "redis -> redis://:**@127.0.0.1" in run.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lock-timeout", "0"], "--lock-timeout: must be a positive number of seconds"),
        (["--max-interval", "soon"], "--max-interval: must be a positive number of seconds"),
        (["--loglevel", "LOUD"], "--loglevel: invalid choice: 'LOUD'"),
        (["--app", "nowhere.celery"], "--app 'nowhere.celery': no Celery app found there"),
    ],
)
def test_bad_options_are_command_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("redbeat_run", *args, stdout=StringIO())


@override_settings(REDBEAT_CELERY_APP="nowhere.celery.app")
def test_an_app_that_cannot_be_imported_is_a_command_error():
    with pytest.raises(CommandError, match="REDBEAT_CELERY_APP = 'nowhere.celery.app' cannot"):
        call_command("redbeat_run", stdout=StringIO())


def test_an_app_without_a_redis_url_is_a_command_error(celery_app):
    celery_app.conf.update(redbeat_redis_url=None, broker_url=None)
    celery_app.redbeat_conf = None  # read the configuration again
    with pytest.raises(CommandError, match="No Redis URL: set REDBEAT_REDIS_URL"):
        call_command("redbeat_run", stdout=StringIO())


def test_the_app_is_given_as_celery_a_takes_it(celery_app):
    def act(command):
        assert command.runner.app is celery_app

    with override_settings(REDBEAT_CELERY_APP="nowhere.app"):
        run_beat(act, "--app", "tests.django_fixtures:current_app", "--max-interval", "1")


# ---- celery's beat_init ------------------------------------------------------------------------


@pytest.fixture
def without_celery_redbeat():
    """As in a project that never imports celery-redbeat (other tests here do)."""
    module = sys.modules.pop("redbeat.schedulers", None)
    if module is not None:
        beat_init.disconnect(module.acquire_distributed_beat_lock)
    yield
    if module is not None:
        sys.modules["redbeat.schedulers"] = module
        beat_init.connect(module.acquire_distributed_beat_lock)


def test_beat_init_is_sent_with_a_service_like_sender(without_celery_redbeat, redis_client):
    senders = []

    def receiver(sender, **kwargs):
        senders.append((sender.app, sender.scheduler))

    beat_init.connect(receiver)
    try:
        run_beat(asleep, "--max-interval", LONG_SLEEP)
    finally:
        beat_init.disconnect(receiver)
    [(app, scheduler)] = senders
    assert (app.main, type(scheduler).__name__) == ("tests", "DatabaseScheduler")


def test_celery_redbeat_imported_in_the_process_does_not_compete_for_the_lock(redis_client):
    import redbeat.schedulers  # (as a settings file importing its rrule, or sentry-sdk, does)

    receiver = redbeat.schedulers.acquire_distributed_beat_lock
    beat_init.connect(receiver)
    senders = []

    def sent(sender, **kwargs):
        senders.append(sender)

    def act(command):
        asleep(command)
        assert redis_client.get(LOCK).split(":")[1] == str(os.getpid())

    beat_init.connect(sent)
    try:
        run_beat(act, "--max-interval", LONG_SLEEP)
    finally:
        beat_init.disconnect(sent)
    assert len(senders) == 1  # beat_init is sent, its receivers run; not celery-redbeat's
    assert not beat_init.disconnect(receiver)


def test_after_a_redis_restart_beat_takes_the_lock_again_and_is_woken_again(own_redis):
    make_task(name="before")
    client = redis.Redis.from_url(own_redis.url, decode_responses=True)

    def act(command):
        asleep(command)
        own_redis.restart()  # an empty server: the lock, the entries, the subscription gone
        wait_for(lambda: client.exists("redbeat:before"), 10, "the rebuild at the lock's return")
        asleep(command)
        make_task(name="after", kind="oneoff", run_at=timezone.now())
        wait_for(lambda: run_count(client, "after") == 1, 3, "the new task sent")

    run_beat(act, "--max-interval", LONG_SLEEP, "--lock-timeout", "3")


def test_beat_losing_the_channel_keeps_running_on_timed_sleeps(
    own_redis, django_celery_app, caplog
):
    server = redis.Redis.from_url(own_redis.url)
    server.acl_setuser(
        "beat", enabled=True, passwords=["+pw"], keys=["*"], channels=["*"], commands=["+@all"]
    )
    django_celery_app.conf.redbeat_redis_url = own_redis.url.replace("//", "//beat:pw@")

    def act(command):
        asleep(command, at_least=1)
        # Redis drops the subscription of a user who loses the channel; beat subscribes again
        server.acl_setuser("beat", enabled=True, reset_channels=True)
        wait_for(lambda: "Cannot subscribe to redbeat::wakeup" in caplog.text, 10, "a warning")
        asleep(command, at_least=0.5)  # a timed sleep now, beat still alive

    run_beat(act, "--max-interval", "2", "--lock-timeout", "3")
    assert "Grant the user &redbeat:* and +subscribe." in caplog.text
