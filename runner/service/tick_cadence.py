"""How long the loop waits between two ticks: slower while the exchange is unreachable.

Lessons C4: live, exchange outages produced error storms, because the loop went on
polling every endpoint at its normal cadence. While `MarketWatch` says the venue is
unreachable (3 consecutive ticks whose essential reads failed), the loop waits
`SLOWER_BY` times its normal interval, at most `SLOWEST_SECONDS` (never less than the
normal interval, whatever it is). The first tick that reaches the exchange again makes
the exchange reachable, and the next wait is the normal one. Nothing else changes while
backing off: every tick still reads, retries exits and works orders, the staleness and
reachability alarms are raised and cleared by the watch as before, and new entries stay
blocked while the venue is unreachable.

Pure: a number in, a number out; `Service.run` asks it after every tick.
"""

from __future__ import annotations

from typing import Final

SLOWER_BY: Final = 3
SLOWEST_SECONDS: Final = 60.0


def seconds_until_next_tick(normal: float, *, reachable: bool) -> float:
    """The wait after a tick: `normal` while the exchange answers, slower while it does not."""
    if reachable:
        return normal
    return max(normal, min(normal * SLOWER_BY, SLOWEST_SECONDS))
