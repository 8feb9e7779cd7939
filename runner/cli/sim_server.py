"""`runner sim-server`: the simulated Coincall exchange over HTTP on 127.0.0.1.

Owns the command line of the simulator server: it builds a `SimVenue` (seeded), an
optional `FaultPlan`, a clock (real time, or accelerated by `--speed`), and serves
them with `SimServer` until SIGINT or SIGTERM, then stops cleanly (exit 0).
The first line on stdout is `listening on http://127.0.0.1:PORT` (flushed), so a
parent process can start it with `--port 0` and read the port it picked.

Deliberate choices: the server binds to loopback only, whatever the arguments. With
no `--api-key/--api-secret` it uses the documented test credentials below (they
guard nothing: the simulator holds no money); only the key is printed, never a
secret. Imports of the simulator happen inside the handler, so `runner --help`
stays fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import FrameType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from runner.sim.config import SimConfig

DEFAULT_API_KEY: Final = "sim-test-key"
DEFAULT_API_SECRET: Final = "sim-test-secret"  # noqa: S105 - documented simulator-only value

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim-server",
        help="serve the simulated Coincall exchange over HTTP on 127.0.0.1",
        description=(
            "Serve the simulated exchange with Coincall's paths, envelope and signature "
            "rules on 127.0.0.1, so any Coincall client can be pointed at it. "
            f"Without --api-key/--api-secret the test credentials {DEFAULT_API_KEY!r} / "
            f"{DEFAULT_API_SECRET!r} are used (simulator only)."
        ),
    )
    parser.add_argument("--port", type=int, required=True,
                        help="TCP port on 127.0.0.1; 0 picks a free one (printed)")
    parser.add_argument("--api-key", default=None, help="API key clients must sign with")
    parser.add_argument("--api-secret", default=None, help="secret of --api-key")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated market")
    parser.add_argument("--faults", default=None, metavar="FILE",
                        help="make the simulated exchange fail on purpose: a YAML or JSON "
                             "file of rules such as {endpoint: place_order, kind: "
                             "lost_response, count: 1}")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--no-rate-limits", dest="rate_limits", action="store_false",
                        help="do not enforce Coincall's documented rate limits (on by "
                             "default: a request over its budget is answered 10605)")
    parser.add_argument("--truncate-price-to", type=_price_step, default=None, metavar="STEP",
                        help="truncate order prices down to STEP whatever the listed tick, as"
                             " observed live (default: the listed tick)")
    parser.add_argument("--rfq-body", choices=("json", "form"), default="json",
                        help="the body encoding RFQ accept and cancel take; the other is "
                             "refused with 10004 as Coincall does (default json, as the "
                             "2026-07 docs show; form as seen live on 2026-07-09)")
    parser.add_argument("--key-access", choices=("taker", "maker"), default="taker",
                        help="what the API key may call: taker (default, the normal case: "
                             "rfqList answers HTTP 404 as live) or maker (rfqList served)")
    parser.add_argument("--ws-faults", default=None, metavar="SPEC",
                        help="make the market-data WebSocket fail on purpose: e.g. "
                             "drop_every=20,stall_every=30,stall_for=8,out_of_order_every=5 "
                             "(seconds; out_of_order_every counts pushes)")
    parser.set_defaults(handler=run_sim_server)


class AcceleratedClock:
    """Real time from now on, `speed` times faster; `sleep` waits the real share."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._start = start or datetime.now(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self._speed)


def run_sim_server(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 on a clean stop, 2 on bad arguments, 1 on failure."""
    problem = _usage_problem(args)
    if problem:
        print(f"runner sim-server: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from runner.domain.clock import Clock, SystemClock
    from runner.sim.access import KeyAccess
    from runner.sim.faults import FaultPlan
    from runner.sim.server import SimServer
    from runner.sim.venue import SimVenue
    from runner.sim.wire_in import BodyKind

    try:
        plan = (FaultPlan.load(args.faults, default_seed=args.seed) if args.faults
                else FaultPlan(seed=args.seed))
    except (OSError, ValueError) as error:
        print(f"runner sim-server: cannot load fault plan: {error}", file=sys.stderr)
        return EXIT_USAGE
    from runner.sim.ws_faults import WsFaultPlan

    try:
        ws_plan = WsFaultPlan.parse(args.ws_faults or "")
    except ValueError as error:
        print(f"runner sim-server: --ws-faults: {error}", file=sys.stderr)
        return EXIT_USAGE
    clock: Clock = SystemClock() if args.speed == 1 else AcceleratedClock(args.speed)
    venue = SimVenue(clock, seed=args.seed, config=_venue_config(args))
    server = SimServer(venue, args.api_key or DEFAULT_API_KEY,
                       args.api_secret or DEFAULT_API_SECRET, clock, plan, port=args.port,
                       rate_limits=args.rate_limits,
                       rfq_body=BodyKind(args.rfq_body),
                       key_access=KeyAccess(args.key_access))
    server.ws.faults.plan = ws_plan
    try:
        server.start()
    except OSError as error:
        print(f"runner sim-server: cannot listen on port {args.port}: {error}", file=sys.stderr)
        return EXIT_FAILED
    _announce(server.base_url, args)
    serve_until_signalled()
    server.stop()
    print(f"throttled answers: {server.throttled}", flush=True)
    print("stopped", flush=True)
    return EXIT_OK


def _usage_problem(args: argparse.Namespace) -> str | None:
    if not 0 <= args.port <= 65535:
        return "--port must be between 0 and 65535"
    if (args.api_key is None) != (args.api_secret is None):
        return "--api-key and --api-secret go together"
    if args.speed <= 0:
        return "--speed must be positive"
    return None


def _price_step(text: str) -> Decimal:
    try:
        step = Decimal(text)
    except ArithmeticError:
        step = Decimal(0)
    if not (step.is_finite() and step > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number; write e.g. 1")
    return step


def _venue_config(args: argparse.Namespace) -> SimConfig:
    from runner.sim.config import SimConfig

    return SimConfig(truncate_price_to=args.truncate_price_to)


def _announce(base_url: str, args: argparse.Namespace) -> None:
    print(f"listening on {base_url}", flush=True)
    if args.api_key is None:
        print(f"api key {DEFAULT_API_KEY!r} (built-in simulator test credentials)", flush=True)
    details = [f"seed {args.seed}", f"speed x{args.speed:g}"]
    if args.faults:
        details.append(f"faults from {args.faults}")
    if not args.rate_limits:
        details.append("rate limits off")
    if getattr(args, "ws_faults", None):
        details.append(f"WebSocket faults {args.ws_faults}")
    details.append(f"RFQ bodies {getattr(args, 'rfq_body', 'json')}, "
                   f"{getattr(args, 'key_access', 'taker')} key")
    step = getattr(args, "truncate_price_to", None)
    if step is not None:
        details.append(f"prices truncated to {step}")
    print(", ".join(details), flush=True)
    websocket = base_url.replace("http://", "ws://")
    print(f"market data over WebSocket: {websocket}/options and {websocket}/futures",
          flush=True)


def serve_until_signalled(slice_seconds: float = 0.2) -> None:
    """Return once SIGINT or SIGTERM arrives. The handler only sets a flag that short
    sleeps look at: an `Event.set` in it could wait forever for the lock its own thread
    holds inside `Event.wait` (runner.service.stopping)."""
    stopped: list[int] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopped.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopped:
            time.sleep(slice_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
