"""From the session thread to the screen: typed messages, and the bridge that posts them.

Why it exists: :class:`~quietland.session.SessionRunner` calls its
``on_update`` in the session's own thread, once per update, as fast as the
audio comes (hundreds of times a second when a file is replayed at full
speed). The screen needs far fewer, and must never miss a rep.
:class:`UpdateBridge` sits between the two:

- ``Level`` updates are lossy: the bridge keeps one pending level (the
  loudest since the last post, the latest floor and sample clock, clipped if any block was)
  and posts it at most every :data:`LEVEL_INTERVAL_S`.
- ``Decided``, ``Scored`` and ``Cued`` updates are lossless and batched: they are queued and posted
  together as one :class:`RepsDecided` at most every :data:`BATCH_INTERVAL_S`,
  so the table adds rows in batches.
- ``Status`` updates (one per second of audio) are lossy too: one that
  reports nothing new is held and posted with the next level; a change of
  overflows or warnings is posted at once.
- Every other update is posted at once, after any queued decisions, so the
  screen sees them in the session's order.

What is still queued when updates stop coming (a paused replay) is posted
by :meth:`UpdateBridge.flush`, which the app calls from a timer.
Thread-safe; the posting callable must be too, and must deliver posts in the order
they were made whichever thread made them (Textual's ``post_message`` alone does not:
see ``QuietlandApp._post_in_order``).
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from textual.message import Message

from ..events import Cue, Rejected, Rep, RepScore, SetSummary
from ..session import Cued, Decided, Finished, Level, Scored, SetEnded, Started, Status, Update

LEVEL_INTERVAL_S = 1.0 / 12.0
"""Least time between two level messages, s (the meter redraws at most this often)."""
BATCH_INTERVAL_S = 1.0 / 20.0
"""Least time between two batches of decided reps, s."""


class SessionStarted(Message):
    """The session has started: what it listens to and where it records."""

    def __init__(self, update: Started) -> None:
        super().__init__()
        self.update = update


class LevelChanged(Message):
    """Input level, coalesced: may replace an older one still queued (unless only the older one clipped)."""

    def __init__(self, level_dbfs: float, floor_dbfs: float, clipped: bool, sample: int | None = None) -> None:
        super().__init__()
        self.level_dbfs = level_dbfs
        """Loudest block level since the previous message, dBFS."""
        self.floor_dbfs = floor_dbfs
        """Latest noise floor, dBFS."""
        self.clipped = clipped
        """True if any block since the previous message clipped."""
        self.sample = sample
        """The session's sample clock: samples analysed at the latest level (None: unknown). The plan's
        countdowns and the metronome run on it, never on the wall clock."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LevelChanged) and (self.clipped or not message.clipped)


class RepsDecided(Message):
    """Reps, rejected sounds, rep scores and cues since the previous batch, in session order (never dropped)."""

    def __init__(self, items: tuple[Rep | Rejected | RepScore | Cue, ...]) -> None:
        super().__init__()
        self.items = items


class SetFinished(Message):
    """A set has ended."""

    def __init__(self, summary: SetSummary, sample: int | None = None) -> None:
        super().__init__()
        self.summary = summary
        self.sample = sample  # samples analysed when the set ended (None: not known)


class StatusChanged(Message):
    """Device health: overflows so far, measured latency, the session's warnings."""

    def __init__(self, update: Status) -> None:
        super().__init__()
        self.update = update


class SessionFinished(Message):
    """The session has ended: the analysis, the saved files and warnings."""

    def __init__(self, update: Finished) -> None:
        super().__init__()
        self.update = update


class UpdateBridge:
    """Turns the runner's updates into throttled, batched, ordered :class:`Message` posts.

    ``post`` receives each message; ``clock`` returns seconds (monotonic).
    """

    def __init__(self, post: Callable[[Message], object], clock: Callable[[], float] = time.monotonic) -> None:
        self._post = post
        self._clock = clock
        self._lock = threading.Lock()
        self._items: list[Rep | Rejected | RepScore | Cue] = []
        self._last_batch_t = -math.inf
        # (max level, latest floor, any clipped, latest sample)
        self._level: tuple[float, float, bool, int] | None = None
        self._last_level_t = -math.inf
        self._status: Status | None = None  # a status with nothing new, not yet posted
        self._posted_status: tuple[int, tuple[str, ...]] | None = None

    def on_update(self, update: Update) -> None:
        """The runner's ``on_update``: called in the session thread for every update."""
        now = self._clock()
        with self._lock:
            if isinstance(update, Level):
                old = self._level
                level = update.level_dbfs if old is None else max(old[0], update.level_dbfs)
                self._level = (level, update.floor_dbfs, update.clipped or (old is not None and old[2]), update.sample)
                if now - self._last_level_t >= LEVEL_INTERVAL_S:
                    self._post_level(now)
            elif isinstance(update, (Decided, Scored, Cued)):
                self._items.append(update.item if isinstance(update, Decided) else
                                   update.score if isinstance(update, Scored) else update.cue)
                if now - self._last_batch_t >= BATCH_INTERVAL_S:
                    self._post_items(now)
            elif isinstance(update, Status):
                self._status = update
                if (update.overflows, update.warnings) != self._posted_status:
                    self._post_status()
            else:
                self._post_items(now)
                if isinstance(update, Finished):
                    self._level = None  # the stream is over: the meter's last reading goes with it
                    self._post_status()
                self._post(_message_for(update))

    def flush(self) -> None:
        """Post whatever is queued now (called from the app's timer and at the end)."""
        now = self._clock()
        with self._lock:
            self._post_items(now)
            if self._level is not None:
                self._post_level(now)
            self._post_status()

    def _post_items(self, now: float) -> None:
        if self._items:
            self._post(RepsDecided(tuple(self._items)))
            self._items = []
            self._last_batch_t = now

    def _post_level(self, now: float) -> None:
        assert self._level is not None
        self._post(LevelChanged(*self._level))
        self._level = None
        self._last_level_t = now
        self._post_status()

    def _post_status(self) -> None:
        if self._status is not None:
            self._post(StatusChanged(self._status))
            self._posted_status = (self._status.overflows, self._status.warnings)
            self._status = None


def _message_for(update: Update) -> Message:
    if isinstance(update, Started):
        return SessionStarted(update)
    if isinstance(update, SetEnded):
        return SetFinished(update.summary, update.sample)
    if isinstance(update, Finished):
        return SessionFinished(update)
    raise TypeError(f"unknown session update {type(update).__name__}")
