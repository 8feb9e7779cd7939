"""How exchange failures are classified, once, for every caller.

    ExchangeError                 base; carries the exchange code and message when there is one
    ├── ExchangeRejected          the exchange answered "no": never retried blindly
    │   ├── AuthenticationFailed  signature, key, timestamp or permission problems
    │   ├── InsufficientFunds     not enough available margin
    │   ├── OrderNotFound         no such order (lookups answer None instead where natural)
    │   └── EndpointNotAvailable  HTTP 404/405: the call does not exist for this key
    │                             (rfqList for a taker-only key): "not available"
    ├── ExchangeUnavailable       transport error, timeout before sending, 5xx, maintenance:
    │   │                         reads are retried with backoff (1 s, 2 s, 4 s)
    │   └── RateLimited           throttled (10000, 10605, HTTP 429): back off, then retry
    ├── OutcomeUnknown            a write may or may not have happened (timeout after send,
    │                             10582/10583): resolve by looking the order up by its
    │                             client order id, never by sending it again
    └── MalformedResponse         the answer could not be parsed: treated as unavailable for
                                  reads and as outcome unknown for writes

Messages never contain API keys or secrets.
"""

from __future__ import annotations

from typing import Final


class ExchangeError(Exception):
    """Base of every exchange failure."""

    def __init__(self, message: str, *, code: int | None = None, endpoint: str = "") -> None:
        self.code = code
        self.endpoint = endpoint
        self.message = message
        prefix = f"{endpoint}: " if endpoint else ""
        suffix = f" (code {code})" if code is not None else ""
        super().__init__(f"{prefix}{message}{suffix}")


class ExchangeRejected(ExchangeError):
    """The exchange refused the request; sending it again would be refused again."""


class AuthenticationFailed(ExchangeRejected):
    """Bad signature, unknown or frozen key, stale timestamp, missing permission."""


class InsufficientFunds(ExchangeRejected):
    """Not enough available margin for the order."""


class OrderNotFound(ExchangeRejected):
    """The order (or request) does not exist on the exchange."""


class EndpointNotAvailable(ExchangeRejected):
    """HTTP 404 or 405: the call does not exist for this account (e.g. maker-only RFQ lists)."""


class ExchangeUnavailable(ExchangeError):
    """The exchange could not be reached or failed internally; safe to retry reads."""


class RateLimited(ExchangeUnavailable):
    """The request was throttled; wait before trying again."""


class OutcomeUnknown(ExchangeError):
    """A write was sent but its result is unknown: look it up, never resend blindly."""


class MalformedResponse(ExchangeError):
    """The exchange answered with something that could not be understood."""


AUTH_CODES: Final = frozenset({2015, 2016, 2017, 7001, 10006, 10008, 10551, 10554, 10555,
                               10556, 10557, 10560, 10561, 10562, 10563})
RATE_LIMIT_CODES: Final = frozenset({10000, 10605})
UNAVAILABLE_CODES: Final = frozenset({500, 10002, 10553, 10565, 10566, 10596})
UNKNOWN_OUTCOME_CODES: Final = frozenset({10582, 10583})
INSUFFICIENT_FUNDS_CODES: Final = frozenset({10529})
NOT_FOUND_CODES: Final = frozenset({10584, 10581})


def error_for_code(code: int, message: str, endpoint: str = "") -> ExchangeError:
    """Map a Coincall error code to the class that tells the caller what to do."""
    kind: type[ExchangeError]
    if code in AUTH_CODES:
        kind = AuthenticationFailed
    elif code in RATE_LIMIT_CODES:
        kind = RateLimited
    elif code in UNAVAILABLE_CODES:
        kind = ExchangeUnavailable
    elif code in UNKNOWN_OUTCOME_CODES:
        kind = OutcomeUnknown
    elif code in INSUFFICIENT_FUNDS_CODES:
        kind = InsufficientFunds
    elif code in NOT_FOUND_CODES:
        kind = OrderNotFound
    else:
        kind = ExchangeRejected
    return kind(message, code=code, endpoint=endpoint)
