"""Text rendering of `runner plan` and `runner status` reports.

The reports are JSON-safe dicts built by `runner.cli.plan_report` and
`runner.cli.status_report`; this module only lays them out for a person, so `--format json`
and the text show the same facts.
Warnings that need attention (A8: nothing bounds re-entry; a disabled strategy; a leg that
cannot resolve; a stale heartbeat) are printed in capitals where the eye lands on them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

STALE_HEARTBEAT_SECONDS: Final = 120


def _money(value: str | None) -> str:
    if value is None:
        return "unknown (a price is missing)"
    amount = float(value)
    return f"{abs(amount):,.2f} USD {'debit' if amount >= 0 else 'credit'}"


def _leg_line(leg: dict[str, Any]) -> str:
    delta = "no delta" if leg["delta"] is None else f"delta {leg['delta']:+.4f}"
    if leg["delta_target"] is not None and leg["delta_off"] is not None:
        delta += f" (target {float(leg['delta_target']):+g}, off {leg['delta_off']:+.4f})"
    expiry = datetime.fromisoformat(leg["expiry"])
    return (f"  {leg['index']}  {leg['side']:<4} {leg['qty']:>6} {leg['symbol']:<24} "
            f"{leg['kind']} {leg['strike']}, expires {expiry:%Y-%m-%d %H:%M} UTC "
            f"({leg['days_to_expiry']} d), {delta}, "
            f"bid {leg['bid'] or '-'} / ask {leg['ask'] or '-'} / mark {leg['mark'] or '-'}")


def _structure_lines(structure: dict[str, Any]) -> list[str]:
    return [
        "structure",
        f"  premium at mark:    {_money(structure['premium_mark_usd'])}",
        f"  premium executable: {_money(structure['premium_executable_usd'])} "
        "(buys at the ask, sells at the bid)",
        f"  notional:           {float(structure['notional_usd']):,.2f} USD "
        f"({structure['notional_definition']})",
        f"  route:              {structure['route'].upper()}: {structure['route_reason']}",
    ]


def _check_lines(plan: dict[str, Any]) -> list[str]:
    history = plan["history"]
    source = (f"history from {history['source']}: {history['trades_today']} trades, "
              f"{history['attempts_today']} attempts today, {history['active_trades']} active"
              if history["source"] else history["note"])
    lines = [f"entry checks at {plan['at']} ({source})"]
    width = max((len(c["name"]) for c in plan["checks"]), default=0)
    lines += [f"  {'pass ' if c['passed'] else 'BLOCK'}  {c['name']:<{width}}  {c['detail']}"
              for c in plan["checks"]]
    blocked = next((c["name"] for c in plan["checks"] if not c["passed"]), None)
    verdict = ("yes" if plan["would_open"] else
               f"no, blocked by {blocked}" if blocked else "no")
    lines.append(f"  would open now: {verdict}")
    return lines


def _schedule_lines(schedule: dict[str, Any] | None) -> list[str]:
    if schedule is None:
        return ["schedule: none (entry is checked every check interval)"]
    origin = f", counted from launch {schedule['launch']}" if schedule["launch"] else ""
    lines = [f"schedule ({schedule['type']}{origin})"]
    for w in schedule["windows"]:
        start, end = (datetime.fromisoformat(w[k]) for k in ("open_start", "open_end"))
        when = (f"opens in {w['opens_in']}" if w["state"] == "upcoming" else
                "OPEN NOW" if w["state"] == "open" else "passed")
        lines.append(f"  {w['label']}: entries {start:%Y-%m-%d %H:%M:%S} to "
                     f"{end:%H:%M:%S} UTC ({when}), closes {w['close_at']}")
    return lines


def _limit_lines(limits: dict[str, Any]) -> list[str]:
    def limit(value: object, unit: str = "") -> str:
        return "unlimited" if value is None else f"{value}{unit}"
    lines = [
        "limits",
        f"  check every {limits['check_interval']}; cooldown {limits['cooldown']}; "
        f"concurrent trades {limits['max_concurrent_trades']}; trades per day "
        f"{limit(limits['max_trades_per_day'])}; attempts per day "
        f"{limit(limits['max_attempts_per_day'])}",
        f"  notional per trade {limit(limits['max_notional_per_trade_usd'], ' USD')}; per "
        f"strategy {limit(limits['max_notional_per_strategy_usd'], ' USD')}",
    ]
    return lines + [f"  WARNING: {text}" for text in limits["warnings"]]


def _calendar_lines(calendars: list[dict[str, Any]], full: bool) -> list[str]:
    lines: list[str] = []
    for calendar in calendars:
        gaps = calendar["gaps"]
        verdict = (f"NO ELIGIBLE EXPIRY on {len(gaps)} day(s): {', '.join(gaps)}" if gaps
                   else "an eligible expiry on every day")
        lines.append(f"expiry calendar {calendar['underlying']} {calendar['rule']}, next "
                     f"{calendar['days']} days ({calendar['listing']}): {verdict}")
        if full:
            lines += [f"  {row['day']}: " + (f"{row['expiry'][:10]} ({row['days_to_expiry']} d, "
                                             f"{row['candidates']} eligible)" if row["expiry"]
                                             else "NONE")
                      for row in calendar["by_day"]]
    return lines


def render_plan(plan: dict[str, Any], *, full_calendar: bool = False) -> str:
    """The plan for a person: legs first, then why it would or would not open."""
    seed = f", seed {plan['seed']}" if plan["seed"] is not None else ""
    index = ", ".join(f"{u} index {float(p):,.2f}" for u, p in plan["index_prices"].items())
    lines = [f"plan: {plan['strategy']} ({plan['file']})",
             f"  {plan['description']}",
             f"environment {plan['environment']}{seed}, at {plan['at']}; {index or 'no index'}"]
    lines += [f"  READ FAILED: {failure}" for failure in plan["read_failures"]]
    if plan["legs"] is None:
        lines.append(f"CANNOT RESOLVE: {plan['problem']}")
    else:
        lines += ["legs", *(_leg_line(leg) for leg in plan["legs"])]
        lines += _structure_lines(plan["structure"])
    lines += ["execution", f"  open:  {plan['execution']['open']}",
              f"  close: {plan['execution']['close']}"]
    lines += _check_lines(plan)
    lines += _schedule_lines(plan["schedule"])
    lines += ["exits (first to fire closes the trade)", *(f"  {e}" for e in plan["exits"])]
    lines += _limit_lines(plan["limits"])
    lines += _calendar_lines(plan["expiry_calendar"], full_calendar)
    return "\n".join(lines)


def _age(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


def _heartbeat_line(beat: dict[str, Any]) -> str:
    if "problem" in beat:
        return f"heartbeat: {beat['problem']} ({beat['file']})"
    stale = " STALE" if beat["age_seconds"] > STALE_HEARTBEAT_SECONDS else ""
    return (f"heartbeat: {_age(beat['age_seconds'])} ago{stale} (tick {beat['tick']}, "
            f"pid {beat['pid']}, at {beat['at']})")


def _trade_lines(trade: dict[str, Any]) -> list[str]:
    lines = [f"  {trade['trade_id']} {trade['strategy']} {trade['stage'].upper()} for "
             f"{_age(trade['in_stage_seconds'])} (age {_age(trade['age_seconds'])}, "
             f"{trade['execution']}): {trade['last_reason']}"]
    lines += [f"    {leg['side']:<4} {leg['symbol']:<24} qty {leg['qty']} filled "
              f"{leg['filled_qty']} at {leg['entry_price'] or '-'}, open {leg['open_qty']}"
              for leg in trade["legs"]]
    return lines


def _closed_line(trade: dict[str, Any]) -> str:
    held = f"; STILL HELD {', '.join(trade['still_held'])}" if trade["still_held"] else ""
    return (f"  {trade['trade_id']} {trade['strategy']} {trade['stage']} "
            f"{trade['closed_at'] or '-'} reason {trade['exit_reason']}: gross "
            f"{trade['pnl_gross_usd']} USD, fees {trade['fees_usd']}, net "
            f"{trade['pnl_net_usd']} USD{held}")


def _order_line(order: dict[str, Any]) -> str:
    return (f"  {order['client_order_id']} {order['status']} {order['trade_id']} leg "
            f"{order['leg']} {order['purpose']}/{order['reason']}: {order['side']} "
            f"{order['qty']} {order['symbol']} at {order['price']}, filled "
            f"{order['filled_qty']}{' reduce-only' if order['reduce_only'] else ''}")


def _schedule_status_line(item: dict[str, Any]) -> str:
    if "open_start" not in item:
        return f"  {item['strategy']}: {item['next']}"
    state = "OPEN NOW until " + item["open_end"] if item["open_now"] else (
        f"next entries {item['open_start']} to {item['open_end']}")
    return f"  {item['strategy']} ({item['schedule']}, cycle {item['cycle']}): {state}"


def render_status(report: dict[str, Any]) -> str:
    """The status for a person."""
    lines = [f"status at {report['at']} from {report['store']}",
             _heartbeat_line(report["heartbeat"])]
    check = report.get("store_check") or "no difference at the last check"
    lines.append(f"store vs exchange: {check}")
    lines.append("strategies seen")
    lines += [f"  {s['name']} (first {s['first_seen']}, last start {s['last_seen']})"
              for s in report["strategies"]] or ["  none"]
    lines.append("today (UTC)")
    lines += [f"  {c['strategy']}: {c['trades']} trades, {c['attempts']} attempts"
              for c in report["today"]] or ["  none"]
    lines.append(f"active trades ({len(report['active_trades'])})")
    for trade in report["active_trades"]:
        lines += _trade_lines(trade)
    lines.append(f"recent closed trades ({len(report['recent_closed'])})")
    lines += [_closed_line(trade) for trade in report["recent_closed"]]
    lines.append(f"live orders in the ledger ({len(report['live_orders'])})")
    lines += [_order_line(order) for order in report["live_orders"]]
    if report["schedules"]:
        lines += ["entry windows", *(_schedule_status_line(s) for s in report["schedules"])]
    lines += _control_lines(report.get("control") or {})
    return "\n".join(lines)


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
