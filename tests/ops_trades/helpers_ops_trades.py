"""Helpers of the `runner trades` tests: the CLI in process, positions on the simulated venue,
trades in the store, a fresh heartbeat, and the audit log read back."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.domain.clock import Clock, SystemClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderRequest, Side
from runner.domain.snapshot import OptionQuote
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.service.heartbeat import Heartbeat, write_heartbeat
from runner.store.store import Store, default_store_path
from tests.cli_helpers import CliResult as CliResult
from tests.cli_helpers import RecordingExchange
from tests.cli_helpers import run_cli as run_cli

KEY = "test-key-for-the-trades-loopback"
SECRET = "test-secret-for-the-trades-loopback-0123456789"


RecordingVenue = RecordingExchange  # the venue seen by the `runner trades` tests


@dataclass(frozen=True, slots=True)
class Loopback:
    venue: RecordingVenue
    server: Any  # SimServer: `server.faults = FaultPlan.of(...)` injects faults
    state_dir: Path


def liquid_quote(venue: Any, kind: OptionKind = OptionKind.CALL) -> OptionQuote:
    """A near-the-money option of the first expiry at least a day away, quoted both sides."""
    chain = venue.option_chain(Underlying.BTC)
    now = venue.server_time()
    expiry = min(q.instrument.expiry for q in chain
                 if q.instrument.expiry > now + timedelta(days=1))
    sign = 1 if kind is OptionKind.CALL else -1
    return next(q for q in chain if q.instrument.expiry == expiry and q.bid and q.ask
                and q.instrument.kind is kind and q.delta is not None
                and 0.2 < q.delta * sign < 0.6)


_client_ids = iter(range(900_000, 10**9))


def hold(venue: Any, quote: OptionQuote, side: Side, qty: str) -> None:
    """Open a position directly on the venue (as a person would by hand), at once."""
    price = (quote.ask or Decimal(0)) * 2 if side is Side.BUY else Decimal(1)
    venue.place_order(OrderRequest(quote.instrument.symbol, side, Decimal(qty), price,
                                   next(_client_ids)))


def positions(venue: Any) -> dict[str, Decimal]:
    return {p.symbol: p.qty for p in venue.positions()}


def save_open_trade(state_dir: Path, trade_id: str, legs: list[tuple[str, Side, str, str]],
                    clock: Clock | None = None, strategy: str = "micro_strangle") -> Trade:
    """An OPEN trade in the store holding (symbol, side, qty, entry price) per leg."""
    clock = clock or SystemClock()
    now = clock.now()
    trade = Trade.create(trade_id, strategy,
                         tuple(TradeLeg(i, symbol, side, Decimal(qty))
                               for i, (symbol, side, qty, _) in enumerate(legs)), now)
    trade = trade.moved_to(TradeStage.OPENING, "orders placed", now)
    for index, (_, _, qty, price) in enumerate(legs):
        trade = trade.with_leg(trade.legs[index].with_open_fill(Decimal(qty), Decimal(price)))
    trade = trade.moved_to(TradeStage.OPEN, "every leg filled", now)
    with Store.open(default_store_path(state_dir), clock) as store:
        store.save_trade(trade)
    return trade


def load_trade(state_dir: Path, trade_id: str) -> Trade | None:
    with Store.open(default_store_path(state_dir), SystemClock()) as store:
        return store.load_trade(trade_id)


def active_trades(state_dir: Path) -> list[Trade]:
    with Store.open(default_store_path(state_dir), SystemClock()) as store:
        return store.load_active_trades()


def audit(state_dir: Path) -> list[tuple[str, str, str, str]]:
    """(action, subject, outcome, detail) of every audit line, oldest first."""
    with sqlite3.connect(default_store_path(state_dir)) as connection:
        return [tuple(row) for row in connection.execute(
            "SELECT action, subject, outcome, detail FROM audit ORDER BY seq")]


def store_bytes(state_dir: Path) -> bytes:
    """The store's main file (a reader may leave WAL companions; the data is here)."""
    return default_store_path(state_dir).read_bytes()


def fresh_heartbeat(state_dir: Path) -> None:
    """What the running service writes every tick."""
    write_heartbeat(state_dir, Heartbeat(at=datetime.now(UTC), tick=42, environment="testnet",
                                         strategies=("micro_strangle",)))


def stale_heartbeat(state_dir: Path) -> None:
    write_heartbeat(state_dir, Heartbeat(at=datetime.now(UTC) - timedelta(minutes=10), tick=9,
                                         environment="testnet", strategies=()))


def saved_paper_account(state_dir: Path, *holdings: tuple[OptionKind, Side, str]) -> Any:
    """What a stopped paper service leaves in its state directory: the saved simulated
    account, holding the given positions; returns the venue as saved."""
    from runner.sim.persistence import PaperVenueSaver, open_paper_venue

    opening = open_paper_venue(state_dir, SystemClock(), seed=11)
    for kind, side, qty in holdings:
        hold(opening.venue, liquid_quote(opening.venue, kind), side, qty)
    PaperVenueSaver(opening.venue, opening.path).save()
    return opening.venue


def paper_positions(state_dir: Path) -> dict[str, Decimal]:
    """The positions of the paper account saved in `state_dir`, read back from the file."""
    from runner.sim.persistence import open_paper_venue

    return positions(open_paper_venue(state_dir, SystemClock(), seed=0).venue)
