"""Coincall request signing (coincall-api.md section 3), shared by client and simulator.

prehash = METHOD + PATH + "?" + (sorted "k=v" pairs + "&" if any) + "uuid=" + KEY
          + "&ts=" + TS + "&x-req-ts-diff=" + DIFF
sign    = upper(hex(HMAC-SHA256(secret, prehash)))

Null values are dropped; lists and objects are written as compact JSON in body order;
values are not URL-encoded. The same function both signs (client) and verifies
(simulated exchange), so the two can never disagree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

DEFAULT_TS_DIFF_MS: Final = 5000


def value_text(value: object) -> str:
    """Render one parameter value as it appears in the prehash."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot sign a {type(value).__name__}")


def drop_nulls(params: Mapping[str, object]) -> dict[str, object]:
    """Remove null values so the body sent and the prehash agree."""
    return {key: value for key, value in params.items() if value is not None}


def prehash(method: str, path: str, params: Mapping[str, object] | None, *,
            api_key: str, ts_ms: int, ts_diff_ms: int = DEFAULT_TS_DIFF_MS) -> str:
    """Build the exact string that is signed for one request."""
    pairs = "&".join(
        f"{key}={value_text(value)}" for key, value in sorted(drop_nulls(params or {}).items())
    )
    joined = f"{pairs}&" if pairs else ""
    return (f"{method.upper()}{path}?{joined}uuid={api_key}&ts={ts_ms}"
            f"&x-req-ts-diff={ts_diff_ms}")


def sign(secret: str, text: str) -> str:
    """Uppercase hex HMAC-SHA256 of `text` under `secret`."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def signature(method: str, path: str, params: Mapping[str, object] | None, *, api_key: str,
              secret: str, ts_ms: int, ts_diff_ms: int = DEFAULT_TS_DIFF_MS) -> str:
    """Sign one request: the value of the `sign` header."""
    return sign(secret, prehash(method, path, params, api_key=api_key, ts_ms=ts_ms,
                                ts_diff_ms=ts_diff_ms))


def signatures_match(expected: str, given: str) -> bool:
    """Constant-time comparison of two signatures (case-insensitive hex)."""
    return hmac.compare_digest(expected.upper(), given.upper())
