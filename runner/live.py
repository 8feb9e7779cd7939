"""`runner run`: the long-lived service, as NSSM or systemd start it.

The process never exits on its own in normal operation (lessons A2). SIGINT, SIGTERM
and Ctrl+Break ask the loop to stop after the current tick (never inside one, A5);
then working orders are cancelled, trade state is left exactly as it is (A4), the
store and the logs are flushed, and the exit code is 0. Ten consecutive failed ticks
exit with code 3 so the supervisor restarts the process (restart on failure only).
Periodic housekeeping (health record every 5 minutes, open-trades snapshot every
60 s) runs on the `schedule` package, between ticks, on the loop thread.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import schedule
from loguru import logger

from runner.alerts import LogAlerter, build_alerter
from runner.config import ConfigError, Environment, Settings, load_settings_from_env
from runner.domain.clock import SystemClock
from runner.exchange.sim.venue_state import VenueStateTooNew
from runner.health import HealthMonitor, Heartbeat, write_heartbeat
from runner.log import configure_logging, shutdown_logging
from runner.reconcile import fresh_start_blocked
from runner.runtime import (
    PRODUCTION_BANNER,
    Runtime,
    SavedPaperVenue,
    assemble,
    build_exchange,
    open_paper_exchange,
)
from runner.service import TickReport, TooManyFailures
from runner.service_commands import EXIT_FAILURE_STREAK
from runner.spec.convert import duration as parse_duration
from runner.spec.fileset import strategy_files
from runner.store.snapshot_file import default_snapshot_path, write_open_trades
from runner.store.store import default_store_path
from runner.strategy_files import load_for_run, nothing_to_run, report_invalid_files

HEALTH_EVERY_MINUTES: Final = 5
SNAPSHOT_EVERY_SECONDS: Final = 60


def run_service(args: argparse.Namespace) -> int:
    """Run until a signal; return the process exit code."""
    try:
        settings = load_settings_from_env(args.env_file)
        tick = parse_duration(args.tick)
    except (ConfigError, ValueError) as error:
        print(f"runner run: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_dir, secrets=settings.secrets())
    try:
        return _serve(args, settings, tick.total_seconds() if tick else 2.0)
    finally:
        shutdown_logging()


def _serve(args: argparse.Namespace, settings: Settings, tick_seconds: float) -> int:
    if settings.is_production:
        print(PRODUCTION_BANNER, file=sys.stderr, flush=True)
        logger.critical("PRODUCTION: real money; orders go to {}", settings.base_url)
    files = strategy_files(args.files)  # named files and the profiles beside them
    loaded = load_for_run(list(files))  # invalid files are told; valid ones run (issue 7)
    if nothing_to_run(loaded, default_store_path(settings.state_dir)):
        return 2
    specs = list(loaded.specs)
    clock = SystemClock()
    launch = clock.now()
    seed = args.seed if args.seed is not None else int(launch.timestamp())
    paper: SavedPaperVenue | None = None
    if settings.environment is Environment.PAPER:
        try:
            paper, lines, alarming = open_paper_exchange(settings, clock, seed)
        except VenueStateTooNew as error:  # written by a newer runner: upgrade, not delete
            print(f"runner run: {error}", file=sys.stderr)
            return 2
        for line in lines:
            (logger.critical if alarming else logger.info)(line)
        exchange: Any = paper
    else:
        exchange = build_exchange(settings, clock, seed=seed)
        if not _key_may_trade(exchange):
            return 2
    store_path = default_store_path(settings.state_dir)
    decision = getattr(args, "decision", None)
    if args.fresh and not _fresh_start_allowed(store_path, clock, exchange, decision):
        return 2
    # A beat before the start-up work, so a long reconciliation is not taken for a hang.
    _beat(settings, 0, launch, tuple(spec.name for spec in specs))
    alerter = build_alerter(clock, dotenv_path=str(args.env_file))
    runtime = assemble(settings, specs, clock=clock, exchange=exchange, launch=launch,
                       store_path=store_path, listener=_log_event, alerter=alerter)
    _announce(runtime, specs)
    report_invalid_files(loaded, runtime.service.attention, alerter)
    if decision is not None and not _apply_decision(runtime, decision):
        runtime.store.close()
        return 2
    _install_signal_handlers(runtime)
    try:
        return _loop(runtime, tick_seconds, alerter, paper)
    finally:
        alerter.close()


def _key_may_trade(exchange: Any) -> bool:
    """Refuse to start with a read-only or rejected key; an unreachable exchange is not fatal
    (the loop retries and reconciliation waits for it)."""
    from runner.exchange.errors import AuthenticationFailed, ExchangeError

    try:
        exchange.require_trading_key()
    except AuthenticationFailed as error:
        logger.critical("refusing to start: {}", error)
        print(f"runner run: refusing to start: {error}", file=sys.stderr)
        return False
    except ExchangeError as error:
        logger.warning("could not check the API key yet ({}); starting, will retry reads", error)
    return True


def _fresh_start_allowed(store_path: Path, clock: SystemClock, exchange: Any,
                         decision: str | None) -> bool:
    """--fresh: archive the store (never delete it), unless positions are open (A9).

    With --flatten the old store's positions are closed first; with --adopt they are
    adopted into the new store after the start.
    """
    from runner.operator import apply_start_decision
    from runner.store.recovery import open_store

    if not store_path.exists():
        return True
    opening = open_store(store_path, clock)
    try:
        if decision == "flatten":
            for line in apply_start_decision(opening.store, exchange, clock.now(),
                                             "flatten").lines:
                logger.warning(line)
        blocked = fresh_start_blocked(opening.store, exchange)
    finally:
        opening.store.close()
    if blocked and decision != "adopt":
        print(f"runner run --fresh refused: {blocked}; decide with --adopt or --flatten",
              file=sys.stderr)
        return False
    archived = store_path.with_name(f"{store_path.name}.archived-{clock.now():%Y%m%dT%H%M%SZ}")
    store_path.rename(archived)
    logger.warning("--fresh: the previous store was kept as {}", archived)
    return True


def _apply_decision(runtime: Runtime, decision: str) -> bool:
    """Apply --adopt / --flatten to the running store, then reload the trades (H6)."""
    from runner.operator import apply_start_decision

    result = apply_start_decision(runtime.store, runtime.exchange, runtime.clock.now(),
                                  decision)  # type: ignore[arg-type]
    for line in result.lines:
        (logger.info if result.ok else logger.critical)(line)
    runtime.service.resume(runtime.clock.now())
    if not result.ok:
        print(f"runner run --{decision}: not everything could be resolved; see the log",
              file=sys.stderr)
    return result.ok


def _announce(runtime: Runtime, specs: list[Any]) -> None:
    settings = runtime.settings
    logger.info("runner starting: environment {}, {} strategies: {}",
                settings.environment.value, len(specs), ", ".join(s.name for s in specs))
    for line in runtime.opening.lines():
        (logger.critical if runtime.opening.needs_alert else logger.info)(line)
    for line in runtime.reconciliation.lines:
        (logger.warning if runtime.reconciliation.needs_attention else logger.info)(line)


def _install_signal_handlers(runtime: Runtime) -> None:
    def stop(signum: int, _frame: object) -> None:
        logger.warning("signal {} received: stopping after this tick", signum)
        runtime.service.request_stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if hasattr(signal, "SIGBREAK"):  # Ctrl+Break on Windows (NSSM's console stop)
        signal.signal(signal.SIGBREAK, stop)


def _loop(runtime: Runtime, tick_seconds: float, alerter: LogAlerter,
          paper: SavedPaperVenue | None) -> int:
    monitor = HealthMonitor(runtime.exchange, runtime.clock, alerter=alerter)
    jobs = schedule.Scheduler()
    jobs.every(HEALTH_EVERY_MINUTES).minutes.do(_record_health, runtime, monitor)
    jobs.every(SNAPSHOT_EVERY_SECONDS).seconds.do(_write_snapshot, runtime)
    _record_health(runtime, monitor)

    def after_tick(report: TickReport) -> None:
        _log_tick(report)
        last_error = report.strategy_errors[-1][1] if report.strategy_errors else None
        _beat(runtime.settings, runtime.service.ticks, report.at,
              tuple(s.name for s in runtime.service.specs), last_error,
              runtime.service.attention.lines())
        if paper is not None:
            paper.save()  # fills found by the tick's reads (resting orders, expiries)
        jobs.run_pending()

    code = 0
    try:
        runtime.service.run(tick_seconds, on_tick=after_tick)
    except TooManyFailures as error:
        logger.critical("exiting for the supervisor to restart: {}", error)
        code = EXIT_FAILURE_STREAK
    finally:
        _stop(runtime)
        if paper is not None:
            paper.save()
    return code


def _beat(settings: Settings, tick: int, at: datetime, strategies: tuple[str, ...],
          last_error: str | None = None, problems: tuple[str, ...] = ()) -> None:
    """Write the heartbeat (H1); a failed write is logged, never fatal to the loop."""
    try:
        write_heartbeat(settings.state_dir, Heartbeat(
            at=at, tick=tick, environment=settings.environment.value, strategies=strategies,
            last_error=last_error, problems=problems))
    except OSError as error:
        logger.error("heartbeat could not be written: {}", error)


def _record_health(runtime: Runtime, monitor: HealthMonitor) -> None:
    """The 5-minute health line in health.log, and alerts for the problems it shows."""
    verdict = runtime.service.watch.verdict
    monitor.record(reachable=verdict.reachable, stale_prices=verdict.stale,
                   open_trades=len(runtime.store.load_active_trades()))


def _write_snapshot(runtime: Runtime) -> None:
    write_open_trades(default_snapshot_path(runtime.settings.state_dir),
                      runtime.store.load_active_trades(), runtime.clock.now())


def _stop(runtime: Runtime) -> None:
    cancelled = runtime.service.cancel_working_orders()
    _write_snapshot(runtime)
    runtime.store.close()
    logger.info("stopped cleanly: {} working orders cancelled; trade state kept as it was",
                cancelled)


def _log_tick(report: TickReport) -> None:
    for name, why in report.blocked_entries:
        logger.bind(strategy=name).debug("entry held back: {}", why)
    for name, error in report.strategy_errors:
        logger.bind(strategy=name).error("strategy isolated for this tick: {}", error)
    if report.snapshot_failures:
        logger.warning("reads failed this tick: {}", "; ".join(report.snapshot_failures))


def _log_event(kind: str, data: dict[str, object]) -> None:
    strategy = str(data.get("strategy", "-"))
    if kind in ("concern_raised", "concern_cleared"):
        level = ("CRITICAL" if data.get("blocks_entries") else "WARNING"
                 ) if kind == "concern_raised" else "INFO"
        verb = "NEEDS ATTENTION" if kind == "concern_raised" else "resolved"
        logger.bind(strategy=strategy).log(level, "{}: {}", verb, data.get("text"))
        return
    logger.bind(strategy=strategy).info("{}: {}", kind.replace("_", " "),
                                        ", ".join(f"{k}={v}" for k, v in data.items()))

