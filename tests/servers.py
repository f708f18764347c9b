"""Real production-style Redis deployments on loopback: TLS, ACL users, Sentinel, Cluster.

Every process runs in its own temporary folder on a free port and is stopped by the fixture
that started it. Waits poll with deadlines (``wait_for``), never bare sleeps.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.processes import wait_for
from support.redis_server import (
    RedisProcess,
    RedisServer,
    ServerFailed,
    free_port,
    redis_server_binary,
    stopped_on_error,
)

SERVICE = "mymaster"


def redis_cli_binary() -> str:
    found = shutil.which("redis-cli")
    if found:
        return found
    beside = Path(redis_server_binary()).with_name("redis-cli")
    if not beside.exists():
        pytest.skip(f"no redis-cli on PATH nor beside {redis_server_binary()}")
    return str(beside)


def server(directory: Path, *extra: str, port: int | None = None, **client: Any) -> RedisServer:
    return RedisServer(directory, "--repl-diskless-sync-delay", "0", *extra, port=port, **client)


# ---- TLS ---------------------------------------------------------------------------------------


@dataclass
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed neither: verification against it must fail


def make_certificates(directory: Path) -> Certificates:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make test certificates")
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        run("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
            "-subj", f"/CN=django-redbeat test {ca}",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    # the key identifiers and the CA's key usage: Python 3.13 verifies with VERIFY_X509_STRICT
    (directory / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    for name in ("server", "client"):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        signing = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2"]
        run("x509", "-req", "-in", f"{name}.csr", *signing, "-out", f"{name}.crt",
            "-extfile", "san.ext")  # fmt: skip
    path = directory.joinpath
    return Certificates(
        path("ca.crt"), path("server.crt"), path("server.key"), path("client.crt"),
        path("client.key"), path("other-ca.crt"),
    )  # fmt: skip


def tls_server(directory: Path, certs: Certificates, auth_clients: str = "yes") -> RedisProcess:
    """redis-server with TLS only (no plain port); skipped where the binary has no TLS."""
    port = free_port()
    args = [
        "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--dir", str(directory), "--logfile", str(directory / "redis.log"),
        "--tls-cert-file", str(certs.server_cert), "--tls-key-file", str(certs.server_key),
        "--tls-ca-cert-file", str(certs.ca), "--tls-auth-clients", auth_clients,
    ]  # fmt: skip
    client = {"ssl": True, "ssl_ca_certs": str(certs.ca), "ssl_certfile": str(certs.client_cert),
              "ssl_keyfile": str(certs.client_key)}  # fmt: skip
    process = RedisProcess(directory, args, port, **client)
    try:
        return process.start()
    except ServerFailed as exc:
        if "tls" in str(exc).lower():
            pytest.skip(
                f"{redis_server_binary()} was built without TLS ({str(exc).strip()[-80:]}); "
                "install a TLS-capable redis-server (Debian's redis-server, as .ci/run does)"
            )
        raise


# ---- Sentinel ----------------------------------------------------------------------------------


class SentinelDeployment:
    """A master, one replica and three sentinels (quorum 2) watching ``mymaster``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.master = server(directory / "master")
        self.replica = server(
            directory / "replica", "--replicaof", "127.0.0.1", str(self.master.port)
        )
        self.sentinels = [self._sentinel(directory / f"sentinel{i}") for i in range(3)]

    def _sentinel(self, directory: Path) -> RedisProcess:
        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        config = directory / "sentinel.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {directory}\nlogfile {directory / 'redis.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} 400\n"
            f"sentinel failover-timeout {SERVICE} 3000\n"
        )
        return RedisProcess(directory, [str(config), "--sentinel"], port)

    @property
    def hosts(self) -> str:
        return ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)

    @property
    def url(self) -> str:
        return f"redis-sentinel://{self.hosts}/0?service_name={SERVICE}"

    def start(self) -> SentinelDeployment:
        with stopped_on_error(self):
            self.master.start()
            self.replica.start()
            wait_for(self._replica_synced, 10, "the replica to sync")
            for sentinel in self.sentinels:
                sentinel.start()
            wait_for(self._sentinels_ready, 15, "the sentinels to find each other")
        return self

    def _replica_synced(self) -> bool:
        info = self.replica.client().info("replication")
        return info.get("master_link_status") == "up"

    def _sentinels_ready(self) -> bool:
        for sentinel in self.sentinels:
            state = sentinel.client().sentinel_master(SERVICE)
            if state["num-other-sentinels"] < 2 or state["num-slaves"] < 1:
                return False
        return True

    def master_port(self) -> int:
        """The master's port as the sentinels name it now."""
        return int(self.sentinels[0].client().sentinel_get_master_addr_by_name(SERVICE)[1])

    def wait_until_replicated(self) -> None:
        """Every write the master acknowledged is on the replica (WAIT)."""
        with self.master.client() as client:
            assert client.execute_command("WAIT", 1, 5000) >= 1

    def kill_master(self) -> None:
        self.master.kill()

    def wait_for_failover(self, timeout: float = 20) -> None:
        wait_for(lambda: self.master_port() == self.replica.port, timeout, "the failover")

    def stop(self) -> None:
        for process in (*self.sentinels, self.replica, self.master):
            process.stop()


# ---- Cluster -----------------------------------------------------------------------------------


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    for _ in range(200):
        port = random.randrange(20000, 30000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ClusterDeployment:
    """Three masters, no replicas, all 16384 slots assigned by ``redis-cli --cluster create``."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.nodes = []
        for index in range(size):
            node_dir = directory / f"node{index}"
            self.nodes.append(
                server(
                    node_dir,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "3000",
                    "--cluster-config-file",
                    str(node_dir / "nodes.conf"),
                    port=cluster_port(),
                )  # fmt: skip
            )

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{node.port}" for node in self.nodes]

    @property
    def url(self) -> str:
        return f"redis-cluster://{','.join(self.addresses)}"

    def start(self) -> ClusterDeployment:
        with stopped_on_error(self):
            for node in self.nodes:
                node.start()
            subprocess.run(
                [redis_cli_binary(), "--cluster", "create", *self.addresses,
                 "--cluster-replicas", "0", "--cluster-yes"],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            wait_for(self._ok, 20, "the cluster to be ok on every node")
        return self

    def _ok(self) -> bool:
        for node in self.nodes:
            info = node.client().cluster("info")
            if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) < len(self.nodes):
                return False
        return True

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
