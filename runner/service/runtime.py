"""The composition root: settings -> exchange, store, dispatcher, service.

Only this module (and the CLI that calls it) chooses concrete adapters. `paper` uses the
in-process simulated exchange and needs no keys; `testnet` and `production` use the
Coincall REST adapter with that environment's keys, and production is announced loudly
(design decision 7). The same `Service` runs in every environment and in accelerated
simulation; only the clock and the exchange differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger

from runner.dispatch import Dispatcher
from runner.domain.clock import Clock
from runner.exchange.port import Exchange
from runner.reconcile import ReconcileReport, reconcile
from runner.reconcile.settlement import settlement_price_from
from runner.service.alerts import Alerter
from runner.service.loop import Listener, Service
from runner.service.settings import Environment, Settings
from runner.service.venues import coincall_client
from runner.sim.faults import FaultPlan
from runner.sim.faulty import FaultyExchange
from runner.sim.persistence import PaperVenueSaver, open_paper_venue
from runner.sim.venue import SimVenue
from runner.store.meta import ENVIRONMENT_KEY
from runner.store.recovery import StoreOpening, open_store
from runner.store.store import Store, default_store_path
from runner.strategy.model import StrategySpec

PRODUCTION_BANNER = "\n".join((
    "#" * 72,
    "#  PRODUCTION: REAL MONEY.",
    "#  Stop now (Ctrl+C) unless this is intended.",
    "#" * 72,
))
PRODUCTION_GRACE_SECONDS = 10.0  # after the banner, nothing is traded (`--yes` skips it)


def production_banner(base_url: str, key: str, grace_seconds: float) -> str:
    """The banner of a production start: where orders really go (the configured base
    URL), what the API key may do, and when trading starts."""
    starts = (f"Trading starts in {grace_seconds:g} s. Stop now (Ctrl+C) unless this is"
              " intended." if grace_seconds > 0 else "Trading starts now (--yes).")
    return "\n".join((
        "#" * 72,
        f"#  PRODUCTION: REAL MONEY. Orders go to {base_url}",
        f"#  API key: {key}",
        f"#  {starts}",
        "#" * 72,
    ))


def describe_key(info: Any) -> str:
    """What the exchange said about the key (`ApiKeyInfo`), in words; never the key."""
    if info is None:
        return "not checked (the exchange did not answer; reads will retry)"
    parts = ["read-only" if info.read_only else "may trade (not read-only)",
             "master account" if info.is_master else "sub-account"]
    if info.user_id is not None:
        parts.append(f"user {info.user_id}")
    return ", ".join(parts)


def build_exchange(settings: Settings, clock: Clock, *, seed: int = 0,
                   faults: FaultPlan | None = None) -> Exchange:
    """The venue for the settings' environment (faults only ever wrap the simulator)."""
    if settings.environment is Environment.PAPER:
        venue: Exchange = SimVenue(clock, seed=seed)
        return FaultyExchange(venue, faults, clock) if faults is not None else venue

    return coincall_client(settings, clock)


WRITE_METHODS = frozenset({"place_order", "cancel_order", "create_rfq", "accept_quote",
                           "cancel_rfq"})


class SavedPaperVenue:
    """The paper venue, saved to the state directory after every write (and every tick).

    Saving right after each write leaves no window in which a kill loses an order the
    store already knows about; reads pass straight through.
    """

    def __init__(self, venue: SimVenue, saver: PaperVenueSaver) -> None:
        self._saver = saver
        self._venue = venue

    def save(self) -> None:
        try:
            self._saver.save_if_changed()
        except OSError as error:
            logger.error("paper venue could not be saved to {}: {}", self._saver.path, error)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._venue, name)
        if name not in WRITE_METHODS:
            return target

        def write_then_save(*args: Any, **kwargs: Any) -> Any:
            try:
                return target(*args, **kwargs)
            finally:
                self.save()

        return write_then_save


def open_paper_exchange(settings: Settings, clock: Clock,
                        seed: int) -> tuple[SavedPaperVenue, list[str], bool]:
    """The persistent paper venue of the state directory: (venue, report lines, alert?)."""
    opening = open_paper_venue(settings.state_dir, clock, seed)
    venue = SavedPaperVenue(opening.venue, PaperVenueSaver(opening.venue, opening.path))
    venue.save()  # the seed is fixed from the first start on
    return venue, list(opening.lines()), opening.needs_alert


@dataclass(slots=True)
class Runtime:
    """Everything one run of the service is made of."""

    settings: Settings
    clock: Clock
    exchange: Exchange
    store: Store
    opening: StoreOpening
    dispatcher: Dispatcher
    service: Service
    reconciliation: ReconcileReport


def assemble(settings: Settings, specs: Sequence[StrategySpec], *, clock: Clock,
             exchange: Exchange, launch: datetime, store_path: Path | None = None,
             listener: Listener | None = None, alerter: Alerter | None = None) -> Runtime:
    """Open the store, reconcile it with the exchange, and build the service on top."""
    path = store_path or default_store_path(settings.state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    opening = open_store(path, clock)
    store = opening.store
    store.set_meta(ENVIRONMENT_KEY, settings.environment.value)  # one store per environment
    for spec in specs:
        store.note_strategy(spec.name)
    dispatcher = Dispatcher(exchange, store, clock)
    report = reconcile(store, exchange, clock.now(), settlement_price_from(exchange))
    service = Service(specs, exchange=exchange, store=store, dispatcher=dispatcher,
                      clock=clock, launch=launch, listener=listener, alerter=alerter)
    service.store_guard.note_opening(opening.created, opening.problem, opening.quarantined_to)
    service.resume(clock.now())
    return Runtime(settings, clock, exchange, store, opening, dispatcher, service, report)
