"""A service that talks: one summary line every 5 minutes, one line on every state change.

A trader watching the console of `runner run` (or `logs/trading.log`) should never have to
guess whether the service is alive and what it holds. After every tick the narrator is
fed the tick's report (`runner.service.loop.TickReport`) and view
(`runner.service.tick_view.TickView`) and says, in the trader's words:
- every 5 minutes (and at the first tick): equity, open trades, unrealized PnL, trades
  today, paused strategies;
- on each change: a trade opened (legs, fill prices, premium), a trade closed or failed
  (net PnL with gross and fees, the reason; `failure_reason` when a failed trade has one),
  a strategy's daily limit reached (and reset on a new UTC day), an entry window opened or
  closed, a strategy paused or resumed.

It is pure: it compares each view with the previous one and hands each line to `say`
(strategy or None, text); `runner.service.live` logs them at INFO, to the console and the log.
Every money figure says USD. At the first tick the trades already open are taken as
known (the start-up lines told them); windows, limits and pauses are told as they stand.
A tick reads the account and the marks only when its decisions need them
(`runner.service.read_plan`), so the narrator keeps the last ones read
(`runner.service.tick_view.LastReads`) and fills each view with them: the summary and the
heartbeat say "as of 10:04:12 UTC, 40 s ago" for a figure this tick did not read, and
"unknown" only for one never read or older than `tick_view.LAST_READ_MAX_AGE` (5 minutes).
It also keeps the last alerts (every alert the service sends, as an alert channel, plus
isolated strategies and failed trades), redacted, for the heartbeat `runner status` reads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from runner.domain.trades import Trade
from runner.service.log import redact
from runner.service.tick_view import LastReads, StrategyView, TickView, TradeView

SUMMARY_EVERY: Final = timedelta(minutes=5)
ALERTS_KEPT: Final = 10
_BEFORE_OPEN: Final = ("pending_open", "opening")

Say = Callable[[str | None, str], None]


def usd(value: Decimal | None, *, signed: bool = True) -> str:
    """A money figure with its unit: "-1.04 USD", "100,012.34 USD", "unknown"."""
    if value is None:
        return "unknown"
    return f"{value:+,.2f} USD" if signed else f"{value:,.2f} USD"


def plural(count: int, word: str, many: str | None = None) -> str:
    """ "1 trade", "2 trades", "0 trades"."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


class Narrator:
    """Turns tick reports and views into lines for people; remembers what it told."""

    def __init__(self, say: Say, *, summary_every: timedelta = SUMMARY_EVERY) -> None:
        self._say = say
        self._summary_every = summary_every
        self._last_summary: datetime | None = None
        self._known_open: set[str] | None = None  # None until the first view
        self._strategies: dict[str, StrategyView] = {}
        self._last_reads = LastReads()
        self.alerts: deque[dict[str, str | None]] = deque(maxlen=ALERTS_KEPT)

    def hear(self, report: Any, view: TickView | None) -> dict[str, Any] | None:
        """Tell what changed in this tick, and the summary when it is due; return what the
        heartbeat carries for `runner status`: the view's JSON with the last alerts."""
        self._remember_alerts(report)
        for trade in getattr(report, "finished", ()):
            self._tell_finished(trade)
        if view is None:
            return None
        view = self._last_reads.fill(view)
        self._tell(view)
        return view.to_json() | {"alerts": list(self.alerts)}

    def send(self, message: Any) -> None:
        """An alert channel (`runner.service.alerts.AlertSink`): every alert the service sends is
        kept among the last alerts that `runner status` shows."""
        self.alerts.append({"at": message.at.isoformat(), "strategy": message.strategy,
                            "text": redact(message.render())})

    def _remember_alerts(self, report: Any) -> None:
        """What is worth an operator's eye but not paged: isolated strategies, failed trades
        (execution alerts are paged, and reach `send`)."""
        at = report.at.isoformat() if report is not None else None
        for name, error in getattr(report, "strategy_errors", ()):
            self.alerts.append({"at": at, "strategy": name,
                                "text": redact(f"strategy isolated for this tick: {error}")})
        for trade in getattr(report, "finished", ()):
            if trade.stage.value == "failed":
                self.alerts.append({"at": at, "strategy": trade.strategy,
                                    "text": redact(finished_line(trade))})

    def _tell(self, view: TickView) -> None:
        self._tell_opened(view)
        for strategy in view.strategies:
            self._tell_strategy(self._strategies.get(strategy.name), strategy)
        self._strategies = {s.name: s for s in view.strategies}
        if self._last_summary is None or view.at - self._last_summary >= self._summary_every:
            self._say(None, summary_line(view))
            self._last_summary = view.at

    def _tell_opened(self, view: TickView) -> None:
        opened = {t.trade_id for t in view.trades if t.stage not in _BEFORE_OPEN}
        if self._known_open is not None:
            for trade in view.trades:
                if trade.trade_id in opened - self._known_open:
                    self._say(trade.strategy, opened_line(trade))
        self._known_open = opened

    def _tell_finished(self, trade: Trade) -> None:
        if self._known_open is not None and trade.opened_at is not None \
                and trade.trade_id not in self._known_open:
            # opened and closed between two views: the open is told first
            self._say(trade.strategy, opened_line(_as_view(trade)))
        if self._known_open is not None:
            self._known_open.discard(trade.trade_id)
        self._say(trade.strategy, finished_line(trade))

    def _tell_strategy(self, before: StrategyView | None, now: StrategyView) -> None:
        say = self._say
        if now.paused and not (before and before.paused):
            say(now.name, "paused: no new entries until runner resume; exits and closes go on")
        elif before and before.paused and not now.paused:
            say(now.name, "resumed: new entries allowed again")
        if now.limit_reached and not (before and before.limit_reached):
            say(now.name, f"daily limit reached: {now.trades_today} of "
                          f"{plural(now.max_trades_per_day or 0, 'trade')} today; no new "
                          "entries until 00:00 UTC")
        elif before and before.limit_reached and not now.limit_reached:
            say(now.name, f"new UTC day: daily limit reset (0 of "
                          f"{plural(now.max_trades_per_day or 0, 'trade')})")
        for line in window_changes(before.window if before else None, now.window):
            say(now.name, line)


def _open_window(window: dict[str, Any] | None) -> tuple[Any, str] | None:
    if not window or not window.get("open_now"):
        return None
    return window.get("cycle"), str(window["open_end"])


def window_changes(before: dict[str, Any] | None, now: dict[str, Any] | None) -> list[str]:
    """The lines for an entry window that opened or closed between two views."""
    was, is_ = _open_window(before), _open_window(now)
    if was == is_:
        return []
    lines = []
    if was is not None:
        lines.append(f"entry window closed (cycle {was[0]})")
    if is_ is not None:
        lines.append(f"entry window opened (cycle {is_[0]}): entries until {_hms(is_[1])} UTC")
    return lines


def _hms(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%H:%M:%S}"


def _legs_text(legs: Sequence[Any]) -> str:
    return ", ".join(f"{leg.side} {leg.open_qty} {leg.symbol} @ "
                     f"{'-' if leg.entry_price is None else leg.entry_price} USD" for leg in legs)


def opened_line(trade: TradeView) -> str:
    """ "opened <id>: buy 0.01 X @ 142 USD, ...; premium 2.88 USD paid"."""
    cost = sum(((1 if leg.side == "buy" else -1) * (leg.entry_price or 0) * leg.open_qty
                for leg in trade.legs), Decimal(0))
    premium = f"premium {usd(abs(cost), signed=False)} {'paid' if cost >= 0 else 'received'}"
    return f"opened {trade.trade_id}: {_legs_text(trade.legs)}; {premium}"


def _as_view(trade: Trade) -> TradeView:
    """A finished trade's open as the narrator tells it (the quantity it opened with)."""
    from runner.service.tick_view import LegView

    legs = tuple(LegView(leg.symbol, leg.side.value, leg.filled_qty, leg.entry_price, None, None)
                 for leg in trade.legs)
    return TradeView(trade.trade_id, trade.strategy, "open", legs, Decimal(0), Decimal(0))


def finished_line(trade: Trade) -> str:
    """ "closed <id> (max_hold): net -1.04 USD (gross -0.37 USD, fees 0.67 USD), held 0:00:12"."""
    gross, fees = trade.realized_pnl(), trade.fees()
    money = f"net {usd(gross - fees)} (gross {usd(gross)}, fees {usd(fees, signed=False)})"
    held = ""
    if trade.opened_at is not None and trade.closed_at is not None:
        seconds = int((trade.closed_at - trade.opened_at).total_seconds())
        held = f", held {timedelta(seconds=seconds)}"
    if trade.stage.value == "failed":
        why = (getattr(trade, "failure_reason", None) or trade.exit_reason
               or (trade.transitions[-1].reason if trade.transitions else "unknown"))
        return f"FAILED {trade.trade_id}: {why}; {money}"
    reason = trade.exit_reason or (trade.transitions[-1].reason if trade.transitions else "-")
    return f"closed {trade.trade_id} ({reason}): {money}{held}"


def ago(seconds: float) -> str:
    """ "40 s ago", "4 min 05 s ago", "1 h 02 min ago"."""
    whole = int(max(seconds, 0))
    if whole < 60:
        return f"{whole} s ago"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s ago"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min ago"


def as_of(read_at: datetime | None, now: datetime, what: str = "") -> str:
    """ " (as of 10:04:12 UTC, 40 s ago)" for a figure read before `now` (`what`: "marks "
    names it); "" when it was read now."""
    if read_at is None or read_at >= now:
        return ""
    return f" ({what}as of {read_at:%H:%M:%S} UTC, {ago((now - read_at).total_seconds())})"


def summary_line(view: TickView) -> str:
    """The 5-minute line: equity, open trades, unrealized PnL, trades today, pauses; a
    figure this tick did not read says when it was read."""
    account = view.account
    if account is None:
        equity = "equity unknown (account not read)"
    else:
        used = account.margin_utilisation_pct
        margin = "" if used is None else f", margin used {used:.1f} %"
        equity = (f"equity {usd(account.equity, signed=False)}{margin}"
                  f"{as_of(view.account_at, view.at)}")
    unrealized = usd(view.unrealized_usd)
    if view.unrealized_usd is not None and view.trades:
        unrealized += as_of(view.priced_at, view.at, "marks ")
    paused = ", ".join(view.paused) or "none"
    return (f"summary: {equity}; {plural(len(view.trades), 'open trade')}, unrealized "
            f"{unrealized}; {plural(view.trades_today, 'trade')} today; "
            f"paused: {paused}")
