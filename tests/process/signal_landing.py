"""Run one of the process's signal waits again and again, each time delivering SIGINT at
the next step (a call, line or return traced on the main thread) of the wait, so the signal
lands once at every point the wait passes through, including inside `threading`'s locks.

A handler that takes a lock its own thread already holds at that point waits for itself
forever (and then ignores every later signal): this script then never ends, and the test
that runs it (`test_stop_signal_anywhere.py`) fails on its timeout.

    python tests/process/signal_landing.py stop-wait|feed-pause|sim-server

Prints one line per landing point and `covered N points` at the end.
"""

from __future__ import annotations

import functools
import inspect
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType, SimpleNamespace
from typing import Any

from runner.cli.sim_server import serve_until_signalled
from runner.domain.clock import SystemClock
from runner.feed.prices import PriceCache
from runner.feed.source import FeedExchange, FeedUrls, MarketFeed
from runner.service.attention import Attention
from runner.service.feed_wiring import AttachedFeed
from runner.service.live import _react_to_pushes
from runner.service.stopping import StopRequest, install_stop_signals, restore_signals

# The first points of each wait; the two sleeps between ticks end on their own sooner
# (0.12 s), the sim-server's wait never does, and repeats the same few points.
MOST_POINTS = {"stop-wait": 2000, "feed-pause": 2000, "sim-server": 8}


class Landing:
    """Traces the main thread and sends SIGINT to this process at the `at`-th event."""

    def __init__(self, at: int, begins: Callable[[FrameType], bool] | None = None) -> None:
        self.at = at
        self.seen = 0
        self.fired_in: str | None = None
        self._begins = begins  # counting starts at the first event it accepts

    def trace(self, frame: FrameType, event: str, _arg: Any) -> Callable[..., Any] | None:
        if self._begins is not None and self._begins(frame):
            self._begins = None
        if self.fired_in is None and self._begins is None:
            if self.seen == self.at:
                self.fired_in = f"{frame.f_code.co_name}:{frame.f_lineno} ({event})"
                os.kill(os.getpid(), signal.SIGINT)
            self.seen += 1
        return self.trace


def stop_wait(stop: StopRequest) -> None:
    """The sleep between ticks and the production start's 10 s hold."""
    stop.wait(0.12)


def feed_pause(stop: StopRequest) -> None:
    """The sleep between ticks with the market feed on (never connected here: no price is
    pushed), wired to the stop by `runner run`'s own code."""
    feed = MarketFeed(FeedUrls("ws://127.0.0.1:9/options", "ws://127.0.0.1:9/futures"),
                      PriceCache(5.0))
    clock = SystemClock()
    service = SimpleNamespace(attention=Attention(), between_ticks=None, last_snapshot=None)
    runtime = SimpleNamespace(service=service, clock=clock)
    _react_to_pushes(AttachedFeed(FeedExchange(None, feed, clock)),  # type: ignore[arg-type]
                     runtime, stop)  # type: ignore[arg-type]
    service.between_ticks(0.12)


def sim_server(_stop: StopRequest) -> None:
    """`runner sim-server`'s main thread: it has its own handler, installed by the call."""
    serve_until_signalled(0.05)


def _in_the_sim_servers_loop(frame: FrameType) -> bool:
    """Past the sim-server's handler installation (a signal before it is the stop's)."""
    code = serve_until_signalled.__code__
    return frame.f_code is code and frame.f_lineno >= _first_line_of_its_loop()


@functools.cache
def _first_line_of_its_loop() -> int:
    lines = inspect.getsource(serve_until_signalled).splitlines()
    return serve_until_signalled.__code__.co_firstlineno + next(
        i for i, line in enumerate(lines) if line.lstrip().startswith("while "))


BEGINS: dict[str, Callable[[FrameType], bool]] = {"sim-server": _in_the_sim_servers_loop}


WAITS: dict[str, Callable[[StopRequest], None]] = {
    "stop-wait": stop_wait, "feed-pause": feed_pause, "sim-server": sim_server}


def land_everywhere(name: str) -> int:
    wait, most = WAITS[name], MOST_POINTS[name]
    for at in range(most):
        stop = StopRequest()
        previous = install_stop_signals(stop)
        landing = Landing(at, BEGINS.get(name))
        try:
            sys.settrace(landing.trace)
            try:
                wait(stop)
            finally:
                sys.settrace(None)
        finally:
            restore_signals(previous)
        if landing.fired_in is None:  # the wait ended before its at-th point
            print(f"covered {at} points", flush=True)
            return at
        if name != "sim-server" and not stop.requested:
            raise SystemExit(f"point {at}: the signal in {landing.fired_in} was not seen")
        print(f"point {at}: {landing.fired_in}: stopped", flush=True)
        time.sleep(0)
    print(f"covered {most} points", flush=True)
    return most


if __name__ == "__main__":
    land_everywhere(sys.argv[1])
