"""The progress line `runner simulate` draws on a terminal (issue 9 item 5).

A long simulation says how far it is: the simulated time reached (and the share of the
run), the trades finished and their net PnL so far, redrawn in place a few times a second
of wall time and whenever a trade finishes. Only on a terminal: piped or redirected
output gets nothing extra, so a report read by a tool is never mixed with carriage returns.

It is told after every simulated tick (`runner.service.simulation.Progress`); the wall clock here
only paces the redraws, it never touches the simulation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Final, TextIO

from runner.service.tick_report import TickReport

REDRAW_EVERY: Final = 0.25  # seconds of wall time between redraws
# Redrawn with a carriage return and spaces over the previous text, no escape codes:
# a Windows console (PowerShell 5.1, the trader's VPS) would print them as they are.
RETURN: Final = "\r"


class ProgressLine:
    """Counts finished trades and their net PnL; redraws one line in place."""

    def __init__(self, out: TextIO, start: datetime, until: datetime, *,
                 every: float = REDRAW_EVERY,
                 wall: Callable[[], float] = time.monotonic) -> None:
        self._out, self._start, self._until = out, start, until
        self._every, self._wall = every, wall
        self._last_draw: float | None = None
        self._finished: set[str] = set()
        self.net_pnl = Decimal(0)
        self.trades = 0
        self.drawn = 0
        self._width = 0

    def __call__(self, now: datetime, report: TickReport | None) -> None:
        counted = self.trades
        if report is not None:
            for trade in report.finished:
                if trade.trade_id not in self._finished:
                    self._finished.add(trade.trade_id)
                    self.trades += 1
                    self.net_pnl += trade.net_pnl()
        moment = self._wall()
        if self._last_draw is None or moment - self._last_draw >= self._every \
                or self.trades != counted:  # a finished trade is shown at once
            self._last_draw = moment
            self.draw(now)

    def text(self, now: datetime) -> str:
        span = (self._until - self._start).total_seconds()
        done = (now - self._start).total_seconds() / span if span > 0 else 1.0
        return (f"simulating {now:%Y-%m-%d %H:%M}Z ({min(done, 1.0):.0%}): {self.trades}"
                f" trades finished, net PnL {self.net_pnl:.2f} USD")

    def draw(self, now: datetime) -> None:
        text = self.text(now)
        self._out.write(RETURN + text.ljust(self._width))
        self._out.flush()
        self._width = max(self._width, len(text))
        self.drawn += 1

    def close(self) -> None:
        """Blank the line, so the summary starts on a clean one."""
        if self.drawn:
            self._out.write(RETURN + " " * self._width + RETURN)
            self._out.flush()


def progress_for(out: TextIO, start: datetime, until: datetime) -> ProgressLine | None:
    """A progress line when `out` is a terminal; None when it is piped or redirected."""
    isatty = getattr(out, "isatty", None)
    return ProgressLine(out, start, until) if isatty is not None and isatty() else None
