"""Exercise history answers -> `Exercise` (the fee charged at expiry, lessons E6).

Evidence is thin: the only source is the docs' example ("Get Exercise Details",
`GET /open/settle/exercise/history/v1`, coincall-web3/cc-docs and cc-nikolai/cc-docs
source/includes/_option_en.md; the official SDK's `get_exercise_history` sends only
`symbol`). No live-tested client reads it. The documented row:
`{symbol, time, qty, tradeSide, strike, exercisePrice, openCashFlow, settlementCashFlow,
netCashFlow, fees}` inside `{list, hasNext, hasPrev}`, where netCashFlow = openCashFlow +
settlementCashFlow (-51.17 = 367.60 - 418.77), i.e. the fee is not in it.

So the reading is defensive, choosing what survives every plausible variant:
- only `symbol` and `qty` are required; every other field may be absent or null;
- the sign of `qty` comes from `tradeSide` (1 long, 2 short) when given, else from `qty`;
- `fees` is taken as a charge whatever its sign (an exercise fee is never a rebate, and
  some venues report charges negative); a row without `fees` gives `fee=None`, which
  the settlement treats as "not published" rather than as a free exercise;
- a bare list is read like `{list}` without more pages.
"""

from __future__ import annotations

from runner.domain.exercise import Exercise
from runner.domain.orders import Side
from runner.exchange.coincall import endpoints
from runner.exchange.coincall.wire.fields import Fields, listing


def exercises(data: object) -> tuple[list[Exercise], bool]:
    """One page of the exercise history, and whether another page follows."""
    rows, has_next = listing(data, endpoints.EXERCISE_HISTORY.name)
    return [_exercise(row) for row in rows], has_next


def _exercise(row: Fields) -> Exercise:
    qty = row.decimal("qty")
    if row.has("tradeSide"):
        qty = abs(qty) if row.trade_side() is Side.BUY else -abs(qty)
    fees = row.optional_decimal("fees")
    return Exercise(
        symbol=row.text("symbol"),
        qty=qty,
        fee=abs(fees) if fees is not None else None,
        at=row.optional_time("time"),
        settlement_price=row.optional_decimal("exercisePrice"),
        strike=row.optional_decimal("strike"),
        net_cash_flow=row.optional_decimal("netCashFlow"),
    )

