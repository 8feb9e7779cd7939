"""The fault campaign with prices pushed over WebSocket (issue 11): REST faults and feed
faults at once, every invariant holds and the feed never hands out a stale price.

The service reads through the runner's `FeedExchange` over the simulator's WebSocket, on
simulated time (tests/feed/helpers_ws_campaign.py), while 3 % of REST requests fail in
each way of the REST campaign and the feed is dropped, stalled, reordered and lagged in
turn. Besides the audit of the REST campaign: every index, book and chain row served
from pushes was no older than the stale limit (the index checked against the venue's own
path), and after every drop, stall and lag a fresh push arrived again (reconnected and
resubscribed). The hours-long version: tests/bench/fault_campaign.py --feed ws.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.faults.helpers_faults import run_campaign


@pytest.mark.slow
def test_rest_and_feed_faults_together_keep_every_invariant_and_no_stale_price(
        tmp_path) -> None:
    result = run_campaign(tmp_path, hours=0.35, tick=timedelta(seconds=3), rate=0.03,
                          seed=7, feed="ws")
    report = "\n".join(result.lines())
    feed = result.feed
    assert feed is not None
    assert result.crashed is None, report
    assert result.failed_ticks == 0, report
    assert result.errors == [], report
    assert result.violations == [], report  # the feed's own included
    assert result.in_flight == [], report
    assert set(feed.fired) == {"drop", "stall", "out_of_order", "lag"}, report
    assert feed.recovered == feed.judged > 0, report
    assert feed.served > 0, report  # between faults the feed served the reads
    assert result.trades["micro"].get("closed", 0) >= 1, report
