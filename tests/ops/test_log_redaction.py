"""No secret in a log (brief; old-system defect: the first 20 characters of the key printed).

Every test logs a known fake key and secret through the configured sinks and reads the
files back: the value, any long fragment of it, and credential-looking values never
appear, wherever they were put (message, bound extras, exception text).
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest
from loguru import logger

from runner.service.log import MASK, Redactor, configure_logging, redact, register_secrets
from tests.ops.helpers_ops import FAKE_KEY, FAKE_SECRET, read_logs


def _assert_clean(text: str) -> None:
    for secret in (FAKE_KEY, FAKE_SECRET):
        assert secret not in text
        assert secret[:12] not in text
        assert secret[-12:] not in text


def test_a_secret_in_the_message_is_masked(log_dir: Path) -> None:
    logger.info("signing with {} and {}", FAKE_KEY, FAKE_SECRET)
    text = read_logs(log_dir)
    _assert_clean(text)
    assert f"signing with {MASK} and {MASK}" in text


def test_the_first_20_characters_of_the_key_are_masked_too(log_dir: Path) -> None:
    """The old system printed key[:20] at start-up; a fragment is as bad as the whole."""
    logger.info("api key: {}...", FAKE_KEY[:20])
    logger.info("tail {}", FAKE_SECRET[5:25])
    text = read_logs(log_dir)
    assert FAKE_KEY[:20] not in text
    assert FAKE_SECRET[5:25] not in text
    assert f"tail {MASK}" in text


def test_secrets_in_bound_extras_are_masked(log_dir: Path) -> None:
    logger.bind(strategy="micro_strangle", request={"headers": {"X": FAKE_KEY}}).info("sent")
    logger.bind(api_secret="anything-at-all", note=f"key={FAKE_KEY}").info("{extra}")
    text = read_logs(log_dir)
    _assert_clean(text)
    assert "anything-at-all" not in text
    assert "micro_strangle" in text


def test_an_exception_traceback_never_shows_the_secret(log_dir: Path) -> None:
    def sign(secret: str) -> None:
        raise ValueError(f"bad signature for secret {secret}")

    try:
        try:
            sign(FAKE_SECRET)
        except ValueError as error:
            raise RuntimeError(f"request with key {FAKE_KEY} failed") from error
    except RuntimeError:
        logger.exception("order failed")
    text = read_logs(log_dir)
    _assert_clean(text)
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: request with key ****" in text
    assert "ValueError: bad signature for secret ****" in text


@pytest.mark.parametrize(
    ("line", "leaked"),
    [
        ("headers {'X-CC-APIKEY': 'abcd1234efgh', 'sign': 'DEADBEEF00'}", ("abcd1234efgh",
                                                                         "DEADBEEF00")),
        ('payload {"apiKey": "k-live-123", "apiSecret": "s-live-456"}', ("k-live-123",
                                                                        "s-live-456")),
        ("COINCALL_API_SECRET_PROD=hunter2 and password = p4ss", ("hunter2", "p4ss")),
        ("GET https://api.telegram.org/bot123456789:AAHk-abcdefghijklmnopqrstuvw/sendMessage",
         ("AAHk-abcdefghijklmnopqrstuvw", "123456789")),
        ("Authorization: Bearer eyJhbGciOi.payload", ("eyJhbGciOi",)),
    ],
)
def test_values_that_look_like_credentials_are_masked_without_being_registered(
    line: str, leaked: tuple[str, ...]
) -> None:
    shown = Redactor().text(line)
    for value in leaked:
        assert value not in shown
    assert MASK in shown


def test_ordinary_words_near_credential_names_are_left_alone() -> None:
    line = "alert key=exchange.unreachable signals=3 delta sign negative, 2 tokens"
    assert Redactor().text(line) == line


def test_a_secret_registered_later_is_masked_from_then_on(log_dir: Path) -> None:
    token = "9876543210:telegram-token-value-xyz"
    register_secrets(token)
    logger.warning("telegram failed for {}", token)
    assert token not in read_logs(log_dir)
    assert redact(f"x {token} y") == f"x {MASK} y"


def test_the_health_log_is_redacted_as_well(log_dir: Path) -> None:
    logger.bind(channel="health").info("equity ok, key {}", FAKE_KEY)
    text = read_logs(log_dir, "health.log")
    _assert_clean(text)
    assert "equity ok" in text


def test_a_sink_added_after_configuration_receives_redacted_records(log_dir: Path) -> None:
    captured: list[str] = []
    sink_id = logger.add(captured.append, format="{message} {extra}")
    try:
        logger.bind(token_hint=FAKE_SECRET).info("key {}", FAKE_KEY)
    finally:
        logger.remove(sink_id)
    _assert_clean("".join(captured))
    assert captured


def test_standard_logging_warnings_are_bridged_and_redacted(log_dir: Path) -> None:
    """urllib3 quotes request URLs; a Telegram URL carries the bot token."""
    url = "/bot123456789:AAHk-abcdefghijklmnopqrstuvw/sendMessage"
    logging.getLogger("urllib3.connectionpool").warning("Retrying after error: %s", url)
    logging.getLogger("urllib3.connectionpool").info("not bridged below WARNING")
    text = read_logs(log_dir, "trading.log")
    assert "urllib3.connectionpool: Retrying after error: /bot****/sendMessage" in text
    assert "AAHk-abcdefghijklmnopqrstuvw" not in text
    assert "not bridged" not in text


def test_an_unhandled_exception_is_logged_redacted_not_printed_raw(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise ConnectionError(f"login refused for {FAKE_KEY}")
    except ConnectionError:
        sys.excepthook(*sys.exc_info())
    text = read_logs(log_dir, "trading.log")
    assert "unhandled exception: the process ends" in text
    assert "ConnectionError: login refused for ****" in text
    _assert_clean(text + capsys.readouterr().err)


def test_an_unhandled_exception_in_a_thread_is_logged_redacted(log_dir: Path) -> None:
    def work() -> None:
        raise RuntimeError(f"secret {FAKE_SECRET} rejected")

    worker = threading.Thread(target=work, name="alert-sender")
    worker.start()
    worker.join()
    text = read_logs(log_dir, "trading.log")
    assert "unhandled exception in thread alert-sender" in text
    assert "RuntimeError: secret **** rejected" in text
    _assert_clean(text)


def test_a_secret_registered_before_configuration_stays_masked(log_dir: Path) -> None:
    token = "5555555555:registered-before-configure-xyz"
    register_secrets(token)
    configure_logging(log_dir, secrets=[FAKE_KEY], console=False)
    logger.info("token {}", token)
    assert token not in read_logs(log_dir)
