"""`--truncate-price-to` (and `SimConfig.truncate_price_to` in process) emulates what was
seen live (issue 8 finding 9): the instrument list says tick 0.1, an order sent at 9.5
rests at 9.0. The price the venue keeps is what its order reads answer."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from helpers_simserver import KEY, SECRET, Caller, data_of

from runner.domain.clock import ManualClock, SystemClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderRequest, Side
from runner.sim.config import SimConfig
from runner.sim.venue import SimVenue

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_sim_server_command import sim_server_process

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_in_process_a_buy_sent_at_9_5_on_a_tenth_tick_rests_at_9() -> None:
    venue = SimVenue(ManualClock(NOW), seed=3, config=SimConfig(truncate_price_to=Decimal(1)))
    call = next(q for q in venue.option_chain(Underlying.ETH)
                if q.instrument.kind is OptionKind.CALL and q.ask and q.ask > 20)
    assert call.instrument.tick_size == Decimal("0.1")  # what the instrument list says
    order_id = venue.place_order(OrderRequest(call.symbol, Side.BUY, Decimal("0.1"),
                                              Decimal("9.5"), 41))
    kept = venue.get_order(order_id=order_id)
    assert kept is not None
    assert kept.price == Decimal(9)
    assert [o.price for o in venue.open_orders()] == [Decimal(9)]


def test_without_the_option_prices_keep_the_listed_tick() -> None:
    venue = SimVenue(ManualClock(NOW), seed=3)
    call = next(q for q in venue.option_chain(Underlying.ETH)
                if q.instrument.kind is OptionKind.CALL and q.ask and q.ask > 20)
    order_id = venue.place_order(OrderRequest(call.symbol, Side.BUY, Decimal("0.1"),
                                              Decimal("9.5"), 41))
    kept = venue.get_order(order_id=order_id)
    assert kept is not None
    assert kept.price == Decimal("9.5")


def test_the_sim_server_process_truncates_order_prices_to_the_given_step() -> None:
    with sim_server_process("--truncate-price-to", "1", "--api-key", KEY,
                            "--api-secret", SECRET) as (_process, base_url):
        caller = Caller(base_url, SystemClock())
        listed = data_of(caller.get("/open/option/getInstruments/ETH"))
        row = next(item for item in listed
                   if str(item.get("symbolName") or item.get("symbol")).endswith("-C"))
        symbol = row.get("symbolName") or row.get("symbol")
        assert Decimal(str(row["tickSize"])) == Decimal("0.1")
        body = {"symbol": symbol, "qty": 0.1, "tradeSide": 1, "tradeType": 1,
                "price": 9.5, "clientOrderId": 77}
        assert data_of(caller.post_json("/open/option/order/create/v1", body))
        order = data_of(caller.get("/open/option/order/singleQuery/v1", {"clientOrderId": 77}))
        assert Decimal(str(order["price"])) == Decimal(9)
        caller.close()
