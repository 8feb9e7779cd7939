"""`runner health`: is the running service alive? Exit 0 fresh, 1 stale, stopped or missing.

The liveness probe for NSSM/Task Scheduler and systemd scripts (lessons H1): it reads the
heartbeat the service loop writes every tick and judges its age; it never looks at log
files. A clean stop's last beat says "stopped", and a "running" beat is believed only
while the service holds its instance lock (`runner.service.instance_lock`), so a service that
stopped or died is reported at once, not after --max-age. It prints exactly one line on
stdout, so a calling script can capture it.

The heartbeat read is the one of `<root>/<environment>/` (one state directory per
environment, issue 7): the root is `--state-dir`, else `RUNNER_STATE_DIR`, else `./state`,
and the environment `TRADING_ENVIRONMENT` (environment, then `.env` in the working
directory; default paper): the same rule the service uses. The full
settings are deliberately not loaded: a probe must answer even when, say, a credential
is missing (the service would not be running then, and the probe says so: stale).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Final

from runner.cli.options import add_state_dir

EXIT_OK: Final = 0
EXIT_STALE: Final = 1
EXIT_USAGE: Final = 2
DEFAULT_MAX_AGE_SECONDS: Final = 120.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "health",
        help="exit 0 when the service's heartbeat is fresh, 1 when stale, stopped or missing",
        description=(
            "Read the heartbeat the running service writes every tick and print one line. "
            "Exit 0 when it is at most --max-age seconds old and its service still holds "
            "the state directory's lock, 1 when older, stopped, missing or unreadable, 2 on "
            "bad arguments. Log files are never consulted."
        ),
    )
    add_state_dir(parser)
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_SECONDS,
                        metavar="SECONDS",
                        help=f"oldest acceptable heartbeat (default {DEFAULT_MAX_AGE_SECONDS:g})")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead: level (ok, degraded or down), "
                             "reasons, the line, and the state directory read")
    parser.set_defaults(handler=run_health)


def run_health(args: argparse.Namespace) -> int:
    """Print the verdict on the heartbeat; 0 fresh, 1 stale, stopped or missing, 2 bad
    arguments."""
    if args.max_age <= 0:
        print("runner health: --max-age must be positive", file=sys.stderr)
        return EXIT_USAGE
    from runner.domain.clock import SystemClock
    from runner.service.heartbeat import check_heartbeat
    from runner.service.settings import ConfigError, environ_with_dotenv, state_location

    try:
        _, state_dir = state_location(environ_with_dotenv(), args.state_dir)
    except ConfigError as error:
        print(f"runner health: {error}", file=sys.stderr)
        return EXIT_USAGE
    verdict = check_heartbeat(state_dir, SystemClock().now(), timedelta(seconds=args.max_age))
    if args.json:
        print(json.dumps(health_report(verdict.ok, verdict.text, state_dir)), flush=True)
    else:
        print(verdict.text, flush=True)
    return EXIT_OK if verdict.ok else EXIT_STALE


def health_report(ok: bool, line: str, state_dir: Path) -> dict[str, object]:
    """The verdict for machines: a level a monitor can switch on, and the reasons in words.

    ok: alive with nothing to do; degraded: alive, but the operator is needed (the
    service's open concerns, from its heartbeat); down: stopped, stale or missing.
    """
    level, _, rest = line.partition(": ")
    if not ok:
        return {"level": "down", "reasons": [line], "line": line, "state_dir": str(state_dir)}
    reasons: list[str] = []
    if level == "degraded":
        reasons = _open_problems(state_dir) or [rest]
    return {"level": "degraded" if level == "degraded" else "ok", "reasons": reasons,
            "line": line, "state_dir": str(state_dir)}


def _open_problems(state_dir: Path) -> list[str]:
    from runner.service.heartbeat import HeartbeatUnreadable, read_heartbeat

    try:
        return list(read_heartbeat(state_dir).problems)
    except HeartbeatUnreadable:
        return []
