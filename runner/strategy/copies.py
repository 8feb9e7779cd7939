"""A trade's stored copy of its strategy, rebuilt into the spec it opened with.

Decision: a copy is the *source documents* the loader read (the strategy file's text and
the profile files it resolved, `origin.py`), not a JSON form of the frozen model. The copy
is rebuilt through the very loader `runner validate` and `runner run` use (YAML, schema,
semantics, model), so:
- a copy can never hold a spec the loader would refuse, and no second codec for the
  model has to be kept in step with every rule type the language gains;
- what is stored is what the operator wrote: `sqlite3` shows it as YAML, and a bug found
  in a copy is a bug in a file anyone can re-run through `runner validate`.
The price: a copy written by an older runner might be refused by a newer one (the
language only grows, so this should not happen); the service then falls back to the
current file and says so (see `runner.service.held_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.strategy.model import StrategySpec
from runner.strategy.origin import SpecOrigin
from runner.strategy.validate import load_sources


@dataclass(frozen=True, slots=True)
class CopyRefused:
    """The stored documents no longer build the strategy: why, in the loader's words."""

    reason: str


def rebuild(name: str, origin: SpecOrigin) -> StrategySpec | CopyRefused:
    """The strategy `name` as the stored documents define it (its origin is the copy)."""
    try:
        result = load_sources([(Path(path), text) for path, text in origin.documents])
    except Exception as error:  # a copy must never take the service down
        return CopyRefused(f"the copy could not be read ({type(error).__name__}: {error})")
    for spec in result.specs:
        if spec.name == name:
            return spec
    errors = [item.render() for item in result.errors]
    return CopyRefused("; ".join(errors[:3]) or f"the copy defines no strategy named '{name}'")
