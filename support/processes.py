"""Real beat processes for the system tests and the failover benchmark."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parents[1]
SCHEDULER = "django_redbeat.schedulers:RedBeatScheduler"


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)  # polling real processes, with a deadline
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class BeatProcess:
    """``celery -A tests.system.beat_project beat -S <our scheduler>`` in a subprocess."""

    log_name = "beat.log"

    def __init__(
        self,
        workdir: Path,
        redis_url: str,
        broker_url: str,
        project: str = "tests.system.beat_project",
        **env: str,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / self.log_name
        environment = {
            **os.environ,
            "BEAT_PROJECT_BROKER_URL": broker_url,
            "BEAT_PROJECT_REDIS_URL": redis_url,
            "PYTHONPATH": str(ROOT),
            **env,
        }
        environment.pop("DJANGO_SETTINGS_MODULE", None)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                self.command(project, workdir),
                cwd=workdir, env=environment, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() ends a worker's children too
            )  # fmt: skip

    def command(self, project: str, workdir: Path) -> list[str]:
        celery = [sys.executable, "-m", "celery", "-A", project]
        return [*celery, *self.arguments(workdir), "--loglevel", "INFO"]

    def arguments(self, workdir: Path) -> list[str]:
        return ["beat", "-S", SCHEDULER, "--schedule", str(workdir / "unused")]

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


class WorkerProcess(BeatProcess):
    """``celery -A <project> worker`` (prefork, two processes) in a subprocess."""

    log_name = "worker.log"

    def arguments(self, workdir: Path) -> list[str]:
        return ["worker", "--concurrency", "2", "--without-gossip", "--without-mingle",
                "--hostname", f"worker-{os.getpid()}@%h"]  # fmt: skip


class RedbeatRunProcess(BeatProcess):
    """``manage.py redbeat_run`` (as ``python -m django``) with ``project`` as its settings."""

    log_name = "redbeat_run.log"

    def command(self, project: str, workdir: Path) -> list[str]:
        return [*django_command(project, "redbeat_run"), "--loglevel", "INFO"]


def django_command(settings: str, *arguments: str) -> list[str]:
    """A management command's command line under the settings module ``settings``."""
    return [sys.executable, "-m", "django", *arguments, "--settings", settings]


def lock_holder_pid(client: redis.Redis, lock_key: str = "redbeat::lock") -> int | None:
    """The pid in the lock's token (``host:pid:random``), or None when nobody holds it."""
    token = client.get(lock_key)
    return int(token.split(":")[1]) if token else None


def sent_messages(broker: redis.Redis, queue: str = "celery") -> list[dict[str, Any]]:
    """The task messages on a Redis broker's queue: headers and decoded body."""
    messages = []
    for raw in broker.lrange(queue, 0, -1):
        envelope = json.loads(raw)
        body = json.loads(base64.b64decode(envelope["body"]))
        messages.append({"headers": envelope["headers"], "args": body[0], "kwargs": body[1]})
    return messages
