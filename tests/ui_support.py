"""Helpers shared by the screen's tests (tests/test_ui*.py): the demo app as ``quietland demo`` builds it."""
from __future__ import annotations

import time
from pathlib import Path

from quietland.audiofile import FileSource
from quietland.replay import DEMO_DRILL, PacedSource
from quietland.ui import QuietlandApp, runner_factory

DEMO = Path(__file__).resolve().parents[1] / "recordings" / "demo-line-hops.wav"
"""The bundled demo recording."""


def demo_app(speed: float | None, *, autostart: bool = True, recorder=None) -> QuietlandApp:
    """The app as ``quietland demo`` builds it (``--fast`` is ``speed=None``)."""
    source = PacedSource(FileSource(DEMO), speed)
    return QuietlandApp(runner_factory(source, DEMO_DRILL, recorder), drill=DEMO_DRILL, autostart=autostart)


HANG_GUARD_S = 120.0
"""How long a wait lets the app run before it calls the test hung. A guard, not a speed check: the wait ends as
soon as the condition holds. A full calibration takes 3 s of CPU, and on a loaded two-core machine with the
tests in two workers it took over 15 s of wall time (CI failed on a 15 s guard)."""


async def wait_until(pilot, condition, timeout_s: float = HANG_GUARD_S, what: str = "condition") -> None:
    """Let the app run until ``condition()`` holds; fail if it does not within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
