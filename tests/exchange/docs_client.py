"""A Coincall REST client written from the docs (/work/shared/coincall-api.md), not from this code.

Issue 8, "Done means": the sim-server must answer as the docs say for a client that
shares no belief with the adapter or the simulator. This module imports nothing from
`runner`; its signer follows coincall-api.md section 3 word for word:

- headers (3.1): `X-CC-APIKEY`, `sign`, `ts`, `X-REQ-TS-DIFF` (always sent; 5000);
- prehash (3.2): METHOD + PATH + "?" + sorted "k=v" pairs joined "&" (+ "&" if any)
  + "uuid=" + KEY + "&ts=" + TS + "&x-req-ts-diff=" + DIFF; nulls dropped; scalars as
  written; lists and objects as compact JSON in body order; values not URL-encoded;
- sign = upper(hex(HMAC-SHA256(secret, prehash))), UTF-8;
- ts = local ms + the offset measured with GET /time (3.1: "Keep an offset"); with
  `resync` the offset is measured again before every signed call (for a venue whose
  clock runs faster than ours, `sim-server --speed`).

Every call returns the HTTP status and the decoded envelope (section 2) without judging
it, so tests can check refusals as well as successes. Every knob (ts, window, sign,
key, raw body) can be overridden to build the bad requests the docs describe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

DEFAULT_WINDOW_MS = 5000  # 3.1: [RM] and [CT] send 5000
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Answer:
    """What came back: the HTTP status and the envelope (None if the body is not JSON)."""

    status: int
    envelope: dict[str, Any] | None

    @property
    def code(self) -> int | None:
        return None if self.envelope is None else self.envelope.get("code")

    @property
    def data(self) -> Any:
        """The `data` of a success (code 0 in an HTTP 200); AssertionError otherwise."""
        if self.status != 200 or self.envelope is None or self.code != 0:
            raise AssertionError(f"not a success: HTTP {self.status} {self.envelope}")
        return self.envelope["data"]


def text_of(value: Any) -> str:
    """A value as it appears in the prehash: strings bare, other scalars and nested values
    as their compact JSON text (0.1 -> "0.1", true -> "true")."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def docs_prehash(method: str, path: str, params: Mapping[str, Any] | None, *, key: str,
                 ts: int, window_ms: int) -> str:
    pairs = sorted((name, text_of(value)) for name, value in (params or {}).items()
                   if value is not None)
    joined = "&".join(f"{name}={text}" for name, text in pairs)
    return (f"{method}{path}?{joined + '&' if joined else ''}uuid={key}&ts={ts}"
            f"&x-req-ts-diff={window_ms}")


def docs_sign(secret: str, prehash: str) -> str:
    return hmac.new(secret.encode("utf-8"), prehash.encode("utf-8"),
                    hashlib.sha256).hexdigest().upper()


class DocsClient:
    """Signed Coincall requests to `base_url` with one key, as the docs describe them."""

    def __init__(self, base_url: str, key: str, secret: str, *,
                 window_ms: int = DEFAULT_WINDOW_MS, timeout: float = 10.0,
                 resync: bool = False) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.secret = secret
        self.window_ms = window_ms
        self.timeout = timeout
        self.offset_ms = 0
        self.resync = resync
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    # -- time ------------------------------------------------------------------------
    def sync_time(self) -> int:
        """GET /time (public) and keep the offset of the server clock; the server time."""
        before = time.time_ns() // 1_000_000
        answer = self._send("GET", "/time", None, None, {})
        after = time.time_ns() // 1_000_000
        server_ms = int(answer.data["serverTime"])
        self.offset_ms = server_ms - (before + after) // 2
        return server_ms

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    # -- signing ---------------------------------------------------------------------
    def headers(self, method: str, path: str, params: Mapping[str, Any] | None, *,
                ts: int | None = None, window_ms: int | None = None, sign: str | None = None,
                key: str | None = None) -> dict[str, str]:
        if ts is None and self.resync:
            self.sync_time()
        ts = self.now_ms() if ts is None else ts
        window = self.window_ms if window_ms is None else window_ms
        key = self.key if key is None else key
        if sign is None:
            sign = docs_sign(self.secret, docs_prehash(method, path, params, key=key, ts=ts,
                                                       window_ms=window))
        return {"X-CC-APIKEY": key, "sign": sign, "ts": str(ts), "X-REQ-TS-DIFF": str(window)}

    # -- calls -----------------------------------------------------------------------
    def public(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        return self._send("GET", path, params, None, {})

    def get(self, path: str, params: Mapping[str, Any] | None = None, **auth: Any) -> Answer:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return self._send("GET", path, clean, None, self.headers("GET", path, clean, **auth))

    def post_json(self, path: str, body: Mapping[str, Any], *, raw: str | None = None,
                  **auth: Any) -> Answer:
        """POST JSON; `raw` sends other bytes, still signed over `body`'s fields."""
        clean = {k: v for k, v in body.items() if v is not None}
        headers = self.headers("POST", path, clean, **auth)
        headers["Content-Type"] = JSON_TYPE
        text = raw if raw is not None else json.dumps(clean, separators=(",", ":"))
        return self._send("POST", path, None, text.encode("utf-8"), headers)

    def post_form(self, path: str, fields: Mapping[str, Any], **auth: Any) -> Answer:
        clean = {k: text_of(v) for k, v in fields.items() if v is not None}
        headers = self.headers("POST", path, clean, **auth)
        headers["Content-Type"] = FORM_TYPE
        return self._send("POST", path, None, urlencode(clean).encode(), headers)

    def _send(self, method: str, path: str, query: Mapping[str, Any] | None,
              body: bytes | None, headers: Mapping[str, str]) -> Answer:
        response = self.session.request(
            method, self.base_url + path,
            params={k: text_of(v) for k, v in (query or {}).items()} or None,
            data=body, headers=dict(headers), timeout=self.timeout)
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        return Answer(response.status_code, envelope if isinstance(envelope, dict) else None)
