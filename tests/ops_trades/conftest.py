"""Fixtures of the `runner trades` tests: a state directory of their own, and the simulated
Coincall served on loopback for the REST environments (testnet, production)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runner.domain.clock import SystemClock
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from tests.ops_trades.helpers_ops_trades import KEY, SECRET, Loopback, RecordingVenue


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The paper environment's empty state directory, under the root RUNNER_STATE_DIR
    names (never the repository's state/); one directory per environment (issue 7)."""
    root = tmp_path / "state"
    directory = root / "paper"
    directory.mkdir(parents=True)
    monkeypatch.setenv("RUNNER_STATE_DIR", str(root))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is ever read
    return directory


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> Iterator[Loopback]:
    """TRADING_ENVIRONMENT=testnet against a SimVenue on 127.0.0.1 (real time, seed 7)."""
    clock = SystemClock()
    venue = RecordingVenue(SimVenue(clock, seed=7))
    with SimServer(venue, KEY, SECRET, clock) as server:  # type: ignore[arg-type]
        monkeypatch.setenv("TRADING_ENVIRONMENT", "testnet")
        monkeypatch.setenv("COINCALL_BASE_URL", server.base_url)
        monkeypatch.setenv("COINCALL_API_KEY_TEST", KEY)
        monkeypatch.setenv("COINCALL_API_SECRET_TEST", SECRET)
        yield Loopback(venue, server, state_dir.parent / "testnet")
        # The venue enforces section 7's limits. These tests run commands back to back in
        # milliseconds, each with its own client, as separate processes would live: their
        # reads may share one user budget and be refused once (and retried after 1 s), but
        # an order or a cancel must never be throttled.
        refused = server.throttle.refused_by_class()
        assert not {"place order", "cancel order"} & set(refused), refused


@pytest.fixture
def production(loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> Loopback:
    """The same loopback venue, configured as production (never a real host)."""
    monkeypatch.setenv("TRADING_ENVIRONMENT", "production")
    monkeypatch.setenv("COINCALL_API_KEY_PROD", KEY)
    monkeypatch.setenv("COINCALL_API_SECRET_PROD", SECRET)
    return replace(loopback, state_dir=loopback.state_dir.parent / "production")
