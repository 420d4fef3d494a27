"""Recordings played back as if they were a microphone, for ``replay`` and ``demo``.

Why it exists: the screen and the session runner should not know whether
blocks come from a microphone or a file. :class:`PacedSource` wraps a
:class:`~quietland.audiofile.FileSource` and hands out its blocks at the pace
a microphone would (real time times ``speed``), or as fast as they can be
read (``speed=None``). The samples are the file's, unchanged, so the session
finds exactly what ``analyze`` finds. :func:`find_demo_recording` locates the
bundled demo recording. numpy only, plus the file source.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .audiofile import FileSource

DEFAULT_REPLAY_BLOCK_SIZE = 2048
"""Samples per block handed out (about 43 ms at 48 kHz: about as often as the level meter redraws;
smaller blocks cost more CPU in wake-ups than in analysis)."""
MAX_LAG_S = 0.5
"""When the consumer falls this far behind the pace (a pause, a stall), the pace restarts from now instead of catching up in a burst, s."""
DEMO_FILE_NAME = "demo-line-hops.wav"
"""File name of the bundled demo recording."""
DEMO_DRILL = "line-hops"
"""Drill performed in the demo recording."""
DEMO_ENV = "QUIETLAND_DEMO"
"""Environment variable that names the demo recording, overriding the search."""


class PacedSource:
    """A file's blocks at real time × ``speed`` (``None``: as fast as they can be read).

    Each block is handed out when its last sample would have been captured:
    block ``k`` of a stream started at ``t0`` waits until
    ``t0 + samples_up_to_k / (sample_rate * speed)``. If the consumer falls
    more than :data:`MAX_LAG_S` behind (it paused), the pace restarts from
    the next block rather than catching up. :meth:`stop` ends :meth:`blocks`
    at the next block, from any thread, interrupting a wait. :meth:`pause`
    holds the next block back until :meth:`resume` (a paused replay skips
    nothing, unlike a paused microphone).
    """

    def __init__(
        self,
        file_source: FileSource,
        speed: float | None = 1.0,
        block_size: int = DEFAULT_REPLAY_BLOCK_SIZE,
    ) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be positive (or None for as fast as possible), got {speed}")
        if block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {block_size}")
        self.file_source = file_source
        self.speed = speed
        """Playback speed relative to real time; None: as fast as possible."""
        self.block_size = int(block_size)
        """Samples per block."""
        self.sample_rate: int = file_source.sample_rate
        """Sample rate of the recording, Hz."""
        pace = "as fast as possible" if speed is None else f"at {speed:g}× real time"
        self.description = f"{file_source.path.name} (replay {pace})"
        """What is playing, for the status line."""
        self._stopped = threading.Event()
        self._wake = threading.Condition()
        self._paused = False

    @property
    def warnings(self) -> list[str]:
        """The file's warnings (truncation, damage), as :attr:`FileSource.warnings`."""
        return self.file_source.warnings

    def stop(self) -> None:
        """End :meth:`blocks` before the next block (thread-safe)."""
        with self._wake:
            self._stopped.set()
            self._wake.notify_all()

    def pause(self) -> None:
        """Hold the next block back until :meth:`resume` or :meth:`stop` (thread-safe)."""
        with self._wake:
            self._paused = True

    def resume(self) -> None:
        """Hand out blocks again, paced from now (thread-safe)."""
        with self._wake:
            self._paused = False
            self._wake.notify_all()

    @property
    def paused(self) -> bool:
        """True while :meth:`pause` holds the blocks back."""
        return self._paused

    def _wait_while_paused(self) -> bool:
        """Block while paused; True if it had to wait."""
        with self._wake:
            waited = False
            while self._paused and not self._stopped.is_set():
                self._wake.wait()
                waited = True
            return waited

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the recording as float32 mono blocks of :attr:`block_size` samples (the last shorter), paced."""
        if self._stopped.is_set():
            return
        rate = None if self.speed is None else self.sample_rate * self.speed  # samples per second of wall time
        t0 = time.monotonic()
        done = 0  # samples handed out since t0
        for block in self.file_source.blocks(self.block_size):
            resumed = self._wait_while_paused()
            if rate is not None:
                due = t0 + (done + len(block)) / rate
                lag = time.monotonic() - due
                if resumed or lag > MAX_LAG_S:
                    t0, done = time.monotonic() - len(block) / rate, 0
                elif lag < 0 and self._stopped.wait(-lag):
                    return
            if self._stopped.is_set():
                return
            done += len(block)
            yield block


def find_demo_recording() -> Path | None:
    """The demo recording: ``$QUIETLAND_DEMO`` if set, else ``./recordings/``, else beside the package source.

    Returns the first candidate that is a file, or None. ``$QUIETLAND_DEMO``,
    when set, is the only candidate.
    """
    named = os.environ.get(DEMO_ENV)
    if named:
        path = Path(named)
        return path if path.is_file() else None
    import quietland

    for path in (
        Path("recordings") / DEMO_FILE_NAME,
        Path(quietland.__file__).resolve().parents[1] / "recordings" / DEMO_FILE_NAME,
    ):
        if path.is_file():
            return path
    return None
