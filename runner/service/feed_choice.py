"""The market feed's settings (issue 11), read before anything starts; imports nothing heavy.

Off unless configured: `RUNNER_MARKET_FEED=ws` (default `rest`). Then:
- `RUNNER_FEED_STALE_SECONDS` (default 5): a pushed price older than this is not used;
  reads go to REST until the feed is fresh again;
- `RUNNER_WS_URL` (optional): the options stream (see `wiring` for the default per venue).
A bad value is a configuration error naming the variable and the fix (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from runner.feed.prices import DEFAULT_STALE_AFTER
from runner.service.settings import ConfigError

FEED_VARIABLE: Final = "RUNNER_MARKET_FEED"
STALE_VARIABLE: Final = "RUNNER_FEED_STALE_SECONDS"
WS_URL_VARIABLE: Final = "RUNNER_WS_URL"


@dataclass(frozen=True, slots=True)
class FeedChoice:
    enabled: bool = False
    stale_after: float = DEFAULT_STALE_AFTER
    url: str | None = None


def feed_choice(environ: Mapping[str, str]) -> FeedChoice:
    """Read the feed variables; raise ConfigError naming the variable and the fix."""
    mode = (environ.get(FEED_VARIABLE) or "rest").strip().lower()
    if mode not in ("rest", "ws"):
        raise ConfigError(f"{FEED_VARIABLE}={mode!r} is not valid; write rest (the default) "
                          "or ws (prices pushed over Coincall's WebSocket)")
    raw = (environ.get(STALE_VARIABLE) or "").strip()
    try:
        stale_after = float(raw) if raw else DEFAULT_STALE_AFTER
    except ValueError:
        stale_after = -1.0
    if not 0 < stale_after <= 60:
        raise ConfigError(f"{STALE_VARIABLE}={raw!r}: write seconds between 0 and 60, "
                          "e.g. 5")
    url = (environ.get(WS_URL_VARIABLE) or "").strip() or None
    if url is not None and urlsplit(url).scheme not in ("ws", "wss"):
        raise ConfigError(f"{WS_URL_VARIABLE}={url!r} is not a ws:// or wss:// URL")
    return FeedChoice(mode == "ws", stale_after, url)
