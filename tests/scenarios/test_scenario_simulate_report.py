"""`runner simulate --report`: the JSON contract other tools rely on (issue 4, item 7).

The keys named by the issue must all be there with the documented types (more keys are
allowed); times are ISO 8601 UTC; the numbers agree with the trades themselves.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.cli.app import main
from runner.domain.clock import ManualClock
from runner.domain.commands import OrderPurpose
from runner.service.simulation import simulate
from runner.service.simulation_report import report_json
from runner.store.store import Store, default_store_path
from tests.scenarios.helpers_scenarios import PROFILES, STRATEGIES, strategy_from_yaml

TRADE_KEYS = {"strategy", "opened_at", "closed_at", "exit_reason", "pnl_usd", "legs"}
LEG_KEYS = {"symbol", "side", "qty", "entry_price", "exit_price", "delta_at_entry",
            "execution", "requote_rounds"}
TOTAL_KEYS = {"trades", "pnl_usd", "fees_usd", "rest_calls"}


def _utc(text: str) -> datetime:
    """An ISO 8601 time that says it is UTC (Z or +00:00)."""
    assert text.endswith(("Z", "+00:00")), text
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0)
    return parsed


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Both shipped strategies for 13 simulated minutes (one RFQ cycle, two micro trips)."""
    out = tmp_path_factory.mktemp("report") / "report.json"
    code = main(["simulate", str(STRATEGIES / "micro_strangle.yaml"),
                 str(STRATEGIES / "rfq_endurance.yaml"), str(PROFILES),
                 "--duration", "13m", "--start", "2026-03-02T10:00:00Z", "--seed", "5",
                 "--report", str(out)])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_report_has_every_contract_key_at_the_top(report):
    assert {"started_at", "ended_at", "seed", "strategies", "trades", "totals"} <= set(report)
    assert _utc(report["started_at"]) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert _utc(report["ended_at"]) == datetime(2026, 3, 2, 10, 13, tzinfo=UTC)
    assert report["seed"] == 5
    assert sorted(report["strategies"]) == ["micro_strangle", "rfq_endurance"]


def test_every_trade_and_leg_has_the_contract_keys_with_their_types(report):
    trades = report["trades"]
    assert {t["strategy"] for t in trades} == {"micro_strangle", "rfq_endurance"}
    for trade in trades:
        assert set(trade) >= TRADE_KEYS
        assert trade["strategy"] in report["strategies"]
        assert _utc(trade["opened_at"]) < _utc(trade["closed_at"])
        assert isinstance(trade["exit_reason"], str)
        assert _number(trade["pnl_usd"])
        for leg in trade["legs"]:
            assert set(leg) >= LEG_KEYS
            assert isinstance(leg["symbol"], str)
            assert leg["side"] in {"buy", "sell"}
            assert leg["execution"] in {"limit", "rfq"}
            assert isinstance(leg["requote_rounds"], int)
            for key in ("qty", "entry_price", "exit_price", "delta_at_entry"):
                assert _number(leg[key]), (key, leg)


def test_the_report_records_the_route_each_strategy_took(report):
    routes = {t["strategy"]: {leg["execution"] for leg in t["legs"]} for t in report["trades"]}
    assert routes == {"micro_strangle": {"limit"}, "rfq_endurance": {"rfq"}}


def test_the_totals_add_up_the_trades(report):
    totals = report["totals"]
    assert set(totals) >= TOTAL_KEYS
    assert totals["trades"] == len(report["trades"]) == 3
    assert totals["pnl_usd"] == pytest.approx(sum(t["pnl_usd"] for t in report["trades"]))
    assert _number(totals["fees_usd"])
    assert totals["fees_usd"] > 0
    assert isinstance(totals["rest_calls"], int)
    assert totals["rest_calls"] > 0


def test_requote_rounds_count_the_replacement_orders_of_each_leg(tmp_path):
    """A patient open (fair value, 10 s requotes) re-places its orders: the report says so."""
    spec = strategy_from_yaml(tmp_path, "patient", """
        enabled: true
        underlying: BTC
        structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                    call: {delta: 0.15}, put: {delta: -0.15}}
        timing: {check_interval: 5s, max_trades_per_day: 1}
        execution:
          open:
            mode: limit
            phases:
              - {duration: 1m, requote_interval: 10s, price: fair}
              - {duration: 1m, requote_interval: 10s, price: aggressive, offset_pct: 2}
          close: {profile: aggressive_limit}
        exits:
          - max_hold: 10s
        """)
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    result = simulate([spec], start=start, duration=timedelta(minutes=5), seed=11,
                      state_dir=tmp_path / "state")
    (trade,) = report_json(result)["trades"]
    store = Store.open(default_store_path(tmp_path / "state"), ManualClock(start))
    orders = store.orders_for_trade(trade["trade_id"])
    store.close()
    replaced = {leg.index: sum(1 for o in orders if o.key.leg_index == leg.index
                               and o.key.purpose is OrderPurpose.OPEN) - 1
                for leg in result.trades[0].legs}
    assert max(replaced.values()) > 0  # the scenario does requote
    assert [leg["requote_rounds"] for leg in trade["legs"]] == [
        replaced[leg.index] for leg in result.trades[0].legs]
    assert Decimal(str(trade["legs"][0]["qty"])) == Decimal("0.01")
