"""Builders shared by the store, dispatch and reconcile tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.commands import OrderKey, OrderPurpose, PlaceOrder
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import Trade, TradeLeg
from runner.store import Store

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CALL = "BTCUSD-3MAR26-95000-C"
PUT = "BTCUSD-3MAR26-80000-P"


def make_trade(trade_id: str = "t1", strategy: str = "demo", at: datetime = START,
               legs: tuple[TradeLeg, ...] | None = None, **fields: object) -> Trade:
    legs = legs or (TradeLeg(0, CALL, Side.BUY, Decimal("0.5")),
                    TradeLeg(1, PUT, Side.BUY, Decimal("0.5")))
    return Trade.create(trade_id, strategy, legs, at, **fields)


def place(trade_id: str = "t1", leg: int = 0, purpose: OrderPurpose = OrderPurpose.OPEN,
          reason: str = "entry", attempt: int = 0, symbol: str = CALL, side: Side = Side.BUY,
          qty: str = "0.5", price: str = "100", reduce_only: bool = False) -> PlaceOrder:
    key = OrderKey(trade_id, leg, purpose, reason, attempt)
    request = OrderRequest(symbol=symbol, side=side, qty=Decimal(qty), price=Decimal(price),
                           client_order_id=key.client_order_id, reduce_only=reduce_only)
    return PlaceOrder(key, request)


def open_fresh(tmp_path: Path, clock: ManualClock, name: str = "runner.sqlite3") -> Store:
    return Store.open(tmp_path / "state" / name, clock)


def later(clock: ManualClock, seconds: float) -> datetime:
    return clock.advance(timedelta(seconds=seconds))
