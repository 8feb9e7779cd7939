"""Executors: pure, tick-advanced state machines that turn trades into commands.

`start_open`, `start_close` and `advance` return a `Step` (state, trade, commands,
alerts); `ExecutionState.to_dict` / `execution_state_from_dict` persist an execution
so a restart resumes it (brief-engine.md, "Executors").
"""

from runner.execution.api import advance, budget_spent, start_close, start_open
from runner.execution.router import notional_usd, route
from runner.execution.state import ExecutionState, Step, execution_state_from_dict

__all__ = ["ExecutionState", "Step", "advance", "budget_spent", "execution_state_from_dict",
           "notional_usd", "route", "start_close", "start_open"]
