"""The running service's live numbers, as of one tick: what `runner status` and the narrator show.

`runner status` reads the store, which holds no marks, greeks or account figures, and it
never calls the exchange. So the service builds this view after every tick from what the
tick already read (`Service.last_snapshot`) and what the store holds, and writes it into
the heartbeat it rewrites every tick anyway (`Heartbeat.view`); status reads it back and
says how old it is. The narrator (`runner.service.narrator`) talks from the same view.

What it holds:
- per strategy: enabled, paused, trades and attempts today against their daily limits,
  and the entry window (open now, or the next one);
- per active trade: each leg's held quantity, entry price and mark, the leg's greeks
  (chain greek per 1-coin contract x signed open quantity, as `runner.engine.exposure`
  decides on them), the structure's greeks summed over the legs, unrealized PnL on the
  mark and realized PnL and fees so far, in USD;
- the account: equity, available, initial and maintenance margin (USD), margin used (%).

Invariants: a number that was not read is None, never zero (lessons C5, E1): a leg
without a mark leaves its trade's unrealized PnL unknown, a leg without chain greeks
leaves the structure's greeks unknown.

Last read, with its time: a tick reads only what its decisions need (`read_plan`: the
account and positions after a fill, on entry ticks and at least every 60 s, chains when
due), so most ticks read no account and no mark. `LastReads` (kept by the narrator, which
sees every view) fills what this tick did not read with the last figure read, and every
figure carries the time it was read (`account_at`, `mark_at`, `greeks_at`; "..._as_of" in
the JSON), so the trader reads "as of 10:04:12 UTC, 40 s ago", never a number passed off
as current. A figure older than `LAST_READ_MAX_AGE` (5 minutes: five missed 60 s account
reads, the exchange is not answering) is dropped and shown unknown. Nothing here reads
more: the engine still decides only on what its own tick read.

Money is in USD (option prices are quoted in USD per coin); greeks carry their units in
the JSON keys' documentation below and in the text.
`build_view` is pure; `gather` is the thin edge that reads the service and the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from runner.domain.snapshot import Account, MarketSnapshot
from runner.domain.trades import Trade, TradeLeg
from runner.strategy.model import CycleSchedule, StrategySpec

GREEKS: Final = ("delta", "gamma", "theta", "vega")
# Units of the summed greeks (coincall-api.md section 4: per 1-coin contract):
# delta in coins of the underlying, gamma in coins per 1 USD move, theta in USD per day,
# vega in USD per 1 vol point.
GREEK_UNITS: Final = {"delta": "coin", "gamma": "coin per USD", "theta": "USD per day",
                      "vega": "USD per vol point"}
_ZERO: Final = Decimal(0)
LAST_READ_MAX_AGE: Final = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class LegView:
    symbol: str
    side: str
    open_qty: Decimal
    entry_price: Decimal | None
    mark: Decimal | None  # USD per coin
    greeks: dict[str, float] | None  # for the held quantity, signed by the side
    mark_at: datetime | None = None  # when the mark was read
    greeks_at: datetime | None = None  # when the chain that gave the greeks was read

    @property
    def unrealized_usd(self) -> Decimal | None:
        if self.open_qty == 0:
            return _ZERO
        if self.mark is None or self.entry_price is None:
            return None
        sign = 1 if self.side == "buy" else -1
        return sign * (self.mark - self.entry_price) * self.open_qty


@dataclass(frozen=True, slots=True)
class TradeView:
    trade_id: str
    strategy: str
    stage: str
    legs: tuple[LegView, ...]
    realized_usd: Decimal  # gross, on the quantity closed so far
    fees_usd: Decimal

    @property
    def unrealized_usd(self) -> Decimal | None:
        values = [leg.unrealized_usd for leg in self.legs]
        return None if any(v is None for v in values) else sum(values, _ZERO)  # type: ignore[misc]

    @property
    def greeks(self) -> dict[str, float] | None:
        if any(leg.greeks is None for leg in self.legs):
            return None
        return {name: sum(leg.greeks[name] for leg in self.legs if leg.greeks)
                for name in GREEKS}

    @property
    def priced_at(self) -> datetime | None:
        """When the oldest mark of a held leg was read (None: no held leg has a mark)."""
        return _oldest(leg.mark_at for leg in self.legs if leg.open_qty != 0)

    @property
    def greeks_at(self) -> datetime | None:
        """When the oldest greeks of a held leg were read."""
        return _oldest(leg.greeks_at for leg in self.legs if leg.open_qty != 0)


@dataclass(frozen=True, slots=True)
class StrategyView:
    name: str
    enabled: bool
    paused: bool
    trades_today: int
    attempts_today: int
    max_trades_per_day: int | None
    max_attempts_per_day: int | None
    window: dict[str, Any] | None  # next_window's answer

    @property
    def limit_reached(self) -> bool:
        limit = self.max_trades_per_day
        return limit is not None and self.trades_today >= limit


@dataclass(frozen=True, slots=True)
class TickView:
    at: datetime
    account: Account | None
    strategies: tuple[StrategyView, ...]
    trades: tuple[TradeView, ...]
    account_at: datetime | None = None  # when the account was read

    @property
    def unrealized_usd(self) -> Decimal | None:
        values = [trade.unrealized_usd for trade in self.trades]
        return None if any(v is None for v in values) else sum(values, _ZERO)  # type: ignore[misc]

    @property
    def priced_at(self) -> datetime | None:
        """When the oldest mark of the open trades was read."""
        return _oldest(trade.priced_at for trade in self.trades)

    @property
    def trades_today(self) -> int:
        return sum(s.trades_today for s in self.strategies)

    @property
    def paused(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.strategies if s.paused)

    def to_json(self) -> dict[str, Any]:
        """The JSON the heartbeat carries (`view`); Decimals as text, None as null."""
        return {
            "at": self.at.isoformat(),
            "account": _account_json(self.account, self.account_at),
            "strategies": [_strategy_json(s) for s in self.strategies],
            "trades": [_trade_json(t) for t in self.trades],
            "totals": {"open_trades": len(self.trades), "trades_today": self.trades_today,
                       "unrealized_pnl_usd": _text(self.unrealized_usd),
                       "marks_as_of": _iso(self.priced_at),
                       "realized_pnl_open_trades_usd": _text(
                           sum((t.realized_usd for t in self.trades), _ZERO)),
                       "greeks": _total_greeks(self.trades)},
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _oldest(times: Iterable[datetime | None]) -> datetime | None:
    known = [at for at in times if at is not None]
    return min(known) if known else None


def _account_json(account: Account | None, at: datetime | None) -> dict[str, Any] | None:
    if account is None:
        return None
    used = account.margin_utilisation_pct
    return {"as_of": _iso(at), "equity_usd": str(account.equity),
            "available_margin_usd": str(account.available_margin),
            "initial_margin_usd": str(account.initial_margin),
            "maintenance_margin_usd": str(account.maintenance_margin),
            "margin_used_pct": None if used is None else f"{used:.2f}"}


def _strategy_json(view: StrategyView) -> dict[str, Any]:
    return {"name": view.name, "enabled": view.enabled, "paused": view.paused,
            "trades_today": view.trades_today, "max_trades_per_day": view.max_trades_per_day,
            "attempts_today": view.attempts_today,
            "max_attempts_per_day": view.max_attempts_per_day,
            "limit_reached": view.limit_reached, "window": view.window}


def _trade_json(view: TradeView) -> dict[str, Any]:
    return {"trade_id": view.trade_id, "strategy": view.strategy, "stage": view.stage,
            "unrealized_pnl_usd": _text(view.unrealized_usd),
            "marks_as_of": _iso(view.priced_at),
            "realized_pnl_usd": str(view.realized_usd), "fees_usd": str(view.fees_usd),
            "greeks": view.greeks, "greeks_as_of": _iso(view.greeks_at),
            "legs": [{"symbol": leg.symbol, "side": leg.side, "open_qty": str(leg.open_qty),
                      "entry_price_usd": _text(leg.entry_price), "mark_usd": _text(leg.mark),
                      "mark_as_of": _iso(leg.mark_at),
                      "unrealized_pnl_usd": _text(leg.unrealized_usd), "greeks": leg.greeks,
                      "greeks_as_of": _iso(leg.greeks_at)}
                     for leg in view.legs]}


def _total_greeks(trades: Sequence[TradeView]) -> dict[str, float] | None:
    each = [trade.greeks for trade in trades]
    if any(g is None for g in each):
        return None
    return {name: sum(g[name] for g in each if g) for name in GREEKS}


def leg_view(leg: TradeLeg, snapshot: MarketSnapshot | None) -> LegView:
    """One leg as the tick saw it: the chain's mark (else the position's), chain greeks."""
    quote = snapshot.quote(leg.symbol) if snapshot is not None else None
    mark = quote.mark if quote is not None else None
    if mark is None and snapshot is not None and snapshot.positions:
        mark = next((p.mark_price for p in snapshot.positions if p.symbol == leg.symbol), None)
    greeks, greeks_at = None, None
    if leg.open_qty == 0:
        greeks = dict.fromkeys(GREEKS, 0.0)
    elif quote is not None and quote.greeks is not None and snapshot is not None:
        signed = float(leg.open_qty) * leg.side.sign
        greeks = {name: float(getattr(quote.greeks, name)) * signed for name in GREEKS}
        greeks_at = snapshot.at
    mark_at = snapshot.at if mark is not None and snapshot is not None else None
    return LegView(leg.symbol, leg.side.value, leg.open_qty, leg.entry_price, mark, greeks,
                   mark_at, greeks_at)


def trade_view(trade: Trade, snapshot: MarketSnapshot | None) -> TradeView:
    return TradeView(trade.trade_id, trade.strategy, trade.stage.value,
                     tuple(leg_view(leg, snapshot) for leg in trade.legs),
                     trade.realized_pnl(), trade.fees())


def build_view(now: datetime, specs: Iterable[StrategySpec], trades: Iterable[Trade],
               snapshot: MarketSnapshot | None, *, paused: Iterable[str],
               counts: Mapping[str, tuple[int, int]],
               windows: Mapping[str, dict[str, Any]]) -> TickView:
    """The view of one tick. `counts` is strategy -> (trades, attempts) today; `paused`
    names the paused strategies ("*": all); `windows` is strategy -> its entry window."""
    held = set(paused)
    strategies = tuple(
        StrategyView(spec.name, spec.enabled, "*" in held or spec.name in held,
                     *counts.get(spec.name, (0, 0)), spec.timing.max_trades_per_day,
                     spec.timing.max_attempts_per_day, windows.get(spec.name))
        for spec in specs)
    account = snapshot.account if snapshot is not None else None
    return TickView(now, account, strategies,
                    tuple(trade_view(trade, snapshot) for trade in trades),
                    snapshot.at if account is not None and snapshot is not None else None)


class LastReads:
    """The last account, marks and greeks read, with when: fills a view's gaps (module doc).

    Marks are kept per symbol (a price per coin), greeks per trade, symbol and held
    quantity (they are scaled by it: a partial close makes the old ones wrong). Anything
    older than `max_age` at the view's time is forgotten and stays unknown.
    """

    def __init__(self, max_age: timedelta = LAST_READ_MAX_AGE) -> None:
        self._max_age = max_age
        self._account: tuple[Account, datetime] | None = None
        self._marks: dict[str, tuple[Decimal, datetime]] = {}
        self._greeks: dict[tuple[str, str, Decimal], tuple[dict[str, float], datetime]] = {}

    def fill(self, view: TickView) -> TickView:
        """Remember what `view` read, then fill what it did not read with what is remembered."""
        self._learn(view)
        self._forget_older_than(view.at - self._max_age)
        account, account_at = view.account, view.account_at
        if account is None and self._account is not None:
            account, account_at = self._account
        trades = tuple(replace(t, legs=tuple(self._fill_leg(t.trade_id, leg) for leg in t.legs))
                       for t in view.trades)
        return replace(view, account=account, account_at=account_at, trades=trades)

    def _learn(self, view: TickView) -> None:
        if view.account is not None and view.account_at is not None:
            self._account = (view.account, view.account_at)
        for trade in view.trades:
            for leg in trade.legs:
                if leg.mark is not None and leg.mark_at is not None:
                    self._marks[leg.symbol] = (leg.mark, leg.mark_at)
                if leg.greeks is not None and leg.greeks_at is not None:
                    key = (trade.trade_id, leg.symbol, leg.open_qty)
                    self._greeks[key] = (leg.greeks, leg.greeks_at)

    def _forget_older_than(self, oldest: datetime) -> None:
        if self._account is not None and self._account[1] < oldest:
            self._account = None
        self._marks = {k: v for k, v in self._marks.items() if v[1] >= oldest}
        self._greeks = {k: v for k, v in self._greeks.items() if v[1] >= oldest}

    def _fill_leg(self, trade_id: str, leg: LegView) -> LegView:
        if leg.mark is None and leg.symbol in self._marks:
            mark, mark_at = self._marks[leg.symbol]
            leg = replace(leg, mark=mark, mark_at=mark_at)
        known = self._greeks.get((trade_id, leg.symbol, leg.open_qty))
        if leg.greeks is None and known is not None:
            leg = replace(leg, greeks=known[0], greeks_at=known[1])
        return leg


def gather(service: Any, store: Any, now: datetime) -> TickView:
    """Read what the view needs from the service (its last snapshot, its strategies) and
    the store (active trades, today's counts, pauses), after a tick."""
    from runner.store.control_store import paused

    connection = store.connection
    windows = {spec.name: next_window(spec, service.launch_for(spec, now), now)
               for spec in service.all_specs}
    counts = {spec.name: (store.trades_created_on(spec.name, now.date()),
                          store.attempts_on(spec.name, now.date()))
              for spec in service.all_specs}
    return build_view(now, service.all_specs, store.load_active_trades(),
                      service.last_snapshot, paused=paused(connection), counts=counts,
                      windows=windows)


def next_window(spec: StrategySpec, launch: datetime | None, now: datetime) -> dict[str, Any]:
    """The entry window open now, or the next one, of a strategy counted from `launch`
    (also `runner status` with --strategies files)."""
    from runner.engine.windows import next_cycle, open_cycle

    base: dict[str, Any] = {"strategy": spec.name, "enabled": spec.enabled}
    schedule = spec.schedule
    if schedule is None:
        return {**base, "schedule": None, "next": "no schedule: entry is checked every "
                f"{spec.timing.check_interval} when the gates and conditions pass"}
    kind = "cycles" if isinstance(schedule, CycleSchedule) else "daily"
    if kind == "cycles" and launch is None:
        return {**base, "schedule": kind, "next": "no run recorded: cycles start at launch"}
    origin = launch or now
    window = open_cycle(schedule, origin, now) or next_cycle(schedule, origin, now)
    if window is None:
        return {**base, "schedule": kind, "launch": origin.isoformat(),
                "next": "every cycle of this run has passed"}
    return {**base, "schedule": kind, "launch": origin.isoformat() if launch else None,
            "cycle": window.index, "open_start": window.open_start.isoformat(),
            "open_end": window.open_end.isoformat(), "close_at": window.close_at.isoformat(),
            "open_now": window.is_open(now)}
