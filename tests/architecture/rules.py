"""The architecture of `docs/architecture.md` as data: what each layer may import.

Every module belongs to exactly one layer (the longest prefix below that names it). A module
may import its own layer, the layers in its allow-list, the package root `runner` (the
version) and the standard library; libraries banned for its layer never.
"""

from __future__ import annotations

from typing import Final

ENTRY_POINT: Final = "runner.__main__"

# layer -> the other `runner` layers it may import (its own layer is always allowed)
ALLOWED: Final[dict[str, tuple[str, ...]]] = {
    # the package root and `python -m runner`: the entry point calls the command line
    "runner": ("runner.cli",),
    "runner.common": (),
    "runner.domain": (),
    "runner.strategy": ("runner.domain",),
    "runner.engine": ("runner.domain", "runner.strategy"),
    "runner.execution": ("runner.domain", "runner.strategy"),
    "runner.exchange": (),  # the package's __init__ only
    "runner.exchange.errors": (),
    "runner.exchange.port": ("runner.domain",),
    "runner.exchange.read_only": ("runner.domain", "runner.exchange.port"),
    # the adapters: the port and the vocabulary, never engine, execution or store
    "runner.exchange.coincall": ("runner.domain", "runner.exchange.errors",
                                 "runner.exchange.port", "runner.common"),
    # the simulator shares no code with the Coincall adapter, or a wrong belief held by both
    # passes every test (issue 8, finding 7: signing)
    "runner.sim": ("runner.domain", "runner.exchange.errors", "runner.exchange.port",
                   "runner.common"),
    "runner.store": ("runner.domain", "runner.common"),
    # market data pushed over Coincall's WebSocket, and the wait that wakes the loop when a
    # pushed price makes an exit due; its settings and its assembly live in the service
    "runner.feed": ("runner.domain", "runner.exchange.errors", "runner.exchange.port",
                    "runner.common"),
    "runner.dispatch": ("runner.domain", "runner.execution", "runner.exchange.errors",
                        "runner.exchange.port", "runner.store"),
    "runner.reconcile": ("runner.domain", "runner.execution", "runner.dispatch",
                         "runner.exchange.errors", "runner.exchange.port", "runner.store"),
    # the composition root: everything below the command line
    "runner.service": ("runner.common", "runner.domain", "runner.strategy", "runner.engine",
                       "runner.execution", "runner.exchange", "runner.sim", "runner.store",
                       "runner.dispatch", "runner.reconcile", "runner.feed"),
    # the commands: everything but the entry point that calls them
    "runner.cli": ("runner.common", "runner.domain", "runner.strategy", "runner.engine",
                   "runner.execution", "runner.exchange", "runner.sim", "runner.store",
                   "runner.dispatch", "runner.reconcile", "runner.feed", "runner.service"),
}

_IO: Final = ("requests", "urllib3", "sqlite3", "loguru", "schedule", "dotenv")
_PURE: Final = (*_IO, "yaml", "jsonschema")

# layer -> libraries its modules never import (no entry: the layer may use any dependency)
BANNED_LIBRARIES: Final[dict[str, tuple[str, ...]]] = {
    "runner.common": _PURE,
    "runner.domain": _PURE,
    "runner.strategy": _IO,  # the strategy language reads YAML and checks it with a schema
    # time arrives as an argument: not even the `time` module
    "runner.engine": (*_PURE, "time"),
    "runner.execution": (*_PURE, "time"),
    "runner.exchange": _PURE,
    "runner.exchange.errors": _PURE,
    "runner.exchange.port": _PURE,
    "runner.exchange.read_only": _PURE,
    "runner.exchange.coincall": ("sqlite3", "schedule", "dotenv", "yaml", "jsonschema"),
    "runner.sim": ("requests", "urllib3", "sqlite3", "loguru", "schedule", "dotenv"),
    "runner.store": ("requests", "urllib3", "loguru", "schedule", "dotenv", "yaml",
                     "jsonschema"),
    "runner.dispatch": _PURE,
    "runner.reconcile": _PURE,
    "runner.feed": ("requests", "urllib3", "sqlite3", "schedule", "dotenv", "yaml",
                    "jsonschema"),
}

# Layers below `service` never read the wall clock nor wait in real time: time arrives
# from the injected `Clock`. Exceptions, each with its reason:
WALL_CLOCK_LAYERS: Final = (
    "runner.common", "runner.domain", "runner.strategy", "runner.engine", "runner.execution",
    "runner.exchange", "runner.sim", "runner.store", "runner.dispatch", "runner.reconcile",
)
WALL_CLOCK_EXCEPTIONS: Final[dict[str, str]] = {
    "runner.domain.clock": "SystemClock is the one wall clock everything else is given",
    "runner.common.files": "a 50 ms pause between retries of os.replace while a Windows "
                           "reader holds the file; no decision depends on it",
    "runner.exchange.coincall.shutdown": "the Ctrl+C budget is real seconds measured with "
                                         "time.monotonic() from a signal handler; the "
                                         "adapter's waits (rate limits, retries) use the "
                                         "injected clock",
    "runner.sim.server": "the HTTP simulator holds answers (latency, lost responses) in real "
                         "time because its clients are real HTTP clients; it waits on its "
                         "stop event so a shutdown is prompt. The in-process simulator "
                         "(venue, faulty) advances the injected clock instead",
}

# modules that build a concrete venue (the composition root picks one of them)
CONCRETE_VENUES: Final = ("runner.sim.venue", "runner.sim.faulty", "runner.sim.persistence",
                          "runner.exchange.coincall.client")
VENUE_ASSEMBLY: Final = "runner.service.venues"
# besides the assembly, only the command that serves the simulator over HTTP builds one
VENUE_BUILDERS: Final = (VENUE_ASSEMBLY, "runner.cli.sim_server")

# No module grows past this many lines (design.md: split a module past ~400).
MAX_MODULE_LINES: Final = 400
MEDIAN_MODULE_LINES: Final = 150
# Being split by the lead after the parallel branches land (issue 10, item 3); remove each
# entry when its split lands.
OVERSIZE_FOR_NOW: Final[frozenset[str]] = frozenset()

# The one place a command (an order or RFQ write) reaches the exchange is `dispatch`: intent
# in the store, call, outcome. Reads (positions, open orders, chains) may use the port from
# reconcile, service and cli. The venues themselves implement the writes.
EXCHANGE_WRITES: Final = ("place_order", "cancel_order", "create_rfq", "accept_quote",
                          "cancel_rfq")
WRITERS: Final = ("runner.dispatch", "runner.sim", "runner.exchange.coincall")
