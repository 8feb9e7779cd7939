"""`runner run`: the long-lived service, as NSSM or systemd start it.

The process never exits on its own in normal operation (lessons A2). SIGINT, SIGTERM
and Ctrl+Break ask the loop to stop after the current tick (never inside one, A5; see
`runner.service.stopping`): the sleep between ticks ends within 0.1 s, the tick in progress gets
short exchange timeouts, then working orders and active RFQs are cancelled within the
stop budget (what could not be is logged for the next start's reconciliation), trade
state is left exactly as it is (A4), the store and the logs are flushed, a "stopped"
heartbeat is written, and the exit code is 0. Every other way out is one code of
`runner.service.exit_codes` with a one-line reason. Periodic housekeeping (health record every
5 minutes, open-trades snapshot every 60 s) runs on the `schedule` package, between
ticks, on the loop thread, and never raises out of it (`runner.service.loop_guard`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import schedule
from loguru import logger

from runner.domain.clock import SystemClock
from runner.service import exit_codes
from runner.service.alerts import LogAlerter, build_alerter
from runner.service.exit_codes import ServiceExit, refuse
from runner.service.feed_choice import FeedChoice, feed_choice
from runner.service.health import HealthMonitor
from runner.service.heartbeat import RUNNING, STOPPED, Heartbeat, write_heartbeat
from runner.service.log import configure_logging, shutdown_logging
from runner.service.loop_guard import StorageStreak, quietly
from runner.service.narrator import Narrator
from runner.service.runtime import (
    Runtime,
    SavedPaperVenue,
    assemble,
    build_exchange,
    open_paper_exchange,
)
from runner.service.settings import Environment, Settings
from runner.service.start_checks import (
    announce_production,
    apply_decision,
    check_key,
    fresh_start_allowed,
    prepare_state,
)
from runner.service.stopping import InterruptibleClock, StopRequest, cancel_on_the_way_out
from runner.service.strategy_files import load_for_run, nothing_to_run, report_invalid_files
from runner.service.tick_report import TickReport, TooManyFailures
from runner.service.tick_view import gather
from runner.sim.venue_state import VenueStateTooNew
from runner.store.snapshot_file import default_snapshot_path, write_open_trades
from runner.store.store import default_store_path
from runner.strategy.fileset import strategy_files

if TYPE_CHECKING:
    from runner.service.feed_wiring import AttachedFeed

HEALTH_EVERY_MINUTES: Final = 5
SNAPSHOT_EVERY_SECONDS: Final = 60


def run_service(args: argparse.Namespace, settings: Settings, tick_seconds: float,
                stop: StopRequest | None = None) -> int:
    """Run until a signal; return the process exit code (`runner.service.exit_codes`). The caller
    (`runner.service.process`) has loaded the settings and holds the state directory's lock.
    Every way out is one code with a one-line reason on stderr and in the log; only an
    unknown error adds its traceback, to the log file alone."""
    try:
        configure_logging(settings.log_dir, secrets=settings.secrets())
    except OSError as error:
        return refuse(exit_codes.ENVIRONMENT,
                      f"the log directory {settings.log_dir} is not writable: {error}")
    try:
        return _serve(args, settings, tick_seconds, stop or StopRequest())
    except ServiceExit as leaving:
        return _leave(leaving.code, leaving.reason)
    except Exception as error:
        code, reason = exit_codes.classify(error)
        if code == exit_codes.LOOP_FAILED:
            logger.bind(file_only=True).opt(exception=error).error("unexpected error")
        else:
            reason += f" (state {settings.state_dir}, logs {settings.log_dir})"
        return _leave(code, reason)
    finally:
        _close_logs()


def _close_logs() -> None:
    """Flush and close the log files; on a full disk even that fails, and the exit code,
    already decided, must not turn into a traceback."""
    try:
        shutdown_logging()
    except OSError as error:
        print(f"runner run: the log files could not be flushed: {error}", file=sys.stderr)


def _leave(code: int, reason: str) -> int:
    """Log the reason (the console sink puts it on stderr) and return the exit code."""
    logger.log("INFO" if code == exit_codes.STOPPED else "CRITICAL", "runner run: exit {} ({}): {}",
               code, exit_codes.MEANINGS[code], reason)
    return code


def _unless_stopped(stop: StopRequest) -> None:
    """A stop requested during the start ends it before the next step (exit 0)."""
    if stop.requested:
        raise ServiceExit(exit_codes.STOPPED, "stopped on request before the service started")


def _serve(args: argparse.Namespace, settings: Settings, tick_seconds: float,
           stop: StopRequest) -> int:
    files = strategy_files(args.files)  # named files and the profiles beside them
    prepare_state(settings)  # one store per environment: before anything reads it
    loaded = load_for_run(list(files))  # invalid files are told; valid ones run (issue 7)
    if nothing_to_run(loaded, default_store_path(settings.state_dir)):
        raise ServiceExit(exit_codes.CONFIGURATION,
                          "no enabled, valid strategy to run, and no trade in flight")
    specs = list(loaded.specs)
    market_feed = _feed_choice(args)  # a bad feed setting stops the start (exit 2)
    clock = SystemClock()
    launch = clock.now()
    seed = args.seed if args.seed is not None else int(launch.timestamp())
    paper: SavedPaperVenue | None = None
    if settings.environment is Environment.PAPER:
        try:
            paper, lines, alarming = open_paper_exchange(settings, clock, seed)
        except VenueStateTooNew as error:  # written by a newer runner: upgrade, not delete
            raise ServiceExit(exit_codes.CONFIGURATION, str(error)) from None
        for line in lines:
            (logger.critical if alarming else logger.info)(line)
        exchange: Any = paper
    else:
        exchange = build_exchange(settings, clock, seed=seed)
        stop.exchange = exchange
        key = check_key(exchange)
        if key is None:
            raise ServiceExit(exit_codes.CONFIGURATION, "the API key may not trade")
        if settings.is_production:
            announce_production(settings, key, stop, skip_wait=getattr(args, "yes", False))
    store_path = default_store_path(settings.state_dir)
    decision = getattr(args, "decision", None)
    if args.fresh and not fresh_start_allowed(store_path, clock, exchange, decision):
        raise ServiceExit(exit_codes.CONFIGURATION, "--fresh refused (see above)")
    _unless_stopped(stop)
    # A beat before the start-up work, so a long reconciliation is not taken for a hang.
    _beat(settings, 0, launch, tuple(spec.name for spec in specs), launch=launch)
    alerter = build_alerter(clock, dotenv_path=str(args.env_file))
    feed = _attach_feed(market_feed, settings, exchange, clock)  # None unless configured
    exchange = feed.exchange if feed is not None else exchange
    runtime = assemble(settings, specs, clock=InterruptibleClock(stop), exchange=exchange,
                       launch=launch, store_path=store_path, listener=_log_event,
                       alerter=alerter)
    _announce(runtime, specs)
    report_invalid_files(loaded, runtime.service.attention, alerter)
    if decision is not None and not apply_decision(runtime, decision):
        runtime.store.close()
        raise ServiceExit(exit_codes.CONFIGURATION, f"--{decision} could not resolve everything")
    stop.on_request(runtime.service.request_stop)
    _react_to_pushes(feed, runtime, stop)
    try:
        return _loop(runtime, tick_seconds, alerter, paper, stop)
    finally:
        alerter.close()
        _stop_feed(feed)


def _attach_feed(choice: FeedChoice, settings: Settings, exchange: Any,
                 clock: SystemClock) -> AttachedFeed | None:
    """The market feed when configured (its client library is loaded only then)."""
    if not choice.enabled:
        return None
    from runner.service.feed_wiring import attach_feed

    return attach_feed(choice, settings, exchange, clock)


def _react_to_pushes(feed: AttachedFeed | None, runtime: Runtime, stop: StopRequest) -> None:
    """With the feed on, a pushed price that makes an exit due ends the wait between ticks.
    The wait looks at the stop every slice; the stop does not wake it (`wake` sets an Event,
    which a signal handler must not: runner.service.stopping)."""
    if feed is not None:
        feed.react(runtime.service, runtime.clock, lambda: stop.requested)


def _stop_feed(feed: AttachedFeed | None) -> None:
    if feed is not None:
        quietly("stopping the market feed", feed.stop)


def _feed_choice(args: argparse.Namespace) -> FeedChoice:
    """RUNNER_MARKET_FEED and its companions (runner/service/feed_wiring.py)."""
    from runner.service.settings import ConfigError, environ_with_dotenv

    try:
        return feed_choice(environ_with_dotenv(args.env_file))
    except ConfigError as error:
        raise ServiceExit(exit_codes.CONFIGURATION, str(error)) from None


def _announce(runtime: Runtime, specs: list[Any]) -> None:
    settings = runtime.settings
    logger.info("runner starting: environment {}, {} strategies: {}",
                settings.environment.value, len(specs), ", ".join(s.name for s in specs))
    for line in runtime.opening.lines():
        (logger.critical if runtime.opening.needs_alert else logger.info)(line)
    for line in runtime.reconciliation.lines:
        (logger.warning if runtime.reconciliation.needs_attention else logger.info)(line)


def _loop(runtime: Runtime, tick_seconds: float, alerter: LogAlerter,
          paper: SavedPaperVenue | None, stop: StopRequest) -> int:
    monitor = HealthMonitor(runtime.exchange, runtime.clock, alerter=alerter)
    jobs = schedule.Scheduler()
    jobs.every(HEALTH_EVERY_MINUTES).minutes.do(_record_health, runtime, monitor)
    jobs.every(SNAPSHOT_EVERY_SECONDS).seconds.do(_write_snapshot, runtime)
    _record_health(runtime, monitor)
    storage = StorageStreak()
    narrator = Narrator(_narrate)  # the summary and state-change lines (issue 9)
    alerter.add_sink(narrator)  # the last alerts, for runner status
    last_view: list[dict[str, Any] | None] = [None]  # kept in the "stopped" beat

    def after_tick(report: TickReport) -> None:
        _log_tick(report)
        storage.observe(report.strategy_errors)
        last_error = report.strategy_errors[-1][1] if report.strategy_errors else None
        view = quietly("the status view", lambda: gather(runtime.service, runtime.store,
                                                         report.at))
        told = quietly("the narrator", lambda: narrator.hear(report, view))
        last_view[:] = [told]
        _beat(runtime.settings, runtime.service.ticks, report.at,
              tuple(s.name for s in runtime.service.specs), last_error,
              runtime.service.attention.lines(), launch=runtime.service.launch, view=told)
        if paper is not None:
            paper.save()  # fills found by the tick's reads (resting orders, expiries)
        jobs.run_pending()

    code, reason = 0, None
    try:
        runtime.service.run(tick_seconds, on_tick=after_tick)
    except TooManyFailures as error:
        logger.critical("exiting for the supervisor to restart: {}", error)
        code, reason = exit_codes.classify(error)
        if code == exit_codes.LOOP_FAILED:
            reason = str(error)
    except ServiceExit as leaving:
        code, reason = leaving.code, leaving.reason
    finally:
        if stop.signum is not None:
            logger.warning("signal {} received: stopping (cancelling working orders and RFQs)",
                           stop.signum)
        _stop(runtime, reason, stop, last_view[0])
        if paper is not None:
            paper.save()
    if code:
        raise ServiceExit(code, reason or "the loop ended")
    return code


def _beat(settings: Settings, tick: int, at: datetime, strategies: tuple[str, ...],
          last_error: str | None = None, problems: tuple[str, ...] = (),
          state: str = RUNNING, launch: datetime | None = None,
          view: dict[str, Any] | None = None) -> None:
    """Write the heartbeat (H1); a failed write is logged once, never fatal to the loop."""
    quietly("the heartbeat", lambda: write_heartbeat(settings.state_dir, Heartbeat(
        at=at, tick=tick, environment=settings.environment.value, strategies=strategies,
        last_error=last_error, problems=problems, state=state, launched_at=launch,
        view=view)))


def _record_health(runtime: Runtime, monitor: HealthMonitor) -> None:
    """The 5-minute health line in health.log, and alerts for the problems it shows."""
    verdict = runtime.service.watch.verdict
    quietly("the health record", lambda: monitor.record(
        reachable=verdict.reachable, stale_prices=verdict.stale,
        open_trades=len(runtime.store.load_active_trades())))


def _write_snapshot(runtime: Runtime) -> None:
    """The open-trades snapshot; a read-only state directory or a full disk is logged."""
    quietly("the open-trades snapshot", lambda: write_open_trades(
        default_snapshot_path(runtime.settings.state_dir), runtime.store.load_active_trades(),
        runtime.clock.now()))


def _stop(runtime: Runtime, reason: str | None, stop: StopRequest,
          view: dict[str, Any] | None = None) -> None:
    """Cancel what works on the exchange within the stop budget, keep trade state as it is
    (A4), write the snapshot, close the store, say "stopped" in the heartbeat."""
    way_out = quietly("cancelling on the way out", lambda: cancel_on_the_way_out(
        runtime.service, runtime.store, runtime.dispatcher, stop))
    _write_snapshot(runtime)
    quietly("closing the store", runtime.store.close)
    # At once, so `runner health` and `runner trades` know the service is gone (issue 7).
    _beat(runtime.settings, runtime.service.ticks, runtime.clock.now(),
          tuple(s.name for s in runtime.service.specs), reason, state=STOPPED, view=view)
    logger.info("stopped cleanly: {} working orders and {} RFQs cancelled; trade state kept"
                " as it was", way_out.orders_cancelled if way_out else 0,
                way_out.rfqs_cancelled if way_out else 0)


def _log_tick(report: TickReport) -> None:
    for name, why in report.blocked_entries:
        logger.bind(strategy=name).debug("entry held back: {}", why)
    for name, error in report.strategy_errors:
        logger.bind(strategy=name).error("strategy isolated for this tick: {}", error)
    if report.snapshot_failures:
        logger.warning("reads failed this tick: {}", "; ".join(report.snapshot_failures))


def _narrate(strategy: str | None, text: str) -> None:
    """A narrator line (runner.service.narrator): INFO, on the console and in trading.log."""
    (logger.bind(strategy=strategy) if strategy else logger).info(text)


def _log_event(kind: str, data: dict[str, object]) -> None:
    strategy = str(data.get("strategy", "-"))
    if kind in ("concern_raised", "concern_cleared"):
        level = ("CRITICAL" if data.get("blocks_entries") else "WARNING"
                 ) if kind == "concern_raised" else "INFO"
        verb = "NEEDS ATTENTION" if kind == "concern_raised" else "resolved"
        logger.bind(strategy=strategy).log(level, "{}: {}", verb, data.get("text"))
        return
    if kind == "legs_unresolved":  # a strategy that cannot trade says why, once per window
        logger.bind(strategy=strategy).warning("cannot open in the window opened at {}: {}",
                                               data.get("window"), data.get("reason"))
        return
    logger.bind(strategy=strategy).info("{}: {}", kind.replace("_", " "),
                                        ", ".join(f"{k}={v}" for k, v in data.items()))

