"""The service: the tick loop, its assembly from settings, and what keeps it alive and honest.

Health, alerts, logging, settings, the instance lock, the stop path and the accelerated
simulation driver live here; the pure core below (domain, strategy, engine, execution) never
imports this package.
"""
