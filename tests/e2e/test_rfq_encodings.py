"""RFQ accept/cancel bodies negotiated over real HTTP, in both worlds (issue 8, pitfall 3).

The sim-server is started as `--rfq-body json` (the 2026-07 docs) or `--rfq-body form`
(live on 2026-07-09) and refuses the other encoding with 10004. The REST adapter runs the
whole taker flow against it, create -> quotes -> accept and create -> cancel, starting
from either encoding: it switches at most once, then every later accept and cancel goes
out in the encoding that worked, and no accept ever executes twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.domain.rfq import RfqLeg, RfqState
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.endpoints import BodyKind
from runner.exchange.coincall.http import Timeouts
from runner.service.settings import Secret
from runner.sim import wire_in
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="
SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WORLDS = {"json": (wire_in.BodyKind.JSON, BodyKind.JSON),
          "form": (wire_in.BodyKind.FORM, BodyKind.FORM)}
RFQ_WRITES = (ep.RFQ_ACCEPT.path, ep.RFQ_CANCEL.path)


class RecordingSession(requests.Session):
    """A real session that notes the content type of every RFQ accept/cancel it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.rfq_writes: list[tuple[str, str]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        path = str(url).split("://", 1)[-1].split("/", 1)[-1]
        if f"/{path}" in RFQ_WRITES:
            kind = (kwargs.get("headers") or {}).get("Content-Type", "")
            self.rfq_writes.append((f"/{path}".rsplit("/", 2)[-2], kind))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def venue(clock: ManualClock) -> SimVenue:
    return SimVenue(clock, seed=7)


def serve(venue: SimVenue, clock: ManualClock, world: str, start: BodyKind,
          memory: Path | None = None) -> Iterator[tuple[CoincallClient, RecordingSession]]:
    session = RecordingSession()
    with SimServer(venue, KEY, SECRET, clock, rfq_body=WORLDS[world][0]) as server, \
            CoincallClient(base_url=server.base_url, api_key=Secret(KEY),
                           api_secret=Secret(SECRET), clock=clock, sleep=clock.sleep,
                           timeouts=Timeouts(connect=1.0, read=2.0), session=session,
                           rfq_body=start, rfq_body_memory=memory) as client:
        yield client, session
        assert server.throttled == 0, "the client tripped the venue's rate limits (section 7)"


def strangle(venue: SimVenue) -> list[RfqLeg]:
    expiries = sorted({q.instrument.expiry for q in venue.option_chain(Underlying.BTC)})
    quotes = [q for q in venue.option_chain(Underlying.BTC, expiries[1])
              if q.bid is not None and q.ask is not None]
    index = venue.index_price(Underlying.BTC)
    legs = []
    for kind in (OptionKind.CALL, OptionKind.PUT):
        near = min((q for q in quotes if q.instrument.kind is kind),
                   key=lambda q: abs(q.instrument.strike - index))
        legs.append(RfqLeg(near.symbol, Side.SELL, Decimal("0.5")))
    return legs


def accept_best(client: CoincallClient, clock: ManualClock, legs: list[RfqLeg]) -> str:
    rfq = client.create_rfq(legs)
    clock.advance(timedelta(seconds=15))
    chosen = next(q for q in client.rfq_quotes(rfq.request_id)
                  if q.matches_direction(tuple(legs)))
    trade = client.accept_quote(rfq.request_id, chosen.quote_id)
    assert trade.quote_id == chosen.quote_id
    return rfq.request_id


@pytest.mark.parametrize("start", [BodyKind.JSON, BodyKind.FORM], ids=["starts-json",
                                                                       "starts-form"])
@pytest.mark.parametrize("world", sorted(WORLDS))
def test_the_whole_rfq_flow_works_in_either_world_switching_once_then_sticking(
        venue: SimVenue, clock: ManualClock, world: str, start: BodyKind) -> None:
    legs = strangle(venue)
    wanted = WORLDS[world][1]
    for client, session in serve(venue, clock, world, start):
        first = accept_best(client, clock, legs)
        cancelled = client.create_rfq(legs)
        client.cancel_rfq(cancelled.request_id)
        second = accept_best(client, clock, legs)
        assert client.rfq_body is wanted
        sent = [kind for _, kind in session.rfq_writes]
        refused = [] if start is wanted else [start.value]
        assert sent == refused + [wanted.value] * 3
    assert venue.rfq_view(cancelled.request_id).state is RfqState.CANCELLED
    assert [t.request_id for t in venue.block_trades(START)] == [first, second]


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_a_cancel_first_learns_the_encoding_so_the_accept_goes_out_once(
        venue: SimVenue, clock: ManualClock, world: str) -> None:
    """The cancel paid for the switch: the accept after it is sent exactly once."""
    legs = strangle(venue)
    start = BodyKind.FORM if world == "json" else BodyKind.JSON
    for client, session in serve(venue, clock, world, start):
        client.cancel_rfq(client.create_rfq(legs).request_id)
        accept_best(client, clock, legs)
        assert [name for name, _ in session.rfq_writes] == ["cancel", "cancel", "accept"]
    assert len(venue.block_trades(START)) == 1


def test_the_encoding_learnt_is_remembered_for_the_next_process(
        venue: SimVenue, clock: ManualClock, tmp_path: Path) -> None:
    """Bonus of issue 8 item 3: a restart in the FORM world pays no second 10004."""
    memory = tmp_path / "state" / "rfq-body-encoding"
    legs = strangle(venue)
    for client, _session in serve(venue, clock, "form", BodyKind.JSON, memory):
        client.cancel_rfq(client.create_rfq(legs).request_id)
    assert memory.read_text(encoding="utf-8").strip() == "FORM"
    for client, session in serve(venue, clock, "form", BodyKind.JSON, memory):
        assert client.rfq_body is BodyKind.FORM
        accept_best(client, clock, legs)
        assert session.rfq_writes == [("accept", BodyKind.FORM.value)]


def test_an_unreadable_memory_falls_back_to_the_first_encoding(
        venue: SimVenue, clock: ManualClock, tmp_path: Path) -> None:
    memory = tmp_path / "rfq-body-encoding"
    memory.write_bytes(b"\xff\xfe garbage")
    for client, _session in serve(venue, clock, "json", BodyKind.JSON, memory):
        assert client.rfq_body is BodyKind.JSON
