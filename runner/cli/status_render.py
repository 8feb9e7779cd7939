"""Text rendering of `runner status` (the report of `runner.cli.status_report`) for a trader.

Order of the screen: whether the service runs and how fresh its numbers are; the account;
each strategy (enabled, paused, trades today against the limit, entry window); the open
trades with their legs, marks, PnL and greeks; totals; recent closed trades; live orders;
pauses and requests; open concerns and last alerts. Every money figure says USD, counts are
plural-correct ("1 trade"), and the live numbers say "as of HH:MM:SS UTC" with their age;
the account, a trade's marks and a leg's mark that the service's last tick did not read
(it reads them only when its decisions need them) say when they were read and how long
ago ("as of 10:04:12 UTC, 40 s ago"); "unknown" is for what was never read or is older than
`runner.service.tick_view.LAST_READ_MAX_AGE`.
What needs a person (a stale heartbeat, a paused strategy, a limit reached, a difference
between store and exchange, a failed trade) is in capitals where the eye lands on it.
`--format json` carries the same report.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from runner.service.narrator import ago, plural

STALE_HEARTBEAT_SECONDS: Final = 120


def usd(value: str | None, *, signed: bool = True) -> str:
    """ "-1.04 USD", "100,012.34 USD"; "unknown" when the figure is not known."""
    if value is None:
        return "unknown"
    amount = Decimal(value)
    return f"{amount:+,.2f} USD" if signed else f"{amount:,.2f} USD"


def price(value: str | None) -> str:
    return "-" if value is None else f"{Decimal(value):,.2f} USD"


def _age(seconds: float) -> str:
    return str(timedelta(seconds=int(max(seconds, 0))))


def _hms(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%H:%M:%S}"


def read_age(read_at: str | None, view_at: str | None, now: str, what: str = "") -> str:
    """ " (as of 10:04:12 UTC, 40 s ago)" for a figure read before the view's tick (`what`:
    "marks " names it); "" when that tick read it (the header says how old the view is)."""
    if read_at is None or view_at is None:
        return ""
    read = datetime.fromisoformat(read_at)
    if read >= datetime.fromisoformat(view_at):
        return ""
    seconds = (datetime.fromisoformat(now) - read).total_seconds()
    return f" ({what}as of {_hms(read_at)} UTC, {ago(seconds)})"


def _coin(symbol: str) -> str:
    """The underlying's coin of an option symbol ("BTCUSD-..." -> "BTC")."""
    head = symbol.split("-")[0]
    return head.removesuffix("USD") or "coin"


def greeks_text(greeks: dict[str, float] | None, coin: str = "coin") -> str:
    if greeks is None:
        return "greeks unknown (no chain quote read in the last 5 minutes)"
    return (f"delta {greeks['delta']:+.4f} {coin}, gamma {greeks['gamma']:+.6f} {coin} per USD,"
            f" theta {greeks['theta']:+,.2f} USD/day, vega {greeks['vega']:+,.2f} USD/vol pt")


def _service_lines(report: dict[str, Any]) -> list[str]:
    beat = report["heartbeat"]
    at = datetime.fromisoformat(report["at"])
    head = f"runner status at {at:%Y-%m-%d %H:%M:%S} UTC ({report['store']})"
    if "problem" in beat:
        return [head, f"service: unknown: {beat['problem']} ({beat['file']})"]
    age = beat["age_seconds"]
    if beat.get("state") == "stopped":
        state = f"STOPPED {_age(age)} ago"
    elif age > STALE_HEARTBEAT_SECONDS:
        state = f"NOT RESPONDING: heartbeat {_age(age)} old (STALE)"
    else:
        state = f"running, heartbeat {_age(age)} ago"
    return [head, f"service: {state} (tick {beat['tick']}, pid {beat['pid']}, at "
                  f"{_hms(beat['at'])} UTC)"]


def _live_lines(report: dict[str, Any]) -> list[str]:
    live = report.get("live")
    if live is None:
        return ["live numbers: none (the service writes marks, greeks and the account into "
                "its heartbeat each tick; none is there)"]
    lines = [f"live numbers as of {_hms(live['as_of'])} UTC ({_age(live['age_seconds'])} ago)"]
    account = live.get("account")
    if account is None:
        lines.append("account: unknown (not read by the service in the last 5 minutes)")
    else:
        used = account["margin_used_pct"]
        when = read_age(account.get("as_of"), live["as_of"], report["at"])
        lines.append(f"account{when}: equity {usd(account['equity_usd'], signed=False)}, available "
                     f"margin {usd(account['available_margin_usd'], signed=False)}, initial "
                     f"margin {usd(account['initial_margin_usd'], signed=False)}, maintenance "
                     f"margin {usd(account['maintenance_margin_usd'], signed=False)}, margin "
                     f"used {'unknown' if used is None else used + ' %'}")
    return lines


def _limit(count: int, limit: int | None, word: str) -> str:
    return (f"{plural(count, word)}" if limit is None else
            f"{count} of {plural(limit, word)}")


def _window_text(window: dict[str, Any] | None) -> str:
    if window is None:
        return "window unknown (give --strategies FILE..., or start the service)"
    if "open_start" not in window:
        return str(window["next"])
    if window["open_now"]:
        return f"entry window OPEN until {_hms(window['open_end'])} UTC (cycle {window['cycle']})"
    start = datetime.fromisoformat(window["open_start"])
    return (f"next entry window {start:%Y-%m-%d %H:%M:%S} to {_hms(window['open_end'])} UTC "
            f"(cycle {window['cycle']})")


def _strategy_line(item: dict[str, Any]) -> str:
    enabled = {True: "enabled", False: "DISABLED", None: "enabled unknown"}[item["enabled"]]
    state = "PAUSED" if item["paused"] else "running"
    trades = _limit(item["trades_today"], item["max_trades_per_day"], "trade")
    if item["limit_reached"]:
        trades += " (DAILY LIMIT REACHED)"
    attempts = _limit(item["attempts_today"], item["max_attempts_per_day"], "attempt")
    return (f"  {item['name']}: {enabled}, {state}; today {trades}, {attempts}; "
            f"{_window_text(item['window'])}")


def _trade_lines(trade: dict[str, Any], view_at: str | None, now: str) -> list[str]:
    lines = [f"  {trade['trade_id']} {trade['stage'].upper()} for "
             f"{_age(trade['in_stage_seconds'])} (age {_age(trade['age_seconds'])}, "
             f"{trade['execution']}): {trade['last_reason']}"]
    live = trade.get("live")
    coin = _coin(trade["legs"][0]["symbol"]) if trade["legs"] else "coin"
    if live is None:
        lines.append("    marks, PnL and greeks unknown (not in the service's last tick)")
    else:
        marks_age = read_age(live.get("marks_as_of"), view_at, now, "marks ")
        lines.append(f"    unrealized {usd(live['unrealized_pnl_usd'])} at mark{marks_age}, "
                     f"realized {usd(live['realized_pnl_usd'])}, fees "
                     f"{usd(live['fees_usd'], signed=False)}")
        greeks_age = read_age(live.get("greeks_as_of"), view_at, now, "greeks ")
        lines.append(f"    {greeks_text(live['greeks'], coin)}{greeks_age}")
    marks = {leg["symbol"]: leg for leg in (live or {}).get("legs", [])}
    for leg in trade["legs"]:
        seen = marks.get(leg["symbol"], {})
        lines.append(f"    {leg['side']:<4} {leg['qty']} {leg['symbol']}: filled "
                     f"{leg['filled_qty']} at {price(leg['entry_price'])}, open "
                     f"{leg['open_qty']}, mark {price(seen.get('mark_usd'))}"
                     f"{read_age(seen.get('mark_as_of'), view_at, now)}, unrealized "
                     f"{usd(seen.get('unrealized_pnl_usd'))}")
    return lines


def _totals_line(totals: dict[str, Any], view_at: str | None, now: str) -> str:
    marks_age = read_age(totals.get("marks_as_of"), view_at, now, "marks ")
    return (f"totals: {plural(totals['open_trades'], 'open trade')}, unrealized "
            f"{usd(totals['unrealized_pnl_usd'])}{marks_age}; today "
            f"{plural(totals['trades_today'], 'trade')}, "
            f"{plural(totals['closed_today'], 'closed trade')}: net "
            f"{usd(totals['realized_pnl_today_net_usd'])} (gross "
            f"{usd(totals['realized_pnl_today_gross_usd'])}, fees "
            f"{usd(totals['fees_today_usd'], signed=False)})")


def _closed_line(trade: dict[str, Any]) -> str:
    held = f"; STILL HELD {', '.join(trade['still_held'])}" if trade["still_held"] else ""
    when = (f"{datetime.fromisoformat(trade['closed_at']):%Y-%m-%d %H:%M:%S} UTC"
            if trade["closed_at"] else "-")
    failed = trade["stage"] == "failed"
    why = (trade.get("failure_reason") or trade["exit_reason"]) if failed else trade["exit_reason"]
    return (f"  {trade['trade_id']} {'FAILED' if failed else 'closed'} {when} ({why}): net "
            f"{usd(trade['pnl_net_usd'])} (gross {usd(trade['pnl_gross_usd'])}, fees "
            f"{usd(trade['fees_usd'], signed=False)}){held}")


def _order_line(order: dict[str, Any]) -> str:
    return (f"  {order['client_order_id']} {order['status']} {order['trade_id']} leg "
            f"{order['leg']} {order['purpose']}/{order['reason']}: {order['side']} "
            f"{order['qty']} {order['symbol']} at {price(order['price'])}, filled "
            f"{order['filled_qty']}{' reduce-only' if order['reduce_only'] else ''}")


def _control_lines(control: dict[str, Any]) -> list[str]:
    """Paused strategies and the operator's latest requests (runner pause ... close)."""
    paused = [("every strategy" if p["strategy"] == "*" else p["strategy"]) + f" since {p['since']}"
              for p in control.get("paused", [])]
    lines = [f"PAUSED (no new entries): {'; '.join(paused)}" if paused else "paused: none"]
    requests = control.get("requests", [])
    lines.append(f"control requests (latest {len(requests)})")
    for item in requests:
        what = ", ".join(item["targets"]) or "every strategy"
        done = (f"{item['status']} {item['applied_at']}: {item['outcome']}"
                if item["applied_at"] else "PENDING: applied at the next tick or start")
        lines.append(f"  #{item['request_id']} {item['action']} {what} at"
                     f" {item['requested_at']}: {done}")
    return lines


def _attention_lines(report: dict[str, Any]) -> list[str]:
    problems = report["heartbeat"].get("problems") or []
    lines = [f"OPEN CONCERNS ({len(problems)})" if problems else "open concerns: none"]
    lines += [f"  {problem}" for problem in problems]
    alerts = (report.get("live") or {}).get("alerts") or []
    lines.append(f"last alerts ({len(alerts)})")
    lines += [f"  {_hms(a['at']) + ' UTC ' if a.get('at') else ''}"
              f"{a['strategy'] + ': ' if a.get('strategy') else ''}{a['text']}" for a in alerts]
    return lines


def render_status(report: dict[str, Any]) -> str:
    """The status for a person."""
    lines = _service_lines(report) + _live_lines(report)
    check = report.get("store_check")
    lines.append(f"STORE VS EXCHANGE: {check}" if check else
                 "store vs exchange: no difference at the last check")
    lines.append("strategies")
    lines += [_strategy_line(item) for item in report["per_strategy"]] or ["  none"]
    lines.append(f"open trades ({len(report['active_trades'])})")
    view_at = (report.get("live") or {}).get("as_of")
    for trade in report["active_trades"]:
        lines += _trade_lines(trade, view_at, report["at"])
    lines.append(_totals_line(report["totals"], view_at, report["at"]))
    if report["totals"]["greeks"] is not None and report["active_trades"]:
        coins = {_coin(leg["symbol"]) for t in report["active_trades"] for leg in t["legs"]}
        coin = coins.pop() if len(coins) == 1 else "coin"
        lines.append(f"  all open trades: {greeks_text(report['totals']['greeks'], coin)}")
    lines.append(f"recent closed trades ({len(report['recent_closed'])})")
    lines += [_closed_line(trade) for trade in report["recent_closed"]]
    lines.append(f"live orders in the ledger ({len(report['live_orders'])})")
    lines += [_order_line(order) for order in report["live_orders"]]
    lines += _control_lines(report.get("control") or {})
    lines += _attention_lines(report)
    return "\n".join(lines)
