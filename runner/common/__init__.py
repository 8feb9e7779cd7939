"""Small utilities every layer may use: durable file writes and quarantine."""
