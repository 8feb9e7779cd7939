"""Shared test builders: realistic market snapshots, strategy specs and trades.

- `make_snapshot(now, ...)`: BTC (and ETH on request) chains on a Coincall-like calendar
  (dailies, Friday weeklies, monthlies, quarterlies, from the simulator's listing rules),
  strike grids that widen away from the money (the simulator's grid), Black-76 prices and
  greeks at a flat volatility (the simulator's pricing), a symmetric spread around the mark.
  Deterministic: the same arguments give the same snapshot.
- `make_quote`, `snapshot_of`: hand-made books for documented values (PnL per basis).
- `make_account`, `make_position`: account and position reads.
- `make_leg`, `make_spec(**overrides)`: StrategySpec dataclasses built directly.
- `make_trade(...)`: a trade walked through the real lifecycle to the stage asked for.

Numbers may be given as int, str or Decimal; they are converted with `to_decimal`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from runner.domain.instruments import (
    Instrument,
    OptionKind,
    Underlying,
    format_symbol,
    parse_symbol,
    to_decimal,
)
from runner.domain.orders import Side
from runner.domain.snapshot import (
    Account,
    Book,
    BookLevel,
    Chain,
    Greeks,
    MarketSnapshot,
    OptionQuote,
    Position,
)
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.sim.config import SimConfig
from runner.sim.listing import listed_expiries, strike_grid, years_between
from runner.sim.pricing import valuation_tuple
from runner.strategy.model import (
    AllOf,
    DeltaStrike,
    ExecutionPlan,
    ExpiryRule,
    LegSpec,
    LimitExecution,
    NextExpiry,
    RiskSpec,
    StrategySpec,
    StrikeRule,
    TimingSpec,
)

NOW: Final = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
SPOT: Final[Mapping[Underlying, Decimal]] = {Underlying.BTC: Decimal(87_000),
                                             Underlying.ETH: Decimal(3_000)}
VOL: Final[Mapping[Underlying, float]] = {Underlying.BTC: 0.50, Underlying.ETH: 0.65}
_SIM_CONFIG: Final = SimConfig()
_UNSET: Final = object()


# -- market ------------------------------------------------------------------------------
def _decimal(value: Any) -> Decimal:
    return to_decimal(value)


def _round_to(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (value / tick).to_integral_value(rounding=rounding) * tick


def _priced_quote(instrument: Instrument, spot: Decimal, vol: float, spread_pct: Decimal,
                  now: datetime) -> OptionQuote:
    years = years_between(now, instrument.expiry)
    price, delta, gamma, vega, theta = valuation_tuple(
        float(spot), float(instrument.strike), years, vol, instrument.kind is OptionKind.CALL)
    tick = instrument.tick_size
    mark = Decimal(repr(round(price, 2)))
    half = mark * spread_pct / 200
    bid = _round_to(mark - half, tick, ROUND_FLOOR)
    ask = max(_round_to(mark + half, tick, ROUND_CEILING), tick)
    return OptionQuote(instrument=instrument, bid=bid if bid > 0 else None,
                       bid_size=Decimal(1) if bid > 0 else Decimal(0), ask=ask,
                       ask_size=Decimal(1), mark=mark, mark_iv=vol,
                       greeks=Greeks(delta, gamma, vega, theta), underlying_price=spot, at=now)


@lru_cache(maxsize=64)
def _chain(underlying: Underlying, now: datetime, spot: Decimal, vol: float,
           spread_pct: Decimal, expiries: tuple[datetime, ...]) -> Chain:
    market = _SIM_CONFIG.underlying(underlying)
    quotes = []
    for expiry in expiries:
        for strike in strike_grid(float(spot), years_between(now, expiry), market, _SIM_CONFIG):
            for kind in OptionKind:
                instrument = Instrument(format_symbol(underlying, expiry, strike, kind),
                                        underlying, kind, strike, expiry, tick_size=market.tick)
                quotes.append(_priced_quote(instrument, spot, vol, spread_pct, now))
    return Chain.of(underlying, quotes)


def calendar(now: datetime = NOW) -> tuple[datetime, ...]:
    """The expiries a Coincall-like venue lists at `now` (08:00 UTC each), soonest first."""
    return tuple(listed_expiries(now, _SIM_CONFIG))


def make_snapshot(now: datetime = NOW, *,
                  underlyings: Sequence[Underlying] = (Underlying.BTC,),
                  spot: Mapping[Underlying, Any] | None = None,
                  index_prices: Mapping[Underlying, Any] | None = None,
                  vol: Mapping[Underlying, float] | None = None,
                  spread_pct: Any = 4,
                  expiries: Sequence[datetime] | None = None,
                  account: Account | object | None = _UNSET,
                  positions: Sequence[Position] | None = (),
                  books: Mapping[str, Book] | None = None,
                  with_listed_expiries: bool = True) -> MarketSnapshot:
    """A realistic tick: chains priced at `spot` (default 87,000 BTC / 3,000 ETH).

    `index_prices` defaults to the spot; pass `{}` for "no index price read" (C2).
    `spread_pct` is the full bid/ask spread as a % of the mark. `account=None` and
    `positions=None` model failed reads (C5).
    """
    spots = {u: _decimal(v) for u, v in (spot or SPOT).items()}
    vols = dict(vol or VOL)
    listed = tuple(expiries) if expiries is not None else calendar(now)
    spread = _decimal(spread_pct)
    chains = {u: _chain(u, now, spots[u], vols[u], spread, listed) for u in underlyings}
    indices = ({u: spots[u] for u in underlyings} if index_prices is None
               else {u: _decimal(v) for u, v in index_prices.items()})
    return MarketSnapshot(
        at=now, index_prices=indices, chains=chains, books=dict(books or {}),
        account=make_account() if account is _UNSET else account,  # type: ignore[arg-type]
        positions=None if positions is None else tuple(positions),
        listed_expiries={u: listed for u in underlyings} if with_listed_expiries else {})


def make_quote(symbol: str, *, bid: Any = None, ask: Any = None, mark: Any = None,
               delta: float | None = None, greeks: Greeks | None = None,
               at: datetime = NOW, underlying_price: Any = None) -> OptionQuote:
    """One hand-made option quote; None for an empty side or a missing mark."""
    parts = parse_symbol(symbol)
    instrument = Instrument(symbol, parts.underlying, parts.kind, parts.strike, parts.expiry)
    if greeks is None and delta is not None:
        greeks = Greeks(delta, 0.0, 0.0, 0.0)
    return OptionQuote(instrument=instrument, bid=as_decimal(bid),
                       bid_size=Decimal(1) if bid is not None else Decimal(0),
                       ask=as_decimal(ask), ask_size=Decimal(1) if ask is not None else Decimal(0),
                       mark=as_decimal(mark), mark_iv=None, greeks=greeks,
                       underlying_price=as_decimal(underlying_price), at=at)


def snapshot_of(quotes: Iterable[OptionQuote], *, now: datetime = NOW,
                index_prices: Mapping[Underlying, Any] | None = None,
                account: Account | object | None = _UNSET,
                positions: Sequence[Position] | None = (),
                books: Mapping[str, Book] | None = None) -> MarketSnapshot:
    """A snapshot holding exactly `quotes` (grouped into chains by underlying)."""
    by_underlying: dict[Underlying, list[OptionQuote]] = {}
    for quote in quotes:
        by_underlying.setdefault(quote.instrument.underlying, []).append(quote)
    indices = SPOT if index_prices is None else index_prices
    return MarketSnapshot(
        at=now, index_prices={u: _decimal(v) for u, v in indices.items()},
        chains={u: Chain.of(u, qs) for u, qs in by_underlying.items()}, books=dict(books or {}),
        account=make_account() if account is _UNSET else account,  # type: ignore[arg-type]
        positions=None if positions is None else tuple(positions))


def as_decimal(value: Any) -> Decimal | None:
    """A number as Decimal, None staying None."""
    return None if value is None else _decimal(value)


def make_book(symbol: str, *, bid: Any = None, ask: Any = None, at: datetime = NOW) -> Book:
    """A one-level book; None leaves that side empty."""
    bids = (BookLevel(_decimal(bid), Decimal(1)),) if bid is not None else ()
    asks = (BookLevel(_decimal(ask), Decimal(1)),) if ask is not None else ()
    return Book(symbol, bids, asks, at)


def make_account(equity: Any = 100_000, available: Any = 80_000, initial: Any = 20_000,
                 maintenance: Any = 10_000) -> Account:
    return Account(equity=_decimal(equity), available_margin=_decimal(available),
                   initial_margin=_decimal(initial), maintenance_margin=_decimal(maintenance))


def make_position(symbol: str, qty: Any, *, delta: float | None = None, gamma: float = 0.0,
                  vega: float = 0.0, theta: float = 0.0, avg_price: Any = 100) -> Position:
    """A position (signed qty); greeks are per position (already x size and sign)."""
    greeks = Greeks(delta, gamma, vega, theta) if delta is not None else None
    return Position(symbol=symbol, qty=_decimal(qty), avg_price=_decimal(avg_price),
                    mark_price=None, unrealized_pnl=Decimal(0), greeks=greeks)


def quote_at(snapshot: MarketSnapshot, underlying: Underlying, expiry: datetime, strike: Any,
             kind: OptionKind) -> OptionQuote:
    """The listed quote at exactly this strike (KeyError when it is not listed)."""
    symbol = format_symbol(underlying, expiry, _decimal(strike), kind)
    return snapshot.chains[underlying].quotes[symbol]


# -- strategies ----------------------------------------------------------------------------
def make_leg(kind: OptionKind | str = OptionKind.CALL, side: Side | str = Side.BUY,
             qty: Any = "0.1", strike: StrikeRule | None = None,
             expiry: ExpiryRule | None = None,
             underlying: Underlying = Underlying.BTC) -> LegSpec:
    """A leg template; default: buy 0.1 of the next-expiry option nearest 0.25 |delta|."""
    kind = OptionKind(kind)
    target = Decimal("0.25") if kind is OptionKind.CALL else Decimal("-0.25")
    return LegSpec(kind=kind, side=Side(side), qty=_decimal(qty),
                   strike=strike or DeltaStrike(target), expiry=expiry or NextExpiry(),
                   underlying=underlying)


def strangle_legs(call_delta: Any = "0.25", put_delta: Any = "-0.25", *, qty: Any = "0.1",
                  side: Side | str = Side.BUY,
                  expiry: ExpiryRule | None = None) -> tuple[LegSpec, LegSpec]:
    return (make_leg(OptionKind.CALL, side, qty, DeltaStrike(_decimal(call_delta)), expiry),
            make_leg(OptionKind.PUT, side, qty, DeltaStrike(_decimal(put_delta)), expiry))


def make_spec(**overrides: Any) -> StrategySpec:
    """A valid StrategySpec: a bought 0.25-delta strangle on the next expiry, no entry
    conditions, default timing, limit execution, no exits. `entry` may be given as a
    sequence of conditions (wrapped in AllOf)."""
    entry = overrides.pop("entry", ())
    if not isinstance(entry, AllOf):
        entry = AllOf(tuple(entry))
    limit = LimitExecution()
    base = StrategySpec(
        name="test_strategy", description="a strategy built by tests/builders.py",
        enabled=True, underlying=Underlying.BTC, source=Path("strategies.d/test_strategy.yaml"),
        legs=strangle_legs(), entry=entry, timing=TimingSpec(), schedule=None,
        execution=ExecutionPlan(open=limit, close=limit), exits=(), risk=RiskSpec())
    return replace(base, **overrides)


# -- trades --------------------------------------------------------------------------------
LegInput = TradeLeg | tuple[str, Side | str, Any, Any]  # (symbol, side, qty, entry price)

_PATH: Final[dict[TradeStage, tuple[TradeStage, ...]]] = {
    TradeStage.PENDING_OPEN: (),
    TradeStage.OPENING: (TradeStage.OPENING,),
    TradeStage.OPEN: (TradeStage.OPENING, TradeStage.OPEN),
    TradeStage.PENDING_CLOSE: (TradeStage.OPENING, TradeStage.OPEN, TradeStage.PENDING_CLOSE),
    TradeStage.CLOSING: (TradeStage.OPENING, TradeStage.OPEN, TradeStage.PENDING_CLOSE,
                         TradeStage.CLOSING),
    TradeStage.CLOSED: (TradeStage.OPENING, TradeStage.OPEN, TradeStage.PENDING_CLOSE,
                        TradeStage.CLOSING, TradeStage.CLOSED),
    TradeStage.FAILED: (TradeStage.OPENING, TradeStage.FAILED),
}


def _leg(index: int, given: LegInput) -> tuple[TradeLeg, Decimal | None]:
    if isinstance(given, TradeLeg):
        return replace(given, index=index), given.entry_price
    symbol, side, qty, price = given
    return TradeLeg(index, symbol, Side(side), _decimal(qty)), (
        None if price is None else _decimal(price))


def make_trade(legs: Sequence[LegInput], *, stage: TradeStage = TradeStage.OPEN,
               trade_id: str = "t-1", strategy: str = "test_strategy",
               created_at: datetime = NOW, opened_at: datetime | None = None,
               cycle: int | None = None, index_at_entry: Any = None,
               exit_reason: str | None = None, execution: str = "limit") -> Trade:
    """A trade walked through the real lifecycle to `stage`.

    Legs are filled at their entry price on reaching OPEN (at `opened_at`, default
    `created_at`); a CLOSED trade is closed at its entry price.
    """
    built = [_leg(i, given) for i, given in enumerate(legs)]
    trade = Trade.create(trade_id, strategy, tuple(leg for leg, _ in built), created_at,
                         cycle=cycle, execution=execution,
                         index_at_entry=None if index_at_entry is None
                         else _decimal(index_at_entry))
    opened = opened_at or created_at
    for step in _PATH[stage]:
        when = opened if step is not TradeStage.OPENING else created_at
        if step is TradeStage.OPEN:
            trade = _filled(trade, built)
        if step is TradeStage.PENDING_CLOSE:
            trade = trade.with_exit_reason(exit_reason or "test")
        if step is TradeStage.CLOSED:
            trade = _closed(trade)
            when = opened + timedelta(seconds=1)
        trade = trade.moved_to(step, f"test: {step.value}", when)
    return trade


def _filled(trade: Trade, built: list[tuple[TradeLeg, Decimal | None]]) -> Trade:
    for leg, price in built:
        if leg.filled_qty == 0:
            trade = trade.with_leg(leg.with_open_fill(leg.qty, price or Decimal(0)))
    return trade


def _closed(trade: Trade) -> Trade:
    for leg in trade.legs:
        trade = trade.with_leg(leg.with_close_fill(leg.open_qty, leg.entry_price or Decimal(0)))
    return trade
