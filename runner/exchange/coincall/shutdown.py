"""The REST client on the way out: short timeouts, no retries, nothing sent after a deadline.

When the service is asked to stop it has a fixed budget (10 s, inside the 30 s NSSM and
systemd give it) for the tick in progress and for cancelling its working orders and RFQs,
even when the exchange hangs. From `Transport.begin_shutdown(deadline)` on, every
request waits at most `SHUTDOWN_CONNECT` / `SHUTDOWN_READ` seconds (never past the
deadline), reads are not retried (no 1/2/4 s backoff), and once the deadline has passed a
request fails at once as not sent. A request already blocked in the network when the
signal arrives is interrupted by the signal handler raising `RequestInterrupted` into it
(POSIX: the blocking call returns to Python to run the handler; on Windows the handler
runs only when the call returns, so there the request's own timeout bounds it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

SHUTDOWN_CONNECT: Final = 1.0
SHUTDOWN_READ: Final = 2.0
_TOO_LITTLE: Final = 0.05  # seconds: not worth sending a request


class RequestInterrupted(Exception):
    """Raised by the stop handler into a request that is blocked in the network."""


@dataclass(frozen=True, slots=True)
class ShutdownDeadline:
    """Until when (`time.monotonic()` seconds) requests may still be sent."""

    deadline: float

    def timeouts(self, connect: float, read: float) -> tuple[float, float] | None:
        """(connect, read) for a request sent now, or None when the time is up."""
        remaining = self.deadline - time.monotonic()
        if remaining < _TOO_LITTLE:
            return None
        return (min(connect, SHUTDOWN_CONNECT, remaining), min(read, SHUTDOWN_READ, remaining))
