"""One path from samples to reps, shared by ``analyze``, ``live`` and ``replay``.

:class:`SessionPipeline` owns a :class:`~quietland.detector.LandingDetector`
and a :class:`~quietland.reps.RepCounter`. Feed it blocks of float samples
(any block size; shape ``(n,)`` or ``(n, channels)``), collect the reps and
rejections it returns as they are decided, and call :meth:`finish` at the end
of the stream for the full :class:`Analysis`. numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .detector import LandingDetector
from .events import OnsetEvent, Rejected, Rep, SessionSummary, SetSummary
from .reps import RepCounter


@dataclass(frozen=True)
class Analysis:
    """Everything one pass over a stream found."""

    sample_rate: int
    """Sample rate of the stream, Hz."""
    n_samples: int
    """Samples fed in (per channel)."""
    drill: str
    """Drill rule used to turn events into reps."""
    events: tuple[OnsetEvent, ...]
    """Every onset the detector emitted, in order."""
    reps: tuple[Rep, ...]
    """Counted reps, in order."""
    rejected: tuple[Rejected, ...]
    """Events that are not reps, with reasons, in order."""
    sets: tuple[SetSummary, ...]
    """Sets, in order."""
    summary: SessionSummary
    """Session figures."""
    warnings: tuple[str, ...]
    """Sentences worth telling the user (clipping, nothing found, ...)."""
    drill_changes: tuple[tuple[int, str], ...] = ()
    """(sample, drill) for every change of drill during the stream; ``drill`` is the rule at the start."""


CLIP_LEVEL = 0.999
"""Absolute sample value treated as clipped."""
CLIP_RUN = 3
"""Consecutive clipped samples that make a block count as clipped."""


@dataclass(frozen=True)
class ScriptedAction:
    """Something a user did during a recorded session, replayed at the same sample."""

    sample: int
    """Samples analysed when it took effect."""
    action: str
    """``new-set`` or ``change-drill``."""
    drill: str | None = None
    """The new drill, for ``change-drill``."""


class SessionPipeline:
    """Detector plus rep logic; blocks in, reps and rejections out.

    ``script`` replays a recorded session's actions (new set, drill change)
    at the samples they happened, so a recording analysed again gives the
    results the session gave.
    """

    def __init__(self, sample_rate: int, drill: str = "generic", script: tuple[ScriptedAction, ...] = ()) -> None:
        self.sample_rate = int(sample_rate)
        self.drill = drill
        self._script = sorted(script, key=lambda a: a.sample)
        self.detector = LandingDetector(self.sample_rate)
        self.counter = RepCounter(drill, self.sample_rate)
        self._drill_changes: list[tuple[int, str]] = []
        self._events: list[OnsetEvent] = []
        self._n_samples = 0
        self._clipped_samples = 0
        self._clip_run = 0  # length of a run of clipped samples still open at the end of the last block

    @property
    def n_samples(self) -> int:
        """Samples fed in so far (per channel)."""
        return self._n_samples

    def process(self, block: np.ndarray) -> list[Rep | Rejected]:
        """Feed one block; return reps and rejections decided because of it, in time order."""
        block = np.asarray(block)
        out: list[Rep | Rejected] = []
        while self._script and self._script[0].sample < self._n_samples + block.shape[0]:
            step = self._script.pop(0)
            head = max(0, step.sample - self._n_samples)
            out.extend(self._process(block[:head]))
            block = block[head:]
            if step.action == "new-set":
                self.new_set()
            elif step.action == "change-drill" and step.drill:
                out.extend(self.change_drill(step.drill))
        return out + self._process(block)

    def _process(self, block: np.ndarray) -> list[Rep | Rejected]:
        n = block.shape[0]
        if n == 0:
            return []
        self._count_clipping(block)
        self._n_samples += n
        events = self.detector.process(block)
        self._events.extend(events)
        out: list[Rep | Rejected] = []
        for ev in events:
            out.extend(self.counter.feed(ev))
        # the rep logic's clock: the sample through which the detector has said everything
        out.extend(self.counter.advance(self.detector.complete_through))
        return out

    @property
    def noise_floor_dbfs(self) -> float:
        """The detector's running noise floor, dBFS."""
        return self.detector.noise_floor_dbfs

    def new_set(self) -> None:
        """The next rep starts a new set."""
        self.counter.start_new_set()

    def change_drill(self, drill: str) -> list[Rep | Rejected]:
        """Count by ``drill`` from now on (from a new set); returns the decisions the old rule still owed.

        The change is recorded with the current sample index, so a replay can repeat it.
        """
        out = self.counter.change_drill(drill)
        self._drill_changes.append((self._n_samples, drill))
        return out

    def _count_clipping(self, block: np.ndarray) -> None:
        """Count samples inside runs of at least CLIP_RUN consecutive full-scale samples (runs may span blocks)."""
        hot = np.abs(block) >= CLIP_LEVEL
        if hot.ndim == 2:
            hot = hot.any(axis=1)
        if not hot.any() and self._clip_run == 0:
            return
        # lengths of the runs of clipped samples; the first continues the run the last block left open
        padded = np.concatenate([[False], hot, [False]])
        edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
        lengths = [int(x) for x in edges[1::2] - edges[::2]]
        if hot[0]:
            lengths[0] += self._clip_run
        else:
            lengths.insert(0, self._clip_run)  # the open run ended at the block edge
        self._clip_run = lengths.pop() if hot[-1] else 0  # still open: counted when it ends
        self._clipped_samples += sum(x for x in lengths if x >= CLIP_RUN)

    def finish(self) -> tuple[list[Rep | Rejected], Analysis]:
        """End the stream: flush the detector and rep logic; return the last decisions and the analysis."""
        out: list[Rep | Rejected] = []
        for ev in self.detector.flush():
            self._events.append(ev)
            out.extend(self.counter.feed(ev))
        out.extend(self.counter.finish())
        if self._clip_run >= CLIP_RUN:
            self._clipped_samples += self._clip_run
        self._clip_run = 0
        warnings: list[str] = []
        if self._clipped_samples:
            pct = 100.0 * self._clipped_samples / max(1, self._n_samples)
            warnings.append(
                f"The recording is clipped ({self._clipped_samples} samples at full scale, {pct:.2f}%): "
                "loudness of the loudest landings is underestimated; lower the input gain or move the microphone away."
            )
        analysis = Analysis(
            sample_rate=self.sample_rate,
            n_samples=self._n_samples,
            drill=self.drill,
            events=tuple(self._events),
            reps=tuple(self.counter.reps),
            rejected=tuple(self.counter.rejected),
            sets=tuple(self.counter.set_summaries()),
            summary=self.counter.summary(self._n_samples),
            warnings=tuple(warnings),
            drill_changes=tuple(self._drill_changes),
        )
        return out, analysis
