"""The budget clock of a limit execution stops while an order's outcome is unknown.

A request whose answer was lost leaves its order unknown: the dispatcher looks it up by
client order id (lessons D3), and an order the exchange does not show is declared never
placed only after the missing-order grace (30 s, lessons D2), because a fresh order may
not be visible yet. That wait is not an attempt. Were it counted, one lost close order
under a short fill timeout (5 s rounds) would use up the whole close budget while the
leg could not be re-placed (issue 7 item 8).

Rule: while any live order of the execution is unknown, the phase plan's clock is
paused: its start moves forward by the time spent, so the phase, the remaining rounds
and the exhaustion all resume where they stopped once the order is known (placed,
refused, or never placed). The other legs keep working in the current phase meanwhile.

Bounded (lessons B1): at most `MAX_PAUSE` per execution. The dispatcher asks about an
order that existed once and vanished for as long as it takes; the budget must still
end, so past the cap the clock runs again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from runner.execution.state import LimitProgress

MAX_PAUSE: Final = timedelta(minutes=2)  # > the missing grace (30 s) + an intent's TTL (60 s)


def is_waiting_on_unknown(progress: LimitProgress) -> bool:
    """Whether a live order of this execution has an unknown outcome now."""
    return any(order.outcome_unknown for order in progress.live_orders())


def pause_budget(progress: LimitProgress, now: datetime) -> LimitProgress:
    """Give back the time spent on unknown orders since the last tick; note whether the
    clock is paused from now on."""
    if progress.exhausted_at is not None:
        return replace(progress, unknown_since=None)
    since = progress.unknown_since
    if since is not None:
        given = max(timedelta(0), min(now - since, MAX_PAUSE - progress.paused))
        progress = replace(progress, started_at=progress.started_at + given,
                           paused=progress.paused + given)
    return replace(progress, unknown_since=now if is_waiting_on_unknown(progress) else None)
