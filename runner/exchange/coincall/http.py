"""Signed HTTP transport to Coincall: one request in, the envelope's `data` or a typed error out.

Owns the `requests.Session` (keep-alive), the (connect, read) timeout on every request,
the signing headers, the server-time offset, client-side rate limiting, envelope
parsing, retries and reachability.

Invariants:
- Reads are retried after 1 s, 2 s and 4 s on transport errors, timeouts, HTTP
  5xx/408/425/429, throttling and unreadable answers; each attempt is signed afresh
  with a fresh timestamp. An exchange error answer is never retried.
- Writes are sent once. A failure that happened before anything was sent (connection
  refused, connect timeout) is `ExchangeUnavailable`; anything after sending whose
  result we cannot read (read timeout, dropped connection, 5xx/408, internal-error
  codes, an unreadable body) is `OutcomeUnknown`, resolved by the client with a lookup.
- The one exception for both: a stale-timestamp rejection (10557/10561) was refused
  before any effect, so the time offset is re-synchronised and the request re-sent once.
- No API key or secret appears in an exception message or a repr.
- On the way out (`begin_shutdown`, see `shutdown`): no retries, short timeouts, nothing
  sent after the deadline, and a request blocked when the stop signal came is
  interrupted (a read fails; a write is an unknown outcome, resolved as usual).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode

import requests
import urllib3.exceptions

from runner.common.secrets import Secret, redact
from runner.domain.clock import Clock, to_epoch_ms
from runner.exchange.coincall.endpoints import SERVER_TIME, BodyKind, Endpoint
from runner.exchange.coincall.ratelimit import RateLimiter
from runner.exchange.coincall.shutdown import RequestInterrupted, ShutdownDeadline
from runner.exchange.coincall.signing import DEFAULT_TS_DIFF_MS, signature, value_text
from runner.exchange.errors import (
    AuthenticationFailed,
    EndpointNotAvailable,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
    error_for_code,
)

RETRY_DELAYS: Final = (1.0, 2.0, 4.0)
UNREACHABLE_AFTER: Final = 3  # consecutive transport failures (lessons C4)
NEW_SESSION_AFTER: Final = 5
TIME_RESYNC_MS: Final = 5 * 60 * 1000
STALE_TS_CODES: Final = frozenset({10557, 10561})
# Answers that mean "the server failed while handling it": a write may have happened.
_WRITE_UNKNOWN_CODES: Final = frozenset({500, 10002, 10565, 10596})
_THROTTLE_STATUSES: Final = frozenset({425, 429})
_NOT_AVAILABLE_STATUSES: Final = frozenset({404, 405})
_NOT_SENT_REASONS: Final = (urllib3.exceptions.NewConnectionError,
                            urllib3.exceptions.ConnectTimeoutError,
                            urllib3.exceptions.NameResolutionError)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to connect and to wait for the answer."""

    connect: float = 3.05
    read: float = 10.0


DEFAULT_TIMEOUTS: Final = Timeouts()


@dataclass(frozen=True, slots=True)
class _Prepared:
    endpoint: Endpoint
    path: str
    params: dict[str, object]


class _TransportFailure(Exception):
    """Internal: the request failed below the envelope; `sent` says whether it may have left."""

    def __init__(self, description: str, *, sent: bool) -> None:
        super().__init__(description)
        self.description = description
        self.sent = sent


class Transport:
    """Signed, rate-limited, retrying requests to one Coincall base URL."""

    def __init__(self, *, base_url: str, api_key: Secret, api_secret: Secret, clock: Clock,
                 limiter: RateLimiter, sleep: Callable[[float], None],
                 timeouts: Timeouts = DEFAULT_TIMEOUTS, session: requests.Session | None = None,
                 session_factory: Callable[[], requests.Session] = requests.Session,
                 ts_diff_ms: int = DEFAULT_TS_DIFF_MS) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._api_secret = api_secret
        self._clock = clock
        self._limiter = limiter
        self._sleep = sleep
        self._timeouts = timeouts
        self._session_factory = session_factory
        self._session = session if session is not None else session_factory()
        self._ts_diff_ms = ts_diff_ms
        self._offset_ms: int | None = None
        self._synced_at_ms = 0
        self._consecutive_failures = 0
        self._shutdown: ShutdownDeadline | None = None
        self._in_flight = False

    def __repr__(self) -> str:
        return f"Transport({self._base_url!r})"

    # -- shutdown ----------------------------------------------------------------------
    def begin_shutdown(self, deadline: float) -> None:
        """From now on: no retries, short timeouts, nothing sent after `deadline`
        (`time.monotonic()` seconds). Safe to call from a signal handler."""
        self._shutdown = ShutdownDeadline(deadline)

    @property
    def request_in_flight(self) -> bool:
        """True while a request is blocked in the network (the stop handler may interrupt it)."""
        return self._in_flight

    # -- state -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    @property
    def is_reachable(self) -> bool:
        """False after 3 consecutive transport failures; any answer from the server resets it."""
        return self._consecutive_failures < UNREACHABLE_AFTER

    @property
    def time_offset_ms(self) -> int | None:
        """Server time minus local time, as last measured; None before the first sync."""
        return self._offset_ms

    def close(self) -> None:
        self._session.close()

    # -- calls -------------------------------------------------------------------------
    def call(self, endpoint: Endpoint, params: Mapping[str, object] | None = None, *,
             path_args: Mapping[str, str] | None = None) -> Any:
        """Send one request (reads with retries) and return the envelope's `data`."""
        prepared = _prepare(endpoint, params, path_args)
        if not endpoint.is_read or self._shutdown is not None:
            return self._attempt(prepared)
        delays = iter(RETRY_DELAYS)
        while True:
            try:
                return self._attempt(prepared)
            except (ExchangeUnavailable, MalformedResponse):
                delay = next(delays, None)
                if delay is None or self._shutdown is not None:  # no backoff on the way out
                    raise
                self._sleep(delay)

    def sync_time(self) -> int:
        """Measure the server-time offset with GET /time and return the server time (ms)."""
        before = to_epoch_ms(self._clock.now())
        data = self._send(_prepare(SERVER_TIME, None, None))
        after = to_epoch_ms(self._clock.now())
        server_ms = _server_time_ms(data)
        self._offset_ms = server_ms - (before + after) // 2
        self._synced_at_ms = after
        return server_ms

    # -- one attempt -------------------------------------------------------------------
    def _attempt(self, prepared: _Prepared) -> Any:
        try:
            return self._send(prepared)
        except AuthenticationFailed as error:
            if error.code not in STALE_TS_CODES:
                raise
        self._resync()
        return self._send(prepared)

    def _send(self, prepared: _Prepared) -> Any:
        endpoint = prepared.endpoint
        if endpoint.signed:
            self._ensure_time_offset()
        with self._limiter.reserved(endpoint.rate_class):
            try:
                response = self._exchange(prepared)
            except _TransportFailure as failure:
                self._count_failure()
                raise self._failure_error(endpoint, failure) from None
        return self._interpret(endpoint, response)

    def _ensure_time_offset(self) -> None:
        now_ms = to_epoch_ms(self._clock.now())
        if self._offset_ms is None or now_ms - self._synced_at_ms >= TIME_RESYNC_MS:
            self._resync()

    def _resync(self) -> None:
        try:
            self.sync_time()
        except ExchangeError as error:
            raise ExchangeUnavailable(f"could not read the server time: {error.message}",
                                      code=error.code, endpoint=SERVER_TIME.name) from None

    def _exchange(self, prepared: _Prepared) -> requests.Response:
        endpoint = prepared.endpoint
        url = self._base_url + prepared.path
        headers, query, body = self._encode(prepared)
        timeouts = self._request_timeouts()
        try:
            self._in_flight = True
            return self._session.request(
                endpoint.method, url, params=query, data=body, headers=headers,
                timeout=timeouts, allow_redirects=False,
            )
        except RequestInterrupted:
            raise _TransportFailure("interrupted: the service is stopping", sent=True) from None
        except requests.exceptions.ConnectTimeout:
            raise _TransportFailure("could not connect in time", sent=False) from None
        except requests.exceptions.ReadTimeout:
            raise _TransportFailure(f"no answer within {timeouts[1]:.1f} s",
                                    sent=True) from None
        except requests.exceptions.SSLError as exc:
            raise _TransportFailure(f"TLS failure: {type(exc).__name__}", sent=False) from None
        except requests.exceptions.ConnectionError as exc:
            sent = not _nothing_sent(exc)
            what = "connection lost" if sent else "could not connect"
            raise _TransportFailure(f"{what}: {self._clean(exc)}", sent=sent) from None
        except requests.RequestException as exc:
            raise _TransportFailure(f"request failed: {self._clean(exc)}", sent=True) from None
        finally:
            self._in_flight = False

    def _request_timeouts(self) -> tuple[float, float]:
        normal = (self._timeouts.connect, self._timeouts.read)
        if self._shutdown is None:
            return normal
        shortened = self._shutdown.timeouts(*normal)
        if shortened is None:
            raise _TransportFailure("not sent: the service is stopping and its time is up",
                                    sent=False)
        return shortened

    def _encode(self, prepared: _Prepared) -> tuple[dict[str, str], str | None, bytes | None]:
        endpoint = prepared.endpoint
        params = prepared.params
        headers: dict[str, str] = {}
        query: str | None = None
        body: bytes | None = None
        if endpoint.body is BodyKind.QUERY:
            query = urlencode({k: value_text(v) for k, v in params.items()}) or None
        elif endpoint.body is BodyKind.JSON:
            body = json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = BodyKind.JSON.value
        else:
            body = urlencode({k: value_text(v) for k, v in params.items()}).encode()
            headers["Content-Type"] = BodyKind.FORM.value
        if endpoint.signed:
            headers.update(self._signature_headers(endpoint.method, prepared.path, params))
        return headers, query, body

    def _signature_headers(self, method: str, path: str,
                           params: Mapping[str, object]) -> dict[str, str]:
        ts_ms = to_epoch_ms(self._clock.now()) + (self._offset_ms or 0)
        sign = signature(method, path, params, api_key=self._api_key.reveal(),
                         secret=self._api_secret.reveal(), ts_ms=ts_ms,
                         ts_diff_ms=self._ts_diff_ms)
        return {"X-CC-APIKEY": self._api_key.reveal(), "sign": sign, "ts": str(ts_ms),
                "X-REQ-TS-DIFF": str(self._ts_diff_ms)}

    # -- interpreting the answer -------------------------------------------------------
    def _interpret(self, endpoint: Endpoint, response: requests.Response) -> Any:
        status = response.status_code
        if status == 408 or status >= 500:
            self._count_failure()
            message = f"HTTP {status}"
            if endpoint.is_read:
                raise ExchangeUnavailable(message, endpoint=endpoint.name)
            raise OutcomeUnknown(f"{message} after sending", endpoint=endpoint.name)
        self._consecutive_failures = 0
        if status in _THROTTLE_STATUSES:
            raise RateLimited(f"HTTP {status}", endpoint=endpoint.name)
        if status in _NOT_AVAILABLE_STATUSES:  # whatever the body says (rfqList, taker key)
            return self._rejected_status(endpoint, status)
        envelope = _envelope(response)
        if envelope is None:
            return self._unreadable(endpoint, status)
        code, message, data = envelope
        if code != 0:
            raise self._code_error(endpoint, code, message)
        if status >= 300:
            return self._rejected_status(endpoint, status)
        return data

    def _unreadable(self, endpoint: Endpoint, status: int) -> Any:
        if status >= 300:
            return self._rejected_status(endpoint, status)
        description = "the answer is not a Coincall envelope"
        if endpoint.is_read:
            raise MalformedResponse(description, endpoint=endpoint.name)
        raise OutcomeUnknown(f"{description}; the request may have been executed",
                             endpoint=endpoint.name)

    def _rejected_status(self, endpoint: Endpoint, status: int) -> Any:
        message = f"HTTP {status}"
        if status in {401, 403}:
            raise AuthenticationFailed(message, endpoint=endpoint.name)
        if status in {404, 405}:
            raise EndpointNotAvailable(message, endpoint=endpoint.name)
        raise ExchangeRejected(message, endpoint=endpoint.name)

    def _code_error(self, endpoint: Endpoint, code: int, message: str) -> ExchangeError:
        text = self._clean(message or "no message")
        if not endpoint.is_read and code in _WRITE_UNKNOWN_CODES:
            return OutcomeUnknown(f"{text}; the request may have been executed", code=code,
                                  endpoint=endpoint.name)
        return error_for_code(code, text, endpoint.name)

    def _failure_error(self, endpoint: Endpoint, failure: _TransportFailure) -> ExchangeError:
        if endpoint.is_read or not failure.sent:
            return ExchangeUnavailable(failure.description, endpoint=endpoint.name)
        return OutcomeUnknown(f"{failure.description} after sending", endpoint=endpoint.name)

    def _count_failure(self) -> None:
        self._consecutive_failures += 1
        if self._consecutive_failures % NEW_SESSION_AFTER == 0:
            self._session.close()
            self._session = self._session_factory()

    def _clean(self, text: object) -> str:
        return redact(str(text), (self._api_key.reveal(), self._api_secret.reveal()))


def _prepare(endpoint: Endpoint, params: Mapping[str, object] | None,
             path_args: Mapping[str, str] | None) -> _Prepared:
    args = {name: quote(str(value), safe="") for name, value in (path_args or {}).items()}
    try:
        path = endpoint.path.format(**args)
    except KeyError as missing:
        raise ValueError(f"{endpoint.name}: path parameter {missing} missing") from None
    return _Prepared(endpoint, path, strip_nulls(params or {}))


def strip_nulls(params: Mapping[str, object]) -> dict[str, object]:
    """The parameters without null values, at every depth (body and prehash must agree)."""
    return {key: _strip(value) for key, value in params.items() if value is not None}


def _strip(value: object) -> object:
    if isinstance(value, Mapping):
        return strip_nulls(value)
    if isinstance(value, (list, tuple)):
        return [_strip(item) for item in value if item is not None]
    return value


def _envelope(response: requests.Response) -> tuple[int, str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    message = body.get("msg")
    return code, message if isinstance(message, str) else "", body.get("data")


def _server_time_ms(data: Any) -> int:
    value = data.get("serverTime") if isinstance(data, dict) else data
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MalformedResponse("serverTime missing", endpoint=SERVER_TIME.name)
    try:
        return int(value)
    except ValueError:
        raise MalformedResponse(f"serverTime {value!r} is not a number",
                                endpoint=SERVER_TIME.name) from None


def _nothing_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection failed before the request could leave (refused, DNS)."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        return isinstance(reason.reason, _NOT_SENT_REASONS)
    return isinstance(reason, _NOT_SENT_REASONS)
