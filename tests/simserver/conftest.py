"""Fixtures of the sim-server tests: a SimVenue on a manual clock at the worked example's
moment (2026-01-01T00:00:00Z), served on a free loopback port, and a signing caller."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# --import-mode=importlib puts no test directory on sys.path; the helpers module has a
# unique basename, so adding this directory cannot shadow anything.
sys.path.insert(0, str(Path(__file__).resolve().parent))

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
def plan() -> FaultPlan:
    return FaultPlan(seed=11)


@pytest.fixture
def server(venue: SimVenue, sim_clock: ManualClock, plan: FaultPlan) -> Iterator[SimServer]:
    with SimServer(venue, KEY, SECRET, sim_clock, plan) as running:
        yield running


@pytest.fixture
def caller(server: SimServer, sim_clock: ManualClock) -> Iterator[Caller]:
    client = Caller(server.base_url, sim_clock)
    yield client
    client.close()
