"""The simulated venue's account as data: export it, restore it, and know when it changed.

Owns what a paper venue must remember across a restart (the file itself is
`persistence.py`'s): cash, fees and realised PnL; positions with average prices; orders
(every working one, and the others of the retention window) with their fills; every
client order id ever used (Coincall refuses reuse, 10577); the order, fill, RFQ, quote
and block trade counters; RFQs and block trades, exercises and delivery prices of the
window; the controls applied to the market; the seed, the start and the venue's time.

Invariant: a venue restored from `export_state()` answers every port method (and every
record accessor) as the exported one did, for everything inside the retention window.
The market is not saved: it is a pure function of (seed, start, config, controls, time),
so the restore rebuilds it by listing from the original start and rolling through every
08:00 UTC up to the saved time (about a second per year of paper trading). Restored at a
later clock time, the venue simply catches up as it does after any quiet gap: resting
orders meet the market on the 60 s grid of the gap, expiries that passed are settled at
their 08:00 and the index path continues where the same seed takes it.

Deliberate choices: orders and fills older than the window (default 7 days) and not
working are dropped, so the file and the restored venue stay bounded (the running venue
forgets them too, retention.py); their client order ids are kept (still refused; a
forgotten order's is saved beside order id `FORGOTTEN_ORDER`), but `get_order` no longer
finds them. The version counter is derived from a cheap marker of everything a call can
change (counts of orders, fills, working orders, requests and quotes, records forgotten,
cash, fees, settlements, controls),
so a saver writes only after something happened, not on every tick; time passing alone
is not a change, because catching up from the saved time reproduces it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Final

from runner.domain.clock import Clock
from runner.domain.instruments import Instrument, Underlying, parse_symbol
from runner.domain.orders import Side
from runner.domain.rfq import RfqState
from runner.sim import state_codec as codec
from runner.sim.accounting import Ledger
from runner.sim.config import MakerBehaviour, SimConfig
from runner.sim.delivery_history import with_history
from runner.sim.id_set import CompactIdSet
from runner.sim.index import PathControls
from runner.sim.listing import expiry_boundaries
from runner.sim.makers import RfqDesk
from runner.sim.market import Market
from runner.sim.matching import Matcher
from runner.sim.records import ExerciseRecord, SimFill
from runner.sim.settlement import DeliveryPrice

FORMAT: Final = "runner.paper-venue"
FORMAT_VERSION: Final = 1
DEFAULT_RETENTION: Final = timedelta(days=7)
FORGOTTEN_ORDER: Final = 0  # the order id saved beside the client id of a forgotten order

Json = dict[str, Any]


class VenueStateError(ValueError):
    """The saved state is not a venue this runner can restore (damaged or foreign)."""


class VenueStateTooNew(Exception):
    """The saved state was written by a newer runner: upgrade; the file is not damaged."""


def config_fingerprint(config: SimConfig) -> str:
    """A short digest of the simulator configuration the market is rebuilt from."""
    return hashlib.sha256(repr(config).encode()).hexdigest()[:16]


def saved_origin(state: Json) -> tuple[datetime, int]:
    """(start, seed) of a saved venue, after checking that it is one."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise VenueStateError("not a saved paper venue")
    version = state.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise VenueStateError(f"unknown format version {version!r}")
    if version > FORMAT_VERSION:
        raise VenueStateTooNew(f"the paper venue file has format {version}, this runner "
                               f"reads up to {FORMAT_VERSION}: upgrade the runner")
    try:
        return codec.to_when(state["started_at"]), int(state["seed"])
    except (KeyError, TypeError, ValueError) as error:
        raise VenueStateError(f"start or seed unreadable: {error}") from error


class VenueState:
    """Mixed into SimVenue: export, restore and the change counter."""

    _lock: threading.RLock
    _clock: Clock
    _config: SimConfig
    _seed: int
    _now: datetime
    started_at: datetime
    _market: Market
    _ledger: Ledger
    _matcher: Matcher
    _desk: RfqDesk
    _emptied: set[tuple[str, Side]]
    _exercises: list[ExerciseRecord]
    _deliveries: list[DeliveryPrice]
    forgotten: int = 0  # records the venue forgot (retention.py): part of the change marker
    _version: int = 0
    _marker: tuple[object, ...] | None = None

    def _catch_up(self) -> datetime:
        raise NotImplementedError

    @property
    def seed(self) -> int:
        return self._seed

    def state_version(self) -> int:
        """A number that grows whenever the saved state would differ (after catching up)."""
        with self._lock:
            self._catch_up()
            return self._refresh_version()

    def _refresh_version(self) -> int:
        marker = self._change_marker()
        if marker != self._marker:
            if self._marker is not None:
                self._version += 1
            self._marker = marker
        return self._version

    def _change_marker(self) -> tuple[object, ...]:
        ledger, matcher, desk = self._ledger, self._matcher, self._desk
        active = tuple((r.request_id, len(r.quotes)) for r in desk.requests.values()
                       if r.state is RfqState.ACTIVE)
        return (ledger.cash, ledger.fees_paid, len(ledger.positions), len(matcher.orders),
                len(matcher.fills), len(matcher.open), matcher.report_delay,
                len(self._exercises), len(self._deliveries), len(desk.requests), active,
                len(desk.block_trades), self.forgotten, desk.behaviour,
                frozenset(self._emptied),
                tuple(path.controls() for path in self._market.paths.values()))

    # -- export --------------------------------------------------------------------
    def export_state(self, retention: timedelta = DEFAULT_RETENTION) -> Json:
        """The venue's account as JSON-safe data, caught up to the clock first."""
        with self._lock:
            now = self._catch_up()
            cutoff = now - retention
            return {
                "format": FORMAT, "format_version": FORMAT_VERSION,
                "state_version": self._refresh_version(),
                "seed": self._seed, "started_at": codec.when(self.started_at),
                "now": codec.when(now), "config": config_fingerprint(self._config),
                "retention_s": retention.total_seconds(),
                "market": self._export_market(),
                "ledger": self._export_ledger(),
                "matcher": self._export_matcher(cutoff),
                "desk": self._export_desk(cutoff),
                "exercises": [codec.encode_exercise(e) for e in self._exercises
                              if e.at >= cutoff],
                "deliveries": [codec.encode_delivery(d) for d in self._deliveries
                               if d.expiry >= cutoff],
            }

    def _export_market(self) -> Json:
        paths = {}
        for underlying, path in self._market.paths.items():
            controls = path.controls()
            paths[underlying.value] = {
                "jumps": [[second, offset] for second, offset in controls.jumps],
                "freezes": [list(span) for span in controls.freezes],
                "frozen_from": controls.frozen_from}
        emptied = sorted([symbol, side.value] for symbol, side in self._emptied)
        return {"paths": paths, "emptied": emptied}

    def _export_ledger(self) -> Json:
        ledger = self._ledger
        return {"cash": codec.dec(ledger.cash), "fees_paid": codec.dec(ledger.fees_paid),
                "realized_pnl": codec.dec(ledger.realized_pnl),
                "positions": [codec.encode_position(p) for p in ledger.positions.values()]}

    def _export_matcher(self, cutoff: datetime) -> Json:
        matcher = self._matcher
        orders = [o for o in matcher.orders.values()
                  if o.status.is_live or o.updated_at >= cutoff]
        kept = {o.order_id for o in orders}
        next_order, next_trade = matcher.next_ids()
        taken = matcher.liquidity_taken(self._now)
        return {
            "next_order_id": next_order, "next_trade_id": next_trade,
            "report_delay_s": matcher.report_delay.total_seconds(),
            "client_order_ids": sorted([[client, order] for client, order
                                        in matcher.by_client.items()]
                                       + [[client, FORGOTTEN_ORDER]
                                          for client in matcher.retired_clients]),
            "orders": [codec.encode_order(o) for o in orders],
            # Every fill of a kept order (so every fill of the window: a fill updates its order).
            "fills": [codec.encode_fill(f) for f in matcher.fills if f.fill.order_id in kept],
            "liquidity_taken": [[symbol, side.value, minute, codec.dec(qty)]
                                for (symbol, side, minute), qty in taken.items()]}

    def _export_desk(self, cutoff: datetime) -> Json:
        desk = self._desk
        requests = [r for r in desk.requests.values() if r.state is RfqState.ACTIVE
                    or (r.updated_at or r.created_at) >= cutoff]
        next_request, next_quote, next_block = desk.next_ids()
        return {
            "next_request_id": next_request, "next_quote_id": next_quote,
            "next_block_id": next_block, "behaviour": _encode_behaviour(desk.behaviour),
            "requests": [codec.encode_rfq(r) for r in requests],
            "block_trades": [codec.encode_block_trade(t) for t in desk.block_trades
                             if t.at is None or t.at >= cutoff]}

    # -- restore -------------------------------------------------------------------
    def _restore(self, state: Json) -> None:
        """Load `state` into a venue just built at the saved start with the saved seed."""
        try:
            now = codec.to_when(state["now"])
            self._restore_market(state["market"], now)
            self._restore_ledger(state["ledger"])
            self._restore_matcher(state["matcher"])
            self._restore_desk(state["desk"])
            self._exercises = [codec.decode_exercise(e) for e in state["exercises"]]
            self._deliveries = with_history(  # the back-filled days built with the venue
                self._deliveries, [codec.decode_delivery(d) for d in state["deliveries"]])
            self._version = int(state["state_version"])
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as error:
            raise VenueStateError(f"{type(error).__name__}: {error}") from error
        self._marker = self._change_marker()

    def _restore_market(self, data: Json, now: datetime) -> None:
        for name, saved in data["paths"].items():
            self._market.paths[Underlying(name)].restore_controls(PathControls(
                tuple((int(s), float(o)) for s, o in saved["jumps"]),
                tuple((int(a), int(b)) for a, b in saved["freezes"]),
                None if saved["frozen_from"] is None else int(saved["frozen_from"])))
        self._emptied = {(str(symbol), Side(side)) for symbol, side in data["emptied"]}
        self._market.set_emptied(frozenset(self._emptied))
        if now < self._now:
            raise ValueError("the saved time is before the saved start")
        for boundary in expiry_boundaries(self._now, now):
            self._market.roll(boundary)  # the listings the venue had, rebuilt exactly
        self._now = now

    def _restore_ledger(self, data: Json) -> None:
        ledger = self._ledger
        ledger.cash = codec.to_dec(data["cash"])
        ledger.fees_paid = codec.to_dec(data["fees_paid"])
        ledger.realized_pnl = codec.to_dec(data["realized_pnl"])
        positions = (codec.decode_position(p, self._instrument_of) for p in data["positions"])
        ledger.positions = {p.instrument.symbol: p for p in positions}

    def _restore_matcher(self, data: Json) -> None:
        matcher = self._matcher
        fills = [codec.decode_fill(f) for f in data["fills"]]
        by_order: dict[int, list[SimFill]] = defaultdict(list)
        for record in fills:
            by_order[record.fill.order_id].append(record)
        orders = [codec.decode_order(o, self._instrument_of, by_order[int(o["order_id"])])
                  for o in data["orders"]]
        matcher.orders = {o.order_id: o for o in orders}
        matcher.open = {o.order_id: o for o in orders if o.status.is_live}
        matcher.fills = fills
        used = [(int(client), int(order)) for client, order in data["client_order_ids"]]
        matcher.by_client = {client: order for client, order in used if order in matcher.orders}
        matcher.retired_clients = CompactIdSet(client for client, order in used
                                               if order not in matcher.orders)
        matcher.report_delay = timedelta(seconds=float(data["report_delay_s"]))
        matcher.restore_liquidity({(str(symbol), Side(side), int(minute)): codec.to_dec(qty)
                                   for symbol, side, minute, qty in data["liquidity_taken"]})
        matcher.resume_ids(int(data["next_order_id"]), int(data["next_trade_id"]))

    def _restore_desk(self, data: Json) -> None:
        desk = self._desk
        desk.behaviour = _decode_behaviour(data["behaviour"])
        requests = [codec.decode_rfq(r) for r in data["requests"]]
        desk.requests = {r.request_id: r for r in requests}
        desk.block_trades = [codec.decode_block_trade(t) for t in data["block_trades"]]
        desk.resume_ids(int(data["next_request_id"]), int(data["next_quote_id"]),
                        int(data["next_block_id"]))

    def _instrument_of(self, symbol: str) -> Instrument:
        """The venue's instrument; rebuilt from the symbol if the listing never had it."""
        known = self._market.instrument(symbol)
        if known is not None:
            return known
        parts = parse_symbol(symbol)
        return Instrument(symbol=symbol, underlying=parts.underlying, kind=parts.kind,
                          strike=parts.strike, expiry=parts.expiry,
                          tick_size=self._config.underlying(parts.underlying).tick,
                          min_qty=self._config.min_qty, lot_size=self._config.lot_size)


def _encode_behaviour(behaviour: MakerBehaviour) -> Json:
    offset = behaviour.book_offset_pct
    return {"enabled": behaviour.enabled, "makers": behaviour.makers,
            "min_delay_s": behaviour.min_delay_s, "max_delay_s": behaviour.max_delay_s,
            "spread_pct": codec.dec(behaviour.spread_pct),
            "book_offset_pct": None if offset is None else codec.dec(offset),
            "quote_lifetime_s": behaviour.quote_lifetime_s}


def _decode_behaviour(data: Json) -> MakerBehaviour:
    offset = data["book_offset_pct"]
    return MakerBehaviour(
        enabled=bool(data["enabled"]), makers=int(data["makers"]),
        min_delay_s=float(data["min_delay_s"]), max_delay_s=float(data["max_delay_s"]),
        spread_pct=codec.to_dec(data["spread_pct"]),
        book_offset_pct=None if offset is None else codec.to_dec(offset),
        quote_lifetime_s=int(data["quote_lifetime_s"]))
