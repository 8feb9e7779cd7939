"""Checks of `rules.py` against one module's imports or source, shared by the tests."""

from __future__ import annotations

import io
import re
import tokenize
from typing import Final

from tests.architecture.graph import is_under
from tests.architecture.rules import ALLOWED, BANNED_LIBRARIES, WALL_CLOCK_LAYERS

WALL_CLOCK: Final = re.compile(
    r"\b(?:datetime|date)\.(?:now|utcnow|today)\("
    r"|\btime\.(?:time|time_ns|sleep|monotonic|monotonic_ns|perf_counter|perf_counter_ns)\("
    r"|\bfrom time import\b"
    r"|\.wait\(")


def layer_of(module: str, table: dict[str, object] | tuple[str, ...] = tuple(ALLOWED)) -> str:
    """The most specific layer of `table` that holds `module` ('' when none does)."""
    holders = [layer for layer in table if is_under(module, layer)]
    return max(holders, key=len, default="")


def forbidden_runner_imports(module: str, imported: set[str]) -> list[str]:
    """The `runner` names `module` imports although its layer may not."""
    layer = layer_of(module)
    allowed = (*ALLOWED[layer], *(() if layer == "runner" else (layer,)))
    return sorted(name for name in imported
                  if is_under(name, "runner") and name != "runner"
                  and not any(is_under(name, prefix) for prefix in allowed))


def banned_libraries(module: str, imported: set[str]) -> list[str]:
    """The libraries `module` imports although its layer bans them."""
    banned = BANNED_LIBRARIES[layer_of(module, tuple(BANNED_LIBRARIES))]
    return sorted(name for name in imported if name in banned)


def wall_clock_reads(source: str) -> list[str]:
    """Each place `source` reads the wall clock or waits in real time."""
    return [match.group(0) for match in WALL_CLOCK.finditer(_code_only(source))]


def _code_only(source: str) -> str:
    """`source` without strings and comments (a docstring may name `time.monotonic()`)."""
    skipped = {tokenize.STRING, tokenize.COMMENT}
    skipped |= {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE",
                                                     "FSTRING_END") if hasattr(tokenize, name)}
    words: list[str] = []
    previous = tokenize.OP
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in skipped:
            continue
        if token.type == tokenize.NAME and previous == tokenize.NAME:
            words.append(" ")
        words.append("\n" if token.type in (tokenize.NEWLINE, tokenize.NL) else token.string)
        previous = token.type
    return "".join(words)


def reads_no_wall_clock(module: str) -> bool:
    """The wall-clock rule applies to `module`."""
    return any(is_under(module, layer) for layer in WALL_CLOCK_LAYERS)
