"""Issue 11 item 4: a tick's decisions share the chain's index and skip work nobody reads.

The chain is indexed by expiry once and each (expiry, kind) sorted once, whoever asks;
the trade's own legs are not resolved for `no_existing_position` while a gate already
blocks the entry (it then reports "not evaluated" and never passes); the words of an exit
that does not fire are never written, those of one that fires are unchanged.
"""

from __future__ import annotations

from datetime import timedelta

from runner.domain.instruments import OptionKind
from runner.domain.snapshot import Chain
from runner.engine import selection
from runner.engine.decide import new_trade
from runner.strategy.model import NoExistingPositionCondition, TimingSpec
from tests.builders import NOW, make_position, make_snapshot, make_spec
from tests.engine.helpers_engine import check, decide_at, state


def test_a_chain_answers_each_expiry_and_kind_by_ascending_strike_as_a_full_scan_would() -> None:
    chain = make_snapshot().chains[next(iter(make_snapshot().chains))]
    rebuilt = Chain.of(chain.underlying, reversed(list(chain.quotes.values())))
    for expiry in rebuilt.expiries(NOW - timedelta(days=1)):
        for kind in (None, OptionKind.CALL, OptionKind.PUT):
            scanned = sorted((q for q in rebuilt.quotes.values() if q.instrument.expiry == expiry
                              and (kind is None or q.instrument.kind is kind)),
                             key=lambda q: q.instrument.strike)
            assert rebuilt.at_expiry(expiry, kind) == tuple(scanned)
            assert rebuilt.at_expiry(expiry, kind) is rebuilt.at_expiry(expiry, kind)
    assert rebuilt == chain  # the index is not part of what a chain is


def test_no_existing_position_is_not_evaluated_while_a_gate_blocks_and_never_passes(
        monkeypatch) -> None:
    spec = make_spec(entry=[NoExistingPositionCondition()],
                     timing=TimingSpec(max_concurrent_trades=1))
    open_one = decide_at(spec)
    assert open_one.open is not None
    trade = new_trade(spec, open_one.open, "t-1", make_snapshot(), NOW)
    held = state(active_trades=(trade,))  # one trade in flight: the gate blocks
    resolved: list[object] = []
    real = selection.resolve_legs
    monkeypatch.setattr("runner.engine.decide.resolve_legs",
                        lambda *args: resolved.append(args) or real(*args))
    decision = decide_at(spec, strategy_state=held)
    result = check(decision, "no_existing_position")
    assert not result.passed
    assert "not evaluated: max_concurrent_trades already blocks" in result.detail
    assert resolved == []
    assert decision.blocked_by is not None
    assert decision.blocked_by.name == "max_concurrent_trades"


def test_no_existing_position_still_looks_at_its_own_legs_when_no_gate_blocks() -> None:
    spec = make_spec(entry=[NoExistingPositionCondition()])
    own = decide_at(spec).open.legs[0].symbol  # type: ignore[union-attr]
    held = decide_at(spec, snapshot=make_snapshot(positions=[make_position(own, "0.1")]))
    assert held.open is None
    assert own in check(held, "no_existing_position").detail
