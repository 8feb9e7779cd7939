"""The exchange port and its adapters (Coincall REST, simulated exchange)."""
