"""`runner status --watch SECONDS`: redrawn in place on a terminal, plain blocks when piped.

The terminal test runs the real `python -m runner status --watch 1` process on a
pseudo-terminal (python `pty`), as a trader's console would, and reads what it draws.
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from runner.cli.status_watch import HOME_AND_CLEAR, watch
from tests.ops_cli.helpers_ops_cli import REPO, populate_store, run_cli
from tests.process.helpers_process import paper_env


def test_piped_frames_are_plain_blocks_separated_by_a_blank_line() -> None:
    out = io.StringIO()
    frames = iter(["frame one\nline 2", "frame two\nline 2", "frame three\nline 2"])
    naps: list[float] = []
    assert watch(lambda: next(frames), 2.5, out=out, sleep=naps.append, frames=3) == 0
    assert out.getvalue() == ("frame one\nline 2\n\nframe two\nline 2\n\n"
                              "frame three\nline 2\n")
    assert naps == [2.5, 2.5]


def test_ctrl_c_ends_the_watch_with_exit_0() -> None:
    out = io.StringIO()

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    assert watch(lambda: "frame", 1, out=out, sleep=interrupted) == 0
    assert out.getvalue() == "frame\n\n"


def test_watch_refuses_zero_seconds_and_a_fixed_moment(capsys, state_dir) -> None:
    populate_store(state_dir)
    zero = run_cli(capsys, "status", "--watch", "0")
    assert zero.code == 2
    assert "--watch takes a number of seconds above 0" in zero.err
    assert run_cli(capsys, "status", "--watch", "1", "--at", "2026-03-02T10:00:00Z").code == 2


def _read_until(master: int, enough: int, seconds: float) -> str:
    """What the terminal received until `enough` frames were drawn (or time ran out)."""
    seen = b""
    deadline = time.monotonic() + seconds
    while seen.count(HOME_AND_CLEAR.encode()) < enough and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
    return seen.decode("utf-8", errors="replace")


def test_on_a_terminal_status_watch_redraws_in_place_every_second(tmp_path: Path) -> None:
    env = paper_env(tmp_path)
    populate_store(tmp_path / "state" / "paper")
    master, slave = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "runner", "status", "--watch", "1"],
                             cwd=REPO, env=env, stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
    os.close(slave)
    try:
        screen = _read_until(master, 4, seconds=40)
        child.send_signal(signal.SIGINT)  # Ctrl+C
        assert child.wait(timeout=15) == 0
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    # the read stops as the fourth frame begins, so that frame may be cut short: judge the
    # three drawn in full before it
    frames = [frame for frame in screen.split(HOME_AND_CLEAR) if frame.strip()][:3]
    assert len(frames) == 3, screen
    assert screen.startswith(HOME_AND_CLEAR)  # every frame starts at home, on a clear screen
    stamps = [re.match(r"runner status at (\S+ \S+) UTC", frame) for frame in frames]
    assert all(stamps), frames
    assert len({stamp.group(1) for stamp in stamps if stamp}) >= 2  # redrawn, not repeated
    assert all("open trades (2)" in frame for frame in frames)
    assert "Traceback" not in screen
