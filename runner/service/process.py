"""The process around `runner run`: settings, one service per state directory, exit codes.

Owns what must happen before the service is built and may end the process early, kept
light (the service's imports come after) so a refused start answers within a second:
1. the settings (a configuration error exits 2);
2. the state directory's lock (`runner.service.instance_lock`): a second `runner run` on the same
   directory exits 2 naming the holder's pid, before it touches the store or the
   exchange; a state directory that cannot be written exits 4;
3. then `runner.service.live.run_service`, the service itself, with the lock held until the
   process ends.
The stop signals are routed to a `runner.service.stopping.StopRequest` first of all, so a Ctrl+C
at any moment of the start is a clean stop (exit 0), never a traceback.
Every exit is one of `runner.service.exit_codes`, with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import sys

from runner.service import exit_codes
from runner.service.instance_lock import InstanceLock, LockHeld
from runner.service.settings import ConfigError, load_settings_from_env
from runner.service.stopping import StopRequest, install_stop_signals, restore_signals

DEFAULT_TICK_SECONDS = 2.0


def run(args: argparse.Namespace) -> int:
    """Run the service until it stops; return its exit code (see runner.service.exit_codes)."""
    stop = StopRequest()
    previous = install_stop_signals(stop)  # from the first moment: Ctrl+C is a clean stop
    try:
        return _run(args, stop)
    finally:
        restore_signals(previous)


def _run(args: argparse.Namespace, stop: StopRequest) -> int:
    try:
        settings = load_settings_from_env(args.env_file)
        tick_seconds = _tick_seconds(args.tick)
    except (ConfigError, ValueError) as error:
        return refuse(exit_codes.CONFIGURATION, str(error))
    lock = InstanceLock.for_state_dir(settings.state_dir)
    try:
        lock.acquire()
    except LockHeld as held:
        return refuse(exit_codes.CONFIGURATION, str(held))
    except OSError as error:
        return refuse(exit_codes.ENVIRONMENT,
                      f"the state directory {settings.state_dir} is not writable: {error}")
    try:
        from runner.service.live import run_service

        return run_service(args, settings, tick_seconds, stop)
    finally:
        lock.release()


def refuse(code: int, reason: str) -> int:
    """Print the one-line reason on stderr and return `code`."""
    print(f"runner run: {reason}", file=sys.stderr, flush=True)
    return code


def _tick_seconds(text: str) -> float:
    from runner.strategy.convert import duration

    tick = duration(text)
    return tick.total_seconds() if tick else DEFAULT_TICK_SECONDS
