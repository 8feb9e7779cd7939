"""What needs the operator now: concerns the service raises and clears while it runs.

A concern has a stable key, so it is raised once (one log line, one alert) however many
ticks it lasts, and cleared when it ends. The heartbeat carries the open concerns, so
`runner health` reports the service as degraded and `runner status` can list them.

A concern may block entries, for every strategy (the store and the exchange disagree,
the store vanished while running) or for one strategy (its failed close still holds
legs). Only new opens are ever blocked: exits, closes, settlements and working orders
go on, because blocking them would leave positions unmanaged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Concern:
    """One condition the operator should know about, in words they can act on."""

    key: str
    text: str
    blocks_entries: bool = False
    strategy: str | None = None  # None: the concern is about the whole service

    def blocks(self, strategy: str) -> bool:
        """Whether this concern stops `strategy` from opening anything new."""
        return self.blocks_entries and self.strategy in (None, strategy)

    def line(self) -> str:
        scope = f"{self.strategy}: " if self.strategy else ""
        suffix = " (entries blocked)" if self.blocks_entries else ""
        return f"{scope}{self.text}{suffix}"


# Called with the concern and True when it is raised (or its text changed), False when
# it is cleared; the service logs and alerts from here.
ConcernListener = Callable[[Concern, bool], None]


class Attention:
    """The open concerns, by key."""

    def __init__(self, listener: ConcernListener | None = None) -> None:
        self._concerns: dict[str, Concern] = {}
        self._listener = listener or (lambda _concern, _raised: None)

    def report(self, key: str, text: str, *, blocks_entries: bool = False,
               strategy: str | None = None) -> bool:
        """Raise (or keep) a concern; True when it is new or its words changed."""
        concern = Concern(key, text, blocks_entries, strategy)
        if self._concerns.get(key) == concern:
            return False
        self._concerns[key] = concern
        self._listener(concern, True)
        return True

    def clear(self, key: str) -> bool:
        """End a concern; True when it was open."""
        concern = self._concerns.pop(key, None)
        if concern is None:
            return False
        self._listener(concern, False)
        return True

    def clear_prefix(self, prefix: str, *, keep: frozenset[str] = frozenset()) -> None:
        """End every concern whose key starts with `prefix`, except those in `keep`."""
        for key in [k for k in self._concerns if k.startswith(prefix) and k not in keep]:
            self.clear(key)

    def is_open(self, key: str) -> bool:
        return key in self._concerns

    def concerns(self) -> tuple[Concern, ...]:
        return tuple(self._concerns[key] for key in sorted(self._concerns))

    def entry_block(self, strategy: str) -> str | None:
        """Why `strategy` may not open anything now, or None when it may."""
        reasons = [c.text for c in self.concerns() if c.blocks(strategy)]
        return "; ".join(reasons) if reasons else None

    def lines(self) -> tuple[str, ...]:
        """Every open concern as one line, for the heartbeat and `runner status`."""
        return tuple(concern.line() for concern in self.concerns())
