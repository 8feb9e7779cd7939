"""The dispatcher's bounds: orders per trade, live orders per symbol, and how long a missing
order or an unsent intent is given (lessons D2). Its own module so the order polling can
read them without importing the dispatcher that mixes the polling in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class DispatchLimits:
    max_orders_per_trade: int = 30
    max_live_orders_per_symbol: int = 4
    missing_grace: timedelta = timedelta(seconds=30)  # D2, pitfall 21
    intent_ttl: timedelta = timedelta(seconds=60)  # an unsent intent older than this expires
