"""The body encoding of RFQ accept and cancel, learnt from the exchange's own answers.

The evidence disagrees (coincall-api.md section 3 and pitfall 3): two live clients saw
FORM required on 2026-07-09 (JSON answered 10004 "Parameter illegal"), while Coincall's
docs show JSON for cancel since 2026-07-09 and for accept since 2026-07-28. The docs
are the later word, so JSON is tried first; 10004 is a parameter rejection, refused
before anything executes, so the same call is sent once more in the other encoding,
and whichever worked is used by both calls from then on (they have always changed
together) for the life of the process, and in `memory` (a one-word file in the state
directory) for the next start. The switch is logged once at WARNING; an unreadable or
unwritable memory only costs one 10004 at the next start.

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
from pathlib import Path
from typing import Final, TypeVar

from loguru import logger

from runner.common.files import write_text_atomically
from runner.exchange.coincall.endpoints import BodyKind, Endpoint
from runner.exchange.errors import AuthenticationFailed, ExchangeRejected

T = TypeVar("T")

PARAMETER_REJECTED: Final = 10004
MEMORY_FILE: Final = "rfq-body-encoding"  # in the state directory
FIRST_ENCODING: Final = BodyKind.JSON
_OTHER: Final = {BodyKind.JSON: BodyKind.FORM, BodyKind.FORM: BodyKind.JSON}


class RfqBodies:
    """The encoding RFQ accept/cancel are sent in: the last one seen to work."""

    def __init__(self, first: BodyKind = FIRST_ENCODING, memory: Path | None = None) -> None:
        if first not in _OTHER:
            raise ValueError(f"RFQ bodies are JSON or FORM, not {first.name}")
        self._memory = memory
        self._current = _recall(memory) or first
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
        _remember(self._memory, worked)


def _recall(memory: Path | None) -> BodyKind | None:
    """The encoding a previous process learnt, if its memory reads as one."""
    if memory is None:
        return None
    try:
        word = memory.read_text(encoding="utf-8").strip().upper()
    except (OSError, UnicodeDecodeError):
        return None
    return BodyKind[word] if word in ("JSON", "FORM") else None


def _remember(memory: Path | None, kind: BodyKind) -> None:
    if memory is None:
        return
    try:
        write_text_atomically(memory, f"{kind.name}\n")
    except OSError as error:
        logger.warning("could not keep the RFQ body encoding in {}: {}", memory, error)
