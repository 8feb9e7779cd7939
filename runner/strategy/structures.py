"""Structure shorthands expanded to legs.

Leg order (what `leg_greek_limit.leg` and `from_leg` indexes refer to):
- strangle: call, put. Default strikes: call delta 0.25, put delta -0.25.
- straddle: call, put, both at `strike` (default ATM).
- iron_condor: inner call, inner put, outer call, outer put. `side: sell` sells the
  inner strikes and buys the wings (a short iron condor, premium received); `side:
  buy` is the reverse iron condor. Wings: `width_usd` / `width_pct` / `width_steps`
  away from the inner strike, or `delta` (call +d, put -d), or `spot_distance_pct`
  (call spot+p %, put spot-p %).
- butterfly: body (2 x qty), lower wing, upper wing, all of `option` kind. `side: buy`
  buys the wings and sells the body (long butterfly). Wings are `width_*` from the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.strategy.convert import expiry_rule, strike_rule, to_decimal
from runner.strategy.model import (
    AtmStrike,
    DeltaStrike,
    LegSpec,
    MoveUnit,
    OffsetUnit,
    RelativeStrike,
    SpotDistanceStrike,
    StrikeRule,
    StructureKind,
    StructureOrigin,
)

DEFAULT_STRANGLE_DELTA = Decimal("0.25")


def expand_structure(raw: Mapping[str, Any], underlying: Underlying) -> tuple[LegSpec, ...]:
    """The legs of a `structure:` mapping, in the documented order."""
    kind = StructureKind(raw["type"])
    side = Side(raw["side"])
    qty = to_decimal(raw["qty"])
    expiry = expiry_rule(raw["expiry"])

    def leg(option: OptionKind, leg_side: Side, strike: StrikeRule, role: str,
            size: Decimal = qty) -> LegSpec:
        return LegSpec(option, leg_side, size, strike, expiry, underlying,
                       StructureOrigin(kind, role))

    if kind is StructureKind.STRANGLE:
        call = _rule(raw, "call", DeltaStrike(DEFAULT_STRANGLE_DELTA))
        put = _rule(raw, "put", DeltaStrike(-DEFAULT_STRANGLE_DELTA))
        return (leg(OptionKind.CALL, side, call, "call"), leg(OptionKind.PUT, side, put, "put"))
    if kind is StructureKind.STRADDLE:
        strike = _rule(raw, "strike", AtmStrike())
        return (leg(OptionKind.CALL, side, strike, "call"),
                leg(OptionKind.PUT, side, strike, "put"))
    if kind is StructureKind.IRON_CONDOR:
        return _iron_condor(raw, side, leg)
    return _butterfly(raw, side, qty, leg)


def _rule(raw: Mapping[str, Any], key: str, default: StrikeRule) -> StrikeRule:
    return strike_rule(raw[key]) if key in raw else default


def _width(wings: Mapping[str, Any]) -> tuple[Decimal, OffsetUnit] | None:
    for unit in OffsetUnit:
        key = f"width_{unit.value}"
        if key in wings:
            return to_decimal(wings[key]), unit
    return None


def _iron_condor(raw: Mapping[str, Any], side: Side, leg: Any) -> tuple[LegSpec, ...]:
    inner_call, inner_put = strike_rule(raw["call"]), strike_rule(raw["put"])
    wings = raw["wings"]
    outer_call: StrikeRule
    outer_put: StrikeRule
    width = _width(wings)
    if width is not None:
        amount, unit = width
        outer_call, outer_put = RelativeStrike(0, amount, unit), RelativeStrike(1, -amount, unit)
    elif "delta" in wings:
        delta = to_decimal(wings["delta"])
        outer_call, outer_put = DeltaStrike(delta), DeltaStrike(-delta)
    else:
        pct = to_decimal(wings["spot_distance_pct"])
        outer_call = SpotDistanceStrike(pct, MoveUnit.PCT)
        outer_put = SpotDistanceStrike(-pct, MoveUnit.PCT)
    wing_side = side.opposite
    return (leg(OptionKind.CALL, side, inner_call, "inner_call"),
            leg(OptionKind.PUT, side, inner_put, "inner_put"),
            leg(OptionKind.CALL, wing_side, outer_call, "outer_call"),
            leg(OptionKind.PUT, wing_side, outer_put, "outer_put"))


def _butterfly(raw: Mapping[str, Any], side: Side, qty: Decimal,
               leg: Any) -> tuple[LegSpec, ...]:
    option = OptionKind(raw["option"])
    body = _rule(raw, "body", AtmStrike())
    width = _width(raw["wings"])
    if width is None:
        raise ValueError("butterfly wings need width_usd, width_pct or width_steps")
    amount, unit = width
    return (leg(option, side.opposite, body, "body", qty * 2),
            leg(option, side, RelativeStrike(0, -amount, unit), "lower"),
            leg(option, side, RelativeStrike(0, amount, unit), "upper"))
