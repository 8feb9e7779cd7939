"""Fixtures for the simulated venue: a SimVenue on the shared ManualClock."""

from __future__ import annotations

import pytest

from runner.domain.clock import ManualClock
from runner.sim.venue import SimVenue


@pytest.fixture
def venue(clock: ManualClock) -> SimVenue:
    return SimVenue(clock, seed=7)
