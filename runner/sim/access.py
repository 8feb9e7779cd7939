"""What the simulated API key may call: a taker-only key (the normal case) or a maker key.

Coincall answers `rfqList` with HTTP 404 to a key without RFQ quote access (a live
client saw it; the docs say maker-side lists "require RFQ quote access"), so a taker
key, the kind the runner trades with, cannot list or look up its own requests. The
simulator defaults to that key, in process (`SimVenue.get_rfq` raises what the REST
adapter raises on a 404) and over HTTP (`sim-server --key-access`), so every test of the
runner proves it never needs the list. A maker key is served everything.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from runner.exchange.errors import EndpointNotAvailable

RFQ_LIST_ENDPOINT: Final = "rfq list"


class KeyAccess(StrEnum):
    TAKER = "taker"  # RFQ taker calls only: rfqList is HTTP 404
    MAKER = "maker"  # RFQ quote access too: rfqList is served


def rfq_list_refused() -> EndpointNotAvailable:
    """The error the REST adapter raises when rfqList answers HTTP 404."""
    return EndpointNotAvailable("HTTP 404 (rfqList needs RFQ quote access; this is a "
                                "taker-only key)", endpoint=RFQ_LIST_ENDPOINT)
