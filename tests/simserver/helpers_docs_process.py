"""A real `python -m runner sim-server` process for the docs client's tests.

The process is started on a free loopback port with the docs client's own credentials
(keys may contain + / =, coincall-api.md 3.1) and any further options; its first line
names the address. It is stopped with SIGTERM (killed if it does not stop in 10 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

KEY = "docs-client-key+/="
SECRET = "docs-client-secret"


@contextmanager
def sim_server(*extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The running process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim-server", "--port", "0", "--seed", "5",
         "--api-key", KEY, "--api-secret", SECRET, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on "), first
        yield process, first.removeprefix("listening on ")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
