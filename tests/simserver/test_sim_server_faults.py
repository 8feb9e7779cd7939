"""Each injected fault is observable over HTTP with a plain `requests` call."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from helpers_simserver import (
    ORDER_CREATE,
    SINGLE_QUERY,
    Caller,
    code_of,
    data_of,
    near_money_call,
    resting_buy,
)

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

EXAMPLE = Path(__file__).resolve().parent / "faults-example.yaml"
POSITIONS = "/open/option/position/get/v1"


def test_latency_delays_the_answer_but_keeps_it(caller: Caller, plan: FaultPlan) -> None:
    plan.add(FaultRule("positions", FaultKind.LATENCY, seconds=0.3, count=1))
    started = time.monotonic()
    assert data_of(caller.get(POSITIONS)) == []
    assert time.monotonic() - started >= 0.3


def test_a_timeout_holds_the_connection_past_the_clients_read_timeout(
        caller: Caller, plan: FaultPlan, venue: SimVenue) -> None:
    symbol = near_money_call(caller)["symbol"]
    plan.add(FaultRule("place_order", FaultKind.TIMEOUT, seconds=2, count=1))
    with pytest.raises(requests.ReadTimeout):
        caller.post_json(ORDER_CREATE, resting_buy(symbol, 501), timeout=0.3)
    assert venue.get_order(client_order_id=501) is None  # never reached the venue


def test_a_disconnect_closes_without_an_answer_and_does_nothing(
        caller: Caller, plan: FaultPlan, venue: SimVenue) -> None:
    symbol = near_money_call(caller)["symbol"]
    plan.add(FaultRule("place_order", FaultKind.DISCONNECT, count=1))
    with pytest.raises(requests.ConnectionError):
        caller.post_json(ORDER_CREATE, resting_buy(symbol, 502))
    assert venue.get_order(client_order_id=502) is None


def test_an_http_5xx_is_a_gateway_page_not_an_envelope(caller: Caller,
                                                       plan: FaultPlan) -> None:
    """C5: a failed positions read must not look like an empty portfolio."""
    plan.add(FaultRule("positions", FaultKind.HTTP_5XX, status=502, count=1))
    response = caller.get(POSITIONS)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    with pytest.raises(ValueError):  # noqa: PT011 - any JSON decode error
        response.json()
    assert data_of(caller.get(POSITIONS)) == []  # count 1: the next one is fine


def test_an_error_code_is_answered_in_the_envelope_with_http_200(caller: Caller,
                                                                 plan: FaultPlan) -> None:
    plan.add(FaultRule("positions", FaultKind.ERROR, code=10002, message="system error",
                       count=1))
    response = caller.get(POSITIONS)
    assert response.status_code == 200
    assert response.json() == {"code": 10002, "msg": "system error", "i18nArgs": None,
                               "data": None}


@pytest.mark.parametrize("status", [200, 429])
def test_a_rate_limit_answers_10605(caller: Caller, plan: FaultPlan, status: int) -> None:
    plan.add(FaultRule("positions", FaultKind.RATE_LIMIT, status=status, count=1))
    response = caller.get(POSITIONS)
    assert response.status_code == status
    assert code_of(response) == 10605


def test_a_malformed_answer_is_unparseable_though_the_order_was_placed(
        caller: Caller, plan: FaultPlan, venue: SimVenue) -> None:
    symbol = near_money_call(caller)["symbol"]
    plan.add(FaultRule("place_order", FaultKind.MALFORMED, count=1))
    response = caller.post_json(ORDER_CREATE, resting_buy(symbol, 503))
    assert response.status_code == 200
    with pytest.raises(ValueError):  # noqa: PT011 - any JSON decode error
        response.json()
    assert venue.get_order(client_order_id=503) is not None


def test_a_lost_response_drops_the_answer_after_the_order_was_accepted(
        caller: Caller, plan: FaultPlan) -> None:
    """D3: the order exists on the exchange although its acknowledgement never arrived."""
    symbol = near_money_call(caller)["symbol"]
    plan.add(FaultRule("place_order", FaultKind.LOST_RESPONSE, count=1))
    with pytest.raises(requests.ConnectionError):
        caller.post_json(ORDER_CREATE, resting_buy(symbol, 504))
    found = data_of(caller.get(SINGLE_QUERY, {"clientOrderId": 504}))
    assert found["symbol"] == symbol
    assert found["state"] == 0


def test_a_lost_response_can_also_hold_the_connection_until_the_client_gives_up(
        caller: Caller, plan: FaultPlan) -> None:
    symbol = near_money_call(caller)["symbol"]
    plan.add(FaultRule("place_order", FaultKind.LOST_RESPONSE, seconds=2, count=1))
    with pytest.raises(requests.ReadTimeout):
        caller.post_json(ORDER_CREATE, resting_buy(symbol, 505), timeout=0.3)
    assert data_of(caller.get(SINGLE_QUERY, {"clientOrderId": 505}))["clientOrderId"] == 505


def index_of(caller: Caller) -> float:
    perpetuals = data_of(caller.get("/open/futures/market/symbol/v1", {"symbol": "BTCUSD"}))
    (btc,) = [row for row in perpetuals if row["symbol"] == "BTCUSD"]
    return float(btc["indexPrice"])


def test_frozen_prices_stop_moving_and_thaw_after_the_rule_s_seconds(
        caller: Caller, plan: FaultPlan, sim_clock: ManualClock) -> None:
    """C1: a stale feed; the index stays put while the clock runs, then moves again."""
    plan.add(FaultRule("index_price", FaultKind.FREEZE_PRICES, underlying=Underlying.BTC,
                       seconds=600, count=1))
    frozen = index_of(caller)
    seen = set()
    for _ in range(5):
        sim_clock.advance(timedelta(seconds=60))
        seen.add(index_of(caller))
    assert seen == {frozen}
    sim_clock.advance(timedelta(seconds=3600))
    moving = set()
    for _ in range(5):
        sim_clock.advance(timedelta(seconds=60))
        moving.add(index_of(caller))
    assert len(moving) > 1


def test_count_and_after_pick_exactly_the_requests_named(caller: Caller,
                                                         plan: FaultPlan) -> None:
    plan.add(FaultRule("positions", FaultKind.ERROR, code=10002, after=2, count=2))
    codes = [code_of(caller.get(POSITIONS)) for _ in range(6)]
    assert codes == [0, 0, 10002, 10002, 0, 0]
    assert plan.fired() == [2]


def test_a_path_glob_matches_like_an_endpoint_name(caller: Caller, plan: FaultPlan) -> None:
    plan.add(FaultRule("/open/option/position/*", FaultKind.ERROR, code=10553, count=1))
    assert code_of(caller.get(POSITIONS)) == 10553
    assert code_of(caller.get(POSITIONS)) == 0


def test_the_first_outcome_rule_wins_and_later_ones_keep_their_count(
        caller: Caller, plan: FaultPlan) -> None:
    plan.add(FaultRule("positions", FaultKind.ERROR, code=10002, count=1))
    plan.add(FaultRule("*", FaultKind.ERROR, code=10553, count=1))
    assert [code_of(caller.get(POSITIONS)) for _ in range(3)] == [10002, 10553, 0]


def test_probabilistic_faults_are_the_same_for_the_same_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        plan = FaultPlan.of(FaultRule("*", FaultKind.ERROR, code=10002, probability=0.5),
                            seed=seed)
        return [plan.decide("positions", POSITIONS).outcome is not None for _ in range(40)]

    assert pattern(3) == pattern(3)
    assert pattern(3) != pattern(4)
    assert 5 < sum(pattern(3)) < 35


def test_stop_releases_a_connection_held_by_a_long_timeout(venue: SimVenue,
                                                           sim_clock: ManualClock) -> None:
    plan = FaultPlan.of(FaultRule("*", FaultKind.TIMEOUT, seconds=60))
    server = SimServer(venue, "k", "s", sim_clock, plan).start()
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{server.base_url}/time", timeout=0.2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5


def test_the_example_plan_file_loads() -> None:
    plan = FaultPlan.load(EXAMPLE)
    assert plan.seed == 7
    assert [rule.kind for rule in plan.rules] == [
        FaultKind.LOST_RESPONSE, FaultKind.LATENCY, FaultKind.HTTP_5XX, FaultKind.RATE_LIMIT,
        FaultKind.FREEZE_PRICES, FaultKind.ERROR]
    assert plan.rules[0].after == 2


def test_a_json_plan_loads_like_yaml(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"rules": [{"endpoint": "accept_quote", "kind": "lost_response"}]}')
    plan = FaultPlan.load(path, default_seed=5)
    assert plan.seed == 5
    assert plan.decide("accept_quote", "/x").outcome == FaultRule("accept_quote",
                                                                  FaultKind.LOST_RESPONSE)


@pytest.mark.parametrize(("text", "complaint"), [
    ("rules: [{endpoint: '*', kind: latency, secnds: 1}]", "unknown fault rule keys"),
    ("rules: [{endpoint: '*', kind: explode}]", "unknown fault kind"),
    ("rules: [{endpoint: '*', kind: error}]", "needs a code"),
    ("rules: [{endpoint: '*', kind: latency, probability: 2}]", "probability"),
    ("rulez: []", "unknown fault plan keys"),
])
def test_a_bad_plan_file_is_refused_with_a_reason(tmp_path: Path, text: str,
                                                  complaint: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=complaint):
        FaultPlan.load(path)
