"""The execution state's encoding: decided once per type, the same JSON as a value by value
walk of the checks (execution/codec.py), and refusing what it always refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum

import pytest

from runner.execution.codec import decode, encode


class Colour(Enum):
    RED = "red"


class Word(StrEnum):
    BUY = "buy"


class Level(IntEnum):
    HIGH = 3


@dataclass(frozen=True)
class Inner:
    price: Decimal
    at: datetime


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner | None
    items: tuple[Inner, ...]
    wait: timedelta
    colour: Colour
    word: Word
    level: Level
    flag: bool = False


AT = datetime(2026, 3, 2, 12, 0, 5, tzinfo=UTC)


def test_a_nested_state_encodes_field_by_field_with_its_class_tag() -> None:
    value = Outer("x", Inner(Decimal("1.50"), AT), (Inner(Decimal(2), AT),),
                  timedelta(seconds=90), Colour.RED, Word.BUY, Level.HIGH, True)
    encoded = encode(value)
    assert encoded == {
        "type": "Outer", "name": "x", "inner": {"type": "Inner", "price": "1.50",
                                                "at": "2026-03-02T12:00:05+00:00"},
        "items": [{"type": "Inner", "price": "2", "at": "2026-03-02T12:00:05+00:00"}],
        "wait": 90_000_000, "colour": "red", "word": "buy", "level": 3, "flag": True}
    # A str or int enum is kept as it is (it is its own JSON), as before
    assert encoded["word"] is Word.BUY
    assert encoded["level"] is Level.HIGH
    assert decode(encoded, Outer) == value


def test_a_type_it_cannot_encode_is_refused_every_time() -> None:
    for _ in range(2):  # the second time the type's encoding is the remembered one
        with pytest.raises(TypeError, match="cannot encode set"):
            encode({1})
        with pytest.raises(TypeError, match="cannot encode type"):
            encode(Inner)  # a dataclass's class is not a state value
        with pytest.raises(ValueError, match="naive datetime"):
            encode(datetime(2026, 3, 2))  # noqa: DTZ001 - the naive value is the subject
