"""The positions the store does not explain (pure; issue 7 item 1, lessons H6, G1)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from runner.domain.snapshot import Position
from runner.reconcile.truth import gaps_text, position_gaps

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CALL = "BTCUSD-3MAR26-90000-C"
PUT = "BTCUSD-3MAR26-84000-P"
EXPIRED = "BTCUSD-1MAR26-90000-C"


def held(symbol: str, qty: str) -> Position:
    return Position(symbol, Decimal(qty), Decimal(100), None, Decimal(0))


def d(text: str) -> Decimal:
    return Decimal(text)


def test_positions_the_store_holds_exactly_are_explained() -> None:
    assert position_gaps({CALL: d("0.1"), PUT: d("-0.2")}, {},
                         [held(CALL, "0.1"), held(PUT, "-0.2")], NOW) == ()


def test_a_position_the_store_does_not_know_is_a_gap() -> None:
    [gap] = position_gaps({}, {}, [held(CALL, "0.01")], NOW)
    assert (gap.symbol, gap.found, gap.explained) == (CALL, d("0.01"), d(0))
    assert gap.text() == f"{CALL}: exchange +0.01, store 0"


def test_more_than_the_store_holds_is_a_gap_and_so_is_less() -> None:
    more = position_gaps({CALL: d("0.01")}, {}, [held(CALL, "0.03")], NOW)
    less = position_gaps({CALL: d("0.03")}, {}, [held(CALL, "0.01")], NOW)
    assert [g.found for g in more] == [d("0.03")]
    assert [g.explained for g in less] == [d("0.03")]


def test_declared_external_quantities_explain_the_rest() -> None:
    assert position_gaps({CALL: d("0.01")}, {CALL: d("0.02")}, [held(CALL, "0.03")],
                         NOW) == ()


def test_symbols_being_worked_and_expired_instruments_are_left_out() -> None:
    assert position_gaps({}, {}, [held(CALL, "0.01"), held(EXPIRED, "0.01")], NOW,
                         in_motion=[CALL]) == ()


def test_a_failed_close_explains_up_to_what_it_holds_but_its_absence_is_no_gap() -> None:
    """A finished trade cannot be decided about: it must never block entries for good."""
    failed = {CALL: d("0.02")}
    assert position_gaps({}, {}, [held(CALL, "0.02")], NOW, failed=failed) == ()
    assert position_gaps({}, {}, [held(CALL, "0.01")], NOW, failed=failed) == ()
    assert position_gaps({}, {}, [], NOW, failed=failed) == ()
    [gap] = position_gaps({}, {}, [held(CALL, "0.05")], NOW, failed=failed)
    assert gap.explained == d("0.02")


def test_the_words_say_decision_needed_and_name_the_commands() -> None:
    text = gaps_text(position_gaps({}, {}, [held(CALL, "0.01")], NOW), "started new")
    assert text.startswith("DECISION NEEDED: the exchange's positions differ from the store"
                           " (the store started new)")
    for command in ("runner trades adopt", "runner trades flatten",
                    "runner trades close-externally", "runner trades external",
                    "runner run --adopt", "runner run --flatten"):
        assert command in text
