"""How long the loop waits between two ticks: slower while the exchange is unreachable.

Lessons C4: live, exchange outages produced error storms, because the loop went on
polling every endpoint at its normal cadence. While `MarketWatch` says the venue is
unreachable (3 consecutive ticks whose essential reads failed), the loop waits
`SLOWER_BY` times its normal interval, at most `SLOWEST_SECONDS` (never less than the
normal interval, whatever it is). The first tick that reaches the exchange again makes
the exchange reachable, and the next wait is the normal one. Nothing else changes while
backing off: every tick still reads what is due, retries exits and works orders, the
staleness and reachability alarms are raised and cleared by the watch as before, and new
entries stay blocked while the venue is unreachable.

With lean reads (issue 11, `read_plan`) a tick reads only what is due, so the outage is
met by the first read due after it began (at the latest the 30 s liveness read) and the
venue is unreachable three reading ticks later. While it is, `ReadPlanner` makes the
liveness read on every (slower) tick even when nothing else is due: a loop that backed
off and read nothing could never see the exchange answer again. So the return is seen at
the first slow tick after the exchange answers, at most `SLOWER_BY` normal intervals late.

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
