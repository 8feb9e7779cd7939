"""JSON-safe encoding of execution state, driven by the dataclasses' own type hints.

The service persists an execution after every step so a restart resumes it; that
state holds domain values (Decimal, aware datetimes, timedeltas, enums) and the
execution spec (nested frozen dataclasses with union fields). Encoding is explicit
and lossless: Decimal as its string, datetime as ISO 8601 with offset, timedelta as
whole microseconds, enums by value, dataclasses as objects tagged with their class
name (the tag picks the member of a union such as `LimitLike`). Decoding reads the
declared type of each field, so nothing is guessed from the JSON shape.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Final

TYPE_TAG: Final = "type"
_ONE_MICROSECOND: Final = timedelta(microseconds=1)


def encode(value: Any) -> Any:
    """Turn a state value into JSON-safe data.

    How a value is encoded depends on its type alone, so it is worked out once per type
    (`_encoder_for`): the service encodes an execution after every step that changed it,
    hundreds of nested values each time."""
    kind = type(value)
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _ENCODERS[kind] = _encoder_for(kind)
    return encoder(value)


def _encoder_for(kind: type) -> Callable[[Any], Any]:
    """The encoding of every value of type `kind` (the checks in this order)."""
    if kind is type(None) or issubclass(kind, bool | int | str | float):
        return _as_is
    if issubclass(kind, Enum):
        return _enum_value
    if issubclass(kind, Decimal):
        return str
    if issubclass(kind, datetime):
        return _datetime_text
    if issubclass(kind, timedelta):
        return _microseconds
    if issubclass(kind, tuple | list):
        return _each
    if dataclasses.is_dataclass(kind):
        return _dataclass_encoder(kind)
    return _refused


_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def _as_is(value: Any) -> Any:
    return value


def _enum_value(value: Enum) -> Any:
    return value.value


def _datetime_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime in execution state")
    return value.isoformat()


def _microseconds(value: timedelta) -> int:
    return value // _ONE_MICROSECOND


def _each(value: tuple[Any, ...] | list[Any]) -> list[Any]:
    return [encode(item) for item in value]


def _refused(value: Any) -> Any:
    raise TypeError(f"cannot encode {type(value).__name__} in execution state")


def _dataclass_encoder(kind: type) -> Callable[[Any], dict[str, Any]]:
    tag = kind.__name__
    names = tuple(field.name for field in dataclasses.fields(kind))

    def encoded(value: Any) -> dict[str, Any]:
        data: dict[str, Any] = {TYPE_TAG: tag}
        for name in names:
            data[name] = encode(getattr(value, name))
        return data

    return encoded


def decode(data: Any, hint: Any) -> Any:
    """Rebuild a value of the declared type `hint` from `encode`'s output."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return _decode_union(data, typing.get_args(hint))
    if origin is tuple:
        return _decode_tuple(data, typing.get_args(hint))
    if hint is Any or hint is type(None):
        return data
    return _decode_plain(data, hint)


def _decode_plain(data: Any, hint: Any) -> Any:
    if dataclasses.is_dataclass(hint):
        return _decode_dataclass(data, hint)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(data)
    if hint is Decimal:
        return Decimal(data)
    if hint is datetime:
        return datetime.fromisoformat(data)
    if hint is timedelta:
        return timedelta(microseconds=data)
    if hint in (int, str, bool, float):
        return hint(data)
    raise TypeError(f"cannot decode a {hint!r} from execution state")


def _decode_union(data: Any, members: tuple[Any, ...]) -> Any:
    if data is None and type(None) in members:
        return None
    candidates = [m for m in members if m is not type(None)]
    if isinstance(data, dict) and TYPE_TAG in data:
        for member in candidates:
            if dataclasses.is_dataclass(member) and member.__name__ == data[TYPE_TAG]:
                return _decode_dataclass(data, member)
        raise TypeError(f"{data[TYPE_TAG]} is none of {candidates}")
    return decode(data, candidates[0])


def _decode_tuple(data: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(decode(item, args[0]) for item in data)
    return tuple(decode(item, hint) for item, hint in zip(data, args, strict=True))


def _decode_dataclass(data: dict[str, Any], cls: Any) -> Any:
    hints = _hints(cls)
    values = {field.name: decode(data[field.name], hints[field.name])
              for field in dataclasses.fields(cls) if field.name in data}
    return cls(**values)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)
