"""Logging: loguru sinks, in-process rotation and retention, and secret redaction.

Owns the process-wide loguru configuration of the service: `trading.log` (everything
except the health channel), `health.log` (only records bound with `channel="health"`),
and an optional console sink on stderr (NSSM and journald capture it). Timestamps are
UTC in ISO 8601 (`2026-03-02T10:00:00.123Z`); a record bound with `strategy=` shows it.

Invariant: no secret reaches a sink. Every record is redacted before it is formatted:
the message, every bound extra and the exception text. Redaction masks
- each registered secret value, and any run of >= 8 consecutive characters of one, so
  a printed prefix (the old system printed the first 20 characters of the key) is
  masked too;
- values that look like credentials whatever they are: `api_key=...`, `"apiKey": "..."`,
  `X-CC-APIKEY: ...`, `secret=...`, `token=...`, `sign=...`, `password=...`, Telegram
  `bot<id>:<token>` URLs; and bound extras whose name says credential (`api_secret=`).

Deliberate choices:
- Redaction runs twice per record, in the core patcher (so a sink added later, e.g. by a
  test, is covered) and in each of our sinks' filters (which run after `logger.patch()`
  patchers). It is idempotent and cheap.
- Exceptions are turned into text (stdlib `traceback`, no local variables) and redacted;
  loguru's `diagnose` is off everywhere because it prints variable values, which is
  exactly where a key would sit. The record's `exception` is then cleared.
- File sinks are synchronous and line-buffered by default (`enqueue=False`): a record is
  in the OS when the call returns, nothing waits in a queue at a kill, and a clean stop
  needs no writer thread. `enqueue=True` is available; `flush_logging()` drains it.
- Rotation is size-based inside the process, so logs never require a service stop (H2);
  retention deletes old `trading*.log*` files only; state lives elsewhere (A9).
- Nothing bypasses the redaction: warnings of the standard `logging` module (urllib3 quotes
  request URLs, and a Telegram URL holds the bot token) are bridged into loguru, and
  unhandled exceptions (main thread and other threads) are logged through it instead of
  being printed raw to stderr, where NSSM would capture them. Those two hooks stay
  installed after `shutdown_logging`, which restores a redacted stderr sink.
- Registered secrets are never forgotten by the process: reconfiguring adds to them, so a
  token registered before `configure_logging` stays masked.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from loguru import logger

MASK: Final = "****"
TRADING_LOG: Final = "trading.log"
HEALTH_LOG: Final = "health.log"
HEALTH_CHANNEL: Final = "health"
ALERT_CHANNEL: Final = "alert"
EXCEPTION_TEXT: Final = "exception_text"  # extra key holding the redacted traceback
FILE_ONLY: Final = "file_only"  # bind(file_only=True): kept off the console (a traceback)

DEFAULT_ROTATION: Final = "20 MB"
DEFAULT_RETENTION: Final = "30 days"
MIN_FRAGMENT: Final = 8  # a run this long of a secret's characters is masked

_TIME: Final = "{time:YYYY-MM-DDTHH:mm:ss.SSS[Z]!UTC}"

# name=value pairs whose name says credential; group 1 keeps the name and separator
_CREDENTIAL_PAIR: Final = re.compile(
    r"(?i)((?<![a-z0-9])(?:api[_-]?key|apikey|api[_-]?secret|secret|token|password|passwd"
    r"|passphrase|authorization|signature|sign)(?![a-z0-9])(?:[_-][a-z0-9]+)*"
    r"\s*[\"']?\s*[:=]\s*[\"']?\s*(?:bearer\s+)?)([^\s\"',;&}\])]+)"
)
_TELEGRAM_TOKEN: Final = re.compile(r"(?i)(?<![a-z0-9])(bot)\d{5,}:[a-z0-9_-]{20,}")
_CREDENTIAL_NAME: Final = re.compile(
    r"(?i)(^|[_-])(api[_-]?key|apikey|secret|token|password|passwd|passphrase"
    r"|authorization|signature|sign)([_-]|$)"
)
_PLAIN_TYPES: Final = (bool, int, float)


class Redactor:
    """Masks secret values, fragments of them, and credential-looking values in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (empty strings are ignored)."""
        known = set(self._secrets)
        known.update(s for s in secrets if s)
        self._secrets = tuple(sorted(known, key=len, reverse=True))

    def text(self, text: str) -> str:
        """`text` with every secret, fragment of one, and credential-looking value masked."""
        # whole credential-looking values first: masking fragments first could break them up
        text = _CREDENTIAL_PAIR.sub(lambda m: m.group(1) + MASK, text)
        text = _TELEGRAM_TOKEN.sub(lambda m: m.group(1) + MASK, text)
        return self._mask_known(text)

    def value(self, name: str, value: Any) -> Any:
        """A bound extra as it may be shown: masked when its name or text holds a secret."""
        if value is None or isinstance(value, _PLAIN_TYPES):
            return value
        if _CREDENTIAL_NAME.search(name):
            return MASK
        try:
            shown = value if isinstance(value, str) else str(value)
        except Exception:  # an extra whose str() fails is shown as nothing rather than crash
            return "<unprintable>"
        masked = self.text(shown)
        return value if masked == shown else masked

    def _mask_known(self, text: str) -> str:
        spans: list[tuple[int, int]] = []
        for secret in self._secrets:
            if len(secret) < MIN_FRAGMENT:
                text = text.replace(secret, MASK)
            else:
                spans.extend(_fragment_spans(text, secret))
        return _mask_spans(text, spans)


def _fragment_spans(text: str, secret: str) -> Iterable[tuple[int, int]]:
    for offset in range(len(secret) - MIN_FRAGMENT + 1):
        window = secret[offset:offset + MIN_FRAGMENT]
        start = text.find(window)
        while start != -1:
            yield start, start + MIN_FRAGMENT
            start = text.find(window, start + 1)


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, cursor = [], 0
    for start, end in merged:
        pieces += [text[cursor:start], MASK]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


@dataclass(slots=True)
class _LoggingState:
    redactor: Redactor = field(default_factory=Redactor)
    handler_ids: list[int] = field(default_factory=list)


_state = _LoggingState()


def redact(text: str) -> str:
    """`text` as the configured logging would show it (secrets masked)."""
    return _state.redactor.text(text)


def register_secrets(*values: str) -> None:
    """Add secret values (e.g. an alert channel's token) to the redaction of every sink."""
    _state.redactor.add(values)


def redact_record(record: dict[str, Any]) -> None:
    """Mask secrets in a loguru record in place: message, extras and exception text."""
    redactor = _state.redactor
    record["message"] = redactor.text(record["message"])
    extra = record["extra"]
    for name, value in list(extra.items()):
        extra[name] = redactor.value(name, value)
    exception = record.get("exception")
    if exception:
        lines = traceback.format_exception(exception.type, exception.value, exception.traceback)
        extra[EXCEPTION_TEXT] = redactor.text("".join(lines)).rstrip("\n")
        record["exception"] = None


def _format(record: dict[str, Any]) -> str:
    extra = record["extra"]
    strategy = "{extra[strategy]} | " if "strategy" in extra else ""
    tail = f"\n{{extra[{EXCEPTION_TEXT}]}}" if EXCEPTION_TEXT in extra else ""
    return f"{_TIME} | {{level: <8}} | {strategy}{{name}}:{{line}} | {{message}}{tail}\n"


def _health_format(record: dict[str, Any]) -> str:
    return f"{_TIME} | {{message}}\n"


def _redacting(accept: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    def sink_filter(record: dict[str, Any]) -> bool:
        if not accept(record):
            return False
        redact_record(record)
        return True

    return sink_filter


def _is_health(record: dict[str, Any]) -> bool:
    return record["extra"].get("channel") == HEALTH_CHANNEL


def _is_not_health(record: dict[str, Any]) -> bool:
    return not _is_health(record)


def _is_console(record: dict[str, Any]) -> bool:
    return _is_not_health(record) and not record["extra"].get(FILE_ONLY)


def configure_logging(
    log_dir: Path,
    *,
    secrets: Sequence[str],
    level: str = "INFO",
    console: bool = True,
    console_level: str | None = None,
    rotation: str | int = DEFAULT_ROTATION,
    retention: str | int | timedelta = DEFAULT_RETENTION,
    compression: str | None = "zip",
    enqueue: bool = False,
) -> None:
    """Send every loguru record to `log_dir`/trading.log, health.log and (optionally) stderr.

    Replaces any loguru handler already installed. `secrets` are masked in every
    record; `register_secrets` adds more later. Standard `logging` warnings and
    unhandled exceptions are routed through the same redaction.
    """
    shutdown_logging(restore_stderr=False)
    logger.remove()
    _state.redactor.add(secrets)
    logger.configure(patcher=redact_record)
    _install_bridges()
    log_dir.mkdir(parents=True, exist_ok=True)
    common: dict[str, Any] = {"backtrace": False, "diagnose": False, "catch": True}
    files: dict[str, Any] = {**common, "rotation": rotation, "retention": retention,
                             "compression": compression, "enqueue": enqueue,
                             "encoding": "utf-8"}
    _state.handler_ids = [
        logger.add(log_dir / TRADING_LOG, level=level, format=_format,
                   filter=_redacting(_is_not_health), **files),
        logger.add(log_dir / HEALTH_LOG, level="INFO", format=_health_format,
                   filter=_redacting(_is_health), **files),
    ]
    if console:
        _state.handler_ids.append(
            logger.add(sys.stderr, level=console_level or level, format=_format,
                       filter=_redacting(_is_console), colorize=False, **common))


def flush_logging() -> None:
    """Wait until every record logged so far has reached its sink."""
    logger.complete()


def shutdown_logging(*, restore_stderr: bool = True) -> None:
    """Flush and close the sinks `configure_logging` installed (files are closed).

    With `restore_stderr`, later records still reach stderr, redacted, so nothing
    logged during the last moments of a stop disappears silently.
    """
    logger.complete()
    root = logging.getLogger()
    for bridge in [h for h in root.handlers if isinstance(h, _StandardLoggingBridge)]:
        root.removeHandler(bridge)
    for handler_id in _state.handler_ids:
        try:
            logger.remove(handler_id)
        except ValueError:  # already removed by someone else
            continue
    _state.handler_ids = []
    if restore_stderr:
        _state.handler_ids.append(
            logger.add(sys.stderr, level="INFO", format=_format, backtrace=False,
                       diagnose=False, filter=_redacting(lambda _record: True)))


class _StandardLoggingBridge(logging.Handler):
    """Standard `logging` records (urllib3, requests ...) into loguru, hence redacted."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(exception=record.exc_info or None).log(level, "{}: {}", record.name,
                                                          record.getMessage())


def _install_bridges() -> None:
    root = logging.getLogger()
    if not any(isinstance(h, _StandardLoggingBridge) for h in root.handlers):
        root.addHandler(_StandardLoggingBridge(level=logging.WARNING))
    sys.excepthook = _log_unhandled
    threading.excepthook = _log_unhandled_in_thread


def _log_unhandled(kind: type[BaseException], error: BaseException,
                   trace: TracebackType | None) -> None:
    logger.opt(exception=(kind, error, trace)).critical("unhandled exception: the process ends")


def _log_unhandled_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "unknown"
    logger.opt(exception=(args.exc_type, args.exc_value, args.exc_traceback)).critical(
        "unhandled exception in thread {}", name)
