"""The `runner` command line: one module per command family, and their text rendering.

Nothing below imports this package; it parses arguments, calls the service or the store,
and prints. `main` is the console script's entry point (`runner.cli:main`), the same name
since the first release, so a `runner` executable installed before the command line became
a package (a Windows service's `runner.exe`) keeps working without a reinstall.
"""

from runner.cli.app import main

__all__ = ["main"]
