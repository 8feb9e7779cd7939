"""The engine: pure decisions for one strategy at one moment.

`decide(spec, state, snapshot, now)` answers "should this strategy open a trade now, with
which legs, and should any of its open trades close?" from values alone: no I/O, no wall
clock, no logging. Every gate, condition and exit leaves a worded reason as data
(`CheckResult`, `CloseDecision`), which the service logs and `plan` prints.

Modules, one concept each: checks (the CheckResult value), state (what the service tells
the engine about a strategy's history), windows (times of day and schedules), gates
(per-strategy gates), conditions (entry conditions), expiries and strikes (leg rules),
selection (legs against the snapshot), limits (notional risk), pnl (prices per basis and
trade PnL), exposure (greeks of a trade's legs), exits (exit rules), decide (the whole
decision and the new trade).
"""
