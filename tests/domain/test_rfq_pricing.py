"""The RFQ cost and improvement conventions (lessons B14, B15)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from runner.domain.orders import Side, client_order_id
from runner.domain.rfq import QuoteLeg, QuoteState, RfqLeg, RfqQuote, improvement_pct

AT = datetime(2026, 3, 2, tzinfo=UTC)


def quote(*legs: tuple[str, Side, str]) -> RfqQuote:
    return RfqQuote("q1", "r1", QuoteState.OPEN,
                    tuple(QuoteLeg(s, side, Decimal(p), Decimal("0.5")) for s, side, p in legs),
                    AT)


def test_a_maker_sell_is_a_debit_for_us_and_a_maker_buy_a_credit() -> None:
    """The doc's example: makers buy both legs at 1240 and 905 -> we receive 1072.5."""
    selling = quote(("C", Side.BUY, "1240"), ("P", Side.BUY, "905"))
    assert selling.taker_cost() == Decimal("-1072.5")
    buying = quote(("C", Side.SELL, "1240"), ("P", Side.SELL, "905"))
    assert buying.taker_cost() == Decimal("1072.5")


def test_a_quote_matches_our_direction_only_when_every_leg_is_opposite_to_the_maker() -> None:
    wanted = (RfqLeg("C", Side.BUY, Decimal("0.5")), RfqLeg("P", Side.BUY, Decimal("0.5")))
    assert quote(("C", Side.SELL, "1"), ("P", Side.SELL, "1")).matches_direction(wanted)
    assert not quote(("C", Side.BUY, "1"), ("P", Side.BUY, "1")).matches_direction(wanted)
    assert not quote(("C", Side.SELL, "1"), ("P", Side.BUY, "1")).matches_direction(wanted)


@pytest.mark.parametrize(
    ("book_cost", "quote_cost", "expected"),
    [
        ("100", "98", "2"),  # buying: paying 2 % less than the book is better
        ("100", "102", "-2"),  # buying: paying 2 % more is worse
        ("-100", "-102", "2"),  # selling: receiving 2 % more is better
        ("-100", "-98", "-2"),  # selling: receiving 2 % less is worse
    ],
)
def test_improvement_is_positive_when_better_for_both_directions(
    book_cost: str, quote_cost: str, expected: str
) -> None:
    """B14: one formula, (book - quote) / |book|, with a tested sign."""
    assert improvement_pct(Decimal(book_cost), Decimal(quote_cost)) == Decimal(expected)


def test_improvement_has_no_value_without_a_book_cost() -> None:
    assert improvement_pct(Decimal(0), Decimal(5)) is None


def test_client_order_ids_are_stable_positive_and_fit_a_signed_long() -> None:
    first = client_order_id("trade-1", 0, "open", 1)
    assert first == client_order_id("trade-1", 0, "open", 1)
    assert first != client_order_id("trade-1", 0, "open", 2)
    assert 0 < first < 2**63
