"""Contract tests: the docs' answer examples against the adapter's parsers and the simulator.

The sim-server fixtures mirror those of `tests/simserver` (a SimVenue on a manual
clock at 2026-01-01T00:00:00Z, served on loopback, and a signing caller).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# --import-mode=importlib puts no test directory on sys.path; both helper modules have
# unique basenames, so adding these directories cannot shadow anything.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "simserver"))

from helpers_simserver import KEY, SECRET, WORKED_TS, Caller

from runner.domain.clock import ManualClock, from_epoch_ms
from runner.sim.faults import FaultPlan
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue


@pytest.fixture
def sim_clock() -> ManualClock:
    return ManualClock(from_epoch_ms(WORKED_TS))


@pytest.fixture
def venue(sim_clock: ManualClock) -> SimVenue:
    return SimVenue(sim_clock, seed=7)


@pytest.fixture
def server(venue: SimVenue, sim_clock: ManualClock) -> Iterator[SimServer]:
    with SimServer(venue, KEY, SECRET, sim_clock, FaultPlan(seed=11)) as running:
        yield running


@pytest.fixture
def caller(server: SimServer, sim_clock: ManualClock) -> Iterator[Caller]:
    client = Caller(server.base_url, sim_clock)
    yield client
    client.close()
