"""The simulated account: cash, signed positions, average prices, PnL, fees and margin.

Invariants: cash changes only by premiums, fees and settlement cash flows; a position's
quantity is the signed sum of its fills; realised PnL is booked when a position is reduced
(gross of fees, which are kept separately, lessons E6).

Margin model (documented choice, simpler than Coincall's):
- equity = cash + sum(qty x mark) (shorts count negative);
- a long needs its premium (mark value) as initial margin and nothing more;
- a short needs, per coin, max(im_rate x index - OTM amount, im_floor x index) + mark as
  initial margin, and the same with the mm rates as maintenance margin;
- available margin = equity - initial margin - margin reserved by working orders.
Fees: rate x index x qty, capped at fee_cap x premium (taker 0.03 %, maker 0.02 % by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from runner.domain.instruments import Instrument, OptionKind
from runner.domain.orders import Side
from runner.sim.config import SimConfig

_FEE_PLACES: Final = Decimal("0.000001")
ZERO: Final = Decimal(0)


@dataclass(slots=True)
class PositionState:
    """One instrument's net position (qty signed: long > 0)."""

    instrument: Instrument
    qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class MarginFigures:
    equity: Decimal
    initial: Decimal
    maintenance: Decimal
    unrealized: Decimal


def trade_fee(config: SimConfig, *, index: Decimal, qty: Decimal, price: Decimal,
              is_taker: bool) -> Decimal:
    """Fee in USD for one fill: rate x index x qty, capped at fee_cap x premium."""
    rate = config.taker_fee_rate if is_taker else config.maker_fee_rate
    fee = min(rate * index * qty, config.fee_cap * price * qty)
    return fee.quantize(_FEE_PLACES)


def settlement_fee(config: SimConfig, *, index: Decimal, qty: Decimal,
                   intrinsic: Decimal) -> Decimal:
    """Exercise fee: rate x index x qty, capped at fee_cap x intrinsic value (0 when OTM)."""
    fee = min(config.settlement_fee_rate * index * qty, config.fee_cap * intrinsic * qty)
    return fee.quantize(_FEE_PLACES)


def otm_amount(instrument: Instrument, index: Decimal) -> Decimal:
    if instrument.kind is OptionKind.CALL:
        return max(ZERO, instrument.strike - index)
    return max(ZERO, index - instrument.strike)


def short_margin_per_coin(config: SimConfig, instrument: Instrument, index: Decimal,
                          mark: Decimal, *, maintenance: bool = False) -> Decimal:
    rate = config.short_mm_rate if maintenance else config.short_im_rate
    floor = config.short_mm_floor if maintenance else config.short_im_floor
    return max(rate * index - otm_amount(instrument, index), floor * index) + mark


class Ledger:
    """Cash and positions of the one simulated account."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self.cash = config.starting_cash
        self.fees_paid = ZERO
        self.realized_pnl = ZERO
        self.positions: dict[str, PositionState] = {}

    def position_qty(self, symbol: str) -> Decimal:
        state = self.positions.get(symbol)
        return state.qty if state else ZERO

    def apply_fill(self, instrument: Instrument, side: Side, qty: Decimal, price: Decimal,
                   fee: Decimal) -> Decimal:
        """Book one fill; return the realised PnL (gross) it produced."""
        self.cash -= side.sign * price * qty + fee
        self.fees_paid += fee
        state = self.positions.setdefault(instrument.symbol, PositionState(instrument))
        state.fees += fee
        realized = _trade_into(state, side.sign * qty, price)
        self.realized_pnl += realized
        if state.qty == 0:
            del self.positions[instrument.symbol]
        return realized

    def settle(self, symbol: str, settlement_price: Decimal, fee: Decimal) -> Decimal:
        """Close a position at its intrinsic value; return the net cash flow."""
        state = self.positions.pop(symbol)
        value = state.instrument.intrinsic_value(settlement_price)
        realized = (value - state.avg_price) * state.qty
        flow = value * state.qty - fee
        self.cash += flow
        self.fees_paid += fee
        self.realized_pnl += realized
        return flow

    def margin(self, marks: dict[str, Decimal], indices: dict[str, Decimal]) -> MarginFigures:
        """Equity and margins at the given marks and indices (keyed by symbol)."""
        value = initial = maintenance = unrealized = ZERO
        for symbol, state in self.positions.items():
            mark = marks[symbol]
            value += state.qty * mark
            unrealized += (mark - state.avg_price) * state.qty
            if state.qty > 0:
                initial += state.qty * mark
                continue
            index = indices[symbol]
            size = -state.qty
            initial += size * short_margin_per_coin(self._config, state.instrument, index, mark)
            maintenance += size * short_margin_per_coin(
                self._config, state.instrument, index, mark, maintenance=True)
        return MarginFigures(self.cash + value, initial, maintenance, unrealized)


def _trade_into(state: PositionState, signed_qty: Decimal, price: Decimal) -> Decimal:
    """Move a position by `signed_qty` at `price`; return realised PnL."""
    old = state.qty
    new = old + signed_qty
    if old == 0 or (old > 0) == (signed_qty > 0):
        state.avg_price = (state.avg_price * abs(old) + price * abs(signed_qty)) / abs(new)
        state.qty = new
        return ZERO
    closed = min(abs(old), abs(signed_qty))
    direction = Decimal(1) if old > 0 else Decimal(-1)
    realized = (price - state.avg_price) * closed * direction
    state.realized_pnl += realized
    state.qty = new
    if new == 0:
        state.avg_price = ZERO
    elif (new > 0) != (old > 0):
        state.avg_price = price  # flipped: the remainder opened at this price
    return realized
