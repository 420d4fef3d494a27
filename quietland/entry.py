"""The ``quietland`` command's entry point: :func:`quietland.cli.main`, with Ctrl-C covered from the first moment.

``cli`` imports numpy and the command modules, which takes a moment; a Ctrl-C pressed then came before any of
quietland's own handling and ended in a Python traceback (exit code -2) instead of one line and exit code 130.
"""
from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C): the exit code every command gives then (``quietland.cli`` takes it from here)."""


def main() -> int:
    """Run the command line; a Ctrl-C while it is still starting up ends it as one later does."""
    try:
        from .cli import main as run

        return run()
    except KeyboardInterrupt:
        print("quietland: error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
