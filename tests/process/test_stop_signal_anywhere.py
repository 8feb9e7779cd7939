"""A stop signal may land at any bytecode of the main thread, and the process still stops
(issue 7 item 7: a bounded stop; lessons A2: the service manager must be able to stop us).

CI once saw `runner run` ignore SIGINT until SIGKILL: the signal landed while the sleep
between ticks held its `threading.Event`'s lock, and the handler's `Event.set` waited for
that lock forever (and so did every later SIGINT or SIGTERM). `signal_landing.py` runs each
wait of the process again and again with SIGINT delivered at each successive traced step,
including inside `threading`; a handler that takes a lock hangs it, and the run below then
times out. Red before the fix: the sleep between ticks hung at step 15, the feed's wait
at step 398, the sim-server's at step 5. And the real `runner run` (paper, its own entry
point under `signal_in_run.py`) with SIGINT landing at steps of its first sleep between
ticks: before the fix it hung at steps 12, 15 and 18 until SIGKILL; now it stops cleanly
(exit 0) from every step tried.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.process.helpers_process import REPO, paper_env, write_strategy

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


@pytest.mark.parametrize("wait", ["stop-wait", "feed-pause", "sim-server"])
def test_a_signal_landing_at_any_step_of_the_wait_stops_it(wait: str, tmp_path: Path) -> None:
    try:
        done = subprocess.run(
            [sys.executable, str(REPO / "tests" / "process" / "signal_landing.py"), wait],
            env=paper_env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
            timeout=90, check=False)
    except subprocess.TimeoutExpired as hung:  # subprocess.run killed it (SIGKILL)
        shown = (hung.stdout or b"")
        tail = (shown.decode() if isinstance(shown, bytes) else shown)[-600:]
        pytest.fail(f"{wait}: a signal landed and the wait never ended; last steps:\n{tail}")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    covered = int(lines[-1].split()[1])
    assert covered >= 8, done.stdout[-600:]  # the wait really was traced step by step
    assert sum(line.endswith(": stopped") for line in lines) == covered


@pytest.mark.parametrize("step", range(0, 24, 3))
def test_runner_run_stops_cleanly_whatever_step_of_its_sleep_the_signal_lands_at(
        step: int, tmp_path: Path) -> None:
    strategy = write_strategy(tmp_path)
    command = [sys.executable, str(REPO / "tests" / "process" / "signal_in_run.py"), str(step),
               "run", str(strategy), "--tick", "1s", "--env-file", str(tmp_path / "no.env")]
    try:
        done = subprocess.run(command, env=paper_env(tmp_path), cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as hung:  # killed (SIGKILL) by subprocess.run
        err = hung.stderr.decode() if isinstance(hung.stderr, bytes) else hung.stderr or ""
        pytest.fail(f"step {step}: SIGINT landed and runner run never ended:\n{err[-1500:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "landed in " in done.stderr  # the signal was sent inside the sleep
    assert "stopped cleanly" in done.stderr
