"""The simulated exchange served over HTTP on loopback, speaking Coincall.

Owns the HTTP edge of the simulator: a stdlib `ThreadingHTTPServer` bound to
127.0.0.1 only, Coincall's envelope, signature verification (`wire_in`), the calls
of coincall-api.md section 6 (`routes`) and fault injection (`faults`). Any Coincall
client, the runner's REST adapter first, can be pointed at `SimServer.base_url`.
Invariant: a request reaches the exchange only after its route, method, body type
and signature check out, and only when no fault stops it first; a `malformed` or
`lost_response` fault lets the action happen and then spoils or drops the answer.
Every request gets a Coincall envelope, whatever it holds (issue 8, finding 11):
bodies are bounded (64 KiB, nesting 16, `sim.limits`), key and timestamp are checked
before the body is parsed, numbers are read with range checks only after the
signature, and an unforeseen failure answers code 500 in an HTTP 200 envelope, counted
in `internal_errors`, with the traceback kept in the server's log.

Deliberate choices:
- Errors are HTTP 200 with `code != 0` (as Coincall answers); unknown paths are HTTP
  404, and so is a call the key may not make (rfqList for a taker-only key,
  `key_access`); a known path with the wrong method answers code 10009; a body of the wrong
  type (JSON to a FORM endpoint and vice versa) answers 10004, as live.
- Public market calls need no signature; when a `sign` header is present anyway it
  is verified like any other.
- The documented rate limits are enforced (`throttle`, on unless `rate_limits=False`):
  a request over its class's budget is answered 10605 after its signature checks out,
  and counted in `throttled`, so tests of the runner over HTTP can assert it never
  tripped the venue.
- Latency and held connections wait on the server's stop event, so `stop()` never
  waits for a 30 s timeout fault to run out; `stop()` also closes idle keep-alive
  connections. Nothing secret is logged: request logging of `http.server` is
  silenced and internal errors log only the path.
- Connections are served by at most `max_handlers` threads (32): further connections
  wait in the listen backlog until one is free. A connection silent for
  `idle_timeout` seconds (30, real time) is closed, so half-open connections cannot
  hold threads for ever (800 of them used to make 796 threads).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Final

from runner.domain.clock import Clock, to_epoch_ms
from runner.exchange.errors import (
    ExchangeError,
)
from runner.exchange.port import Exchange
from runner.sim.access import KeyAccess
from runner.sim.answers import (
    CODE_ILLEGAL_REQUEST,
    CODE_INTERNAL,
    HttpAnswer,
    code_for,
    error_answer,
    json_answer,
)
from runner.sim.connections import BoundedHttpServer
from runner.sim.faults import (
    DEFAULT_5XX_STATUS,
    FaultDecision,
    FaultKind,
    FaultPlan,
    FaultRule,
)
from runner.sim.faulty import PriceFreezer
from runner.sim.limits import MAX_BODY_BYTES
from runner.sim.routes import CoincallApi, Route, find_route
from runner.sim.throttle import THROTTLE_CODE, THROTTLE_MESSAGE, Throttle
from runner.sim.wire_in import (
    CODE_BAD_PARAMS,
    CODE_WRONG_METHOD,
    BodyKind,
    Credentials,
    SignedHeaders,
    WireError,
    check_headers,
    check_sign,
    lower_headers,
    parse_request,
)
from runner.sim.ws_feed import WsFeed
from runner.sim.ws_frames import handshake_response

LOOPBACK: Final = "127.0.0.1"
IDLE_TIMEOUT_S: Final = 30.0
MAX_HANDLERS: Final = 32
_log = logging.getLogger(__name__)


class SimServer:
    """An `Exchange` served as Coincall REST on 127.0.0.1, in a background thread."""

    def __init__(self, exchange: Exchange, api_key: str, api_secret: str, clock: Clock,
                 faults: FaultPlan | None = None, *, port: int = 0,
                 rate_limits: bool = True, idle_timeout: float = IDLE_TIMEOUT_S,
                 max_handlers: int = MAX_HANDLERS, rfq_body: BodyKind = BodyKind.JSON,
                 key_access: KeyAccess = KeyAccess.TAKER) -> None:
        self._exchange = exchange
        self._credentials = Credentials.single(api_key, api_secret)
        self._clock = clock
        self._faults = faults or FaultPlan()
        self._freezer = PriceFreezer(exchange, clock)
        self._api = CoincallApi(exchange, clock, rfq_body=rfq_body, key_access=key_access)
        self._throttle = Throttle(clock.now, enabled=rate_limits)
        self.idle_timeout = idle_timeout
        self.max_handlers = max_handlers
        self._internal_errors = 0
        self._requested_port = port
        self._stop = threading.Event()
        self._httpd: BoundedHttpServer | None = None
        self._thread: threading.Thread | None = None
        # The market-data WebSocket on the same port (/options, /futures; ws_feed.py).
        self.ws = WsFeed(exchange, clock, self._credentials.secrets, self._stop)

    def __repr__(self) -> str:
        return f"SimServer({self.base_url if self._httpd else 'stopped'})"

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> SimServer:
        """Bind (port 0 picks a free one) and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._stop.clear()
        self._httpd = BoundedHttpServer((LOOPBACK, self._requested_port), _Handler, self,
                                  self.max_handlers)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.01},
                                        name=f"sim-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held connections, stop serving and close the socket."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._freezer.thaw()

    def wait(self) -> None:
        """Block until `stop()` is called from another thread (or a signal handler)."""
        self._stop.wait()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the simulated exchange server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        self._faults = plan

    @property
    def throttle(self) -> Throttle:
        """The venue's rate limits; `throttle.refused` counts throttled answers."""
        return self._throttle

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def internal_errors(self) -> int:
        """Requests that failed unforeseen (answered code 500); a test venue wants 0."""
        return self._internal_errors

    @property
    def throttled(self) -> int:
        """How many requests were answered 10605 (too frequent) since the start."""
        return self._throttle.refused

    @property
    def api(self) -> CoincallApi:
        """The call handlers (their documented-but-ambiguous choices can be set on it)."""
        return self._api

    # -- one request -----------------------------------------------------------------
    def respond(self, method: str, target: str, headers: Mapping[str, str],
                body: bytes, client: str = LOOPBACK) -> HttpAnswer | None:
        """Answer one request, faults included; None means drop the connection."""
        path = target.split("?", 1)[0]
        found = find_route(path)
        if found is None or not self._api.serves(found[0]):
            return error_answer(404, "Not Found", status=404)
        route, path_args = found
        if method != route.method:
            return error_answer(CODE_WRONG_METHOD, f"Request method '{method}' not supported")
        decision = self._faults.decide(route.name, path)
        self._delay_and_freeze(decision)
        rule = decision.outcome
        if rule is not None and rule.kind in _BEFORE_ACTION:
            return self._fault_answer(rule)
        answer = self._answer(route, path_args, method, target, headers, body, client)
        if rule is None:
            return answer
        if rule.kind is FaultKind.MALFORMED:
            return HttpAnswer(200, answer.body[: max(1, len(answer.body) // 2)])
        self._stop.wait(rule.hold_seconds)  # LOST_RESPONSE: done, but no answer
        return None

    def _delay_and_freeze(self, decision: FaultDecision) -> None:
        if decision.delay:
            self._stop.wait(decision.delay)
        self._freezer.apply(decision.freezes)

    def _fault_answer(self, rule: FaultRule) -> HttpAnswer | None:
        """The answer of a fault that stops the request before the exchange sees it."""
        kind = rule.kind
        if kind is FaultKind.TIMEOUT:
            self._stop.wait(rule.hold_seconds)
            return None
        if kind is FaultKind.DISCONNECT:
            return None
        if kind is FaultKind.HTTP_5XX:
            status = rule.status or DEFAULT_5XX_STATUS
            page = f"<html><body><h1>{status} Service Unavailable</h1></body></html>"
            return HttpAnswer(status, page.encode(), "text/html")
        status = rule.status or 200
        return error_answer(rule.answer_code, rule.answer_message, status)

    def _answer(self, route: Route, path_args: Mapping[str, str], method: str, target: str,
                headers: Mapping[str, str], body: bytes, client: str) -> HttpAnswer:
        try:
            signed = self._check_headers(route, lower_headers(headers))
            request = parse_request(method, target, headers, body)
            if request.body_kind not in route.bodies:
                raise WireError(CODE_BAD_PARAMS, "Parameter illegal")
            if signed is not None:
                check_sign(request, signed)
            api_key = signed.api_key if signed is not None else ""
            if not self._throttle.admit(route.name, user=api_key, address=client):
                raise WireError(THROTTLE_CODE, THROTTLE_MESSAGE)
            data = self._api.answer(route, request, path_args, api_key)
            return json_answer(self._api.envelope(route, data))
        except WireError as refused:
            return error_answer(refused.code, refused.msg)
        except ExchangeError as failed:
            return error_answer(code_for(failed), failed.message or "failed")
        except Exception:
            self._internal_errors += 1
            _log.exception("simulated exchange failed on %s %s", method, route.name)
            return error_answer(CODE_INTERNAL, "internal error")

    def _check_headers(self, route: Route, headers: Mapping[str, str]) -> SignedHeaders | None:
        """Key and timestamp window, before the body is read; None for an unsigned public call."""
        if not route.signed and headers.get("sign") is None:
            return None
        server_ms = to_epoch_ms(self._clock.now())
        return check_headers(headers, self._credentials, server_ms)


_BEFORE_ACTION: Final = frozenset({FaultKind.TIMEOUT, FaultKind.DISCONNECT,
                                   FaultKind.HTTP_5XX, FaultKind.ERROR, FaultKind.RATE_LIMIT})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle plus delayed ACKs add
    # ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: BoundedHttpServer

    def do_GET(self) -> None:
        if WsFeed.wants(self.path, dict(self.headers.items())):
            self._serve_websocket()
            return
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def setup(self) -> None:
        self.timeout = self.server.app.idle_timeout  # socket timeout: idle connections end
        super().setup()

    def _serve(self) -> None:
        length = _content_length(self.headers.get("Content-Length"))
        if length is None or self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(error_answer(CODE_BAD_PARAMS, "Parameter illegal", status=400))
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(error_answer(CODE_BAD_PARAMS, "request body too large", status=413))
            return
        body = self.rfile.read(length) if length else b""
        answer = self.server.app.respond(self.command, self.path, dict(self.headers.items()),
                                         body, self.client_address[0])
        if answer is None:
            self.close_connection = True
            return
        self._send(answer)

    def _serve_websocket(self) -> None:
        """Upgrade to the market-data WebSocket and serve it on this thread (ws_feed.py)."""
        self.close_connection = True
        feed: WsFeed = self.server.app.ws
        refused = feed.refusal(self.path)
        key = self.headers.get("Sec-WebSocket-Key")
        if refused is not None or not key:
            self._send(error_answer(10563 if refused else CODE_BAD_PARAMS,
                                    refused or "Sec-WebSocket-Key missing", status=401))
            return
        self.wfile.write(handshake_response(key))
        self.connection.settimeout(5.0)  # a send to a client that stopped reading ends
        feed.serve(self.path, self.connection)

    def _send(self, answer: HttpAnswer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Requests http.server itself refuses (bad request line, unknown method, headers
        too long) get a Coincall envelope too, with http.server's status."""
        self.close_connection = True
        self.request_version = self.protocol_version  # an unparsed line still gets headers
        coincall = CODE_WRONG_METHOD if code in (405, 501) else CODE_ILLEGAL_REQUEST
        with contextlib.suppress(OSError):
            self._send(error_answer(coincall, message or "illegal request", status=code))

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging (headers would carry the API key)."""


def _content_length(text: str | None) -> int | None:
    """The declared body length; None when it is not a plain decimal number."""
    if text is None or not text.strip():
        return 0
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)
