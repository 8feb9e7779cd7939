"""Starting and stopping real `runner run` and `runner sim-server` processes for tests.

Each process test starts the real command line (`python -m runner ...`) with the
environment of this checkout (PYTHONPATH), a scrubbed environment (no developer keys),
and its state and logs under the test's tmp_path; output goes to files the test reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.cli.sim_server import DEFAULT_API_KEY, DEFAULT_API_SECRET

REPO = Path(__file__).resolve().parents[2]
_SCRUBBED = ("COINCALL_", "TRADING_ENVIRONMENT", "RUNNER_", "TELEGRAM_")

# One small strangle, entered at once (no window), held 1 h: it trades within seconds.
STRATEGY = """\
version: 1
name: process_probe
description: a small strangle entered at once, for process tests
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {dte: 1}
  call: {delta: 0.15}
  put: {delta: -0.15}
entry:
  - min_available_margin_pct: 30
timing:
  check_interval: 1s
  cooldown: 1s
  max_concurrent_trades: 1
  max_trades_per_day: 1
  max_attempts_per_day: 1
execution:
  open: {mode: limit, fill_timeout: 30s, requote_rounds: 20, aggressive_buffer_pct: 2}
  close: {mode: limit, fill_timeout: 30s, requote_rounds: 20, aggressive_buffer_pct: 2}
exits:
  - max_hold: 1h
"""


def paper_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a paper `runner run` whose state and logs live in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update({"PYTHONPATH": str(REPO), "RUNNER_STATE_DIR": str(tmp_path / "state"),
                "RUNNER_LOG_DIR": str(tmp_path / "logs")})
    return env


def exchange_env(tmp_path: Path, base_url: str, environment: str = "testnet") -> dict[str, str]:
    """Testnet (or production) pointed at a loopback `runner sim-server`."""
    suffix = "TEST" if environment == "testnet" else "PROD"
    env = paper_env(tmp_path)
    env.update({"TRADING_ENVIRONMENT": environment, "COINCALL_BASE_URL": base_url,
                f"COINCALL_API_KEY_{suffix}": DEFAULT_API_KEY,
                f"COINCALL_API_SECRET_{suffix}": DEFAULT_API_SECRET})
    return env


def write_strategy(tmp_path: Path, text: str = STRATEGY) -> Path:
    path = tmp_path / "probe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def start_runner(tmp_path: Path, env: dict[str, str], name: str, *extra: str,
                 strategy: Path | None = None, **popen: Any) -> subprocess.Popen[bytes]:
    """`runner run` in tmp_path; stdout and stderr go to `<name>.out` / `<name>.err`."""
    strategy = strategy or write_strategy(tmp_path)
    # A hung child dumps every thread's stack on SIGABRT (`stop` sends it before killing).
    env = {**env, "PYTHONFAULTHANDLER": "1"}
    with (tmp_path / f"{name}.out").open("wb") as out, \
            (tmp_path / f"{name}.err").open("wb") as err:  # the child keeps them open
        process = subprocess.Popen(
            [sys.executable, "-m", "runner", "run", str(strategy), "--tick", "1s",
             "--env-file", str(tmp_path / "no.env"), *extra],
            cwd=tmp_path, env=env, stdout=out, stderr=err, **popen)
    process.stderr_path = tmp_path / f"{name}.err"  # type: ignore[attr-defined]
    return process


def stderr_of(tmp_path: Path, name: str) -> str:
    return (tmp_path / f"{name}.err").read_text(encoding="utf-8", errors="replace")


def run_cli(tmp_path: Path, env: dict[str, str], *args: str,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a short `runner` command to completion."""
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def wait_for(what: str, check: Callable[[], bool], seconds: float,
             alive: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        if alive is not None and alive.poll() is not None:
            pytest.fail(f"the process exited ({alive.returncode}) while waiting for {what}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


def heartbeat_file(tmp_path: Path) -> Path:
    """Where the service's heartbeat is: one state directory per environment."""
    found = sorted((tmp_path / "state").glob("*/heartbeat.json"))
    return found[0] if found else tmp_path / "state" / "paper" / "heartbeat.json"


def heartbeat_written(tmp_path: Path) -> Callable[[], bool]:
    return lambda: heartbeat_file(tmp_path).exists()


def heartbeat(tmp_path: Path) -> dict[str, object]:
    """The heartbeat file as JSON ({} while absent or being replaced)."""
    try:
        return json.loads(heartbeat_file(tmp_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def ticking(tmp_path: Path, pid: int) -> Callable[[], bool]:
    """The service `pid` has run at least one tick (its start-up is over)."""
    def check() -> bool:
        beat = heartbeat(tmp_path)
        return beat.get("pid") == pid and int(str(beat.get("tick", 0))) >= 1
    return check


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    """SIGINT, then wait; a process that does not stop is killed and the test fails, showing
    where every thread of it was (faulthandler's dump on SIGABRT) and the end of its stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the process did not stop within {timeout} s of SIGINT; the end of its"
                    f" stderr:\n{_dump_and_kill(process)}")


def _dump_and_kill(process: subprocess.Popen[bytes]) -> str:
    """Ask a hung child for its stacks (SIGABRT, when it has faulthandler on), kill it and
    return the tail of its stderr file (when `start_runner` recorded one)."""
    if hasattr(signal, "SIGABRT"):
        process.send_signal(signal.SIGABRT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
    kill(process)
    path = getattr(process, "stderr_path", None)
    if path is None:
        return "(not recorded)"
    return Path(path).read_text(encoding="utf-8", errors="replace")[-8000:]


def kill(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def start_sim_server(tmp_path: Path, faults: str | None = None, *options: str
                     ) -> tuple[subprocess.Popen[str], str]:
    """`runner sim-server --port 0` (with an optional fault plan and further options);
    returns it and its URL."""
    command = [sys.executable, "-m", "runner", "sim-server", "--port", "0", "--seed", "3",
               *options]
    if faults is not None:
        plan = tmp_path / "faults.yaml"
        plan.write_text(faults, encoding="utf-8")
        command += ["--faults", str(plan)]
    env = paper_env(tmp_path)
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return server, line.removeprefix("listening on ")


def stop_server(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if server.stdout is not None:
        server.stdout.close()
