"""A loopback TCP proxy in front of `runner sim-server` that can start hanging at will.

Until `hang()` it passes bytes both ways; from then on it still accepts connections and
reads what clients send, but nothing reaches the exchange and no answer comes back, on
new and already open (keep-alive) connections alike: an exchange that hangs.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class HangingProxy:
    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._hanging = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = [self._listener]
        self.port = self._listener.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hang(self) -> None:
        self._hanging.set()

    def __enter__(self) -> HangingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._closed.set()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                continue

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            if self._hanging.is_set():
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            self._sockets.append(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self._hanging.is_set():
                continue  # swallowed: the other side waits for ever
            try:
                target.sendall(data)
            except OSError:
                return

    def _swallow(self, client: socket.socket) -> None:
        while True:
            try:
                if not client.recv(65536):
                    return
            except OSError:
                return
