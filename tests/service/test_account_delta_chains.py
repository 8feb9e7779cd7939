"""Account delta rules decide on chain delta x position qty (issue 8 #8), so the service
fetches the chain of every held expiry for a strategy that declares one, and only then."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderRequest, Side
from runner.engine.expiries import held_expiries
from runner.reconcile.external import declare_external
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

ENTRY = """
    enabled: true
    underlying: BTC
    legs:
      - {option: call, side: buy, qty: 0.01, expiry: {next: true}, strike: {delta: 0.3}}
    entry:
      - %s
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution: {open: {profile: aggressive_limit}, close: {profile: aggressive_limit}}
    exits:
      - max_hold: 2h
    """


def _hold_a_far_call(scenario: Scenario) -> str:
    """Buy 0.01 of a call in the furthest expiry, outside any strategy (a manual trade)."""
    venue = scenario.venue
    far = max(i.expiry for i in venue.instruments(Underlying.BTC))
    quotes = [q for q in venue.option_chain(Underlying.BTC, far)
              if q.instrument.kind is OptionKind.CALL and q.ask is not None and q.greeks]
    quote = min(quotes, key=lambda q: abs(q.greeks.delta - 0.5))  # type: ignore[union-attr]
    venue.place_order(OrderRequest(quote.symbol, Side.BUY, Decimal("0.01"), quote.ask * 2, 1))
    assert venue.positions()[0].symbol == quote.symbol
    return quote.symbol


def test_a_held_expiry_outside_the_strategies_is_fetched_for_an_account_delta_rule(
        tmp_path: Path) -> None:
    spec = strategy_from_yaml(tmp_path, "delta_gated", ENTRY % "max_account_delta: 0.5")
    scenario = Scenario.start(tmp_path, [spec])
    held = _hold_a_far_call(scenario)
    # The operator declares the manual trade someone else's, so the store explains it and
    # entries are not held back by the store check (issue 7 item 1).
    declare_external(scenario.runtime.store, scenario.venue, [held], scenario.now)
    scenario.tick()  # nothing seen yet: the first read learns what is held
    for _ in range(10):
        scenario.tick()
    snapshot = scenario.service.last_snapshot
    assert snapshot is not None
    assert snapshot.quote(held) is not None
    assert scenario.trades(), "the account delta became known, so the entry could pass"
    scenario.close()


def test_without_an_account_delta_rule_no_held_chain_is_read(tmp_path: Path) -> None:
    spec = strategy_from_yaml(tmp_path, "plain", ENTRY % "min_equity_usd: 1")
    scenario = Scenario.start(tmp_path, [spec])
    held = _hold_a_far_call(scenario)
    for _ in range(3):
        scenario.tick()
    snapshot = scenario.service.last_snapshot
    assert snapshot is not None
    assert snapshot.quote(held) is None
    scenario.close()


def test_held_expiries_skips_expired_and_foreign_symbols() -> None:
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    found = held_expiries(["BTCUSD-27MAR26-90000-C", "BTCUSD-2MAR26-90000-C", "BTCUSDT"], now)
    assert found == {(Underlying.BTC, datetime(2026, 3, 27, 8, tzinfo=UTC))}
