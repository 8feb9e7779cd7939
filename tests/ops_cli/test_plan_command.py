"""`runner plan`: a strategy resolved against the current market, printed, never traded."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.cli.plan_report import make_plan
from runner.domain.clock import ManualClock
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies
from tests.ops_cli.helpers_ops_cli import (
    AT,
    NOW,
    STRATEGIES,
    CliResult,
    RecordingExchange,
    populate_store,
    run_cli,
)

MICRO = str(STRATEGIES / "micro_strangle.yaml")
RFQ = str(STRATEGIES / "rfq_endurance.yaml")


@pytest.fixture
def plan_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path):
    """`runner plan FILE --at AT --seed 7` with no .env, against the paper venue."""
    def run(path: str, *extra: str) -> CliResult:
        return run_cli(capsys, "plan", path, "--at", AT, "--seed", "7",
                       "--env-file", str(tmp_path / "absent.env"), *extra)
    return run


def _strategy(tmp_path: Path, body: str, name: str = "custom.yaml") -> str:
    path = tmp_path / "strategies" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return str(path)


FIXED = """\
version: 1
name: fixed_strike
description: one call at a fixed strike
enabled: true
underlying: BTC
legs:
  - {option: call, side: buy, qty: 0.01, strike: {fixed: STRIKE}, expiry: {next: true}}
timing:
  max_trades_per_day: MAX_PER_DAY
  cooldown: COOLDOWN
execution:
  open: {mode: limit}
  close: {mode: limit}
exits:
  - max_hold: 1m
"""


def _fixed(strike: str = "90000", per_day: str = "1", cooldown: str = "1m") -> str:
    return (FIXED.replace("STRIKE", strike).replace("MAX_PER_DAY", per_day)
            .replace("COOLDOWN", cooldown))


def test_micro_strangle_plans_a_call_near_0_15_and_a_put_near_minus_0_15_on_the_next_expiry(
        plan_cli) -> None:
    result = plan_cli(MICRO, "--format", "json")
    assert result.code == 0, result.err
    plan = result.json()
    call, put = plan["legs"]
    assert (call["kind"], call["side"], call["qty"]) == ("call", "buy", "0.01")
    assert (put["kind"], put["side"], put["qty"]) == ("put", "buy", "0.01")
    assert abs(call["delta"] - 0.15) < 0.05
    assert abs(put["delta"] + 0.15) < 0.05
    assert call["delta_target"] == "0.15"
    assert put["delta_target"] == "-0.15"
    next_expiry = "2026-03-03T08:00:00+00:00"  # 08:00 UTC tomorrow: the nearest one alive
    assert call["expiry"] == put["expiry"] == next_expiry
    assert 0 < call["days_to_expiry"] < 1
    assert all(leg[key] is not None for leg in plan["legs"] for key in ("bid", "ask", "mark"))
    margin = next(c for c in plan["checks"] if c["name"] == "min_available_margin_pct")
    assert margin["passed"]
    assert "need >= 30 %" in margin["detail"]
    assert plan["would_open"] is True
    assert plan["structure"]["route"] == "limit"


def test_micro_strangle_text_names_the_instruments_prices_and_the_passing_margin_check(
        plan_cli) -> None:
    result = plan_cli(MICRO)
    assert result.code == 0, result.err
    assert "BTCUSD-3MAR26-" in result.out
    assert "-C " in result.out
    assert "(target +0.15," in result.out
    assert "(target -0.15," in result.out
    assert "pass   min_available_margin_pct" in result.out
    assert "premium at mark:" in result.out
    assert "notional:" in result.out
    assert "would open now: yes" in result.out
    assert "max_hold(limit 10s)" in result.out


def test_rfq_endurance_shows_its_three_cycle_windows_and_the_rfq_route_with_its_notional(
        plan_cli) -> None:
    """I4: the notional is strike x qty, and it is what the route is chosen on."""
    plan = plan_cli(RFQ, "--format", "json").json()
    windows = plan["schedule"]["windows"]
    assert [w["cycle"] for w in windows] == [0, 1, 2]
    assert [w["open_start"] for w in windows] == [
        (NOW + timedelta(minutes=1 + 15 * k)).isoformat() for k in range(3)]
    assert all(w["state"] == "upcoming" for w in windows)
    structure = plan["structure"]
    notional = sum(Decimal(leg["strike"]) * Decimal(leg["qty"]) for leg in plan["legs"])
    assert Decimal(structure["notional_usd"]) == notional >= 50_000
    assert structure["route"] == "rfq"
    assert "RFQ minimum 50000 USD" in structure["route_reason"]
    schedule = next(c for c in plan["checks"] if c["name"] == "schedule")
    assert not schedule["passed"]
    assert "next window opens" in schedule["detail"]

    text = plan_cli(RFQ).out
    assert text.count("opens in") == 3
    assert "RFQ: mode rfq" in text


def test_a_fixed_strike_that_is_not_listed_exits_1_with_the_reason(plan_cli, tmp_path) -> None:
    result = plan_cli(_strategy(tmp_path, _fixed(strike="123457")))
    assert result.code == 1
    assert "CANNOT RESOLVE" in result.out
    assert "strike 123457 is not listed" in result.out


def test_a_fixed_strike_that_is_listed_resolves(plan_cli, tmp_path) -> None:
    result = plan_cli(_strategy(tmp_path, _fixed(strike="90000")), "--format", "json")
    assert result.code == 0, result.err
    assert result.json()["legs"][0]["strike"] == "90000"


def test_the_60_day_calendar_shows_one_chosen_expiry_per_day_for_a_dte_rule(plan_cli) -> None:
    """G3: plan over 60 days shows one candidate per day (here dte 2: the day after next)."""
    plan = plan_cli(RFQ, "--days", "60", "--format", "json").json()
    (calendar,) = plan["expiry_calendar"]
    assert calendar["rule"].startswith("dte(days 2")
    assert calendar["gaps"] == []
    rows = calendar["by_day"]
    assert len(rows) == 60
    for offset, row in enumerate(rows):
        day = date(2026, 3, 2) + timedelta(days=offset)
        assert row["day"] == day.isoformat()
        assert row["expiry"] == f"{day + timedelta(days=2)}T08:00:00+00:00"
    text = plan_cli(RFQ, "--days", "60").out
    assert "an eligible expiry on every day" in text
    assert sum(1 for line in text.splitlines() if "(2 d, 1 eligible)" in line) == 60


def test_days_with_no_eligible_expiry_are_listed(plan_cli, tmp_path) -> None:
    """G3: a narrow window on a sparse calendar leaves gaps, and plan names them."""
    body = _fixed().replace("{fixed: 90000}", "{atm: true}").replace(
        "{next: true}", "{dte: 40, min_dte: 38, max_dte: 42}")
    plan = plan_cli(_strategy(tmp_path, body), "--days", "60", "--format", "json").json()
    (calendar,) = plan["expiry_calendar"]
    assert calendar["gaps"], "weeklies/monthlies cannot cover every 38-42 day window"
    assert all(row["expiry"] is None for row in calendar["by_day"]
               if row["day"] in calendar["gaps"])


def test_json_output_parses_and_carries_every_section(plan_cli) -> None:
    plan = plan_cli(MICRO, "--format", "json").json()
    for key in ("legs", "structure", "execution", "checks", "schedule", "exits", "limits",
                "expiry_calendar", "history", "at", "environment", "seed"):
        assert key in plan
    assert plan["environment"] == "paper"
    assert plan["seed"] == 7
    assert plan["at"] == NOW.isoformat()


def test_no_daily_limit_and_no_cooldown_is_a_visible_warning(plan_cli, tmp_path) -> None:
    """A8: the quota and cooldown are shown, and their absence is called out."""
    result = plan_cli(_strategy(tmp_path, _fixed(per_day="unlimited", cooldown="0s")))
    assert result.code == 0, result.err
    assert "WARNING: no daily trade limit and no cooldown" in result.out
    assert "trades per day unlimited" in result.out
    bounded = plan_cli(_strategy(tmp_path, _fixed(), name="bounded.yaml"))
    assert "WARNING" not in bounded.out
    assert "cooldown 1m" in bounded.out


def test_gates_count_the_trades_the_store_holds_for_today(plan_cli, state_dir) -> None:
    """I3: the store's trades and attempts of today, read read-only, drive the gates."""
    populate_store(state_dir)
    plan = plan_cli(MICRO, "--format", "json").json()
    assert plan["history"]["source"] is not None
    checks = {c["name"]: c for c in plan["checks"]}
    assert not checks["max_concurrent_trades"]["passed"]  # micro_strangle-3 is still opening
    assert checks["max_trades_per_day"]["detail"].startswith("1 of 2")
    assert checks["max_attempts_per_day"]["detail"].startswith("3 of 4")
    assert plan["would_open"] is False


def test_an_example_resolves_the_shared_profiles_of_its_parent_directory(plan_cli) -> None:
    result = plan_cli(str(STRATEGIES / "examples" / "daily_short_strangle.yaml"))
    assert result.code == 0, result.err
    assert "[profile passive_to_aggressive]" in result.out
    assert "BLOCK  enabled" in result.out
    assert "WARNING: the strategy is disabled" in result.out


def test_an_invalid_strategy_exits_1_and_says_why(plan_cli, tmp_path) -> None:
    result = plan_cli(_strategy(tmp_path, _fixed().replace("side: buy", "side: sideways")))
    assert result.code == 1
    assert "is not a valid strategy" in result.err
    assert "custom.yaml:" in result.err


@pytest.mark.parametrize(("args", "message"), [
    (("--at", "2026-03-02T10:00:00"), "no time zone"),
    (("--at", "yesterday"), "Invalid isoformat"),
    (("--days", "0"), "--days must be between"),
])
def test_usage_errors_exit_2(capsys, tmp_path, state_dir, args, message) -> None:
    result = run_cli(capsys, "plan", MICRO, "--env-file", str(tmp_path / "x.env"), *args)
    assert result.code == 2
    assert message in result.err


def test_a_missing_file_exits_2(capsys, tmp_path) -> None:
    result = run_cli(capsys, "plan", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "no such file" in result.err


def test_plan_never_calls_a_write_method_of_the_exchange() -> None:
    """Plan reads the market (instruments, index, chain, account, positions, orders) only."""
    specs = load_strategies([Path(MICRO), Path(RFQ), STRATEGIES / "profiles.yaml"]).specs
    for spec in specs:
        recording = RecordingExchange(SimVenue(ManualClock(NOW), seed=7))
        plan = make_plan(spec, recording, NOW, seed=7, calendar_days=5)  # type: ignore[arg-type]
        assert plan.resolved
        assert recording.writes == []
        assert {"instruments", "index_price", "option_chain", "account"} <= set(recording.calls)


def test_a_disabled_strategy_is_planned_but_never_would_open(plan_cli, tmp_path) -> None:
    plan = plan_cli(_strategy(tmp_path, _fixed().replace("enabled: true", "enabled: false")),
                    "--format", "json").json()
    assert plan["legs"] is not None
    assert plan["would_open"] is False
    assert plan["checks"][0] == {"name": "enabled", "passed": False,
                                 "detail": "the strategy is disabled (enabled: false)"}


def test_plan_at_a_later_moment_picks_that_moments_next_expiry(capsys, tmp_path,
                                                                state_dir) -> None:
    later = "2026-03-03T09:00:00Z"  # after 08:00: the 3 MAR options have expired
    result = run_cli(capsys, "plan", MICRO, "--at", later, "--env-file",
                     str(tmp_path / "x.env"), "--format", "json")
    assert {leg["expiry"] for leg in result.json()["legs"]} == {"2026-03-04T08:00:00+00:00"}


KEY = "test-key-for-the-loopback-sim-server"
SECRET = "test-secret-for-the-loopback-sim-server-0123456789"


def test_testnet_plan_reads_the_rest_venue_and_never_writes(capsys, tmp_path, state_dir,
                                                              monkeypatch) -> None:
    """Through the real REST client against the simulated Coincall on loopback: reads only."""
    from runner.domain.clock import SystemClock
    from runner.sim.server import SimServer

    clock = SystemClock()
    recording = RecordingExchange(SimVenue(clock, seed=7))
    with SimServer(recording, KEY, SECRET, clock) as server:  # type: ignore[arg-type]
        monkeypatch.setenv("TRADING_ENVIRONMENT", "testnet")
        monkeypatch.setenv("COINCALL_BASE_URL", server.base_url)
        monkeypatch.setenv("COINCALL_API_KEY_TEST", KEY)
        monkeypatch.setenv("COINCALL_API_SECRET_TEST", SECRET)
        result = run_cli(capsys, "plan", MICRO, "--env-file", str(tmp_path / "x.env"),
                         "--format", "json")
    assert result.code == 0, result.err
    assert server.throttled == 0  # the venue's rate limits (section 7) were never tripped
    plan = result.json()
    assert plan["environment"] == "testnet"
    assert plan["seed"] is None
    assert plan["read_failures"] == []
    assert len(plan["legs"]) == 2
    assert recording.writes == []
    assert {"instruments", "option_chain", "account", "positions"} <= set(recording.calls)
    assert KEY not in result.out + result.err
    assert SECRET not in result.out + result.err


def test_at_is_refused_outside_paper(capsys, tmp_path, state_dir, monkeypatch) -> None:
    monkeypatch.setenv("TRADING_ENVIRONMENT", "testnet")
    monkeypatch.setenv("COINCALL_API_KEY_TEST", KEY)
    monkeypatch.setenv("COINCALL_API_SECRET_TEST", SECRET)
    result = run_cli(capsys, "plan", MICRO, "--at", AT, "--env-file", str(tmp_path / "x.env"))
    assert result.code == 2
    assert "--at only applies to paper" in result.err


def test_the_read_only_view_refuses_every_write_without_reaching_the_venue() -> None:
    from runner.exchange.read_only import WRITE_METHODS, ReadOnlyExchange, WriteRefused

    recording = RecordingExchange(SimVenue(ManualClock(NOW), seed=7))
    view = ReadOnlyExchange(recording)  # type: ignore[arg-type]
    for method in sorted(WRITE_METHODS):
        with pytest.raises(WriteRefused, match=method):
            getattr(view, method)("anything")
    assert recording.calls == []


AUTO = """\
version: 1
name: auto_route
description: a strangle routed by notional
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: QTY
  expiry: {next: true}
  call: {delta: 0.15}
  put: {delta: -0.15}
execution:
  open:
    mode: auto
    rfq: {mode: rfq, timeout: 2m}
    limit: {mode: limit, fill_timeout: 10s}
  close: {mode: limit}
exits:
  - max_hold: 1m
"""


@pytest.mark.parametrize(("qty", "route", "relation"), [("0.01", "limit", "<"),
                                                        ("0.5", "rfq", ">=")])
def test_auto_routes_by_strike_times_qty_against_the_rfq_minimum(plan_cli, tmp_path, qty,
                                                                 route, relation) -> None:
    """I4: the notional is strike x qty (not premium), and plan prints the route and why."""
    plan = plan_cli(_strategy(tmp_path, AUTO.replace("QTY", qty)), "--format", "json").json()
    structure = plan["structure"]
    notional = sum(Decimal(leg["strike"]) * Decimal(leg["qty"]) for leg in plan["legs"])
    assert Decimal(structure["notional_usd"]) == notional
    assert structure["route"] == route
    expected = f"notional {structure['notional_usd']} USD {relation} RFQ minimum 50000 USD"
    assert expected in structure["route_reason"]
    assert "not premium" in structure["route_reason"]


def test_cycles_of_an_earlier_run_do_not_use_up_the_cycles_of_a_run_launched_now() -> None:
    """A trade of yesterday's cycle 0 leaves today's cycle 0 free; today's daily count holds."""
    from runner.domain.orders import Side
    from runner.domain.trades import Trade, TradeLeg

    (spec,) = [s for s in load_strategies([Path(RFQ), STRATEGIES / "profiles.yaml"]).specs
               if s.name == "rfq_endurance"]
    yesterday = Trade.create("rfq-old", spec.name, (TradeLeg(0, "BTCUSD-3MAR26-90000-C",
                                                             Side.BUY, Decimal("0.5")),),
                             NOW - timedelta(days=1), cycle=0)
    launch = NOW - timedelta(minutes=2)  # inside cycle 0's open window [T+1m, T+6m)
    plan = make_plan(spec, SimVenue(ManualClock(NOW), seed=7), NOW, history=[yesterday],
                     history_source="test", launch=launch, calendar_days=1)
    checks = {c["name"]: c for c in plan.data["checks"]}
    assert checks["schedule"]["passed"]
    assert checks["trades_per_cycle"] == {"name": "trades_per_cycle", "passed": True,
                                          "detail": "0 of 1 trades in cycle 0"}
    assert plan.data["would_open"] is False  # yesterday's trade is still active
    assert not checks["max_concurrent_trades"]["passed"]


DELTA_GATED = """\
version: 1
name: delta_gated
description: one call, entered only while the account delta is small
enabled: true
underlying: BTC
legs:
  - {option: call, side: buy, qty: 0.01, strike: {delta: 0.3}, expiry: {next: true}}
entry:
  - max_account_delta: 0.5
timing: {max_trades_per_day: 1}
execution:
  open: {mode: limit}
  close: {mode: limit}
exits:
  - max_hold: 1m
"""


def test_an_account_delta_condition_is_planned_on_the_chain_delta_of_every_held_expiry(
        tmp_path: Path) -> None:
    """Issue 8 #8: a held position outside the strategy's expiries is priced from its own
    chain (chain delta x signed qty), so the condition is known, not blocked."""
    from runner.domain.instruments import OptionKind, Underlying
    from runner.domain.orders import OrderRequest, Side

    venue = SimVenue(ManualClock(NOW), seed=7)
    far = max(i.expiry for i in venue.instruments(Underlying.BTC))
    quote = next(q for q in venue.option_chain(Underlying.BTC, far)
                 if q.instrument.kind is OptionKind.CALL and q.ask is not None)
    venue.place_order(OrderRequest(quote.symbol, Side.BUY, Decimal("0.01"), quote.ask * 2, 9))
    spec = load_strategies([Path(_strategy(tmp_path, DELTA_GATED))]).specs[0]
    plan = make_plan(spec, venue, NOW, seed=7, calendar_days=5)
    (check,) = [c for c in plan.data["checks"] if c["name"] == "max_account_delta"]
    assert check["passed"], check["detail"]
    assert check["detail"].startswith("account delta +0.0")


def test_an_expiry_rule_no_listed_expiry_fits_is_the_reason_plan_gives(plan_cli,
                                                                       tmp_path) -> None:
    """Issue 7 item 10: plan gives the words the service logs once per window."""
    body = _fixed().replace("{next: true}", "{dte: 40, min_dte: 40, max_dte: 40}")
    result = plan_cli(_strategy(tmp_path, body))
    assert result.code == 1
    assert ("CANNOT RESOLVE: the legs cannot be resolved: leg 0: no listed BTC expiry fits "
            "dte 40" in result.out)
