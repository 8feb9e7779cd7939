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

from runner.alerts import Alerter
from runner.config import Environment, Settings
from runner.dispatch import Dispatcher
from runner.domain.clock import Clock
from runner.exchange.port import Exchange
from runner.exchange.sim.faults import FaultPlan
from runner.exchange.sim.faulty import FaultyExchange
from runner.exchange.sim.venue import SimVenue
from runner.reconcile import ReconcileReport, reconcile
from runner.service import Listener, Service
from runner.spec.model import StrategySpec
from runner.store.recovery import StoreOpening, open_store
from runner.store.store import Store, default_store_path

PRODUCTION_BANNER = "\n".join((
    "#" * 72,
    "#  PRODUCTION: REAL MONEY. Orders go to api.coincall.com.",
    "#  Stop now (Ctrl+C) unless this is intended.",
    "#" * 72,
))


def build_exchange(settings: Settings, clock: Clock, *, seed: int = 0,
                   faults: FaultPlan | None = None) -> Exchange:
    """The venue for the settings' environment (faults only ever wrap the simulator)."""
    if settings.environment is Environment.PAPER:
        venue: Exchange = SimVenue(clock, seed=seed)
        return FaultyExchange(venue, faults, clock) if faults is not None else venue
    from runner.exchange.coincall.client import CoincallClient

    return CoincallClient.from_settings(settings, clock)


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
    for spec in specs:
        store.note_strategy(spec.name)
    dispatcher = Dispatcher(exchange, store, clock)
    report = reconcile(store, exchange, clock.now())
    service = Service(specs, exchange=exchange, store=store, dispatcher=dispatcher,
                      clock=clock, launch=launch, listener=listener, alerter=alerter)
    service.resume(clock.now())
    return Runtime(settings, clock, exchange, store, opening, dispatcher, service, report)
