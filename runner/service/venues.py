"""The one place a concrete venue is built: the composition root of the exchange.

`open_venue` picks, for the settings' environment, the simulated venue (paper: a new one,
optionally wrapped in injected faults, or the paper service's saved account) or the Coincall
REST client (testnet, production). The service start (`runtime`, `live`), the accelerated
simulation, `runner plan` and the operator's `runner trades` all get their venue here, so a
newcomer finds in one file which exchange each environment trades on. Faults only ever wrap
the simulator; the Coincall client's RFQ body memory lives in that environment's state
directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from loguru import logger

from runner.domain.clock import Clock
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.rfq_bodies import MEMORY_FILE as RFQ_BODY_MEMORY_FILE
from runner.exchange.port import Exchange
from runner.service.settings import ConfigError, Settings
from runner.sim.faults import FaultPlan
from runner.sim.faulty import FaultyExchange
from runner.sim.persistence import (
    PaperVenueSaver,
    open_paper_venue,
    paper_venue_path,
    read_state,
)
from runner.sim.venue import SimVenue

# new: a fresh simulated venue (simulations, `runner plan`); saved: the paper service's
# account, restored or started and saved after every write (`runner run`); existing: that
# account if it was saved, for an operator command (saved back after writes), or only read.
PaperAccount = Literal["new", "saved", "existing", "existing_read_only"]

WRITE_METHODS: Final = frozenset({"place_order", "cancel_order", "create_rfq", "accept_quote",
                                  "cancel_rfq"})


class PaperAccountUnreadable(Exception):
    """The saved paper account exists but cannot be restored; the message says where."""


@dataclass(frozen=True, slots=True)
class OpenedVenue:
    """A venue, what opening it found (lines a person reads), and whether that needs an alert."""

    exchange: Exchange
    lines: tuple[str, ...] = ()
    needs_alert: bool = False


def open_venue(settings: Settings, clock: Clock, *, seed: int = 0,
               faults: FaultPlan | None = None, paper: PaperAccount = "new") -> OpenedVenue:
    """The venue of the settings' environment: the simulator in paper, else Coincall."""
    if not settings.is_paper:
        return OpenedVenue(coincall_client(settings, clock))
    if paper == "new":
        venue = SimVenue(clock, seed=seed)
        return OpenedVenue(FaultyExchange(venue, faults, clock) if faults is not None
                           else venue)
    if paper == "saved":
        return _saved_paper_account(settings, clock, seed)
    return _existing_paper_account(settings, clock, read_only=paper == "existing_read_only")


def new_paper_venue(clock: Clock, seed: int = 0) -> SimVenue:
    """A new, empty simulated account (what a first `runner run` in paper starts with)."""
    return SimVenue(clock, seed=seed)


def paper_account_path(state_dir: Path) -> Path:
    """Where the paper service saves its simulated account."""
    return paper_venue_path(state_dir)


def saved_paper_copy(state_dir: Path, clock: Clock) -> SimVenue | None:
    """A copy of the paper account saved in `state_dir`, following `clock`; None when there
    is none. The copy is never saved: what is done to it stays in this process."""
    path = paper_venue_path(state_dir)
    if not path.exists():
        return None
    try:
        return SimVenue.from_state(clock, read_state(path))
    except Exception as error:  # any failure to restore is told, never a traceback
        raise PaperAccountUnreadable(f"the saved paper account {path} cannot be read "
                                     f"({error})") from None


def coincall_client(settings: Settings, clock: Clock, **options: Any) -> CoincallClient:
    """A client for the settings' environment; `ConfigError` for paper, which trades no venue."""
    if settings.base_url is None or settings.api_key is None or settings.api_secret is None:
        raise ConfigError(f"{settings.environment.value} does not trade on Coincall")
    options.setdefault("rfq_body_memory", settings.state_dir / RFQ_BODY_MEMORY_FILE)
    return CoincallClient(base_url=settings.base_url, api_key=settings.api_key,
                          api_secret=settings.api_secret, clock=clock, **options)


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


def _saved_paper_account(settings: Settings, clock: Clock, seed: int) -> OpenedVenue:
    opening = open_paper_venue(settings.state_dir, clock, seed)
    venue = SavedPaperVenue(opening.venue, PaperVenueSaver(opening.venue, opening.path))
    venue.save()  # the seed is fixed from the first start on
    return OpenedVenue(venue, tuple(opening.lines()), opening.needs_alert)  # type: ignore[arg-type]


def _existing_paper_account(settings: Settings, clock: Clock, *, read_only: bool) -> OpenedVenue:
    """The account the paper service saved; with none saved, a new empty one never saved."""
    path = paper_venue_path(settings.state_dir)
    if not path.exists():
        return OpenedVenue(SimVenue(clock), (f"paper: no saved paper account at {path}; this"
                                             " command sees a new, empty simulated account",))
    try:
        venue = SimVenue.from_state(clock, read_state(path))
    except Exception as error:  # any failure to restore is reported, never a crash
        raise PaperAccountUnreadable(f"the saved paper account {path} cannot be read ({error});"
                                     " the paper service quarantines it at its next start"
                                     ) from None
    if read_only:
        return OpenedVenue(venue, (f"paper: the simulated account saved in {path} (read-only)",))
    return _saved_paper_account(settings, clock, 0)
