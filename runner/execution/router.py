"""Which executor runs a trade: the notional definition and the `auto` route.

Notional (lessons I4; `runner.strategy.model.NOTIONAL_DEFINITION`) is the sum over the legs
of strike x quantity, in USD. It is what Coincall's RFQ minimum is measured on
(coincall-api.md 6.4); premium (mark x qty) is never used, which is the old system's
defect that kept `auto` from ever reaching RFQ. `auto` routes to RFQ when the notional
reaches `rfq.min_notional_usd`, else to its limit spec; the reason is worded so that
`plan` and the trade's transition can show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from runner.domain.instruments import parse_symbol
from runner.strategy.model import (
    NOTIONAL_DEFINITION,
    AutoExecution,
    ExecutionSpec,
    LimitLike,
    RfqExecution,
)


def notional_usd(legs: Iterable[tuple[str, Decimal]]) -> Decimal:
    """Sum of strike x qty over (symbol, qty) pairs (the one notional definition)."""
    return sum((parse_symbol(symbol).strike * qty for symbol, qty in legs), Decimal(0))


@dataclass(frozen=True, slots=True)
class Route:
    spec: LimitLike | RfqExecution
    why: str

    @property
    def name(self) -> str:
        return "rfq" if isinstance(self.spec, RfqExecution) else "limit"


def route(spec: ExecutionSpec, notional: Decimal) -> Route:
    """Resolve `auto`; a limit or RFQ spec routes to itself."""
    if not isinstance(spec, AutoExecution):
        return Route(spec, f"{'rfq' if isinstance(spec, RfqExecution) else 'limit'} as"
                           " configured")
    minimum = spec.rfq.min_notional_usd
    text = f"notional {notional} USD ({NOTIONAL_DEFINITION})"
    if notional >= minimum:
        return Route(spec.rfq, f"auto: {text} >= the RFQ minimum {minimum}: rfq")
    return Route(spec.limit, f"auto: {text} < the RFQ minimum {minimum}: limit")
