"""Issue 11 item 4: what a tick works out once gives the decisions a plain scan gives.

Each shortcut is pinned against the computation it replaced, over generated markets:
- a strike ladder (the active options of one expiry and kind by strike, made once per
  chain) holds what a scan of the chain finds, and its deltas those the options carry;
- the closest strike found by bisection is the least (distance, strike) of a scan: ties
  to the lower strike, among equal strikes the first; a delta target, ATM, a spot distance
  and steps pick what the scan picked;
- an exit plan (the rules to evaluate, made once per list of rules) keeps the rules the
  per-call filter kept, for every kind of exit and both cadences, and the first exit is
  the first check of `exit_checks` that fires;
- a remembered expiry choice is the choice;
- a check whose words are written late reads as if written at once;
- a frozen value with its own (faster) __init__ takes every field, in order.
"""

from __future__ import annotations

import copy
import inspect
import random
from dataclasses import MISSING, FrozenInstanceError, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import Instrument, OptionKind, Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import Chain, Greeks, OptionQuote
from runner.engine.checks import CheckResult
from runner.engine.decide import Decision
from runner.engine.exits import (
    MARKET_RULES,
    exit_checks,
    exit_plan,
    first_exit,
)
from runner.engine.expiries import choose_expiry, choose_listed_expiry
from runner.engine.exposure import GreekReading
from runner.engine.pnl import TradePnl
from runner.engine.strikes import NoStrike, closest_index, pick_strike
from runner.strategy.model import (
    AccountDeltaExit,
    AtmStrike,
    BeforeExpiryExit,
    CycleExpiry,
    DateTimeExit,
    DaysWindowExpiry,
    DeltaStrike,
    Direction,
    DteExpiry,
    EndOfCycleExit,
    ExitRule,
    ExpiryCycle,
    FixedExpiry,
    Greek,
    IndexMoveExit,
    LegGreekExit,
    MaxHoldExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    NextExpiry,
    OffsetUnit,
    PriceBasis,
    ProfitTargetExit,
    RelativeStrike,
    SpotDistanceStrike,
    StepsFromAtmStrike,
    StructureDeltaExit,
    TimeOfDayExit,
)
from tests.builders import NOW, calendar, make_quote, make_spec, make_trade, snapshot_of

EXPIRY = datetime(2026, 3, 27, 8, tzinfo=UTC)


def _quote(symbol: str, kind: OptionKind, strike: Decimal, *, active: bool = True,
           delta: float | None = None) -> OptionQuote:
    instrument = Instrument(symbol, Underlying.BTC, kind, strike, EXPIRY, is_active=active)
    greeks = Greeks(delta, 0.0, 0.0, 0.0) if delta is not None else None
    return OptionQuote(instrument, Decimal(1), Decimal(1), Decimal(2), Decimal(1), Decimal("1.5"),
                       None, greeks, None, NOW)


def _chain(rng: random.Random) -> Chain:
    """Strikes on a coarse grid (so equal strikes and equal distances happen), some under
    two symbols, some inactive, some without greeks, deltas often equal."""
    quotes = []
    for n in range(rng.randint(1, 40)):
        kind = rng.choice(list(OptionKind))
        strike = Decimal(rng.randrange(80, 100) * 500)
        delta = None if rng.random() < 0.2 else rng.choice([0.1, 0.25, 0.3, 0.5, 0.75]) * (
            1 if kind is OptionKind.CALL else -1)
        quotes.append(_quote(f"Q{n}", kind, strike, active=rng.random() > 0.15, delta=delta))
    rng.shuffle(quotes)
    return Chain.of(Underlying.BTC, quotes)


def _scanned(chain: Chain, kind: OptionKind) -> tuple[OptionQuote, ...]:
    """The active options of one kind by ascending strike, as a full scan finds them."""
    return tuple(sorted((q for q in chain.quotes.values()
                         if q.instrument.kind is kind and q.instrument.is_active),
                        key=lambda q: q.instrument.strike))


def _scan_closest(quotes: tuple[OptionQuote, ...], target: Decimal) -> OptionQuote:
    return min(quotes, key=lambda q: (abs(q.instrument.strike - target), q.instrument.strike))


def _scan_delta(quotes: tuple[OptionQuote, ...], rule: DeltaStrike) -> OptionQuote | None:
    target = float(rule.target)
    scored = [(abs(q.delta - target), q.instrument.strike, q) for q in quotes
              if q.delta is not None]
    if not scored:
        return None
    distance, _, best = min(scored, key=lambda item: (item[0], item[1]))
    if rule.tolerance is not None and distance > float(rule.tolerance):
        return None
    return best


def _scan_steps(quotes: tuple[OptionQuote, ...], base: OptionQuote,
                steps: int) -> OptionQuote | None:
    position = quotes.index(base) + steps
    return quotes[position] if 0 <= position < len(quotes) else None


def _picked(found: OptionQuote | NoStrike) -> OptionQuote | None:
    return None if isinstance(found, NoStrike) else found


@pytest.mark.parametrize("seed", range(60))
def test_a_ladder_holds_the_active_options_by_strike_and_their_deltas(seed: int) -> None:
    chain = _chain(random.Random(seed))
    for kind in OptionKind:
        ladder = chain.ladder(EXPIRY, kind)
        assert ladder.quotes == _scanned(chain, kind)
        assert ladder.strikes == tuple(q.instrument.strike for q in ladder.quotes)
        carried = tuple(q for q in ladder.quotes if q.delta is not None)
        assert ladder.deltas() == (carried, tuple(q.delta for q in carried))
        assert chain.ladder(EXPIRY, kind) is ladder  # made once per chain
    assert chain.ladder(EXPIRY + timedelta(days=1), OptionKind.CALL).quotes == ()


@pytest.mark.parametrize("seed", range(60))
def test_every_strike_rule_picks_on_the_ladder_what_a_scan_picks(seed: int) -> None:
    rng = random.Random(seed)
    chain = _chain(rng)
    for kind in OptionKind:
        ladder = chain.ladder(EXPIRY, kind)
        quotes = _scanned(chain, kind)
        if not quotes:
            continue
        for _ in range(20):
            index = Decimal(rng.randrange(38_000 * 2, 52_000 * 2)) / 2  # on and off the grid
            atm = _scan_closest(quotes, index)
            assert pick_strike(AtmStrike(), ladder, index, {}) is atm
            distance = SpotDistanceStrike(Decimal(rng.randrange(-10, 11)), MoveUnit.PCT)
            moved = index * (1 + distance.distance / 100)
            assert pick_strike(distance, ladder, index, {}) is _scan_closest(quotes, moved)
            steps = rng.randrange(-6, 7)
            assert _picked(pick_strike(StepsFromAtmStrike(steps), ladder, index, {})) is (
                _scan_steps(quotes, atm, steps))
            relative = RelativeStrike(0, Decimal(steps), OffsetUnit.STEPS)
            assert _picked(pick_strike(relative, ladder, None, {0: index})) is _scan_steps(
                quotes, atm, steps)
            target = Decimal(rng.choice(["0.1", "0.2", "0.25", "0.4", "0.5", "0.9"]))
            tolerance = rng.choice([None, Decimal("0.01"), Decimal("0.1")])
            rule = DeltaStrike(target if kind is OptionKind.CALL else -target, tolerance)
            assert _picked(pick_strike(rule, ladder, index, {})) is _scan_delta(quotes, rule)


def test_the_closest_strike_ties_to_the_lower_and_among_equal_strikes_to_the_first() -> None:
    strikes = tuple(Decimal(s) for s in (100, 200, 200, 300, 300, 300))
    assert closest_index(strikes, Decimal(150)) == 0  # equally far: the lower strike
    assert closest_index(strikes, Decimal(151)) == 1  # the first of the two 200s
    assert closest_index(strikes, Decimal(250)) == 1
    assert closest_index(strikes, Decimal(260)) == 3
    assert closest_index(strikes, Decimal(999)) == 3  # past the top: the first 300
    assert closest_index(strikes, Decimal(-5)) == 0
    rng = random.Random(3)
    for _ in range(500):
        grid = tuple(sorted(Decimal(rng.randrange(0, 30) * 5) for _ in range(rng.randint(1, 12))))
        target = Decimal(rng.randrange(-20, 170))
        least = min(range(len(grid)), key=lambda i: (abs(grid[i] - target), grid[i]))
        assert closest_index(grid, target) == least


EVERY_EXIT: tuple[ExitRule, ...] = (
    ProfitTargetExit(Decimal(5), PriceBasis.EXECUTABLE), MaxLossPctExit(Decimal(3)),
    MaxLossUsdExit(Decimal(1), PriceBasis.MID), MaxHoldExit(timedelta(hours=1)),
    TimeOfDayExit(time(12)), DateTimeExit(NOW + timedelta(hours=2)), EndOfCycleExit(),
    AccountDeltaExit(Decimal("0.1")), StructureDeltaExit(Decimal("0.2")),
    LegGreekExit(0, Greek.DELTA, Direction.ABOVE, Decimal("0.3")),
    BeforeExpiryExit(timedelta(days=30)), IndexMoveExit(Decimal(1), MoveUnit.PCT),
)


@pytest.mark.parametrize("market", [True, False])
def test_an_exit_plan_keeps_the_rules_the_per_call_filter_kept_for_every_kind(
        market: bool) -> None:
    rng = random.Random(7)
    for _ in range(50):
        rules = tuple(rng.sample(EVERY_EXIT, rng.randint(0, len(EVERY_EXIT))))
        kept = [rule for rule in rules if market or not isinstance(rule, MARKET_RULES)]
        plan = exit_plan(rules, market=market)
        assert [rule for rule, _ in plan] == kept
        assert exit_plan(rules, market=market) is plan  # worked out once per list
        assert exit_plan(tuple(rules), market=market) == plan  # an equal list: equal plan
    assert {type(rule) for rule in EVERY_EXIT} == {type(rule) for rule, _ in
                                                    exit_plan(EVERY_EXIT)}


CALL = "BTCUSD-27MAR26-90000-C"


@pytest.mark.parametrize(("hours", "entry", "market"), [
    (0, 100, True), (3, 100, True), (3, 100, False), (0, 150, True), (0, 50, True),
    (30, 100, False), (400, 100, True)])
def test_the_first_exit_is_the_first_check_that_fires(hours: int, entry: int,
                                                      market: bool) -> None:
    now = NOW + timedelta(hours=hours)
    quote = make_quote(CALL, bid=80, ask=120, mark=110, delta=0.5)
    snapshot = replace(snapshot_of([quote], now=now), index_prices={Underlying.BTC: 88_000})
    trade = make_trade([(CALL, Side.BUY, 1, entry)], index_at_entry=87_000, cycle=0)
    rng = random.Random(hours * 31 + entry)
    for _ in range(30):
        spec = make_spec(exits=tuple(rng.sample(EVERY_EXIT, rng.randint(1, 6))))
        checks = list(exit_checks(spec, trade, NOW, snapshot, now, market=market))
        fired = next((c for c in checks if c.fired), None)
        found = first_exit(spec, trade, NOW, snapshot, now, market=market)
        assert (found is None) is (fired is None)
        if found is not None and fired is not None:
            assert (found.reason, found.detail, found.skipped) == (fired.reason, fired.detail,
                                                                  fired.skipped)


@pytest.mark.parametrize("rule", [
    NextExpiry(), DteExpiry(7, 3, 14), DteExpiry(1, 0, 2), DaysWindowExpiry(20, 60),
    CycleExpiry(ExpiryCycle.WEEKLY, 3), CycleExpiry(ExpiryCycle.MONTHLY),
    CycleExpiry(ExpiryCycle.QUARTERLY), FixedExpiry(date(2026, 3, 27)),
    FixedExpiry(date(2026, 3, 28))])
def test_a_remembered_expiry_choice_is_the_choice(rule) -> None:
    for hours in range(0, 24 * 40, 7):
        now = NOW + timedelta(hours=hours)
        listed = calendar(NOW)
        assert choose_listed_expiry(rule, listed, now) == choose_expiry(rule, listed, now)
        assert choose_listed_expiry(rule, (), now) is None


def test_a_check_worded_late_reads_compares_and_copies_as_one_worded_at_once() -> None:
    calls: list[int] = []

    def words() -> str:
        calls.append(1)
        return "3 of 5 trades today (UTC)"

    late = CheckResult("max_trades_per_day", True, words)
    assert calls == []  # nothing written until read
    written = CheckResult("max_trades_per_day", True, "3 of 5 trades today (UTC)")
    assert late.detail == written.detail
    assert late == written
    assert hash(late) == hash(written)
    assert repr(late) == repr(written) == ("CheckResult(name='max_trades_per_day', "
                                           "passed=True, detail='3 of 5 trades today (UTC)')")
    assert str(late) == "max_trades_per_day: pass (3 of 5 trades today (UTC))"
    assert copy.deepcopy(late).explain == written.detail  # copied (or pickled) worded
    assert late != CheckResult("max_trades_per_day", False, words)


@pytest.mark.parametrize("cls", [CheckResult, TradePnl, GreekReading, Decision])
def test_a_value_with_its_own_init_takes_every_field_in_order_and_stays_frozen(cls) -> None:
    """These frozen values write their own __init__ (checks.SET_FIELD): it must take each
    field, in order, with the field's default, and the value must stay frozen."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == [
        (f.name, inspect.Parameter.empty if f.default is MISSING else f.default)
        for f in fields(cls)]
    made = cls(*(f"value of {p.name}" for p in params))
    assert [getattr(made, f.name) for f in fields(cls)] == [f"value of {p.name}" for p in params]
    with pytest.raises(FrozenInstanceError):
        setattr(made, fields(cls)[0].name, "changed")
