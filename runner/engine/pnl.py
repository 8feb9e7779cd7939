"""Prices per basis and the PnL of an open trade (lessons E1, E2, E3).

A leg's price on a basis (per coin, USD):
- mark: the exchange's mark;
- mid: (bid + ask) / 2, needs both sides;
- fair: the mark when it lies inside [bid, ask]; else the mid; one-sided books: the mark
  when it is on the right side of the one quote (>= bid, or <= ask), else that quote;
  no book at all: the mark;
- executable: what closing now would fetch: the bid for a long leg, the ask for a short.
Top of book comes from `snapshot.books[symbol]` when the tick fetched that book (fresher,
the executors' source), else from the chain quote; the mark always from the chain quote.

Trade PnL = sum over legs of sign x (price - entry price) x open qty (USD, gross of fees:
fees are reported beside it, never mixed into the thresholds); percentages are of
abs(entry cost), the premium paid or received (old-system b.2). Invariant: missing data
gives None, and a rule reading None is skipped, never fired (E1): a leg without a price on
the basis, a held leg without an entry price, or a zero entry cost for a percentage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from runner.domain.orders import Side
from runner.domain.snapshot import MarketSnapshot, Top
from runner.domain.trades import Trade
from runner.engine.checks import SET_FIELD
from runner.engine.figures import trade_figures
from runner.strategy.model import PriceBasis

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def fair_price(bid: Decimal | None, ask: Decimal | None, mark: Decimal | None) -> Decimal | None:
    """Mark if inside the book, else mid, with one-sided fallbacks (see module doc)."""
    if bid is not None and ask is not None:
        inside = mark is not None and bid <= mark <= ask
        return mark if inside else (bid + ask) / 2
    if bid is not None:
        return mark if mark is not None and mark >= bid else bid
    if ask is not None:
        return mark if mark is not None and mark <= ask else ask
    return mark


def top_of_book(snapshot: MarketSnapshot, symbol: str) -> Top:
    """(bid, ask, mark) of one instrument this tick; None for what is missing (the book
    first, see the module doc and MarketSnapshot.top_of_book)."""
    return snapshot.top_of_book(symbol)


def _mark(top: Top, _held: Side) -> Decimal | None:
    return top[2]


def _mid(top: Top, _held: Side) -> Decimal | None:
    bid, ask, _ = top
    return (bid + ask) / 2 if bid is not None and ask is not None else None


def _fair(top: Top, _held: Side) -> Decimal | None:
    return fair_price(*top)


def _executable(top: Top, held: Side) -> Decimal | None:
    return top[0] if held.sign > 0 else top[1]  # a long sells at the bid


# How each basis prices a leg from its (bid, ask, mark) and opening side: chosen once per
# trade, not matched per leg (a holding tick prices every held leg on several bases).
_PRICE_OF = {PriceBasis.MARK: _mark, PriceBasis.MID: _mid, PriceBasis.FAIR: _fair,
             PriceBasis.EXECUTABLE: _executable}


def _pricer(basis: PriceBasis) -> Callable[[Top, Side], Decimal | None]:
    found = _PRICE_OF.get(basis)
    if found is None:
        raise ValueError(f"unknown price basis {basis!r}")
    return found


def price_on_basis(snapshot: MarketSnapshot, symbol: str, held: Side,
                   basis: PriceBasis) -> Decimal | None:
    """A leg's price per coin on `basis`; `held` is the leg's opening side."""
    return _pricer(basis)(top_of_book(snapshot, symbol), held)


@dataclass(frozen=True, slots=True, init=False)
class TradePnl:
    basis: PriceBasis
    usd: Decimal  # gross, on the open quantity
    entry_cost: Decimal  # premium paid (+) or received (-)
    fees: Decimal  # fees paid so far (reported beside, not in `usd`)

    def __init__(self, basis: PriceBasis, usd: Decimal, entry_cost: Decimal,
                 fees: Decimal) -> None:  # its own: see checks.SET_FIELD
        SET_FIELD(self, "basis", basis)
        SET_FIELD(self, "usd", usd)
        SET_FIELD(self, "entry_cost", entry_cost)
        SET_FIELD(self, "fees", fees)

    @property
    def pct(self) -> Decimal | None:
        """PnL as a percentage of abs(entry cost); None when the entry cost is zero."""
        if self.entry_cost == 0:
            return None
        return self.usd / abs(self.entry_cost) * _HUNDRED

    def describe(self) -> str:
        pct = self.pct
        share = f" ({pct:+.2f} %)" if pct is not None else ""
        return f"{self.basis.value} PnL {self.usd:+.2f} USD{share}"


def trade_pnl(trade: Trade, snapshot: MarketSnapshot, basis: PriceBasis) -> TradePnl | None:
    """The trade's PnL on `basis`; None when any held leg lacks a price or an entry price."""
    price_of = _pricer(basis)
    figures = trade_figures(trade)  # open qty, sign, entry price: read once per trade
    total = _ZERO
    for leg in figures.legs:
        if leg.flat:
            total += _ZERO  # a flat leg adds nothing (kept as a sum, as it always was)
            continue
        entry = leg.entry
        if entry is None:
            return None
        price = price_of(snapshot.top_of_book(leg.symbol), leg.side)
        if price is None:
            return None
        total += leg.decimal_sign * (price - entry) * leg.held
    return TradePnl(basis, total, figures.entry_cost, figures.fees)
