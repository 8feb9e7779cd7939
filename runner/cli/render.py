"""Text rendering of `runner plan` reports (`runner status`: runner.cli.status_render).

The reports are JSON-safe dicts built by `runner.cli.plan_report`; this module only lays
them out for a person, so `--format json` and the text show the same facts.
Warnings that need attention (A8: nothing bounds re-entry; a disabled strategy; a leg that
cannot resolve; a stale heartbeat) are printed in capitals where the eye lands on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


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


def _schedule_lines(schedule: dict[str, Any] | None, launch_source: str | None) -> list[str]:
    if schedule is None:
        return ["schedule: none (entry is checked every check interval)"]
    origin = (f", counted from launch {_utc(schedule['launch'])}" if schedule["launch"]
              else "")
    lines = [f"schedule ({schedule['type']}{origin})"]
    if schedule["launch"] and launch_source:
        lines.append(f"  launch: {launch_source}")
    for w in schedule["windows"]:
        start, end = (datetime.fromisoformat(w[k]) for k in ("open_start", "open_end"))
        when = (f"opens in {w['opens_in']}" if w["state"] == "upcoming" else
                "OPEN NOW" if w["state"] == "open" else "passed")
        lines.append(f"  {w['label']}: entries {start:%Y-%m-%d %H:%M:%S} to "
                     f"{end:%H:%M:%S} UTC ({when}), closes {_utc(w['close_at'])}")
    return lines


def _utc(moment: str) -> str:
    """An ISO time to the second, as a person reads it: `2026-03-02 10:01:00 UTC`."""
    return f"{datetime.fromisoformat(moment):%Y-%m-%d %H:%M:%S} UTC"


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
    if plan.get("account"):
        lines.append(f"account: {plan['account']['detail']}")
    lines += [f"  READ FAILED: {failure}" for failure in plan["read_failures"]]
    if plan["legs"] is None:
        lines.append(f"CANNOT RESOLVE: {plan['problem']}")
    else:
        lines += ["legs", *(_leg_line(leg) for leg in plan["legs"])]
        lines += _structure_lines(plan["structure"])
    lines += ["execution", f"  open:  {plan['execution']['open']}",
              f"  close: {plan['execution']['close']}"]
    lines += _check_lines(plan)
    lines += _schedule_lines(plan["schedule"], plan.get("launch_source"))
    lines += ["exits (first to fire closes the trade)", *(f"  {e}" for e in plan["exits"])]
    lines += _limit_lines(plan["limits"])
    lines += _calendar_lines(plan["expiry_calendar"], full_calendar)
    return "\n".join(lines)
