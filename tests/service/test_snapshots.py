"""One snapshot per tick: what is read, once, and how a failed read shows (lessons C2, C5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.service.snapshots import MarketNeeds, SnapshotReader
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def needs_for_next_expiry(reader: SnapshotReader) -> MarketNeeds:
    expiry = reader.listed_expiries(Underlying.BTC, START)[0]
    return MarketNeeds(underlyings=frozenset({Underlying.BTC}),
                       chains=frozenset({(Underlying.BTC, expiry)}))


def test_a_snapshot_holds_the_index_the_requested_chain_the_account_and_positions() -> None:
    reader = SnapshotReader(SimVenue(ManualClock(START), seed=1))
    snapshot = reader.read(needs_for_next_expiry(reader), START)
    assert snapshot.failures == ()
    assert snapshot.index_price(Underlying.BTC) is not None
    chain = snapshot.chains[Underlying.BTC]
    assert len(chain.quotes) > 10
    assert len(chain.expiries(START)) == 1  # only what was asked for
    assert snapshot.account is not None
    assert snapshot.account.equity > 0
    assert snapshot.positions == ()
    assert snapshot.open_orders == ()


def test_reads_are_made_once_per_need_however_many_strategies_share_it() -> None:
    reader = SnapshotReader(SimVenue(ManualClock(START), seed=1))
    needs = needs_for_next_expiry(reader)
    many = needs
    for _ in range(50):
        many = many.merged(needs)
    reader.counter.by_method.clear()
    reader.read(many, START)
    assert reader.counter.by_method == {"index": 1, "chain": 1, "account": 1, "positions": 1,
                                        "open": 1}


def test_a_failed_positions_read_is_none_never_an_empty_portfolio() -> None:
    """C5: the positions endpoint answers 500; the snapshot says 'not read', not 'flat'."""
    clock = ManualClock(START)
    plan = FaultPlan.of(FaultRule(endpoint="positions", kind=FaultKind.HTTP_5XX))
    reader = SnapshotReader(FaultyExchange(SimVenue(clock, seed=1), plan, clock))
    snapshot = reader.read(needs_for_next_expiry(reader), START)
    assert snapshot.positions is None
    assert any(failure.startswith("positions") for failure in snapshot.failures)
    assert snapshot.account is not None


def test_a_failed_index_read_leaves_the_price_absent_never_a_constant() -> None:
    """C2: with no price the runner refuses price rules; it never substitutes a constant."""
    clock = ManualClock(START)
    plan = FaultPlan.of(FaultRule(endpoint="index_price", kind=FaultKind.HTTP_5XX))
    reader = SnapshotReader(FaultyExchange(SimVenue(clock, seed=1), plan, clock))
    snapshot = reader.read(needs_for_next_expiry(reader), START)
    assert snapshot.index_price(Underlying.BTC) is None


# -- the narrow second read of a tick (a close decided on a snapshot without its legs) ---
def test_chains_added_for_a_close_are_read_once_a_moment_beside_those_read() -> None:
    reader = SnapshotReader(SimVenue(ManualClock(START), seed=1))
    first, second = reader.listed_expiries(Underlying.BTC, START)[:2]
    snapshot = reader.read(needs_for_next_expiry(reader), START)
    reader.counter.by_method.clear()
    wanted = {(Underlying.BTC, second)}
    added = reader.with_chains(snapshot, wanted)
    again = reader.with_chains(snapshot, wanted)  # a second close needing the same legs
    assert reader.counter.by_method == {"chain": 1}
    for view in (added, again):
        assert view.chains[Underlying.BTC].expiries(START) == (first, second)
    assert snapshot.chains[Underlying.BTC].expiries(START) == (first,)  # left as it was


def test_a_failed_added_chain_is_listed_and_left_absent() -> None:
    """C2, C5: the close then waits for a tick that prices its legs; nothing is made up."""
    clock = ManualClock(START)
    plan = FaultPlan.of()
    reader = SnapshotReader(FaultyExchange(SimVenue(clock, seed=1), plan, clock))
    expiry = reader.listed_expiries(Underlying.BTC, START)[0]
    snapshot = reader.read(MarketNeeds(account=False, positions=False, open_orders=False),
                           START)
    plan.add(FaultRule(endpoint="option_chain", kind=FaultKind.HTTP_5XX))
    added = reader.with_chains(snapshot, {(Underlying.BTC, expiry)})
    assert Underlying.BTC not in added.chains
    assert any(failure.startswith("chain BTC") for failure in added.failures)


def test_listed_expiries_follow_the_instrument_list_through_a_roll_and_the_clock() -> None:
    """The expiries are worked out again only for a new list; each answer is what the
    list read at that moment says (the plain computation over it)."""
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    reader = SnapshotReader(venue)

    def plain(now: datetime) -> tuple[datetime, ...]:
        return tuple(sorted({i.expiry for i in venue.instruments(Underlying.BTC)
                             if i.expiry > now}))

    for hours in (0, 1, 7, 8, 9, 31, 32, 33, 24 * 6):  # 08:00 UTC rolls the listing
        now = START + timedelta(hours=hours)
        clock.set(now)
        assert reader.listed_expiries(Underlying.BTC, now) == plain(now)
        later = now + timedelta(hours=8, minutes=30)  # same list, a later moment
        assert reader.listed_expiries(Underlying.BTC, later) == plain(later)
