"""A strategy's state is derived again only when what it is derived from changed (issue
12: four strategies rebuilt their states from the history on every tick); the state
reused is always the one a fresh derivation gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.service.tracking import HISTORY, ExecutionBook
from runner.store.store import Store
from tests.builders import make_spec

START = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
CALL = "BTCUSD-27MAR26-90000-C"
SPEC = make_spec(name="demo")


def opened(trade_id: str, at: datetime) -> Trade:
    leg = TradeLeg(0, CALL, Side.BUY, Decimal("0.01")).with_open_fill(Decimal("0.01"),
                                                                      Decimal(100))
    trade = Trade.create(trade_id, "demo", (leg,), at).moved_to(TradeStage.OPENING, "placed", at)
    return trade.moved_to(TradeStage.OPEN, "filled", at)


def closed(trade: Trade, at: datetime) -> Trade:
    legs = tuple(leg.with_close_fill(leg.filled_qty, Decimal(90)) for leg in trade.legs)
    closing = replace(trade.moved_to(TradeStage.PENDING_CLOSE, "max_hold", at), legs=legs)
    return closing.moved_to(TradeStage.CLOSED, "closed", at)


def fresh_book(tmp_path: Path) -> ExecutionBook:
    book = ExecutionBook(Store.open(tmp_path / "runner.sqlite3", ManualClock(START)))
    book.load(START)
    return book


def state_and_fresh(book: ExecutionBook, now: datetime, check: datetime | None = None):
    return (book.strategy_state(SPEC, START, now, check),
            book._derive_state(SPEC, START, now, check))


def test_the_state_is_reused_while_nothing_it_depends_on_changed(tmp_path: Path) -> None:
    book = fresh_book(tmp_path)
    book.save(opened("t1", START), None)
    first = book.strategy_state(SPEC, START, START, None)
    assert book.strategy_state(SPEC, START, START + timedelta(seconds=30), None) is first
    assert book.strategy_state(SPEC, START, START, START) is not first  # a check was made


def test_the_reused_state_is_the_fresh_one_after_every_change(tmp_path: Path) -> None:
    book = fresh_book(tmp_path)
    now = START
    state, fresh = state_and_fresh(book, now)
    assert state == fresh
    assert state.active_trades == ()
    trade = opened("t1", now)
    book.save(trade, None)  # a new trade
    state, fresh = state_and_fresh(book, now)
    assert state == fresh
    assert state.active_trades == (trade,)
    assert state.trades_today == 1
    now += timedelta(hours=3)  # past midnight: a new UTC day counts no trade yet
    state, fresh = state_and_fresh(book, now)
    assert state == fresh
    assert state.trades_today == 0
    book.save(closed(trade, now), None)  # the trade changed: it finished
    state, fresh = state_and_fresh(book, now)
    assert state == fresh
    assert state.active_trades == ()
    now += HISTORY + timedelta(hours=1)
    state, fresh = state_and_fresh(book, now)
    assert state == fresh
    assert state.last_created_at == trade.created_at
    book.prune(now)  # forgotten: no trade left to derive a cooldown from
    state, fresh = state_and_fresh(book, now)
    assert state == fresh
    assert state.last_created_at is None
