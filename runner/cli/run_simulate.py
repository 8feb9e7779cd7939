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

from runner.service import exit_codes

EXIT_FAILURE_STREAK: Final = exit_codes.LOOP_FAILED
DEFAULT_STRATEGY_GLOB: Final = "strategies.d/*.yaml"


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run the enabled strategies (paper by default; see TRADING_ENVIRONMENT)",
        description="Run every enabled strategy in strategies.d/ until stopped.")
    run.add_argument("files", nargs="*", type=Path,
                     help=f"strategy files (default {DEFAULT_STRATEGY_GLOB})")
    run.add_argument("--tick", default="2s", help="loop period (default 2s)")
    run.add_argument("--env-file", type=Path, default=Path(".env"),
                     help="dotenv file to read (default .env; missing is fine)")
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
    run.add_argument("--seed", type=int, default=None, help="paper venue seed")
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
                     help="also write every trade and the totals to FILE as JSON")
    sim.add_argument("--start", default=None,
                     help="simulated launch time, UTC ISO 8601 (default: now)")
    sim.add_argument("--tick", default="1s",
                     help="how often the service loop runs, in simulated time (default 1s)")
    sim.set_defaults(handler=_simulate)


def _run(args: argparse.Namespace) -> int:
    from runner.service.process import run

    return run(args)


def _simulate(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from runner.cli.summary import print_simulation_summary
    from runner.service.simulation import report_json, simulate
    from runner.sim.faults import FaultPlan
    from runner.strategy.convert import duration as parse_duration
    from runner.strategy.fileset import runnable_specs

    specs = runnable_specs(args.files, "simulate")  # named files that cannot run: exit 2
    if specs is None:
        return 2
    try:
        duration = parse_duration(args.duration)
        tick = parse_duration(args.tick)
        start = (datetime.fromisoformat(args.start.replace("Z", "+00:00"))
                 if args.start else datetime.now(UTC).replace(microsecond=0))
        faults = FaultPlan.load(args.faults, default_seed=args.seed) if args.faults else None
    except (ValueError, OSError) as error:
        print(f"runner simulate: {error}", file=sys.stderr)
        return 2
    if start.tzinfo is None:
        print("runner simulate: --start must be UTC, e.g. 2026-03-02T10:00:00Z", file=sys.stderr)
        return 2
    result = simulate(specs, start=start, duration=duration, seed=args.seed, faults=faults,
                      tick=tick)
    print_simulation_summary(result)
    if args.report:
        args.report.write_text(json.dumps(report_json(result), indent=2) + "\n",
                               encoding="utf-8")
        print(f"report written to {args.report}")
    return 0


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
