"""Delivery prices published before the simulated venue started: a back-filled history.

Coincall publishes one settlement price per index per day, at 08:00 UTC, and serves every
one of them, newest first (docs/exchange-evidence.md section 7). A venue that begins "now"
would have none, so a runner holding a trade that expired just before the venue started
could never settle it. The venue therefore begins with the `BACKFILL_DAYS` daily 08:00
prices up to its start, on a plausible path: a geometric random walk at the index's
volatility, walked backwards day by day from the start price and rounded like the index.

Invariant: the history depends only on (seed, underlying, start, config); it is oldest
first, as the venue records settlements, and never contains a moment after the start.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from runner.domain.instruments import Underlying, expiry_at
from runner.sim.config import SimConfig
from runner.sim.settlement import DeliveryPrice

BACKFILL_DAYS: Final = 30
_DAYS_PER_YEAR: Final = 365.0
_PLACES: Final = Decimal("0.01")


def last_settlement_at_or_before(moment: datetime) -> datetime:
    """The most recent daily 08:00 UTC not after `moment`."""
    today = expiry_at(moment.date())
    return today if today <= moment else today - timedelta(days=1)


def backfilled_deliveries(config: SimConfig, seed: int, start: datetime,
                          days: int = BACKFILL_DAYS) -> list[DeliveryPrice]:
    """The `days` daily settlements up to `start` of every underlying, oldest first."""
    newest = last_settlement_at_or_before(start)
    found: list[DeliveryPrice] = []
    for underlying, market in config.underlyings.items():
        prices = _walk_back(float(market.start_price), market.annual_vol, days,
                            random.Random(f"{seed}:{underlying.value}:delivery-history"))
        found += [DeliveryPrice(underlying, newest - timedelta(days=back), price)
                  for back, price in enumerate(prices)]
    return sorted(found, key=lambda d: (d.expiry, _order(d.underlying)))


def with_history(history: list[DeliveryPrice],
                 recorded: list[DeliveryPrice]) -> list[DeliveryPrice]:
    """Recorded settlements on top of the back-filled history (a restored venue saved only
    its recent ones), oldest first, one per (underlying, moment), the recorded one winning."""
    merged = {(d.underlying, d.expiry): d for d in history}
    merged.update({(d.underlying, d.expiry): d for d in recorded})
    return sorted(merged.values(), key=lambda d: (d.expiry, _order(d.underlying)))


def _walk_back(start_price: float, annual_vol: float, days: int,
               stream: random.Random) -> list[Decimal]:
    """Prices 0, 1, ... days before the start (the first a few hours before it)."""
    daily = annual_vol * math.sqrt(1 / _DAYS_PER_YEAR)
    log_price = math.log(start_price)
    prices = []
    for _ in range(days):
        log_price -= daily * stream.gauss(0.0, 1.0) - daily * daily / 2
        prices.append(Decimal(repr(math.exp(log_price))).quantize(_PLACES))
    return prices


def _order(underlying: Underlying) -> int:
    return list(Underlying).index(underlying)
