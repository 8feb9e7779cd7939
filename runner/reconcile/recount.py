"""Today's trades per strategy, recounted from the exchange when the store lost them.

When the store starts blank (new or quarantined), the trades it held are gone, and with
them the counts the daily limits gate on (lessons A1, I3): a strategy allowed one trade a
day would trade again. The exchange still knows: every fill of the UTC day names its
order, and the order's client order id carries the strategy and trade tags
(`domain.client_ids`). Distinct trade tags among the opening fills of a strategy's tag
are the trades it made today. The result is stored (`daily_recounts`), so it survives
restarts, and `tracking.ExecutionBook` adds it to what the store counts itself.

Fills whose order is unknown, untagged (an RFQ's block trade, a runner before issue 7,
someone else's order) are reported as unattributed, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time

from runner.domain.client_ids import read_tags, strategy_tag
from runner.exchange.port import Exchange
from runner.store.meta import Recount


@dataclass(frozen=True, slots=True)
class RecountResult:
    """What the recount found: per strategy, and the fills it could not attribute."""

    recounts: tuple[Recount, ...]
    unattributed: int

    def lines(self) -> list[str]:
        found = [f"recount: {r.strategy} made {r.trades} trade(s) on {r.day} before this start"
                 " (from the exchange's fills; the daily limits count them)"
                 for r in self.recounts]
        if self.unattributed:
            found.append(f"recount: {self.unattributed} fill(s) of today could not be"
                         " attributed to a strategy (block trades, or orders not placed by"
                         " this runner); they are not counted")
        return found or ["recount: no trade of a configured strategy today before this start"]


def recount_today(exchange: Exchange, strategies: Iterable[str],
                  now: datetime) -> RecountResult:
    """Recount today's (UTC) trades of `strategies` from the exchange (raises ExchangeError)."""
    names_by_tag: dict[int, list[str]] = {}
    for name in strategies:
        names_by_tag.setdefault(strategy_tag(name), []).append(name)
    midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
    trades: dict[str, set[int]] = {}
    last: dict[str, datetime] = {}
    client_ids: dict[int, int | None] = {}
    unattributed = 0
    for fill in exchange.fills(midnight):
        if fill.order_id not in client_ids:
            order = exchange.get_order(order_id=fill.order_id)
            client_ids[fill.order_id] = order.client_order_id if order else None
        cid = client_ids[fill.order_id]
        tags = read_tags(cid) if cid else None
        owners = names_by_tag.get(tags.strategy_tag, []) if tags else []
        if tags is None or not owners:
            unattributed += 1
            continue
        if not tags.opening:
            continue
        for name in owners:
            trades.setdefault(name, set()).add(tags.trade_tag)
            last[name] = max(last.get(name, fill.at), fill.at)
    recounts = tuple(Recount(name, now.date(), len(tags_seen), last.get(name))
                     for name, tags_seen in sorted(trades.items()))
    return RecountResult(recounts, unattributed)
