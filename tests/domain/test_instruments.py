"""Symbols, expiries and the tick/lot rounding rules (lessons F2-F5)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.instruments import (
    OptionKind,
    Underlying,
    calendar_days_to_expiry,
    days_to_expiry,
    effective_tick,
    format_symbol,
    learned_tick,
    parse_symbol,
    snap_price,
    snap_qty,
    to_decimal,
)

REPO = Path(__file__).resolve().parents[2]


def test_a_symbol_is_parsed_into_underlying_expiry_at_0800_strike_and_kind() -> None:
    parts = parse_symbol("BTCUSD-27FEB26-90000-C")
    assert parts.underlying is Underlying.BTC
    assert parts.expiry == datetime(2026, 2, 27, 8, 0, tzinfo=UTC)
    assert parts.strike == Decimal(90000)
    assert parts.kind is OptionKind.CALL


def test_a_single_digit_day_has_no_leading_zero_and_round_trips() -> None:
    parts = parse_symbol("ETHUSD-9JUL26-3250-P")
    assert parts.expiry.day == 9
    assert format_symbol(parts.underlying, parts.expiry, parts.strike, parts.kind) == (
        "ETHUSD-9JUL26-3250-P"
    )


@pytest.mark.parametrize("bad", ["BTC-27FEB26-90000-C", "BTCUSD-27XYZ26-90000-C",
                                 "BTCUSD-27FEB26-90000-X", "DOGEUSD-27FEB26-1-C", ""])
def test_a_malformed_symbol_is_refused_with_its_text(bad: str) -> None:
    with pytest.raises(ValueError, match=r"symbol|underlying|month"):
        parse_symbol(bad)


def test_days_to_expiry_counts_to_0800_utc_and_calendar_days_to_the_date() -> None:
    expiry = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert days_to_expiry(expiry, now) == pytest.approx(0.5)
    assert calendar_days_to_expiry(expiry, now) == 1


def test_prices_snap_down_for_buys_and_up_for_sells_on_the_tick() -> None:
    """F2: the exchange truncates off-tick prices, so we snap ourselves."""
    assert snap_price(Decimal("9.5"), Decimal(1)) == Decimal(9)
    assert snap_price(Decimal("9.5"), Decimal(1), round_up=True) == Decimal(10)
    assert snap_price(Decimal("0.0035"), Decimal("0.0001")) == Decimal("0.0035")


def test_a_price_never_snaps_to_zero() -> None:
    """F4: snapping to the tick must not produce 0 (the exchange rejects it)."""
    assert snap_price(Decimal("0.3"), Decimal(1)) == Decimal(1)
    assert snap_price(Decimal(0), Decimal("0.1")) == Decimal("0.1")


def test_f3_a_small_price_keeps_its_digits_it_is_only_ever_snapped_to_its_own_tick() -> None:
    """F3: `round(price, 2)` turned 0.0035 into 0.00. Prices are snapped to the
    instrument's tick (the listing's `tickSize`), never rounded to decimal places."""
    assert snap_price(Decimal("0.0035"), Decimal("0.0005")) == Decimal("0.0035")
    assert snap_price(Decimal("0.00351"), Decimal("0.0001")) == Decimal("0.0035")
    assert snap_price(Decimal("0.00351"), Decimal("0.0001"), round_up=True) == Decimal("0.0036")


def test_f3_the_core_never_rounds_a_number_to_decimal_places() -> None:
    """F3: no `round(x, digits)` and no `quantize` to a fixed exponent in the pure core;
    the one `quantize` there is snap_qty's, to the lot step itself."""
    core = [REPO / "runner" / part for part in ("domain", "engine", "execution", "dispatch")]
    offenders = []
    for path in sorted(p for package in core for p in package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "round" and len(node.args) + len(node.keywords) > 1:
                offenders.append(f"{path.name}:{node.lineno} round(..., digits)")
            if name == "quantize" and not (node.args and ast.unparse(node.args[0]) == "lot"):
                offenders.append(f"{path.name}:{node.lineno} quantize")
    assert offenders == []


@pytest.mark.parametrize("symbol", ["BTC-27MAR26-90000-C", "ETH-27MAR26-3000-P",
                                    "BTCUSDC-27MAR26-90000-C", "BTCEUR-27MAR26-90000-C"])
def test_f6_an_instrument_not_quoted_in_usd_cannot_enter_the_core(symbol: str) -> None:
    """F6: every price in the core is USD per coin, the denomination of Coincall's options
    (`<BASE>USD-...`). A symbol quoted in anything else (Deribit's BTC-quoted
    `BTC-27MAR26-90000-C`) is refused where symbols are parsed, so a BTC price can never
    be mistaken for a USD one; docs/lessons.md says why no Price(amount, currency) type."""
    with pytest.raises(ValueError, match="symbol"):
        parse_symbol(symbol)
    assert parse_symbol("BTCUSD-27MAR26-90000-C").underlying is Underlying.BTC


def test_quantities_snap_down_to_the_lot() -> None:
    """F5: a remainder like 0.5999... becomes 0.59, never rejected by the exchange."""
    assert snap_qty(Decimal("0.59999999")) == Decimal("0.59")
    assert snap_qty(Decimal("0.005")) == Decimal("0.00")


def test_numbers_arriving_as_strings_floats_or_ints_become_decimals() -> None:
    """F1: the core never sees strings for numbers."""
    assert to_decimal("1240") == Decimal(1240)
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(3) == Decimal(3)
    with pytest.raises(ValueError, match="not a number"):
        to_decimal(None)


# -- effective tick (issue 8 finding 9) -----------------------------------------------------
@pytest.mark.parametrize(("sent", "kept", "listed", "learned"), [
    ("9.5", "9.0", "0.1", "1"),  # the live observation: truncated to whole dollars
    ("9.5", "10", "0.1", "1"),  # rounded up instead: the same grid explains it
    ("1234", "1230", "1", "5"),  # the smallest grid that explains it; 10 would be learned next
    ("9.5", "9.3", "0.1", None),  # no 1-2-5 grid puts 9.3 within a step of 9.5
    ("9.5", "9.5", "0.1", None),  # nothing changed
    ("9.5", "0", "0.1", None),  # never a zero grid
])
def test_a_changed_price_teaches_the_coarsest_grid_that_explains_it(sent, kept, listed,
                                                                    learned) -> None:
    found = learned_tick(Decimal(sent), Decimal(kept), Decimal(listed))
    assert found == (None if learned is None else Decimal(learned))


def test_the_effective_tick_is_the_coarser_of_listed_and_learned() -> None:
    assert effective_tick(Decimal("0.1"), None) == Decimal("0.1")
    assert effective_tick(Decimal("0.1"), Decimal(1)) == Decimal(1)
    assert effective_tick(Decimal(5), Decimal(1)) == Decimal(5)
