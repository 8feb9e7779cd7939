"""The loop survives what one tick throws, and exits for its supervisor after a streak."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock
from runner.service.loop import MAX_FAILED_TICKS
from runner.service.runtime import Runtime, assemble
from runner.service.settings import Environment, Settings
from runner.service.tick_report import TooManyFailures
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def runtime_for(tmp_path: Path) -> Runtime:
    clock = ManualClock(START)
    files = [REPO / "strategies.d" / "micro_strangle.yaml", REPO / "strategies.d" / "profiles.yaml"]
    specs = list(load_strategies(files).specs)
    settings = Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                        api_secret=None, log_dir=tmp_path / "logs", state_dir=tmp_path / "state")
    return assemble(settings, specs, clock=clock, exchange=SimVenue(clock, seed=1), launch=START)


class BrokenDispatcher:
    """A dispatcher whose every poll fails, as a broken store or exchange layer would."""

    def __init__(self, inner: object, failures: int) -> None:
        self._inner = inner
        self.failures = failures

    def poll(self, now: datetime | None = None) -> list[object]:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("store unavailable")
        return self._inner.poll(now)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_ten_consecutive_failed_ticks_raise_for_the_supervisor(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path)
    service = runtime.service
    service._dispatcher = BrokenDispatcher(runtime.dispatcher, failures=100)
    for _ in range(MAX_FAILED_TICKS - 1):
        assert service.safe_tick() is None
    with pytest.raises(TooManyFailures, match="10 consecutive failed ticks"):
        service.safe_tick()


def test_a_good_tick_resets_the_failure_streak(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path)
    service = runtime.service
    service._dispatcher = BrokenDispatcher(runtime.dispatcher, failures=MAX_FAILED_TICKS - 1)
    for _ in range(MAX_FAILED_TICKS - 1):
        service.safe_tick()
        runtime.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    assert service.failure_streak == MAX_FAILED_TICKS - 1
    assert service.safe_tick() is not None
    assert service.failure_streak == 0


def test_run_returns_when_a_stop_is_requested_between_ticks(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path)
    service = runtime.service
    seen: list[int] = []

    def stop_after_three(_report: object) -> None:
        seen.append(service.ticks)
        if service.ticks == 3:
            service.request_stop()

    service.run(1.0, on_tick=stop_after_three)
    assert seen == [1, 2, 3]
