"""Every feature of the language, with a valid and an invalid case each."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.strategy.model import (
    AccountDeltaExit,
    AnyOf,
    AtmStrike,
    AutoExecution,
    BeforeExpiryExit,
    CycleExpiry,
    DailySchedule,
    DateTimeExit,
    DaysWindowExpiry,
    DeltaStrike,
    Direction,
    ExpiryCycle,
    FixedExpiry,
    FixedStrike,
    Greek,
    IndexMoveExit,
    LegGreekExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    NoExistingPositionCondition,
    OffsetUnit,
    PhasedLimitExecution,
    PriceBasis,
    PriceReference,
    ProfitTargetExit,
    RelativeStrike,
    RfqExecution,
    SpotDistanceStrike,
    StepsFromAtmStrike,
    StructureDeltaExit,
    TimeOfDayExit,
    TimeWindowCondition,
    UtcWindowCondition,
    Weekday,
    WeekdaysCondition,
)

from .helpers_spec import MINIMAL, errors, load_text, messages, with_lines

LEGS = """\
version: 1
name: legs
enabled: true
legs:
  - {option: call, side: sell, qty: 0.1, strike: STRIKE, expiry: EXPIRY}
  - {option: put, side: buy, qty: 0.1, strike: {atm: true}, expiry: {next: true}}
execution:
  open: {mode: limit}
exits:
  - max_hold: 1h
"""


def _legs(strike: str = "{delta: 0.2}", expiry: str = "{next: true}") -> str:
    return LEGS.replace("STRIKE", strike).replace("EXPIRY", expiry)


@pytest.mark.parametrize(("strike", "expected"), [
    ("{delta: 0.2}", DeltaStrike(Decimal("0.2"))),
    ("{delta: 0.2, tolerance: 0.05}", DeltaStrike(Decimal("0.2"), Decimal("0.05"))),
    ("{atm: true}", AtmStrike()),
    ("{spot_distance_pct: 10}", SpotDistanceStrike(Decimal(10), MoveUnit.PCT)),
    ("{spot_distance_usd: -5000}", SpotDistanceStrike(Decimal(-5000), MoveUnit.USD)),
    ("{fixed: 70000}", FixedStrike(Decimal(70000))),
    ("{steps_from_atm: -2}", StepsFromAtmStrike(-2)),
])
def test_every_strike_rule_is_accepted(tmp_path: Path, strike: str, expected: object) -> None:
    result = load_text(tmp_path, _legs(strike=strike))
    assert result.diagnostics == ()
    assert result.specs[0].legs[0].strike == expected


def test_a_strike_relative_to_an_earlier_leg_is_accepted(tmp_path: Path) -> None:
    text = _legs().replace("strike: {atm: true}", "strike: {from_leg: 0, offset_usd: -5000}")
    result = load_text(tmp_path, text)
    assert result.specs[0].legs[1].strike == RelativeStrike(0, Decimal(-5000), OffsetUnit.USD)


@pytest.mark.parametrize(("strike", "wording"), [
    ("{delta: 1.5}", "legs[0].strike.delta: 1.5 is above the maximum 1; use a value of at most 1"),
    ("{delat: 0.2}", "legs[0].strike.delat: unknown key 'delat'; did you mean 'delta'?"),
    ("{delta: 0.2, fixed: 70000}", "legs[0].strike: 'delta' and 'fixed' cannot be combined; "
                                   "keep only one of them"),
    ("{tolerance: 0.1}", "legs[0].strike: needs one of: delta, atm, spot_distance_pct, "
                         "spot_distance_usd, fixed, steps_from_atm, from_leg; add exactly one "
                         "of them (see docs/strategy-reference.md)"),
    ("{atm: false}", "legs[0].strike.atm: false is not allowed here; write true"),
    ("{delta: -0.2}", "legs[0].strike.delta: a call delta must be positive, got -0.2; write 0.2"),
    ("{from_leg: 1, offset_pct: 5}", "legs[0].strike.from_leg: from_leg 1 is not an earlier "
                                     "leg; refer to a leg listed before this one (0..-1)"),
])
def test_a_wrong_strike_rule_is_reported_in_words(tmp_path: Path, strike: str,
                                                  wording: str) -> None:
    result = load_text(tmp_path, _legs(strike=strike))
    assert messages(result) == [wording]
    assert result.specs == ()


@pytest.mark.parametrize(("expiry", "expected"), [
    ("{dte: 2}", "DteExpiry(days=2, min_days=2, max_days=2)"),
    ("{dte: 80, min_dte: 60, max_dte: 100}", "DteExpiry(days=80, min_days=60, max_days=100)"),
    ("{min_days: 1, max_days: 3}", repr(DaysWindowExpiry(1, 3))),
    ("{cycle: monthly, min_dte: 7}", repr(CycleExpiry(ExpiryCycle.MONTHLY, 7))),
    ("{cycle: weekly}", repr(CycleExpiry(ExpiryCycle.WEEKLY, 0))),
    ("{date: 2026-03-27}", repr(FixedExpiry(date(2026, 3, 27)))),
    ("{date: 27MAR26}", repr(FixedExpiry(date(2026, 3, 27)))),
])
def test_every_expiry_rule_is_accepted(tmp_path: Path, expiry: str, expected: str) -> None:
    result = load_text(tmp_path, _legs(expiry=expiry))
    assert result.diagnostics == ()
    assert repr(result.specs[0].legs[0].expiry) == expected


@pytest.mark.parametrize(("expiry", "wording"), [
    ("{dte: 2, min_dte: 3}", "legs[0].expiry: dte 2 is outside min_dte..max_dte (3..2); "
                             "make min_dte <= dte <= max_dte"),
    ("{min_days: 5, max_days: 3}", "legs[0].expiry.max_days: max_days is smaller than "
                                   "min_days; make max_days at least min_days"),
    ("{cycle: daily}", "legs[0].expiry.cycle: 'daily' is not an allowed value; use one of: "
                       "weekly, monthly, quarterly"),
    ("{date: 2026-13-01}", "legs[0].expiry.date: '2026-13-01' is not in the expected format; "
                           "write it like 2026-03-27"),
    ("{dte: -1}", "legs[0].expiry.dte: -1 is below the minimum 0; use a value of at least 0"),
])
def test_a_wrong_expiry_rule_is_reported_in_words(tmp_path: Path, expiry: str,
                                                  wording: str) -> None:
    assert messages(load_text(tmp_path, _legs(expiry=expiry))) == [wording]


STRUCTURE = MINIMAL.split("structure:")[0] + "structure:\nBODY" + """\
execution:
  open: {mode: limit}
exits:
  - max_hold: 10s
"""


def _structure(body: str) -> str:
    return STRUCTURE.replace("BODY", body)


def test_a_straddle_expands_to_a_call_and_a_put_at_the_same_strike(tmp_path: Path) -> None:
    result = load_text(tmp_path, _structure(
        "  type: straddle\n  side: sell\n  qty: 0.2\n  expiry: {dte: 0}\n"))
    call, put = result.specs[0].legs
    assert (call.kind, put.kind) == (OptionKind.CALL, OptionKind.PUT)
    assert call.strike == put.strike == AtmStrike()
    assert call.side is put.side is Side.SELL
    assert call.origin is not None
    assert call.origin.role == "call"


def test_a_short_iron_condor_sells_the_body_and_buys_wings_by_width(tmp_path: Path) -> None:
    result = load_text(tmp_path, _structure(
        "  type: iron_condor\n  side: sell\n  qty: 0.1\n  expiry: {dte: 1}\n"
        "  call: {delta: 0.2}\n  put: {delta: -0.2}\n  wings: {width_usd: 5000}\n"))
    legs = result.specs[0].legs
    assert [leg.side for leg in legs] == [Side.SELL, Side.SELL, Side.BUY, Side.BUY]
    assert legs[2].strike == RelativeStrike(0, Decimal(5000), OffsetUnit.USD)
    assert legs[3].strike == RelativeStrike(1, Decimal(-5000), OffsetUnit.USD)


def test_iron_condor_wings_may_be_deltas(tmp_path: Path) -> None:
    result = load_text(tmp_path, _structure(
        "  type: iron_condor\n  side: buy\n  qty: 0.1\n  expiry: {dte: 1}\n"
        "  call: {delta: 0.2}\n  put: {delta: -0.2}\n  wings: {delta: 0.05}\n"))
    legs = result.specs[0].legs
    assert [leg.strike for leg in legs[2:]] == [DeltaStrike(Decimal("0.05")),
                                                 DeltaStrike(Decimal("-0.05"))]
    assert [leg.side for leg in legs] == [Side.BUY, Side.BUY, Side.SELL, Side.SELL]


def test_a_long_butterfly_sells_the_body_twice(tmp_path: Path) -> None:
    result = load_text(tmp_path, _structure(
        "  type: butterfly\n  side: buy\n  qty: 0.1\n  expiry: {dte: 7}\n  option: call\n"
        "  wings: {width_steps: 2}\n"))
    body, lower, upper = result.specs[0].legs
    assert (body.side, body.qty, body.strike) == (Side.SELL, Decimal("0.2"), AtmStrike())
    assert lower.strike == RelativeStrike(0, Decimal(-2), OffsetUnit.STEPS)
    assert upper.strike == RelativeStrike(0, Decimal(2), OffsetUnit.STEPS)


def test_a_structure_of_unknown_type_names_the_allowed_ones(tmp_path: Path) -> None:
    result = load_text(tmp_path, _structure(
        "  type: strangel\n  side: buy\n  qty: 0.1\n  expiry: {dte: 1}\n"))
    assert messages(result) == ["structure.type: 'strangel' is not an allowed value; did you "
                                "mean 'strangle'? (use one of: strangle, straddle, iron_condor, "
                                "butterfly)"]


def test_legs_and_structure_together_are_refused(tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "execution:", "legs:\n  - {option: call, side: buy, qty: 0.01, "
                      "strike: {atm: true}, expiry: {next: true}}\nexecution:")
    assert messages(load_text(tmp_path, text)) == [
        "(top level): 'legs' and 'structure' cannot be combined; keep only one of them"]


ENTRY_CASES = [
    ('- time_window: {start: "22:00", end: "06:00"}',
     TimeWindowCondition(time(22, 0, tzinfo=UTC), time(6, 0, tzinfo=UTC))),
    ("- utc_window: {start: 2026-03-01T00:00Z, end: 2026-03-02T00:00Z}",
     UtcWindowCondition(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))),
    ("- weekdays: [sat, sun]", WeekdaysCondition(frozenset({Weekday.SAT, Weekday.SUN}))),
    ("- no_existing_position: true", NoExistingPositionCondition()),
    ("- no_existing_position: {instruments: [BTCUSD-27MAR26-80000-C]}",
     NoExistingPositionCondition(("BTCUSD-27MAR26-80000-C",))),
]


@pytest.mark.parametrize(("line", "expected"), ENTRY_CASES)
def test_every_entry_condition_is_accepted(tmp_path: Path, line: str, expected: object) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:", f"entry:\n  {line}\nexits:"))
    assert result.diagnostics == ()
    assert result.specs[0].entry.conditions == (expected,)


def test_time_window_wraps_past_midnight_when_the_end_is_earlier() -> None:
    window = ENTRY_CASES[0][1]
    assert isinstance(window, TimeWindowCondition)
    assert window.wraps_midnight


def test_entry_conditions_nest_with_any_and_all(tmp_path: Path) -> None:
    entry = ("entry:\n  - any:\n      - min_equity_usd: 1000\n      - all:\n"
             "          - max_account_delta: 0.5\n          - max_margin_utilisation_pct: 40\n")
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:", entry + "exits:"))
    (outer,) = result.specs[0].entry.conditions
    assert isinstance(outer, AnyOf)
    assert len(outer.conditions) == 2


@pytest.mark.parametrize(("line", "wording"), [
    ('- time_window: {start: "25:00", end: "06:00"}',
     "entry[0].time_window.start: '25:00' is not a UTC time of day; write HH:MM in quotes, "
     'e.g. "08:00"'),
    ("- utc_window: {start: 2026-03-02T00:00Z, end: 2026-03-01T00:00Z}",
     "entry[0].utc_window.end: the window ends before it starts; give an end after the start"),
    ("- utc_window: {start: 2026-03-01T00:00+02:00, end: 2026-03-02T00:00Z}",
     "entry[0].utc_window.start: '2026-03-01T00:00+02:00' is not a UTC date-time; write e.g. "
     "2026-03-28T07:00Z"),
    ("- weekdays: [saturday]", "entry[0].weekdays[0]: 'saturday' is not an allowed value; use "
                               "one of: mon, tue, wed, thu, fri, sat, sun"),
    ("- min_available_margin: 30", "entry[0].min_available_margin: unknown key "
                                   "'min_available_margin'; did you mean "
                                   "'min_available_margin_pct'?"),
    ("- any: []", "entry[0].any: the list is empty; add at least one item"),
])
def test_a_wrong_entry_condition_is_reported_in_words(tmp_path: Path, line: str,
                                                      wording: str) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:", f"entry:\n  {line}\nexits:"))
    assert messages(result) == [wording]


EXIT_CASES = [
    ("- profit_target: {pct: 50}", ProfitTargetExit(Decimal(50), PriceBasis.EXECUTABLE)),
    ("- max_loss: {pct: 100}", MaxLossPctExit(Decimal(100), PriceBasis.FAIR)),
    ("- max_loss: {usd: 250, basis: mark}", MaxLossUsdExit(Decimal(250), PriceBasis.MARK)),
    ('- time_of_day: "19:00"', TimeOfDayExit(time(19, 0, tzinfo=UTC))),
    ("- at_datetime: 2026-03-28T07:00Z", DateTimeExit(datetime(2026, 3, 28, 7, tzinfo=UTC))),
    ("- account_delta_limit: 1", AccountDeltaExit(Decimal(1))),
    ("- structure_delta_limit: 0.005", StructureDeltaExit(Decimal("0.005"))),
    ("- leg_greek_limit: {leg: 1, greek: vega, below: -5}",
     LegGreekExit(1, Greek.VEGA, Direction.BELOW, Decimal(-5))),
    ("- before_expiry: 1h30m", BeforeExpiryExit(timedelta(hours=1, minutes=30))),
    ("- index_move: {usd: 1300}", IndexMoveExit(Decimal(1300), MoveUnit.USD)),
    ("- index_move: {pct: 2}", IndexMoveExit(Decimal(2), MoveUnit.PCT)),
]


@pytest.mark.parametrize(("line", "expected"), EXIT_CASES)
def test_every_exit_rule_is_accepted_with_its_default_basis(tmp_path: Path, line: str,
                                                            expected: object) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "  - max_hold: 10s", f"  {line}"))
    assert result.diagnostics == ()
    assert result.specs[0].exits == (expected,)


@pytest.mark.parametrize(("line", "wording"), [
    ("- max_loss: {pct: 50, usd: 100}", "exits[0].max_loss: 'pct' and 'usd' cannot be combined;"
                                        " keep only one of them"),
    ("- profit_target: {pct: 50, basis: bid}", "exits[0].profit_target.basis: 'bid' is not an "
                                               "allowed value; did you mean 'mid'? (use one of: "
                                               "mark, mid, fair, executable)"),
    ("- end_of_cycle: true", "exits[0]: end_of_cycle needs a schedule; add a 'schedule:' or use "
                             "another exit"),
    ("- leg_greek_limit: {leg: 5, greek: delta, above: 0.01}",
     "exits[0].leg_greek_limit.leg: there is no leg 5; use a leg index from 0 to 1"),
    ("- max_hold: 0s", "exits[0].max_hold: max_hold is zero; give a duration above zero"),
    ("- max_hold: 10", "exits[0].max_hold: expected a duration, got the number 10; a duration "
                       "needs a unit: write 10s (or 10m, 10h)"),
])
def test_a_wrong_exit_rule_is_reported_in_words(tmp_path: Path, line: str, wording: str) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "  - max_hold: 10s", f"  {line}"))
    assert messages(result) == [wording]


def test_exits_may_not_be_empty(tmp_path: Path) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:\n  - max_hold: 10s\n", "exits: []\n"))
    assert messages(result) == ["exits: the list is empty; add at least one item"]


def test_a_daily_schedule_computes_a_window_that_closes_the_next_day(tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "exits:", 'schedule: {type: daily, open_at: "22:00", '
                      'open_window: 1h, close_at: "02:00"}\nexits:\n  - end_of_cycle: true')
    result = load_text(tmp_path, text)
    schedule = result.specs[0].schedule
    assert isinstance(schedule, DailySchedule)
    window = schedule.window_on(date(2026, 3, 2))
    assert window.open_start == datetime(2026, 3, 2, 22, tzinfo=UTC)
    assert window.open_end == datetime(2026, 3, 2, 23, tzinfo=UTC)
    assert window.close_at == datetime(2026, 3, 3, 2, tzinfo=UTC)


def test_a_daily_schedule_whose_window_outlasts_the_close_is_refused(tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "exits:", 'schedule: {type: daily, open_at: "12:00", '
                      'open_window: 3h, close_at: "14:00"}\nexits:\n  - end_of_cycle: true')
    assert messages(load_text(tmp_path, text)) == [
        "schedule.open_window: the open window lasts past close_at; shorten open_window or "
        "move close_at later"]


def test_a_schedule_without_a_required_key_names_it(tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "exits:", "schedule: {type: cycles, first_open_after: 1m, "
                      "open_window: 5m, close_after: 10m, count: 3}\nexits:")
    assert messages(load_text(tmp_path, text)) == [
        "schedule: missing required key 'gap'; add 'gap:' (Pause between a cycle's close and "
        "the next cycle's open start)"]


def test_phased_limit_execution_with_guards(tmp_path: Path) -> None:
    execution = ("  open:\n    mode: limit\n    phases:\n      - {duration: 1m, "
                 "requote_interval: 20s, price: fair}\n      - {duration: 1m, requote_interval:"
                 " 10s, price: aggressive, offset_pct: 1}\n    open_sell_floor_pct_of_fair: 83\n"
                 "    min_floor_price: 5\n")
    result = load_text(tmp_path, with_lines(MINIMAL, "  open: {mode: limit}\n", execution))
    spec = result.specs[0].execution.open
    assert isinstance(spec, PhasedLimitExecution)
    assert [phase.reference for phase in spec.phases] == [PriceReference.FAIR,
                                                          PriceReference.AGGRESSIVE]
    assert spec.total_duration == timedelta(minutes=2)
    assert spec.guards.open_sell_floor_pct_of_fair == Decimal(83)
    assert spec.guards.min_floor_price == Decimal(5)


def test_phases_and_aggressive_keys_are_not_mixed(tmp_path: Path) -> None:
    execution = ("  open:\n    mode: limit\n    fill_timeout: 30s\n    phases:\n"
                 "      - {duration: 1m, requote_interval: 20s, price: mid}\n")
    result = load_text(tmp_path, with_lines(MINIMAL, "  open: {mode: limit}\n", execution))
    assert messages(result) == [
        "execution.open.fill_timeout: 'fill_timeout' cannot be combined with 'phases'; price "
        "either by phases or by fill_timeout, requote_rounds and aggressive_buffer_pct"]


def test_auto_execution_routes_between_rfq_and_limit(tmp_path: Path) -> None:
    execution = ("  open:\n    mode: auto\n    rfq: {mode: rfq, timeout: 2m}\n"
                 "    limit: {mode: limit, fill_timeout: 10s}\n")
    result = load_text(tmp_path, with_lines(MINIMAL, "  open: {mode: limit}\n", execution))
    spec = result.specs[0].execution.open
    assert isinstance(spec, AutoExecution)
    assert spec.rfq.min_notional_usd == Decimal(50000)
    assert spec.rfq.timeout == timedelta(minutes=2)


def test_auto_with_a_limit_where_rfq_belongs_is_refused(tmp_path: Path) -> None:
    execution = "  open:\n    mode: auto\n    rfq: {mode: limit}\n    limit: {mode: limit}\n"
    result = load_text(tmp_path, with_lines(MINIMAL, "  open: {mode: limit}\n", execution))
    assert messages(result) == [
        "execution.open.rfq: a limit execution is used where a rfq execution is expected; use "
        "mode rfq (or a rfq profile) here"]


def test_rfq_execution_reads_every_setting(tmp_path: Path) -> None:
    execution = ("  open: {mode: rfq, timeout: 1m, min_improvement_pct: 0.5, fallback: none,"
                 " min_notional_usd: 60000, action: sell}\n  close: {mode: limit}\n")
    text = with_lines(MINIMAL, "  open: {mode: limit}\n", execution).replace("qty: 0.01",
                                                                            "qty: 1")
    result = load_text(tmp_path, text)
    spec = result.specs[0].execution.open
    assert spec == RfqExecution(timedelta(minutes=1), Decimal("0.5"), None, Decimal(60000),
                                Side.SELL)


def test_timing_limits_accept_unlimited_and_whole_numbers(tmp_path: Path) -> None:
    timing = ("timing:\n  max_trades_per_day: unlimited\n  cooldown: 5m\n"
              "  max_attempts_per_day: unlimited\n  max_concurrent_trades: 2\n")
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:", timing + "exits:"))
    timing_spec = result.specs[0].timing
    assert timing_spec.max_trades_per_day is None
    assert timing_spec.max_attempts_per_day is None
    assert timing_spec.cooldown == timedelta(minutes=5)


def test_a_day_limit_of_zero_is_refused_in_words(tmp_path: Path) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:",
                                            "timing:\n  max_trades_per_day: 0\nexits:"))
    assert messages(result) == ["timing.max_trades_per_day: 0 is below the minimum 1; use a "
                                "value of at least 1"]


def test_a_day_limit_of_the_wrong_kind_lists_the_alternatives(tmp_path: Path) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:",
                                            "timing:\n  max_trades_per_day: many\nexits:"))
    assert messages(result) == ["timing.max_trades_per_day: expected a whole number or "
                                "'unlimited', got the text 'many'; write a whole number or "
                                "'unlimited'"]


def test_risk_limits_are_read_as_decimals(tmp_path: Path) -> None:
    risk = "risk:\n  max_notional_per_trade_usd: 5000\n  max_notional_per_strategy_usd: 9000\n"
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:", risk + "exits:"))
    assert result.specs[0].risk.max_notional_per_trade_usd == Decimal(5000)


def test_version_must_be_1(tmp_path: Path) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "version: 1", "version: 2"))
    assert messages(result) == ["version: 2 is not allowed here; write 1"]
    assert errors(result)[0].line == 1
