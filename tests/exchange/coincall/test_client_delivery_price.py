"""CoincallClient.delivery_price: the settlement price of an expiry (G2), read defensively.

Coincall documents the call (`GET /open/option/get-delivery-prices/v1?symbol=BTCUSD`,
public, 1/s) but not its answer, so the client accepts the plausible field names and
fails loudly, naming them, when none is there: never a settlement at 0 or a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock, to_epoch_ms
from runner.domain.instruments import Underlying
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.endpoints import RateClass, RateLimit
from runner.exchange.coincall.wire.market import delivery_prices
from runner.exchange.errors import MalformedResponse

from .conftest import FakeCoincall

PATH = "/open/option/get-delivery-prices/v1"
FEB19 = datetime(2026, 2, 19, 8, 0, tzinfo=UTC)
FEB20 = datetime(2026, 2, 20, 8, 0, tzinfo=UTC)  # the clock fixture is 20 Feb 12:00
FEB27 = datetime(2026, 2, 27, 8, 0, tzinfo=UTC)


def _rows(*pairs: tuple[datetime, object], price: str = "deliveryPrice",
          time: str = "deliveryTime") -> list[dict[str, object]]:
    return [{"symbol": "BTCUSD", price: value, time: to_epoch_ms(at)} for at, value in pairs]


# -- the wire --------------------------------------------------------------------------------
@pytest.mark.parametrize(("price", "time"), [("deliveryPrice", "deliveryTime"),
                                             ("price", "time"), ("price", "endTime"),
                                             ("deliveryPrice", "endTime")])
def test_every_accepted_pair_of_field_names_reads_the_same(price: str, time: str) -> None:
    data = _rows((FEB19, "66120.5"), (FEB20, 67012.25), price=price, time=time)
    assert delivery_prices(data, "BTCUSD") == {to_epoch_ms(FEB19): Decimal("66120.5"),
                                               to_epoch_ms(FEB20): Decimal("67012.25")}


def test_a_paged_answer_and_string_times_are_read_too() -> None:
    data = {"list": [{"deliveryPrice": "67012.25", "deliveryTime": str(to_epoch_ms(FEB20))}],
            "hasNext": False}
    assert delivery_prices(data, "BTCUSD") == {to_epoch_ms(FEB20): Decimal("67012.25")}


def test_rows_of_another_index_and_zero_prices_are_ignored() -> None:
    """G2: a 0 is "no price", never a settlement price."""
    data = [*_rows((FEB20, 0)), {"symbol": "ETHUSD", "deliveryPrice": 1990,
                                 "deliveryTime": to_epoch_ms(FEB19)}]
    assert delivery_prices(data, "BTCUSD") == {}


def test_a_row_without_a_known_price_field_is_malformed_naming_the_fields() -> None:
    with pytest.raises(MalformedResponse) as raised:
        delivery_prices([{"symbol": "BTCUSD", "settlePrice": 1, "deliveryTime": 1}], "BTCUSD")
    assert "deliveryPrice, price" in str(raised.value)
    assert raised.value.endpoint == ep.DELIVERY_PRICES.name


def test_a_row_without_a_known_time_field_is_malformed_naming_the_fields() -> None:
    with pytest.raises(MalformedResponse) as raised:
        delivery_prices([{"deliveryPrice": "67012", "settleTs": 1}], "BTCUSD")
    for name in ("deliveryTime", "time", "endTime"):
        assert name in str(raised.value)


def test_an_answer_that_is_not_a_list_of_objects_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        delivery_prices("67012", "BTCUSD")
    with pytest.raises(MalformedResponse):
        delivery_prices([67012], "BTCUSD")


# -- the client --------------------------------------------------------------------------------
def test_the_price_of_the_expirys_0800_is_picked_from_the_public_call(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.always("GET", PATH, coincall.ok(_rows((FEB19, "66120.5"), (FEB20, "67012.25"))))
    assert client.delivery_price(Underlying.BTC, FEB20) == Decimal("67012.25")
    (sent,) = coincall.sent(PATH)
    assert sent.params == {"symbol": "BTCUSD"}
    assert sent.signature_valid is None  # public: not signed


def test_a_published_price_is_cached_for_good(client: CoincallClient, coincall: FakeCoincall,
                                              clock: ManualClock) -> None:
    coincall.always("GET", PATH, coincall.ok(_rows((FEB19, "66120.5"), (FEB20, "67012.25"))))
    assert client.delivery_price(Underlying.BTC, FEB20) == Decimal("67012.25")
    clock.advance(timedelta(hours=6))
    assert client.delivery_price(Underlying.BTC, FEB20) == Decimal("67012.25")
    assert client.delivery_price(Underlying.BTC, FEB19) == Decimal("66120.5")  # same answer
    assert len(coincall.sent(PATH)) == 1


def test_not_published_yet_is_none_and_asked_again_later(
        client: CoincallClient, coincall: FakeCoincall, clock: ManualClock) -> None:
    coincall.script("GET", PATH, coincall.ok(_rows((FEB19, "66120.5"))),
                    coincall.ok(_rows((FEB20, "67012.25"), (FEB19, "66120.5"))))
    assert client.delivery_price(Underlying.BTC, FEB20) is None
    clock.advance(timedelta(seconds=5))
    assert client.delivery_price(Underlying.BTC, FEB20) == Decimal("67012.25")
    assert len(coincall.sent(PATH)) == 2


def test_a_future_expiry_is_none_without_asking(client: CoincallClient,
                                                coincall: FakeCoincall) -> None:
    assert client.delivery_price(Underlying.BTC, FEB27) is None
    assert coincall.sent(PATH) == []


def test_an_unreadable_answer_raises_instead_of_settling(client: CoincallClient,
                                                         coincall: FakeCoincall) -> None:
    coincall.always("GET", PATH, coincall.ok([{"symbol": "BTCUSD", "value": 1, "ts": 2}]))
    with pytest.raises(MalformedResponse):
        client.delivery_price(Underlying.BTC, FEB20)


def test_the_call_has_its_own_one_per_second_budget() -> None:
    assert ep.DELIVERY_PRICES.rate_class is RateClass.DELIVERY_PRICES
    assert RateClass.DELIVERY_PRICES.limit == RateLimit(1, timedelta(seconds=1))
    assert ep.DELIVERY_PRICES.is_read
    assert not ep.DELIVERY_PRICES.signed
    assert ep.DELIVERY_PRICES.path == PATH
