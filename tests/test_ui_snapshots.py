"""Snapshots of the screen (pytest-textual-snapshot), each in a state that does not depend on timing.

- the demo replayed to its end (``--fast``): counts, last rep, rhythm, the
  session card, the newest rows, the status line; the meter shows no input;
- a session not yet started (``READY``), at the smallest supported terminal, 80x24;
- the drill picker over it.

After a deliberate change to the screen, regenerate with
``python -m pytest tests/test_ui_snapshots.py --snapshot-update`` and look at
the pictures (``snapshot_report.html``) before keeping them.
"""
from __future__ import annotations

from ui_support import demo_app, wait_until


def test_main_screen_after_the_whole_demo(snap_compare):
    app = demo_app(None)

    async def run_before(pilot) -> None:
        await wait_until(pilot, lambda: app.finished is not None, what="the replay to finish")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 34), run_before=run_before)


def test_ready_screen_at_80_by_24(snap_compare):
    assert snap_compare(demo_app(1.0, autostart=False), terminal_size=(80, 24))


def test_drill_picker(snap_compare):
    assert snap_compare(demo_app(1.0, autostart=False), terminal_size=(80, 24), press=["d"])
