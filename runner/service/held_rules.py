"""Which rules manage each trade in flight: the file loaded now, or the copy it opened with.

A trade keeps the rules it opened with (issue 7 item 2). When it opened, its strategy's
source documents were stored with it (`runner.store.copy_store`); at every start the
service resolves, for each trade in flight:
- its stored copy equals the strategy loaded now: the loaded strategy manages it, as always;
- the file was since edited into an invalid file, renamed, deleted or disabled, or changed
  in any way: the copy manages it (its exits and its close execution); new trades of a
  valid file use the file;
- no copy (a trade from before copies were kept), or a copy the loader now refuses: the
  loaded strategy manages it, and the log says so;
- neither: nothing can manage it. That is a concern that needs the operator at once.
Each of these except the first is said once, at start, in one line per trade.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from runner.domain.trades import Trade
from runner.strategy.copies import CopyRefused, rebuild
from runner.strategy.model import StrategySpec
from runner.strategy.origin import SpecOrigin


@dataclass(frozen=True, slots=True)
class HeldTrade:
    """A trade not simply managed by its loaded strategy: by what, and why."""

    trade_id: str
    strategy: str
    spec: StrategySpec | None  # the rules that manage it; None: nothing can
    from_copy: bool  # True: `spec` is the stored copy, not the loaded strategy
    why: str

    def line(self) -> str:
        if self.spec is None:
            return (f"trade {self.trade_id} of {self.strategy} is NOT managed: {self.why}; its "
                    "exits are not evaluated: fix the strategy file and restart, or close it "
                    "with `runner trades close`")
        source = "its stored copy" if self.from_copy else "the current file"
        return f"trade {self.trade_id} of {self.strategy} is managed from {source}: {self.why}"


@dataclass(frozen=True, slots=True)
class HeldRules:
    """The trades in flight that are managed from a stored copy, or not at all."""

    held: tuple[HeldTrade, ...] = ()

    def copy_for(self, trade_id: str) -> StrategySpec | None:
        """The stored copy that manages this trade, or None (its loaded strategy does)."""
        for item in self.held:
            if item.trade_id == trade_id and item.from_copy:
                return item.spec
        return None

    def held_ids(self, strategy: str) -> frozenset[str]:
        """Trades of `strategy` managed from a copy: the loaded strategy must not exit them."""
        return frozenset(item.trade_id for item in self.held
                         if item.strategy == strategy and item.from_copy)

    def copies(self) -> list[tuple[StrategySpec, frozenset[str]]]:
        """Each stored copy in use, with the trades it manages."""
        groups: dict[int, tuple[StrategySpec, set[str]]] = {}
        for item in self.held:
            if item.from_copy and item.spec is not None:
                groups.setdefault(id(item.spec), (item.spec, set()))[1].add(item.trade_id)
        return [(spec, frozenset(ids)) for spec, ids in groups.values()]

    def unmanaged(self) -> tuple[HeldTrade, ...]:
        return tuple(item for item in self.held if item.spec is None)

    def lines(self) -> tuple[str, ...]:
        return tuple(item.line() for item in self.held)


def faithful_origin(spec: StrategySpec) -> SpecOrigin | None:
    """The spec's source documents, when they rebuild exactly this spec; else None.

    A spec changed in code after loading (`dataclasses.replace`, as tests and tools do)
    still carries the documents of the file; storing those would later manage its trades
    by rules they never had. Such a trade gets no copy, like a trade from before copies.
    """
    if spec.origin is None:
        return None
    rebuilt = rebuild(spec.name, spec.origin)
    return spec.origin if rebuilt == spec else None


def resolve_held_rules(store: object, specs: Sequence[StrategySpec],
                       trades: Iterable[Trade]) -> HeldRules:
    """Decide, for each trade in flight, which rules manage it (module docstring)."""
    active = list(trades)
    loaded = {spec.name: spec for spec in specs}
    stored = store.strategy_copies(t.trade_id for t in active)  # type: ignore[attr-defined]
    rebuilt: dict[str, StrategySpec | CopyRefused] = {}
    held = []
    for trade in sorted(active, key=lambda t: (t.created_at, t.trade_id)):
        current = loaded.get(trade.strategy)
        copy = stored.get(trade.trade_id)
        if copy is None:
            item = _without_copy(trade, current, "it opened before strategy copies were kept")
        else:
            if copy.copy_hash not in rebuilt:
                rebuilt[copy.copy_hash] = rebuild(trade.strategy,
                                                  SpecOrigin.from_json(copy.documents))
            item = _with_copy(trade, current, rebuilt[copy.copy_hash])
        if item is not None:
            held.append(item)
    return HeldRules(tuple(held))


def _without_copy(trade: Trade, current: StrategySpec | None, why: str) -> HeldTrade:
    if current is None:
        return HeldTrade(trade.trade_id, trade.strategy, None, False,
                         f"{why}, and no valid strategy named '{trade.strategy}' is loaded")
    return HeldTrade(trade.trade_id, trade.strategy, current, False, why)


def _with_copy(trade: Trade, current: StrategySpec | None,
               copy: StrategySpec | CopyRefused) -> HeldTrade | None:
    if isinstance(copy, CopyRefused):
        return _without_copy(trade, current, f"its stored copy is refused ({copy.reason})")
    if current == copy:
        return None
    return HeldTrade(trade.trade_id, trade.strategy, copy, True, _why_copy(copy, current))


def _why_copy(copy: StrategySpec, current: StrategySpec | None) -> str:
    if current is None:
        if not Path(copy.source).exists():
            return f"its file {copy.source} is gone (deleted or renamed)"
        return (f"its file {copy.source} no longer defines a valid strategy "
                f"'{copy.name}' (invalid, or renamed)")
    if not current.enabled and replace(current, enabled=copy.enabled) == copy:
        return "the strategy is disabled; the trade keeps its exits"
    return (f"{current.source} changed since the trade opened; the trade keeps the rules it "
            "opened with, new trades use the file")
