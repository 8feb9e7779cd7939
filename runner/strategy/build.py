"""Turn a schema-valid strategy document into the frozen model of `model.py`.

The invariant: `build_strategy` is only called on data that passed the JSON Schema and
whose profile references resolve, so it reads keys without re-checking their types;
what a schema cannot say (signs, orders of times, reachability) is `semantics.py`'s job.
The conversions of leaves (durations, times, rules) live in `convert.py`; structure
shorthands expand in `structures.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.strategy.conditions import entry_rule
from runner.strategy.convert import (
    duration,
    exit_rule,
    expiry_rule,
    leg_spec,
    limit_of_day,
    schedule,
    to_decimal,
)
from runner.strategy.model import (
    AutoExecution,
    ExecutionPlan,
    ExecutionSpec,
    LimitExecution,
    LimitLike,
    Phase,
    PhasedLimitExecution,
    PriceGuards,
    PriceReference,
    RfqExecution,
    RiskSpec,
    StrategySpec,
    StructureKind,
    StructureSpec,
    TimingSpec,
)
from runner.strategy.structures import expand_structure

Profiles = Mapping[str, Mapping[str, Any]]


class ProfileError(ValueError):
    """A profile reference that does not resolve (unknown name, or a cycle)."""


def build_strategy(data: Mapping[str, Any], source: Path, profiles: Profiles) -> StrategySpec:
    """Build one strategy; `profiles` holds the raw profile documents of every file."""
    underlying = Underlying(data.get("underlying", "BTC"))
    structure = None
    if "structure" in data:
        raw = data["structure"]
        structure = StructureSpec(StructureKind(raw["type"]), Side(raw["side"]),
                                  to_decimal(raw["qty"]), expiry_rule(raw["expiry"]))
        legs = expand_structure(raw, underlying)
    else:
        legs = tuple(leg_spec(raw, underlying) for raw in data["legs"])
    execution = data["execution"]
    open_spec = execution_spec(execution["open"], profiles)
    close_spec = execution_spec(execution.get("close", execution["open"]), profiles)
    return StrategySpec(
        name=data["name"],
        description=data.get("description", ""),
        enabled=data["enabled"],
        underlying=underlying,
        source=source,
        legs=legs,
        entry=entry_rule(data.get("entry", [])),
        timing=timing_spec(data.get("timing", {})),
        schedule=schedule(data["schedule"]) if "schedule" in data else None,
        execution=ExecutionPlan(open_spec, close_spec),
        exits=tuple(exit_rule(raw) for raw in data["exits"]),
        risk=risk_spec(data.get("risk", {})),
        structure=structure,
        version=data["version"],
    )


def timing_spec(raw: Mapping[str, Any]) -> TimingSpec:
    defaults = TimingSpec()
    return TimingSpec(
        check_interval=duration(raw.get("check_interval")) or defaults.check_interval,
        cooldown=duration(raw["cooldown"]) if "cooldown" in raw else defaults.cooldown,
        max_concurrent_trades=raw.get("max_concurrent_trades", defaults.max_concurrent_trades),
        max_trades_per_day=limit_of_day(raw.get("max_trades_per_day"),
                                        defaults.max_trades_per_day),
        max_attempts_per_day=limit_of_day(raw.get("max_attempts_per_day"),
                                          defaults.max_attempts_per_day),
    )


def risk_spec(raw: Mapping[str, Any]) -> RiskSpec:
    def optional(key: str) -> Any:
        return to_decimal(raw[key]) if key in raw else None

    return RiskSpec(optional("max_notional_per_trade_usd"),
                    optional("max_notional_per_strategy_usd"))


def execution_spec(raw: Mapping[str, Any], profiles: Profiles,
                   seen: tuple[str, ...] = ()) -> ExecutionSpec:
    """An inline execution or a `{profile: name}` reference, fully resolved."""
    if "profile" in raw:
        name = raw["profile"]
        if name in seen:
            raise ProfileError(f"profile '{name}' refers to itself through "
                               + " -> ".join((*seen, name)))
        if name not in profiles:
            raise ProfileError(f"unknown profile '{name}'")
        resolved = execution_spec(profiles[name], profiles, (*seen, name))
        return _named(resolved, name)
    mode = raw["mode"]
    if mode == "limit":
        return limit_spec(raw)
    if mode == "rfq":
        return rfq_spec(raw, profiles, seen)
    return AutoExecution(
        rfq=_as_rfq(execution_spec(raw["rfq"], profiles, seen)),
        limit=_as_limit(execution_spec(raw["limit"], profiles, seen)),
    )


def _named(spec: ExecutionSpec, name: str) -> ExecutionSpec:
    from dataclasses import replace

    return replace(spec, profile=name)


def _as_rfq(spec: ExecutionSpec) -> RfqExecution:
    if not isinstance(spec, RfqExecution):
        raise ProfileError("auto.rfq must be an rfq execution")
    return spec


def _as_limit(spec: ExecutionSpec) -> LimitLike:
    if not isinstance(spec, LimitExecution | PhasedLimitExecution):
        raise ProfileError("a limit execution is required here")
    return spec


def price_guards(raw: Mapping[str, Any]) -> PriceGuards:
    defaults = PriceGuards()
    floor = raw.get("open_sell_floor_pct_of_fair")
    min_floor = raw.get("min_floor_price")
    return PriceGuards(
        open_sell_floor_pct_of_fair=to_decimal(floor) if floor is not None else None,
        min_floor_price=to_decimal(min_floor) if min_floor is not None else None,
        reprice_threshold_pct=to_decimal(raw.get("reprice_threshold_pct",
                                                 defaults.reprice_threshold_pct)),
    )


def limit_spec(raw: Mapping[str, Any]) -> LimitLike:
    guards = price_guards(raw)
    if "phases" in raw:
        phases = tuple(
            Phase(duration=duration(item["duration"]),
                  requote_interval=duration(item["requote_interval"]),
                  reference=PriceReference(item["price"]),
                  offset_pct=to_decimal(item.get("offset_pct", 0)))
            for item in raw["phases"]
        )
        return PhasedLimitExecution(phases, guards)
    defaults = LimitExecution()
    return LimitExecution(
        fill_timeout=duration(raw.get("fill_timeout")) or defaults.fill_timeout,
        requote_rounds=raw.get("requote_rounds", defaults.requote_rounds),
        aggressive_buffer_pct=to_decimal(raw.get("aggressive_buffer_pct",
                                                 defaults.aggressive_buffer_pct)),
        guards=guards,
    )


def rfq_spec(raw: Mapping[str, Any], profiles: Profiles, seen: tuple[str, ...]) -> RfqExecution:
    defaults = RfqExecution()
    fallback_raw = raw.get("fallback", "limit")
    fallback: LimitLike | None
    if fallback_raw == "none":
        fallback = None
    elif fallback_raw == "limit":
        fallback = LimitExecution()
    else:
        fallback = _as_limit(execution_spec(fallback_raw, profiles, seen))
    return RfqExecution(
        timeout=duration(raw.get("timeout")) or defaults.timeout,
        min_improvement_pct=to_decimal(raw.get("min_improvement_pct", 0)),
        fallback=fallback,
        min_notional_usd=to_decimal(raw.get("min_notional_usd", defaults.min_notional_usd)),
        action=Side(raw["action"]) if "action" in raw else None,
    )
