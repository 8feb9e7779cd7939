"""The exchange is the truth for what is live: the positions the store does not explain.

Pure: given what the store's trades hold (signed, per symbol), what the operator declared
someone else's, and the exchange's positions, list every symbol where the two differ.
A difference in either direction needs the operator (issue 7, lessons H6, A9):
- the exchange holds more than the store explains: a store that lost its memory (new,
  quarantined, deleted) would otherwise open a second position beside the first;
- the store holds more than the exchange shows: the position was closed by hand, or
  the store is wrong; the runner's exits would act on something that is not there.

Symbols whose orders are being worked right now are left out (fills arrive between two
reads), and so are expired instruments (settlement, lessons G1). The words of the
concern name the exact commands that explain a difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from runner.domain.instruments import parse_symbol
from runner.domain.snapshot import Position

ZERO: Final = Decimal(0)

COMMANDS: Final = (
    "stop the service and run `runner trades list`, then `runner trades adopt [SYMBOL ...]`"
    " (track them as trades), `runner trades flatten TRADE_ID` (close a tracked trade),"
    " `runner trades close-externally TRADE_ID` (the store's trade was closed by hand) or"
    " `runner trades external SYMBOL ...` (someone else's position: leave it alone);"
    " or restart with `runner run --adopt` or `runner run --flatten`."
    " Closing the position on the exchange also clears this")


@dataclass(frozen=True, slots=True)
class PositionGap:
    """The exchange shows `found` of `symbol` (signed); the store explains `explained`."""

    symbol: str
    found: Decimal
    explained: Decimal

    def text(self) -> str:
        return (f"{self.symbol}: exchange {_signed(self.found)},"
                f" store {_signed(self.explained)}")


def position_gaps(held: Mapping[str, Decimal], external: Mapping[str, Decimal],
                  positions: Iterable[Position], now: datetime,
                  in_motion: Iterable[str] = (),
                  failed: Mapping[str, Decimal] | None = None) -> tuple[PositionGap, ...]:
    """Every symbol where the exchange and the store (plus declared externals) differ.

    `failed` is what failed closes still hold (signed): it explains a position up to that
    quantity, but its absence is no gap (closed by hand, or settled: nothing can be
    decided about a finished trade, and it must never block entries for good)."""
    found = {p.symbol: p.qty for p in positions if p.qty != 0}
    spare = failed or {}
    moving = set(in_motion)
    gaps = []
    symbols = set(found) | {s for s, q in held.items() if q != 0} | set(external) | set(spare)
    for symbol in sorted(symbols):
        if symbol in moving or _is_expired(symbol, now):
            continue
        explained = held.get(symbol, ZERO) + external.get(symbol, ZERO)
        there = found.get(symbol, ZERO)
        most = explained + spare.get(symbol, ZERO)
        if not min(explained, most) <= there <= max(explained, most):
            nearest = most if abs(there - most) < abs(there - explained) else explained
            gaps.append(PositionGap(symbol, there, nearest))
    return tuple(gaps)


def gaps_text(gaps: Iterable[PositionGap], origin: str | None = None) -> str:
    """The concern's words: DECISION NEEDED, the differences, and the commands."""
    items = list(gaps)
    shown = "; ".join(gap.text() for gap in items[:6])
    more = f" and {len(items) - 6} more" if len(items) > 6 else ""
    why = f" (the store {origin})" if origin else ""
    return (f"DECISION NEEDED: the exchange's positions differ from the store{why}: {shown}"
            f"{more}. No strategy opens anything until this is explained: {COMMANDS}")


def _signed(qty: Decimal) -> str:
    return f"+{qty}" if qty > 0 else str(qty)


def _is_expired(symbol: str, now: datetime) -> bool:
    try:
        return parse_symbol(symbol).expiry <= now
    except ValueError:
        return False
