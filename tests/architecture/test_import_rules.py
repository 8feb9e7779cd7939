"""Every layer states what it may import (tests/architecture/rules.py), and each rule can fail:
a violation planted in any layer, in any import form, is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture.graph import (
    PACKAGE,
    imports_in,
    imports_of,
    is_under,
    known_modules,
    module_name,
    module_paths,
)
from tests.architecture.layers import banned_libraries, forbidden_runner_imports, layer_of
from tests.architecture.rules import (
    ALLOWED,
    BANNED_LIBRARIES,
    CONCRETE_VENUES,
    ENTRY_POINT,
    VENUE_BUILDERS,
)

MODULES = module_paths()
WITH_BANS = [path for path in MODULES
             if layer_of(module_name(path), tuple(BANNED_LIBRARIES))]


def test_every_module_belongs_to_a_layer_with_an_allow_list() -> None:
    homeless = [module_name(p) for p in MODULES if not layer_of(module_name(p))]
    assert homeless == [], f"modules outside every layer of rules.ALLOWED: {homeless}"


def test_every_layer_of_the_rules_exists_in_the_tree() -> None:
    """A rule for a package that was renamed away would protect nothing."""
    stale = [layer for layer in (*ALLOWED, *BANNED_LIBRARIES)
             if not any(is_under(module, layer) for module in known_modules())]
    assert stale == []


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_module_imports_only_what_its_layer_may(path: Path) -> None:
    module = module_name(path)
    violations = forbidden_runner_imports(module, imports_of(path))
    assert violations == [], f"{module} ({layer_of(module)}) imports {violations}"


@pytest.mark.parametrize("path", WITH_BANS, ids=module_name)
def test_module_uses_no_library_banned_in_its_layer(path: Path) -> None:
    module = module_name(path)
    assert banned_libraries(module, imports_of(path)) == []


# one module of each layer, and an import its layer may not make
PLANTED: dict[str, tuple[str, str]] = {
    "runner": ("runner.__main__", "runner.service.loop"),
    "runner.common": ("runner.common.files", "runner.domain.clock"),
    "runner.domain": ("runner.domain.trades", "runner.strategy.model"),
    "runner.strategy": ("runner.strategy.load", "runner.engine.decide"),
    "runner.engine": ("runner.engine.decide", "runner.execution.limit"),
    "runner.execution": ("runner.execution.limit", "runner.dispatch.dispatcher"),
    "runner.exchange": ("runner.exchange", "runner.domain.orders"),
    "runner.exchange.errors": ("runner.exchange.errors", "runner.domain.orders"),
    "runner.exchange.port": ("runner.exchange.port", "runner.store.store"),
    "runner.exchange.read_only": ("runner.exchange.read_only", "runner.exchange.coincall.client"),
    "runner.exchange.coincall": ("runner.exchange.coincall.client", "runner.store.store"),
    "runner.sim": ("runner.sim.signature", "runner.exchange.coincall.signing"),
    "runner.store": ("runner.store.store", "runner.cli.app"),
    "runner.feed": ("runner.feed.source", "runner.service.loop"),
    "runner.dispatch": ("runner.dispatch.dispatcher", "runner.reconcile.startup"),
    "runner.reconcile": ("runner.reconcile.startup", "runner.service.loop"),
    "runner.service": ("runner.service.live", "runner.cli.operator"),
    "runner.cli": ("runner.cli.app", ENTRY_POINT),
}


def test_a_violation_is_planted_in_every_layer() -> None:
    assert set(PLANTED) == set(ALLOWED)


def _forms(target: str, module: str) -> list[str]:
    """Every way of writing `import target` inside `module`."""
    package, _, name = target.rpartition(".")
    forms = [f"import {target}\n", f"import {target} as alias\n",
             f"from {package} import {name}\n", f"from {target} import something\n",
             f"def later() -> None:\n    from {target} import something\n",
             f"if TYPE_CHECKING:\n    from {target} import something\n"]
    # the relative form: as many dots as climb from the module's package to `runner`
    is_package = (PACKAGE.parent / module.replace(".", "/")).is_dir()
    dots = "." * (module.count(".") + (1 if is_package else 0))
    forms.append(f"from {dots}{target.split('.', 1)[1]} import something\n")
    return forms


@pytest.mark.parametrize("layer", sorted(PLANTED))
def test_a_planted_import_is_caught_in_every_layer_and_every_form(layer: str) -> None:
    module, target = PLANTED[layer]
    assert layer_of(module) == layer
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
    source = path.read_text(encoding="utf-8")
    is_package = path.name == "__init__.py"
    assert forbidden_runner_imports(module, imports_in(source, module,
                                                       is_package=is_package)) == []
    for form in _forms(target, module):
        planted = imports_in(source + form, module, is_package=is_package)
        assert forbidden_runner_imports(module, planted) == [target], f"{layer}: {form!r}"


@pytest.mark.parametrize("layer", sorted(BANNED_LIBRARIES))
def test_a_planted_banned_library_is_caught_in_every_layer(layer: str) -> None:
    module = f"{layer}.planted"
    for library in BANNED_LIBRARIES[layer]:
        for form in (f"import {library}\n", f"from {library} import x\n",
                     f"def later() -> None:\n    import {library}.sub\n"):
            assert banned_libraries(module, imports_in(form, module)) == [library], form


def test_the_simulator_may_import_the_shared_exchange_errors() -> None:
    imported = imports_in("from runner.exchange.errors import RateLimited\n",
                          "runner.sim.server")
    assert forbidden_runner_imports("runner.sim.server", imported) == []


@pytest.mark.parametrize("path", [p for p in MODULES if module_name(p) not in VENUE_BUILDERS
                                  and not is_under(module_name(p), "runner.sim")
                                  and not is_under(module_name(p), "runner.exchange.coincall")],
                         ids=module_name)
def test_one_place_assembles_the_concrete_exchange(path: Path) -> None:
    """Only service/venues.py (and `runner sim-server`) builds SimVenue, FaultyExchange or
    CoincallClient; everything else is given an `Exchange`."""
    imported = imports_of(path)
    builds = sorted(name for name in imported
                    if any(is_under(name, venue) for venue in CONCRETE_VENUES))
    assert builds == [], f"{module_name(path)} builds a venue itself: {builds}"
