"""What must be read by REST this tick: planned from the decisions due now (issue 11).

Every tick used to read open orders, the index, the chains, the account and the positions,
whatever was due. The service now says what its decisions need this tick (`Demand`) and
`ReadPlanner.plan` turns that into the `MarketNeeds` the snapshot reader reads:

- chains (and the index) of a strategy only while its entry decision is due (its gates
  are open), with the account and positions that entry conditions and the store's check
  decide on;
- for trades in flight only what their decisions and executions need: the chains of their
  legs' expiries while an execution works or is about to start (a time exit due now, a
  close to resume) or while an exit rule reads prices or greeks; the index while an
  `index_move` exit watches it or the trade is opening (its fill tick records the entry index,
  lessons E7); positions while an `account_delta` exit reads them; the
  books of the symbols being worked;
- open orders every tick while orders or executions are in flight, else a slow sweep
  (`ORDERS_SWEEP_EVERY`) for orphans; when the order poll has read them this tick, its
  read is the snapshot's (one open-orders read a tick, `SnapshotReader.read(polled=)`);
- account and positions after a fill, and on a slow cadence (`ACCOUNT_EVERY`);
- the index of every configured underlying every `LIVENESS_EVERY` while no chain or
  book was read for as long: the slow liveness read that keeps the reachability and
  stale-price watches honest when nothing else is read (a chain read every tick for a
  held trade's stop proves the exchange answers). While the watch says the exchange is
  unreachable (lessons C4) the liveness read is made every tick (one index at least),
  whatever else is due: the loop ticks slower then, and a tick that read nothing could
  never see the exchange answer again, so the return is seen at the first slow tick after.

Safety: a read is "done" only when it succeeded (`note`): a failed read stays due and is
tried again next tick, so an unreachable exchange is seen within ticks, as before. Nothing
is carried over: what was not read this tick is absent from the snapshot, and the engine
skips the rules that would need it (lessons C2, C5, E1), so no decision is ever taken on
an older read. The first tick reads everything.

A fresher source (the WebSocket feed) can later subtract what it supplies from the
planned `MarketNeeds` before the reader runs.

A close decided on a tick that did not read its legs' prices (an `index_move` exit reads
only the index) is priced by a narrow second read in that tick (`chains_to_price`,
`SnapshotReader.with_chains`), so it is sent in the tick that decides it.

Chains, not per-instrument reads, price held legs: one chain read covers every leg of an
expiry, so per call it is never more than one read per leg (a strangle's two legs cost one
call, not two).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from runner.domain.commands import Event, OrderUpdated, QuoteAccepted
from runner.domain.instruments import Underlying
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeStage
from runner.engine.decide import exit_decisions
from runner.engine.expiries import held_expiries
from runner.engine.state import StrategyState
from runner.service.snapshots import MarketNeeds
from runner.strategy.model import (
    AccountDeltaExit,
    IndexMoveExit,
    LegGreekExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    ProfitTargetExit,
    StrategySpec,
    StructureDeltaExit,
)

ORDERS_SWEEP_EVERY: Final = timedelta(seconds=60)
ACCOUNT_EVERY: Final = timedelta(seconds=60)
LIVENESS_EVERY: Final = timedelta(seconds=30)

# Exit rules that decide on the legs' prices or greeks every tick.
PRICED_RULES: Final = (ProfitTargetExit, MaxLossPctExit, MaxLossUsdExit, StructureDeltaExit,
                       LegGreekExit, AccountDeltaExit)

ACCOUNT: Final = "account"
POSITIONS: Final = "positions"
OPEN_ORDERS: Final = "open orders"
MARKET: Final = "market"  # any chain or book read without failure


@dataclass(frozen=True, slots=True)
class Demand:
    """What the decisions and executions due this tick need (built by the service)."""

    underlyings: frozenset[Underlying]  # every configured underlying (liveness)
    entry_chains: frozenset[tuple[Underlying, datetime]] = frozenset()
    entry_underlyings: frozenset[Underlying] = frozenset()  # entry decisions due now
    priced_chains: frozenset[tuple[Underlying, datetime]] = frozenset()  # trades' legs
    index: frozenset[Underlying] = frozenset()  # index_move exits watching it
    books: frozenset[str] = frozenset()
    working: bool = False  # orders or executions in flight
    positions: bool = False  # a rule or the store's check decides on positions now
    filled: bool = False  # a fill was learned this tick

    @property
    def entering(self) -> bool:
        return bool(self.entry_underlyings)


@dataclass(frozen=True, slots=True)
class TradeNeeds:
    """What one trade in flight needs this tick."""

    priced: bool = False  # the chains of its legs
    index: Underlying | None = None  # an index_move exit watches it, or the trade opens (E7)
    positions: bool = False  # an account_delta exit reads the positions


def trade_needs(spec: StrategySpec | None, trade: Trade, launch: datetime,
                now: datetime) -> TradeNeeds:
    """The market one trade in flight needs now; `spec` manages it (None: not known).

    A trade is priced when it is not plainly OPEN (an execution works, or a close or an
    open is to be resumed), when its rules are unknown, when an exit rule reads prices or
    greeks, or when a time exit is due now (the close starting this tick is priced from
    this tick's chain): the exits are evaluated on a snapshot without market data, where
    the rules that need data are skipped (E1) and only the time rules can fire.
    """
    if spec is None:
        return TradeNeeds(priced=True)
    watches_prices = any(isinstance(rule, PRICED_RULES) for rule in spec.exits)
    priced = watches_prices or trade.stage is not TradeStage.OPEN or _time_exit_due(
        spec, trade, launch, now)
    watches_index = any(isinstance(rule, IndexMoveExit) for rule in spec.exits)
    # While it opens, the tick that sees its fills records the entry index (lessons E7).
    opening = trade.stage in (TradeStage.PENDING_OPEN, TradeStage.OPENING)
    return TradeNeeds(priced=priced,
                      index=spec.underlying if watches_index or opening else None,
                      positions=any(isinstance(rule, AccountDeltaExit) for rule in spec.exits))


def _time_exit_due(spec: StrategySpec, trade: Trade, launch: datetime, now: datetime) -> bool:
    state = replace(StrategyState.fresh(launch), active_trades=(trade,))
    bare = MarketSnapshot(at=now)
    return any(not close.settle_at_expiry for close in exit_decisions(spec, state, bare, now))


def legs_chains(trades: Iterable[Trade], now: datetime) -> set[tuple[Underlying, datetime]]:
    """The (underlying, expiry) chains that price the trades' legs not yet expired."""
    return held_expiries((leg.symbol for trade in trades for leg in trade.legs), now)


def chains_to_price(trade: Trade, snapshot: MarketSnapshot,
                    now: datetime) -> set[tuple[Underlying, datetime]]:
    """The chains of the legs `trade` holds that `snapshot` has no quote for: what the tick
    that decides its exit still reads (`SnapshotReader.with_chains`), so the close is
    priced and sent in that tick. An exit that reads only the index (`index_move`) is
    decided on a tick that did not read the legs' prices; without this its close would
    wait for the next tick's plan to price it."""
    return held_expiries((leg.symbol for leg in trade.legs
                          if leg.open_qty > 0 and snapshot.quote(leg.symbol) is None), now)


def learned_a_fill(events: Iterable[Event]) -> bool:
    """Whether this tick's events carry a fill (positions and margin have changed)."""
    return any(isinstance(event, QuoteAccepted)
               or (isinstance(event, OrderUpdated) and event.order.filled_qty > 0)
               for event in events)


class ReadPlanner:
    """Turns a tick's `Demand` into `MarketNeeds`, remembering when each read last succeeded."""

    def __init__(self) -> None:
        self._done: dict[str, datetime] = {}  # what -> when it was last read without failure
        self._first = True

    def plan(self, demand: Demand, now: datetime, *, reachable: bool = True) -> MarketNeeds:
        """What must be read by REST this tick (see the module doc); `reachable` is the
        watch's verdict on the exchange after the last tick."""
        if self._first:
            return self._everything(demand)
        fresh_view = demand.entering or demand.filled
        index = demand.entry_underlyings | demand.index | self._liveness(
            demand, now, reachable=reachable)
        return MarketNeeds(
            underlyings=frozenset(index),
            chains=demand.entry_chains | demand.priced_chains,
            books=demand.books,
            account=fresh_view or self._due(ACCOUNT, ACCOUNT_EVERY, now),
            positions=fresh_view or demand.positions or self._due(POSITIONS, ACCOUNT_EVERY, now),
            open_orders=demand.working or self._due(OPEN_ORDERS, ORDERS_SWEEP_EVERY, now),
        )

    def note(self, needs: MarketNeeds, snapshot: MarketSnapshot) -> None:
        """Remember the reads of `needs` that succeeded (a failed read stays due)."""
        failed = {failure.split(":", 1)[0] for failure in snapshot.failures}
        read = [f"index {u}" for u in needs.underlyings]
        read += [name for name, wanted in ((ACCOUNT, needs.account), (POSITIONS, needs.positions),
                                           (OPEN_ORDERS, needs.open_orders)) if wanted]
        for what in read:
            if what not in failed:
                self._done[what] = snapshot.at
        if snapshot.chains or snapshot.books:  # present only when read without failure
            self._done[MARKET] = snapshot.at
        self._first = False

    def _liveness(self, demand: Demand, now: datetime, *, reachable: bool) -> set[Underlying]:
        """The index reads that keep the watches honest when no market data was read
        for `LIVENESS_EVERY` (a chain or book read every tick proves as much); while the
        exchange is unreachable, at least one every tick, so its return is seen at once."""
        due = {u for u in demand.underlyings if self._due(f"index {u}", LIVENESS_EVERY, now)}
        if not reachable:
            return due or set(sorted(demand.underlyings)[:1])
        return due if self._due(MARKET, LIVENESS_EVERY, now) else set()

    def _due(self, what: str, every: timedelta, now: datetime) -> bool:
        last = self._done.get(what)
        return last is None or now - last >= every

    @staticmethod
    def _everything(demand: Demand) -> MarketNeeds:
        chains = demand.entry_chains | demand.priced_chains
        return MarketNeeds(underlyings=demand.underlyings | demand.entry_underlyings
                           | demand.index, chains=chains, books=demand.books)


def underlyings_of(specs: Iterable[StrategySpec]) -> frozenset[Underlying]:
    """Every underlying the strategies trade (their own and their legs')."""
    return frozenset(u for spec in specs
                     for u in (spec.underlying, *(leg.underlying for leg in spec.legs)))
