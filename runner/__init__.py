"""runner: a declarative, YAML-configured options-strategy runner for Coincall."""

__version__ = "0.1.0"
