"""The live part of `runner status`: the service's last tick view merged with the store.

The store knows trades, counts and pauses; it does not know marks, greeks or the account.
The running service writes those into the heartbeat every tick (`Heartbeat.view`, built by
`runner.service.tick_view`); this module reads them back and joins them to the store's report:
- `live`: when the numbers are from (`as_of`, `age_seconds`), the account, the totals and
  the last alerts, or None with a `live_problem` saying why there are none;
- each active trade gets `live` (marks, unrealized PnL, greeks), or None when the view does
  not hold it (opened after the last beat, or the service is not running);
- `per_strategy`: enabled, paused, trades and attempts today against their limits, entry
  window; the store's counts and pauses are read now, the rest comes from the strategy
  files given (`--strategies`) or else from the view;
- `totals`: open trades, unrealized PnL (live), today's trades and closed PnL (store).

Invariant: nothing here calls the exchange, and a figure that is not known is None, never 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


def read_view(path: Path) -> dict[str, Any] | None:
    """The `view` the heartbeat carries; None when absent or unreadable (said elsewhere)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    view = data.get("view") if isinstance(data, dict) else None
    return view if isinstance(view, dict) and isinstance(view.get("at"), str) else None


def live_section(view: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    if view is None:
        return None
    at = datetime.fromisoformat(view["at"])
    return {"as_of": at.isoformat(), "age_seconds": round((now - at).total_seconds(), 1),
            "account": view.get("account"), "totals": view.get("totals"),
            "alerts": view.get("alerts") or []}


def attach_trade_views(active: list[dict[str, Any]], view: dict[str, Any] | None) -> None:
    """Give each active trade its `live` numbers from the view (None when it has none)."""
    by_id = {t["trade_id"]: t for t in (view or {}).get("trades", [])}
    for trade in active:
        found = by_id.get(trade["trade_id"])
        trade["live"] = None if found is None else {
            key: found.get(key) for key in ("unrealized_pnl_usd", "marks_as_of",
                                            "realized_pnl_usd", "fees_usd", "greeks",
                                            "greeks_as_of")} | {
            "legs": found.get("legs", [])}


def per_strategy(report: dict[str, Any], view: dict[str, Any] | None,
                 specs: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """One entry per strategy known to the store, the files given or the view."""
    viewed = {s["name"]: s for s in (view or {}).get("strategies", [])}
    given = {spec.name: spec for spec in specs}
    windows = {s["strategy"]: s for s in report["schedules"]}  # from the files given
    counts = {c["strategy"]: c for c in report["today"]}
    paused = {p["strategy"] for p in (report.get("control") or {}).get("paused", [])}
    names = sorted(set(counts) | set(given) | set(viewed))
    return [_strategy(name, counts.get(name), given.get(name), windows.get(name),
                      viewed.get(name) or {}, paused) for name in names]


def _strategy(name: str, counts: dict[str, Any] | None, spec: Any,
              window: dict[str, Any] | None, viewed: dict[str, Any],
              paused: set[str]) -> dict[str, Any]:
    trades = counts["trades"] if counts else 0
    if spec is not None:
        enabled, limit, attempts = (spec.enabled, spec.timing.max_trades_per_day,
                                    spec.timing.max_attempts_per_day)
    else:
        enabled, limit, attempts = (viewed.get("enabled"), viewed.get("max_trades_per_day"),
                                    viewed.get("max_attempts_per_day"))
    return {
        "name": name, "enabled": enabled, "paused": "*" in paused or name in paused,
        "trades_today": trades, "max_trades_per_day": limit,
        "attempts_today": counts["attempts"] if counts else 0,
        "max_attempts_per_day": attempts,
        "limit_reached": limit is not None and trades >= limit,
        "window": window or viewed.get("window"),
        "window_from": "strategy files" if window else ("service" if viewed else None),
    }


def totals(report: dict[str, Any], closed_today: dict[str, Any]) -> dict[str, Any]:
    live = report.get("live") or {}
    live_totals = live.get("totals") or {}
    return {
        "open_trades": len(report["active_trades"]),
        "trades_today": sum(c["trades"] for c in report["today"]),
        "attempts_today": sum(c["attempts"] for c in report["today"]),
        "unrealized_pnl_usd": live_totals.get("unrealized_pnl_usd"),
        "marks_as_of": live_totals.get("marks_as_of"),
        "greeks": live_totals.get("greeks"),
        **closed_today,
    }


def closed_today_sums(trades: list[Any]) -> dict[str, Any]:
    """Trades closed or failed today: how many, gross, fees and net PnL in USD."""
    gross = sum((t.realized_pnl() for t in trades), Decimal(0))
    fees = sum((t.fees() for t in trades), Decimal(0))
    return {"closed_today": len(trades), "realized_pnl_today_gross_usd": str(gross),
            "fees_today_usd": str(fees), "realized_pnl_today_net_usd": str(gross - fees)}
