"""No import cycles, hidden or not: the graph counts every import (module level, inside
functions, `if TYPE_CHECKING:` and relative), so a cycle hidden in a function is still one."""

from __future__ import annotations

from tests.architecture.graph import cycles, imports_in, runner_graph
from tests.architecture.rules import TOLERATED_CYCLES


def test_the_runner_package_has_no_import_cycle() -> None:
    found = [c for c in cycles(runner_graph()) if frozenset(c) not in TOLERATED_CYCLES]
    assert found == [], f"import cycles: {found}"


def test_each_tolerated_cycle_still_exists() -> None:
    """An exception that no longer applies is removed, so it cannot hide a new cycle."""
    found = {frozenset(c) for c in cycles(runner_graph())}
    assert set(TOLERATED_CYCLES) <= found


def test_a_cycle_hidden_in_a_function_level_import_is_found() -> None:
    graph = {
        "runner.sim.faults": imports_in(
            "def __getattr__(name):\n    from runner.sim import faulty\n", "runner.sim.faults"),
        "runner.sim.faulty": imports_in("from runner.sim.faults import FaultPlan\n",
                                        "runner.sim.faulty"),
    }
    assert cycles(graph) == [["runner.sim.faults", "runner.sim.faulty"]]


def test_a_cycle_through_relative_and_type_checking_imports_is_found() -> None:
    graph = {
        "runner.service.live": imports_in("from .process import run\n", "runner.service.live"),
        "runner.service.process": imports_in(
            "if TYPE_CHECKING:\n    from runner.service.live import run_service\n",
            "runner.service.process"),
        "runner.service.settings": set(),
    }
    assert cycles(graph) == [["runner.service.live", "runner.service.process"]]


def test_a_longer_cycle_is_found_whole() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
