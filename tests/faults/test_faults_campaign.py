"""Hours of faults at a few percent of requests: the service keeps running, invariants hold.

Both strategy shapes trade all along (micro_strangle-like round trips every 10 minutes,
rfq_endurance-like RFQ cycles every 15 minutes) over a venue answering 3 % of every
request with each of HTTP 5xx, timeouts, rate limits and malformed answers, losing 3 % of
the answers of every write (performed, unanswered: lessons D3), and freezing prices now
and then (lessons C1). Then the faults stop and every execution finishes. Deterministic
for the seed. The 48 h version: tests/bench/fault_campaign.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.helpers_faults import BUSY_MICRO, run_campaign


@pytest.mark.slow
def test_six_hours_of_faults_keep_the_service_running_and_every_invariant(tmp_path) -> None:
    """D3 (zero orphans, zero duplicates under lost replies), C4/C5, A1, B1, I1/I2."""
    result = run_campaign(tmp_path, hours=6, tick=timedelta(seconds=3), rate=0.03, seed=7)
    report = "\n".join(result.lines())
    assert result.crashed is None, report
    assert result.failed_ticks == 0, report
    assert result.errors == [], report
    # Issue 11: ticks read only what is due, so fewer requests meet a fault (737 of them
    # at seed 7; over 2000 when every tick read everything).
    assert result.faults_fired > 600, report
    assert result.violations == [], report
    assert result.in_flight == [], report
    assert result.alerts == [], report
    assert result.trades["micro"].get("closed", 0) >= 30, report
    assert result.trades["rfqe"].get("closed", 0) >= 20, report
    assert set(result.trades["micro"]) | set(result.trades["rfqe"]) <= {"closed", "failed"}


def test_trading_the_nearest_expiry_through_0800_under_faults_keeps_the_store_true(
        tmp_path) -> None:
    """G1, G2, R-C4, B1: micro_strangle's `next: true` minutes before 08:00 finds legs nobody
    bids for; the engine never buys a leg it could not sell again, so no close gives up,
    nothing pages, and store and exchange still agree through the 08:00 settlement."""
    nearest = BUSY_MICRO.replace("expiry: {dte: 1}", "expiry: {next: true}")
    result = run_campaign(tmp_path, hours=2, tick=timedelta(seconds=3), rate=0.03, seed=7,
                          start=datetime(2026, 3, 3, 6, 30, tzinfo=UTC), micro=nearest)
    report = "\n".join(result.lines())
    assert result.crashed is None, report
    assert result.errors == [], report
    assert result.violations == [], report
    assert result.in_flight == [], report
    assert result.trades["micro"].get("failed", 0) == 0, report  # no unsellable leg bought
    assert result.trades["micro"].get("closed", 0) >= 1, report
    assert result.alerts == [], report


def test_faults_with_a_short_fill_timeout_leave_no_failed_close_and_no_pile_up(
        tmp_path) -> None:
    """Issue 7: at 3 % faults with a 5 s fill timeout, a lost close order used to wait out
    the 30 s missing-order grace, use up the close budget and leave a FAILED trade holding a
    leg while the strategy kept opening. The audit now counts that pile-up as a violation."""
    result = run_campaign(tmp_path, hours=2, tick=timedelta(seconds=3), rate=0.03, seed=7,
                          fill_timeout_s=5)
    report = "\n".join(result.lines())
    assert result.crashed is None, report
    assert result.errors == [], report
    assert result.violations == [], report
    assert result.in_flight == [], report
    assert result.trades["micro"].get("closed", 0) >= 8, report
    assert "failed" not in result.trades["micro"], report
