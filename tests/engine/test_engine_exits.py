"""Exit rules: given an open trade, a market and a time, which rule closes it and why.

The documented book (as in the PnL tests): bid 80, ask 120, mark 110; the trade is long
one coin entered at 100. PnL: mark +10 %, mid 0 %, fair +10 %, executable -20 %.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import Greeks
from runner.domain.trades import TradeStage
from runner.engine.exits import exit_checks
from runner.engine.exposure import account_delta, structure_greek
from runner.strategy.model import (
    AccountDeltaExit,
    BeforeExpiryExit,
    DateTimeExit,
    Direction,
    ExitRule,
    Greek,
    IndexMoveExit,
    LegGreekExit,
    MaxHoldExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    PriceBasis,
    ProfitTargetExit,
    StructureDeltaExit,
    TimeOfDayExit,
)
from tests.builders import NOW, make_position, make_quote, make_spec, make_trade, snapshot_of
from tests.engine.helpers_engine import decide_at, state

CALL = "BTCUSD-27MAR26-90000-C"
PUT = "BTCUSD-27MAR26-80000-P"
SOON = "BTCUSD-3MAR26-90000-C"  # expires Tue 3 March 08:00 UTC
BOOK = make_quote(CALL, bid=80, ask=120, mark=110, delta=0.5)


def _closes(rules: tuple[ExitRule, ...], trade=None, *, now: datetime = NOW, market=None):
    trade = trade or make_trade([(CALL, Side.BUY, 1, 100)], created_at=NOW - timedelta(hours=1))
    market = market or snapshot_of([BOOK])
    decision = decide_at(make_spec(exits=rules), now, snapshot=market,
                         strategy_state=state(active_trades=(trade,)))
    return decision.closes


def _fires(rule: ExitRule, trade=None, *, now: datetime = NOW, market=None) -> bool:
    closes = _closes((rule,), trade, now=now, market=market)
    assert all(c.reason == rule.reason for c in closes)
    return bool(closes)


# -- PnL rules under each basis ----------------------------------------------------------------
@pytest.mark.parametrize(("basis", "fires"), [
    (PriceBasis.MARK, True), (PriceBasis.MID, False), (PriceBasis.FAIR, True),
    (PriceBasis.EXECUTABLE, False)])
def test_e1_a_10_pct_profit_target_fires_on_the_bases_that_show_10_pct(basis: PriceBasis,
                                                                     fires: bool) -> None:
    assert _fires(ProfitTargetExit(Decimal(10), basis)) is fires


@pytest.mark.parametrize(("basis", "fires"), [
    (PriceBasis.MARK, False), (PriceBasis.MID, False), (PriceBasis.FAIR, False),
    (PriceBasis.EXECUTABLE, True)])
def test_e1_a_20_pct_stop_fires_only_where_the_loss_reaches_20_pct(basis: PriceBasis,
                                                                 fires: bool) -> None:
    assert _fires(MaxLossPctExit(Decimal(20), basis)) is fires


@pytest.mark.parametrize(("basis", "fires"), [
    (PriceBasis.MARK, False), (PriceBasis.MID, False), (PriceBasis.FAIR, False),
    (PriceBasis.EXECUTABLE, True)])
def test_e1_a_20_usd_stop_fires_only_where_the_loss_reaches_20_usd(basis: PriceBasis,
                                                                 fires: bool) -> None:
    assert _fires(MaxLossUsdExit(Decimal(20), basis)) is fires


def test_the_close_detail_gives_the_basis_pnl_and_the_mark_pnl_beside_it() -> None:
    (close,) = _closes((MaxLossPctExit(Decimal(20), PriceBasis.EXECUTABLE),))
    assert close.reason == "max_loss"
    assert close.detail == ("executable PnL -20.00 USD (-20.00 %) vs stop -20 %; "
                            "mark PnL +10.00 USD (+10.00 %)")


def test_e3_each_rule_of_one_strategy_reads_its_own_price_basis() -> None:
    """E3: a take-profit on mid and a stop-loss on executable in the same strategy; on the
    documented book mid shows 0 % (the TP waits) while executable shows -20 % (the SL
    fires). Moving the TP to mark (+10 %) makes it fire first: each rule, its own basis."""
    take_on_mid = ProfitTargetExit(Decimal(10), PriceBasis.MID)
    stop_on_executable = MaxLossPctExit(Decimal(20), PriceBasis.EXECUTABLE)
    assert [c.reason for c in _closes((take_on_mid, stop_on_executable))] == ["max_loss"]
    take_on_mark = ProfitTargetExit(Decimal(10), PriceBasis.MARK)
    assert [c.reason for c in _closes((take_on_mark, stop_on_executable))] == [
        "profit_target"]


WIDE_PUT = make_quote(PUT, bid=20, ask=46, mark=33)


def test_e2_a_put_sold_at_mid_on_a_wide_book_is_not_stopped_at_once_on_fair() -> None:
    """E2: opened at mid 33 on bid 20 / ask 46: fair PnL 0 %, executable -39 %."""
    sold = make_trade([(PUT, Side.SELL, 1, 33)], created_at=NOW)
    market = snapshot_of([WIDE_PUT])
    assert MaxLossPctExit(Decimal(30)).basis is PriceBasis.FAIR  # the default
    assert not _fires(MaxLossPctExit(Decimal(30)), sold, market=market)
    assert _fires(MaxLossPctExit(Decimal(30), PriceBasis.EXECUTABLE), sold, market=market)


@pytest.mark.parametrize("rule", [
    ProfitTargetExit(Decimal(-1000), PriceBasis.EXECUTABLE),
    MaxLossPctExit(Decimal(-1000), PriceBasis.EXECUTABLE),
    MaxLossUsdExit(Decimal(-1000), PriceBasis.EXECUTABLE),
], ids=lambda r: type(r).__name__)
def test_e1_missing_data_skips_a_rule_that_would_otherwise_fire(rule: ExitRule) -> None:
    no_bid = snapshot_of([make_quote(CALL, bid=None, ask=120, mark=110)])
    assert not _fires(rule, market=no_bid)
    trade = make_trade([(CALL, Side.BUY, 1, 100)])
    (check,) = exit_checks(make_spec(exits=(rule,)), trade, NOW, no_bid, NOW)
    assert check.skipped
    assert check.detail == "skipped: a leg has no executable price this tick"


def test_a_skipped_rule_does_not_stop_a_later_rule_from_firing() -> None:
    no_bid = snapshot_of([make_quote(CALL, bid=None, ask=120, mark=110)])
    closes = _closes((ProfitTargetExit(Decimal(-1000), PriceBasis.EXECUTABLE),
                      MaxHoldExit(timedelta(minutes=30))), market=no_bid)
    assert [c.reason for c in closes] == ["max_hold"]


def test_e5_the_first_rule_that_fires_is_the_reason() -> None:
    closes = _closes((MaxHoldExit(timedelta(hours=2)), MaxLossPctExit(Decimal(20),
                     PriceBasis.EXECUTABLE), ProfitTargetExit(Decimal(10), PriceBasis.MARK)))
    assert [c.reason for c in closes] == ["max_loss"]


# -- time rules --------------------------------------------------------------------------------
@pytest.mark.parametrize(("held", "fires"), [(timedelta(seconds=9), False),
                                             (timedelta(seconds=10), True)])
def test_max_hold_counts_from_the_open(held: timedelta, fires: bool) -> None:
    trade = make_trade([(CALL, Side.BUY, 1, 100)], created_at=NOW - timedelta(minutes=5),
                       opened_at=NOW - held)
    assert _fires(MaxHoldExit(timedelta(seconds=10)), trade) is fires


def _opened_at(hour: int, minute: int = 0):
    moment = datetime(2026, 3, 2, hour, minute, tzinfo=UTC)
    return make_trade([(CALL, Side.BUY, 1, 100)], created_at=moment)


@pytest.mark.parametrize(("opened", "now", "fires"), [
    (18, datetime(2026, 3, 2, 18, 59, tzinfo=UTC), False),
    (18, datetime(2026, 3, 2, 19, 0, tzinfo=UTC), True),
    (20, datetime(2026, 3, 2, 20, 1, tzinfo=UTC), False),  # the old system closed at once
    (20, datetime(2026, 3, 3, 18, 59, tzinfo=UTC), False),
    (20, datetime(2026, 3, 3, 19, 0, tzinfo=UTC), True),  # the next day's 19:00
])
def test_a_time_of_day_exit_fires_at_the_first_such_time_after_the_open(
        opened: int, now: datetime, fires: bool) -> None:
    rule = TimeOfDayExit(time(19, 0, tzinfo=UTC))
    assert _fires(rule, _opened_at(opened), now=now) is fires


def test_a_date_time_exit_fires_from_its_moment() -> None:
    at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert not _fires(DateTimeExit(at), now=at - timedelta(seconds=1))
    assert _fires(DateTimeExit(at), now=at)


def test_before_expiry_fires_that_long_before_the_nearest_legs_0800_expiry() -> None:
    trade = make_trade([(CALL, Side.BUY, 1, 100), (SOON, Side.BUY, 1, 100)])
    market = snapshot_of([BOOK, make_quote(SOON, bid=80, ask=120, mark=110)])
    rule = BeforeExpiryExit(timedelta(hours=1))
    assert not _fires(rule, trade, now=datetime(2026, 3, 3, 6, 59, tzinfo=UTC), market=market)
    assert _fires(rule, trade, now=datetime(2026, 3, 3, 7, 0, tzinfo=UTC), market=market)


# -- index move -------------------------------------------------------------------------------
@pytest.mark.parametrize(("index", "rule", "fires"), [
    (87_999, IndexMoveExit(Decimal(1000), MoveUnit.USD), False),
    (88_000, IndexMoveExit(Decimal(1000), MoveUnit.USD), True),
    (86_000, IndexMoveExit(Decimal(1000), MoveUnit.USD), True),  # either direction
    (88_739, IndexMoveExit(Decimal(2), MoveUnit.PCT), False),
    (88_740, IndexMoveExit(Decimal(2), MoveUnit.PCT), True),  # 87,000 x 1.02
])
def test_e7_index_move_compares_with_the_index_at_entry(index: int, rule: IndexMoveExit,
                                                        fires: bool) -> None:
    trade = make_trade([(CALL, Side.BUY, 1, 100)], index_at_entry=87_000)
    market = snapshot_of([BOOK], index_prices={Underlying.BTC: index})
    assert _fires(rule, trade, market=market) is fires


def test_index_move_is_skipped_without_an_index_now_or_at_entry() -> None:
    rule = IndexMoveExit(Decimal(0), MoveUnit.USD)  # would fire on any reading
    recorded = make_trade([(CALL, Side.BUY, 1, 100)], index_at_entry=87_000)
    assert not _fires(rule, recorded, market=snapshot_of([BOOK], index_prices={}))
    assert not _fires(rule, make_trade([(CALL, Side.BUY, 1, 100)]))


# -- account and structure greeks (issue 8 #8: chain greeks x signed qty) -----------------------
def _calls(deltas) -> tuple[list, list]:
    """One 1-coin long call per chain delta, and the positions holding them."""
    symbols = [f"BTCUSD-27MAR26-{70000 + i * 1000}-C" for i in range(len(deltas))]
    quotes = [make_quote(s, bid=80, ask=120, mark=100, delta=d) for s, d in zip(symbols, deltas,
                                                                                 strict=True)]
    return quotes, [make_position(s, 1, delta=0.0) for s in symbols]


@pytest.mark.parametrize(("deltas", "fires"), [((0.3, 0.2), False), ((0.3, 0.21), True)])
def test_account_delta_limit_is_strict_on_the_chain_net_delta(deltas, fires: bool) -> None:
    quotes, positions = _calls(deltas)
    market = snapshot_of([BOOK, *quotes], positions=positions)
    assert _fires(AccountDeltaExit(Decimal("0.5")), market=market) is fires


def test_account_delta_limit_signs_a_short_position_by_its_quantity() -> None:
    quotes, _ = _calls((0.3,))
    short = make_position(quotes[0].symbol, -2, delta=0.6)  # unsigned report: ignored
    market = snapshot_of([BOOK, *quotes], positions=[short])  # -0.6
    assert _fires(AccountDeltaExit(Decimal("0.5")), market=market)


def test_account_delta_limit_is_skipped_when_positions_or_their_chain_deltas_are_missing() -> None:
    assert not _fires(AccountDeltaExit(Decimal(0)), market=snapshot_of([BOOK], positions=None))
    unquoted = [make_position("BTCUSD-27MAR26-70000-C", 1, delta=5.0)]
    assert not _fires(AccountDeltaExit(Decimal(0)), market=snapshot_of([BOOK], positions=unquoted))


OURS = make_trade([(CALL, Side.BUY, "0.1", 100)])


def _structure_delta(positions, quotes=(BOOK,)) -> str:
    value = structure_greek(OURS, snapshot_of(quotes, positions=positions))
    return "none" if value is None else f"{value:.4f}"


def test_structure_delta_is_the_chain_delta_times_our_signed_open_qty() -> None:
    assert _structure_delta([]) == "0.0500"  # 0.5 x 0.1
    assert _structure_delta(None) == "0.0500"  # positions not read: not needed


@pytest.mark.parametrize("position", [
    make_position(CALL, "0.4", delta=0.2),  # signed and scaled: 0.5 x 0.4
    make_position(CALL, "0.4", delta=0.5),  # per contract, not scaled
    make_position(CALL, "-0.3", delta=0.15),  # netted with someone's short, unsigned
    make_position(CALL, "0.4"),  # no greeks at all
])
def test_the_exchanges_position_greeks_never_change_the_structure_delta(position) -> None:
    assert _structure_delta([position]) == "0.0500"


def test_structure_delta_is_unknown_without_chain_greeks() -> None:
    no_greeks = (make_quote(CALL, bid=80, ask=120, mark=110),)
    assert _structure_delta([make_position(CALL, "0.1", delta=0.05)], quotes=no_greeks) == "none"


@pytest.mark.parametrize(("limit", "fires"), [("0.04", True), ("0.05", False)])
def test_structure_delta_limit_is_strict(limit: str, fires: bool) -> None:
    market = snapshot_of([BOOK], positions=[make_position(CALL, "0.4", delta=0.2)])
    assert _fires(StructureDeltaExit(Decimal(limit)), OURS, market=market) is fires


STRANGLE = make_trade([(CALL, Side.SELL, "0.1", 100), (PUT, Side.SELL, "0.1", 100)])
STRANGLE_CHAIN = (BOOK, make_quote(PUT, bid=80, ask=120, mark=100, delta=-0.2))


def test_structure_delta_of_a_short_strangle_is_the_signed_sum_of_chain_deltas() -> None:
    # short call: -0.5 x 0.1; short put: -(-0.2) x 0.1 -> -0.03
    assert structure_greek(STRANGLE, snapshot_of(STRANGLE_CHAIN)) == pytest.approx(-0.03)
    assert not _fires(StructureDeltaExit(Decimal("0.03")), STRANGLE,
                      market=snapshot_of(STRANGLE_CHAIN))
    assert _fires(StructureDeltaExit(Decimal("0.029")), STRANGLE,
                  market=snapshot_of(STRANGLE_CHAIN))


@pytest.mark.parametrize("reported", [
    (-0.05, 0.02),  # signed and scaled, as [CT] assumes: agrees
    (0.5, -0.2),  # per contract, unsigned: would read +0.3
    (5.0, 2.0),  # scaled by 10 and unsigned
])
def test_unsigned_or_unscaled_exchange_greeks_do_not_change_the_strangles_exit(reported) -> None:
    positions = [make_position(CALL, "-0.1", delta=reported[0]),
                 make_position(PUT, "-0.1", delta=reported[1])]
    market = snapshot_of(STRANGLE_CHAIN, positions=positions)
    (check,) = exit_checks(make_spec(exits=(StructureDeltaExit(Decimal("0.029")),)), STRANGLE,
                           NOW, market, NOW)
    assert check.fired
    assert check.detail.startswith("structure delta -0.0300 vs limit |delta| > 0.029")
    assert f"exchange position reports {sum(reported):+.6f} (not decided on)" in check.detail


SHORT_PUT = make_trade([(PUT, Side.SELL, "0.1", 100)])
PUT_QUOTE = make_quote(PUT, bid=80, ask=120, mark=100,
                       greeks=Greeks(delta=-0.3, gamma=0.0002, vega=50.0, theta=-40.0))


@pytest.mark.parametrize(("rule", "fires"), [
    # short 0.1 of a put with chain delta -0.3 -> +0.03
    (LegGreekExit(0, Greek.DELTA, Direction.ABOVE, Decimal("0.02")), True),
    (LegGreekExit(0, Greek.DELTA, Direction.ABOVE, Decimal("0.03")), False),  # strict
    (LegGreekExit(0, Greek.VEGA, Direction.BELOW, Decimal(-4)), True),  # 50 x -0.1 = -5
    (LegGreekExit(0, Greek.VEGA, Direction.BELOW, Decimal(-5)), False),
    (LegGreekExit(0, Greek.GAMMA, Direction.BELOW, Decimal("-0.00001")), True),  # -0.00002
])
def test_leg_greek_limit_reads_the_chain_greek_times_signed_qty(rule: LegGreekExit,
                                                                fires: bool) -> None:
    position = make_position(PUT, "-0.2", delta=-0.5, vega=9.0)  # never decided on
    for positions in ([position], [], None):
        market = snapshot_of([PUT_QUOTE], positions=positions)
        assert _fires(rule, SHORT_PUT, market=market) is fires


def test_leg_greek_limit_is_skipped_for_a_missing_leg_or_greek() -> None:
    no_greeks = snapshot_of([make_quote(PUT, bid=80, ask=120, mark=100)],
                            positions=[make_position(PUT, "-0.1", delta=0.03)])
    assert not _fires(LegGreekExit(0, Greek.DELTA, Direction.ABOVE, Decimal(-9)), SHORT_PUT,
                      market=no_greeks)
    assert not _fires(LegGreekExit(3, Greek.DELTA, Direction.ABOVE, Decimal(-9)), SHORT_PUT,
                      market=snapshot_of([PUT_QUOTE]))


# -- stages and expiry --------------------------------------------------------------------------
def test_only_open_trades_are_evaluated_for_exit_rules() -> None:
    for stage in (TradeStage.OPENING, TradeStage.PENDING_CLOSE, TradeStage.CLOSING):
        trade = make_trade([(CALL, Side.BUY, 1, 100)], stage=stage,
                           created_at=NOW - timedelta(hours=1))
        assert _closes((MaxHoldExit(timedelta(seconds=1)),), trade) == ()


def test_g1_a_trade_whose_leg_expired_settles_instead_of_closing() -> None:
    trade = make_trade([(SOON, Side.BUY, 1, 100)])
    expiry = datetime(2026, 3, 3, 8, tzinfo=UTC)
    rules = (MaxHoldExit(timedelta(seconds=1)),)  # would fire too: settlement comes first
    assert [c.settle_at_expiry for c in _closes(rules, trade, now=expiry - timedelta(seconds=1),
                                                market=snapshot_of([]))] == [False]
    (settle,) = _closes(rules, trade, now=expiry, market=snapshot_of([]))
    assert (settle.reason, settle.settle_at_expiry) == ("expiry", True)
    assert settle.detail == "a leg expired at 2026-03-03T08:00:00+00:00: settle"


@pytest.mark.parametrize(("stage", "settles"), [
    (TradeStage.OPEN, True), (TradeStage.PENDING_CLOSE, True), (TradeStage.CLOSING, True),
    (TradeStage.OPENING, False)])
def test_g1_settlement_applies_to_the_stages_that_may_move_to_closed(stage: TradeStage,
                                                                     settles: bool) -> None:
    trade = make_trade([(SOON, Side.BUY, 1, 100)], stage=stage)
    closes = _closes((), trade, now=datetime(2026, 3, 3, 9, tzinfo=UTC), market=snapshot_of([]))
    assert bool(closes) is settles


def test_the_account_delta_is_worked_out_once_per_snapshot_and_anew_for_the_next() -> None:
    """Every strategy with an account delta rule reads the same figure in one tick (issue
    11 item 4: worked out once); a snapshot of the next tick works it out again."""
    quotes, positions = _calls((0.3, 0.2))
    market = snapshot_of([BOOK, *quotes], positions=positions)
    first = account_delta(market)
    assert first is not None
    assert first.value == pytest.approx(0.5)
    assert account_delta(market) is first  # the same reading, not worked out again
    moved = replace(market, positions=(*positions, make_position(quotes[0].symbol, 1)))
    assert account_delta(moved).value == pytest.approx(0.8)  # a new snapshot, a new figure
    assert account_delta(market) is first
