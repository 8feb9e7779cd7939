"""`runner simulate` shows its progress on a terminal, and nothing extra when piped
(issue 9 item 5; the terminal is a pseudo-terminal from python's `pty`).

On a terminal the line "simulating <time> (<share>): N trades finished, net PnL X USD"
is redrawn in place (a carriage return, then the text padded over the previous one; no
escape codes, which a Windows console would print) and blanked before the summary; with
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


def test_on_a_terminal_the_progress_line_is_drawn_in_place_then_blanked(tmp_path) -> None:
    code, screen = run_on_a_terminal(tmp_path)
    assert code == 0, (screen, (tmp_path / "stderr.txt").read_text(encoding="utf-8"))
    assert "\x1b" not in screen
    progress, _, summary = screen.partition("simulated 2026-03-02 10:00:00Z")
    assert progress.startswith("\rsimulating 2026-03-02 10:00Z (0%): 0 trades finished,"
                               " net PnL 0.00 USD")
    drawn = progress.split("\r")[1:]
    assert drawn[-1] == ""  # the blanking ends with a return to the line's start
    assert drawn[-2].strip() == ""  # spaces over the last progress text
    lines = [line.rstrip() for line in drawn[:-2]]
    assert len(lines) >= 3, lines  # redrawn in place: at least at each of the two trades
    assert "2 trades finished, net PnL -2." in lines[-1]
    assert lines[-1] > lines[0]  # a later simulated time (the text sorts by time)
    assert "per strategy:" in summary
    assert "simulating" not in summary


def test_piped_the_output_is_the_summary_alone(tmp_path) -> None:
    done = subprocess.run([sys.executable, *ARGS], capture_output=True, text=True,
                          env=paper_env(tmp_path), cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("simulated 2026-03-02 10:00:00Z")
    assert "\r" not in done.stdout
    assert "simulating" not in done.stdout
