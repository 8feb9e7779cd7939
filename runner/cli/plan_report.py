"""`runner plan`: what one strategy would trade now, resolved against the current market.

Owns the dry run of a strategy: one snapshot read through the exchange port, the legs
resolved by the engine (`resolve_legs`), every gate and entry condition evaluated by the
engine (`decide`), and around them what a trader checks before switching a strategy on:
premium and notional with the execution route `auto` would take and why (lessons I4), the
execution profiles, the schedule's windows relative to now, the exits, the daily limits and
cooldown with a visible warning when neither bounds re-entry (lessons A8), and, for each
expiry rule, the expiry it would choose on each of the next days (lessons G3).

Invariants:
- Plan never trades. The port it is given is wrapped in `ReadOnlyExchange`, which has no
  write methods at all (an accidental call fails before reaching the venue).
- The engine decides; this module only reads and reports. A leg that cannot be resolved
  makes the plan unresolved (the CLI exits 1) with the engine's reason.
- The result is a JSON-safe dict (Decimals as text, times ISO 8601 UTC) so `--format json`
  and the text rendering show the same facts.

Deliberate choices:
- Gates count the strategy's real history when the caller passes its trades (read-only from
  the store); schedules are counted from `launch` (default now: "if the service started now").
- Future expiry listings are not known to any venue API. The calendar uses the listing
  calendar of the simulated venue (Coincall-style dailies, weeklies, monthlies, quarterlies)
  plus what is listed now; for paper that is exactly what the venue will list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

from runner.domain.instruments import Underlying, days_to_expiry
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade
from runner.engine.checks import CheckResult
from runner.engine.decide import evaluate_entry
from runner.engine.expiries import expiries_needed, expiry_candidates, held_expiries
from runner.engine.exposure import uses_account_delta
from runner.engine.limits import execution_route, notional_usd
from runner.engine.selection import LegFailure, ResolvedLeg, resolve_legs
from runner.engine.state import state_from_trades
from runner.engine.unresolved import unresolved_text
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.exchange.read_only import ReadOnlyExchange
from runner.service.snapshots import MarketNeeds, SnapshotReader
from runner.sim.config import SimConfig
from runner.sim.listing import listed_expiries
from runner.strategy.model import (
    NOTIONAL_DEFINITION,
    AutoExecution,
    CycleSchedule,
    CycleWindow,
    DeltaStrike,
    ExecutionSpec,
    ExpiryRule,
    RfqExecution,
    Schedule,
    StrategySpec,
)

DEFAULT_CALENDAR_DAYS: Final = 30
_SUFFIXES: Final = ("Strike", "Expiry", "Exit", "Execution", "Condition", "Schedule")


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan as a JSON-safe dict, and whether every leg resolved."""

    data: dict[str, Any]
    resolved: bool


def _held_chains(spec: StrategySpec, exchange: Exchange,
                 now: datetime) -> set[tuple[Underlying, datetime]]:
    """An account delta rule decides on chain delta x position qty: read the chains of
    every held expiry (as the service does); a failed read shows in the snapshot's own."""
    if not uses_account_delta(spec):
        return set()
    try:
        held = ReadOnlyExchange(exchange).positions()
    except ExchangeError:
        return set()
    return held_expiries((p.symbol for p in held), now)


def make_plan(spec: StrategySpec, exchange: Exchange, now: datetime, *,
              environment: str = "paper", seed: int | None = None,
              history: Sequence[Trade] | None = None, history_source: str | None = None,
              launch: datetime | None = None, calendar_days: int = DEFAULT_CALENDAR_DAYS,
              listing: SimConfig | None = None) -> Plan:
    """Read the market once, resolve and evaluate `spec` at `now`; never trade."""
    reader = SnapshotReader(ReadOnlyExchange(exchange))
    underlyings = frozenset({spec.underlying, *(leg.underlying for leg in spec.legs)})
    listed = {u: reader.listed_expiries(u, now) for u in sorted(underlyings)}
    chains = frozenset(expiries_needed([spec], listed, now)) | _held_chains(spec, exchange, now)
    snapshot = reader.read(MarketNeeds(underlyings=underlyings, chains=chains), now, listed)
    resolved = resolve_legs(spec, snapshot, now)
    start = launch or now
    # A run launched at `start` has no trades in its cycles yet; earlier runs' cycle
    # numbers mean other windows, so only the daily counts, cooldown and actives carry over.
    state = replace(state_from_trades(start, history or (), now),
                    trades_per_cycle=MappingProxyType({}))
    checks, opening = evaluate_entry(spec, state, snapshot, now)  # disabled ones too
    if not spec.enabled:
        checks = (CheckResult("enabled", False, "the strategy is disabled (enabled: false)"),
                  *checks)
    data: dict[str, Any] = {
        "strategy": spec.name, "file": str(spec.source), "description": spec.description,
        "enabled": spec.enabled, "environment": environment, "seed": seed,
        "at": now.isoformat(), "launch": start.isoformat(),
        "index_prices": {u.value: str(p) for u, p in snapshot.index_prices.items()},
        "read_failures": list(snapshot.failures),
        "history": _history(history, history_source, state),
        "legs": None, "problem": None, "structure": None,
        "execution": {"open": describe(spec.execution.open),
                      "close": describe(spec.execution.close)},
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in checks],
        "would_open": spec.enabled and opening is not None,
        "schedule": schedule_windows(spec.schedule, start, now),
        "exits": [describe(rule) for rule in spec.exits],
        "limits": limits(spec),
        "expiry_calendar": expiry_calendar(spec, listed, now, calendar_days, listing),
        "request_count": reader.counter.calls,
    }
    if isinstance(resolved, LegFailure):
        data["problem"] = unresolved_text(resolved)  # the service logs the same words
        return Plan(data, resolved=False)
    data["legs"] = [_leg(leg, now) for leg in resolved]
    data["structure"] = structure(spec, resolved, snapshot)
    return Plan(data, resolved=True)


def _history(trades: Sequence[Trade] | None, source: str | None, state: Any) -> dict[str, Any]:
    if trades is None:
        return {"source": None, "note": "no store read: gates as for a strategy that never "
                                        "traded"}
    return {"source": source, "trades_today": state.trades_today,
            "attempts_today": state.attempts_today, "active_trades": len(state.active_trades),
            "last_created_at": (state.last_created_at.isoformat()
                                if state.last_created_at else None)}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _leg(leg: ResolvedLeg, now: datetime) -> dict[str, Any]:
    quote, instrument = leg.quote, leg.instrument
    target = leg.spec.strike.target if isinstance(leg.spec.strike, DeltaStrike) else None
    off = (leg.delta - float(target)) if target is not None and leg.delta is not None else None
    return {
        "index": leg.index, "side": leg.spec.side.value, "kind": instrument.kind.value,
        "qty": str(leg.qty), "symbol": instrument.symbol, "strike": str(instrument.strike),
        "expiry": instrument.expiry.isoformat(),
        "days_to_expiry": round(days_to_expiry(instrument.expiry, now), 2),
        "delta": None if leg.delta is None else round(leg.delta, 4),
        "delta_target": _text(target), "delta_off": None if off is None else round(off, 4),
        "bid": _text(quote.bid), "ask": _text(quote.ask), "mark": _text(quote.mark),
        "mark_iv": quote.mark_iv, "strike_rule": describe(leg.spec.strike),
        "expiry_rule": describe(leg.spec.expiry),
    }


def _premium(legs: Iterable[ResolvedLeg], price: Any) -> Decimal | None:
    total = Decimal(0)
    for leg in legs:
        value = price(leg)
        if value is None:
            return None
        total += leg.spec.side.sign * value * leg.qty
    return total


def structure(spec: StrategySpec, legs: Sequence[ResolvedLeg],
              snapshot: MarketSnapshot) -> dict[str, Any]:
    """Premium (+ = debit paid), notional and the open route with its reason."""
    mark = _premium(legs, lambda leg: leg.quote.mark)
    executable = _premium(legs, lambda leg: leg.quote.ask if leg.spec.side.sign > 0
                          else leg.quote.bid)
    notional = notional_usd(legs)
    route, reason = open_route(spec.execution.open, notional)
    return {"premium_mark_usd": _text(mark), "premium_executable_usd": _text(executable),
            "premium_convention": "positive = debit paid, negative = credit received; "
                                  "executable = buys at the ask, sells at the bid",
            "notional_usd": str(notional), "notional_definition": NOTIONAL_DEFINITION,
            "route": route, "route_reason": reason,
            "index_price": _text(snapshot.index_price(spec.underlying))}


def open_route(execution: ExecutionSpec, notional: Decimal) -> tuple[str, str]:
    """The route the open takes ("rfq" or "limit") and why, from the notional (I4)."""
    route = execution_route(execution, notional)
    if isinstance(execution, AutoExecution):
        minimum = execution.rfq.min_notional_usd
        relation = ">=" if route == "rfq" else "<"
        return route, (f"auto: notional {notional} USD {relation} RFQ minimum {minimum} USD "
                       f"(strike x qty, not premium)")
    if isinstance(execution, RfqExecution):
        minimum = execution.min_notional_usd
        if notional >= minimum:
            return route, f"mode rfq: notional {notional} USD >= RFQ minimum {minimum} USD"
        fallback = describe(execution.fallback) if execution.fallback else "none: the open fails"
        return route, (f"mode rfq, but notional {notional} USD < RFQ minimum {minimum} USD: "
                       f"the request will be refused; fallback {fallback}")
    return route, f"mode {rule_name(execution)}: orderbook limit orders, whatever the notional"


def limits(spec: StrategySpec) -> dict[str, Any]:
    """The daily limits, cooldown and risk limits, with the A8 warning when unbounded."""
    timing, risk = spec.timing, spec.risk
    warnings = []
    if timing.max_trades_per_day is None and timing.cooldown <= timedelta(0):
        warnings.append("no daily trade limit and no cooldown: after each close the strategy "
                        "may open again at once, all day long (lessons A8)")
    if not spec.enabled:
        warnings.append("the strategy is disabled (enabled: false): the service will not "
                        "open trades for it")
    return {"check_interval": span(timing.check_interval), "cooldown": span(timing.cooldown),
            "max_concurrent_trades": timing.max_concurrent_trades,
            "max_trades_per_day": timing.max_trades_per_day,
            "max_attempts_per_day": timing.max_attempts_per_day,
            "max_notional_per_trade_usd": _text(risk.max_notional_per_trade_usd),
            "max_notional_per_strategy_usd": _text(risk.max_notional_per_strategy_usd),
            "warnings": warnings}


def expiry_calendar(spec: StrategySpec, listed: dict[Underlying, tuple[datetime, ...]],
                    now: datetime, days: int, listing: SimConfig | None) -> list[dict[str, Any]]:
    """For each distinct expiry rule: the expiry chosen on each of the next `days` days."""
    config = listing or SimConfig()  # the venue's own calendar in paper, else projected
    rules: dict[tuple[Underlying, str], ExpiryRule] = {}
    for leg in spec.legs:
        rules.setdefault((leg.underlying, describe(leg.expiry)), leg.expiry)
    calendars = []
    for (underlying, text), rule in rules.items():
        rows = []
        for offset in range(days):
            moment = now + timedelta(days=offset)
            known = {e for e in listed.get(underlying, ()) if e > moment}
            known.update(listed_expiries(moment, config))
            found = expiry_candidates(rule, known, moment)
            rows.append({"day": moment.date().isoformat(),
                         "expiry": found[0].isoformat() if found else None,
                         "days_to_expiry": (found[0].date() - moment.date()).days
                         if found else None, "candidates": len(found)})
        calendars.append({"underlying": underlying.value, "rule": text, "days": days,
                          "listing": "the paper venue's listing calendar" if listing else
                          "projected: listed now plus Coincall-style dailies, weeklies, "
                          "monthlies and quarterlies",
                          "gaps": [row["day"] for row in rows if row["expiry"] is None],
                          "by_day": rows})
    return calendars


def schedule_windows(schedule: Schedule | None, launch: datetime,
                     now: datetime) -> dict[str, Any] | None:
    """Every cycle of a run launched at `launch`, or the next three daily windows."""
    if schedule is None:
        return None
    if isinstance(schedule, CycleSchedule):
        kind, windows = "cycles", list(schedule.windows(launch))
    else:
        today = now.astimezone(UTC).date()
        near = (schedule.window_on(today + timedelta(days=k)) for k in range(-1, 4))
        kind, windows = "daily", [w for w in near if w.open_end > now][:3]
    return {"type": kind, "launch": launch.isoformat() if kind == "cycles" else None,
            "windows": [_window(kind, w, now) for w in windows]}


def _window(kind: str, w: CycleWindow, now: datetime) -> dict[str, Any]:
    state = "upcoming" if now < w.open_start else "open" if now < w.open_end else "past"
    return {"cycle": w.index, "label": _label(kind, w), "open_start": w.open_start.isoformat(),
            "open_end": w.open_end.isoformat(), "close_at": w.close_at.isoformat(),
            "state": state, "opens_in": span(w.open_start - now)}


def _label(kind: str, window: CycleWindow) -> str:
    return f"cycle {window.index}" if kind == "cycles" else f"{window.open_start:%a %Y-%m-%d}"


def rule_name(value: object) -> str:
    """`MaxHoldExit` -> `max_hold`, `PhasedLimitExecution` -> `phased_limit`."""
    name = type(value).__name__
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name != suffix:
            name = name[: -len(suffix)]
            break
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def describe(value: object) -> str:
    """A rule, profile or value in one line: `max_hold(limit 10s)`."""
    if is_dataclass(value) and not isinstance(value, type):
        parts = [f"{f.name} {describe(getattr(value, f.name))}" for f in fields(value)
                 if getattr(value, f.name) is not None and f.name != "profile"]
        profile = getattr(value, "profile", None)
        label = f"{rule_name(value)} [profile {profile}]" if profile else rule_name(value)
        return f"{label}({', '.join(parts)})" if parts else label
    if isinstance(value, timedelta):
        return span(value)
    if isinstance(value, tuple | frozenset):
        return "[" + "; ".join(describe(item) for item in value) + "]"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def span(delta: timedelta) -> str:
    """`1d2h`, `5m`, `30s`, `0s`: a duration the way strategy files write it."""
    seconds = int(abs(delta).total_seconds())
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"),
             (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    text = "".join(f"{amount}{unit}" for amount, unit in parts if amount)
    return ("-" if delta < timedelta(0) else "") + (text or "0s")
