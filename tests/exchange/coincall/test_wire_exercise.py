"""The exercise history (issue 8 #12, E6): the docs' own example parsed by the adapter,
the defensive readings where the evidence is thin, and the simulator's rows checked
against the same example's field names and types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from runner.domain.clock import from_epoch_ms
from runner.domain.exercise import Exercise
from runner.exchange.coincall.wire.exercise import exercises
from runner.exchange.errors import MalformedResponse
from runner.sim.wire_exercise import exercise_page, exercise_row

# "Get Exercise Details (SIGNED)", source/includes/_option_en.md of coincall-web3/cc-docs
# and cc-nikolai/cc-docs: the `data` of the documented answer, as given.
DOCS_EXAMPLE = json.loads("""
{
    "list": [
        {
            "symbol": "ETHUSD-13SEP24-2200-C",
            "time": 1726248852785,
            "qty": 2.00000000,
            "tradeSide": 2,
            "strike": 2200.00000000,
            "exercisePrice": 2409.38569142,
            "openCashFlow": 367.60000000,
            "settlementCashFlow": -418.77138284,
            "netCashFlow": -51.17138284,
            "fees": 0.72317826
        }
    ],
    "hasNext": true,
    "hasPrev": false
}
""")


def _row(**changes: Any) -> dict[str, Any]:
    row = dict(DOCS_EXAMPLE["list"][0])
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def test_the_documented_example_reads_as_a_short_settled_call_with_its_fee() -> None:
    (row,), has_next = exercises(DOCS_EXAMPLE)
    assert has_next
    assert row.symbol == "ETHUSD-13SEP24-2200-C"
    assert row.qty == Decimal(-2)  # tradeSide 2: the position was short
    assert row.fee == Decimal("0.72317826")
    assert row.settlement_price == Decimal("2409.38569142")
    assert row.strike == Decimal(2200)
    assert row.net_cash_flow == Decimal("-51.17138284")  # open + settlement, fee apart
    assert row.at == from_epoch_ms(1726248852785)


@pytest.mark.parametrize(("changes", "qty", "fee"), [
    ({"fees": -0.5}, Decimal(-2), Decimal("0.5")),  # a charge reported negative: still a charge
    ({"fees": None}, Decimal(-2), None),  # no fee field: unknown, never "free"
    ({"tradeSide": None, "qty": -2}, Decimal(-2), Decimal("0.72317826")),  # sign from qty
    ({"tradeSide": 1, "qty": "2", "fees": "0.1"}, Decimal(2), Decimal("0.1")),  # strings
    ({"time": None, "exercisePrice": None, "netCashFlow": None, "strike": None},
     Decimal(-2), Decimal("0.72317826")),  # only symbol and qty are required
])
def test_thin_evidence_is_read_defensively(changes: dict[str, Any], qty: Decimal,
                                           fee: Decimal | None) -> None:
    (row,), _ = exercises({"list": [_row(**changes)], "hasNext": False})
    assert row.qty == qty
    assert row.fee == fee


def test_a_bare_list_is_one_last_page_and_a_row_without_symbol_is_refused() -> None:
    rows, has_next = exercises([_row()])
    assert len(rows) == 1
    assert not has_next
    with pytest.raises(MalformedResponse, match="symbol"):
        exercises({"list": [_row(symbol=None)]})


def test_the_simulators_rows_use_the_documented_names_and_json_types() -> None:
    documented = DOCS_EXAMPLE["list"][0]
    settled = Exercise("BTCUSD-3MAR26-90000-P", Decimal("-0.2"), Decimal("0.25"),
                       datetime(2026, 3, 3, 8, tzinfo=UTC), Decimal(87000), Decimal(90000),
                       Decimal("-400.5"))
    row = exercise_row(settled)
    assert set(row) == set(documented)
    for name, value in documented.items():
        assert isinstance(row[name], (int, float) if isinstance(value, (int, float))
                          else type(value)), name
    assert row["settlementCashFlow"] == -600  # (90000 - 87000) x -0.2
    assert row["openCashFlow"] == pytest.approx(199.5)  # net = open + settlement
    (back,), _ = exercises(exercise_page([settled], 1, 20))
    assert back == settled


def test_the_simulator_pages_at_most_fifty_rows_newest_first() -> None:
    rows = [Exercise(f"BTCUSD-3MAR26-{80000 + i * 1000}-P", Decimal(1), Decimal(0),
                     datetime(2026, 3, 3, 8, i, tzinfo=UTC)) for i in range(55)]
    first = exercise_page(rows, 1, 500)
    assert len(first["list"]) == 50
    assert first["hasNext"]
    assert first["list"][0]["time"] > first["list"][-1]["time"]
    second = exercise_page(rows, 2, 500)
    assert len(second["list"]) == 5
    assert not second["hasNext"]
    assert second["hasPrev"]
