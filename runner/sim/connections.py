"""The sim-server's connection handling: a bounded number of handler threads.

Owns what `http.server.ThreadingHTTPServer` leaves open (issue 8, finding 11: 800
half-open connections made 796 threads): at most `max_handlers` connections are served
at once, each by its own thread; further connections wait in the listen backlog (the
accept loop pauses) until a handler is free. Handlers set a socket timeout (the
handler class's `timeout`), so a silent connection ends and frees its thread. `stop`
of the server calls `close_connections` to wake handlers waiting on idle keep-alive
connections, so stopping never waits for their timeout. A connection that fails below
HTTP is logged by kind, never as a traceback on stderr.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Protocol

LISTEN_BACKLOG: Final = 1024
_log = logging.getLogger(__name__)


class Stoppable(Protocol):
    @property
    def stopping(self) -> bool: ...


class BoundedHttpServer(ThreadingHTTPServer):
    """One thread per connection, at most `max_handlers` at once; idle ones time out."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 app: Stoppable, max_handlers: int) -> None:
        self.app: Any = app  # the SimServer; handlers call its respond()
        self._slots = threading.BoundedSemaphore(max_handlers)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Wait for a free handler (the accept loop pauses, the backlog holds the rest)."""
        while not self._slots.acquire(timeout=0.05):
            if self.app.stopping:
                self.shutdown_request(request)
                return
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(request)
        self._slots.release()

    def close_connections(self) -> None:
        """Wake handlers waiting on idle keep-alive connections (used by stop)."""
        with self._open_lock:
            still_open = list(self._open)
        for connection in still_open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed below HTTP: log its kind, never a traceback on stderr."""
        _log.warning("simulated exchange: a connection failed (%s)",
                     type(sys.exc_info()[1]).__name__)
