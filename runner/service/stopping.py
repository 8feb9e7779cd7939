"""Stopping `runner run` in bounded time: the stop request, the signals, the way out.

SIGINT, SIGTERM and Ctrl+Break (SIGBREAK) set one `StopRequest`. From that moment:
- the sleep between ticks ends within `_WAKE_EVERY` (0.1 s; `InterruptibleClock`);
- the exchange client is put in shutdown mode (`begin_shutdown`): the tick in progress
  may use the exchange for `TICK_GRACE` seconds more, with short timeouts and no
  retries, and a request blocked in the network is interrupted by the handler, so the
  tick ends soon (it is never abandoned half-way in our own code: A5);
- then `cancel_on_the_way_out` cancels the working orders and the active RFQs by their
  recorded ids, until `CANCEL_DEADLINE` seconds after the signal; whatever could not be
  cancelled is logged and left to the next start's reconciliation (which re-sends a
  pending RFQ cancel and cancels orphaned orders).
So the process exits well within `STOP_BUDGET` (10 s) even when the exchange hangs,
inside the 30 s NSSM and systemd allow. The handler itself logs nothing and takes no lock:
it runs on the main thread between two bytecodes, possibly while that thread holds a
lock, so a handler that took one (a `threading.Event.set`, the logging lock) could wait
for itself forever, deaf to every later signal (CI saw it once: a stop requested while
the loop's sleep held its Event's lock hung until SIGKILL). The stop is therefore plain
flags that the loop looks at, at least every `_WAKE_EVERY` seconds; the loop logs the
signal once it is out.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from loguru import logger

from runner.domain.clock import SystemClock
from runner.domain.commands import CancelRfq
from runner.domain.ledger import RfqLedgerState

STOP_BUDGET: Final = 10.0  # seconds from the signal to the exit, the promise
TICK_GRACE: Final = 3.0  # seconds the tick in progress may still use the exchange
CANCEL_DEADLINE: Final = 7.5  # seconds after the signal: the last request is sent by then
_WAKE_EVERY: Final = 0.1  # how late the sleep between ticks may notice the stop


class StopRequest:
    """The process's stop: requested once (by a signal or the loop), seen everywhere."""

    def __init__(self) -> None:
        self._requested = False  # a plain flag: set inside signal handlers (no lock)
        self.signum: int | None = None
        self.requested_at: float | None = None  # time.monotonic()
        self._listeners: list[Callable[[], None]] = []
        self.exchange: Any = None  # set once built: put in shutdown mode on a stop

    @property
    def requested(self) -> bool:
        return self._requested

    def request(self, signum: int | None = None) -> None:
        """Stop (idempotent). Runs inside signal handlers, so it takes no lock and logs
        nothing, and so must its listeners."""
        if self.requested_at is None:
            self.requested_at = time.monotonic()
            self.signum = signum
        self._requested = True
        self.shut_exchange_by(self.requested_at + TICK_GRACE)
        for listener in list(self._listeners):
            listener()

    def on_request(self, listener: Callable[[], None]) -> None:
        """Call `listener` on the stop (at once when it was already requested). It is
        called inside the signal handler: it may only set flags (no lock, no I/O)."""
        self._listeners.append(listener)
        if self.requested:
            listener()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True (early, within `_WAKE_EVERY`) as soon as the
        stop is requested. Short sleeps, not an Event: see the module's docstring."""
        end = time.monotonic() + max(0.0, seconds)
        while not self._requested:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(remaining, _WAKE_EVERY))
        return True

    def cancel_deadline(self) -> float:
        """The monotonic time by which the last cancel must have been sent."""
        start = self.requested_at if self.requested_at is not None else time.monotonic()
        return start + CANCEL_DEADLINE

    def shut_exchange_by(self, deadline: float) -> None:
        """Put the exchange client in shutdown mode (a no-op for the paper venue)."""
        begin = getattr(self.exchange, "begin_shutdown", None)
        if begin is not None:
            begin(deadline)


class InterruptibleClock(SystemClock):
    """The wall clock whose `sleep` ends the moment a stop is requested."""

    def __init__(self, stop: StopRequest) -> None:
        self._stop = stop

    def sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)


Handlers = dict[int, Any]


def install_stop_signals(stop: StopRequest) -> Handlers:
    """Route SIGINT, SIGTERM and Ctrl+Break to `stop`; return the handlers replaced."""
    from runner.exchange.coincall.shutdown import RequestInterrupted

    def handle(signum: int, _frame: object) -> None:
        stop.request(signum)
        if getattr(stop.exchange, "request_in_flight", False):
            raise RequestInterrupted(f"signal {signum}: the service is stopping")

    numbers = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGBREAK"):  # Ctrl+Break on Windows (NSSM's console stop)
        numbers.append(signal.SIGBREAK)
    return {number: signal.signal(number, handle) for number in numbers}


def restore_signals(previous: Handlers) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


@dataclass(frozen=True, slots=True)
class WayOut:
    """What the stop cancelled, and what it had to leave to the next start."""

    orders_cancelled: int
    rfqs_cancelled: int
    orders_left: tuple[str, ...]
    rfqs_left: tuple[str, ...]


def cancel_on_the_way_out(service: Any, store: Any, dispatcher: Any,
                          stop: StopRequest) -> WayOut:
    """Cancel working orders and active RFQs by the deadline; log what is left."""
    stop.shut_exchange_by(stop.cancel_deadline())
    orders = service.cancel_working_orders()
    active = [record for record in store.active_rfqs()
              if record.state is RfqLedgerState.ACTIVE and record.request_id]
    if active:
        dispatcher.execute([CancelRfq(record.trade_id, record.request_id or "", "shutdown")
                            for record in active])
    orders_left = tuple(str(row.client_order_id) for row in store.live_orders())
    rfqs_left = tuple(record.request_id or record.rfq_key for record in store.active_rfqs()
                      if record.state is RfqLedgerState.ACTIVE)
    if orders_left or rfqs_left:
        logger.warning("could not cancel on the way out (the exchange did not answer in time):"
                       " orders {}, RFQs {}; left to the next start's reconciliation",
                       ", ".join(orders_left) or "none", ", ".join(rfqs_left) or "none")
    return WayOut(orders, len(active) - len(rfqs_left), orders_left, rfqs_left)
