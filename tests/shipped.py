"""The strategy files the project ships, by name, for the tests.

Tests never glob the user's `strategies.d/`: a trader adds strategies there, and the
suite must run the same whatever it holds (issue 9 item 8). A test that needs a whole
strategies folder works on a copy of these files (`copy_shipped`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
STRATEGY_DIR: Final = REPO / "strategies.d"
SHIPPED_NAMES: Final = ("micro_strangle.yaml", "profiles.yaml", "rfq_endurance.yaml")
EXAMPLE_NAMES: Final = ("daily_short_strangle.yaml", "reverse_iron_condor_rfq.yaml",
                        "weekend_long_strangle.yaml", "zero_dte_straddle.yaml")
SHIPPED: Final = tuple(STRATEGY_DIR / name for name in SHIPPED_NAMES)
EXAMPLES: Final = tuple(STRATEGY_DIR / "examples" / name for name in EXAMPLE_NAMES)


def copy_shipped(target: Path, *, examples: bool = False) -> Path:
    """A `strategies.d/` under `target` holding the shipped files only; returns it."""
    folder = target / "strategies.d"
    folder.mkdir(parents=True, exist_ok=True)
    for path in SHIPPED:
        shutil.copy(path, folder / path.name)
    if examples:
        (folder / "examples").mkdir(exist_ok=True)
        for path in EXAMPLES:
            shutil.copy(path, folder / "examples" / path.name)
    return folder
