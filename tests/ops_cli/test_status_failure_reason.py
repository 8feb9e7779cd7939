"""`runner status` says why a failed trade failed (issue 12 item 3): in its JSON, as the
trade's `failure_reason`, and in its text, where a finished trade shows its reason."""

from __future__ import annotations

from tests.ops_cli.helpers_ops_cli import AT, populate_store, run_cli

WHY = "no fill after 10 rounds: unwound"  # the failed trade populate_store writes


def test_status_json_carries_the_failure_reason_of_a_failed_trade(capsys, state_dir) -> None:
    populate_store(state_dir)
    result = run_cli(capsys, "status", "--at", AT, "--format", "json")
    assert result.code == 0, result.err
    finished = {t["trade_id"]: t for t in result.json()["recent_closed"]}
    assert finished["micro_strangle-2"]["failure_reason"] == WHY
    assert finished["micro_strangle-2"]["exit_reason"] == WHY
    assert finished["micro_strangle-1"]["failure_reason"] is None
    assert finished["micro_strangle-1"]["exit_reason"] == "max_hold"


def test_status_text_shows_why_a_trade_failed(capsys, state_dir) -> None:
    populate_store(state_dir)
    result = run_cli(capsys, "status", "--at", AT)
    assert result.code == 0, result.err
    (line,) = [line for line in result.out.splitlines() if "micro_strangle-2" in line]
    assert "FAILED" in line  # what needs a person is in capitals (runner.cli.status_render)
    assert WHY in line
