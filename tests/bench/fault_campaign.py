"""Benchmark (on demand, not collected): 48 simulated hours of faults, with figures.

Run: `/work/venv/bin/python tests/bench/fault_campaign.py [--hours 48] [--tick 2]
[--rate 0.03] [--seeds 7 8] [--fill-timeout 5] [--feed rest|ws]`

`--feed ws` (issue 11): prices are pushed over the simulator's WebSocket on simulated
time while drops, silent stalls, out-of-order pushes and late delivery fire all along
(tests/feed/helpers_ws_campaign.py); adds the feed's figures and invariants (never a
price older than the stale limit served, recovery after every feed fault). The suite's
short version is tests/faults/test_faults_campaign_ws.py.

The suite's short version is tests/faults/test_faults_campaign.py (6 h). Same plan: at
`rate` each on every request HTTP 5xx, timeouts, rate limits and malformed answers; lost
answers on every write; rare price freezes. Both strategy shapes trade all along. Prints,
per seed: trades by stage, faults injected, alerts, strategy errors, failed ticks, whether
the loop gave up (TooManyFailures), invariant violations, what was left in flight, and
the wall time. Exit code 1 when any seed broke an invariant or stopped the loop.

The venue is the in-process SimVenue, not a sim-server: it keeps its default taker key
(rfqList refused as over HTTP) and has no HTTP, so `--rfq-body`/`--key-access` do not
apply here; the RFQ flows over HTTP in both body encodings are in tests/e2e, and the
same campaign over the throttling sim-server is tests/bench/http_campaign.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.faults.helpers_faults import run_campaign
from tests.feed.helpers_ws_campaign import quiet_feed_logs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=48.0)
    parser.add_argument("--tick", type=float, default=2.0, help="simulated seconds per tick")
    parser.add_argument("--rate", type=float, default=0.03, help="probability per fault kind")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--fill-timeout", type=int, default=None,
                        help="seconds: a short fill timeout for every limit execution")
    parser.add_argument("--feed", choices=("rest", "ws"), default="rest",
                        help="ws: prices pushed over the simulator's WebSocket, with its faults")
    args = parser.parse_args()
    quiet_feed_logs()
    broken = False
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="fault-campaign-") as scratch:
            result = run_campaign(Path(scratch), hours=args.hours,
                                  tick=timedelta(seconds=args.tick), rate=args.rate, seed=seed,
                                  fill_timeout_s=args.fill_timeout, feed=args.feed)
        timeout = f", fill timeout {args.fill_timeout} s" if args.fill_timeout else ""
        print(f"== seed {seed}, rate {args.rate:.0%} per kind{timeout}, feed {args.feed}")
        for line in result.lines():
            print(line)
        for alert in result.alerts[:20]:
            print(f"  ALERT {alert}")
        for concern in result.concerns[:20]:
            print(f"  CONCERN {concern}")
        for error in result.errors[:20]:
            print(f"  ERROR {error}")
        broken |= bool(result.violations or result.in_flight or result.crashed)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
