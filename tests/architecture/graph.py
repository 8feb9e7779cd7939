"""The import graph of `runner/`, read with `ast` (module level, function level, relative,
and `if TYPE_CHECKING:` imports alike: an import the type checker follows is still a
dependency a newcomer has to understand)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "runner"


def module_paths() -> list[Path]:
    """Every Python module of the package, sorted."""
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    """`runner/sim/venue.py` -> `runner.sim.venue`; a package's `__init__` -> the package."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def known_modules() -> frozenset[str]:
    """The names of every module and package of `runner`."""
    return frozenset(module_name(path) for path in module_paths())


def package_of(module: str, is_package: bool) -> str:
    """The package relative imports of `module` are resolved against."""
    return module if is_package else module.rpartition(".")[0]


def imports_in(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """What `source` (the text of `module`) imports: for `runner` names the most specific
    module each import reaches (`from runner.sim import venue` -> `runner.sim.venue`), for
    third-party and standard-library names the top-level distribution (`yaml`)."""
    package = package_of(module, is_package)
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(_reached(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            found.update(_reached_from(base, alias.name) for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    """What the module at `path` imports (see `imports_in`)."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path),
                      is_package=path.name == "__init__.py")


def runner_graph() -> dict[str, set[str]]:
    """module -> the other `runner` modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in module_paths():
        module = module_name(path)
        graph[module] = {name for name in imports_of(path)
                         if is_under(name, "runner") and name != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start not in index:
            found.extend(_components(start, graph, index, low, stack))
    return sorted(sorted(component) for component in found if len(component) > 1)


def _components(start: str, graph: dict[str, set[str]], index: dict[str, int],
                low: dict[str, int], stack: list[str]) -> Iterator[list[str]]:
    """Iterative Tarjan from `start` (no recursion limit on a deep graph)."""
    work = [(start, iter(sorted(graph.get(start, ()))))]
    index[start] = low[start] = len(index)
    stack.append(start)
    while work:
        node, successors = work[-1]
        successor = next(successors, None)
        if successor is None:
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                yield _pop_component(node, stack)
        elif successor not in index:
            index[successor] = low[successor] = len(index)
            stack.append(successor)
            work.append((successor, iter(sorted(graph.get(successor, ())))))
        elif successor in stack:
            low[node] = min(low[node], index[successor])


def _pop_component(root: str, stack: list[str]) -> list[str]:
    component = []
    while True:
        node = stack.pop()
        component.append(node)
        if node == root:
            return component


def is_under(name: str, prefix: str) -> bool:
    """`name` is `prefix` or inside it."""
    return name == prefix or name.startswith(prefix + ".")


def _reached(name: str) -> str:
    return name if is_under(name, "runner") else name.partition(".")[0]


def _reached_from(base: str, alias: str) -> str:
    if not is_under(base, "runner"):
        return base.partition(".")[0]
    candidate = f"{base}.{alias}"
    return candidate if candidate in known_modules() else base


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    anchor = ".".join(parts[: len(parts) - node.level + 1])
    return f"{anchor}.{node.module}" if node.module else anchor
