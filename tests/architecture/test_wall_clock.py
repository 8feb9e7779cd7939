"""Every layer below `service` takes time from the injected `Clock`: no module there reads the
wall clock or waits in real time, except the few named in rules.WALL_CLOCK_EXCEPTIONS."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture.graph import known_modules, module_name, module_paths
from tests.architecture.layers import reads_no_wall_clock, wall_clock_reads
from tests.architecture.rules import WALL_CLOCK_EXCEPTIONS, WALL_CLOCK_LAYERS

BELOW_SERVICE = [path for path in module_paths() if reads_no_wall_clock(module_name(path))
                 and module_name(path) not in WALL_CLOCK_EXCEPTIONS]


@pytest.mark.parametrize("path", BELOW_SERVICE, ids=module_name)
def test_module_below_the_service_never_reads_the_wall_clock(path: Path) -> None:
    reads = wall_clock_reads(path.read_text(encoding="utf-8"))
    assert reads == [], f"{module_name(path)} reads the wall clock: {reads}"


def test_each_wall_clock_exception_names_a_module_that_still_needs_it() -> None:
    for module in WALL_CLOCK_EXCEPTIONS:
        assert module in known_modules(), module
        path = next(p for p in module_paths() if module_name(p) == module)
        assert wall_clock_reads(path.read_text(encoding="utf-8")) != [], module


@pytest.mark.parametrize("layer", WALL_CLOCK_LAYERS)
@pytest.mark.parametrize("planted", [
    "stamp = datetime.now(UTC)\n", "stamp = datetime.datetime.utcnow()\n",
    "day = date.today()\n", "moment = time.time()\n", "time.sleep(1)\n",
    "started = time.monotonic()\n", "spent = time.perf_counter()\n",
    "from time import sleep\n", "def pause(stop):\n    stop.wait(5)\n",
])
def test_a_wall_clock_read_planted_in_any_layer_below_the_service_is_caught(
        layer: str, planted: str) -> None:
    module = next(module_name(p) for p in BELOW_SERVICE
                  if module_name(p).startswith(layer + ".") or module_name(p) == layer)
    assert reads_no_wall_clock(module)
    assert wall_clock_reads(planted) != [], f"{layer}: {planted!r} slipped"


@pytest.mark.parametrize("module", ["runner.service.live", "runner.cli.app"])
def test_the_service_and_the_command_line_may_read_the_wall_clock(module: str) -> None:
    assert not reads_no_wall_clock(module)
