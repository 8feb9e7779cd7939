"""Greeks the exit and entry rules decide on: per-contract chain greeks x signed quantity.

What `structure_delta_limit`, `leg_greek_limit`, `account_delta_limit` and
`max_account_delta` measure. Every greek a rule decides on is computed here from two
documented facts only (issue 8 finding 8):
- the chain quote's greek, per 1-coin contract (coincall-api.md section 4: call delta in
  (0, 1), put delta in (-1, 0)), and
- the signed quantity: our leg's open qty x its side (buy +, sell -), or an exchange
  position's qty signed by its documented `tradeSide` (1 long, 2 short).

The exchange's own position greeks are *not* decided on: whether they arrive signed and
scaled by the position size is unverified (coincall-api.md 6.3 "look pre-signed and
scaled ... unverified"), so a reading that assumed either way would fire or miss an exit
when the assumption is wrong. They ride along as `reported` (the whole position's value
as the exchange sent it), only for the log line beside the decision, so an operator can
compare both and see a disagreement.

A greek that cannot be computed (no chain quote, no greeks in it, positions not read for
an account figure) is None: the rule that needs it is skipped or blocks (lessons E1, C5);
nothing is guessed. Account figures need a chain quote for every held position: the
service fetches the chains of held expiries when a strategy declares an account rule
(`uses_account_delta`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter

from runner.domain.snapshot import Greeks, MarketSnapshot, Position
from runner.domain.trades import Trade, TradeLeg
from runner.engine.checks import SET_FIELD
from runner.engine.figures import HeldLeg, held_leg, trade_figures
from runner.strategy.model import (
    AccountDeltaExit,
    AllOf,
    AnyOf,
    EntryCondition,
    Greek,
    MaxAccountDeltaCondition,
    StrategySpec,
)


@dataclass(frozen=True, slots=True, init=False)
class GreekReading:
    """A decided-on greek (chain greek x signed qty) and what the exchange reported."""

    value: float  # chain greek per coin x signed quantity: the only figure rules use
    reported: float | None = None  # the exchange's position greek(s), as sent: log only

    def __init__(self, value: float, reported: float | None = None) -> None:
        SET_FIELD(self, "value", value)  # its own __init__: see checks.SET_FIELD
        SET_FIELD(self, "reported", reported)

    def beside(self) -> str:
        """The exchange's figure for the log, or an empty string when it sent none."""
        if self.reported is None:
            return ""
        return f"; exchange position reports {self.reported:+.6f} (not decided on)"


# Each greek's reader, made once (reading `greek.value` per call is slow on an Enum).
_READERS: dict[Greek, Callable[[Greeks], float]] = {greek: attrgetter(greek.value)
                                                    for greek in Greek}


def _greek(greeks: Greeks, greek: Greek) -> float:
    return float(_READERS[greek](greeks))


def chain_greek(snapshot: MarketSnapshot, symbol: str, greek: Greek) -> float | None:
    """The chain's per-contract greek of `symbol`, or None when the tick has none."""
    quote = snapshot.quote(symbol)
    greeks = quote.greeks if quote is not None else None
    if greeks is None:
        return None
    return _greek(greeks, greek)


def _reported(snapshot: MarketSnapshot, symbols: Iterable[str], greek: Greek) -> float | None:
    if snapshot.positions is None:
        return None
    wanted = set(symbols)
    found = [p for p in snapshot.positions if p.symbol in wanted and p.greeks is not None]
    if not found:
        return None
    return sum((_greek(p.greeks, greek) for p in found if p.greeks is not None), 0.0)


def held_greek(leg: HeldLeg, snapshot: MarketSnapshot, greek: Greek) -> float | None:
    """One leg's greek for the quantity this trade holds: chain greek x signed open qty
    (0.0 for a flat leg); None when the chain has no such greek this tick."""
    if leg.flat:
        return 0.0
    per_contract = chain_greek(snapshot, leg.symbol, greek)
    if per_contract is None:
        return None
    return per_contract * leg.held_coins * leg.sign


def leg_greek(leg: TradeLeg, snapshot: MarketSnapshot, greek: Greek, *,
              reported: bool = True) -> GreekReading | None:
    """`held_greek` with the exchange's figure beside it.

    `reported=False` leaves out the exchange's figure (only ever written beside)."""
    held = held_leg(leg)
    value = held_greek(held, snapshot, greek)
    if value is None:
        return None
    if held.flat:
        return GreekReading(value)
    return GreekReading(value, _reported(snapshot, (leg.symbol,), greek) if reported else None)


def structure_reading(trade: Trade, snapshot: MarketSnapshot, greek: Greek = Greek.DELTA, *,
                      reported: bool = True) -> GreekReading | None:
    """Sum of the legs' greeks; None when any held leg's greek is unknown."""
    total = structure_greek(trade, snapshot, greek)
    if total is None:
        return None
    if not reported:
        return GreekReading(total)
    held = (leg.symbol for leg in trade.legs if leg.open_qty > 0)
    return GreekReading(total, _reported(snapshot, held, greek))


def structure_greek(trade: Trade, snapshot: MarketSnapshot,
                    greek: Greek = Greek.DELTA) -> float | None:
    """The structure's greek as a number (see `structure_reading`)."""
    total = 0.0
    for leg in trade_figures(trade).legs:
        value = held_greek(leg, snapshot, greek)
        if value is None:
            return None
        total += value
    return total


def account_delta(snapshot: MarketSnapshot) -> GreekReading | None:
    """Net delta of every held position: chain delta x signed position qty.

    None when positions were not read, or a held position has no chain delta this tick.
    Worked out once per snapshot: every strategy with an account delta rule reads it.
    """
    return snapshot.derived("account_delta", _account_delta)


def _account_delta(snapshot: MarketSnapshot) -> GreekReading | None:
    positions = snapshot.positions
    if positions is None:
        return None
    held = [p for p in positions if p.qty != 0]
    total = 0.0
    for position in held:
        per_contract = chain_greek(snapshot, position.symbol, Greek.DELTA)
        if per_contract is None:
            return None
        total += per_contract * float(position.qty)
    return GreekReading(total, _reported(snapshot, (p.symbol for p in held), Greek.DELTA))


def unpriced_positions(snapshot: MarketSnapshot) -> tuple[str, ...]:
    """Held symbols whose chain delta the tick lacks (why an account delta is unknown)."""
    positions: tuple[Position, ...] = snapshot.positions or ()
    return tuple(p.symbol for p in positions
                 if p.qty != 0 and chain_greek(snapshot, p.symbol, Greek.DELTA) is None)


def _entry_uses_account_delta(condition: EntryCondition) -> bool:
    if isinstance(condition, AllOf | AnyOf):
        return any(_entry_uses_account_delta(c) for c in condition.conditions)
    return isinstance(condition, MaxAccountDeltaCondition)


def uses_account_delta(spec: StrategySpec) -> bool:
    """Whether a rule of `spec` needs the account delta (so every held expiry's chain)."""
    return bool(spec.exits_of(AccountDeltaExit)) or _entry_uses_account_delta(spec.entry)
