"""Client order ids that carry their strategy, so a lost store can be recounted (issue 7).

A client order id is a positive 62-bit integer (Coincall: a unique long). The runner
derives it from what the order is for (lessons B2, B4); this module lays it out so the
exchange's own records say which strategy placed an order, and which of its trades:

    bits 61..46  strategy tag   (16 bits of SHA-256 of the strategy name)
    bits 45..31  trade tag      (15 bits of SHA-256 of the trade id)
    bit  30      opening        (1: the order opens a position, 0: it reduces one)
    bits 29..0   key hash       (30 bits of SHA-256 of the whole order key)

Today's trades per strategy are then recounted from the exchange's fills of the UTC
day (`reconcile.recount`): distinct trade tags among opening fills whose strategy tag
is the strategy's. A tag names a strategy only among the configured names; two names
sharing a tag are both counted (too many counted is safe, too few is not).

Ids derived before this layout (no strategy on the key) stay as they were, so orders of
an execution in flight across an upgrade keep their ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

_STRATEGY_BITS: Final = 16
_TRADE_BITS: Final = 15
_HASH_BITS: Final = 30
_OPENING_BIT: Final = 1 << _HASH_BITS
_TRADE_SHIFT: Final = _HASH_BITS + 1
_STRATEGY_SHIFT: Final = _TRADE_SHIFT + _TRADE_BITS


@dataclass(frozen=True, slots=True)
class ClientIdTags:
    """What a tagged client order id says about its order."""

    strategy_tag: int
    trade_tag: int
    opening: bool


def _bits(text: str, bits: int) -> int:
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - bits)


def strategy_tag(strategy: str) -> int:
    """The 16-bit tag of a strategy name (never 0, so a tagged id is never 0)."""
    return _bits(f"strategy|{strategy}", _STRATEGY_BITS) or 1


def trade_tag(trade_id: str) -> int:
    return _bits(f"trade|{trade_id}", _TRADE_BITS)


@lru_cache(maxsize=4096, typed=True)
def tagged_client_order_id(strategy: str, trade_id: str, opening: bool,
                           *parts: object) -> int:
    """The client order id of an order key (`parts`) of `trade_id` of `strategy`.

    Remembered for the last few thousand keys: a pure function of its arguments, asked
    for every tracked order of every execution at every step (three SHA-256 each)."""
    key_hash = _bits("|".join(str(part) for part in (trade_id, *parts)), _HASH_BITS)
    return ((strategy_tag(strategy) << _STRATEGY_SHIFT) | (trade_tag(trade_id) << _TRADE_SHIFT)
            | (_OPENING_BIT if opening else 0) | key_hash)


def read_tags(client_order_id: int) -> ClientIdTags:
    """The tags of a client order id (meaningful for ids laid out by this module)."""
    return ClientIdTags(
        strategy_tag=client_order_id >> _STRATEGY_SHIFT,
        trade_tag=(client_order_id >> _TRADE_SHIFT) & ((1 << _TRADE_BITS) - 1),
        opening=bool(client_order_id & _OPENING_BIT))
