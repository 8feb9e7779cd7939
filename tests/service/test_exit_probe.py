"""The exit probe reads what the held trades' exit rules read, and nothing else (issue 12).

A simulation stepping by events looks at a held trade's market exits at each of its
checks through the probe: given a venue and a held strangle, the probe reads the two
legs' quotes (the very rows a tick's chain read holds), the index only for an
`index_move` exit, never the positions, and decides as the engine does on a tick's whole
snapshot.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.snapshot import MarketSnapshot, OptionQuote
from runner.engine.decide import exit_decisions
from runner.engine.state import StrategyState
from runner.service.exit_probe import ExitProbe
from runner.service.snapshots import MarketNeeds, SnapshotReader
from runner.sim.faults import FaultPlan
from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue
from runner.strategy.model import (
    ExitRule,
    IndexMoveExit,
    MaxLossPctExit,
    MoveUnit,
    PriceBasis,
    ProfitTargetExit,
    StrategySpec,
    StructureDeltaExit,
)
from tests.builders import make_spec, make_trade

START = datetime(2026, 3, 2, tzinfo=UTC)
CHECK = START + timedelta(hours=5, seconds=17)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def venue(clock: ManualClock) -> SimVenue:
    return SimVenue(clock, seed=3)


def _strangle(venue: SimVenue) -> tuple[datetime, tuple[str, str]]:
    """A call and a put of the second BTC expiry, a strike grid step off the money."""
    instruments = venue.instruments(Underlying.BTC)
    expiry = sorted({i.expiry for i in instruments})[1]
    calls = [i for i in instruments if i.expiry == expiry and i.kind is OptionKind.CALL
             and i.strike > Decimal(90_000)]
    puts = [i for i in instruments if i.expiry == expiry and i.kind is OptionKind.PUT
            and i.strike < Decimal(84_000)]
    return expiry, (calls[0].symbol, puts[-1].symbol)


def _views(venue: SimVenue, *exits: ExitRule) -> list[tuple[StrategySpec, StrategyState]]:
    _, (call, put) = _strangle(venue)
    trade = make_trade([(call, "sell", "0.1", "900"), (put, "sell", "0.1", "800")],
                       created_at=START, index_at_entry="87000")
    spec = make_spec(exits=exits)
    return [(spec, replace(StrategyState.fresh(START), active_trades=(trade,)))]


def _fields(quote: OptionQuote | None) -> tuple[object, ...] | None:
    if quote is None:
        return None
    return (quote.symbol, quote.bid, quote.bid_size, quote.ask, quote.ask_size, quote.mark,
            quote.mark_iv, quote.greeks, quote.underlying_price, quote.at)


def _tick_snapshot(venue: SimVenue, expiry: datetime) -> MarketSnapshot:
    """What a service tick reads for the trade: the legs' expiry chain, index, positions."""
    return SnapshotReader(venue).read(
        MarketNeeds(underlyings=frozenset({Underlying.BTC}),
                    chains=frozenset({(Underlying.BTC, expiry)})), CHECK)


def test_the_probe_reads_the_held_legs_only_as_the_chain_shows_them(
        venue: SimVenue, clock: ManualClock) -> None:
    views = _views(venue, ProfitTargetExit(Decimal(50)), StructureDeltaExit(Decimal("0.3")))
    expiry, legs = _strangle(venue)
    clock.set(CHECK)
    market = venue._market  # the count of options priced is the subject
    before = market.options_priced
    probed = ExitProbe(venue, clock).snapshot(views, CHECK)
    assert market.options_priced == before + 2  # the legs, not the expiry's strike grid
    assert set(probed.chains[Underlying.BTC].quotes) == set(legs)
    assert probed.positions is None
    assert dict(probed.index_prices) == {}  # no rule reads the index
    tick = _tick_snapshot(venue, expiry)
    assert len(tick.chains[Underlying.BTC].quotes) > 20
    for symbol in legs:
        assert _fields(probed.quote(symbol)) is not None
        assert _fields(probed.quote(symbol)) == _fields(tick.quote(symbol))
    assert market.options_priced == before + 2  # the tick's rows are the same states


def test_the_index_is_read_for_an_index_move_exit(venue: SimVenue, clock: ManualClock) -> None:
    views = _views(venue, IndexMoveExit(Decimal(1), MoveUnit.PCT))
    clock.set(CHECK)
    probed = ExitProbe(venue, clock).snapshot(views, CHECK)
    assert dict(probed.index_prices) == {Underlying.BTC: venue.index_price(Underlying.BTC)}


def test_a_venue_that_cannot_read_by_symbol_gives_the_same_legs_from_their_chains(
        venue: SimVenue, clock: ManualClock) -> None:
    views = _views(venue, ProfitTargetExit(Decimal(50)))
    _, legs = _strangle(venue)
    clock.set(CHECK)
    by_symbol = ExitProbe(venue, clock).snapshot(views, CHECK)
    by_chain = ExitProbe(FaultyExchange(venue, FaultPlan(), clock), clock).snapshot(views, CHECK)
    assert set(by_chain.chains[Underlying.BTC].quotes) == set(legs)
    for symbol in legs:
        assert _fields(by_chain.quote(symbol)) is not None
        assert _fields(by_chain.quote(symbol)) == _fields(by_symbol.quote(symbol))


@pytest.mark.parametrize("rules", [
    (ProfitTargetExit(Decimal(1)),),
    (ProfitTargetExit(Decimal(1), basis=PriceBasis.EXECUTABLE),),
    (MaxLossPctExit(Decimal(1)),),
    (MaxLossPctExit(Decimal(90)), ProfitTargetExit(Decimal(90))),
    (StructureDeltaExit(Decimal("0.001")),),
    (StructureDeltaExit(Decimal(5)),),
    (IndexMoveExit(Decimal("0.5"), MoveUnit.PCT),),
    (IndexMoveExit(Decimal(50), MoveUnit.PCT),),
], ids=["target_1", "target_1_executable", "stop_1", "far_apart", "delta_tight",
        "delta_loose", "index_half_pct", "index_50_pct"])
def test_the_probe_decides_as_the_engine_does_on_a_whole_tick_snapshot(
        venue: SimVenue, clock: ManualClock, rules: tuple[ExitRule, ...]) -> None:
    views = _views(venue, *rules)
    expiry, _ = _strangle(venue)
    probe = ExitProbe(venue, clock)
    fired = probe.fires(views, CHECK)
    [(spec, state)] = views
    assert fired == bool(exit_decisions(spec, state, _tick_snapshot(venue, expiry), CHECK))
