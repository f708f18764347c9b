"""A throwaway PostgreSQL cluster for tests: initdb in a temporary folder, a free loopback port,
trust authentication, stopped and removed at the end.

PostgreSQL refuses to run as root: as root, the cluster belongs to ``nobody`` and its commands run
through ``runuser``. :func:`unavailable` says why no cluster can be had here (no binaries, no way
to drop root), for a test to skip with that reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.redis_server import free_port

#: Where Debian puts each major version's binaries (the newest found is used), else PATH.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
RUN_AS = "nobody"


def binaries() -> Path | None:
    found = sorted(glob.glob(DEBIAN_BINARIES), key=lambda path: int(Path(path).parent.name))
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable() -> str | None:
    """Why no cluster can be started here; None when one can."""
    if binaries() is None:
        return "no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root, and no runuser to run PostgreSQL as another user"
    if os.geteuid() == 0 and RUN_AS not in {user.pw_name for user in pwd.getpwall()}:
        return f"running as root, and no user {RUN_AS!r} to run PostgreSQL as"
    return None


class PostgresServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="redbeat-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.running = False

    @property
    def settings(self) -> dict[str, str]:
        """Django's DATABASES entry for the cluster's ``postgres`` database."""
        return {
            "ENGINE": "django.db.backends.postgresql", "NAME": "postgres", "USER": "postgres",
            "HOST": "127.0.0.1", "PORT": str(self.port),
        }  # fmt: skip

    def start(self) -> None:
        if os.geteuid() == 0:  # the folder (not /tmp's pytest folder, root's alone) is nobody's
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        # -w: pg_ctl returns once the server accepts connections
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        self.running = True

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text() if path.exists() else ""

    def _run(self, program: str, *args: str) -> None:
        command = [str(binaries() / program), *args]  # type: ignore[operator]
        if os.geteuid() == 0:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr or done.stdout}\n{self.log()}"
            )
