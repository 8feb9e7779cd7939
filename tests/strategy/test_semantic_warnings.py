"""Semantic checks from the live history: A8, E2, B13, RFQ notional, lots, limits."""

from __future__ import annotations

from pathlib import Path

from .helpers_spec import MINIMAL, load_text, messages, with_lines


def test_a8_no_daily_limit_and_no_cooldown_is_warned(tmp_path: Path) -> None:
    """A8: a strategy re-opened right after a close; the validator warns."""
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:",
                                            "timing: {max_trades_per_day: unlimited}\nexits:"))
    assert messages(result) == [
        "timing: no daily trade limit and no cooldown: the strategy may re-open right after each "
        "close (lessons A8); set max_trades_per_day or a cooldown"]
    assert result.specs  # a warning does not invalidate


def test_e2_executable_stop_loss_on_short_dated_sells_is_warned(tmp_path: Path) -> None:
    """E2: executable-basis stop on a wide book fires right after opening."""
    text = with_lines(MINIMAL, "side: buy", "side: sell")
    text = with_lines(text, "  - max_hold: 10s", "  - max_loss: {pct: 100, basis: executable}")
    assert messages(load_text(tmp_path, text)) == [
        "exits[0]: an executable-price stop loss on short-dated sold options fires on wide "
        "spreads right after opening (lessons E2); use basis fair or mark"]


def test_b13_an_rfq_close_without_limit_fallback_is_an_error(tmp_path: Path) -> None:
    """B13: RFQ is never the only close path."""
    text = with_lines(MINIMAL, "qty: 0.01", "qty: 1")
    text = with_lines(text, "  open: {mode: limit}",
                      "  open: {mode: limit}\n  close: {mode: rfq, fallback: none}")
    result = load_text(tmp_path, text)
    assert messages(result) == ["execution.close: an RFQ close has no limit fallback (lessons "
                                "B13); set 'fallback: limit' so the trade can always be closed"]
    assert result.specs == ()


def test_an_rfq_that_cannot_reach_the_minimum_notional_is_warned(tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "  open: {mode: limit}", "  open: {mode: rfq}")
    assert messages(load_text(tmp_path, text)) == [
        "execution.open: the trade's notional stays below the RFQ minimum 50,000 USD (about "
        "2,400 USD even at a high BTC price); raise the quantity or use mode auto or limit"]


def test_a_quantity_off_the_lot_grid_is_an_error(tmp_path: Path) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "qty: 0.01", "qty: 0.015"))
    assert messages(result) == ["structure: quantity 0.015 is not a multiple of the lot 0.01; "
                                "round it to 0.01 steps"]


def test_a_structure_delta_limit_that_can_never_fire_is_warned(tmp_path: Path) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "  - max_hold: 10s",
                                            "  - structure_delta_limit: 0.5"))
    assert messages(result) == ["exits[0]: the structure's delta can never exceed 0.02 (its "
                                "total quantity); lower the limit"]


def test_a_time_exit_inside_the_entry_window_is_warned(tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "exits:\n  - max_hold: 10s",
                      'entry:\n  - time_window: {start: "12:00", end: "20:00"}\n'
                      'exits:\n  - time_of_day: "19:00"')
    assert messages(load_text(tmp_path, text)) == [
        "exits[0]: the exit time falls inside the entry time window; a trade opened just before "
        "it closes at once and one opened after it is held a day; move the exit or the window"]


def test_a_cycle_whose_open_window_outlasts_its_close_is_refused(tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "exits:\n  - max_hold: 10s",
                      "schedule: {type: cycles, first_open_after: 0s, open_window: 20m, "
                      "close_after: 10m, gap: 5m, count: 3}\nexits:\n  - end_of_cycle: true")
    assert messages(load_text(tmp_path, text)) == [
        "schedule.open_window: the open window lasts past the cycle's close; make open_window "
        "at most close_after"]


def test_a_per_trade_limit_below_any_plausible_notional_is_warned(tmp_path: Path) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "exits:",
                                            "risk: {max_notional_per_trade_usd: 100}\nexits:"))
    assert messages(result) == [
        "risk.max_notional_per_trade_usd: a trade's notional is at least about 1,200 USD, above "
        "this limit, so no trade would ever open; raise the limit or lower the quantity"]


def test_attempts_below_trades_are_warned(tmp_path: Path) -> None:
    """I3: attempts and trades are separate limits; attempts include trades."""
    text = with_lines(MINIMAL, "exits:", "timing: {max_trades_per_day: 3, "
                      "max_attempts_per_day: 2}\nexits:")
    assert messages(load_text(tmp_path, text)) == [
        "timing: max_attempts_per_day is below max_trades_per_day, so the trade limit can never "
        "be reached; raise max_attempts_per_day"]
