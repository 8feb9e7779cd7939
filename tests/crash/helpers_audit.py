"""The invariants a crash or a fault must never break, checked against the venue's records.

`audit(venue, store, specs)` lists every violation, in words:
- every order on the venue with a client order id is in the store's ledger (no unknown
  order), every block trade belongs to an RFQ in the store;
- no working order on the venue belongs to a finished trade or to no trade (no orphan);
- per trade leg, what the venue executed (fills, block trades, and the settlement of
  expired positions) equals what the store credits, open and close (exactly one
  structure per intended trade, no fill lost or double counted; I2);
- no leg over-filled or over-closed (I1, I2);
- every venue position is explained by the store's trades, and only active trades hold;
- daily limits, trades per cycle kept, and a restart never begins a second schedule
  while the first one runs (A1);
- no strategy opened a trade while an older trade of it held legs from a failed close
  (FAILED holding legs, or a close that used its budget and retries: issue 7 item 8);
- per trade, the fees the store books equal the fees the venue charged for the trade's
  fills and block trades (E6: booked exactly once on every recovery path; the exercise
  fee at expiry is not booked, see runner/reconcile/settlement.py, and is not counted).
`in_flight(store, venue)` lists what is still working: nothing once every execution is
done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

from runner.domain.instruments import parse_symbol
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeStage
from runner.execution.retry import close_exhausted_at
from runner.sim.records import TRADE_TYPE_BLOCK
from runner.sim.venue import SimVenue
from runner.store.store import Store
from runner.strategy.model import CycleSchedule, StrategySpec

ZERO = Decimal(0)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Executed:
    bought: Decimal = ZERO
    sold: Decimal = ZERO

    def add(self, side: Side, qty: Decimal) -> None:
        if side is Side.BUY:
            self.bought += qty
        else:
            self.sold += qty


def _owners(venue: SimVenue, store: Store) -> tuple[dict[int, str], list[str]]:
    """Venue order id -> trade id, through the store's ledger and RFQ records."""
    problems: list[str] = []
    owner_of_order: dict[int, str] = {}
    for order in venue.order_records():
        if order.trade_type == TRADE_TYPE_BLOCK:
            continue
        row = (store.find_by_client_order_id(order.client_order_id)
               if order.client_order_id is not None else None)
        if row is None:
            problems.append(f"venue order {order.order_id} (client id {order.client_order_id},"
                            f" {order.side.value} {order.qty} {order.symbol}) is not in the"
                            " store's ledger")
            continue
        owner_of_order[order.order_id] = row.trade_id
    for trade in venue.block_trades(EPOCH):
        record = store.find_rfq(trade.request_id)
        if record is None:
            problems.append(f"block trade {trade.block_trade_id} of request {trade.request_id}"
                            " is not in the store")
            continue
        for leg in trade.legs:
            if leg.order_id is not None:
                owner_of_order[leg.order_id] = record.trade_id
    return owner_of_order, problems


def venue_executions(venue: SimVenue, store: Store) -> tuple[dict[tuple[str, str], Executed],
                                                            list[str]]:
    """What the venue executed, per (trade id, symbol), attributed through the store."""
    owner_of_order, problems = _owners(venue, store)
    executed: dict[tuple[str, str], Executed] = defaultdict(Executed)
    for record in venue.fill_records():
        fill = record.fill
        owner = owner_of_order.get(fill.order_id)
        if owner is None:
            problems.append(f"venue fill {fill.trade_id} ({fill.side.value} {fill.qty}"
                            f" {fill.symbol}) belongs to no trade in the store")
            continue
        executed[(owner, fill.symbol)].add(fill.side, fill.qty)
    _settlements(venue, store, executed)
    return executed, problems


def venue_fees(venue: SimVenue, store: Store) -> dict[str, Decimal]:
    """What the venue charged per trade id for its fills (orders and block trades)."""
    owner_of_order, _ = _owners(venue, store)
    charged: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for record in venue.fill_records():
        owner = owner_of_order.get(record.fill.order_id)
        if owner is not None:
            charged[owner] += record.fill.fee
    return dict(charged)


def exercise_fees(venue: SimVenue, store: Store) -> dict[str, Decimal]:
    """The exercise fees of settled positions, shared among trades as `_settlements` does."""
    fills_only: dict[tuple[str, str], Executed] = defaultdict(Executed)
    owner_of_order, _ = _owners(venue, store)
    for record in venue.fill_records():
        owner = owner_of_order.get(record.fill.order_id)
        if owner is not None:
            fills_only[(owner, record.fill.symbol)].add(record.fill.side, record.fill.qty)
    fees: dict[str, Decimal] = {}
    _settlements(venue, store, fills_only, fees)
    return fees


def fee_mismatches(venue: SimVenue, store: Store) -> list[str]:
    """Trades whose booked fees differ from what the venue charged them (E6).

    The exercise fee of a position settled at expiry counts when the store books it: a
    runner that does not read the exercise history misses it (runner/reconcile/settlement.py), so
    both totals, with and without it, are accepted; any other difference is a fee booked
    twice or missed."""
    charged = venue_fees(venue, store)
    exercised = exercise_fees(venue, store)
    problems = []
    for t in store.load_trades():
        fills = charged.get(t.trade_id, ZERO)
        allowed = {fills, fills + exercised.get(t.trade_id, ZERO)}
        if t.fees() not in allowed:
            problems.append(f"trade {t.trade_id} ({t.stage.value}): the store books fees"
                            f" {t.fees()}, the venue charged {fills} for fills"
                            f" (+{exercised.get(t.trade_id, ZERO)} at exercise)")
    return problems


def _settlements(venue: SimVenue, store: Store,
                 executed: dict[tuple[str, str], Executed],
                 fees: dict[str, Decimal] | None = None) -> None:
    """Positions the venue settled at expiry count as closed, trade by trade (oldest
    first), for the quantity each trade still held after its fills (G1, G2)."""
    trades = sorted(store.load_trades(), key=lambda t: t.created_at)
    for record in venue.exercise_records():
        remaining = abs(record.qty)
        for trade in trades:
            for leg in trade.legs:
                if leg.symbol != record.symbol or remaining <= 0:
                    continue
                done = executed[(trade.trade_id, leg.symbol)]
                opened, closed = (done.bought, done.sold) if leg.side is Side.BUY \
                    else (done.sold, done.bought)
                settled = min(remaining, opened - closed)
                if settled > 0:
                    done.add(leg.close_side, settled)
                    remaining -= settled
                    if fees is not None:
                        fees[trade.trade_id] = fees.get(trade.trade_id, ZERO) \
                            + record.fee * settled / abs(record.qty)


def audit(venue: SimVenue, store: Store, specs: Sequence[StrategySpec]) -> list[str]:
    """Every invariant violation between the venue and the store, in words."""
    executed, problems = venue_executions(venue, store)
    trades = store.load_trades()
    problems += _orphans(venue, store)
    problems += _fills_match(trades, executed)
    problems += _positions_explained(venue, store)
    problems += _limits_kept(trades, specs)
    problems += fee_mismatches(venue, store)
    problems += leftovers_piled_up(trades)
    return problems


def leftovers_piled_up(trades: Sequence[Trade]) -> list[str]:
    """Trades opened by a strategy while an older trade of it held legs from a failed
    close: from its failure (FAILED, or its close marked exhausted) until it was flat."""
    problems = []
    for held in trades:
        since, until = _failed_close_span(held)
        if since is None:
            continue
        newer = [t.trade_id for t in trades if t.strategy == held.strategy
                 and t.trade_id != held.trade_id and since <= t.created_at
                 and (until is None or t.created_at < until)]
        if newer:
            problems.append(f"{held.strategy}: opened {newer} while trade {held.trade_id}"
                            f" ({held.stage.value}) held legs from a failed close since {since}")
    return problems


def _failed_close_span(trade: Trade) -> tuple[datetime | None, datetime | None]:
    """From a failed close until the trade was flat. A FAILED trade that had opened, or
    still holds legs, gave up a close holding legs (the rule before issue 7): it held
    them until its legs expired, unless it holds them still."""
    exhausted = close_exhausted_at(trade)
    if exhausted is not None:
        return exhausted, trade.closed_at
    if trade.stage is TradeStage.FAILED and (trade.opened_at is not None or not trade.is_flat):
        expiry = max(parse_symbol(leg.symbol).expiry for leg in trade.legs)
        return trade.closed_at, None if not trade.is_flat else expiry
    return None, None


def _orphans(venue: SimVenue, store: Store) -> list[str]:
    problems = []
    for order in venue.open_orders():
        row = (store.find_by_client_order_id(order.client_order_id)
               if order.client_order_id is not None else None)
        if row is None:
            problems.append(f"working venue order {order.order_id} is unknown to the store")
            continue
        stage = store.trade_stage(row.trade_id)
        if stage is None or stage.is_terminal:
            problems.append(f"orphan: working order {order.order_id} ({order.symbol}) of"
                            f" trade {row.trade_id}, which is {stage}")
    return problems


def _fills_match(trades: Iterable[Trade],
                 executed: dict[tuple[str, str], Executed]) -> list[str]:
    problems = []
    known = set()
    for trade in trades:
        for leg in trade.legs:
            known.add((trade.trade_id, leg.symbol))
            done = executed.get((trade.trade_id, leg.symbol), Executed())
            opened, closed = (done.bought, done.sold) if leg.side is Side.BUY \
                else (done.sold, done.bought)
            where = f"trade {trade.trade_id} ({trade.stage.value}) leg {leg.index} {leg.symbol}"
            if opened != leg.filled_qty or closed != leg.closed_qty:
                problems.append(f"{where}: the venue executed open {opened} / close {closed},"
                                f" the store credits {leg.filled_qty} / {leg.closed_qty}")
            if leg.filled_qty > leg.qty or opened > leg.qty:
                problems.append(f"{where}: over-filled ({opened} on the venue, {leg.qty} wanted)")
            if leg.closed_qty > leg.filled_qty or closed > opened:
                problems.append(f"{where}: over-closed (venue {closed} of {opened})")
    for (trade_id, symbol), done in executed.items():
        if (trade_id, symbol) not in known:
            problems.append(f"trade {trade_id} executed {symbol} ({done}) on no leg of it")
    return problems


def _positions_explained(venue: SimVenue, store: Store) -> list[str]:
    """Venue positions equal what the store's trades hold; only active trades hold."""
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    problems = []
    for trade in store.load_trades():
        held = [leg for leg in trade.legs if leg.open_qty > 0]
        if held and trade.stage.is_terminal:
            problems.append(f"trade {trade.trade_id} is {trade.stage.value} but still holds "
                            + ", ".join(f"{leg.open_qty} {leg.symbol}" for leg in held))
        for leg in held:
            expected[leg.symbol] += leg.open_qty * leg.side.sign
    found = {p.symbol: p.qty for p in venue.positions()}
    problems += [f"position {symbol}: venue {found.get(symbol, ZERO)}, trades in the store"
                 f" {expected.get(symbol, ZERO)}"
                 for symbol in sorted(set(found) | set(expected))
                 if found.get(symbol, ZERO) != expected.get(symbol, ZERO)]
    return problems


def _limits_kept(trades: Sequence[Trade], specs: Sequence[StrategySpec]) -> list[str]:
    problems = []
    for spec in specs:
        own = [t for t in trades if t.strategy == spec.name]
        per_day: dict[object, list[Trade]] = defaultdict(list)
        for trade in own:
            per_day[trade.created_at.date()].append(trade)
        timing = spec.timing
        for day, created in sorted(per_day.items(), key=lambda item: str(item[0])):
            counted = [t for t in created if t.opened_at is not None]
            if timing.max_trades_per_day is not None and \
                    len(counted) > timing.max_trades_per_day:
                problems.append(f"{spec.name}: {len(counted)} trades on {day}, at most"
                                f" {timing.max_trades_per_day}")
            if timing.max_attempts_per_day is not None and \
                    len(created) > timing.max_attempts_per_day:
                problems.append(f"{spec.name}: {len(created)} attempts on {day}, at most"
                                f" {timing.max_attempts_per_day}")
        if isinstance(spec.schedule, CycleSchedule):
            problems += _cycles_kept(spec, own)
    return problems


def _cycles_kept(spec: StrategySpec, trades: Sequence[Trade]) -> list[str]:
    """Per cycle of the schedule in force, at most `trades_per_cycle` trades (A1)."""
    schedule = spec.schedule
    assert isinstance(schedule, CycleSchedule)
    per_cycle: dict[tuple[str, int | None], int] = defaultdict(int)
    for trade in trades:
        if trade.opened_at is not None:
            per_cycle[(launch_of(trade), trade.cycle)] += 1
    problems = [f"{spec.name}: {count} trades in cycle {cycle} of the launch {launch}, at"
                f" most {schedule.trades_per_cycle}"
                for (launch, cycle), count in sorted(per_cycle.items(), key=str)
                if count > schedule.trades_per_cycle]
    problems += _schedules_overlap(spec.name, schedule, trades)
    return problems


def _schedules_overlap(name: str, schedule: CycleSchedule, trades: Sequence[Trade]) -> list[str]:
    """A restart resumes the schedule in force; a new one may begin only after it ended."""
    problems = []
    launches = sorted({launch_of(t) for t in trades if launch_of(t) != "?"})
    for earlier, later in pairwise(launches):
        ends = schedule.windows(datetime.fromisoformat(earlier))[-1].close_at
        early = [t.trade_id for t in trades if launch_of(t) == later and t.created_at < ends]
        if early:
            problems.append(f"{name}: a restart began the schedule again while the one launched"
                            f" {earlier} ran (until {ends}): {early}")
    return problems


def launch_of(trade: Trade) -> str:
    return next((value for key, value in trade.metadata if key == "launch"), "?")


def in_flight(store: Store, venue: SimVenue) -> list[str]:
    """What is still working: nothing, once every execution has finished."""
    problems = [f"trade {t.trade_id} still {t.stage.value}" for t in store.load_active_trades()]
    problems += [f"execution of {trade_id} still saved" for trade_id in store.load_executions()]
    problems += [f"ledger order {row.client_order_id} of {row.trade_id} still {row.status.value}"
                 for row in store.live_orders()]
    problems += [f"RFQ {record.rfq_key} still {record.state.value}"
                 for record in store.active_rfqs()]
    problems += [f"venue order {o.order_id} ({o.symbol}) still working"
                 for o in venue.open_orders()]
    problems += [f"venue position {p.symbol} {p.qty}" for p in venue.positions()]
    return problems


def trades_of(store: Store, strategy: str) -> list[Trade]:
    return [t for t in store.load_trades() if t.strategy == strategy]


def stages(trades: Iterable[Trade]) -> list[str]:
    return [t.stage.value for t in trades]
