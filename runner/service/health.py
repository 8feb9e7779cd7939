"""Health: the 5-minute health record and its problems, read by the health monitor.

`HealthRecord` is the periodic line in `logs/health.log` (equity, margin, positions,
portfolio delta, reachability, stale prices) and the problems it shows; `HealthMonitor`
reads the account for it. The heartbeat file lives in `runner.service.heartbeat`, the
stale-price tracker in `runner.service.staleness`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Protocol, TypeVar

from loguru import logger

from runner.domain.clock import Clock
from runner.domain.snapshot import Account, MarketSnapshot, Position
from runner.exchange.errors import ExchangeError
from runner.service.alerts import apply_problems
from runner.service.log import HEALTH_CHANNEL

if TYPE_CHECKING:
    from runner.service.alerts import Alerter


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """What the periodic health line says. `None` = not known (the read failed, C5)."""

    at: datetime
    reachable: bool
    equity: Decimal | None = None
    available_margin: Decimal | None = None
    margin_used_pct: Decimal | None = None
    positions: int | None = None
    portfolio_delta: float | None = None
    stale_prices: tuple[str, ...] = ()
    open_trades: int | None = None
    uptime: timedelta | None = None
    failed_reads: tuple[str, ...] = ()

    @classmethod
    def from_snapshot(cls, snapshot: MarketSnapshot, *, reachable: bool,
                      stale_prices: Iterable[str] = (), open_trades: int | None = None,
                      started_at: datetime | None = None) -> HealthRecord:
        """The record of one tick's snapshot (account, positions, delta)."""
        account = snapshot.account
        positions = snapshot.positions
        return cls(
            at=snapshot.at, reachable=reachable,
            equity=account.equity if account else None,
            available_margin=account.available_margin if account else None,
            margin_used_pct=account.margin_utilisation_pct if account else None,
            positions=len(positions) if positions is not None else None,
            portfolio_delta=snapshot.net_delta,
            stale_prices=tuple(stale_prices), open_trades=open_trades,
            uptime=snapshot.at - started_at if started_at else None,
            failed_reads=snapshot.failures)


def format_health_record(record: HealthRecord) -> str:
    """One greppable line of `key=value` pairs; unknown values read `n/a`."""
    parts = [
        f"at={record.at.isoformat()}",
        f"equity={_money(record.equity)}",
        f"available_margin={_money(record.available_margin)}",
        f"margin_used={_percent(record.margin_used_pct)}",
        f"positions={_or_na(record.positions)}",
        f"delta={_delta(record.portfolio_delta)}",
        f"exchange={'reachable' if record.reachable else 'UNREACHABLE'}",
        f"stale_prices={','.join(record.stale_prices) or 'none'}",
    ]
    if record.open_trades is not None:
        parts.append(f"open_trades={record.open_trades}")
    if record.uptime is not None:
        parts.append(f"uptime={_duration(record.uptime)}")
    if record.failed_reads:
        parts.append(f"failed_reads=\"{'; '.join(record.failed_reads)}\"")
    return "health " + " ".join(parts)


def log_health_record(record: HealthRecord) -> None:
    """Write the record to `health.log` (the health channel)."""
    logger.bind(channel=HEALTH_CHANNEL).info(format_health_record(record))


def _or_na(value: object) -> str:
    return "n/a" if value is None else str(value)


def _money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.2f}USD"


def _percent(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _delta(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _duration(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{days}d{hours:02d}h{minutes:02d}m{seconds:02d}s"


@dataclass(frozen=True, slots=True)
class HealthLimits:
    """Thresholds that turn a health record into problems (old system: margin > 80 %)."""

    max_margin_used_pct: Decimal = Decimal(80)
    min_equity: Decimal | None = None


# Alert keys of account problems. Reachability ("exchange.unreachable") and stale prices
# ("prices.stale") are alerted per tick by whoever watches the feed, not here.
HEALTH_PROBLEM_KEYS: Final = ("account.unread", "margin.high", "equity.low")


def health_problems(record: HealthRecord, limits: HealthLimits | None = None) -> dict[str, str]:
    """The account problems a record shows, by alert key, worded for people."""
    limits = limits or HealthLimits()
    problems: dict[str, str] = {}
    if record.equity is None and record.reachable:  # unreachable is alerted on its own
        problems["account.unread"] = "the account could not be read"
    used = record.margin_used_pct
    if used is not None and used > limits.max_margin_used_pct:
        problems["margin.high"] = (f"margin used {used:.1f}% is above "
                                   f"{limits.max_margin_used_pct}%")
    if (limits.min_equity is not None and record.equity is not None
            and record.equity < limits.min_equity):
        problems["equity.low"] = f"equity {record.equity:.2f} USD is below {limits.min_equity} USD"
    return problems


class AccountReader(Protocol):
    """What the health job reads (the exchange port satisfies it)."""

    def account(self) -> Account: ...

    def positions(self) -> list[Position]: ...


class HealthMonitor:
    """The periodic health job: read account and positions, log one line, alert problems.

    It reads through the port itself because a tick's snapshot need not carry the
    account; two reads every few minutes on the loop thread (never a second thread,
    unlike the old system) cost nothing. A failed read is `n/a`, never zero (C5).
    """

    def __init__(self, exchange: AccountReader, clock: Clock, *, alerter: Alerter | None = None,
                 limits: HealthLimits | None = None) -> None:
        self._exchange = exchange
        self._clock = clock
        self._alerter = alerter
        self._limits = limits or HealthLimits()
        self.started_at = clock.now()

    def record(self, *, reachable: bool = True, stale_prices: Iterable[str] = (),
               open_trades: int | None = None) -> HealthRecord:
        """Build, log and alert this moment's health record; return it."""
        failed: list[str] = []
        account = self._read("account", self._exchange.account, failed)
        positions = self._read("positions", self._exchange.positions, failed)
        snapshot = MarketSnapshot(at=self._clock.now(), account=account,
                                  positions=tuple(positions) if positions is not None else None,
                                  failures=tuple(failed))
        record = HealthRecord.from_snapshot(snapshot, reachable=reachable,
                                            stale_prices=stale_prices, open_trades=open_trades,
                                            started_at=self.started_at)
        log_health_record(record)
        if self._alerter is not None:
            apply_problems(self._alerter, health_problems(record, self._limits),
                           HEALTH_PROBLEM_KEYS)
        return record

    @staticmethod
    def _read(what: str, call: Callable[[], T], failed: list[str]) -> T | None:
        try:
            return call()
        except ExchangeError as error:
            failed.append(f"{what}: {type(error).__name__}")
            return None
