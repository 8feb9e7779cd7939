"""The notional definition and the auto route (lessons I4)."""

from __future__ import annotations

from runner.execution import notional_usd, route
from runner.strategy.model import AutoExecution, LimitExecution, RfqExecution
from tests.execution.helpers_execution import CALL, PUT, D


def test_notional_is_strike_times_quantity_summed_over_the_legs_never_premium():
    """I4: 0.5 x 95000 + 0.3 x 80000."""
    assert notional_usd([(CALL, D("0.5")), (PUT, D("0.3"))]) == D(71500)


def test_auto_takes_rfq_at_the_minimum_and_limit_below_it_saying_why():
    auto = AutoExecution(rfq=RfqExecution(min_notional_usd=D(50000)), limit=LimitExecution())
    at_minimum = route(auto, D(50000))
    below = route(auto, D("49999.99"))
    assert at_minimum.name == "rfq"
    assert below.name == "limit"
    assert "strike x quantity" in below.why
    assert "49999.99" in below.why


def test_an_explicit_mode_routes_to_itself():
    assert route(LimitExecution(), D(10**9)).name == "limit"
    assert route(RfqExecution(), D(1)).name == "rfq"
