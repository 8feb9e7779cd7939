"""Raw venue state for Coincall-only endpoints (served by the HTTP simulator), and the port's
exercise history built from the venue's exercise records.

Each accessor catches the simulation up and reads under the venue's lock, like the port
methods. Records are the venue's own (see `records.py`); callers must not mutate them.
They are what the venue holds: finished history older than its retention window is
forgotten (retention.py), as Coincall's history endpoints are windowed too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from runner.domain.exercise import Exercise
from runner.domain.instruments import Underlying
from runner.domain.rfq import Rfq
from runner.sim.accounting import Ledger, PositionState
from runner.sim.config import SimConfig
from runner.sim.makers import RfqDesk, SimRfq
from runner.sim.market import Market, epoch_second
from runner.sim.matching import Matcher
from runner.sim.quotes import OptionState
from runner.sim.records import ExerciseRecord, SimFill, SimOrder
from runner.sim.settlement import DeliveryPrice


@dataclass(frozen=True, slots=True)
class VenueRules:
    """Public trading rules of one underlying (Coincall's public config, per index)."""

    underlying: Underlying
    tick_size: Decimal
    min_qty: Decimal
    lot_size: Decimal
    taker_fee_rate: Decimal
    maker_fee_rate: Decimal
    max_open_orders: int


class SimRecords:
    """Mixed into SimVenue."""

    _lock: threading.RLock
    _config: SimConfig
    _market: Market
    _matcher: Matcher
    _desk: RfqDesk
    _ledger: Ledger
    _exercises: list[ExerciseRecord]
    _deliveries: list[DeliveryPrice]

    def _catch_up(self) -> datetime:
        raise NotImplementedError

    def order_records(self, since: datetime | None = None) -> list[SimOrder]:
        """Every order held (block trade legs included), oldest first: the working ones
        and those that ended within the retention window."""
        with self._lock:
            self._catch_up()
            return [o for o in self._matcher.orders.values()
                    if since is None or o.created_at >= since]

    def fill_records(self, since: datetime | None = None) -> list[SimFill]:
        """Every fill held (visible now), oldest first, with IV, mark and index at the fill:
        those of the orders held."""
        with self._lock:
            now = self._catch_up()
            return [f for f in self._matcher.fills if f.reported_at <= now
                    and (since is None or f.fill.at >= since)]

    def exercise_records(self, since: datetime | None = None) -> list[ExerciseRecord]:
        with self._lock:
            self._catch_up()
            return [e for e in self._exercises if since is None or e.at >= since]

    def exercises(self, since: datetime) -> list[Exercise]:
        """The port's exercise history (`Exchange.exercises`): each position settled since
        `since` with the exercise fee charged; net cash flow without the fee, as Coincall's."""
        return [Exercise(symbol=e.symbol, qty=e.qty, fee=e.fee, at=e.at,
                         settlement_price=e.settlement_price, strike=e.strike,
                         net_cash_flow=e.realized_pnl)
                for e in self.exercise_records(since)]

    def delivery_prices(self, underlying: Underlying) -> list[DeliveryPrice]:
        """Settlement prices of past expiries, newest first."""
        with self._lock:
            self._catch_up()
            return [d for d in reversed(self._deliveries) if d.underlying is underlying]

    def position_records(self) -> list[PositionState]:
        """Positions with realised PnL and fees per instrument."""
        with self._lock:
            self._catch_up()
            return list(self._ledger.positions.values())

    def rfq_records(self) -> list[SimRfq]:
        """Our requests with every quote they received."""
        with self._lock:
            self._catch_up()
            return list(self._desk.requests.values())

    def rfq_view(self, request_id: str) -> Rfq | None:
        """One request as the venue holds it, whatever the key may list (scenarios, tests
        and the sim-server's maker-key rfqList read this, never the runner)."""
        with self._lock:
            self._catch_up()
            request = self._desk.requests.get(request_id)
            return request.view() if request is not None else None

    def option_state(self, symbol: str) -> OptionState | None:
        """Mark, IV, greeks, index and book of one listed option now (option detail)."""
        with self._lock:
            now = self._catch_up()
            return self._market.state(symbol, epoch_second(now))

    def listed_at(self, symbol: str) -> datetime | None:
        """When an instrument was listed (Coincall's `startTimestamp`)."""
        with self._lock:
            return self._market.listed_at(symbol)

    def rules(self, underlying: Underlying) -> VenueRules:
        market = self._config.underlying(underlying)
        return VenueRules(underlying, market.tick, self._config.min_qty,
                          self._config.lot_size, self._config.taker_fee_rate,
                          self._config.maker_fee_rate, self._config.max_open_orders)

    def cash(self) -> Decimal:
        with self._lock:
            self._catch_up()
            return self._ledger.cash
