"""What `runner plan` plans against: which account, and from which launch.

A plan should answer "what would my service do now?", so by default it uses what the
service uses (issue 9 item 5):
- the account: in paper mode the paper account the service saved in its state directory
  (equity, margin, positions), read into a throw-away copy; with no saved account, a new
  one as a first `runner run` would start. Testnet and production read the exchange.
- the launch that cycle schedules count from: the running service's start, from its
  heartbeat (`launched_at`) while it holds the state directory's lock; with no service
  running, "as if it started now". `runner.cli.plan_report` then resumes an earlier
  schedule still in force, exactly as the service does at a restart.
`--at` or `--seed` ask a different question ("what if, at that moment, on a new
account?"): the plan then uses a new simulated account and a launch at that moment.
Every choice is said in words in the plan, so nobody mistakes one for the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.domain.clock import Clock
from runner.service.settings import Settings


class PlanInputError(Exception):
    """The saved account cannot be read; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class PlanAccount:
    """The exchange to plan against and what it is, in words."""

    exchange: Any
    source: str  # "saved", "new" or "exchange"
    detail: str
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "detail": self.detail, "seed": self.seed}


def plan_account(settings: Settings, state_dir: Path, clock: Clock, *,
                 seed: int | None, hypothetical: bool) -> PlanAccount:
    """The account of the environment (paper: saved, or new when `hypothetical`)."""
    if not settings.is_paper:
        from runner.service.venues import coincall_client

        return PlanAccount(coincall_client(settings, clock), "exchange",
                           f"the {settings.environment.value} account on the exchange, "
                           "read-only")
    from runner.cli.paper_account import describe_account, new_account_line
    from runner.service.venues import (
        PaperAccountUnreadable,
        new_paper_venue,
        paper_account_path,
        saved_paper_copy,
    )

    path = paper_account_path(state_dir)
    if hypothetical:
        chosen = seed or 0
        return PlanAccount(new_paper_venue(clock, seed=chosen), "new",
                           f"{new_account_line()} (seed {chosen}), because --at or --seed "
                           f"was given; the saved account in {path} is not used", chosen)
    try:
        saved = saved_paper_copy(state_dir, clock)
    except PaperAccountUnreadable as error:
        raise PlanInputError(f"{error}; the paper service quarantines it at its next start"
                             " (or plan with --seed N on a new account)") from None
    if saved is None:
        return PlanAccount(new_paper_venue(clock, seed=0), "new",
                           f"no saved paper account in {path}: {new_account_line()} (seed 0),"
                           " as a first `runner run` would start", 0)
    return PlanAccount(saved, "saved", f"the saved paper account in {path}: "
                       f"{describe_account(saved)}", saved.seed)


def service_launch(state_dir: Path, strategy: str, now: datetime) -> tuple[datetime, str]:
    """(launch, why): the running service's start when it runs `strategy`, else `now`."""
    from runner.service.heartbeat import RUNNING, HeartbeatUnreadable, read_heartbeat
    from runner.service.instance_lock import lock_is_held

    if lock_is_held(state_dir) is not True:
        return now, "no service is running: counted as if it started now"
    try:
        beat = read_heartbeat(state_dir)
    except HeartbeatUnreadable:
        return now, "the running service has not written its heartbeat yet: counted as if " \
                    "it started now"
    if beat.state != RUNNING or beat.launched_at is None:
        return now, "the running service does not say when it started (an older runner): " \
                    "counted as if it started now"
    started = f"{beat.launched_at:%Y-%m-%d %H:%M:%S} UTC"
    if strategy not in beat.strategies:
        return now, (f"the running service (pid {beat.pid}, started {started}) does not run "
                     "this strategy; it would from its next start: counted as if it "
                     "started now")
    return beat.launched_at, f"the running service's start (pid {beat.pid}, {started})"
