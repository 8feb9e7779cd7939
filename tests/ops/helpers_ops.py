"""Shared values of the operations tests."""

from __future__ import annotations

from pathlib import Path

from runner.service.log import flush_logging

# A fake credential pair: long, random-looking, never valid anywhere.
FAKE_KEY = "ck-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e"
FAKE_SECRET = "sk-Q9w8E7r6T5y4U3i2O1p0AaSsDdFfGgHh"


def read_logs(directory: Path, pattern: str = "*.log") -> str:
    """The text of every matching log file, after a flush."""
    flush_logging()
    return "".join(path.read_text(encoding="utf-8") for path in sorted(directory.glob(pattern)))
