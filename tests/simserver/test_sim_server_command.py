"""`runner sim-server`: a real process on loopback that prints its port and stops on a signal."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from runner.cli import sim_server as commands
from runner.domain.clock import to_epoch_ms
from runner.exchange.coincall.signing import signature

EXAMPLE_PLAN = Path(__file__).resolve().parent / "faults-example.yaml"


@contextmanager
def sim_server_process(*extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `python -m runner sim-server --port 0 ...`; yield it and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim-server", "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:"), (
            first, process.stderr.read() if process.poll() is not None else "")
        yield process, first.removeprefix("listening on ")
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def stop(process: subprocess.Popen[str], how: signal.Signals) -> int:
    process.send_signal(how)
    return process.wait(timeout=10)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_it_prints_its_port_answers_time_and_stops_cleanly_on_sigterm() -> None:
    with sim_server_process("--seed", "3") as (process, base_url):
        answer = requests.get(f"{base_url}/time", timeout=5).json()
        assert answer["code"] == 0
        assert isinstance(answer["data"]["serverTime"], int)
        assert stop(process, signal.SIGTERM) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_it_verifies_signatures_with_the_given_key_and_stops_on_sigint() -> None:
    key, secret = "cli-key", "cli-secret"
    with sim_server_process("--api-key", key, "--api-secret", secret,
                            "--faults", str(EXAMPLE_PLAN)) as (process, base_url):
        server_ms = requests.get(f"{base_url}/time", timeout=5).json()["data"]["serverTime"]
        path = "/open/account/summary/v1"

        def headers(secret_used: str) -> dict[str, str]:
            sign = signature("GET", path, None, api_key=key, secret=secret_used,
                             ts_ms=server_ms, ts_diff_ms=5000)
            return {"X-CC-APIKEY": key, "sign": sign, "ts": str(server_ms),
                    "X-REQ-TS-DIFF": "5000"}

        good = requests.get(base_url + path, headers=headers(secret), timeout=5).json()
        bad = requests.get(base_url + path, headers=headers("guess"), timeout=5).json()
        assert good["code"] == 0
        assert float(good["data"]["equity"]) > 0
        assert bad["code"] == 10006
        assert stop(process, signal.SIGINT) == 0
        assert secret not in process.communicate(timeout=10)[0]


def test_the_output_never_shows_the_default_secret(capsys: pytest.CaptureFixture[str]) -> None:
    commands._announce("http://127.0.0.1:1", argparse.Namespace(
        api_key=None, seed=0, speed=1.0, faults=None, rate_limits=True))
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "listening on http://127.0.0.1:1"
    assert commands.DEFAULT_API_KEY in printed
    assert commands.DEFAULT_API_SECRET not in printed


@pytest.mark.parametrize("arguments", [
    ["--port", "0", "--speed", "0"],
    ["--port", "70000"],
    ["--port", "0", "--api-key", "only-a-key"],
    ["--port", "0", "--faults", "/nonexistent/plan.yaml"],
])
def test_bad_arguments_exit_with_usage_code_2(arguments: list[str]) -> None:
    from runner.cli.app import main

    assert main(["sim-server", *arguments]) == 2


def test_the_accelerated_clock_runs_faster_than_real_time() -> None:
    clock = commands.AcceleratedClock(speed=1000.0)
    first = clock.now()
    clock.sleep(1.0)  # one simulated second: a millisecond of real time
    assert (clock.now() - first).total_seconds() >= 1.0
    assert to_epoch_ms(clock.now()) > to_epoch_ms(first)


def test_rate_limits_are_on_unless_turned_off() -> None:
    from runner.cli.app import build_parser

    parser = build_parser()
    assert parser.parse_args(["sim-server", "--port", "0"]).rate_limits is True
    assert parser.parse_args(["sim-server", "--port", "0", "--no-rate-limits"]).rate_limits \
        is False


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_it_reports_how_many_answers_it_throttled_when_it_stops() -> None:
    """Account information is limited to 2 / 1 s (section 7): four at once, some refused."""
    with sim_server_process() as (process, base_url):
        path = "/open/account/summary/v1"
        server_ms = requests.get(f"{base_url}/time", timeout=5).json()["data"]["serverTime"]
        sign = signature("GET", path, None, api_key=commands.DEFAULT_API_KEY,
                         secret=commands.DEFAULT_API_SECRET, ts_ms=server_ms)
        headers = {"X-CC-APIKEY": commands.DEFAULT_API_KEY, "sign": sign,
                   "ts": str(server_ms), "X-REQ-TS-DIFF": "5000"}
        codes = [requests.get(base_url + path, headers=headers, timeout=5).json()["code"]
                 for _ in range(4)]
        assert stop(process, signal.SIGTERM) == 0
        out = process.communicate(timeout=10)[0]
    refused = codes.count(10605)
    assert codes[:2] == [0, 0]
    assert refused >= 1
    assert set(codes) == {0, 10605}
    assert f"throttled answers: {refused}" in out.splitlines()


def _signed_get(base_url: str, path: str, params: dict[str, str]) -> requests.Response:
    server_ms = requests.get(f"{base_url}/time", timeout=5).json()["data"]["serverTime"]
    sign = signature("GET", path, params, api_key=commands.DEFAULT_API_KEY,
                     secret=commands.DEFAULT_API_SECRET, ts_ms=server_ms, ts_diff_ms=5000)
    return requests.get(base_url + path, params=params, timeout=5, headers={
        "X-CC-APIKEY": commands.DEFAULT_API_KEY, "sign": sign, "ts": str(server_ms),
        "X-REQ-TS-DIFF": "5000"})


@pytest.mark.parametrize(("options", "status"), [
    ((), 404), (("--key-access", "maker", "--rfq-body", "form"), 200)],
    ids=["default-taker-key", "maker-key"])
def test_rfq_list_follows_the_key_access_option(options: tuple[str, ...], status: int) -> None:
    """Issue 8 item 4: by default the key is a taker key and rfqList is HTTP 404, as live."""
    with sim_server_process(*options) as (_process, base_url):
        answer = _signed_get(base_url, "/open/option/blocktrade/rfqList/v1", {"state": "OPEN"})
        assert answer.status_code == status


@pytest.mark.parametrize("arguments", [
    ["--port", "0", "--rfq-body", "xml"], ["--port", "0", "--key-access", "admin"]])
def test_unknown_rfq_options_are_usage_errors(arguments: list[str]) -> None:
    from runner.cli.app import main

    assert main(["sim-server", *arguments]) == 2
