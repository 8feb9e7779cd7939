"""The `runner` command line: one module per command family, and their text rendering.

Nothing below imports this package; it parses arguments, calls the service or the store,
and prints.
"""
