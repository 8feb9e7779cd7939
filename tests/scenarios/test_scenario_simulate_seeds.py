"""`runner simulate --seeds`: one book over many market paths, in parallel (issue 12 item 4).

Each seed's figures are those of the same simulation run alone; the runs are spread over
a process pool as wide as the machine; the spread printed per strategy is the median and
the 5th and 95th percentile of net PnL over the seeds.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.service.simulation import simulate
from runner.service.simulation_report import strategy_figures
from runner.service.simulation_seeds import parse_seeds, percentile
from tests.cli_helpers import run_cli
from tests.scenarios.helpers_scenarios import PROFILES, STRATEGIES, shipped

START = "2026-03-02T10:00:00Z"


@pytest.mark.parametrize(("text", "seeds"), [
    ("1-20", list(range(1, 21))), ("3,5,7", [3, 5, 7]), ("1-3,2,9", [1, 2, 3, 9]),
    ("0", [0]), (" 4 - 5 ", [4, 5])])
def test_seeds_are_written_as_ranges_and_lists(text: str, seeds: list[int]) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["a", "5-3", "-1", "1-", "1,,2"])
def test_a_seed_list_that_is_not_one_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 1-20"):
        parse_seeds(text)


def test_percentiles_interpolate_between_the_closest_ranks() -> None:
    values = [Decimal(v) for v in (5, 1, 4, 2, 3)]
    assert percentile(values, 50) == Decimal(3)
    assert percentile(values, 5) == Decimal("1.2")
    assert percentile(values, 95) == Decimal("4.8")
    assert percentile([Decimal(7)], 5) == Decimal(7)


def test_seeds_run_in_a_process_pool_and_each_gives_its_own_run(tmp_path, capsys) -> None:
    seeded = tmp_path / "seeds.json"
    result = run_cli(capsys, "simulate", str(STRATEGIES / "micro_strangle.yaml"), str(PROFILES),
                     "--duration", "2m", "--start", START, "--seeds", "2,3",
                     "--report", str(seeded))
    assert result.code == 0, result.err
    workers = min(2, os.cpu_count() or 1)
    assert f"simulating 2 market paths over 2m in {workers} processes" in result.out
    assert "seed 2: net PnL" in result.out
    assert "seed 3: net PnL" in result.out
    report = json.loads(seeded.read_text(encoding="utf-8"))
    assert [run["seed"] for run in report["seeds"]] == [2, 3]
    assert all(run["process"] != os.getpid() for run in report["seeds"])  # worker processes
    spec = shipped("micro_strangle")
    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    for run in report["seeds"]:
        alone = simulate(spec, start=start, duration=timedelta(minutes=2), seed=run["seed"])
        (figures,) = strategy_figures(alone.trades, alone.strategies)
        assert run["strategies"]["micro_strangle"] == {
            "net_pnl_usd": float(figures.net_pnl), "trades": figures.trades, "failed": 0}
        assert figures.trades > 0


def test_the_spread_per_strategy_is_median_and_5th_and_95th_percentile(tmp_path, capsys) -> None:
    """Its own run (tests may run in separate worker processes, so none reads another's)."""
    seeded = tmp_path / "seeds.json"
    result = run_cli(capsys, "simulate", str(STRATEGIES / "micro_strangle.yaml"), str(PROFILES),
                     "--duration", "2m", "--start", START, "--seeds", "2,3",
                     "--report", str(seeded))
    assert result.code == 0, result.err
    report = json.loads(seeded.read_text(encoding="utf-8"))
    (spread,) = report["spread"]
    pnls = sorted(Decimal(str(run["net_pnl_usd"])) for run in report["seeds"])
    assert spread["strategy"] == "micro_strangle"
    assert spread["runs"] == 2
    assert spread["net_pnl_usd"]["median"] == pytest.approx(float(sum(pnls) / 2))
    assert spread["net_pnl_usd"]["p5"] == pytest.approx(float(percentile(pnls, 5)))
    assert spread["net_pnl_usd"]["p95"] == pytest.approx(float(percentile(pnls, 95)))
    assert pnls[0] <= Decimal(str(spread["net_pnl_usd"]["p5"])) <= pnls[-1]


def test_a_bad_seed_list_is_a_usage_error(capsys) -> None:
    result = run_cli(capsys, "simulate", str(STRATEGIES / "micro_strangle.yaml"), str(PROFILES),
                     "--duration", "2m", "--seeds", "9-1")
    assert result.code == 2
    assert "--seeds '9-1'" in result.err
