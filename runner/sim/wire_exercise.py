"""The exercise history as Coincall answers it (`GET /open/settle/exercise/history/v1`).

Shape and field names follow the docs' only example ("Get Exercise Details",
coincall-web3/cc-docs and cc-nikolai/cc-docs source/includes/_option_en.md): numbers as
JSON numbers, `qty` unsigned with the side in `tradeSide`, `netCashFlow` =
`openCashFlow` + `settlementCashFlow` with the fee apart in `fees`, pages of at most 50
rows (`page`, `pageSize`) inside `{list, hasNext, hasPrev}`, newest first. Built from the
port's `Exercise`, so any venue behind the port can be served.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from runner.domain.clock import to_epoch_ms
from runner.domain.exercise import Exercise
from runner.domain.instruments import OptionKind, parse_symbol
from runner.sim.wire_out import num

MAX_EXERCISE_PAGE: Final = 50
_ZERO: Final = Decimal(0)


def exercise_page(rows: Sequence[Exercise], page_no: int, size: int) -> dict[str, Any]:
    """One page (1-based) of rows, newest first."""
    size = min(MAX_EXERCISE_PAGE, max(1, size))
    ordered = sorted(rows, key=lambda e: (e.at is not None, e.at), reverse=True)
    start = (max(1, page_no) - 1) * size
    chosen = ordered[start:start + size]
    return {"list": [exercise_row(e) for e in chosen],
            "hasNext": start + size < len(ordered), "hasPrev": start > 0}


def exercise_row(item: Exercise) -> dict[str, Any]:
    settlement = _settlement_cash_flow(item)
    net = item.net_cash_flow if item.net_cash_flow is not None else settlement
    return {
        "symbol": item.symbol,
        "time": to_epoch_ms(item.at) if item.at is not None else 0,
        "qty": num(abs(item.qty)),
        "tradeSide": 1 if item.qty > 0 else 2,
        "strike": num(item.strike),
        "exercisePrice": num(item.settlement_price),
        "openCashFlow": num(net - settlement),
        "settlementCashFlow": num(settlement),
        "netCashFlow": num(net),
        "fees": num(item.fee),
    }


def _settlement_cash_flow(item: Exercise) -> Decimal:
    if item.settlement_price is None:
        return _ZERO
    parts = parse_symbol(item.symbol)
    if parts.kind is OptionKind.CALL:
        intrinsic = max(_ZERO, item.settlement_price - parts.strike)
    else:
        intrinsic = max(_ZERO, parts.strike - item.settlement_price)
    return intrinsic * item.qty
