"""Benchmark (on demand, not collected): hours of faults and kills over HTTP, with figures.

Run: `PYTHONPATH=$PWD python tests/bench/http_campaign.py [--hours 3] [--seed 7]
[--faults 0.03] [--rfq-body json|form] [--kills 0] [--downtime 2 120] [--tick 3]
[--read-timeout 0.25] [--feed rest|ws]`

The real service and the real Coincall REST adapter (`CoincallClient`) against an
in-thread `SimServer` on loopback with the simulator's defaults: a taker key, rate limits
on, RFQ bodies JSON or FORM (`--rfq-body`), one manual clock shared by both sides. Both
strategy shapes trade all along (micro_strangle-like limit round trips every 10 minutes,
rfq_endurance-like RFQ cycles). The fault campaign's faults fire on the wire at `--faults`
each; `--kills N` drops the service N times like SIGKILL at a random adapter call and
restarts it on its store (tests/e2e/helpers_http_campaign.py). `--feed ws` (issue 11):
prices are also pushed over the server's WebSocket, with drops, stalls, out-of-order
pushes and late delivery (tests/feed/helpers_ws_campaign.py). The suite's short version
is tests/e2e/test_http_campaign_smoke.py.

Prints: simulated hours, wall time, requests, faults fired, throttled answers (must be
0), the venue's internal errors (must be 0), kills, trades by strategy and stage,
invariant violations (must be 0) and what is left in flight. Exit code 1 when any of
those must-be-zero figures is not, or the loop gave up.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.helpers_http_campaign import BODIES, READ_TIMEOUT_S, run_http_campaign
from tests.feed.helpers_ws_campaign import quiet_feed_logs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--faults", type=float, default=0.03,
                        help="probability per fault kind on every request")
    parser.add_argument("--rfq-body", choices=sorted(BODIES), default="json",
                        help="the RFQ accept/cancel encoding the sim-server takes")
    parser.add_argument("--kills", type=int, default=0,
                        help="restart the service this many times after a SIGKILL-like drop")
    parser.add_argument("--downtime", type=int, nargs=2, default=[2, 120],
                        metavar=("MIN", "MAX"),
                        help="simulated seconds a killed service stays down (deployed: 30)")
    parser.add_argument("--tick", type=float, default=3.0, help="simulated seconds per tick")
    parser.add_argument("--read-timeout", type=float, default=READ_TIMEOUT_S,
                        help="the adapter's read timeout, real seconds (timeout faults"
                             " hold the connection just past it)")
    parser.add_argument("--feed", choices=("rest", "ws"), default="rest",
                        help="ws: prices pushed over the server's WebSocket, with its faults")
    args = parser.parse_args()
    logging.getLogger("runner").setLevel(logging.ERROR)
    quiet_feed_logs()
    with tempfile.TemporaryDirectory(prefix="http-campaign-") as scratch:
        result = run_http_campaign(Path(scratch), hours=args.hours, seed=args.seed,
                                   rate=args.faults, rfq_body=args.rfq_body, kills=args.kills,
                                   tick=timedelta(seconds=args.tick),
                                   read_timeout=args.read_timeout,
                                   downtime_s=(args.downtime[0], args.downtime[1]),
                                   feed=args.feed)
    print(f"== seed {args.seed}, faults {args.faults:.0%} per kind, RFQ body {args.rfq_body},"
          f" kills {args.kills}, rate limits on, taker key, feed {args.feed}")
    for line in result.lines():
        print(line)
    for alert in result.alerts[:20]:
        print(f"  ALERT {alert}")
    for concern in result.concerns[:20]:
        print(f"  CONCERN {concern}")
    for error in result.errors[:20]:
        print(f"  ERROR {error}")
    return 1 if result.broken() else 0


if __name__ == "__main__":
    raise SystemExit(main())
