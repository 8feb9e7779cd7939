"""Lesson H4 for the product's HTTP surfaces: the old dashboard needed HttpOnly cookies, a
login lockout, constant-time password checks and `/control/*` on localhost only.

This runner serves no dashboard and no control endpoint (the operator's commands are the
command line, `runner pause/resume/flatten`, through the store): its one HTTP server is
the simulated exchange, `runner sim-server`. For that surface the rules that apply are
kept: it listens on 127.0.0.1 only, a request is authenticated by its HMAC signature,
compared in constant time, and no other module of the package opens a server socket.
"""

from __future__ import annotations

import ast
import hmac
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

import runner
from runner.domain.clock import ManualClock
from runner.sim import server as sim_server
from runner.sim import signature
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

PACKAGE = Path(runner.__file__).resolve().parent
SERVER_MODULES = ("http.server", "socketserver", "wsgiref.simple_server")
SERVER_CALLS = ("listen", "serve_forever", "start_server", "create_server", "make_server")


def _opens_a_server(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in SERVER_MODULES:
            return True
        if isinstance(node, ast.Import) and any(a.name in SERVER_MODULES for a in node.names):
            return True
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in SERVER_CALLS:
            return True
    return False


def test_h4_the_only_http_server_in_the_package_is_the_simulated_exchange() -> None:
    simulator = Path(sim_server.__file__).resolve().parent
    serving = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if _opens_a_server(p))
    assert serving  # the check sees the simulator's server
    outside = [p for p in serving if not (PACKAGE / p).is_relative_to(simulator)]
    assert outside == []  # no dashboard, no control endpoint to harden


def test_h4_the_simulated_exchange_listens_on_loopback_only() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    with SimServer(SimVenue(clock, seed=1), "key", "secret", clock) as running:
        assert running._httpd is not None
        host, port = running._httpd.server_address[:2]
        assert host == "127.0.0.1"
        assert running.base_url == f"http://127.0.0.1:{port}"
        external = _an_external_address()
        if external is not None:  # reachable on loopback only, not on another interface
            with pytest.raises((ConnectionRefusedError, TimeoutError)):
                socket.create_connection((external, port), timeout=1).close()


def _an_external_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_h4_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signature.hmac, "compare_digest", recording)
    good = signature.expected_sign("secret", "prehash")
    assert signature.sign_matches("secret", "prehash", good.lower())
    assert not signature.sign_matches("secret", "prehash", "0" * len(good))
    assert len(compared) == 2
