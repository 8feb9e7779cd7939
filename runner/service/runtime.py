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

from runner.dispatch import Dispatcher
from runner.domain.clock import Clock
from runner.exchange.port import Exchange
from runner.reconcile import ReconcileReport, reconcile
from runner.reconcile.settlement import settlement_price_from
from runner.service.alerts import Alerter
from runner.service.loop import Listener, Service
from runner.service.settings import Settings
from runner.service.venues import SavedPaperVenue, open_venue
from runner.sim.faults import FaultPlan
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
    """A new venue for the settings' environment (faults only ever wrap the simulator)."""
    return open_venue(settings, clock, seed=seed, faults=faults).exchange


def open_paper_exchange(settings: Settings, clock: Clock,
                        seed: int) -> tuple[SavedPaperVenue, list[str], bool]:
    """The persistent paper venue of the state directory: (venue, report lines, alert?)."""
    opened = open_venue(settings, clock, seed=seed, paper="saved")
    return opened.exchange, list(opened.lines), opened.needs_alert  # type: ignore[return-value]


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
