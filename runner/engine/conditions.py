"""Entry conditions: each `EntryCondition` of the model evaluated against one snapshot.

Semantics: strategy-semantics.md "Entry conditions" and old-system a.2, without its
defects. Invariant (lessons C5): a condition that needs a read that failed this tick
(`snapshot.account` or `snapshot.positions` is None) does not pass, and says so; "no
existing position" never passes on a failed positions read, and a failed account read
never looks like 0 % margin used.

Deliberate choices:
- The top-level `entry:` list gives one CheckResult per item (named by its YAML key);
  a nested `all`/`any` gives one CheckResult whose detail lists its members.
- Account delta is the sum over held positions of the chain delta x the signed position
  qty (exposure.py); the exchange's position greeks are only logged beside it. A held
  position without a chain delta this tick makes it unknown: the condition blocks.
- "No existing position" without symbols means the instruments this trade would open;
  they are asked for through `own_symbols`, which resolves the legs lazily (a text
  saying why when they cannot be resolved, or are not while a gate blocks).
- `blocked_by_clock` tells the service when an entry decision reads no chain at all (a
  clock condition fails and none needs the trade's own legs), so the tick does not read
  one for it: the checks come out the same without it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from runner.domain.snapshot import MarketSnapshot, Position
from runner.engine.checks import CheckResult
from runner.engine.exposure import GreekReading, account_delta, unpriced_positions
from runner.engine.windows import in_time_window, time_of
from runner.strategy.model import (
    AllOf,
    AnyOf,
    EntryCondition,
    MaxAccountDeltaCondition,
    MaxMarginUtilisationCondition,
    MinAvailableMarginCondition,
    MinEquityCondition,
    NoExistingPositionCondition,
    TimeWindowCondition,
    UtcWindowCondition,
    Weekday,
    WeekdaysCondition,
)

# The instruments the trade would open, or why there are none to look at.
OwnSymbols = Callable[[], tuple[str, ...] | str]

ACCOUNT_NOT_READ = "the account was not read this tick (C5)"
POSITIONS_NOT_READ = "positions were not read this tick (C5)"


class _Context:
    """What every condition reads (a plain slotted class: made once per decision)."""

    __slots__ = ("blocked_by", "now", "own_symbols", "snapshot")

    def __init__(self, snapshot: MarketSnapshot, now: datetime, own_symbols: OwnSymbols,
                 blocked_by: str | None = None) -> None:
        self.snapshot, self.now, self.own_symbols = snapshot, now, own_symbols
        self.blocked_by = blocked_by  # an earlier gate that already blocks the entry


def condition_checks(entry: AllOf, snapshot: MarketSnapshot, now: datetime,
                     own_symbols: OwnSymbols, *,
                     blocked_by: str | None = None) -> tuple[CheckResult, ...]:
    """One CheckResult per item of the strategy's `entry:` list, in order.

    `blocked_by` names a gate that already blocks the entry: the trade's own legs are then
    not resolved for `no_existing_position` (resolving them is the costly part of a
    decision, issue 11 item 4); it reports "not evaluated" and does not pass."""
    context = _Context(snapshot, now, own_symbols, blocked_by)
    return tuple([evaluate(condition, context) for condition in entry.conditions])


_CLOCK_CONDITIONS = (TimeWindowCondition, UtcWindowCondition, WeekdaysCondition)


def blocked_by_clock(entry: AllOf, now: datetime) -> bool:
    """Whether a top-level clock condition (weekdays, a time or UTC window) fails at `now`
    while no condition needs the trade's own legs: the entry then does not open, and its
    checks read no chain (the legs are resolved only for `no_existing_position` without
    symbols, or once every check has passed), so its chain need not be read this tick."""
    if _needs_own_legs(entry):
        return False
    context = _Context(MarketSnapshot(at=now), now, _no_own_symbols)
    return any(isinstance(condition, _CLOCK_CONDITIONS) and not evaluate(condition,
                                                                          context).passed
               for condition in entry.conditions)


def _needs_own_legs(condition: EntryCondition) -> bool:
    if isinstance(condition, AllOf | AnyOf):
        return any(_needs_own_legs(member) for member in condition.conditions)
    return isinstance(condition, NoExistingPositionCondition) and not condition.symbols


def _no_own_symbols() -> str:
    return "the trade's own legs are not resolved here"


def evaluate(condition: EntryCondition, context: _Context) -> CheckResult:
    """Evaluate one condition (nested groups included)."""
    return _EVALUATORS[type(condition)](condition, context)


def _time_window(c: TimeWindowCondition, ctx: _Context) -> CheckResult:
    inside = in_time_window(c.start, c.end, ctx.now)
    return CheckResult("time_window", inside, _time_window_words, (c, ctx.now, inside))


def _time_window_words(c: TimeWindowCondition, now: datetime, inside: bool) -> str:
    return (f"{time_of(now):%H:%M:%S} {'inside' if inside else 'outside'} "
            f"{c.start:%H:%M}-{c.end:%H:%M} UTC")


def _utc_window(c: UtcWindowCondition, ctx: _Context) -> CheckResult:
    inside = c.start <= ctx.now < c.end
    return CheckResult("utc_window", inside, _utc_window_words, (c, ctx.now, inside))


def _utc_window_words(c: UtcWindowCondition, now: datetime, inside: bool) -> str:
    return (f"{now.isoformat()} {'inside' if inside else 'outside'} [{c.start.isoformat()}, "
            f"{c.end.isoformat()})")


# Weekday -> its `date.weekday()` number (what `Weekday.number` works out each time it is
# read; a weekdays condition is evaluated at every check of its strategy).
_DAY_NUMBERS: dict[Weekday, int] = {day: day.number for day in Weekday}


def _weekdays(c: WeekdaysCondition, ctx: _Context) -> CheckResult:
    today = ctx.now.weekday()
    numbers = _DAY_NUMBERS
    allowed = sorted(c.days, key=numbers.__getitem__)
    name = next((d.value for d in allowed if numbers[d] == today), None)
    return CheckResult("weekdays", name is not None, _weekdays_words,
                       (ctx.now, name, allowed))


def _weekdays_words(now: datetime, name: str | None, allowed: list[Weekday]) -> str:
    listed = ", ".join(d.value for d in allowed)
    return f"{now:%a} (UTC) {'is' if name else 'is not'} one of {listed}"


def _min_available_margin(c: MinAvailableMarginCondition, ctx: _Context) -> CheckResult:
    name, account = "min_available_margin_pct", ctx.snapshot.account
    if account is None:
        return CheckResult(name, False, ACCOUNT_NOT_READ)
    pct = account.available_margin_pct
    if pct is None:
        return CheckResult(name, False, "equity is {} USD: no margin available".format,
                           (account.equity,))
    return CheckResult(name, pct >= c.pct,
                       "available margin {:.2f} % of equity, need >= {} %".format, (pct, c.pct))


def _min_equity(c: MinEquityCondition, ctx: _Context) -> CheckResult:
    name, account = "min_equity_usd", ctx.snapshot.account
    if account is None:
        return CheckResult(name, False, ACCOUNT_NOT_READ)
    return CheckResult(name, account.equity >= c.usd, "equity {} USD, need >= {} USD".format,
                       (account.equity, c.usd))


def _max_margin_utilisation(c: MaxMarginUtilisationCondition, ctx: _Context) -> CheckResult:
    name, account = "max_margin_utilisation_pct", ctx.snapshot.account
    if account is None:
        return CheckResult(name, False, ACCOUNT_NOT_READ)
    pct = account.margin_utilisation_pct
    if pct is None:
        return CheckResult(name, False, "equity is {} USD: utilisation unknown".format,
                           (account.equity,))
    return CheckResult(name, pct <= c.pct, "margin utilisation {:.2f} %, allowed <= {} %".format,
                       (pct, c.pct))


def _max_account_delta(c: MaxAccountDeltaCondition, ctx: _Context) -> CheckResult:
    snapshot = ctx.snapshot
    if snapshot.positions is None:
        return CheckResult("max_account_delta", False, POSITIONS_NOT_READ)
    reading = account_delta(snapshot)
    if reading is None:
        return CheckResult("max_account_delta", False, _no_account_delta, (snapshot,))
    return CheckResult("max_account_delta", Decimal(repr(abs(reading.value))) <= c.limit,
                       _account_delta_words, (reading, c.limit))


def _no_account_delta(snapshot: MarketSnapshot) -> str:
    missing = ", ".join(unpriced_positions(snapshot))
    return f"no chain delta for held {missing}: account delta unknown"


def _account_delta_words(reading: GreekReading, limit: Decimal) -> str:
    return f"account delta {reading.value:+.4f}, allowed |delta| <= {limit}{reading.beside()}"


def _no_existing_position(c: NoExistingPositionCondition, ctx: _Context) -> CheckResult:
    name = "no_existing_position"
    positions = ctx.snapshot.positions
    if positions is None:
        return CheckResult(name, False, POSITIONS_NOT_READ)
    if not c.symbols and ctx.blocked_by is not None:
        return CheckResult(name, False, "not evaluated: {} already blocks the entry (the "
                                        "trade's legs are not resolved)".format,
                           (ctx.blocked_by,))
    symbols = c.symbols if c.symbols else ctx.own_symbols()
    if isinstance(symbols, str):
        return CheckResult(name, False, symbols)
    held = [p for p in positions if p.symbol in symbols and p.qty != 0]
    if held:
        return CheckResult(name, False, _already_held, (held,))
    return CheckResult(name, True, _none_held, (symbols,))


def _already_held(held: list[Position]) -> str:
    return "already held: " + ", ".join(sorted(f"{p.symbol} {p.qty}" for p in held))


def _none_held(symbols: tuple[str, ...]) -> str:
    return "none held of " + ", ".join(symbols)


def _group(name: str, members: tuple[CheckResult, ...], passed: bool) -> CheckResult:
    return CheckResult(name, passed, _group_words, (members,))


def _group_words(members: tuple[CheckResult, ...]) -> str:
    return "[" + "; ".join(str(member) for member in members) + "]"


def _all_of(c: AllOf, ctx: _Context) -> CheckResult:
    members = tuple(evaluate(member, ctx) for member in c.conditions)
    return _group("all", members, all(m.passed for m in members))


def _any_of(c: AnyOf, ctx: _Context) -> CheckResult:
    members = tuple(evaluate(member, ctx) for member in c.conditions)
    return _group("any", members, any(m.passed for m in members))


_EVALUATORS: dict[type, Callable[..., CheckResult]] = {
    TimeWindowCondition: _time_window,
    UtcWindowCondition: _utc_window,
    WeekdaysCondition: _weekdays,
    MinAvailableMarginCondition: _min_available_margin,
    MinEquityCondition: _min_equity,
    MaxAccountDeltaCondition: _max_account_delta,
    MaxMarginUtilisationCondition: _max_margin_utilisation,
    NoExistingPositionCondition: _no_existing_position,
    AllOf: _all_of,
    AnyOf: _any_of,
}
