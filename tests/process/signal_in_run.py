"""`runner run` (its real entry point, in this process) with SIGINT delivered at the AT-th
traced step (a call, line or return, including inside `threading`) of its first sleep
between ticks; the exit code is the command's own.

    python tests/process/signal_in_run.py AT run <strategy> --tick 1s ...

Prints `landed in <function>:<line> (<event>)` to stderr when the signal is sent. A stop
handler that takes a lock the sleep holds at that step never lets the process end; the
test that runs this (`test_stop_signal_anywhere.py`) then times out.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any

from runner.cli.app import main
from runner.service.stopping import StopRequest


class FirstSleep:
    """Traces the first `StopRequest.wait` and what it calls; SIGINT at the AT-th step."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen = 0
        self.inside = False
        self.done = False

    def calls(self, frame: FrameType, event: str, arg: Any) -> Any:
        if self.done:
            return None
        if frame.f_code is StopRequest.wait.__code__:
            self.inside = True
        return self.steps if self.inside else None

    def steps(self, frame: FrameType, event: str, _arg: Any) -> Any:
        if self.done:
            return None
        if event == "return" and frame.f_code is StopRequest.wait.__code__:
            self.inside = False  # the sleep ended before its AT-th step: the next one
        if self.seen == self.at:
            self.done = True
            print(f"landed in {frame.f_code.co_name}:{frame.f_lineno} ({event})",
                  file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGINT)
        self.seen += 1
        return self.steps


if __name__ == "__main__":
    sys.settrace(FirstSleep(int(sys.argv[1])).calls)
    sys.exit(main(sys.argv[2:]))
