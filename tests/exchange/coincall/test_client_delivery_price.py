"""CoincallClient.delivery_price: the settlement price of an expiry (G2), as documented.

`GET /open/option/get-delivery-prices/v1?symbol=BTCUSD` (public, 1/s) answers one
`{date, delivery_price}` row per daily 08:00 UTC settlement, newest first
(docs/exchange-evidence.md section 7, issue 8 finding 1). Anything else fails loudly:
never a settlement at 0 or a guess.
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


def _rows(*pairs: tuple[datetime, object]) -> list[dict[str, object]]:
    """Documented rows, newest first as the exchange sends them."""
    ordered = sorted(pairs, key=lambda pair: pair[0], reverse=True)
    return [{"date": at.date().isoformat(), "delivery_price": value} for at, value in ordered]


# -- the wire --------------------------------------------------------------------------------
def test_each_date_settles_the_expiry_at_its_0800_utc() -> None:
    data = _rows((FEB19, 66120.5), (FEB20, 67012.25))
    assert delivery_prices(data) == {to_epoch_ms(FEB19): Decimal("66120.5"),
                                     to_epoch_ms(FEB20): Decimal("67012.25")}


def test_a_price_sent_as_a_numeric_string_reads_the_same() -> None:
    assert delivery_prices(_rows((FEB20, "67012.25"))) == {to_epoch_ms(FEB20):
                                                           Decimal("67012.25")}


def test_a_zero_price_is_never_a_settlement_price() -> None:
    """G2: a 0 is "no price", never a settlement price."""
    assert delivery_prices(_rows((FEB20, 0))) == {}


@pytest.mark.parametrize("row", [{"date": "2026-02-20"},
                                 {"deliveryPrice": 67012, "deliveryTime": 1771574400000},
                                 {"date": "20 Feb 2026", "delivery_price": 67012},
                                 {"date": 1771574400000, "delivery_price": 67012}])
def test_a_row_not_in_the_documented_shape_is_malformed_naming_the_field(
        row: dict[str, object]) -> None:
    with pytest.raises(MalformedResponse) as raised:
        delivery_prices([row])
    assert raised.value.endpoint == ep.DELIVERY_PRICES.name
    assert "date" in str(raised.value) or "delivery_price" in str(raised.value)


def test_an_answer_that_is_not_a_list_of_objects_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        delivery_prices("67012")
    with pytest.raises(MalformedResponse):
        delivery_prices([67012])


# -- the client --------------------------------------------------------------------------------
def test_the_price_of_the_expirys_0800_is_picked_from_the_public_call(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.always("GET", PATH, coincall.ok(_rows((FEB19, 66120.5), (FEB20, 67012.25))))
    assert client.delivery_price(Underlying.BTC, FEB20) == Decimal("67012.25")
    (sent,) = coincall.sent(PATH)
    assert sent.params == {"symbol": "BTCUSD"}
    assert sent.signature_valid is None  # public: not signed


def test_a_published_price_is_cached_for_good(client: CoincallClient, coincall: FakeCoincall,
                                              clock: ManualClock) -> None:
    coincall.always("GET", PATH, coincall.ok(_rows((FEB19, 66120.5), (FEB20, 67012.25))))
    assert client.delivery_price(Underlying.BTC, FEB20) == Decimal("67012.25")
    clock.advance(timedelta(hours=6))
    assert client.delivery_price(Underlying.BTC, FEB20) == Decimal("67012.25")
    assert client.delivery_price(Underlying.BTC, FEB19) == Decimal("66120.5")  # same answer
    assert len(coincall.sent(PATH)) == 1


def test_not_published_yet_is_none_and_asked_again_later(
        client: CoincallClient, coincall: FakeCoincall, clock: ManualClock) -> None:
    coincall.script("GET", PATH, coincall.ok(_rows((FEB19, 66120.5))),
                    coincall.ok(_rows((FEB20, 67012.25), (FEB19, 66120.5))))
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
    coincall.always("GET", PATH, coincall.ok([{"deliveryPrice": 1, "deliveryTime": 2}]))
    with pytest.raises(MalformedResponse):
        client.delivery_price(Underlying.BTC, FEB20)


def test_the_call_has_its_own_one_per_second_budget() -> None:
    assert ep.DELIVERY_PRICES.rate_class is RateClass.DELIVERY_PRICES
    assert RateClass.DELIVERY_PRICES.limit == RateLimit(1, timedelta(seconds=1))
    assert ep.DELIVERY_PRICES.is_read
    assert not ep.DELIVERY_PRICES.signed
    assert ep.DELIVERY_PRICES.path == PATH
