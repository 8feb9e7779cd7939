"""Issue 7 item 7 at unit level: the stop request wakes the loop's sleep at once, and the
REST client on the way out uses short timeouts, never backs off and sends nothing after
its deadline (real HTTP on loopback against the simulator, which holds requests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from runner.domain.clock import SystemClock
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.errors import ExchangeUnavailable
from runner.service.settings import Secret
from runner.service.stopping import TICK_GRACE, InterruptibleClock, StopRequest
from runner.sim.faults import FaultKind, FaultRule
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

KEY, SECRET = "stop-key", "stop-secret"


def test_the_sleep_between_ticks_wakes_at_once_when_the_stop_is_requested() -> None:
    stop = StopRequest()
    clock = InterruptibleClock(stop)
    threading.Timer(0.2, stop.request).start()
    began = time.monotonic()
    clock.sleep(30)
    assert time.monotonic() - began < 15  # woken, not slept out: far under the 30 s asked


def test_a_listener_registered_after_the_stop_hears_it_at_once() -> None:
    stop = StopRequest()
    stop.request(2)
    heard: list[str] = []
    stop.on_request(lambda: heard.append("stop"))
    assert heard == ["stop"]
    assert stop.signum == 2


def test_the_stop_gives_the_exchange_the_tick_grace_then_the_cancel_deadline() -> None:
    deadlines: list[float] = []

    class Client:
        def begin_shutdown(self, deadline: float) -> None:
            deadlines.append(deadline)

    stop = StopRequest()
    stop.exchange = Client()
    stop.request(15)
    stop.shut_exchange_by(stop.cancel_deadline())
    assert stop.requested_at is not None
    assert deadlines == [stop.requested_at + TICK_GRACE, stop.cancel_deadline()]
    assert deadlines[1] - stop.requested_at < 10  # inside the stop budget


@pytest.fixture
def hanging_server() -> Iterator[SimServer]:
    clock = SystemClock()
    with SimServer(SimVenue(clock, seed=1), KEY, SECRET, clock).start() as running:
        running.faults.add(FaultRule(endpoint="*", kind=FaultKind.TIMEOUT, seconds=6))
        yield running


def client_for(server: SimServer) -> CoincallClient:
    return CoincallClient(base_url=server.base_url, api_key=Secret(KEY),
                          api_secret=Secret(SECRET), clock=SystemClock())


def test_on_the_way_out_a_hanging_read_fails_after_the_short_timeout_without_retries(
        hanging_server: SimServer) -> None:
    client = client_for(hanging_server)
    client.begin_shutdown(time.monotonic() + 5)
    began = time.monotonic()
    with pytest.raises(ExchangeUnavailable):
        client.server_time()
    took = time.monotonic() - began
    client.close()
    assert took < 3.0  # one attempt of at most 2 s; normally 10 s read and 1/2/4 s backoff


def test_after_the_deadline_nothing_is_sent(hanging_server: SimServer) -> None:
    client = client_for(hanging_server)
    client.begin_shutdown(time.monotonic() - 1)
    began = time.monotonic()
    with pytest.raises(ExchangeUnavailable, match="not sent"):
        client.server_time()
    client.close()
    assert time.monotonic() - began < 0.5
