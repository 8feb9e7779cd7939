"""Contract: the Coincall REST adapter against the simulated exchange served over loopback HTTP.

Every port method is exercised through real HTTP, Coincall's paths, envelope and
signature checks (F7), and every injected fault kind shows the adapter's behaviour:
reads retried 1/2/4 s, exchange errors raised typed, lost order answers looked up and
adopted, never a second order (D3), an accept never resent (pitfall 8), and the
exchange marked unreachable after consecutive transport failures (C4).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying, snap_price
from runner.domain.orders import OrderRequest, OrderStatus, Side
from runner.domain.rfq import RfqLeg, RfqState
from runner.domain.snapshot import OptionQuote
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.endpoints import BodyKind as AdapterBody
from runner.exchange.coincall.http import Timeouts
from runner.exchange.errors import (
    EndpointNotAvailable,
    ExchangeUnavailable,
    InsufficientFunds,
    OutcomeUnknown,
)
from runner.exchange.port import Exchange
from runner.service.settings import Secret
from runner.sim.access import KeyAccess
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from runner.sim.wire_in import BodyKind

KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="
SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
READ_TIMEOUT = 1.0  # a loaded 2-core machine once took over 0.3 s for a loopback read
HOLD = 1.3  # a held connection outlives the read timeout
_client_ids = count(500_000)

PORT_METHODS = sorted(name for name, member in vars(Exchange).items()
                      if callable(member) and not name.startswith("_"))


class RecordingSleep:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.sleep(seconds)


@pytest.fixture
def sim_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def venue(sim_clock: ManualClock) -> SimVenue:
    return SimVenue(sim_clock, seed=7)


@pytest.fixture
def plan() -> FaultPlan:
    return FaultPlan(seed=5)


@pytest.fixture
def sleeps(sim_clock: ManualClock) -> RecordingSleep:
    return RecordingSleep(sim_clock)


@pytest.fixture
def rfq_body() -> BodyKind:
    """The RFQ accept/cancel encoding the server takes: the default (JSON); RFQ tests
    parametrize it to run in the FORM world too (issue 8, "Done means")."""
    return BodyKind.JSON


BOTH_WORLDS = pytest.mark.parametrize("rfq_body", [BodyKind.JSON, BodyKind.FORM],
                                      ids=["json-world", "form-world"])


@pytest.fixture
def client(venue: SimVenue, sim_clock: ManualClock, plan: FaultPlan,
           sleeps: RecordingSleep, rfq_body: BodyKind) -> Iterator[CoincallClient]:
    with SimServer(venue, KEY, SECRET, sim_clock, plan, rfq_body=rfq_body) as server, \
            CoincallClient(base_url=server.base_url, api_key=Secret(KEY),
                           api_secret=Secret(SECRET), clock=sim_clock, sleep=sleeps,
                           timeouts=Timeouts(connect=1.0, read=READ_TIMEOUT)) as rest:
        yield rest
        assert server.throttled == 0, "the client tripped the venue's rate limits (section 7)"


def _quote(venue: SimVenue, kind: OptionKind = OptionKind.CALL) -> OptionQuote:
    expiries = sorted({q.instrument.expiry for q in venue.option_chain(Underlying.BTC)})
    quotes = [q for q in venue.option_chain(Underlying.BTC, expiries[1])
              if q.instrument.kind is kind and q.bid is not None and q.ask is not None]
    index = venue.index_price(Underlying.BTC)
    return min(quotes, key=lambda q: abs(q.instrument.strike - index))


def _resting_buy(venue: SimVenue, **overrides: object) -> OrderRequest:
    quote = _quote(venue)
    assert quote.bid is not None
    price = snap_price(quote.bid / 2, quote.instrument.tick_size)
    fields: dict[str, object] = {"symbol": quote.symbol, "side": Side.BUY, "qty": Decimal("0.1"),
                                 "price": price, "client_order_id": next(_client_ids)}
    fields.update(overrides)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def _orders_with(venue: SimVenue, client_order_id: int) -> list[object]:
    return [o for o in venue.open_orders() if o.client_order_id == client_order_id]


def _fault(plan: FaultPlan, endpoint: str, kind: FaultKind, **options: object) -> None:
    plan.add(FaultRule(endpoint=endpoint, kind=kind, **options))  # type: ignore[arg-type]


# -- every port method ------------------------------------------------------------------------
def test_the_client_implements_every_port_method_with_the_ports_signature() -> None:
    """F7: adapter contract covers every method."""
    assert len(PORT_METHODS) == 20
    for name in PORT_METHODS:
        ours = inspect.signature(getattr(CoincallClient, name))
        theirs = inspect.signature(getattr(Exchange, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        for parameter in theirs.parameters.values():
            assert ours.parameters[parameter.name].default == parameter.default, name


def test_market_data_over_rest_matches_the_venue(client: CoincallClient,
                                                 venue: SimVenue) -> None:
    assert client.server_time() == venue.server_time()
    for underlying in Underlying:
        assert ({i.symbol for i in client.instruments(underlying)}
                == {i.symbol for i in venue.instruments(underlying)})
        assert client.index_price(underlying) == venue.index_price(underlying)
    quote = _quote(venue)
    chain = {q.symbol: q for q in client.option_chain(Underlying.BTC, quote.instrument.expiry)}
    assert chain[quote.symbol].bid == quote.bid
    assert chain[quote.symbol].ask == quote.ask
    assert chain[quote.symbol].instrument.expiry == quote.instrument.expiry
    assert ({q.symbol for q in client.option_chain(Underlying.BTC)}
            == {q.symbol for q in venue.option_chain(Underlying.BTC)})
    book = client.orderbook(quote.symbol)
    assert book.best_bid == venue.orderbook(quote.symbol).best_bid


def test_the_delivery_price_over_rest_is_the_venues_settlement_price(
        client: CoincallClient, venue: SimVenue, sim_clock: ManualClock, plan: FaultPlan,
        sleeps: RecordingSleep) -> None:
    """G2: the client parses the sim's get-delivery-prices answer and matches 08:00 ms."""
    tomorrow = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert client.delivery_price(Underlying.BTC, tomorrow) is None  # not yet: no call
    today = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # settled before START (10:00)
    back_filled = venue.delivery_price(Underlying.BTC, today)  # settled before the venue
    assert back_filled is not None  # began: its history is back-filled (issue 8 finding 1)
    assert client.delivery_price(Underlying.BTC, today) == back_filled
    sim_clock.set(tomorrow + timedelta(seconds=9))
    for underlying in Underlying:
        published = venue.delivery_price(underlying, tomorrow)
        assert published is not None
        assert client.delivery_price(underlying, tomorrow) == published
    _fault(plan, "delivery_price", FaultKind.HTTP_5XX)  # cached: the venue is not asked
    assert client.delivery_price(Underlying.BTC, tomorrow) == venue.delivery_price(
        Underlying.BTC, tomorrow)
    assert plan.fired() == [0]


def test_the_exercise_history_over_rest_is_the_venues_with_the_fee_charged(
        client: CoincallClient, venue: SimVenue, sim_clock: ManualClock) -> None:
    """E6, issue 8 #12: a position held through 08:00 comes back with its exercise fee."""
    since = sim_clock.now()
    tomorrow = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    puts = [q for q in venue.option_chain(Underlying.BTC, tomorrow)
            if q.instrument.kind is OptionKind.PUT and q.ask is not None]
    index = venue.index_price(Underlying.BTC)
    itm = min((q for q in puts if q.instrument.strike > index),
              key=lambda q: q.instrument.strike)
    assert client.exercises(since) == []
    client.place_order(OrderRequest(itm.symbol, Side.SELL, Decimal("0.2"),
                                    snap_price(itm.bid / 2, itm.instrument.tick_size),  # type: ignore[operator]
                                    next(_client_ids)))
    sim_clock.set(tomorrow + timedelta(seconds=5))
    over_rest = client.exercises(since)
    assert over_rest == venue.exercises(since)
    (row,) = over_rest
    assert row.symbol == itm.symbol
    assert row.qty == Decimal("-0.2")  # short, signed from tradeSide
    assert row.fee is not None
    assert row.fee > 0


def test_an_order_lives_and_is_cancelled_over_rest(client: CoincallClient,
                                                   venue: SimVenue) -> None:
    request = _resting_buy(venue)
    order_id = client.place_order(request)
    by_id = client.get_order(order_id=order_id)
    by_client_id = client.get_order(client_order_id=request.client_order_id)
    assert by_id == by_client_id
    assert by_id is not None
    assert by_id.status is OrderStatus.NEW
    assert by_id.price == request.price
    assert [o.order_id for o in client.open_orders(Underlying.BTC)] == [order_id]
    client.cancel_order(order_id=order_id)
    cancelled = client.get_order(order_id=order_id)
    assert cancelled is not None
    assert cancelled.status is OrderStatus.CANCELED
    client.cancel_order(order_id=order_id)  # already final: not an error
    assert client.open_orders() == []
    assert client.get_order(client_order_id=1) is None


def test_a_crossing_order_fills_and_shows_in_fills_positions_and_account(
        client: CoincallClient, venue: SimVenue, sim_clock: ManualClock) -> None:
    since = sim_clock.now() - timedelta(minutes=1)
    quote = _quote(venue)
    assert quote.ask is not None
    before = client.account()
    request = _resting_buy(venue, price=quote.ask)
    order_id = client.place_order(request)
    [fill] = client.fills(since)
    assert fill.order_id == order_id
    assert fill.side is Side.BUY
    assert fill.qty == Decimal("0.1")
    [position] = client.positions()
    assert position.symbol == quote.symbol
    assert position.qty == Decimal("0.1")
    after = client.account()
    assert after == venue.account()
    assert after != before


@BOTH_WORLDS
def test_the_rfq_taker_flow_over_rest(client: CoincallClient, venue: SimVenue,
                                      sim_clock: ManualClock) -> None:
    since = sim_clock.now()
    call, put = _quote(venue, OptionKind.CALL), _quote(venue, OptionKind.PUT)
    legs = [RfqLeg(call.symbol, Side.SELL, Decimal("0.5")),
            RfqLeg(put.symbol, Side.SELL, Decimal("0.5"))]
    rfq = client.create_rfq(legs)
    assert rfq.state is RfqState.ACTIVE
    assert {(leg.symbol, leg.side) for leg in rfq.legs} == {(leg.symbol, leg.side)
                                                             for leg in legs}
    sim_clock.advance(timedelta(seconds=15))
    quotes = client.rfq_quotes(rfq.request_id)
    assert quotes
    chosen = next(q for q in quotes if q.matches_direction(tuple(legs)))
    trade = client.accept_quote(rfq.request_id, chosen.quote_id)
    assert trade.quote_id == chosen.quote_id
    assert {leg.side for leg in trade.legs} == {Side.SELL}
    assert [t.block_trade_id for t in client.block_trades(since)] == [trade.block_trade_id]
    assert venue.rfq_view(rfq.request_id).state is RfqState.FILLED
    client.cancel_rfq(rfq.request_id)  # already final: the venue does not object

    other = client.create_rfq(legs)
    client.cancel_rfq(other.request_id)
    assert venue.rfq_view(other.request_id).state is RfqState.CANCELLED
    with pytest.raises(EndpointNotAvailable):  # the default key is a taker key: HTTP 404
        client.get_rfq(other.request_id)


def test_a_maker_key_is_served_rfq_list(venue: SimVenue, sim_clock: ManualClock) -> None:
    call, put = _quote(venue, OptionKind.CALL), _quote(venue, OptionKind.PUT)
    legs = [RfqLeg(call.symbol, Side.SELL, Decimal("0.5")),
            RfqLeg(put.symbol, Side.SELL, Decimal("0.5"))]
    with SimServer(venue, KEY, SECRET, sim_clock, key_access=KeyAccess.MAKER) as server, \
            CoincallClient(base_url=server.base_url, api_key=Secret(KEY),
                           api_secret=Secret(SECRET), clock=sim_clock) as client:
        rfq = client.create_rfq(legs)
        client.cancel_rfq(rfq.request_id)
        found = client.get_rfq(rfq.request_id)
    assert found is not None
    assert found.state is RfqState.CANCELLED


# -- reads under faults: retried 1, 2, 4 s ----------------------------------------------------
@pytest.mark.parametrize(("endpoint", "kind", "options"), [
    ("positions", FaultKind.HTTP_5XX, {"status": 502}),
    ("open_orders", FaultKind.RATE_LIMIT, {"status": 429}),
    ("account", FaultKind.RATE_LIMIT, {}),
    ("get_order", FaultKind.TIMEOUT, {"seconds": HOLD}),
    ("instruments", FaultKind.DISCONNECT, {}),
    ("option_chain", FaultKind.MALFORMED, {}),
    ("fills", FaultKind.ERROR, {"code": 10000, "message": "try again later"}),
    ("delivery_price", FaultKind.HTTP_5XX, {}),
    ("exercises", FaultKind.RATE_LIMIT, {"status": 429}),
], ids=lambda value: getattr(value, "value", None) if isinstance(value, FaultKind) else None)
def test_a_faulty_read_is_retried_with_backoff_and_then_answers(
        client: CoincallClient, venue: SimVenue, plan: FaultPlan, sleeps: RecordingSleep,
        sim_clock: ManualClock, endpoint: str, kind: FaultKind,
        options: dict[str, object]) -> None:
    _fault(plan, endpoint, kind, count=2, **options)
    read = {
        "positions": client.positions,
        "open_orders": client.open_orders,
        "account": client.account,
        "get_order": lambda: client.get_order(client_order_id=42),
        "instruments": lambda: client.instruments(Underlying.BTC),
        "option_chain": lambda: client.option_chain(Underlying.BTC, _quote(venue).instrument
                                                    .expiry, fresh=True),
        "fills": lambda: client.fills(sim_clock.now() - timedelta(hours=1)),
        "delivery_price": lambda: client.delivery_price(Underlying.BTC,
                                                        datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        "exercises": lambda: client.exercises(sim_clock.now() - timedelta(days=1)),
    }[endpoint]
    read()
    assert sleeps.calls[:2] == [1.0, 2.0]
    assert plan.fired() == [2]


def test_a_read_that_keeps_failing_is_unavailable_and_the_exchange_unreachable(
        client: CoincallClient, plan: FaultPlan, sleeps: RecordingSleep) -> None:
    """C4 and C5: a failed positions read raises (never `[]`) and reachability drops."""
    _fault(plan, "positions", FaultKind.HTTP_5XX)
    with pytest.raises(ExchangeUnavailable):
        client.positions()
    assert sleeps.calls == [1.0, 2.0, 4.0]
    assert not client.is_reachable
    plan.clear()
    assert client.positions() == []
    assert client.is_reachable


def test_latency_below_the_timeout_is_just_slower(client: CoincallClient, venue: SimVenue,
                                                  plan: FaultPlan,
                                                  sleeps: RecordingSleep) -> None:
    _fault(plan, "orderbook", FaultKind.LATENCY, seconds=0.05)
    assert client.orderbook(_quote(venue).symbol).bids
    assert sleeps.calls == []


# -- writes under faults: raise, look up, never double -------------------------------------------
def test_an_exchange_error_on_a_write_is_raised_typed_and_nothing_happens(
        client: CoincallClient, venue: SimVenue, plan: FaultPlan) -> None:
    _fault(plan, "place_order", FaultKind.ERROR, code=10529, count=1)
    request = _resting_buy(venue)
    with pytest.raises(InsufficientFunds):
        client.place_order(request)
    assert _orders_with(venue, request.client_order_id) == []


@pytest.mark.parametrize(("kind", "options"), [
    (FaultKind.LOST_RESPONSE, {}),  # performed, answer dropped: adopted by lookup
    (FaultKind.MALFORMED, {}),  # performed, answer spoiled: adopted by lookup
    (FaultKind.TIMEOUT, {"seconds": HOLD}),  # not performed: resent with the same client id
    (FaultKind.DISCONNECT, {}),  # not performed: resent with the same client id
    (FaultKind.HTTP_5XX, {"status": 504}),  # not performed: resent with the same client id
], ids=lambda value: getattr(value, "value", None))
def test_a_placement_whose_answer_is_lost_ends_with_exactly_one_order(
        client: CoincallClient, venue: SimVenue, plan: FaultPlan, kind: FaultKind,
        options: dict[str, object]) -> None:
    """D3: lost create answers -> look up by client order id, adopt or resend; never two."""
    _fault(plan, "place_order", kind, count=1, **options)
    request = _resting_buy(venue)
    order_id = client.place_order(request)
    [order] = _orders_with(venue, request.client_order_id)
    assert order.order_id == order_id  # type: ignore[attr-defined]
    assert len(venue.open_orders()) == 1
    assert plan.fired() == [1]


def test_when_the_lookup_fails_too_the_outcome_stays_unknown_with_one_order_at_most(
        client: CoincallClient, venue: SimVenue, plan: FaultPlan) -> None:
    _fault(plan, "place_order", FaultKind.LOST_RESPONSE, count=1)
    _fault(plan, "get_order", FaultKind.HTTP_5XX, count=4)
    request = _resting_buy(venue)
    with pytest.raises(OutcomeUnknown):
        client.place_order(request)
    assert len(_orders_with(venue, request.client_order_id)) == 1
    found = client.get_order(client_order_id=request.client_order_id)  # the caller resolves
    assert found is not None


def test_a_lost_cancel_answer_is_resolved_and_the_order_is_cancelled(
        client: CoincallClient, venue: SimVenue, plan: FaultPlan) -> None:
    order_id = client.place_order(_resting_buy(venue))
    _fault(plan, "cancel_order", FaultKind.LOST_RESPONSE, count=1)
    client.cancel_order(order_id=order_id)
    found = venue.get_order(order_id=order_id)
    assert found is not None
    assert found.status is OrderStatus.CANCELED


@BOTH_WORLDS
@pytest.mark.parametrize("kind", [FaultKind.LOST_RESPONSE, FaultKind.MALFORMED])
def test_an_accept_whose_answer_is_lost_is_never_resent_and_block_trades_resolve_it(
        client: CoincallClient, venue: SimVenue, plan: FaultPlan, sim_clock: ManualClock,
        kind: FaultKind) -> None:
    """Pitfall 8: accept is not idempotent; OutcomeUnknown, then look it up. The encoding
    the venue takes is known (learnt by an earlier cancel, as a running service would)."""
    since = sim_clock.now()
    call, put = _quote(venue, OptionKind.CALL), _quote(venue, OptionKind.PUT)
    legs = (RfqLeg(call.symbol, Side.BUY, Decimal("0.5")),
            RfqLeg(put.symbol, Side.BUY, Decimal("0.5")))
    client.cancel_rfq(client.create_rfq(legs).request_id)
    rfq = client.create_rfq(legs)
    sim_clock.advance(timedelta(seconds=15))
    chosen = next(q for q in client.rfq_quotes(rfq.request_id) if q.matches_direction(legs))
    _fault(plan, "accept_quote", kind, count=1)
    with pytest.raises(OutcomeUnknown):
        client.accept_quote(rfq.request_id, chosen.quote_id)
    [trade] = client.block_trades(since)
    assert trade.quote_id == chosen.quote_id
    assert len(venue.block_trades(since)) == 1
    assert plan.fired() == [1]


@pytest.mark.parametrize("rfq_body", [BodyKind.FORM], ids=["form-world"])
def test_a_lost_answer_to_a_first_accept_in_the_wrong_encoding_is_unknown_and_nothing_traded(
        client: CoincallClient, venue: SimVenue, plan: FaultPlan,
        sim_clock: ManualClock) -> None:
    """The adapter starts with JSON; the FORM venue refuses it (10004) but that answer is
    lost. The outcome is unknown, so nothing is retried in the other encoding and nothing
    is learnt; the block trades show no trade, and the quote is still there to take."""
    since = sim_clock.now()
    call, put = _quote(venue, OptionKind.CALL), _quote(venue, OptionKind.PUT)
    legs = (RfqLeg(call.symbol, Side.BUY, Decimal("0.5")),
            RfqLeg(put.symbol, Side.BUY, Decimal("0.5")))
    rfq = client.create_rfq(legs)
    sim_clock.advance(timedelta(seconds=15))
    chosen = next(q for q in client.rfq_quotes(rfq.request_id) if q.matches_direction(legs))
    _fault(plan, "accept_quote", FaultKind.LOST_RESPONSE, count=1)
    with pytest.raises(OutcomeUnknown):
        client.accept_quote(rfq.request_id, chosen.quote_id)
    assert client.block_trades(since) == []
    assert venue.rfq_view(rfq.request_id).state is RfqState.ACTIVE
    assert client.rfq_body is AdapterBody.JSON
    trade = client.accept_quote(rfq.request_id, chosen.quote_id)  # 10004, then FORM
    assert trade.quote_id == chosen.quote_id
    assert client.rfq_body is AdapterBody.FORM


# -- reconciliation on real-shaped payloads (D1) -------------------------------------------------
def test_d1_our_order_in_the_wire_open_orders_reconciles_with_zero_warnings(
        client: CoincallClient, venue: SimVenue, sim_clock: ManualClock, tmp_path) -> None:
    """D1: live, reconciliation looked for `orderId` where the normalized list said
    `order_id`, and warned every 60 s. Here the open-orders answer is the wire's own
    (served over HTTP, parsed by the adapter into the one `Order` model): our working
    order is recognised by its client order id, with no warning, no orphan, nothing
    foreign and nothing cancelled."""
    from runner.dispatch import Dispatcher
    from runner.domain.commands import OrderAccepted
    from runner.domain.ledger import LedgerStatus
    from runner.domain.trades import TradeLeg, TradeStage
    from runner.reconcile import reconcile
    from tests.store.helpers_store import make_trade, open_fresh, place

    store = open_fresh(tmp_path, sim_clock)
    resting = _resting_buy(venue)
    trade = make_trade("t1", legs=(TradeLeg(0, resting.symbol, Side.BUY, resting.qty),),
                       at=sim_clock.now())
    store.save_trade(trade.moved_to(TradeStage.OPENING, "orders placed", sim_clock.now()))
    command = place(symbol=resting.symbol, qty=str(resting.qty), price=str(resting.price))
    assert [type(e) for e in Dispatcher(client, store, sim_clock).execute([command])] == [
        OrderAccepted]
    report = reconcile(store, client, sim_clock)
    assert report.complete
    assert not report.needs_attention, report.lines
    assert (report.foreign_orders, report.cancelled, report.discrepancies) == ((), (), ())
    row = store.find_by_client_order_id(command.request.client_order_id)
    assert row is not None
    assert row.status is LedgerStatus.ACCEPTED
    assert len(_orders_with(venue, command.request.client_order_id)) == 1
    store.close()
