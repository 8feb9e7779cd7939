"""Coincall requests as the simulated exchange receives them: parsing and signature checks.

Owns the inbound half of `sim.server`: query, JSON and FORM parameters, and the
verification of coincall-api.md 3.1/3.2 (key, timestamp window, HMAC over the
prehash). Invariant: the prehash is rebuilt from what the client actually sent, with
the venue's own `sim.signature` (written from the docs, never the adapter's code), and
compared in constant time; a request is accepted only if its own bytes sign to its
`sign` header.

Deliberate choices:
- Key and timestamp are checked from the headers alone (`check_headers`) before the
  body is parsed; the HMAC (`check_sign`) needs the parsed fields, because 3.2 signs
  field values, not bytes (a spaced JSON body signed compact works live). Parsing is
  bounded (`sim.limits`: depth, NaN refused) and converts nothing; values are read
  with range checks only by the route handlers, after the signature.
- JSON numbers are kept as written (`RawNumber`, a `str`), so `0.10` is signed as
  "0.10", never re-rendered through a float; nested lists and objects are rendered as
  compact JSON in body order with those raw numbers ("scalars as written", 3.2).
- Codes: missing/unknown key 10560, bad signature 10006, missing or unparseable ts
  or an X-REQ-TS-DIFF beyond 60 s 10561, ts outside the window 10557 (accepted only
  if ts < serverTime + 1000 and serverTime - ts <= X-REQ-TS-DIFF), bad or wrongly
  typed body or parameter 10004.
- Secrets live only in `Credentials`, whose repr masks them; no error text carries
  a key, a secret or a signature.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.rfq import RfqLeg
from runner.sim.limits import (
    MAX_TS_DIFF_MS,
    RawNumber,
    WireError,
    bounded_amount,
    bounded_int,
    bounded_time,
    parse_json_object,
)
from runner.sim.signature import (
    DOCUMENTED_DEFAULT_WINDOW_MS,
    sign_matches,
    venue_prehash,
)

JSON_TYPE: Final = "application/json"
FORM_TYPE: Final = "application/x-www-form-urlencoded"
FUTURE_TOLERANCE_MS: Final = 1000

CODE_BAD_PARAMS: Final = 10004
CODE_BAD_SIGNATURE: Final = 10006
CODE_WRONG_METHOD: Final = 10009
CODE_STALE_TS: Final = 10557
CODE_BAD_KEY: Final = 10560
CODE_BAD_TS: Final = 10561
DEFAULT_PAGE_SIZE: Final = 20
MAX_PAGE_SIZE: Final = 500


class BodyKind(StrEnum):
    NONE = "none"  # GET, or a POST with no body and no content type
    JSON = "json"
    FORM = "form"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One parsed request: path without query, parameters, lower-cased headers."""

    method: str
    path: str
    params: dict[str, Any]
    headers: Mapping[str, str]
    body_kind: BodyKind

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class Credentials:
    """API keys the exchange knows, each with its secret (masked in repr)."""

    secrets: Mapping[str, str] = field(repr=False)

    @classmethod
    def single(cls, api_key: str, api_secret: str) -> Credentials:
        return cls({api_key: api_secret})

    def secret_for(self, api_key: str) -> str | None:
        return self.secrets.get(api_key)

    def __repr__(self) -> str:
        return f"Credentials({len(self.secrets)} key(s), secrets masked)"


def parse_request(method: str, raw_path: str, headers: Mapping[str, str],
                  body: bytes) -> WireRequest:
    """Split the target and decode the parameters according to the content type."""
    split = urlsplit(raw_path)
    lowered = {name.lower(): value for name, value in headers.items()}
    if method == "GET":
        params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
        return WireRequest(method, split.path, params, lowered, BodyKind.NONE)
    kind = body_kind(lowered.get("content-type"), body)
    return WireRequest(method, split.path, parse_body(kind, body), lowered, kind)


def body_kind(content_type: str | None, body: bytes) -> BodyKind:
    media = (content_type or "").split(";")[0].strip().lower()
    if media == JSON_TYPE:
        return BodyKind.JSON
    if media == FORM_TYPE:
        return BodyKind.FORM
    if not media and not body.strip():
        return BodyKind.NONE
    return BodyKind.OTHER


def parse_body(kind: BodyKind, body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError(CODE_BAD_PARAMS, "Parameter illegal") from None
    if kind is BodyKind.FORM:
        return dict(parse_qsl(text, keep_blank_values=True))
    if kind is not BodyKind.JSON or not text.strip():
        return {}
    return parse_json_object(text)


def signing_params(params: Mapping[str, Any]) -> dict[str, str | None]:
    """The parameters as the prehash sees them: text as sent, nested values compact JSON."""
    return {key: signing_text(value) for key, value in params.items()}


def signing_text(value: Any) -> str | None:
    """One value's text in the prehash; None (JSON null) is left out by the prehash."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return render_compact(value)
    if isinstance(value, RawNumber):
        return str.__str__(value)
    return str(value)


def render_compact(value: Any) -> str:
    """Compact JSON, body key order, numbers as written, non-ASCII kept."""
    if isinstance(value, dict):
        inner = ",".join(f"{json.dumps(k, ensure_ascii=False)}:{render_compact(v)}"
                         for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(render_compact(item) for item in value) + "]"
    if isinstance(value, RawNumber):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """A known key and a timestamp inside its window: what is checked before the body."""

    api_key: str
    secret: str = field(repr=False)
    ts_ms: int
    window_ms: int


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def check_headers(headers: Mapping[str, str], credentials: Credentials,
                  server_ms: int) -> SignedHeaders:
    """Key known, ts readable and inside the window (lower-cased headers); else WireError."""
    api_key = headers.get("x-cc-apikey")
    secret = credentials.secret_for(api_key) if api_key else None
    if api_key is None or secret is None:
        raise WireError(CODE_BAD_KEY, "api key invalid")
    ts_ms = _int_header(headers.get("ts"), default=None)
    diff_ms = _int_header(headers.get("x-req-ts-diff"), default=DOCUMENTED_DEFAULT_WINDOW_MS)
    if ts_ms is None or diff_ms is None or not 0 <= diff_ms <= MAX_TS_DIFF_MS:
        raise WireError(CODE_BAD_TS, "timestamp invalid")
    if ts_ms >= server_ms + FUTURE_TOLERANCE_MS or server_ms - ts_ms > diff_ms:
        raise WireError(CODE_STALE_TS, "request expired, check the timestamp")
    return SignedHeaders(api_key, secret, ts_ms, diff_ms)


def check_sign(request: WireRequest, signed: SignedHeaders) -> None:
    """The HMAC over the prehash rebuilt from what arrived; 10006 when it differs."""
    text = venue_prehash(request.method, request.path, signing_params(request.params),
                         key=signed.api_key, ts=signed.ts_ms, window_ms=signed.window_ms)
    if not sign_matches(signed.secret, text, request.header("sign") or ""):
        raise WireError(CODE_BAD_SIGNATURE, "Sign illegal")


def _int_header(raw: str | None, *, default: int | None) -> int | None:
    if raw is None:
        return default
    text = raw.strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 20:
        return None
    return int(text)


# -- parameters -------------------------------------------------------------------------
def int_param(value: Any, name: str) -> int:
    """Read a 64-bit integer that may arrive as a JSON number or as text; 10004 otherwise."""
    return bounded_int(value, name)


def from_id_param(params: Mapping[str, Any]) -> int:
    """`fromId`: absent, empty or 0 means the first (most recent) page."""
    from_id = params.get("fromId")
    return 0 if from_id in (None, "") else int_param(from_id, "fromId")


def time_param(value: Any, name: str) -> datetime:
    """Read epoch milliseconds (1970 to 9999); 10004 otherwise."""
    return bounded_time(value, name)


def decimal_param(value: Any, *, missing_code: int) -> Decimal:
    """Read a positive finite amount; `missing_code` when absent, 10004 when malformed
    or out of range (`sim.limits`)."""
    return bounded_amount(value, missing_code=missing_code)


def text_param(params: Mapping[str, Any], name: str) -> str:
    """Read a required scalar as text (ids may come as numbers in JSON)."""
    value = params.get(name)
    if value is None or value == "" or isinstance(value, (list, dict, bool)):
        raise WireError(CODE_BAD_PARAMS, f"{name} is required")
    return str(value)


def order_ids(params: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """Read `orderId` / `clientOrderId`; 10575 when neither is given."""
    order_id = params.get("orderId")
    client_id = params.get("clientOrderId")
    if order_id in (None, "") and client_id in (None, ""):
        raise WireError(10575, "orderId or clientOrderId is required")
    return (int_param(order_id, "orderId") if order_id not in (None, "") else None,
            int_param(client_id, "clientOrderId") if client_id not in (None, "") else None)


def page_size(params: Mapping[str, Any]) -> int:
    """`pageSize`, default 20, clamped to 1..500."""
    return min(MAX_PAGE_SIZE, max(1, int_param(params.get("pageSize", DEFAULT_PAGE_SIZE),
                                          "pageSize")))


def underlying_param(text: Any) -> Underlying:
    """Read a coin (`currency=BTC`)."""
    try:
        return Underlying(str(text).upper())
    except ValueError:
        raise WireError(CODE_BAD_PARAMS, "currency is illegal") from None


def index_param(name: str) -> Underlying:
    """Read an index name (`BTCUSD`); 10579 when unknown."""
    for underlying in Underlying:
        if underlying.index_name == name.upper():
            return underlying
    raise WireError(10579, "index not exist")


def rfq_leg(leg: Any) -> RfqLeg:
    """Read one RFQ request leg `{instrumentName, side, qty}`."""
    if not isinstance(leg, dict):
        raise WireError(CODE_BAD_PARAMS, "legs is illegal")
    side = {"BUY": Side.BUY, "SELL": Side.SELL}.get(str(leg.get("side", "")).upper())
    symbol = leg.get("instrumentName")
    if side is None or not isinstance(symbol, str) or not symbol:
        raise WireError(CODE_BAD_PARAMS, "legs is illegal")
    return RfqLeg(symbol, side, decimal_param(leg.get("qty"), missing_code=10533))
