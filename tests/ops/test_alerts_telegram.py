"""The optional Telegram channel, against a Telegram stand-in on loopback (never the network)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock
from runner.service.alerts import (
    AlertLevel,
    AlertMessage,
    BackgroundSink,
    LogAlerter,
    TelegramSink,
    build_alerter,
    telegram_sink_from_env,
)
from runner.service.settings import ConfigError
from tests.ops.helpers_ops import read_logs

TOKEN = "123456789:AAFakeTelegramTokenForTests_abcdefgh"
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class FakeTelegram(ThreadingHTTPServer):
    """Answers sendMessage like Telegram; `status` and `delay` shape the answer."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, object]]] = []
        self.status = 200
        self.delay = 0.0

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client that timed out hung up before the answer: expected, not an error

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeTelegram

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.requests.append((self.path, json.loads(self.rfile.read(length))))
        time.sleep(self.server.delay)
        body = json.dumps({"ok": self.server.status == 200,
                           "description": "Unauthorized"}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _message() -> AlertMessage:
    return AlertMessage("exchange.unreachable", AlertLevel.CRITICAL, "exchange unreachable", AT,
                        source="runner production")


def test_an_alert_is_posted_to_send_message(telegram: FakeTelegram) -> None:
    TelegramSink(TOKEN, "-1001", base_url=telegram.url).send(_message())
    [(path, body)] = telegram.requests
    assert path == f"/bot{TOKEN}/sendMessage"
    assert body == {"chat_id": "-1001", "disable_web_page_preview": True,
                    "text": "runner production: [CRITICAL] exchange.unreachable: "
                            "exchange unreachable"}


def test_the_background_sink_delivers_off_the_loop_and_drains_at_close(
    telegram: FakeTelegram, clock: ManualClock
) -> None:
    sink = BackgroundSink(TelegramSink(TOKEN, "42", base_url=telegram.url))
    alerter = LogAlerter(clock, sinks=[sink])
    alerter.alert("exchange.unreachable", "down")
    alerter.recover("exchange.unreachable", "up")
    alerter.close(timeout=5)
    texts = [body["text"] for _, body in telegram.requests]
    assert texts == ["runner: [WARNING] exchange.unreachable: down",
                     "runner: [RECOVERED] exchange.unreachable: up (lasted 0 s)"]


def test_a_refusal_is_logged_without_the_token(telegram: FakeTelegram, log_dir: Path) -> None:
    telegram.status = 401
    TelegramSink(TOKEN, "42", base_url=telegram.url).send(_message())
    text = read_logs(log_dir)
    assert "telegram alert refused: HTTP 401" in text
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text


def test_an_unreachable_telegram_is_logged_without_the_token(log_dir: Path) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    url = f"http://127.0.0.1:{closed.server_address[1]}"
    closed.server_close()  # nothing listens there any more
    TelegramSink(TOKEN, "42", base_url=url, timeout=2).send(_message())
    text = read_logs(log_dir)
    assert "telegram alert not sent: ConnectionError" in text
    assert TOKEN.split(":")[1] not in text


def test_a_slow_telegram_times_out_instead_of_hanging(telegram: FakeTelegram,
                                                      log_dir: Path) -> None:
    telegram.delay = 0.5
    started = time.monotonic()
    TelegramSink(TOKEN, "42", base_url=telegram.url, timeout=0.1).send(_message())
    assert time.monotonic() - started < 0.45
    assert "telegram alert not sent: ReadTimeout" in read_logs(log_dir)


def test_the_token_never_shows_in_a_repr() -> None:
    assert TOKEN.split(":")[1] not in repr(TelegramSink(TOKEN, "42"))


def test_telegram_is_off_without_variables_and_on_with_both() -> None:
    assert telegram_sink_from_env({}) is None
    assert isinstance(telegram_sink_from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                                              "TELEGRAM_CHAT_ID": "42"}), TelegramSink)


@pytest.mark.parametrize("present", ["TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"])
def test_half_a_telegram_configuration_is_refused_loudly(present: str) -> None:
    """F8: a missing credential is named at start-up, not discovered at the first outage."""
    with pytest.raises(ConfigError, match="Telegram alerts need both"):
        telegram_sink_from_env({present: "x"})


def test_build_alerter_reads_telegram_from_the_environment(clock: ManualClock,
                                                           tmp_path: Path) -> None:
    without = build_alerter(clock, {})
    with_telegram = build_alerter(clock, {"TELEGRAM_BOT_TOKEN": TOKEN,
                                          "TELEGRAM_CHAT_ID": "42"})
    assert without.sinks == ()
    assert len(with_telegram.sinks) == 1
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nTELEGRAM_CHAT_ID=42\n", encoding="utf-8")
    assert len(build_alerter(clock, dotenv_path=str(dotenv)).sinks) == 1
