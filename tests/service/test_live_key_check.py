"""`runner run` on testnet/production refuses a key that may not trade (over real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner.domain.clock import SystemClock
from runner.exchange.coincall.client import CoincallClient
from runner.service.settings import Secret
from runner.service.start_checks import check_key
from runner.sim.faults import FaultKind, FaultRule
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

KEY, SECRET = "live-check-key", "live-check-secret"


@pytest.fixture
def server() -> Iterator[SimServer]:
    clock = SystemClock()
    with SimServer(SimVenue(clock, seed=1), KEY, SECRET, clock).start() as running:
        yield running
        assert running.throttled == 0, "the client tripped the venue's rate limits"


def client_for(server: SimServer) -> CoincallClient:
    return CoincallClient(base_url=server.base_url, api_key=Secret(KEY),
                          api_secret=Secret(SECRET), clock=SystemClock(), sleep=lambda _s: None)


def test_a_trading_key_may_start(server: SimServer) -> None:
    assert check_key(client_for(server)) is not None


def test_a_rejected_key_refuses_to_start(server: SimServer) -> None:
    server.faults.add(FaultRule(endpoint="api_key_info", kind=FaultKind.ERROR, code=10560,
                                message="invalid apiKey"))
    assert check_key(client_for(server)) is None


def test_an_unreachable_exchange_does_not_stop_the_start(server: SimServer) -> None:
    """The loop retries reads; refusing here would turn an outage into a crash loop."""
    server.faults.add(FaultRule(endpoint="api_key_info", kind=FaultKind.HTTP_5XX))
    assert check_key(client_for(server)) is not None

