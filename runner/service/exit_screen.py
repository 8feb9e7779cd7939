"""A cheap, sound screen in front of the exit probe: may any exit fire at this check?

Most checks of a held trade's market exits fire nothing: over a year they are most of a
simulation's steps, and an exact probe (chain rows, a snapshot, the engine's Decimal
PnL) at each was most of the year's cost (issue 12). The screen reads the same figures
from the simulated venue as plain numbers (sim/exit_figures.py: the chain row's mark,
bid and ask as whole cents and ticks, its float greeks, the float index) and evaluates
what each rule compares, in floats, against a threshold moved towards firing by a
margin far wider than float rounding (and the index's rounding to cents). Only when
that says no rule can fire is the exact probe skipped; otherwise the probe runs the
engine's own rules (engine/exits.py), which decide. So a screen can make a check cost
more work, never a different decision.

What it mirrors of the rules (exit_verdicts.py), and what it leaves to the exact probe:
- PnL rules (profit_target, max_loss in % or USD) on every basis: a leg's price per
  basis exactly (whole cents compare exactly), the sum in floats with the margin; a leg
  without a price on the basis, or a held leg without an entry price, skips the rule
  (as in the engine); an entry cost of zero skips a percentage.
- structure_delta_limit, leg_greek_limit: the chain greek x held coins x sign, the same
  float arithmetic as the engine, with a margin all the same.
- index_move: the float index, with a cent's margin for its rounding.
- Rules of the clock, and a leg at its expiry (settlement): their moments are exact, so
  any check at or after one is probed.
- Anything else (a rule it does not know, a leg it has no figures for, a tick that is
  not a whole number of cents): probed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from runner.domain.instruments import Underlying
from runner.domain.trades import Trade, TradeStage
from runner.engine.decide import SETTLEABLE_STAGES
from runner.engine.exit_verdicts import MOMENTS, nearest_expiry
from runner.engine.exits import exit_moments
from runner.engine.figures import trade_figures
from runner.engine.state import StrategyState
from runner.service.exit_stretch import Bounds, BoxScreen, Ranges, box_screen, none_may_fire
from runner.sim.quotes import QuoteFigures
from runner.strategy.model import (
    Direction,
    ExitRule,
    IndexMoveExit,
    LegGreekExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    PriceBasis,
    ProfitTargetExit,
    StrategySpec,
    StructureDeltaExit,
)

Views = Sequence[tuple[StrategySpec, StrategyState]]
Figures = dict[str, QuoteFigures]
Indices = dict[Underlying, float]

# Relative margin on every float comparison: float rounding of these sums is ~1e-15 of
# their terms, the engine's Decimal rounding ~1e-27; a check this close is probed.
_RELATIVE = 1e-9
_INDEX_ROUNDING = 0.01  # the index a rule reads is rounded to cents (<= 0.005 off)
_OPEN = TradeStage.OPEN
_CLOCK_RULES = frozenset(MOMENTS)  # rules of the clock: their moments are exact
_MAX_CACHED = 256  # plans of the trades held at once; more would grow over a year
_MAX_LOOKS = 64


@runtime_checkable
class ExitFigureSource(Protocol):
    """A venue that gives the figures the exit rules read as plain numbers (SimVenue)."""

    def exit_figures(self, symbols: Iterable[str], underlyings: Iterable[Underlying]
                     ) -> tuple[Figures, Indices]:
        ...

    def exit_bounds(self, symbols: Iterable[str], underlyings: Iterable[Underlying],
                    moments: Sequence[datetime]) -> tuple[Bounds, Ranges] | None:
        ...


class _Probe(Exception):
    """The screen cannot rule this check out: the exact probe decides."""


class _TradePlan:
    """What the screen reads of one held trade, worked out once per trade object."""

    __slots__ = ("first", "greeks", "index_entry", "legs", "market", "pct_cost", "trade")

    def __init__(self, spec: StrategySpec, trade: Trade, launch: datetime) -> None:
        self.trade = trade
        figures = trade_figures(trade)
        settles = trade.stage in SETTLEABLE_STAGES
        moments = [nearest_expiry(trade)] if settles else []  # a leg expires: settle
        self.market = trade.stage is _OPEN
        if self.market:
            moments.extend(exit_moments(spec, trade, launch))
        # the first moment something of the clock decides for the trade: probed from then
        self.first = min((m for m in moments if m is not None), default=None)
        held = [leg for leg in figures.legs if not leg.flat]
        # held legs (symbol, sign, coins, entry in cents); None: a PnL rule is skipped
        self.legs: tuple[tuple[str, int, float, float], ...] | None = None
        if all(leg.entry is not None for leg in held):
            self.legs = tuple((leg.symbol, leg.sign, float(leg.held), float(leg.entry) * 100)
                              for leg in held if leg.entry is not None)
        cost = figures.entry_cost
        self.pct_cost = abs(float(cost)) * 100 if cost != 0 else None  # in cents
        # every leg (symbol or None when flat, held coins x sign) for the greek rules
        self.greeks = tuple((None if leg.flat else leg.symbol, leg.held_coins * leg.sign)
                            for leg in figures.legs)
        entry = trade.index_at_entry
        self.index_entry = float(entry) if entry is not None and entry > 0 else None


Screen = Callable[[_TradePlan, Figures, Indices], bool]


class _Look:
    """What the screen reads for a set of views: the first moment of the clock among
    their trades, the symbols and indices to read, each market trade with its screens."""

    __slots__ = ("always", "boxes", "first", "screened", "symbols", "watched")

    def __init__(self) -> None:
        self.always = False  # a rule without a screen: every check is probed
        self.first: datetime | None = None
        self.screened: list[tuple[tuple[Screen, ...], _TradePlan]] = []
        self.boxes: list[tuple[tuple[BoxScreen | None, ...], _TradePlan]] = []
        self.symbols: tuple[str, ...] = ()
        self.watched: tuple[Underlying, ...] = ()


class ExitScreen:
    """Says whether any exit of these views' held trades may fire at a check."""

    def __init__(self, source: ExitFigureSource) -> None:
        self._source = source
        self._plans: dict[int, tuple[Trade, tuple[ExitRule, ...], _TradePlan]] = {}
        self._looks: dict[tuple[int, ...], tuple[Views, _Look]] = {}
        self._screens: dict[int, tuple[tuple[ExitRule, ...], Underlying,
                                       tuple[Screen, ...] | None,
                                       tuple[BoxScreen | None, ...]]] = {}

    def may_fire(self, views: Views, at: datetime) -> bool:
        """False only when no exit of these views can fire at `at` (the venue's clock
        must already read `at`). Reads the venue in any case, as the exact probe does."""
        look = self._look(views)
        if look.always or (look.first is not None and at >= look.first):
            return True  # the exact probe reads the venue
        figures, indices = self._source.exit_figures(look.symbols, look.watched)
        try:
            for screens, plan in look.screened:
                for screen in screens:
                    if screen(plan, figures, indices):
                        return True
        except _Probe:
            return True
        return False

    def none_fire_within(self, views: Views, moments: Sequence[datetime]) -> bool:
        """True only when no exit of these views can fire at any of these future moments
        (ascending): bounded over the whole stretch at once (exit_stretch.py), which
        holds only while the venue would do nothing before the last of them."""
        look = self._look(views)
        if look.always or (look.first is not None and moments[-1] >= look.first):
            return False
        found = self._source.exit_bounds(look.symbols, look.watched, moments)
        return found is not None and none_may_fire(look.boxes, *found)

    def _look(self, views: Views) -> _Look:
        """What the screen looks at for these views, worked out once for the same views
        (a stepping asks about the same views at every check up to its next moment)."""
        key = tuple(id(view) for view in views)
        found = self._looks.get(key)
        if found is None or any(a is not b for a, b in zip(found[0], views, strict=True)):
            if len(self._looks) >= _MAX_LOOKS:
                self._looks.clear()
            found = self._looks[key] = (tuple(views), self._new_look(views))
        return found[1]

    def _new_look(self, views: Views) -> _Look:
        look = _Look()
        symbols: set[str] = set()
        watched: set[Underlying] = set()
        firsts = []
        for spec, state in views:
            screens, boxes = self._spec_screens(spec)
            for trade in state.active_trades:
                plan = self._plan(spec, trade, state.launch)
                if plan.first is not None:
                    firsts.append(plan.first)
                if not plan.market:
                    continue
                if screens is None:
                    look.always = True
                look.screened.append((screens or (), plan))
                look.boxes.append((boxes, plan))
                symbols.update(symbol for symbol, _ in plan.greeks if symbol is not None)
                if any(isinstance(rule, IndexMoveExit) for rule in spec.exits):
                    watched.add(spec.underlying)
        look.first = min(firsts, default=None)
        look.symbols, look.watched = tuple(sorted(symbols)), tuple(sorted(watched))
        return look

    def _plan(self, spec: StrategySpec, trade: Trade, launch: datetime) -> _TradePlan:
        found = self._plans.get(id(trade))
        if found is None or found[0] is not trade or found[1] is not spec.exits:
            if len(self._plans) >= _MAX_CACHED:
                self._plans.clear()
            found = self._plans[id(trade)] = (trade, spec.exits,
                                              _TradePlan(spec, trade, launch))
        return found[2]

    def _spec_screens(self, spec: StrategySpec
                      ) -> tuple[tuple[Screen, ...] | None, tuple[BoxScreen | None, ...]]:
        """One screen per market rule (None when a rule cannot be screened), and one box
        screen per market rule (None for a rule that cannot be bounded)."""
        rules, underlying = spec.exits, spec.underlying
        found = self._screens.get(id(rules))
        if found is None or found[0] is not rules or found[1] is not underlying:
            if len(self._screens) >= _MAX_CACHED:
                self._screens.clear()
            market = [rule for rule in rules if type(rule) not in _CLOCK_RULES]
            made = [_screen(rule, underlying) for rule in market]
            screens = None if any(s is None for s in made) else tuple(
                s for s in made if s is not None)
            boxes = tuple(box_screen(rule, underlying) for rule in market)
            found = self._screens[id(rules)] = (rules, underlying, screens, boxes)
        return found[2], found[3]


# -- prices and PnL, in cents (exact: they compare as the engine's Decimals) ----------
def _mark(quote: QuoteFigures, _sign: int) -> float | None:
    return quote.mark


def _mid(quote: QuoteFigures, _sign: int) -> float | None:
    bid, ask = quote.bid, quote.ask
    return (bid + ask) / 2 if bid is not None and ask is not None else None


def _fair(quote: QuoteFigures, _sign: int) -> float | None:
    bid, ask, mark = quote.bid, quote.ask, quote.mark
    if bid is not None and ask is not None:
        return mark if bid <= mark <= ask else (bid + ask) / 2
    if bid is not None:
        return mark if mark >= bid else bid
    if ask is not None:
        return mark if mark <= ask else ask
    return mark


def _executable(quote: QuoteFigures, sign: int) -> float | None:
    return quote.bid if sign > 0 else quote.ask


_PRICE_OF = {PriceBasis.MARK: _mark, PriceBasis.MID: _mid, PriceBasis.FAIR: _fair,
             PriceBasis.EXECUTABLE: _executable}


def _pnl(plan: _TradePlan, price_of: Callable[[QuoteFigures, int], float | None],
         figures: Figures) -> tuple[float, float] | None:
    """(PnL in cents, a bound on its float error); None when the engine has no PnL."""
    if plan.legs is None:
        return None
    total = scale = 0.0
    for symbol, sign, held, entry in plan.legs:
        quote = figures.get(symbol)
        if quote is None:
            raise _Probe  # not listed: the engine would skip the rule; let it say so
        price = price_of(quote, sign)
        if price is None:
            return None
        term = sign * (price - entry) * held
        total += term
        scale += abs(term) + abs(price * held)
    return total, _RELATIVE * (scale + 1.0)


def _pct_rule(price_of: Callable[[QuoteFigures, int], float | None], pct: float,
              profit: bool) -> Screen:
    def screen(plan: _TradePlan, figures: Figures, _indices: Indices) -> bool:
        found = _pnl(plan, price_of, figures)
        cost = plan.pct_cost
        if found is None or cost is None:
            return False  # the engine skips the rule
        pnl, error = found
        value = pnl / cost * 100
        margin = error / cost * 100 + _RELATIVE * (abs(value) + pct + 1.0)
        return value >= pct - margin if profit else value <= -pct + margin
    return screen


def _usd_rule(price_of: Callable[[QuoteFigures, int], float | None], usd: float) -> Screen:
    limit = usd * 100

    def screen(plan: _TradePlan, figures: Figures, _indices: Indices) -> bool:
        found = _pnl(plan, price_of, figures)
        if found is None:
            return False
        pnl, error = found
        return pnl <= -limit + error + _RELATIVE * limit
    return screen


# -- greeks and the index ---------------------------------------------------------------
def _held_greek(symbol: str | None, weight: float, greek: str, figures: Figures) -> float:
    """As exposure.held_greek: chain greek x held coins x sign (0.0 for a flat leg)."""
    if symbol is None:
        return 0.0
    quote = figures.get(symbol)
    if quote is None:
        raise _Probe
    return getattr(quote, greek) * weight


def _structure_delta_rule(limit: float) -> Screen:
    def screen(plan: _TradePlan, figures: Figures, _indices: Indices) -> bool:
        total = scale = 0.0
        for symbol, weight in plan.greeks:
            value = _held_greek(symbol, weight, "delta", figures)
            total += value
            scale += abs(value)
        return abs(total) > limit - _RELATIVE * (scale + limit + 1.0)
    return screen


def _leg_greek_rule(leg: int, greek: str, above: bool, limit: float) -> Screen:
    def screen(plan: _TradePlan, figures: Figures, _indices: Indices) -> bool:
        if leg >= len(plan.greeks):
            return False  # the engine skips the rule
        value = _held_greek(*plan.greeks[leg], greek, figures)
        margin = _RELATIVE * (abs(value) + abs(limit) + 1.0)
        return value > limit - margin if above else value < limit + margin
    return screen


def _index_rule(underlying: Underlying, amount: float, in_usd: bool) -> Screen:
    def screen(plan: _TradePlan, _figures: Figures, indices: Indices) -> bool:
        entry = plan.index_entry
        if entry is None:
            return False  # the engine skips the rule
        index = indices.get(underlying)
        if index is None:
            raise _Probe
        threshold = amount if in_usd else amount * entry / 100
        margin = _INDEX_ROUNDING + _RELATIVE * (index + threshold)
        return abs(index - entry) >= threshold - margin
    return screen


def _screen(rule: ExitRule, underlying: Underlying) -> Screen | None:
    """The screen of one market rule; None when it has none (it is always probed)."""
    if isinstance(rule, ProfitTargetExit | MaxLossPctExit):
        return _pct_rule(_PRICE_OF[rule.basis], float(rule.pct),
                         isinstance(rule, ProfitTargetExit))
    if isinstance(rule, MaxLossUsdExit):
        return _usd_rule(_PRICE_OF[rule.basis], float(rule.usd))
    if isinstance(rule, StructureDeltaExit):
        return _structure_delta_rule(float(rule.limit))
    if isinstance(rule, LegGreekExit):
        return _leg_greek_rule(rule.leg, rule.greek.value, rule.direction is Direction.ABOVE,
                               float(rule.value))
    if isinstance(rule, IndexMoveExit):
        return _index_rule(underlying, float(rule.amount), rule.unit is MoveUnit.USD)
    return None
