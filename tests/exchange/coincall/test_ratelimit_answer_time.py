"""A request counts against its rate class from when its answer arrived (section 7).

The exchange counts a request when it receives it, somewhere between our send and its
answer; counting from the send let a slow request and a fast one `calls` later land
inside the exchange's window (issue 8, finding 6: the throttling simulator refused
3-5 of 35 calls on loopback).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from runner.domain.clock import ManualClock
from runner.exchange.coincall.endpoints import RateClass
from runner.exchange.coincall.ratelimit import RateLimiter

from .conftest import RecordingSleep


def test_the_next_request_waits_a_full_window_after_the_oldest_answer(
        clock: ManualClock, sleeps: RecordingSleep) -> None:
    limiter = RateLimiter(now=lambda: clock.now().timestamp(), sleep=sleeps)
    start = clock.now().timestamp()
    for _ in range(2):
        with limiter.reserved(RateClass.ACCOUNT):
            clock.advance(timedelta(milliseconds=300))  # the answer takes 0.3 s
    # sent at 0.0 and 0.3, answered at 0.3 and 0.6: the third may leave at 1.3
    with limiter.reserved(RateClass.ACCOUNT) as waited:
        assert waited == pytest.approx(0.7)
        assert clock.now().timestamp() == pytest.approx(start + 1.3)


def test_a_failed_request_also_counts_from_when_it_ended(clock: ManualClock,
                                                         sleeps: RecordingSleep) -> None:
    limiter = RateLimiter(now=lambda: clock.now().timestamp(), sleep=sleeps)
    def time_out() -> None:
        with limiter.reserved(RateClass.ACCOUNT):
            clock.advance(timedelta(milliseconds=500))
            raise TimeoutError

    for _ in range(2):
        with pytest.raises(TimeoutError):
            time_out()
    assert limiter.acquire(RateClass.ACCOUNT) == pytest.approx(0.5)


def test_concurrent_requests_of_one_class_never_exceed_the_budget_in_any_window(
        clock: ManualClock, sleeps: RecordingSleep) -> None:
    """Answers arriving out of order keep the window exact (the log is sorted on use)."""
    limiter = RateLimiter(now=lambda: clock.now().timestamp(), sleep=sleeps)
    slow = limiter.reserved(RateClass.ACCOUNT)
    slow.__enter__()
    with limiter.reserved(RateClass.ACCOUNT):
        clock.advance(timedelta(milliseconds=100))
    clock.advance(timedelta(milliseconds=700))
    slow.__exit__(None, None, None)  # the first request's answer comes last, at 0.8
    assert limiter.acquire(RateClass.ACCOUNT) == pytest.approx(0.3)  # 0.1 + 1.0 - 0.8
