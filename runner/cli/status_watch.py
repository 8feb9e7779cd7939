"""`runner status --watch SECONDS`: the status redrawn every SECONDS until Ctrl+C.

On a terminal each frame moves the cursor home and clears the screen before it is drawn,
so the status stays in place like `top`; piped or redirected (a log, `| tee`), frames are
plain blocks one after another, separated by a blank line, with no control characters.
A frame that cannot be read (the store is missing or busy) says why and the watch goes
on: a service that is starting is watched until its store appears. Ctrl+C ends the watch
with exit 0; a closed pipe ends it as every command does (`runner.cli`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Final, TextIO

HOME_AND_CLEAR: Final = "\x1b[H\x1b[2J"


def watch(frame: Callable[[], str], seconds: float, *, out: TextIO | None = None,
          sleep: Callable[[float], None] = time.sleep, frames: int | None = None) -> int:
    """Draw `frame()` every `seconds` (at most `frames` times when given); 0 on Ctrl+C."""
    out = out or sys.stdout
    on_terminal = out.isatty()
    drawn = 0
    try:
        while frames is None or drawn < frames:
            text = frame()
            if on_terminal:
                out.write(HOME_AND_CLEAR + text + "\n")
            else:
                out.write(("\n" if drawn else "") + text + "\n")
            out.flush()
            drawn += 1
            if frames is None or drawn < frames:
                sleep(seconds)
    except KeyboardInterrupt:
        out.write("\n")
        out.flush()
    return 0
