"""A service that talks (issue 9): the narrator's lines, pinned on the simulated clock.

The service runs the shipped strategies over the in-process simulator on a ManualClock,
and after each tick the narrator is fed exactly as `runner run` feeds it
(`runner.service.live`: `gather` the tick's view, then `hear` the report and the view).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.trades import TradeStage
from runner.service.narrator import Narrator, finished_line, summary_line, window_changes
from runner.service.runtime import Runtime, assemble
from runner.service.settings import Environment, Settings
from runner.service.tick_view import LegView, StrategyView, TickView, TradeView, gather
from runner.sim.venue import SimVenue
from runner.store import control_store
from runner.strategy import load_strategies
from tests.builders import make_account, make_trade
from tests.shipped import SHIPPED

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TICK = timedelta(seconds=2)


class Told:
    """What the narrator said, with the simulated time it said it."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.lines: list[tuple[datetime, str | None, str]] = []

    def __call__(self, strategy: str | None, text: str) -> None:
        self.lines.append((self.clock.now(), strategy, text))

    def texts(self, strategy: str | None = None) -> list[str]:
        return [text for _, who, text in self.lines if strategy is None or who == strategy]


def _runtime(tmp_path: Path, clock: ManualClock) -> Runtime:
    specs = list(load_strategies(list(SHIPPED)).specs)
    settings = Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                        api_secret=None, log_dir=tmp_path / "logs", state_dir=tmp_path / "state")
    return assemble(settings, specs, clock=clock, exchange=SimVenue(clock, seed=1), launch=START)


def _run(runtime: Runtime, narrator: Narrator, until: datetime) -> None:
    clock = runtime.clock
    while clock.now() < until:  # type: ignore[operator]
        report = runtime.service.safe_tick()
        assert report is not None
        narrator.hear(report, gather(runtime.service, runtime.store, report.at))
        clock.advance(TICK)  # type: ignore[attr-defined]


def _pause(runtime: Runtime, *names: str) -> None:
    connection = control_store.open_for_request(runtime.store.path)
    try:
        control_store.submit(connection, "pause", names, runtime.clock.now(), "test")
    finally:
        connection.close()


def test_six_minutes_of_the_shipped_strategies_tell_each_change_once_and_a_summary_each_5_minutes(
        tmp_path: Path) -> None:
    clock = ManualClock(START)
    told = Told(clock)
    runtime = _runtime(tmp_path, clock)
    _run(runtime, Narrator(told), START + timedelta(minutes=6, seconds=10))

    kinds = [(who, text.split(" ")[0]) for _, who, text in told.lines]
    assert kinds == [
        (None, "summary:"),
        ("micro_strangle", "opened"), ("micro_strangle", "closed"),
        ("micro_strangle", "daily"),  # the second trade reaches the limit of 2
        ("micro_strangle", "opened"), ("micro_strangle", "closed"),
        ("rfq_endurance", "entry"),  # cycle 0 opens 1 minute after launch
        ("rfq_endurance", "opened"),
        (None, "summary:"),  # 5 minutes after the first
        ("rfq_endurance", "entry"),  # cycle 0's entry window (5 minutes) closes
    ]
    summaries = [(at, text) for at, who, text in told.lines if who is None]
    assert [at for at, _ in summaries] == [START, START + timedelta(minutes=5)]
    assert re.fullmatch(r"summary: equity [\d,]+\.\d\d USD, margin used \d+\.\d %"
                        r"( \(as of 10:0\d:\d\d UTC, \d+ s ago\))?; "
                        r"1 open trade, unrealized [+-][\d,]+\.\d\d USD"
                        r"( \(marks as of 10:0\d:\d\d UTC, \d+ s ago\))?; 3 trades today; "
                        r"paused: none", summaries[1][1]), summaries[1][1]
    micro = told.texts("micro_strangle")
    assert re.fullmatch(r"opened micro_strangle-20260302T100000Z-1: buy 0\.01 BTCUSD-\S+-C @ "
                        r"\d+ USD, buy 0\.01 BTCUSD-\S+-P @ \d+ USD; premium \d+\.\d\d USD paid",
                        micro[0]), micro[0]
    assert re.fullmatch(r"closed micro_strangle-20260302T100000Z-1 \(max_hold\): net "
                        r"[+-]\d+\.\d\d USD \(gross [+-]\d+\.\d\d USD, fees \d+\.\d\d USD\), "
                        r"held 0:00:1\d", micro[1]), micro[1]
    assert micro[2] == "daily limit reached: 2 of 2 trades today; no new entries until 00:00 UTC"
    rfq = told.texts("rfq_endurance")
    assert rfq[0] == "entry window opened (cycle 0): entries until 10:06:00 UTC"
    assert rfq[-1] == "entry window closed (cycle 0)"


def test_a_pause_and_a_resume_are_told_once_each(tmp_path: Path) -> None:
    clock = ManualClock(START)
    told = Told(clock)
    runtime = _runtime(tmp_path, clock)
    narrator = Narrator(told)
    _run(runtime, narrator, START + timedelta(seconds=4))
    _pause(runtime, "micro_strangle")
    _run(runtime, narrator, START + timedelta(seconds=20))
    connection = control_store.open_for_request(runtime.store.path)
    try:
        control_store.submit(connection, "resume", ("micro_strangle",), clock.now(), "test")
    finally:
        connection.close()
    _run(runtime, narrator, START + timedelta(seconds=30))
    changes = [text for text in told.texts("micro_strangle") if text.startswith(("paused",
                                                                                "resumed"))]
    assert changes == ["paused: no new entries until runner resume; exits and closes go on",
                       "resumed: new entries allowed again"]


def _strategy(name: str = "s", *, paused: bool = False, today: int = 0,
              window: dict[str, object] | None = None) -> StrategyView:
    return StrategyView(name, True, paused, today, today, 2, 4, window)


def _view(at: datetime, *strategies: StrategyView, trades: tuple[TradeView, ...] = (),
          equity: int | None = 100_000) -> TickView:
    account = make_account(equity=equity) if equity is not None else None
    return TickView(at, account, strategies, trades)


def test_the_limit_resets_on_a_new_utc_day_and_is_told() -> None:
    told: list[str] = []
    narrator = Narrator(lambda _who, text: told.append(text))
    narrator.hear(None, _view(START, _strategy(today=2)))
    narrator.hear(None, _view(START + timedelta(hours=14), _strategy(today=0)))
    assert told[0] == "daily limit reached: 2 of 2 trades today; no new entries until 00:00 UTC"
    assert "new UTC day: daily limit reset (0 of 2 trades)" in told


def test_a_summary_says_unknown_when_a_mark_is_missing_and_counts_in_the_singular() -> None:
    unpriced = TradeView("t-1", "s", "open", (
        LegView("BTCUSD-3MAR26-90000-C", "buy", Decimal("0.1"), Decimal(100), None, None),),
        Decimal(0), Decimal(0))
    line = summary_line(_view(START, _strategy(today=1), trades=(unpriced,), equity=None))
    assert line == ("summary: equity unknown (account not read); 1 open trade, unrealized "
                    "unknown; 1 trade today; paused: none")


def test_a_summary_on_a_tick_that_read_no_account_nor_marks_says_when_they_were_read() -> None:
    # read_plan reads the account and the chains only when decisions need them (issue 11)
    told: list[str] = []
    narrator = Narrator(lambda _who, text: told.append(text))
    read = START + timedelta(minutes=4, seconds=20)
    priced = TradeView("t-1", "s", "open", (
        LegView("BTCUSD-3MAR26-90000-C", "buy", Decimal("0.1"), Decimal(100), Decimal(112),
                None, read),), Decimal(0), Decimal(0))
    narrator.hear(None, replace(_view(START, _strategy(today=1)), account_at=START))
    narrator.hear(None, replace(_view(read, _strategy(today=1), trades=(priced,)),
                                account_at=read))
    unread = replace(priced, legs=(replace(priced.legs[0], mark=None, mark_at=None),))
    narrator.hear(None, _view(START + timedelta(minutes=5), _strategy(today=1), trades=(unread,),
                              equity=None))
    assert told[-1] == ("summary: equity 100,000.00 USD, margin used 20.0 % (as of 10:04:20 UTC,"
                        " 40 s ago); 1 open trade, unrealized +1.20 USD (marks as of 10:04:20 "
                        "UTC, 40 s ago); 1 trade today; paused: none")


def test_a_summary_names_the_paused_strategies_and_counts_in_the_plural() -> None:
    line = summary_line(_view(START, _strategy("a", paused=True, today=2), _strategy("b")))
    assert line == ("summary: equity 100,000.00 USD, margin used 20.0 %; 0 open trades, "
                    "unrealized +0.00 USD; 2 trades today; paused: a")


def test_a_failed_trade_is_told_in_capitals_with_why_it_failed_and_its_net_pnl() -> None:
    trade = make_trade([("call", "buy", "0.1", 100)], stage=TradeStage.OPENING)
    trade = trade.moved_to(TradeStage.FAILED, "open unwound: no fill in 30 s", START)
    assert finished_line(trade) == ("FAILED t-1: open unwound: no fill in 30 s; net +0.00 USD "
                                    "(gross +0.00 USD, fees 0.00 USD)")


def test_a_window_that_moves_to_the_next_cycle_closes_the_old_one_and_opens_the_new() -> None:
    first = {"open_now": True, "cycle": 0, "open_end": "2026-03-02T10:06:00+00:00"}
    second = {"open_now": True, "cycle": 1, "open_end": "2026-03-02T10:21:00+00:00"}
    assert window_changes(first, second) == [
        "entry window closed (cycle 0)", "entry window opened (cycle 1): entries until "
                                         "10:21:00 UTC"]
    assert window_changes(first, first) == []
    assert window_changes(None, {"open_now": False, "cycle": 0}) == []


def test_every_alert_the_service_sends_is_kept_among_the_last_alerts_for_status() -> None:
    from runner.service.alerts import AlertLevel, LogAlerter

    clock = ManualClock(START)
    narrator = Narrator(lambda _who, _text: None)
    alerter = LogAlerter(clock)
    alerter.add_sink(narrator)
    alerter.alert("trade.t-1", "close gave up", level=AlertLevel.CRITICAL, strategy="s")
    told = narrator.hear(None, _view(START, _strategy()))
    assert told is not None
    assert told["alerts"] == [{"at": START.isoformat(), "strategy": "s",
                               "text": "[CRITICAL] trade.t-1: close gave up (strategy s)"}]
