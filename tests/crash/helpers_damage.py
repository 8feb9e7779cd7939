"""Store damage between kills, and the two figures that matter after it (issue 7).

Damage kinds: the store file truncated to 0 bytes, NUL-filled or cut in half while the
service is down, or deleted (with its directory) while it runs. After a damage that loses
the store's memory, the ordinary audit (`helpers_audit.audit`: every venue fill belongs
to a trade in the store) cannot hold by definition; what must hold instead:
- no duplicate open: no trade is created while the venue holds positions the store does
  not explain (checked at every `trade_created` event against the venue, independently
  of the service's own check), and per strategy and UTC day the trades the venue saw
  opened by limit orders (client order id tags) stay within `max_trades_per_day`;
- no unmanaged position: at the end every venue position is either explained by the
  store, or the service says DECISION NEEDED about it (`store.positions`); after the
  operator's `--flatten` decision nothing is held.
A store deleted while running is written back by the service, so the ordinary audit
must still hold after it.
"""

from __future__ import annotations

import random
import shutil
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from runner.cli.operator import apply_start_decision
from runner.domain.client_ids import read_tags, strategy_tag
from runner.reconcile.truth import position_gaps
from runner.service.runtime import Runtime
from runner.service.store_guard import POSITIONS_KEY, holdings
from runner.sim.records import TRADE_TYPE_BLOCK
from runner.sim.venue import SimVenue
from runner.store.store import Store
from runner.strategy.model import StrategySpec

DOWN_DAMAGES = ("zero", "nul", "half")
DAMAGES = (*DOWN_DAMAGES, "delete_running")
COMPANIONS = ("-wal", "-shm")


def damage_down(path: Path, kind: str) -> None:
    """Damage the store of a stopped (killed) service."""
    for suffix in COMPANIONS:  # a kill leaves the WAL; what it holds is lost with the file
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    if not path.exists():
        return
    size = path.stat().st_size
    if kind == "zero":
        path.write_bytes(b"")
    elif kind == "nul":
        path.write_bytes(b"\0" * size)
    else:
        with path.open("r+b") as handle:
            handle.truncate(size // 2)


def delete_running(state_dir: Path) -> None:
    """Remove the whole state directory under a running service."""
    shutil.rmtree(state_dir, ignore_errors=True)


def choose(rng: random.Random, rate: float) -> str | None:
    return rng.choice(DAMAGES) if rng.random() < rate else None


class OpenWatch:
    """A listener that checks, at each trade the service creates, that the venue held
    nothing the store does not explain (an open over unexplained positions is the
    duplicate open issue 7 is about)."""

    def __init__(self, venue: SimVenue, inner: Callable[[str, dict[str, object]], None]
                 | None = None) -> None:
        self.venue = venue
        self.inner = inner
        self.runtime: Runtime | None = None
        self.violations: list[str] = []

    def __call__(self, kind: str, data: dict[str, object]) -> None:
        if kind == "trade_created" and self.runtime is not None:
            gaps = unexplained(self.runtime.store, self.venue, self.runtime.clock.now(),
                               exclude=str(data["trade"]))
            if gaps:
                self.violations.append(f"duplicate open: trade {data['trade']} created while"
                                       f" the venue held unexplained {gaps}")
        if self.inner is not None:
            self.inner(kind, data)


def unexplained(store: Store, venue: SimVenue, now: datetime,
                exclude: str | None = None) -> list[str]:
    """Venue positions the store's trades do not explain (symbols being worked aside)."""
    trades = [t for t in store.load_trades()
              if t.trade_id != exclude and (t.stage.is_active or not t.is_flat)]
    working = store.load_executions()
    moving = {leg.symbol for t in trades if t.trade_id in working for leg in t.legs}
    moving |= {o.request.symbol for o in store.live_orders()}
    gaps = position_gaps(holdings(trades), store.external_positions(), venue.positions(), now,
                         moving)
    return [gap.text() for gap in gaps]


def limit_opens_per_day(venue: SimVenue,
                        specs: Sequence[StrategySpec]) -> list[str]:
    """Per strategy and UTC day, trades opened by limit orders (from the client order id
    tags of filled orders) beyond `max_trades_per_day`."""
    names = {strategy_tag(spec.name): spec for spec in specs}
    seen: dict[tuple[str, object], set[int]] = defaultdict(set)
    for order in venue.order_records():
        if order.trade_type == TRADE_TYPE_BLOCK or not order.client_order_id \
                or order.filled_qty <= 0:
            continue
        tags = read_tags(order.client_order_id)
        spec = names.get(tags.strategy_tag)
        if spec is not None and tags.opening:
            seen[(spec.name, order.created_at.date())].add(tags.trade_tag)
    problems = []
    limits = {spec.name: spec.timing.max_trades_per_day for spec in specs}
    for (name, day), tags_seen in sorted(seen.items(), key=lambda item: str(item[0])):
        limit = limits[name]
        if limit is not None and len(tags_seen) > limit:
            problems.append(f"duplicate open: {name} opened {len(tags_seen)} trades by limit"
                            f" orders on {day}, allowed {limit}")
    return problems


def final_verdict(runtime: Runtime, venue: SimVenue) -> tuple[list[str], int]:
    """(unmanaged positions, positions flagged DECISION NEEDED) at the end of a run, then
    the operator's --flatten decision; anything still held after it is unmanaged."""
    now = runtime.clock.now()
    gaps = unexplained(runtime.store, venue, now)
    flagged = runtime.service.attention.is_open(POSITIONS_KEY)
    problems = [f"unmanaged position (no DECISION NEEDED): {gap}" for gap in gaps
                if not flagged]
    if gaps:
        decision = apply_start_decision(runtime.store, venue, now, "flatten")
        held = {p.symbol: p.qty for p in venue.positions() if p.qty != 0
                and not _expired(p.symbol, now)}
        if held:
            problems.append(f"after the operator's --flatten still held: {held}"
                            f" ({'; '.join(decision.lines[-3:])})")
    return problems, len(gaps) if flagged else 0


def _expired(symbol: str, now: datetime) -> bool:
    from runner.domain.instruments import parse_symbol

    return parse_symbol(symbol).expiry <= now

