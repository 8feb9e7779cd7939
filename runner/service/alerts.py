"""Alerts: problems worth a person's attention, de-duplicated, to the log and optionally Telegram.

Owns the `Alerter` seam the service calls, its log-based implementation and the optional
Telegram channel. An alert has a stable key ("exchange.unreachable"); the alerter remembers
which keys are active, so an outage produces one alert when it starts, at most a reminder
every `repeat_after` while it lasts (with the count of suppressed repeats), and one
recovery when it ends (lessons C4: the old system sent a warning every 60 s for 20 min).

Invariants:
- Alerting never raises into the caller: a failing channel is logged and skipped.
- Alert text is redacted before it leaves the process; the Telegram token is registered
  as a secret with the logging layer and is never logged (the request URL holds it, so a
  transport error is reported by type and redacted text only).
- Records go to the log with `channel="alert"` at WARNING or CRITICAL; recoveries are
  logged at WARNING too, so whoever filters for alerts sees both halves of the pair.

Deliberate choices: time comes from an injected Clock (tests use ManualClock). Telegram
is sent from a background thread (`BackgroundSink`) so a slow or unreachable Telegram
never stalls the trading loop; its queue is bounded and `close()` drains it at stop.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol

from loguru import logger

from runner.domain.clock import Clock
from runner.service.log import ALERT_CHANNEL, redact, register_secrets
from runner.service.settings import ConfigError, Secret, environ_with_dotenv

TOKEN_VARIABLE: Final = "TELEGRAM_BOT_TOKEN"  # noqa: S105 - a variable name, not a value
CHAT_VARIABLE: Final = "TELEGRAM_CHAT_ID"
TELEGRAM_URL: Final = "https://api.telegram.org"
DEFAULT_REPEAT_AFTER: Final = timedelta(minutes=30)
# Active keys remembered at most; some keys are never recovered (one page per trade,
# per control request), so without a bound a long run would remember each for ever.
MAX_ACTIVE_KEYS: Final = 256
_TELEGRAM_LIMIT: Final = 4000  # Telegram refuses messages over 4096 characters


class AlertLevel(StrEnum):
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """What a channel delivers: an alert, a reminder of one, or its recovery."""

    key: str
    level: AlertLevel
    text: str
    at: datetime
    source: str = "runner"
    strategy: str | None = None
    recovered: bool = False
    suppressed: int = 0  # repeats not sent since the previous message of this key
    down_for: timedelta | None = None  # for a recovery: how long the problem lasted

    def render(self) -> str:
        """One line for people: `[LEVEL] key: text (details)`."""
        tag = "RECOVERED" if self.recovered else self.level.value
        details = []
        if self.strategy:
            details.append(f"strategy {self.strategy}")
        if self.suppressed:
            details.append(f"{self.suppressed} repeats suppressed")
        if self.down_for is not None:
            details.append(f"lasted {_minutes(self.down_for)}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"[{tag}] {self.key}: {self.text}{suffix}"


def _minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} min" if minutes else f"{int(span.total_seconds())} s"


class Alerter(Protocol):
    """Where the service reports problems (`alert`) and their end (`recover`)."""

    def alert(self, key: str, text: str, *, level: AlertLevel = AlertLevel.WARNING,
              strategy: str | None = None) -> bool: ...

    def recover(self, key: str, text: str, *, strategy: str | None = None) -> bool: ...


class AlertSink(Protocol):
    """A delivery channel; `send` may raise, the alerter contains it."""

    def send(self, message: AlertMessage) -> None: ...


@dataclass(slots=True)
class _Active:
    since: datetime
    last_sent: datetime
    suppressed: int = 0


class AlertGate:
    """Pure de-duplication: which alerts and recoveries are worth sending, and when.

    At most `max_active` keys are remembered: beyond, the one sent longest ago is
    forgotten (a key alerted once and never recovered, such as a trade's page, would
    otherwise stay for ever); a forgotten key alerts again as new, and its recovery,
    if it ever comes, is not sent.
    """

    def __init__(self, repeat_after: timedelta = DEFAULT_REPEAT_AFTER, *,
                 max_active: int = MAX_ACTIVE_KEYS) -> None:
        self.repeat_after = repeat_after
        self.max_active = max_active
        self._active: dict[str, _Active] = {}

    def admit_alert(self, key: str, now: datetime) -> int | None:
        """None to stay quiet; otherwise send, reporting this many suppressed repeats."""
        state = self._active.get(key)
        if state is None:
            while len(self._active) >= self.max_active:
                del self._active[min(self._active, key=lambda k: self._active[k].last_sent)]
            self._active[key] = _Active(since=now, last_sent=now)
            return 0
        if now - state.last_sent < self.repeat_after:
            state.suppressed += 1
            return None
        suppressed, state.suppressed, state.last_sent = state.suppressed, 0, now
        return suppressed

    def admit_recovery(self, key: str, now: datetime) -> timedelta | None:
        """How long the problem lasted when `key` was active (send); None otherwise."""
        state = self._active.pop(key, None)
        return None if state is None else now - state.since

    def active(self) -> tuple[str, ...]:
        return tuple(sorted(self._active))


class LogAlerter:
    """Alerts to the log's alert channel, then to each extra sink; de-duplicated by key."""

    def __init__(self, clock: Clock, *, repeat_after: timedelta = DEFAULT_REPEAT_AFTER,
                 sinks: Sequence[AlertSink] = (), source: str = "runner") -> None:
        self._clock = clock
        self._gate = AlertGate(repeat_after)
        self._sinks = tuple(sinks)
        self._source = source
        self._lock = threading.Lock()

    def alert(self, key: str, text: str, *, level: AlertLevel = AlertLevel.WARNING,
              strategy: str | None = None) -> bool:
        """Report a problem; True when it was sent, False when de-duplicated."""
        now = self._clock.now()
        with self._lock:
            suppressed = self._gate.admit_alert(_gate_key(key, strategy), now)
        if suppressed is None:
            return False
        self._deliver(AlertMessage(key, level, redact(text), now, self._source, strategy,
                                   suppressed=suppressed))
        return True

    def recover(self, key: str, text: str, *, strategy: str | None = None) -> bool:
        """Report that a problem ended; sent only when `key` was active."""
        now = self._clock.now()
        with self._lock:
            down_for = self._gate.admit_recovery(_gate_key(key, strategy), now)
        if down_for is None:
            return False
        self._deliver(AlertMessage(key, AlertLevel.WARNING, redact(text), now, self._source,
                                   strategy, recovered=True, down_for=down_for))
        return True

    def add_sink(self, sink: AlertSink) -> None:
        """One more channel (e.g. the narrator's memory of the last alerts for status)."""
        self._sinks = (*self._sinks, sink)

    @property
    def sinks(self) -> tuple[AlertSink, ...]:
        """The channels besides the log."""
        return self._sinks

    def active(self) -> tuple[str, ...]:
        """Keys alerted and not yet recovered (`key@strategy` for a strategy's alert)."""
        with self._lock:
            return self._gate.active()

    def close(self, timeout: float = 5.0) -> None:
        """Let channels deliver what they hold (call at a clean stop)."""
        for sink in self._sinks:
            closer = getattr(sink, "close", None)
            if callable(closer):
                closer(timeout)

    def _deliver(self, message: AlertMessage) -> None:
        bound = {"channel": ALERT_CHANNEL, "alert_key": message.key}
        if message.strategy:
            bound["strategy"] = message.strategy
        logger.bind(**bound).log(message.level.value, message.render())
        for sink in self._sinks:
            try:
                sink.send(message)
            except Exception as error:  # a channel failure must never reach the trading loop
                logger.warning("alert channel {} failed: {}: {}", type(sink).__name__,
                               type(error).__name__, redact(str(error)))


def _gate_key(key: str, strategy: str | None) -> str:
    """Each strategy's problem is its own: one strategy's alert never silences another's."""
    return f"{key}@{strategy}" if strategy else key


def apply_problems(alerter: Alerter, problems: Mapping[str, str], keys: Iterable[str], *,
                   level: AlertLevel = AlertLevel.WARNING) -> None:
    """Alert each key present in `problems`; recover each of `keys` that is absent."""
    for key, text in problems.items():
        alerter.alert(key, text, level=level)
    for key in keys:
        if key not in problems:
            alerter.recover(key, f"{key} cleared")


class TelegramSink:
    """Sends alerts with the Telegram Bot API `sendMessage` (blocking, with a timeout)."""

    def __init__(self, token: Secret | str, chat_id: str, *, base_url: str = TELEGRAM_URL,
                 timeout: float = 10.0, session: Any = None) -> None:
        self._token = token if isinstance(token, Secret) else Secret(token)
        register_secrets(self._token.reveal())
        self._chat_id = chat_id
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._session = session

    def send(self, message: AlertMessage) -> None:
        """Post the message; problems are logged (without the token), never raised."""
        import requests

        session = self._session or requests
        url = f"{self._base_url}/bot{self._token.reveal()}/sendMessage"
        text = f"{message.source}: {message.render()}"[:_TELEGRAM_LIMIT]
        payload = {"chat_id": self._chat_id, "text": text, "disable_web_page_preview": True}
        try:
            response = session.post(url, json=payload, timeout=self._timeout)
        except Exception as error:  # requests errors quote the URL, i.e. the token
            logger.warning("telegram alert not sent: {}: {}", type(error).__name__,
                           redact(str(error)))
            return
        if response.status_code != 200:
            logger.warning("telegram alert refused: HTTP {} {}", response.status_code,
                           redact(response.text[:200]))

    def __repr__(self) -> str:
        return f"TelegramSink(chat_id={self._chat_id!r}, token={self._token!r})"


class BackgroundSink:
    """Delivers through `inner` on a daemon thread so a slow channel never stalls the loop."""

    def __init__(self, inner: AlertSink, *, capacity: int = 100) -> None:
        self._inner = inner
        self._queue: queue.Queue[AlertMessage | None] = queue.Queue(maxsize=capacity)  # None = stop
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def send(self, message: AlertMessage) -> None:
        """Queue the message; drop it (logged) when the queue is full."""
        self._ensure_started()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            logger.warning("alert queue full, dropped: {}", message.render())

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop the thread (waits at most `timeout`)."""
        thread = self._thread
        if thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        thread.join(timeout)
        self._thread = None

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="alert-sender",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._inner.send(item)
            except Exception as error:
                logger.warning("alert channel failed: {}: {}", type(error).__name__,
                               redact(str(error)))


def telegram_sink_from_env(environ: Mapping[str, str]) -> TelegramSink | None:
    """A Telegram sink when both variables are set, None when neither; ConfigError otherwise."""
    token = (environ.get(TOKEN_VARIABLE) or "").strip()
    chat_id = (environ.get(CHAT_VARIABLE) or "").strip()
    if not token and not chat_id:
        return None
    if not token or not chat_id:
        missing = TOKEN_VARIABLE if not token else CHAT_VARIABLE
        raise ConfigError(f"{missing} is not set: Telegram alerts need both "
                          f"{TOKEN_VARIABLE} and {CHAT_VARIABLE} (or neither)")
    return TelegramSink(token, chat_id)


def build_alerter(clock: Clock, environ: Mapping[str, str] | None = None, *,
                  source: str = "runner", dotenv_path: str | None = ".env") -> LogAlerter:
    """The service's alerter: the log, plus Telegram when configured (env, then .env)."""
    if environ is None:
        environ = environ_with_dotenv(dotenv_path or None)
    sink = telegram_sink_from_env(environ)
    sinks: list[AlertSink] = [BackgroundSink(sink)] if sink else []
    return LogAlerter(clock, sinks=sinks, source=source)
