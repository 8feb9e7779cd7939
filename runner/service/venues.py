"""The one place a concrete Coincall venue is built from settings.

Paper settings have no Coincall venue; testnet and production get a `CoincallClient` whose RFQ
body memory lives in that environment's state directory.
"""

from __future__ import annotations

from typing import Any

from runner.domain.clock import Clock
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.rfq_bodies import MEMORY_FILE as RFQ_BODY_MEMORY_FILE
from runner.service.settings import ConfigError, Settings


def coincall_client(settings: Settings, clock: Clock, **options: Any) -> CoincallClient:
    """A client for the settings' environment; `ConfigError` for paper, which trades no venue."""
    if settings.base_url is None or settings.api_key is None or settings.api_secret is None:
        raise ConfigError(f"{settings.environment.value} does not trade on Coincall")
    options.setdefault("rfq_body_memory", settings.state_dir / RFQ_BODY_MEMORY_FILE)
    return CoincallClient(base_url=settings.base_url, api_key=settings.api_key,
                          api_secret=settings.api_secret, clock=clock, **options)
