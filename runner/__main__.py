"""`python -m runner` is the same as the `runner` command."""

import sys

from runner.cli.app import main

sys.exit(main())
