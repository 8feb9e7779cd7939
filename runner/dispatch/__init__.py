"""The one place a command reaches the exchange (see `dispatcher` for the invariants)."""

from runner.dispatch.dispatcher import Dispatcher, DispatchLimits

__all__ = ["DispatchLimits", "Dispatcher"]
