"""Why an open was given up, in a trader's words (issue 12 item 3).

The executors call these when an open fails, so the trade's `failure_reason` (the
report, the simulation summary, the live log and `runner status` all show it) says what
was tried and what stood in the way: "no quote beat the book by 0.5 % within 3m: best
quote was 1.8 % worse (4 quotes); fallback none", "entry orders not filled within 2m: 2
pricing rounds, 11 requotes; missing leg 0 0/0.01 BTC-...; nothing was held". Worded
"kind: details", the kind free of per-trade particulars, so a report can count failures
by kind. Pure text from the execution's own memory; nothing here decides anything.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.domain.trades import Trade
from runner.execution.phases import phase_plan, rounds_of
from runner.execution.state import LimitProgress, RfqProgress


def span_text(delta: timedelta) -> str:
    """`1d2h`, `3m`, `30s`: a duration the way strategy files write it."""
    seconds = int(abs(delta).total_seconds())
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"),
             (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount) or "0s"


def _percent(value: Decimal) -> str:
    """Two decimals for a person to read (display only: the value itself is never rounded)."""
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def rfq_timeout_why(rfq: RfqProgress) -> str:
    """No quote was accepted by the deadline: what came, and how far from the book.

    Worded "kind: details" (the kind is what a report counts failures by)."""
    within = span_text(rfq.spec.timeout)
    minimum = _percent(rfq.spec.min_improvement_pct)
    quotes = len(rfq.quotes_seen)
    if quotes == 0:
        return f"no quote arrived within {within}: the makers sent no usable quote"
    counted = f"{quotes} quote{'' if quotes == 1 else 's'}"
    best = rfq.best_improvement
    if best is None:
        gaps = ", ".join(rfq.unpriced_legs) or "no price for every leg"
        return (f"no quote could be judged within {within}: the orderbook had {gaps} to"
                f" compare {counted} with")
    if best < 0:
        standing = f"best quote was {_percent(-best)} % worse"
    else:
        standing = f"best quote beat it by only {_percent(best)} %"
    return f"no quote beat the book by {minimum} % within {within}: {standing} ({counted})"


def without_fallback(why: str) -> str:
    return f"{why}; fallback none"


def limit_open_why(trade: Trade, progress: LimitProgress) -> str:
    """The limit open used its whole budget: how long, how many requotes, what is missing."""
    budget = sum((phase.duration for phase in phase_plan(progress.spec)), timedelta(0))
    rounds = rounds_of(progress.spec)
    missing = ", ".join(f"leg {leg.index} {leg.filled_qty}/{leg.qty} {leg.symbol}"
                        for leg in trade.legs if not leg.is_filled)
    if not progress.orders:
        unpriced = "; ".join(sorted({leg.unpriced for leg in progress.legs if leg.unpriced}))
        return (f"entry orders never placed within {span_text(budget)}: "
                f"{unpriced or 'no leg could be priced'}")
    placed: dict[int, int] = {}
    for order in progress.orders:
        placed[order.key.leg_index] = placed.get(order.key.leg_index, 0) + 1
    requotes = max(placed.values()) - 1
    return (f"entry orders not filled within {span_text(budget)}: {rounds} pricing rounds,"
            f" {requotes} requote{'' if requotes == 1 else 's'}; missing {missing}")
