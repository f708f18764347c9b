"""A TCP proxy in front of Redis that can stop forwarding: a beat's network to Redis, cut.

While cut, connections stay open and nothing passes either way (bytes wait in the proxy), as
when a link or a host's network fails without resetting the connections.
"""

from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._stopped = threading.Event()
        self._sockets: list[socket.socket] = []

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> TcpProxy:
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()
        return self

    def cut(self) -> None:
        """Stop forwarding, both ways, on every connection, open or new."""
        self._forwarding.clear()

    def restore(self) -> None:
        self._forwarding.set()

    def stop(self) -> None:
        self._stopped.set()
        self._forwarding.set()
        for sock in [self._listener, *self._sockets]:
            sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self.upstream)
            except OSError:
                return  # stopped
            self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self._forwarding.wait()  # held here while cut
                if self._stopped.is_set():
                    return
                dst.sendall(data)
        except OSError:
            pass  # either side closed
        finally:
            for sock in (src, dst):
                sock.close()
