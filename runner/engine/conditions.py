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
  they are asked for through `own_symbols`, which resolves the legs lazily (None when
  the legs cannot be resolved).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from runner.domain.snapshot import Account, MarketSnapshot
from runner.engine.checks import CheckResult
from runner.engine.exposure import account_delta, unpriced_positions
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
    WeekdaysCondition,
)

OwnSymbols = Callable[[], tuple[str, ...] | None]

ACCOUNT_NOT_READ = "the account was not read this tick (C5)"
POSITIONS_NOT_READ = "positions were not read this tick (C5)"


@dataclass(frozen=True, slots=True)
class _Context:
    snapshot: MarketSnapshot
    now: datetime
    own_symbols: OwnSymbols


def condition_checks(entry: AllOf, snapshot: MarketSnapshot, now: datetime,
                     own_symbols: OwnSymbols) -> tuple[CheckResult, ...]:
    """One CheckResult per item of the strategy's `entry:` list, in order."""
    context = _Context(snapshot, now, own_symbols)
    return tuple(evaluate(condition, context) for condition in entry.conditions)


def evaluate(condition: EntryCondition, context: _Context) -> CheckResult:
    """Evaluate one condition (nested groups included)."""
    return _EVALUATORS[type(condition)](condition, context)


def _time_window(c: TimeWindowCondition, ctx: _Context) -> CheckResult:
    inside = in_time_window(c.start, c.end, ctx.now)
    span = f"{c.start:%H:%M}-{c.end:%H:%M} UTC"
    return CheckResult("time_window", inside,
                       f"{time_of(ctx.now):%H:%M:%S} {'inside' if inside else 'outside'} {span}")


def _utc_window(c: UtcWindowCondition, ctx: _Context) -> CheckResult:
    inside = c.start <= ctx.now < c.end
    return CheckResult("utc_window", inside, f"{ctx.now.isoformat()} "
                       f"{'inside' if inside else 'outside'} [{c.start.isoformat()}, "
                       f"{c.end.isoformat()})")


def _weekdays(c: WeekdaysCondition, ctx: _Context) -> CheckResult:
    today = ctx.now.weekday()
    allowed = sorted(c.days, key=lambda d: d.number)
    name = next((d.value for d in allowed if d.number == today), None)
    listed = ", ".join(d.value for d in allowed)
    return CheckResult("weekdays", name is not None,
                       f"{ctx.now:%a} (UTC) {'is' if name else 'is not'} one of {listed}")


def _account_check(name: str, ctx: _Context,
                   judge: Callable[[Account], tuple[bool, str]]) -> CheckResult:
    account = ctx.snapshot.account
    if account is None:
        return CheckResult(name, False, ACCOUNT_NOT_READ)
    passed, detail = judge(account)
    return CheckResult(name, passed, detail)


def _min_available_margin(c: MinAvailableMarginCondition, ctx: _Context) -> CheckResult:
    def judge(account: Account) -> tuple[bool, str]:
        pct = account.available_margin_pct
        if pct is None:
            return False, f"equity is {account.equity} USD: no margin available"
        return pct >= c.pct, f"available margin {pct:.2f} % of equity, need >= {c.pct} %"
    return _account_check("min_available_margin_pct", ctx, judge)


def _min_equity(c: MinEquityCondition, ctx: _Context) -> CheckResult:
    def judge(account: Account) -> tuple[bool, str]:
        return account.equity >= c.usd, f"equity {account.equity} USD, need >= {c.usd} USD"
    return _account_check("min_equity_usd", ctx, judge)


def _max_margin_utilisation(c: MaxMarginUtilisationCondition, ctx: _Context) -> CheckResult:
    def judge(account: Account) -> tuple[bool, str]:
        pct = account.margin_utilisation_pct
        if pct is None:
            return False, f"equity is {account.equity} USD: utilisation unknown"
        return pct <= c.pct, f"margin utilisation {pct:.2f} %, allowed <= {c.pct} %"
    return _account_check("max_margin_utilisation_pct", ctx, judge)


def _max_account_delta(c: MaxAccountDeltaCondition, ctx: _Context) -> CheckResult:
    if ctx.snapshot.positions is None:
        return CheckResult("max_account_delta", False, POSITIONS_NOT_READ)
    reading = account_delta(ctx.snapshot)
    if reading is None:
        missing = ", ".join(unpriced_positions(ctx.snapshot))
        return CheckResult("max_account_delta", False,
                           f"no chain delta for held {missing}: account delta unknown")
    return CheckResult("max_account_delta", Decimal(repr(abs(reading.value))) <= c.limit,
                       f"account delta {reading.value:+.4f}, allowed |delta| <= {c.limit}"
                       f"{reading.beside()}")


def _no_existing_position(c: NoExistingPositionCondition, ctx: _Context) -> CheckResult:
    name = "no_existing_position"
    positions = ctx.snapshot.positions
    if positions is None:
        return CheckResult(name, False, POSITIONS_NOT_READ)
    symbols = c.symbols if c.symbols else ctx.own_symbols()
    if symbols is None:
        return CheckResult(name, False, "the trade's own legs could not be resolved")
    held = sorted(f"{p.symbol} {p.qty}" for p in positions if p.symbol in symbols and p.qty != 0)
    if held:
        return CheckResult(name, False, "already held: " + ", ".join(held))
    return CheckResult(name, True, "none held of " + ", ".join(symbols))


def _group(name: str, members: tuple[CheckResult, ...], passed: bool) -> CheckResult:
    inner = "; ".join(str(member) for member in members)
    return CheckResult(name, passed, f"[{inner}]")


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
