"""Helpers of the `runner plan` / `runner status` tests: the CLI through `runner.cli.app`,
an exchange wrapper that records every port call, and a store populated through `Store`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.commands import OrderKey, OrderPurpose, PlaceOrder
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.store.store import Store, default_store_path
from tests.cli_helpers import CliResult as CliResult
from tests.cli_helpers import RecordingExchange as RecordingExchange
from tests.cli_helpers import run_cli as run_cli

REPO = Path(__file__).resolve().parents[2]
STRATEGIES = REPO / "strategies.d"
AT = "2026-03-02T10:00:00Z"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)




def _request(symbol: str, side: Side, key: OrderKey, price: str) -> PlaceOrder:
    return PlaceOrder(key, OrderRequest(symbol=symbol, side=side, qty=Decimal("0.01"),
                                        price=Decimal(price),
                                        client_order_id=key.client_order_id))


CALL = "BTCUSD-3MAR26-90000-C"
PUT = "BTCUSD-3MAR26-84000-P"


def _legs() -> tuple[TradeLeg, ...]:
    return (TradeLeg(0, CALL, Side.BUY, Decimal("0.01")),
            TradeLeg(1, PUT, Side.BUY, Decimal("0.01")))


def populate_store(state_dir: Path, now: datetime = NOW) -> dict[str, Trade]:
    """A store with trades in several stages and live ledger intents; returns the trades."""
    clock = ManualClock(now - timedelta(hours=2))
    store = Store.open(default_store_path(state_dir), clock)
    store.note_strategy("micro_strangle")
    store.note_strategy("rfq_endurance")
    t0 = clock.now()
    closed = Trade.create("micro_strangle-1", "micro_strangle", _legs(), t0)
    closed = closed.moved_to(TradeStage.OPENING, "orders placed", t0)
    closed = closed.with_leg(closed.legs[0].with_open_fill(Decimal("0.01"), Decimal(180),
                                                           Decimal("0.26")))
    closed = closed.with_leg(closed.legs[1].with_open_fill(Decimal("0.01"), Decimal(190),
                                                           Decimal("0.26")))
    closed = closed.moved_to(TradeStage.OPEN, "every leg filled", t0 + timedelta(seconds=5))
    closed = closed.with_exit_reason("max_hold")
    closed = closed.moved_to(TradeStage.PENDING_CLOSE, "max_hold: held 10s", t0 + timedelta(
        seconds=15))
    closed = closed.moved_to(TradeStage.CLOSING, "close orders placed", t0 + timedelta(
        seconds=15))
    closed = closed.with_leg(closed.legs[0].with_close_fill(Decimal("0.01"), Decimal(200),
                                                            Decimal("0.26")))
    closed = closed.with_leg(closed.legs[1].with_close_fill(Decimal("0.01"), Decimal(160),
                                                            Decimal("0.26")))
    closed = closed.moved_to(TradeStage.CLOSED, "every leg flat", t0 + timedelta(seconds=20))
    store.save_trade(closed)

    clock.set(now - timedelta(minutes=30))
    failed = Trade.create("micro_strangle-2", "micro_strangle", _legs(), clock.now())
    failed = failed.moved_to(TradeStage.FAILED, "no fill after 10 rounds: unwound", clock.now())
    store.save_trade(failed)

    clock.set(now - timedelta(minutes=5))
    opening = Trade.create("micro_strangle-3", "micro_strangle", _legs(), clock.now())
    opening = opening.moved_to(TradeStage.OPENING, "orders placed", clock.now())
    opening = opening.with_leg(opening.legs[0].with_open_fill(Decimal("0.01"), Decimal(181)))
    store.save_trade(opening)
    for leg, side, price in ((0, Side.BUY, "185"), (1, Side.BUY, "190")):
        command = _request(opening.legs[leg].symbol, side,
                           OrderKey(opening.trade_id, leg, OrderPurpose.OPEN, "entry", 0), price)
        store.record_intent(command)
    store.mark_sent(_key(opening.trade_id, 1).client_order_id)
    store.mark_accepted(_key(opening.trade_id, 1).client_order_id, 4242)

    clock.set(now - timedelta(minutes=1))
    pending = Trade.create("rfq_endurance-1", "rfq_endurance", _legs(), clock.now(), cycle=0,
                           execution="rfq")
    store.save_trade(pending)
    store.close()
    return {t.trade_id: t for t in (closed, failed, opening, pending)}


def _key(trade_id: str, leg: int) -> OrderKey:
    return OrderKey(trade_id, leg, OrderPurpose.OPEN, "entry", 0)
