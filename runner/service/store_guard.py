"""The service's check that the store still explains what the exchange holds (issue 7).

On the first tick whose positions could be read, and then every `CHECK_EVERY`, the
positions the store's trades hold (active trades, and failed closes still holding legs)
plus the positions declared external are compared with the exchange's
(`reconcile.truth.position_gaps`). A difference raises the concern `store.positions`,
which blocks every strategy's entries (exits go on) and says DECISION NEEDED with the
commands that explain it; it clears by itself at the next check once the difference is
gone (adopted, flattened, declared external, or closed on the exchange).

Deliberate choices:
- At the first check a difference is raised at once: a restart over a lost store must
  not open a second position one tick later. Later, a difference must be seen by two
  checks in a row, so a fill landing between two reads is never taken for a gap.
- A store that started blank (new or quarantined) blocks entries until one check has
  passed: until then nobody knows what the exchange holds. A brand-new store over a
  flat account passes that first check and trades at once.
- Every tick the store file's identity is checked: deleted or replaced while running,
  it is written back from the open connection (`store.file_watch`) and entries stay
  blocked (`store.missing`) until a restart; exits go on.
- A blank store also recounts today's trades per strategy from the exchange's fills
  (`reconcile.recount`) before the first entry: until that succeeded, entries stay
  blocked (`store.recount`), because the daily limits would start from zero.
- The verdict is also written into the store (`store_meta`), so `runner status` shows
  it while the service is stopped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from runner.domain.snapshot import Position
from runner.domain.trades import ZERO, Trade
from runner.reconcile.recount import recount_today
from runner.reconcile.truth import PositionGap, gaps_text, position_gaps
from runner.service.attention import Attention
from runner.store.meta import TRUTH_KEY

CHECK_EVERY: Final = timedelta(seconds=15)
POSITIONS_KEY: Final = "store.positions"
UNVERIFIED_KEY: Final = "store.unverified"
QUARANTINED_KEY: Final = "store.quarantined"
RECOUNT_KEY: Final = "store.recount"
MISSING_KEY: Final = "store.missing"

Listener = Callable[[str, dict[str, object]], None]


class StoreGuard:
    """Raises and clears the `store.` concerns about the store against the exchange."""

    def __init__(self, store: Any, attention: Attention, exchange: Any = None,
                 strategies: Iterable[str] = (), listener: Listener | None = None) -> None:
        self._store = store
        self._attention = attention
        self._exchange = exchange
        self._strategies = tuple(strategies)
        self._listener = listener or (lambda _kind, _data: None)
        self._recount_due = False
        self._origin: str | None = None
        self._checked_at: datetime | None = None
        self._pending: tuple[str, ...] = ()  # symbols of a gap seen once, not yet raised
        self._written: str | None = None

    def note_opening(self, created: bool, problem: str | None = None,
                     quarantined_to: object = None) -> None:
        """How the store was opened: a blank store blocks entries until one check passed."""
        if problem is not None:
            self._origin = f"was quarantined at start ({problem})"
            self._attention.report(
                QUARANTINED_KEY, f"the store was damaged and quarantined at start; the damaged"
                f" file was kept as {quarantined_to} ({problem})")
        elif created:
            self._origin = "started new"
        self._recount_due = self._origin is not None and self._exchange is not None
        if self._recount_due:
            self._recount(self._store.now())  # before the book loads; retried if it failed

    def check(self, positions: Iterable[Position] | None, book: Any, now: datetime) -> bool:
        """Compare at the cadence; `positions` None means they could not be read.

        `book` is the service's `tracking.ExecutionBook`: the trades, the symbols being
        worked, and the daily counts the recount feeds. True when a recount changed the
        counts (the caller derives the strategies' states again)."""
        self._watch_file(now)
        recounted = self._recount_due and self._recount(now)
        if recounted:
            book.load_recounts(now)
        self._compare(positions, book, now)
        return recounted

    def _compare(self, positions: Iterable[Position] | None, book: Any,
                 now: datetime) -> None:
        if positions is None:
            if self._origin is not None and self._checked_at is None:
                self._attention.report(
                    UNVERIFIED_KEY, f"the store {self._origin} and the exchange's positions"
                    " could not be read yet; no strategy opens anything until they are",
                    blocks_entries=True)
            return
        if self._checked_at is not None and now - self._checked_at < CHECK_EVERY:
            return
        first = self._checked_at is None
        self._checked_at = now
        external = self._store.external_positions()
        gaps = position_gaps(holdings(book.active_trades()), external, positions, now,
                             book.symbols_working(), failed=holdings(book.failed_holdings()))
        self._attention.clear(UNVERIFIED_KEY)
        self._judge(gaps, first)

    def _watch_file(self, now: datetime) -> None:
        """Every tick: a store file deleted or replaced is written back from the open
        connection at once, and entries stay blocked until a restart."""
        problem_of = getattr(self._store, "file_problem", None)
        problem = problem_of() if problem_of is not None else None
        if problem is None:
            return
        try:
            kept = self._store.write_back()
        except (OSError, sqlite3.Error) as error:
            self._attention.report(
                MISSING_KEY, f"DECISION NEEDED: {problem} (noticed {now:%H:%M:%S} UTC) and"
                f" could not be written back ({error}); retried every tick; exits go on from"
                " what the service holds; no strategy opens anything", blocks_entries=True)
            return
        aside = f"; the file found in its place was kept as {kept}" if kept else ""
        self._attention.report(
            MISSING_KEY, f"DECISION NEEDED: {problem} (noticed {now:%H:%M:%S} UTC); everything"
            f" the service held was written back to {self._store.path}{aside}. No strategy"
            " opens anything until the service is restarted: find what removed it, check"
            " `runner status`, then restart", blocks_entries=True)

    def _recount(self, now: datetime) -> bool:
        """Recount today's trades from the exchange's fills; True once stored."""
        try:
            result = recount_today(self._exchange, self._strategies, now)
        except Exception as error:  # never a crash or a failed tick: entries stay blocked
            self._attention.report(
                RECOUNT_KEY, f"the store {self._origin} and today's trades could not be"
                f" recounted from the exchange yet ({error}); no strategy opens anything"
                " until they are (the daily limits would start from zero)",
                blocks_entries=True)
            return False
        self._store.save_recounts(list(result.recounts))
        self._recount_due = False
        self._attention.clear(RECOUNT_KEY)
        for line in result.lines():
            self._listener("store_recount", {"text": line})
        return True

    def _judge(self, gaps: tuple[PositionGap, ...], first: bool) -> None:
        symbols = tuple(gap.symbol for gap in gaps)
        if not gaps:
            self._pending = ()
            self._attention.clear(POSITIONS_KEY)
            self._remember("")
            return
        if not first and not self._attention.is_open(POSITIONS_KEY) \
                and symbols != self._pending:
            self._pending = symbols  # seen once: confirm at the next check
            return
        text = gaps_text(gaps, self._origin)
        self._attention.report(POSITIONS_KEY, text, blocks_entries=True)
        self._remember(text)

    def _remember(self, text: str) -> None:
        if text == self._written:
            return
        try:
            self._store.set_meta(TRUTH_KEY, text)
            self._written = text
        except sqlite3.Error:  # the verdict for `status` must never stop a tick
            return


def holdings(trades: Iterable[Trade]) -> dict[str, Decimal]:
    """Signed quantity per symbol the trades still hold (long +, short -)."""
    held: dict[str, Decimal] = {}
    for trade in trades:
        for leg in trade.legs:
            if leg.open_qty > 0:
                held[leg.symbol] = held.get(leg.symbol, ZERO) + leg.open_qty * leg.side.sign
    return held
