"""Benchmark (on demand, not collected): exit reaction time with and without the WS feed.

Run: `PYTHONPATH=$PWD python tests/bench/ws_reaction.py [--rounds 5] [--tick 2] [--seed 3]`

For each mode (`ws`: RUNNER_MARKET_FEED=ws, `rest`: the default) and each round: an
in-process `SimServer` on loopback (REST and its WebSocket feed), the real `runner run`
process pointed at it (testnet settings, `--tick`), one small strangle that opens at once
and closes when the index moves 1 % (`index_move`). Once the trade is open, the bench
waits a random part of a tick (so the crossing lands anywhere between two ticks), jumps
the simulated index by 3 % inside the sim-server, and times the first reduce-only order
arriving at the venue. Prints every sample, the median and the worst per mode, and
whether the goal (under 500 ms with WS, issue 11) is met; exit code 1 when it is not.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runner.cli.sim_server import DEFAULT_API_KEY, DEFAULT_API_SECRET
from runner.domain.clock import SystemClock
from runner.domain.instruments import Underlying
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from tests.feed.helpers_reaction import STRATEGY, RecordingVenue
from tests.process.helpers_process import exchange_env, start_runner, stop, write_strategy

GOAL_MS = 500.0


def one_round(mode: str, tick: float, seed: int, phase: float) -> float:
    """Milliseconds from the index crossing to the close order, for one fresh runner."""
    with tempfile.TemporaryDirectory(prefix=f"ws-reaction-{mode}-") as folder:
        tmp = Path(folder)
        clock = SystemClock()
        venue = RecordingVenue(SimVenue(clock, seed=seed))
        server = SimServer(venue, DEFAULT_API_KEY, DEFAULT_API_SECRET, clock,  # type: ignore[arg-type]
                           rate_limits=False).start()
        env = exchange_env(tmp, server.base_url)
        if mode == "ws":
            env["RUNNER_MARKET_FEED"] = "ws"
        runner = start_runner(tmp, env, mode, "--tick", f"{tick:g}s",
                              strategy=write_strategy(tmp, STRATEGY))
        try:
            _wait(lambda: "stage=open," in _log(tmp), 90, runner, "the trade to open")
            time.sleep(phase)
            index = venue.index_price(Underlying.BTC)
            crossed = time.monotonic()
            venue.set_index(Underlying.BTC, (index * Decimal("1.03")).quantize(Decimal("0.01")))
            _wait(lambda: bool(venue.closes_after(crossed)), 4 * tick + 10, runner,
                  "the close order")
            return (venue.closes_after(crossed)[0] - crossed) * 1000
        finally:
            stop(runner, timeout=20)
            server.stop()


def _log(tmp: Path) -> str:
    path = tmp / "logs" / "trading.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _wait(check: object, seconds: float, runner: object, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        if runner.poll() is not None:  # type: ignore[attr-defined]
            raise SystemExit(f"runner exited ({runner.returncode}) waiting for {what}")  # type: ignore[attr-defined]
        time.sleep(0.01)
    raise SystemExit(f"timed out after {seconds} s waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tick", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    phases = random.Random(args.seed)
    results: dict[str, list[float]] = {}
    for mode in ("ws", "rest"):
        samples = [one_round(mode, args.tick, args.seed + n, phases.uniform(0, args.tick))
                   for n in range(args.rounds)]
        results[mode] = samples
        print(f"{mode:>4}: median {statistics.median(samples):7.0f} ms, worst "
              f"{max(samples):7.0f} ms; samples " + ", ".join(f"{s:.0f}" for s in samples),
              flush=True)
    worst_ws = max(results["ws"])
    met = worst_ws < GOAL_MS
    print(f"tick {args.tick:g} s; goal: every WS reaction under {GOAL_MS:.0f} ms: "
          f"{'met' if met else 'NOT met'} (worst {worst_ws:.0f} ms)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
