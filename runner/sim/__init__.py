"""The simulated Coincall exchange: a deterministic venue driven by an injected clock.

`SimVenue` implements the Exchange port in process; `server.py` (elsewhere) serves it over
HTTP with Coincall's wire format.
"""
