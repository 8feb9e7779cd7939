"""Configuration of the simulated Coincall venue: markets, fees, margin, RFQ makers.

Every number that shapes the simulation lives here with its default, so a test or a
scenario states what it changes. Defaults follow coincall-api.md where it says something
(tick 1 for BTC in 2026, 0.1 otherwise; lot and minimum 0.01; RFQ minimum ~50,000 USD of
strike x qty; RFQs live ~1 h and quotes ~5 min) and are plausible where it is silent
(fee rates, margin rates, spreads, depth sizes: documented at each field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from runner.domain.instruments import Underlying
from runner.sim.pricing import Smile


@dataclass(frozen=True, slots=True)
class UnderlyingConfig:
    """One underlying: its index walk, its smile, its instrument grid and book depth."""

    start_price: Decimal
    annual_vol: float  # volatility of the index random walk
    smile: Smile
    tick: Decimal
    # (max |strike / anchor - 1|, strike step): the grid widens away from the money
    strike_bands: tuple[tuple[float, Decimal], ...]
    level_size: Decimal  # typical size (coins) of one depth level
    size_step: Decimal = Decimal("0.01")


BTC_CONFIG = UnderlyingConfig(
    start_price=Decimal(87_000), annual_vol=0.50, smile=Smile(atm_vol=0.50),
    tick=Decimal(1),
    strike_bands=((0.05, Decimal(1000)), (0.15, Decimal(2000)), (0.35, Decimal(5000)),
                  (9.9, Decimal(10_000))),
    level_size=Decimal("1.5"),
)
ETH_CONFIG = UnderlyingConfig(
    start_price=Decimal(3000), annual_vol=0.65, smile=Smile(atm_vol=0.65),
    tick=Decimal("0.1"),
    strike_bands=((0.05, Decimal(25)), (0.15, Decimal(50)), (0.35, Decimal(100)),
                  (9.9, Decimal(200))),
    level_size=Decimal(20),
)


@dataclass(frozen=True, slots=True)
class MakerBehaviour:
    """How the simulated RFQ market makers answer (changeable at run time by controls).

    `book_offset_pct` None prices quotes around the mark with `spread_pct`; a number prices
    them against the book side we would trade on, better for us when positive
    (e.g. 2 = 2 % better than the book, -18 = 18 % worse, lessons B13/B14).
    """

    enabled: bool = True
    makers: int = 2
    min_delay_s: float = 2.0
    max_delay_s: float = 10.0
    spread_pct: Decimal = Decimal(3)
    book_offset_pct: Decimal | None = None
    quote_lifetime_s: int = 300


def _default_underlyings() -> Mapping[Underlying, UnderlyingConfig]:
    return MappingProxyType({Underlying.BTC: BTC_CONFIG, Underlying.ETH: ETH_CONFIG})


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything configurable about the venue."""

    underlyings: Mapping[Underlying, UnderlyingConfig] = field(
        default_factory=_default_underlyings)
    starting_cash: Decimal = Decimal(100_000)
    min_qty: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("0.01")
    # Fees: rate x index x qty, capped at fee_cap x premium (Coincall-like; maker cheaper).
    taker_fee_rate: Decimal = Decimal("0.0003")
    maker_fee_rate: Decimal = Decimal("0.0002")
    fee_cap: Decimal = Decimal("0.125")
    # Exercise fee: rate x index x qty, capped at fee_cap x intrinsic value (0 when OTM).
    settlement_fee_rate: Decimal = Decimal("0.00015")
    # Short option margin per coin: max(rate x index - OTM amount, floor x index) + mark.
    short_im_rate: Decimal = Decimal("0.15")
    short_im_floor: Decimal = Decimal("0.10")
    short_mm_rate: Decimal = Decimal("0.075")
    short_mm_floor: Decimal = Decimal("0.05")
    # Listing schedule: how many of each expiry kind are listed at any time.
    daily_expiries: int = 3
    weekly_expiries: int = 4
    monthly_expiries: int = 3
    quarterly_expiries: int = 2
    strike_range_sigmas: float = 4.0  # grid half-width in standard deviations of the expiry
    min_strike_range: float = 0.06
    max_strike_range: float = 0.8
    # Book: spread as a fraction of mark, widened for far OTM and short expiries.
    spread_fraction: float = 0.015
    depth_levels: int = 4
    block_seconds: int = 60  # index path: exact GBM per block, Brownian bridge inside it
    max_open_orders: int = 500
    # Order prices truncated down to this step whatever the listed tick (issue 8 finding 9:
    # the list said 0.1 while a live 9.50 rested at 9.00); None truncates to the listed tick.
    truncate_price_to: Decimal | None = None
    resting_check_s: int = 60  # across a catch-up gap, resting orders meet the market this often
    # RFQ
    rfq_min_notional: Decimal = Decimal(50_000)
    rfq_lifetime_s: int = 3600
    makers: MakerBehaviour = field(default_factory=MakerBehaviour)

    def underlying(self, underlying: Underlying) -> UnderlyingConfig:
        return self.underlyings[underlying]
