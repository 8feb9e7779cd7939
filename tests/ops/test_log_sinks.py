"""Where records go: trading.log, health.log, rotation in process (H2), UTC timestamps."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from runner.service.log import (
    HEALTH_CHANNEL,
    HEALTH_LOG,
    TRADING_LOG,
    configure_logging,
    flush_logging,
    shutdown_logging,
)
from tests.ops.helpers_ops import read_logs

_ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \| ", re.MULTILINE)


@pytest.fixture
def reset_logging() -> Iterator[None]:
    yield
    shutdown_logging(restore_stderr=False)
    logger.remove()
    logger.configure(patcher=lambda _record: None)
    logger.add(sys.stderr)


def test_health_records_go_only_to_health_log(log_dir: Path) -> None:
    logger.bind(channel=HEALTH_CHANNEL).info("health equity=100")
    logger.info("decision: no entry, outside window")
    health = read_logs(log_dir, HEALTH_LOG)
    trading = read_logs(log_dir, TRADING_LOG)
    assert "health equity=100" in health
    assert "decision" not in health
    assert "decision: no entry" in trading
    assert "health equity=100" not in trading


def test_every_line_starts_with_an_iso_utc_timestamp(log_dir: Path) -> None:
    logger.info("one")
    logger.bind(channel=HEALTH_CHANNEL).info("two")
    for name in (TRADING_LOG, HEALTH_LOG):
        text = read_logs(log_dir, name)
        assert len(_ISO_UTC.findall(text)) == 1, text


def test_the_bound_strategy_is_shown_in_the_line(log_dir: Path) -> None:
    logger.bind(strategy="rfq_endurance").info("opened trade 7")
    logger.info("loop started")
    lines = read_logs(log_dir, TRADING_LOG).splitlines()
    assert " | rfq_endurance | " in lines[0]
    assert "rfq_endurance" not in lines[1]


def test_records_below_the_level_are_dropped(tmp_path: Path, reset_logging: None) -> None:
    configure_logging(tmp_path, secrets=[], level="WARNING", console=False)
    logger.info("chatty")
    logger.warning("important")
    text = read_logs(tmp_path, TRADING_LOG)
    assert "important" in text
    assert "chatty" not in text


def test_the_log_rotates_by_size_inside_the_process(tmp_path: Path, reset_logging: None) -> None:
    """H2: rotation never needs the service stopped; old files are compressed and bounded."""
    configure_logging(tmp_path, secrets=[], console=False, rotation=400, retention=3,
                      compression="zip")
    for number in range(60):
        logger.info("line {} of a long running service", number)
    flush_logging()
    archives = sorted(tmp_path.glob("trading.*.log.zip"))
    assert 1 <= len(archives) <= 3
    assert (tmp_path / TRADING_LOG).stat().st_size <= 400 + 200
    assert "line 59 of" in (tmp_path / TRADING_LOG).read_text(encoding="utf-8")


def test_shutdown_closes_the_files_and_later_records_still_reach_stderr(
    tmp_path: Path, reset_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(tmp_path, secrets=["0123456789abcdef"], console=False)
    logger.info("before stop")
    shutdown_logging()
    logger.info("after stop 0123456789abcdef")
    assert "before stop" in (tmp_path / TRADING_LOG).read_text(encoding="utf-8")
    assert "after stop" not in (tmp_path / TRADING_LOG).read_text(encoding="utf-8")
    captured = capsys.readouterr().err
    assert "after stop ****" in captured


def test_the_console_sink_writes_to_stderr_never_stdout(
    tmp_path: Path, reset_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """H3: stdout may be data for a calling script; diagnostics go to stderr."""
    configure_logging(tmp_path, secrets=[], console=True)
    logger.info("visible on the console")
    captured = capsys.readouterr()
    assert "visible on the console" in captured.err
    assert captured.out == ""


def test_enqueued_sinks_are_drained_by_flush(tmp_path: Path, reset_logging: None) -> None:
    configure_logging(tmp_path, secrets=[], console=False, enqueue=True)
    for number in range(20):
        logger.info("queued {}", number)
    flush_logging()
    assert "queued 19" in (tmp_path / TRADING_LOG).read_text(encoding="utf-8")
