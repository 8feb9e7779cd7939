"""What the HTTP simulator sends back: a JSON envelope, or Coincall's error codes.

Kept apart from the server so the routes and the fault rules build answers without the
socket code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from runner.exchange.errors import (
    AuthenticationFailed,
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)
from runner.sim import wire_out

CODE_INTERNAL: Final = 500  # coincall-api.md section 8: "0 / 500 success / internal error"
CODE_ILLEGAL_REQUEST: Final = 10003

# Codes for exchange errors raised without one (the venue normally sets .code).
_FALLBACK_CODES: Final[tuple[tuple[type[ExchangeError], int], ...]] = (
    (OrderNotFound, 10584), (InsufficientFunds, 10529), (AuthenticationFailed, 10563),
    (RateLimited, 10605), (ExchangeUnavailable, 10002), (OutcomeUnknown, 10582),
)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What goes back on the wire; `None` in its place means: close without answering."""

    status: int
    body: bytes
    content_type: str = "application/json"


def json_answer(payload: Any, status: int = 200) -> HttpAnswer:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return HttpAnswer(status, body)


def error_answer(code: int, msg: str, status: int = 200) -> HttpAnswer:
    return json_answer(wire_out.error_envelope(code, msg), status)


def code_for(error: ExchangeError) -> int:
    """The Coincall code an exchange error is answered with."""
    if error.code is not None:
        return error.code
    return next((code for kind, code in _FALLBACK_CODES if isinstance(error, kind)), 10003)
