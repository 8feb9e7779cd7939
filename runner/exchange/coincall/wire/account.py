"""Positions, account summary and API-key answers -> domain.

Positions carry an unsigned `qty` and the side in `tradeSide` (1 long, 2 short); the
domain's qty is signed (coincall-api.md 4, 6.3). Unrealised PnL prefers the mark-based
`upnlByMarkPrice` over `upnl` (last-trade based). The account summary reads the
top-level fields ([D26], live in [CT]) and falls back to the USDT entry of `accounts`
([D24] shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runner.domain.orders import Side
from runner.domain.snapshot import Account, Position
from runner.exchange.coincall import endpoints
from runner.exchange.coincall.wire.fields import Fields, items
from runner.exchange.coincall.wire.market import greeks


def positions(data: object) -> list[Position]:
    """Every non-zero position, with a signed quantity."""
    found = (_position(row) for row in items(data, endpoints.POSITIONS.name))
    return [position for position in found if position.qty != 0]


def _position(row: Fields) -> Position:
    qty = row.decimal("qty")
    signed = qty if row.trade_side() is Side.BUY else -qty
    pnl = row.optional_decimal("upnlByMarkPrice")
    if pnl is None:
        pnl = row.optional_decimal("upnl", Decimal(0)) or Decimal(0)
    return Position(
        symbol=row.text("symbol"),
        qty=signed,
        avg_price=row.optional_decimal("avgPrice", Decimal(0)) or Decimal(0),
        mark_price=row.price_or_none("markPrice"),
        unrealized_pnl=pnl,
        greeks=greeks(row),
    )


_TOP_LEVEL = ("equity", "availableMargin", "imAmount", "mmAmount")
_USDT_ENTRY = ("equityAmount", "availableBalance", "imAmount", "mmAmount")


def account(data: object) -> Account:
    """Equity and margins in USD from the account summary."""
    summary = Fields(data, endpoints.ACCOUNT_SUMMARY.name)
    if summary.has("equity"):
        return _account_from(summary, _TOP_LEVEL, "unrealizedPnL")
    return _account_from(_usdt_entry(summary), _USDT_ENTRY, "unrealizedAmount")


def _usdt_entry(summary: Fields) -> Fields:
    entries = list(summary.children("accounts")) if summary.has("accounts") else []
    for entry in entries:
        if entry.has("coin") and entry.text("coin").upper() == "USDT":
            return entry
    raise summary.bad("equity", "is missing and no USDT entry is in accounts")


def _account_from(fields: Fields, names: tuple[str, str, str, str], pnl_name: str) -> Account:
    equity, available, initial, maintenance = names
    return Account(
        equity=fields.decimal(equity),
        available_margin=fields.decimal(available),
        initial_margin=fields.optional_decimal(initial, Decimal(0)) or Decimal(0),
        maintenance_margin=fields.optional_decimal(maintenance, Decimal(0)) or Decimal(0),
        unrealized_pnl=fields.optional_decimal(pnl_name, Decimal(0)) or Decimal(0),
    )


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What the exchange says about the key in use (never the key itself)."""

    user_id: int | None
    read_only: bool
    is_master: bool


def api_key_info(data: object) -> ApiKeyInfo:
    info = Fields(data, endpoints.API_KEY_INFO.name)
    return ApiKeyInfo(user_id=info.optional_integer("userId"),
                      read_only=info.flag("readOnly") if info.has("readOnly") else True,
                      is_master=info.flag("isMaster"))
