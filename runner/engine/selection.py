"""Leg selection: a strategy's leg templates resolved to concrete options of this tick.

For each leg in order: the expiry rule picks among the listed expiries of the leg's
underlying, the strike rule picks among that expiry's options of the leg's kind, and the
quantity is snapped down to the instrument's lot (lessons F5). A later leg may refer to
an earlier leg's strike. If any leg cannot be resolved, nothing is: the result is a
`LegFailure` naming the leg and the reason, and no trade is created (old-system a.1).

Invariants:
- The expiry is chosen among `snapshot.listed_expiries` when the service provided them,
  so a chain that failed to load is reported as missing, never silently replaced by
  another expiry; otherwise among the expiries present in the chain.
- Only active instruments are candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from runner.domain.instruments import Instrument, Underlying, snap_qty
from runner.domain.orders import Side
from runner.domain.snapshot import Chain, MarketSnapshot, OptionQuote
from runner.engine.expiries import (
    choose_expiry,
    choose_listed_expiry,
    describe_expiry,
    expiries_needed,
)
from runner.engine.strikes import NoStrike, pick_strike
from runner.strategy.model import LegSpec, StrategySpec

__all__ = ["FailureKind", "LegFailure", "ResolvedLeg", "choose_expiry", "expiries_needed",
           "resolve_leg", "resolve_legs"]


@dataclass(frozen=True, slots=True)
class ResolvedLeg:
    index: int
    spec: LegSpec
    instrument: Instrument
    quote: OptionQuote
    qty: Decimal  # snapped to lot
    delta: float | None

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def notional_usd(self) -> Decimal:
        """Strike x quantity (the spec's NOTIONAL_DEFINITION, per leg)."""
        return self.instrument.strike * self.qty


class FailureKind(StrEnum):
    """What kind of thing failed a leg: stable while the words (prices, symbols) move."""

    CHAIN = "chain"  # the chain is not in this tick's snapshot
    EXPIRY = "expiry"  # no listed expiry fits the rule
    STRIKE = "strike"  # no strike fits the rule (e.g. none within the delta tolerance)
    QUANTITY = "quantity"  # the quantity snaps below the instrument's minimum
    UNCLOSABLE = "unclosable"  # the chosen option has no bid (buy) or ask (sell)


@dataclass(frozen=True, slots=True)
class LegFailure:
    """Why the legs could not be resolved: the first leg that failed, and the reason."""

    leg: int
    reason: str
    kind: FailureKind = FailureKind.CHAIN

    def __str__(self) -> str:
        return f"leg {self.leg}: {self.reason}"


def resolve_legs(spec: StrategySpec, snapshot: MarketSnapshot,
                 now: datetime) -> tuple[ResolvedLeg, ...] | LegFailure:
    """Resolve every leg of `spec` against `snapshot`, in order."""
    resolved: list[ResolvedLeg] = []
    strikes: dict[int, Decimal] = {}
    for index, leg in enumerate(spec.legs):
        outcome = resolve_leg(index, leg, snapshot, now, strikes)
        if isinstance(outcome, LegFailure):
            return outcome
        resolved.append(outcome)
        strikes[index] = outcome.instrument.strike
    return tuple(resolved)


def resolve_leg(index: int, leg: LegSpec, snapshot: MarketSnapshot, now: datetime,
                earlier_strikes: Mapping[int, Decimal]) -> ResolvedLeg | LegFailure:
    """Resolve one leg; `earlier_strikes` holds the strikes of the legs resolved before it.

    The expiry is chosen first, among the listed expiries: a rule no listed expiry fits is
    told as such even when no chain was read for it (the service reads only the chains
    the rules choose).
    """
    chain = snapshot.chains.get(leg.underlying)
    expiry = _expiry(index, leg, snapshot, chain, now)
    if isinstance(expiry, LegFailure):
        return expiry
    ladder = chain.ladder(expiry, leg.kind) if chain is not None else None
    if ladder is None or not ladder.quotes:
        return LegFailure(index, f"the {leg.underlying.value} chain of {expiry:%d %b %Y} was "
                                 "not in this tick's snapshot", FailureKind.CHAIN)
    picked = pick_strike(leg.strike, ladder, snapshot.index_price(leg.underlying),
                         earlier_strikes)
    if isinstance(picked, NoStrike):
        return LegFailure(index, f"{leg.kind.value} {expiry:%d %b %Y}: {picked.reason}",
                          FailureKind.STRIKE)
    instrument = picked.instrument
    unclosable = _unclosable(leg, picked)
    if unclosable:
        return LegFailure(index, unclosable, FailureKind.UNCLOSABLE)
    qty = snap_qty(leg.qty, instrument.lot_size)
    if qty < instrument.min_qty or qty <= 0:
        return LegFailure(index, f"quantity {leg.qty} snaps to {qty}, below the minimum "
                                 f"{instrument.min_qty} of {instrument.symbol}",
                          FailureKind.QUANTITY)
    return ResolvedLeg(index, leg, instrument, picked, qty, picked.delta)


def _expiry(index: int, leg: LegSpec, snapshot: MarketSnapshot, chain: Chain | None,
            now: datetime) -> datetime | LegFailure:
    listed = _listed(snapshot, chain, leg.underlying, now)
    if not listed and chain is None:
        return LegFailure(index, f"no {leg.underlying.value} chain in this tick's snapshot",
                          FailureKind.CHAIN)
    expiry = choose_listed_expiry(leg.expiry, listed, now)
    if expiry is None:
        return LegFailure(index, f"no listed {leg.underlying.value} expiry fits "
                                 f"{describe_expiry(leg.expiry)}", FailureKind.EXPIRY)
    return expiry


def _unclosable(leg: LegSpec, quote: OptionQuote) -> str | None:
    """A position the market cannot take back is never opened (lessons B1, R-C4): a bought
    leg needs a bid to be sold again, a sold leg an ask to be bought back."""
    missing = "bid" if leg.side is Side.BUY and quote.bid is None else (
        "ask" if leg.side is Side.SELL and quote.ask is None else None)
    if missing is None:
        return None
    return (f"{quote.symbol} has no {missing}: a {leg.side.value} there could not be closed"
            " again, so the trade does not open")


def _listed(snapshot: MarketSnapshot, chain: Chain | None, underlying: Underlying,
            now: datetime) -> tuple[datetime, ...]:
    listed = snapshot.listed_expiries.get(underlying)
    if listed:
        return tuple(listed)
    return chain.expiries(now) if chain is not None else ()

