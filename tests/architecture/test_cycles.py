"""No import cycles, hidden or not: the graph counts every import (module level, inside
functions, `if TYPE_CHECKING:` and relative), so a cycle hidden in a function is still one."""

from __future__ import annotations

from tests.architecture.graph import cycles, imports_in, runner_graph


def test_the_runner_package_has_no_import_cycle() -> None:
    found = cycles(runner_graph())
    assert found == [], f"import cycles: {found}"


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
