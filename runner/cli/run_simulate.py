"""`runner run` and `runner simulate`: the service, live or accelerated.

`run` is what NSSM / systemd start. It never exits on its own in normal operation
(lessons A2): only a signal stops it (exit 0) or a streak of failed ticks (exit 3, so
the supervisor restarts it). Configuration problems exit 2 before anything trades.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from runner.cli.options import add_env_file, add_log_dir, add_state_dir
from runner.service import exit_codes

EXIT_FAILURE_STREAK: Final = exit_codes.LOOP_FAILED
DEFAULT_STRATEGY_GLOB: Final = "strategies.d/*.yaml"


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run the enabled strategies (paper by default; see TRADING_ENVIRONMENT)",
        description="Run every enabled strategy in strategies.d/ until you press Ctrl+C "
                    "(working orders are cancelled, trades kept as they are). By default "
                    "it paper-trades against the built-in simulated exchange: no keys, no "
                    "real money. With TRADING_ENVIRONMENT=testnet or production (and the "
                    "keys, e.g. in .env) it trades on Coincall.")
    run.add_argument("files", nargs="*", type=Path, metavar="FILE",
                     help=f"strategy files (default {DEFAULT_STRATEGY_GLOB}; the profiles"
                          " files beside them are loaded too)")
    run.add_argument("--tick", default="2s",
                     help="how often the service reads the market and checks every strategy"
                          " (default 2s)")
    add_env_file(run)
    add_state_dir(run)
    add_log_dir(run)
    run.add_argument("--fresh", action="store_true",
                     help="start with an empty store (the old one is archived, never deleted);"
                          " refused while positions are open on the exchange, unless you"
                          " also say what to do with them: --adopt or --flatten")
    decision = run.add_mutually_exclusive_group()
    decision.add_argument("--adopt", dest="decision", action="store_const", const="adopt",
                          help="take over positions on the exchange that the runner does not"
                               " know, and manage them as trades")
    decision.add_argument("--flatten", dest="decision", action="store_const",
                          const="flatten",
                          help="close every position on the exchange before trading")
    run.add_argument("--seed", type=int, default=None,
                     help="paper: the market seed of a new paper account (default: from the"
                          " start time); a saved account keeps its own")
    run.add_argument("--yes", action="store_true",
                     help="production: start trading at once, without the 10 s wait after"
                          " the banner (for scripted starts)")
    run.set_defaults(handler=_run)

    sim = subparsers.add_parser(
        "simulate", help="run strategies over the simulator with an accelerated clock",
        description="Run strategies against the built-in simulated exchange in accelerated "
                    "time and print what they traded. Nothing is sent to Coincall.")
    sim.add_argument("files", nargs="+", type=Path, metavar="FILE",
                     help="strategy files to run (each must be valid and enabled; the profiles"
                          " files beside them are loaded too)")
    sim.add_argument("--duration", default="48h",
                     help="simulated time to run (default 48h; e.g. 30m, 2d, 7d)")
    sim.add_argument("--seed", type=int, default=0,
                     help="seed of the simulated market; the same seed gives the same run"
                          " (default 0)")
    sim.add_argument("--faults", type=Path, default=None, metavar="FILE",
                     help="make the simulated exchange fail on purpose: a YAML or JSON file of"
                          " rules such as {endpoint: place_order, kind: lost_response, count: 1}")
    sim.add_argument("--report", type=Path, default=None, metavar="FILE",
                     help="also write every trade, the per-strategy figures and the totals"
                          " to FILE as JSON, and the equity curve beside it as CSV")
    sim.add_argument("--start", default=None, metavar="ISO-UTC",
                     help="simulated launch time in UTC, e.g. 2026-03-02T10:00:00Z"
                          " (default: now)")
    sim.add_argument("--tick", default="1s",
                     help="how often the service loop runs, in simulated time (default 1s)")
    sim.add_argument("--seeds", default=None, metavar="SEEDS",
                     help="run the same strategies over many simulated markets, e.g. 1-20 or"
                          " 3,5,7, in parallel, and print per strategy the median, 5th and"
                          " 95th percentile of net PnL (replaces --seed)")
    sim.add_argument("--every-tick", action="store_true",
                     help="run the loop at every tick, as live, instead of jumping from one"
                          " moment that can change a decision to the next (slower; the same"
                          " trades)")
    sim.set_defaults(handler=_simulate)


def _run(args: argparse.Namespace) -> int:
    from runner.service.process import run

    return run(args)


def _simulate(args: argparse.Namespace) -> int:
    from runner.cli.simulate_command import simulate_command

    return simulate_command(args)


def _load_specs(files: list[Path]) -> list[Any] | None:
    """Load strategy files, printing every diagnostic; None when nothing can run.

    Disabled strategies are returned too: they open nothing, but trades they still hold
    keep being managed (lessons A3).
    """
    from runner.strategy import load_strategies

    result = load_strategies(files)
    for diagnostic in result.diagnostics:
        print(diagnostic.render(), file=sys.stderr)
    if not any(spec.enabled for spec in result.specs):
        print("no enabled, valid strategy to run", file=sys.stderr)
        return None
    return list(result.specs)
