"""Strategy files as `runner run` loads them: the valid ones run, the invalid ones are told.

An invalid file never stops the valid strategies, and never leaves a trade unmanaged
(issue 7 item 2): its trades keep the rules they opened with (`runner.service.held_rules`). So that
an operator learns of it, each invalid file is
- printed to stderr and written to logs/ in the words of `runner validate`
  (`file:line:col: error: where: what; fix`);
- raised as a concern (`strategy_file.<path>`) that does not block the valid strategies'
  entries: alerted, carried by the heartbeat, so `runner health` reports degraded.
With no valid enabled strategy `runner run` still starts when the store holds trades in
flight (someone must manage them), and otherwise exits 2 as a configuration error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from loguru import logger

from runner.service.alerts import Alerter, AlertLevel
from runner.service.attention import Attention
from runner.store.peek import holds_trades_in_flight
from runner.strategy.validate import LoadResult, load_strategies

CONCERN_PREFIX = "strategy_file."


def load_for_run(files: Sequence[Path]) -> LoadResult:
    """Load every file; each diagnostic goes to stderr and to the log."""
    result = load_strategies(list(files))
    for diagnostic in result.diagnostics:
        print(diagnostic.render(), file=sys.stderr)
        (logger.error if diagnostic.is_error else logger.warning)(
            "strategy file: {}", diagnostic.render())
    return result


def nothing_to_run(result: LoadResult, store_path: Path) -> bool:
    """No enabled valid strategy and no trade in flight: the caller exits 2 saying so."""
    if any(spec.enabled for spec in result.specs):
        return False
    if holds_trades_in_flight(store_path):
        logger.warning("no enabled, valid strategy to run: starting to manage the trades in"
                       " flight only")
        return False
    return True


def report_invalid_files(result: LoadResult, attention: Attention,
                         alerter: Alerter | None) -> None:
    """One concern (and one alert) per invalid file, in `runner validate`'s words."""
    for path in result.failed_files:
        errors = [d for d in result.errors if d.file == path]
        first = errors[0].render() if errors else f"{path}: invalid"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        text = (f"invalid strategy file, not run: {first}{more}; trades it holds keep the "
                "rules they opened with; run `runner validate` after fixing it")
        key = f"{CONCERN_PREFIX}{path}"
        attention.report(key, text)
        if alerter is not None:
            alerter.alert(key, text, level=AlertLevel.WARNING)
