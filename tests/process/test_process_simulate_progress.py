"""`runner simulate` shows its progress on a terminal, and nothing extra when piped
(issue 9 item 5; the terminal is a pseudo-terminal from python's `pty`).

On a terminal the line "simulating <time> (<share>): N trades finished, net PnL X USD"
is redrawn in place (carriage return, clear line) and cleared before the summary; with
stdout piped the output is the summary alone, no carriage return in it.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.process.helpers_process import REPO, paper_env

ARGS = ("-m", "runner", "simulate", str(REPO / "strategies.d" / "micro_strangle.yaml"),
        str(REPO / "strategies.d" / "profiles.yaml"), "--duration", "1h",
        "--start", "2026-03-02T10:00:00Z", "--seed", "1")
CLEAR = "\r\x1b[2K"


def run_on_a_terminal(tmp_path: Path) -> tuple[int, str]:
    """Run simulate with its stdout on a pseudo-terminal; everything it drew there."""
    master, slave = pty.openpty()
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        process = subprocess.Popen([sys.executable, *ARGS], stdout=slave, stderr=stderr,
                                   env=paper_env(tmp_path), cwd=tmp_path)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the process has gone
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    code = process.wait(timeout=30)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def test_on_a_terminal_the_progress_line_is_drawn_in_place_then_cleared(tmp_path) -> None:
    code, screen = run_on_a_terminal(tmp_path)
    assert code == 0, (screen, (tmp_path / "stderr.txt").read_text(encoding="utf-8"))
    assert f"{CLEAR}simulating 2026-03-02 10:00Z (0%): 0 trades finished, net PnL 0.00 USD" \
        in screen
    before_summary, _, summary = screen.partition("simulated 2026-03-02 10:00:00Z")
    assert before_summary.endswith(CLEAR)  # the line is cleared before the summary starts
    drawn = before_summary.split(CLEAR)[1:-1]
    assert len(drawn) >= 3, drawn  # redrawn in place: at least at each of the two trades
    assert "2 trades finished, net PnL -2." in drawn[-1]
    assert drawn[-1] > drawn[0]  # a later simulated time (the text sorts by time)
    assert "per strategy:" in summary
    assert "simulating" not in summary


def test_piped_the_output_is_the_summary_alone(tmp_path) -> None:
    done = subprocess.run([sys.executable, *ARGS], capture_output=True, text=True,
                          env=paper_env(tmp_path), cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("simulated 2026-03-02 10:00:00Z")
    assert "\r" not in done.stdout
    assert "simulating" not in done.stdout
