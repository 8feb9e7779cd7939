"""What `runner run` checks and decides before its loop starts.

The state layout (one store per environment), the API key (refused when it may not trade),
the production banner and its grace period, `--fresh` (archive, never delete) and
`--adopt` / `--flatten` (the operator's decision on positions the store does not know).
Each refusal is a `ServiceExit` with its exit code, or a False the caller turns into one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from loguru import logger

from runner.domain.clock import SystemClock
from runner.reconcile import fresh_start_blocked
from runner.service import exit_codes
from runner.service.exit_codes import ServiceExit
from runner.service.runtime import (
    PRODUCTION_GRACE_SECONDS,
    Runtime,
    describe_key,
    production_banner,
)
from runner.service.settings import Settings
from runner.service.stopping import StopRequest


def prepare_state(settings: Settings) -> None:
    """One store per environment: move a store from before that into its directory (issue 7);
    a store whose environment cannot be told is a configuration error (exit 2)."""
    from runner.store.layout import LegacyStateUnclear, prepare_state

    try:
        for line in prepare_state(settings.root, settings.environment.value):
            logger.warning(line)
    except LegacyStateUnclear as error:
        raise ServiceExit(exit_codes.CONFIGURATION, f"refusing to start: {error}") from None


def check_key(exchange: Any) -> str | None:
    """What the key may do, in words; None when it may not trade (refused, said why)."""
    from runner.exchange.errors import AuthenticationFailed, ExchangeError

    try:
        info = exchange.require_trading_key()
    except AuthenticationFailed as error:
        logger.critical("refusing to start: {}", error)
        print(f"runner run: refusing to start: {error}", file=sys.stderr)
        return None
    except ExchangeError as error:
        logger.warning("could not check the API key yet ({}); starting, will retry reads", error)
        info = None
    return describe_key(info)


def announce_production(settings: Settings, key: str, stop: StopRequest, *,
                         skip_wait: bool) -> None:
    """The banner names where orders really go and what the key may do; then nothing is
    traded for PRODUCTION_GRACE_SECONDS (a Ctrl+C meanwhile stops before any order)."""
    grace = 0.0 if skip_wait else PRODUCTION_GRACE_SECONDS
    print(production_banner(str(settings.base_url), key, grace), file=sys.stderr, flush=True)
    logger.critical("PRODUCTION: real money; orders go to {}; API key: {}; trading starts in"
                    " {:g} s", settings.base_url, key, grace)
    if stop.wait(grace):
        raise ServiceExit(exit_codes.STOPPED, "stopped on request during the production "
                                              "start, before any order")


def fresh_start_allowed(store_path: Path, clock: SystemClock, exchange: Any,
                         decision: str | None) -> bool:
    """--fresh: archive the store (never delete it), unless positions are open (A9).

    With --flatten the old store's positions are closed first; with --adopt they are
    adopted into the new store after the start.
    """
    from runner.reconcile.start_decision import apply_start_decision
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


def apply_decision(runtime: Runtime, decision: str) -> bool:
    """Apply --adopt / --flatten to the running store, then reload the trades (H6)."""
    from runner.reconcile.start_decision import apply_start_decision

    result = apply_start_decision(runtime.store, runtime.exchange, runtime.clock.now(),
                                  decision)  # type: ignore[arg-type]
    for line in result.lines:
        (logger.info if result.ok else logger.critical)(line)
    runtime.service.resume(runtime.clock.now())
    if not result.ok:
        print(f"runner run --{decision}: not everything could be resolved; see the log",
              file=sys.stderr)
    return result.ok
