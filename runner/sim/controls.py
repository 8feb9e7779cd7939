"""Levers for tests and scenarios (not part of the exchange port).

Each control first brings the simulation up to the clock, then changes the world from
that moment on. They reproduce the live failures the runner must survive: a jump in the
index, a frozen (stale) feed (lessons C1), a book side with nothing on it (B1, B12),
makers that answer late, worse or not at all (B13, B14), fill reports that lag (B8), and
an account with little cash (10529).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.sim.accounting import Ledger
from runner.sim.config import MakerBehaviour
from runner.sim.makers import RfqDesk
from runner.sim.market import Market, epoch_second
from runner.sim.matching import Matcher


class VenueControls:
    """Mixed into SimVenue; relies on the venue's lock, clock and catch-up."""

    _lock: threading.RLock
    _market: Market
    _matcher: Matcher
    _desk: RfqDesk
    _ledger: Ledger
    _emptied: set[tuple[str, Side]]

    def _catch_up(self) -> datetime:
        raise NotImplementedError

    def set_index(self, underlying: Underlying, price: Decimal) -> None:
        """Jump the index to `price` now; the walk continues from there."""
        with self._lock:
            now = self._catch_up()
            self._market.paths[underlying].jump_to(epoch_second(now), float(price))
            self._after_market_change(now)

    def move_index(self, underlying: Underlying, percent: Decimal) -> Decimal:
        """Move the index by `percent` (e.g. -5) now; return the new index."""
        with self._lock:
            now = self._catch_up()
            second = epoch_second(now)
            path = self._market.paths[underlying]
            target = path.price(second) * (1.0 + float(percent) / 100.0)
            path.jump_to(second, target)
            self._after_market_change(now)
            return self._market.index(underlying, second)

    def freeze_prices(self, underlying: Underlying) -> None:
        """Stop the index and every quote of `underlying` changing (a stale feed)."""
        with self._lock:
            now = self._catch_up()
            self._market.paths[underlying].freeze(epoch_second(now))
            self._market.invalidate()

    def unfreeze_prices(self, underlying: Underlying) -> None:
        """Let the feed move again; it jumps to where the live market is now."""
        with self._lock:
            now = self._catch_up()
            self._market.paths[underlying].unfreeze(epoch_second(now))
            self._after_market_change(now)

    def empty_book_side(self, symbol: str, side: Side) -> None:
        """Remove every bid (side BUY) or ask (side SELL) of `symbol` until restored."""
        with self._lock:
            self._catch_up()
            self._emptied.add((symbol, side))
            self._market.set_emptied(frozenset(self._emptied))

    def restore_book_side(self, symbol: str, side: Side) -> None:
        with self._lock:
            now = self._catch_up()
            self._emptied.discard((symbol, side))
            self._market.set_emptied(frozenset(self._emptied))
            self._after_market_change(now)

    def set_maker_behaviour(self, behaviour: MakerBehaviour | None = None,
                            **changes: object) -> MakerBehaviour:
        """Replace the makers' behaviour, or change some of its fields; return it.

        `set_maker_behaviour(enabled=False)` silences them; `book_offset_pct=Decimal(-18)`
        makes quotes 18 % worse than the book.
        """
        with self._lock:
            self._catch_up()
            base = behaviour if behaviour is not None else self._desk.behaviour
            self._desk.behaviour = replace(base, **changes)  # type: ignore[arg-type]
            return self._desk.behaviour

    def delay_fill_reports(self, seconds: float) -> None:
        """Fills from now on become visible to order and fill queries `seconds` late."""
        with self._lock:
            self._catch_up()
            self._matcher.report_delay = timedelta(seconds=seconds)

    def set_cash(self, amount: Decimal) -> None:
        """Set the account's cash balance (equity follows)."""
        with self._lock:
            self._catch_up()
            self._ledger.cash = amount

    def _after_market_change(self, now: datetime) -> None:
        self._market.invalidate()
        self._match_now(now)

    def _match_now(self, now: datetime) -> None:
        raise NotImplementedError
