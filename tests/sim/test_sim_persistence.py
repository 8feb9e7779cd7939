"""The paper venue survives restarts: export/restore of SimVenue and its file on disk.

Lessons A1 (state survives a restart), A6 (atomic writes, corruption quarantined, no crash
loop), A9 (state kept in the state directory), D3 (client order ids are never reusable).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderStatus, Side
from runner.domain.rfq import RfqLeg, RfqState
from runner.exchange.errors import ExchangeRejected
from runner.sim.config import SimConfig
from runner.sim.persistence import (
    PAPER_VENUE_FILE_NAME,
    PaperVenueSaver,
    open_paper_venue,
    paper_venue_path,
    write_state_atomically,
)
from runner.sim.venue import SimVenue
from runner.sim.venue_state import VenueStateError, VenueStateTooNew
from tests.sim.helpers_sim import near_money, order

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Traded:
    """Ids of what `trade_a_day` did, to ask the venue about afterwards."""

    order_ids: list[int] = field(default_factory=list)
    client_ids: list[int] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    symbols: set[str] = field(default_factory=set)
    partial_id: int = 0
    near_id: int = 0
    far_id: int = 0
    settled_symbol: str = ""

    def place(self, venue: SimVenue, symbol: str, side: Side, qty: str,
              price: Decimal) -> int:
        request = order(symbol, side, qty, price)
        order_id = venue.place_order(request)
        self.order_ids.append(order_id)
        self.client_ids.append(request.client_order_id)
        self.symbols.add(symbol)
        return order_id


def trade_a_day(clock: ManualClock, venue: SimVenue) -> Traded:
    """Fills, a settled expiry, an RFQ block trade, an RFQ still quoting, a partial fill
    with its remainder resting, and resting orders near and far from the market."""
    traded = Traded()
    doomed = near_money(venue, OptionKind.PUT, position=0)
    traded.place(venue, doomed.symbol, Side.BUY, "0.2", doomed.ask)
    traded.settled_symbol = doomed.symbol
    clock.set(datetime(2026, 3, 3, 9, tzinfo=UTC))  # past 08:00: the put is settled
    call = near_money(venue, OptionKind.CALL, position=0)
    traded.place(venue, call.symbol, Side.BUY, "0.5", call.ask)
    traded.place(venue, call.symbol, Side.SELL, "0.2", call.bid)
    traded.far_id = traded.place(venue, call.symbol, Side.SELL, "0.3", Decimal(50_000))
    legs = (RfqLeg(near_money(venue, OptionKind.CALL, offset=2).symbol, Side.SELL,
                   Decimal("0.5")),
            RfqLeg(near_money(venue, OptionKind.PUT, offset=-2).symbol, Side.SELL,
                   Decimal("0.5")))
    accepted = venue.create_rfq(legs)
    clock.advance(timedelta(seconds=10))
    quote = next(q for q in venue.rfq_quotes(accepted.request_id) if q.matches_direction(legs))
    trade = venue.accept_quote(accepted.request_id, quote.quote_id)
    traded.order_ids.extend(leg.order_id for leg in trade.legs if leg.order_id is not None)
    traded.symbols.update(leg.symbol for leg in legs)
    quoting = venue.create_rfq(legs)
    clock.advance(timedelta(seconds=10))
    traded.request_ids += [accepted.request_id, quoting.request_id]
    put = near_money(venue, OptionKind.PUT, position=0)
    level = venue.orderbook(put.symbol).asks[0]
    traded.partial_id = traded.place(venue, put.symbol, Side.BUY, str(level.size + 1),
                                     level.price)
    later = near_money(venue, OptionKind.CALL, position=1)
    traded.near_id = traded.place(venue, later.symbol, Side.SELL, "0.1", later.bid + 15)
    return traded


def answers(venue: SimVenue, traded: Traded) -> dict[str, Any]:
    """What every port method (and record accessor) says about the traded account now."""
    listed = sorted(s for s in traded.symbols if venue.option_state(s) is not None)
    return {
        "positions": venue.positions(), "account": venue.account(),
        "open": venue.open_orders(), "open_btc": venue.open_orders(Underlying.BTC),
        "by_id": [venue.get_order(order_id=i) for i in traded.order_ids],
        "by_client": [venue.get_order(client_order_id=c) for c in traded.client_ids],
        "fills": venue.fills(EPOCH), "blocks": venue.block_trades(EPOCH),
        "rfqs": [venue.rfq_view(r) for r in traded.request_ids],
        "quotes": [venue.rfq_quotes(r) for r in traded.request_ids],
        "index": [venue.index_price(u) for u in Underlying],
        "instruments": venue.instruments(Underlying.BTC),
        "books": [venue.orderbook(s) for s in listed],
        "records": (venue.order_records(), venue.fill_records(), venue.exercise_records(),
                    venue.delivery_prices(Underlying.BTC), venue.position_records(),
                    venue.rfq_records(), venue.cash()),
    }


def through_json(state: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(state, allow_nan=False))


@pytest.fixture
def traded(clock: ManualClock, venue: SimVenue) -> Traded:
    return trade_a_day(clock, venue)


# -- export and restore ------------------------------------------------------------------
def test_the_scenario_covers_what_a_restart_must_keep(venue, traded) -> None:
    assert venue.exercise_records()[0].symbol == traded.settled_symbol
    assert venue.get_order(order_id=traded.partial_id).status is OrderStatus.PARTIALLY_FILLED
    assert venue.get_order(order_id=traded.near_id).status is OrderStatus.NEW
    assert venue.get_order(order_id=traded.far_id).status is OrderStatus.NEW
    assert len(venue.block_trades(EPOCH)) == 1
    assert venue.rfq_view(traded.request_ids[1]).state is RfqState.ACTIVE
    assert venue.rfq_quotes(traded.request_ids[1])


def test_a_venue_restored_at_the_same_time_answers_every_port_method_the_same(
        clock, venue, traded) -> None:
    """A1: positions, cash, orders, fills, RFQs and block trades survive a restart."""
    state = through_json(venue.export_state())
    restored = SimVenue.from_state(clock, state)
    assert answers(restored, traded) == answers(venue, traded)
    assert restored.export_state() == state
    assert (restored.seed, restored.started_at) == (venue.seed, venue.started_at)


def test_a_restored_venue_numbers_new_orders_and_trades_where_the_old_one_stopped(
        clock, venue, traded) -> None:
    restored = SimVenue.from_state(clock, through_json(venue.export_state()))
    call = near_money(venue, OptionKind.CALL, position=1)
    request = order(call.symbol, Side.BUY, "0.1", call.ask)
    assert restored.place_order(request) == venue.place_order(request)
    assert restored.fills(clock.now()) == venue.fills(clock.now())
    assert restored.create_rfq([RfqLeg(call.symbol, Side.BUY, Decimal(1))]) == \
        venue.create_rfq([RfqLeg(call.symbol, Side.BUY, Decimal(1))])


def test_liquidity_taken_this_minute_stays_taken_after_a_restore(clock, venue, traded) -> None:
    restored = SimVenue.from_state(clock, through_json(venue.export_state()))
    partial = venue.get_order(order_id=traded.partial_id)
    again = order(partial.symbol, Side.BUY, "0.5", partial.price)
    answers_ = [v.get_order(order_id=v.place_order(again)) for v in (venue, restored)]
    assert answers_[0] == answers_[1]
    assert answers_[1].filled_qty == 0  # the level was used up by the partial fill


def test_a_venue_restored_later_catches_up_like_the_one_that_kept_running(
        clock, venue, traded) -> None:
    """The index path continues from the seed; resting orders meet the market on catch-up;
    the expiry that passed while down is settled at its 08:00 (G1)."""
    state = through_json(venue.export_state())
    clock.advance(timedelta(hours=25))  # through 4 Mar 08:00
    restored = SimVenue.from_state(clock, state)
    assert answers(restored, traded) == answers(venue, traded)
    for order_id in (traded.partial_id, traded.near_id):
        assert restored.get_order(order_id=order_id).status is OrderStatus.FILLED
    far = restored.get_order(order_id=traded.far_id)
    assert far.status is OrderStatus.CANCELED_BY_EXERCISE
    settled = {e.symbol for e in restored.exercise_records()}
    assert restored.get_order(order_id=traded.partial_id).symbol in settled
    assert restored.rfq_view(traded.request_ids[1]).state is RfqState.EXPIRED


def test_the_index_path_after_a_restore_is_the_one_the_seed_gives(clock, venue) -> None:
    clock.advance(timedelta(hours=3))
    state = through_json(venue.export_state())
    later = [clock.now() + timedelta(minutes=m) for m in (0, 1, 59, 600, 3000)]
    restart_clock = ManualClock(clock.now())
    restored = SimVenue.from_state(restart_clock, state)
    expected = []
    for moment in later:
        clock.set(moment)
        expected.append(venue.index_price(Underlying.ETH))
    seen = []
    for moment in later:
        restart_clock.set(moment)
        seen.append(restored.index_price(Underlying.ETH))
    assert seen == expected


def test_a_used_client_order_id_is_still_refused_after_a_restore(clock, venue, traded) -> None:
    """D3: Coincall refuses a reused clientOrderId (10577), restart or not."""
    restored = SimVenue.from_state(clock, through_json(venue.export_state()))
    call = near_money(restored, OptionKind.CALL, position=1)
    for client_id in traded.client_ids:
        with pytest.raises(ExchangeRejected) as refused:
            restored.place_order(order(call.symbol, Side.BUY, "0.1", call.ask,
                                       client_order_id=client_id))
        assert refused.value.code == 10577


def test_orders_older_than_the_window_are_dropped_but_their_client_ids_stay_refused(
        clock, venue) -> None:
    call = near_money(venue, OptionKind.CALL, position=0)
    request = order(call.symbol, Side.BUY, "0.1", call.ask)
    venue.place_order(request)
    clock.advance(timedelta(days=8))
    state = through_json(venue.export_state())
    assert state["matcher"]["orders"] == []
    assert state["matcher"]["fills"] == []
    restored = SimVenue.from_state(clock, state)
    assert restored.get_order(client_order_id=request.client_order_id) is None
    assert restored.account() == venue.account()
    listed = near_money(restored, OptionKind.CALL, position=0)
    with pytest.raises(ExchangeRejected) as refused:
        restored.place_order(order(listed.symbol, Side.BUY, "0.1", listed.ask,
                                   client_order_id=request.client_order_id))
    assert refused.value.code == 10577


def test_controls_applied_to_the_market_are_restored(clock, venue) -> None:
    venue.move_index(Underlying.BTC, Decimal(-5))
    clock.advance(timedelta(minutes=3))
    venue.freeze_prices(Underlying.ETH)
    venue.set_maker_behaviour(book_offset_pct=Decimal(2))
    clock.advance(timedelta(minutes=3))
    state = through_json(venue.export_state())
    restored = SimVenue.from_state(clock, state)
    clock.advance(timedelta(minutes=30))
    assert [restored.index_price(u) for u in Underlying] == \
        [venue.index_price(u) for u in Underlying]
    assert restored.export_state() == venue.export_state()


@pytest.mark.parametrize("damage", [
    lambda s: s.pop("ledger"),
    lambda s: s["ledger"].update(cash=12.5),
    lambda s: s["matcher"]["orders"].append({"order_id": "x"}),
    lambda s: s.update(format="something else"),
    lambda s: s.update(now="2026-03-02T10:00:00"),
])
def test_a_damaged_state_is_refused_with_a_venue_state_error(clock, venue, damage) -> None:
    state = through_json(venue.export_state())
    damage(state)
    with pytest.raises(VenueStateError):
        SimVenue.from_state(clock, state)


# -- the version counter -------------------------------------------------------------------
def test_the_version_moves_when_the_account_changes_and_not_when_time_only_passes(
        clock, venue) -> None:
    first = venue.state_version()
    clock.advance(timedelta(hours=2))
    assert venue.state_version() == first
    call = near_money(venue, OptionKind.CALL, position=1)
    venue.place_order(order(call.symbol, Side.BUY, "0.1", Decimal(50)))
    placed = venue.state_version()
    assert placed > first
    clock.advance(timedelta(minutes=5))
    assert venue.state_version() == placed


def test_a_resting_order_filling_during_catch_up_moves_the_version(clock, venue) -> None:
    call = near_money(venue, OptionKind.CALL, position=1)
    order_id = venue.place_order(order(call.symbol, Side.SELL, "0.1", call.bid + 15))
    before = venue.state_version()
    clock.advance(timedelta(minutes=30))
    assert venue.get_order(order_id=order_id).status is OrderStatus.FILLED
    assert venue.state_version() > before


# -- the file ------------------------------------------------------------------------------
def test_the_saver_writes_only_when_the_version_changed(tmp_path, clock, venue) -> None:
    path = paper_venue_path(tmp_path)
    saver = PaperVenueSaver(venue, path)
    assert saver.save_if_changed()
    written = path.read_bytes()
    clock.advance(timedelta(hours=1))
    assert not saver.save_if_changed()
    assert path.read_bytes() == written
    call = near_money(venue, OptionKind.CALL, position=1)
    venue.place_order(order(call.symbol, Side.BUY, "0.1", Decimal(50)))
    assert saver.save_if_changed()
    assert json.loads(path.read_text(encoding="utf-8"))["matcher"]["orders"]
    assert not saver.save_if_changed()


def test_a_restart_reopens_the_saved_account_with_its_own_seed(tmp_path, clock) -> None:
    """A1/A9: kept in the state directory; the saved seed wins over a new one."""
    first = open_paper_venue(tmp_path, clock, seed=11)
    assert not first.restored
    assert first.lines() == [f"paper venue: started a new account with 100000 USD (seed 11);"
                             f" it is saved in {tmp_path / PAPER_VENUE_FILE_NAME}"]
    traded = trade_a_day(clock, first.venue)
    PaperVenueSaver(first.venue, first.path).save_if_changed()
    again = open_paper_venue(tmp_path, clock, seed=99)
    assert again.restored
    assert not again.needs_alert
    assert again.venue.seed == 11
    assert answers(again.venue, traded) == answers(first.venue, traded)
    assert "paper venue: restored the account saved in" in again.lines()[0]
    assert [p.name for p in tmp_path.iterdir()] == [PAPER_VENUE_FILE_NAME]


@pytest.mark.parametrize("content", [
    b"", b"\x00" * 4096, b'{"format": "runner.paper-venue", "format_ver', b"[1, 2, 3]",
    b'{"format": "runner.paper-venue", "format_version": 1, "seed": 3}', b"\xff\xfe{",
], ids=["empty", "nul-filled", "truncated", "not-an-object", "incomplete", "not-utf8"])
def test_a_damaged_file_is_quarantined_and_a_new_account_starts(tmp_path, clock,
                                                                 content) -> None:
    """A6: never a crash loop; the damaged file is kept, renamed, for a person to look at."""
    path = paper_venue_path(tmp_path)
    path.write_bytes(content)
    opening = open_paper_venue(tmp_path, clock, seed=5)
    assert not opening.restored
    assert opening.needs_alert
    assert opening.venue.seed == 5
    assert opening.venue.positions() == []
    assert not path.exists()
    assert opening.quarantined_to == tmp_path / "paper-venue.json.corrupt-20260302T100000Z"
    assert opening.quarantined_to.read_bytes() == content
    lines = opening.lines()
    assert lines[0].startswith("paper venue: ALERT the saved account in")
    assert str(opening.quarantined_to) in lines[1]
    PaperVenueSaver(opening.venue, path).save_if_changed()
    assert open_paper_venue(tmp_path, clock, seed=6).restored


def test_a_second_quarantine_in_the_same_second_keeps_both_files(tmp_path, clock) -> None:
    path = paper_venue_path(tmp_path)
    for content in (b"first", b"second"):
        path.write_bytes(content)
        open_paper_venue(tmp_path, clock, seed=1)
    kept = sorted(p.read_bytes() for p in tmp_path.glob("*.corrupt-*"))
    assert kept == [b"first", b"second"]


def test_a_file_from_a_newer_runner_is_refused_not_quarantined(tmp_path, clock,
                                                               venue) -> None:
    state = venue.export_state()
    state["format_version"] = 99
    path = paper_venue_path(tmp_path)
    write_state_atomically(path, state)
    with pytest.raises(VenueStateTooNew, match="upgrade the runner"):
        open_paper_venue(tmp_path, clock, seed=1)
    assert path.exists()
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_a_changed_simulator_configuration_is_restored_with_a_note(tmp_path, clock,
                                                                   venue) -> None:
    PaperVenueSaver(venue, paper_venue_path(tmp_path)).save()
    opening = open_paper_venue(tmp_path, clock, seed=1,
                               config=SimConfig(starting_cash=Decimal(5000)))
    assert opening.restored
    assert opening.venue.cash() == venue.cash()
    assert any("configuration changed" in line for line in opening.lines())


def test_a_crash_between_write_and_rename_leaves_the_saved_account_intact(
        tmp_path, clock, venue) -> None:
    """A6: the previous file survives whole; the stray temp file is cleared next time."""
    path = paper_venue_path(tmp_path)
    saver = PaperVenueSaver(venue, path)
    saver.save()
    before = path.read_bytes()

    class Killed(BaseException):
        pass

    def crash_before_rename(source: str | os.PathLike[str],
                            target: str | os.PathLike[str]) -> None:
        os.link(source, Path(tmp_path, ".tmp-paper-venue.json.kept"))  # what a power cut leaves
        raise Killed

    call = near_money(venue, OptionKind.CALL, position=1)
    venue.place_order(order(call.symbol, Side.BUY, "0.1", Decimal(50)))
    crashing = PaperVenueSaver(venue, path, replace=crash_before_rename)
    with pytest.raises(Killed):
        crashing.save_if_changed()
    assert path.read_bytes() == before
    assert open_paper_venue(tmp_path, clock, seed=1).venue.open_orders() == []
    assert saver.save_if_changed()
    assert sorted(p.name for p in tmp_path.iterdir()) == [PAPER_VENUE_FILE_NAME]
    assert len(open_paper_venue(tmp_path, clock, seed=1).venue.open_orders()) == 1
