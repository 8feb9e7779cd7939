"""The simulated exchange's own check of Coincall request signatures (coincall-api.md 3).

Owns the venue's side of signing, written from the docs alone and sharing no code with
the adapter (`runner.exchange.coincall`), so a signing drift on either side fails a
test instead of passing on both (issue 8, finding 7). An architecture test forbids
the import; both implementations are pinned to the documented golden vectors.

From coincall-api.md 3.2:
    prehash = METHOD + PATH + "?" + (pairs + "&" if pairs else "")
              + "uuid=" + KEY + "&ts=" + TS + "&x-req-ts-diff=" + DIFF
    pairs   = "k=v" sorted by key (codepoint order), joined "&", values not URL-encoded;
              null values dropped; scalars as written; lists and objects as compact
              JSON in body order
    sign    = upper(hex(HMAC-SHA256(secret, prehash)))

The venue receives text, so it signs text: every value handed to `venue_prehash` is
already what the client wrote (query and form values are strings; JSON scalars are
kept as written by the parser; nested values are rendered by the caller in body order).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

# 3.1: "server default 5000" when the client sends no X-REQ-TS-DIFF.
DOCUMENTED_DEFAULT_WINDOW_MS: Final = 5000


def venue_prehash(method: str, path: str, fields: Mapping[str, str | None], *,
                  key: str, ts: int, window_ms: int) -> str:
    """The string the client must have signed, from the text values it sent."""
    present = [(name, text) for name, text in fields.items() if text is not None]
    present.sort(key=lambda pair: pair[0])
    query = "".join(f"{name}={text}&" for name, text in present)
    return f"{method.upper()}{path}?{query}uuid={key}&ts={ts}&x-req-ts-diff={window_ms}"


def expected_sign(secret: str, prehash_text: str) -> str:
    """Uppercase hexadecimal HMAC-SHA256 of the prehash under the secret (UTF-8)."""
    mac = hmac.new(secret.encode("utf-8"), prehash_text.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest().upper()


def sign_matches(secret: str, prehash_text: str, given: str) -> bool:
    """Constant-time check of a `sign` header (hex case ignored) against the prehash."""
    if not given.isascii():
        return False
    return hmac.compare_digest(expected_sign(secret, prehash_text).encode(),
                               given.upper().encode())
