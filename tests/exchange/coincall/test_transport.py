"""The signed transport on real loopback HTTP: signing, time offset, retries, error classes (C4)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator

import pytest
import requests

from runner.domain.clock import ManualClock, to_epoch_ms
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.endpoints import BodyKind
from runner.exchange.coincall.http import EndpointNotAvailable, Timeouts, Transport
from runner.exchange.coincall.ratelimit import RateLimiter
from runner.exchange.errors import (
    AuthenticationFailed,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
    InsufficientFunds,
    MalformedResponse,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)
from runner.service.settings import Secret

from .conftest import KEY, SECRET, FakeCoincall, RecordingSleep, Reply

POSITIONS = ep.POSITIONS.path
CREATE = ep.PLACE_ORDER.path
ORDER = {"symbol": "BTCUSD-27FEB26-90000-C", "tradeSide": 2, "tradeType": 1, "qty": 0.1,
         "price": 1250.5, "timeInForce": "GTC", "clientOrderId": 1767225600123, "reduceOnly": 1}


@pytest.fixture
def sessions() -> Iterator[list[requests.Session]]:
    made: list[requests.Session] = []
    yield made
    for session in made:
        session.close()


@pytest.fixture
def make_transport(coincall: FakeCoincall, clock: ManualClock, sleeps: RecordingSleep,
                   sessions: list[requests.Session]) -> Callable[..., Transport]:
    def factory() -> requests.Session:
        sessions.append(requests.Session())
        return sessions[-1]

    def build(base_url: str | None = None) -> Transport:
        limiter = RateLimiter(now=lambda: clock.now().timestamp(), sleep=sleeps)
        return Transport(base_url=base_url or coincall.url, api_key=Secret(KEY),
                         api_secret=Secret(SECRET), clock=clock, limiter=limiter, sleep=sleeps,
                         timeouts=Timeouts(connect=1.0, read=0.3), session_factory=factory)

    return build


@pytest.fixture
def transport(make_transport: Callable[..., Transport]) -> Transport:
    return make_transport()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- signing and encoding ----------------------------------------------------------------------
def test_a_signed_get_carries_the_four_headers_and_a_valid_signature(
        transport: Transport, coincall: FakeCoincall) -> None:
    coincall.script("GET", ep.OPEN_ORDERS.path, coincall.ok({"list": []}))
    transport.call(ep.OPEN_ORDERS, {"pageSize": 50, "page": 1, "currency": "BTC", "x": None})
    [sent] = coincall.sent(ep.OPEN_ORDERS.path)
    assert sent.signature_valid is True
    assert sent.headers["X-CC-APIKEY"] == KEY
    assert sent.headers["X-REQ-TS-DIFF"] == "5000"
    assert sent.params == {"pageSize": "50", "page": "1", "currency": "BTC"}


def test_a_json_post_sends_compact_json_without_nulls_and_signs_it(
        transport: Transport, coincall: FakeCoincall) -> None:
    coincall.script("POST", CREATE, coincall.ok(1))
    transport.call(ep.PLACE_ORDER, {**ORDER, "stp": None})
    [sent] = coincall.sent(CREATE)
    assert sent.signature_valid is True
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.raw_body) == ORDER
    assert b" " not in sent.raw_body


@pytest.mark.parametrize("body", [BodyKind.FORM, BodyKind.JSON])
def test_rfq_accept_is_form_by_default_and_json_behind_the_switch(
        transport: Transport, coincall: FakeCoincall, body: BodyKind) -> None:
    """Pitfall 3: FORM proven live, JSON documented since 2026-07; same signature either way."""
    coincall.script("POST", ep.RFQ_ACCEPT.path, coincall.ok({}))
    transport.call(ep.RFQ_ACCEPT.with_body(body), {"requestId": "1", "quoteId": "2"})
    [sent] = coincall.sent(ep.RFQ_ACCEPT.path)
    assert sent.headers["Content-Type"] == body.value
    assert sent.params == {"requestId": "1", "quoteId": "2"}
    assert sent.signature_valid is True


def test_path_parameters_are_part_of_the_signed_path(
        transport: Transport, coincall: FakeCoincall) -> None:
    path = "/open/option/detail/v1/BTCUSD-27FEB26-90000-C"
    coincall.script("GET", path, coincall.ok({}))
    transport.call(ep.OPTION_DETAIL, path_args={"symbol": "BTCUSD-27FEB26-90000-C"})
    assert coincall.sent(path)[0].signature_valid is True


# -- server time -------------------------------------------------------------------------------
def test_the_timestamp_follows_the_server_clock_not_ours(
        transport: Transport, coincall: FakeCoincall, clock: ManualClock) -> None:
    """A local clock 3 s slow would fail every request; the /time offset corrects it."""
    coincall.clock_skew_ms = 3000
    coincall.script("GET", POSITIONS, coincall.ok([]))
    transport.call(ep.POSITIONS)
    [sent] = coincall.sent(POSITIONS)
    assert sent.ts is not None
    assert abs(sent.ts - (to_epoch_ms(clock.now()) + 3000)) < 50
    assert transport.time_offset_ms is not None
    assert abs(transport.time_offset_ms - 3000) < 50


def test_a_stale_timestamp_answer_resyncs_the_clock_and_resends_once(
        transport: Transport, coincall: FakeCoincall) -> None:
    coincall.always("GET", POSITIONS, coincall.ok([]))
    transport.call(ep.POSITIONS)
    coincall.clock_skew_ms = 20_000  # the server's clock jumps: our offset is now stale
    assert transport.call(ep.POSITIONS) == []
    assert len(coincall.sent("/time")) == 2
    assert [r.signature_valid for r in coincall.sent(POSITIONS)] == [True, True, True]


# -- retries on reads ---------------------------------------------------------------------------
@pytest.mark.parametrize("failure", [
    Reply(status=502), Reply(status=503, body=b"busy"), Reply(status=408),
    Reply(status=429), FakeCoincall.error(10000, "try again later"),
    FakeCoincall.error(10605, "too frequent"), Reply(drop=True), Reply(body=b"<html>oops"),
    FakeCoincall.error(10553, "maintenance"),
], ids=["502", "503", "408", "429", "10000", "10605", "dropped", "not json", "maintenance"])
def test_a_read_is_retried_after_1_2_and_4_seconds_then_succeeds(
        transport: Transport, coincall: FakeCoincall, sleeps: RecordingSleep,
        failure: Reply) -> None:
    coincall.script("GET", POSITIONS, failure, failure, failure, coincall.ok([]))
    assert transport.call(ep.POSITIONS) == []
    assert sleeps.calls == [1.0, 2.0, 4.0]
    assert len(coincall.sent(POSITIONS)) == 4


def test_each_retry_is_signed_afresh_with_a_new_timestamp(
        transport: Transport, coincall: FakeCoincall) -> None:
    coincall.script("GET", POSITIONS, Reply(status=502), coincall.ok([]))
    transport.call(ep.POSITIONS)
    first, second = coincall.sent(POSITIONS)
    assert second.ts is not None
    assert first.ts is not None
    assert second.ts - first.ts >= 1000
    assert first.headers["sign"] != second.headers["sign"]
    assert second.signature_valid is True


def test_a_read_that_times_out_is_retried(
        transport: Transport, coincall: FakeCoincall, sleeps: RecordingSleep) -> None:
    coincall.script("GET", POSITIONS, Reply(body={"code": 0, "data": []}, delay=0.6),
                    coincall.ok([]))
    assert transport.call(ep.POSITIONS) == []
    assert sleeps.calls == [1.0]


def test_a_read_gives_up_after_three_retries_as_unavailable(
        transport: Transport, coincall: FakeCoincall, sleeps: RecordingSleep) -> None:
    coincall.always("GET", POSITIONS, Reply(status=500))
    with pytest.raises(ExchangeUnavailable, match="HTTP 500"):
        transport.call(ep.POSITIONS)
    assert sleeps.calls == [1.0, 2.0, 4.0]
    assert len(coincall.sent(POSITIONS)) == 4


def test_an_unreadable_read_gives_up_as_malformed(
        transport: Transport, coincall: FakeCoincall) -> None:
    coincall.always("GET", POSITIONS, Reply(body=[1, 2]))
    with pytest.raises(MalformedResponse, match="positions"):
        transport.call(ep.POSITIONS)


def test_an_unreachable_host_is_retried_then_unavailable(
        make_transport: Callable[..., Transport], sleeps: RecordingSleep) -> None:
    transport = make_transport(_closed_port_url())
    with pytest.raises(ExchangeUnavailable, match="could not connect"):
        transport.call(ep.POSITIONS)
    assert sleeps.calls == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(("code", "kind"), [
    (10006, AuthenticationFailed), (10556, AuthenticationFailed), (10529, InsufficientFunds),
    (10584, OrderNotFound), (10004, ExchangeRejected), (40035, ExchangeRejected)])
def test_an_exchange_error_answer_is_raised_typed_and_never_retried(
        transport: Transport, coincall: FakeCoincall, sleeps: RecordingSleep, code: int,
        kind: type[ExchangeError]) -> None:
    coincall.always("GET", POSITIONS, coincall.error(code, "refused"))
    with pytest.raises(kind) as raised:
        transport.call(ep.POSITIONS)
    assert type(raised.value) is kind
    assert raised.value.code == code
    assert raised.value.endpoint == "positions"
    assert "refused" in str(raised.value)
    assert sleeps.calls == []
    assert len(coincall.sent(POSITIONS)) == 1


@pytest.mark.parametrize(("status", "kind"), [(401, AuthenticationFailed),
                                              (404, EndpointNotAvailable),
                                              (400, ExchangeRejected)])
def test_a_client_error_status_is_a_rejection(
        transport: Transport, coincall: FakeCoincall, status: int,
        kind: type[ExchangeError]) -> None:
    coincall.always("GET", POSITIONS, Reply(status=status, body=b"no"))
    with pytest.raises(kind, match=f"HTTP {status}"):
        transport.call(ep.POSITIONS)
    assert len(coincall.sent(POSITIONS)) == 1


# -- writes are never retried blindly -----------------------------------------------------------
@pytest.mark.parametrize("failure", [
    Reply(body={"code": 0, "data": 1}, delay=0.6), Reply(drop=True), Reply(status=502),
    Reply(status=504), Reply(body=b"<html>"), FakeCoincall.error(10582, "order timeout"),
    FakeCoincall.error(10565, "endpoint timeout"), FakeCoincall.error(500, "internal"),
], ids=["read timeout", "dropped", "502", "504", "not json", "10582", "10565", "500"])
def test_a_write_whose_answer_is_lost_is_outcome_unknown_and_sent_once(
        transport: Transport, coincall: FakeCoincall, sleeps: RecordingSleep,
        failure: Reply) -> None:
    coincall.script("POST", CREATE, failure, coincall.ok(1))
    with pytest.raises(OutcomeUnknown):
        transport.call(ep.PLACE_ORDER, ORDER)
    assert len(coincall.sent(CREATE)) == 1
    assert sleeps.calls == []


def test_a_write_that_could_not_connect_is_unavailable_because_nothing_was_sent(
        make_transport: Callable[..., Transport], sleeps: RecordingSleep) -> None:
    transport = make_transport(_closed_port_url())
    transport._offset_ms = 0  # no /time either: the write itself must meet the closed port
    transport._synced_at_ms = 10**15
    with pytest.raises(ExchangeUnavailable, match="could not connect") as raised:
        transport.call(ep.PLACE_ORDER, ORDER)
    assert not isinstance(raised.value, OutcomeUnknown)
    assert sleeps.calls == []


@pytest.mark.parametrize("failure", [Reply(status=429), FakeCoincall.error(10000, "later")])
def test_a_throttled_write_is_rate_limited_and_not_resent(
        transport: Transport, coincall: FakeCoincall, failure: Reply) -> None:
    coincall.script("POST", CREATE, failure)
    with pytest.raises(RateLimited):
        transport.call(ep.PLACE_ORDER, ORDER)
    assert len(coincall.sent(CREATE)) == 1


def test_a_write_refused_for_a_stale_timestamp_is_resent_once_after_resync(
        transport: Transport, coincall: FakeCoincall) -> None:
    """The exchange refused it before any effect, so sending again cannot double it."""
    coincall.always("GET", POSITIONS, coincall.ok([]))
    transport.call(ep.POSITIONS)
    coincall.clock_skew_ms = -20_000
    coincall.script("POST", CREATE, coincall.ok(77))
    assert transport.call(ep.PLACE_ORDER, ORDER) == 77
    assert [r.signature_valid for r in coincall.sent(CREATE)] == [True, True]


# -- reachability (C4) ---------------------------------------------------------------------------
def test_three_consecutive_transport_failures_make_the_exchange_unreachable(
        transport: Transport, coincall: FakeCoincall) -> None:
    """C4: unreachable after 3 consecutive failures; any answer, even a 4xx, is reachable."""
    coincall.script("GET", POSITIONS, Reply(status=502), Reply(status=502), Reply(status=502),
                    coincall.error(10004, "bad parameter"))
    assert transport.is_reachable
    with pytest.raises(ExchangeRejected):
        transport.call(ep.POSITIONS)
    assert transport.is_reachable
    assert transport.consecutive_failures == 0

    coincall.always("GET", POSITIONS, Reply(status=502))
    with pytest.raises(ExchangeUnavailable):
        transport.call(ep.POSITIONS)
    assert not transport.is_reachable
    assert transport.consecutive_failures == 4


def test_five_consecutive_failures_replace_the_http_session(
        transport: Transport, coincall: FakeCoincall,
        sessions: list[requests.Session]) -> None:
    """C4: a new HTTP session after 5 consecutive failures (a wedged pool is dropped)."""
    coincall.always("GET", POSITIONS, Reply(status=503))
    assert len(sessions) == 1
    with pytest.raises(ExchangeUnavailable):
        transport.call(ep.POSITIONS)  # 4 failures
    assert len(sessions) == 1
    coincall.script("GET", POSITIONS, Reply(status=503), Reply(body={"code": 0, "data": []}))
    transport.call(ep.POSITIONS)  # the 5th failure, then success on the new session
    assert len(sessions) == 2
    assert transport.is_reachable


# -- secrets ---------------------------------------------------------------------------------------
def test_no_error_message_or_repr_ever_contains_the_key_or_secret(
        transport: Transport, coincall: FakeCoincall,
        make_transport: Callable[..., Transport]) -> None:
    coincall.script("GET", POSITIONS, coincall.error(10560, f"invalid key {KEY} / {SECRET}"))
    coincall.script("POST", CREATE, Reply(drop=True))
    raised: list[Exception] = []
    for attempt in (lambda: transport.call(ep.POSITIONS),
                    lambda: transport.call(ep.PLACE_ORDER, ORDER),
                    lambda: make_transport(_closed_port_url()).call(ep.POSITIONS)):
        with pytest.raises(ExchangeError) as caught:
            attempt()
        raised.append(caught.value)
    for shown in [repr(transport), *(str(e) for e in raised), *(repr(e) for e in raised)]:
        assert KEY not in shown
        assert SECRET not in shown
    assert "****" in str(raised[0])
    assert all(e.__cause__ is None for e in raised)
