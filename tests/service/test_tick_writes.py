"""A tick writes to the store only what changed (issue 12: most ticks of a working order
change nothing), and the store still holds every trade and execution as the service
knows them, so a kill at any of those ticks recovers exactly where it was (lessons A1)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.service.runtime import Runtime, assemble
from runner.service.settings import Environment, Settings
from runner.service.tracking import ExecutionBook
from runner.sim.venue import SimVenue
from runner.store import Store
from runner.strategy import load_strategies

REPO = Path(__file__).resolve().parents[2]
NOON_MONDAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the strangle's entry window opens
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN", "COMMIT")


def passive_strangle_runtime(tmp_path: Path) -> Runtime:
    """The example short strangle, opening with patient orders at fair value (they rest
    in the simulated book for a while: ticks in which nothing happens)."""
    files = [REPO / "strategies.d" / "examples" / "daily_short_strangle.yaml",
             REPO / "strategies.d" / "profiles.yaml"]
    specs = [replace(spec, enabled=True) for spec in load_strategies(files).specs]
    clock = ManualClock(NOON_MONDAY)
    settings = Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                        api_secret=None, log_dir=tmp_path / "logs", state_dir=tmp_path / "state")
    return assemble(settings, specs, clock=clock, exchange=SimVenue(clock, seed=3),
                    launch=NOON_MONDAY)


def what_the_service_holds(book: ExecutionBook) -> dict[str, object]:
    return {trade.trade_id: (trade, book.get(trade.trade_id)[1]
                             if trade.trade_id in book.working_trade_ids() else None)
            for trade in book.active_trades()}


def test_a_tick_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    runtime = passive_strangle_runtime(tmp_path)
    service, store, clock = runtime.service, runtime.store, runtime.clock
    assert isinstance(store, Store)
    assert isinstance(clock, ManualClock)
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    quiet_ticks = 0
    for _ in range(60):
        book_before = what_the_service_holds(service._book)
        ledger_before = store.all_orders()
        statements.clear()
        service.safe_tick()
        changed = (what_the_service_holds(service._book) != book_before
                   or store.all_orders() != ledger_before)
        writes = [s for s in statements if s.split()[0].upper() in WRITES]
        if book_before and service._book.working_trade_ids() and not changed:
            quiet_ticks += 1
            assert writes == [], f"a tick that changed nothing wrote {writes[:3]}"
        clock.advance(timedelta(seconds=1))
    assert quiet_ticks >= 20  # the open's orders rested in the book, being worked


def test_the_store_holds_what_the_service_holds_after_quiet_ticks(tmp_path: Path) -> None:
    """A kill after ticks that wrote nothing: the store, opened again, gives back every
    trade in flight and its execution exactly as the service held them."""
    runtime = passive_strangle_runtime(tmp_path)
    service, clock = runtime.service, runtime.clock
    assert isinstance(clock, ManualClock)
    for _ in range(25):
        service.safe_tick()
        clock.advance(timedelta(seconds=1))
    held = what_the_service_holds(service._book)
    assert held
    assert service._book.working_trade_ids()
    with Store.open(runtime.store.path, clock) as reopened:
        recovered = ExecutionBook(reopened)
        recovered.load(clock.now())
        assert what_the_service_holds(recovered) == held
