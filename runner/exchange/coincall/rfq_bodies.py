"""The body encoding of RFQ accept and cancel, learnt from the exchange's own answers.

The evidence disagrees (coincall-api.md section 3 and pitfall 3): two live clients saw
FORM required on 2026-07-09 (JSON answered 10004 "Parameter illegal"), while Coincall's
docs show JSON for cancel since 2026-07-09 and for accept since 2026-07-28. The docs
are the later word, so JSON is tried first; 10004 is a parameter rejection, refused
before anything executes, so the same call is sent once more in the other encoding,
and whichever worked is used by both calls from then on (they have always changed
together) for the life of the process. The switch is logged once at WARNING.

Accept stays a write that is never resent: only a definite 10004 leads to the one
retry in the other encoding; an unknown outcome (timeout, 5xx, unreadable answer) is
raised as it is, and a retry that is refused too is raised without changing anything.

Ids are sent as strings. The docs' parameter tables type `requestId` and `quoteId` as
String while their curl examples send JSON numbers; a digit string satisfies both
readings (a numeric field on the server parses it, FORM has nothing else), and a
19-digit id sent as a JSON number could be rounded by any layer that reads numbers as
doubles (above 2^53), which would name another request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, TypeVar

from loguru import logger

from runner.exchange.coincall.endpoints import BodyKind, Endpoint
from runner.exchange.errors import AuthenticationFailed, ExchangeRejected

T = TypeVar("T")

PARAMETER_REJECTED: Final = 10004
FIRST_ENCODING: Final = BodyKind.JSON
_OTHER: Final = {BodyKind.JSON: BodyKind.FORM, BodyKind.FORM: BodyKind.JSON}


class RfqBodies:
    """The encoding RFQ accept/cancel are sent in: the last one seen to work."""

    def __init__(self, first: BodyKind = FIRST_ENCODING) -> None:
        if first not in _OTHER:
            raise ValueError(f"RFQ bodies are JSON or FORM, not {first.name}")
        self._current = first
        self._lock = threading.Lock()
        self.switches = 0

    @property
    def current(self) -> BodyKind:
        return self._current

    def send(self, endpoint: Endpoint, call: Callable[[Endpoint], T]) -> T:
        """`call(endpoint in the current encoding)`; on 10004 once more in the other one."""
        tried = self._current
        try:
            return call(endpoint.with_body(tried))
        except AuthenticationFailed:
            raise
        except ExchangeRejected as refusal:
            if refusal.code != PARAMETER_REJECTED:
                raise
        other = _OTHER[tried]
        answer = call(endpoint.with_body(other))
        self._learn(tried, other, endpoint)
        return answer

    def _learn(self, refused: BodyKind, worked: BodyKind, endpoint: Endpoint) -> None:
        with self._lock:
            if self._current is worked:
                return
            self._current = worked
            self.switches += 1
        logger.warning("Coincall refused the {} body of {} with 10004 and took {}: RFQ "
                       "accept and cancel are sent as {} from now on", refused.name,
                       endpoint.name, worked.name, worked.name)
