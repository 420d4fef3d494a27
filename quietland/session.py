"""The one driver of a session, for ``live`` (with or without the screen), ``replay`` and ``demo``.

Why it exists: whatever the source (a microphone, a file played at real
time, a file read as fast as possible) and whatever shows the results (the
Textual screen, JSON lines on stdout, a test), a session is the same loop:
take a block, record it, analyse it with the pipeline ``analyze`` uses, and
tell the consumer what happened. :class:`SessionRunner` is that loop. It
reports through one callback, ``on_update``, with the typed updates below,
called in the runner's own thread:

- :class:`Started` first and :class:`Finished` last, once each;
- :class:`Decided` for every rep and rejected sound as soon as the pipeline
  decides it (never dropped): reps in time order; in rope drills a rejected
  sound can be decided just after a later rep, so a consumer that lists both
  should place rejections by their sample;
- :class:`Scored` for every rep once its score is known (about 70 ms of
  audio after :class:`Decided`; every rep gets one, in rep order);
- :class:`Cued` for a form-fade or drift cue (never dropped);
- :class:`Level` every :data:`LEVEL_INTERVAL_S` of audio (a consumer may coalesce them);
- :class:`SetEnded` when a set is over; :class:`Status` for the device's health.

A source is anything with ``sample_rate`` (Hz), ``description`` (text) and
``blocks()`` yielding float32 arrays of shape ``(n,)`` or ``(n, channels)``;
optional ``stop()``, ``block_size``, ``warnings``, ``overflows`` and
``latency_s`` are used when present. :func:`file_blocks` makes a
:class:`~quietland.audiofile.FileSource` one. Blocks with several channels are
mixed down to mono (:mod:`quietland.downmix`: their mean, a channel found
inverted turned back first), exactly as :class:`FileSource` does, and the mono
stream is what is recorded, so the recorded WAV, replayed or analysed, gives the
same results as the live session.
"""
from __future__ import annotations

import dataclasses
import math
import signal
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union

import numpy as np

from .calibration import Profile
from .events import Cue, Rejected, Rep, RepScore, SetSummary
from .downmix import Downmix
from .pipeline import CLIP_LEVEL, Analysis, Item, ScriptedAction, SessionPipeline
from .reps import DRILL_RULES
from .training import PlanLike, PlanTracker

if TYPE_CHECKING:
    from .audiofile import FileSource
    from .recorder import SessionRecorder

LEVEL_INTERVAL_S = 0.02
"""Audio between two :class:`Level` updates, s."""
STATUS_INTERVAL_S = 1.0
"""Audio between two routine :class:`Status` updates, s (a change of overflows or warnings is sent at once)."""
SAVE_INTERVAL_S = 1.0
"""Least audio between two saves of the results while anything new was decided or done (a new set, a drill
change), s: a session killed mid-set (power cut, SIGKILL) loses about this much from its JSON. Each save rewrites
the whole document, so once it is larger than this much of the WAV (4 bytes a sample; about 180 kB, 200 reps, at
44.1 kHz) the interval grows with it: the JSON saved never adds up to more than the audio recorded. Sets' ends and
the session's end are saved as well."""
SILENCE_DBFS = -120.0
"""Level reported for digital silence, dBFS."""
SET_END_MARGIN_S = 0.05
"""Extra audio past the last moment a set could still continue before :class:`SetEnded` is sent, s."""
ENDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals that end a live session as its quit key does (a service manager stopping it, its terminal or SSH
connection gone): the recording is completed and the results saved, not lost with the process."""


class BlockSource(Protocol):
    """What :class:`SessionRunner` reads from."""

    sample_rate: int
    description: str

    def blocks(self) -> Iterator[np.ndarray]: ...


# ---------------------------------------------------------------- updates
@dataclass(frozen=True)
class Started:
    """The session has started; always the first update."""

    drill: str
    """The drill the session starts counting by."""
    sample_rate: int
    """Sample rate of the source, Hz."""
    source_description: str
    """What is being listened to (device name, file name)."""
    wav_path: Path | None
    """Where the audio is being recorded; None when not recording."""
    results_path: Path | None
    """Where the results JSON is written; None when not recording."""
    profile: Profile | None = None
    """The calibration profile reps are scored against (``calibrated`` False: the built-in default)."""


@dataclass(frozen=True)
class Level:
    """Input level over the audio since the previous :class:`Level` (consumers may keep only the latest)."""

    sample: int
    """Samples analysed so far (the end of the span this level covers)."""
    level_dbfs: float
    """RMS level of the span, dBFS (:data:`SILENCE_DBFS` for digital silence)."""
    floor_dbfs: float
    """The detector's running noise floor, dBFS."""
    clipped: bool
    """True if any sample in the span reached full scale."""


@dataclass(frozen=True)
class Decided:
    """A rep was counted or a sound was rejected (never dropped; reps come in time order)."""

    item: Rep | Rejected
    """The decision."""


@dataclass(frozen=True)
class Scored:
    """A rep's score is known (the rep itself came earlier in a :class:`Decided`)."""

    score: RepScore
    """The score; ``score.number`` is the rep's number."""


@dataclass(frozen=True)
class Cued:
    """A cue for the athlete: form fading, or the set-up drifting from the calibration."""

    cue: Cue
    """The cue."""


@dataclass(frozen=True)
class SetEnded:
    """A set is over: the next rep, if any, starts a new one.

    Sent when a rep of a later set is decided, on :meth:`SessionRunner.new_set`
    or a drill change, at the end of the session, or once the stream has run
    past the longest interval the drill allows after the set's last rep. If a
    rep decided later still joins the set, it is sent again with the new summary.
    """

    summary: SetSummary
    """The set's figures."""
    sample: int | None = None
    """Samples analysed when it was sent (None: not known), for a plan's clock: a round whose time is up ends
    there, not at the set's last rep."""


@dataclass(frozen=True)
class Status:
    """The health of the capture: sent after :class:`Started`, every second of audio, and on any change."""

    overflows: int
    """Input overflows so far (audio the device lost because blocks were not taken in time)."""
    latency_ms: float | None
    """The input latency the device reports (capture to delivery), ms; None for a source without one (a file)."""
    warnings: tuple[str, ...] = ()
    """Sentences about the session so far (recording stopped, ...), oldest first."""


@dataclass(frozen=True)
class Finished:
    """The session has ended and everything is saved; always the last update."""

    analysis: Analysis
    """Everything the session found (its ``warnings`` include the recorder's and the source's)."""
    wav_path: Path | None
    """The recorded audio, or None when not recording."""
    results_path: Path | None
    """The results JSON, or None when not recording."""
    warnings: tuple[str, ...]
    """Every warning of the session, including any written after the results were saved."""


Update = Union[Started, Level, Decided, Scored, Cued, SetEnded, Status, Finished]
"""Anything ``on_update`` receives."""


# ---------------------------------------------------------------- sources
class FileBlocks:
    """A :class:`~quietland.audiofile.FileSource` as a session source: its blocks as fast as they can be read."""

    def __init__(self, source: FileSource, block_size: int) -> None:
        self.file_source = source
        self.sample_rate: int = source.sample_rate
        """Sample rate of the file, Hz."""
        self.block_size = int(block_size)
        """Samples per block."""
        self.description = source.path.name
        """The file's name."""
        self._stopped = False

    @property
    def warnings(self) -> list[str]:
        """The file's warnings (truncation, damage)."""
        return self.file_source.warnings

    def blocks(self) -> Iterator[np.ndarray]:
        """The file's mono float32 blocks, until the end or :meth:`stop`."""
        for block in self.file_source.blocks(self.block_size):
            if self._stopped:
                return
            yield block

    def stop(self) -> None:
        """End :meth:`blocks` before the next block."""
        self._stopped = True


def file_blocks(source: FileSource, block_size: int) -> FileBlocks:
    """``source`` read in blocks of ``block_size`` samples, as a session source."""
    return FileBlocks(source, block_size)


# ---------------------------------------------------------------- runner
class SessionRunner:
    """Runs one session: blocks from ``source`` into the recorder and the pipeline, updates out.

    ``drill``: the drill to count by. ``recorder``: where audio and results are
    saved (None: nothing is saved). ``on_update``: called in the runner's
    thread with each :data:`Update`. ``block_size``: the source's samples per
    block, for the results only (default: the source's ``block_size``).
    ``duration_s``: stop after this much audio (None: until the source ends
    or :meth:`stop`). ``plan_text``: the plan shown on the screen, saved with the
    results (``config.plan``) so that a replay shows it again (None: none).

    :meth:`run` blocks until the session ends. :meth:`stop`, :meth:`pause`,
    :meth:`resume`, :meth:`new_set` and :meth:`change_drill` may be called
    from any thread (``stop`` also from a signal handler); the last four take
    effect before the next block.
    """

    def __init__(
        self,
        source: BlockSource,
        drill: str,
        recorder: SessionRecorder | None,
        on_update: Callable[[Update], None],
        block_size: int | None = None,
        *,
        duration_s: float | None = None,
        script: tuple[ScriptedAction, ...] = (),
        profile: Profile | None = None,
        target_cadence_per_min: float | None = None,
        plan_text: str | None = None,
    ) -> None:
        self.source = source
        self.recorder = recorder
        self.on_update = on_update
        self.pipeline = SessionPipeline(
            source.sample_rate, drill, script, profile=profile, target_cadence_per_min=target_cadence_per_min
        )
        self.sample_rate = self.pipeline.sample_rate
        self._downmix = Downmix(self.sample_rate)
        self.drill = drill
        """The drill being counted by now."""
        self.block_size = int(block_size or getattr(source, "block_size", 0) or 0)
        self.max_samples = None if duration_s is None else max(0, int(round(duration_s * self.sample_rate)))
        self.actions: list[dict[str, Any]] = []
        """What the user did, in order, each with ``sample`` (samples analysed when it took effect)."""
        self.config = session_config(self.pipeline, source, self.block_size, plan_text)
        """The configuration saved with the results."""
        self._commands: deque[tuple[str, str | None]] = deque()
        self._plan: PlanTracker | None = None  # a plan whose set ends the runner keeps (see follow_plan)
        self._plan_ends: set[int] = set()  # numbers of the reps after which the plan started a new set
        self._stop_requested = False
        self._paused = False
        self._ran = False
        self._consumer_failed = False
        self._finishing = False
        # set bookkeeping
        self._open_set = 0  # number of the set the latest rep belongs to (0: none yet)
        self._ended_through = 0  # sets 1.._ended_through have had their SetEnded
        self._last_rep_sample = 0
        # level and status bookkeeping
        self._level_sq = 0.0
        self._level_n = 0
        self._level_clipped = False
        self._level_every = max(1, int(round(LEVEL_INTERVAL_S * self.sample_rate)))
        self._status_every = max(1, int(round(STATUS_INTERVAL_S * self.sample_rate)))
        self._next_status = self._status_every
        self._save_every = max(1, int(round(SAVE_INTERVAL_S * self.sample_rate)))
        self._next_save = self._save_every
        self._saved_progress: tuple[int, ...] | None = None  # _progress() at the last save
        self._last_status: tuple[int, tuple[str, ...]] | None = None

    # ------------------------------------------------------------ controls
    def stop(self) -> None:
        """End the session: the source is asked to stop, and what it already captured is still analysed and saved."""
        self._stop_requested = True
        stop = getattr(self.source, "stop", None)
        if stop is not None:
            stop()

    def pause(self) -> None:
        """From the next block on, blocks are neither analysed nor recorded (the source keeps running)."""
        self._commands.append(("pause", None))

    def resume(self) -> None:
        """Analyse and record blocks again."""
        self._commands.append(("resume", None))

    def new_set(self) -> None:
        """The next rep starts a new set."""
        self._commands.append(("new-set", None))

    def follow_plan(self, plan: PlanLike) -> None:
        """End each set where ``plan`` says, as the ``n`` key would (saved in :attr:`actions`): at its target rep, or
        once its timed round is over. Call before :meth:`run`. The rep counter asks the plan at each rep it counts, so
        that the reps decided with the target rep (a rope beat's search decides several at once) and a replay faster
        than the screen count into the next set."""
        if self._ran:
            raise RuntimeError("follow_plan must be called before run")
        self._plan = PlanTracker(plan, self.sample_rate)
        self.pipeline.counter.on_rep = self._plan_rep

    def change_drill(self, name: str) -> None:
        """Count by drill ``name`` from the next block on (and from a new set). Raises ValueError for an unknown drill."""
        if name not in DRILL_RULES:
            raise ValueError(f"unknown drill {name!r}; choose one of: {', '.join(DRILL_RULES)}")
        self._commands.append(("change-drill", name))

    @property
    def paused(self) -> bool:
        """True while blocks are being skipped."""
        return self._paused

    # ----------------------------------------------------------------- run
    def run(self) -> Analysis:
        """Run the session to its end; return its analysis.

        It ends when the source does, on :meth:`stop`, after ``duration_s``, or
        on an error (from the source or from ``on_update``). Whatever the end,
        the pipeline is finished, the recorder closed with the final results
        and :class:`Finished` sent (unless ``on_update`` itself failed); then
        the error, if any, is raised again.
        """
        if self._ran:
            raise RuntimeError("a SessionRunner runs once")
        self._ran = True
        error: BaseException | None = None
        try:
            recorder = self.recorder
            self._emit(
                Started(
                    drill=self.drill,
                    sample_rate=self.sample_rate,
                    source_description=str(self.source.description),
                    wav_path=None if recorder is None else recorder.wav_path,
                    results_path=None if recorder is None else recorder.results_path,
                    profile=self.pipeline.profile,
                )
            )
            self._send_status(force=True)
            self._save_results()
            self._loop()
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(error)
        return self.analysis

    def _loop(self) -> None:
        source_can_stop = getattr(self.source, "stop", None) is not None
        blocks = iter(self.source.blocks())
        try:
            for block in blocks:
                self._apply_commands()
                if self._stop_requested and not source_can_stop:
                    break
                if self._paused or self._done():
                    continue  # a stopping source still hands over what it captured; past the duration it is dropped
                self._feed_mixed(self._downmix(block))
                if self._done():
                    self.stop()
            if not self._done():
                self._feed_mixed(self._downmix.flush())  # a stream that ended inside the mixdown's first half second
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:
                close()

    def _done(self) -> bool:
        return self.max_samples is not None and self.pipeline.n_samples >= self.max_samples

    def _feed_mixed(self, block: np.ndarray) -> None:
        if self.max_samples is not None:
            block = block[: self.max_samples - self.pipeline.n_samples]
        self._feed(block)

    def _feed(self, block: np.ndarray) -> None:
        if block.size == 0:
            return
        if self.recorder is not None:
            self.recorder.write(block)
        self._emit_decisions(self.pipeline.process(block))
        if self._plan is not None:
            if self._plan.tick(self.pipeline.n_samples).round_over:
                self._plan_says_new_set(self.pipeline.n_samples)
        self._check_set_over()
        if self.pipeline.n_samples >= self._next_save:
            wait = self._save_every
            if self._progress() != self._saved_progress:
                self._save_results()
                if self.recorder is not None:  # (the recorder writes 4 bytes a sample: float32 mono)
                    wait = max(wait, self.recorder.results_size // 4)
            self._next_save = self.pipeline.n_samples + wait
        self._measure_level(block)
        if self.pipeline.n_samples >= self._next_status:
            self._next_status += self._status_every
            self._send_status(force=True)
        else:
            self._send_status(force=False)

    def _apply_commands(self) -> None:
        while self._commands:
            what, arg = self._commands.popleft()
            if what == "pause" and not self._paused:
                self._paused = True
            elif what == "resume" and self._paused:
                self._paused = False
            elif what == "new-set":
                self._start_new_set()
            elif what == "change-drill" and arg != self.drill:
                self._emit_decisions(self.pipeline.change_drill(arg))
                self._end_open_set()
                self.drill = arg
            else:
                continue
            self._record_action(what, arg if what == "change-drill" else None)

    def _record_action(self, what: str, drill: str | None = None, sample: int | None = None) -> None:
        """Keep what took effect at ``sample`` (default: now, the samples analysed so far), for the results'
        ``actions``."""
        action: dict[str, Any] = {"sample": self.pipeline.n_samples if sample is None else sample, "action": what}
        if drill is not None:
            action["drill"] = drill
        self.actions.append(action)

    # ---------------------------------------------------------------- sets
    def _start_new_set(self, from_sample: int | None = None) -> None:
        """The first rep at or after ``from_sample`` (default: now) starts a new set; the current one ends now."""
        self._end_open_set()
        self.pipeline.new_set(from_sample)

    def _plan_rep(self, rep: Rep) -> int | None:
        """The plan takes ``rep`` as it is counted (the counter asks, so that the reps decided with a target rep,
        after it, start the next set); returns where that next set starts, or None."""
        plan = self._plan
        assert plan is not None
        if rep.rep_in_set == 1 and rep.set_number > 1:  # the set before ended (a rest, a key): its end comes first
            for summary in self.pipeline.counter.set_summaries():
                if summary.number == rep.set_number - 1:
                    plan.on_set_end(summary)
        if not plan.on_rep(rep).ends_set:
            return None
        self._plan_ends.add(rep.number)
        self._record_action("new-set", sample=rep.sample + 1)
        return rep.sample + 1

    def _plan_says_new_set(self, from_sample: int) -> None:
        """The plan's set work is done: a new set from ``from_sample`` on, saved as the ``n`` key's would be."""
        self._start_new_set(from_sample)
        self._record_action("new-set", sample=from_sample)

    def _emit_decisions(self, items: list[Item]) -> None:
        for item in items:
            if isinstance(item, RepScore):
                self._emit(Scored(item))
                continue
            if isinstance(item, Cue):
                self._emit(Cued(item))
                continue
            if isinstance(item, Rep):
                if item.set_number > self._open_set:
                    self._end_open_set()
                elif item.set_number <= self._ended_through:
                    self._ended_through = item.set_number - 1  # a late rep joined a set already reported as ended
                self._open_set = item.set_number
                self._last_rep_sample = item.sample
            self._emit(Decided(item))
            if isinstance(item, Rep) and item.number in self._plan_ends:
                self._plan_ends.discard(item.number)
                self._end_open_set()  # the plan's target rep: the rest starts now

    def _check_set_over(self) -> None:
        """Send SetEnded once the stream is past the longest gap the drill allows inside a set."""
        if self._open_set <= self._ended_through:
            return
        counter = self.pipeline.counter
        wait_n = int((counter.max_gap_in_set_s + counter.rule.decision_delay_s + SET_END_MARGIN_S) * self.sample_rate)
        wait_n += self.pipeline.detector.latency_samples
        if self.pipeline.n_samples - self._last_rep_sample > wait_n:
            self._end_open_set()

    def _end_open_set(self) -> None:
        if self._open_set <= self._ended_through:
            return
        number = self._open_set
        self._ended_through = number
        for summary in self.pipeline.counter.set_summaries():
            if summary.number == number:
                self._emit(SetEnded(summary, self.pipeline.n_samples))
                if self._plan is not None:
                    self._plan.on_set_end(summary)
                break
        if not self._finishing:
            self._save_results()

    # ------------------------------------------------------ level, status
    def _measure_level(self, block: np.ndarray) -> None:
        x = block.astype(np.float64)
        self._level_sq += float(np.dot(x, x))
        self._level_n += x.size
        self._level_clipped = self._level_clipped or bool(np.any(np.abs(block) >= CLIP_LEVEL))
        if self._level_n < self._level_every:
            return
        mean_sq = self._level_sq / self._level_n
        level = 10.0 * math.log10(mean_sq) if mean_sq > 0 else SILENCE_DBFS
        self._emit(
            Level(
                sample=self.pipeline.n_samples,
                level_dbfs=max(SILENCE_DBFS, level),
                floor_dbfs=self.pipeline.noise_floor_dbfs,
                clipped=self._level_clipped,
            )
        )
        self._level_sq, self._level_n, self._level_clipped = 0.0, 0, False

    def _send_status(self, *, force: bool) -> None:
        overflows = int(getattr(self.source, "overflows", 0) or 0)
        # the source's (a truncated file, samples that are not numbers) and the recorder's, each once
        warnings = tuple(dict.fromkeys([*getattr(self.source, "warnings", ()), *(self.recorder.warnings if self.recorder else ())]))
        state = (overflows, warnings)
        if not force and state == self._last_status:
            return
        self._last_status = state
        latency_s = getattr(self.source, "latency_s", None)
        self._emit(Status(overflows, None if latency_s is None else 1000.0 * latency_s, warnings))

    # -------------------------------------------------------------- finish
    def _finish(self, error: BaseException | None) -> None:
        """Finish the pipeline, save, and send the last updates, whatever happened before."""
        self._finishing = True
        final: list[Item] = []
        try:
            if error is None:
                self._apply_commands()
            final, analysis = self.pipeline.finish()
        except Exception:  # noqa: BLE001 - keep what was found so far; the original error (if any) is raised
            if error is None:
                raise
            analysis = self.analysis_so_far()
        self.analysis = dataclasses.replace(analysis, warnings=self._warnings(analysis, error))
        try:
            self._emit_decisions(final)
            self._end_open_set()
        except Exception:  # noqa: BLE001 - as below: the consumer failed while the session was ending anyway
            if error is None:
                raise
        finally:
            if self.recorder is not None:
                self.recorder.close(self.analysis, config=self.config, actions=self.actions, block_size=self.block_size)
        warnings = self.analysis.warnings
        recorder = self.recorder
        if recorder is not None:
            warnings += tuple(w for w in recorder.warnings if w not in warnings)
        finished = Finished(
            analysis=self.analysis,
            wav_path=None if recorder is None else recorder.wav_path,
            results_path=None if recorder is None or not recorder.results_saved else recorder.results_path,
            warnings=warnings,
        )
        try:
            self._emit(finished)
        except Exception:  # noqa: BLE001 - the error that ended the session matters more than the consumer's
            if error is None:
                raise

    def _warnings(self, analysis: Analysis, error: BaseException | None) -> tuple[str, ...]:
        """The source's warnings, the pipeline's, lost audio, the recorder's and the error that ended the session."""
        from .capture import CaptureError

        out = [*getattr(self.source, "warnings", ()), *analysis.warnings]
        if self._downmix.warning:
            out.append(self._downmix.warning)
        overflows = int(getattr(self.source, "overflows", 0) or 0)
        if overflows:
            out.append(
                f"The input overflowed {overflows} time{'s' if overflows != 1 else ''}: some audio was lost, so a "
                "landing may be missing and intervals across a gap are too short; close other programs or use "
                "a larger block size."
            )
        if self.recorder is not None:
            out.extend(self.recorder.warnings)
        if isinstance(error, CaptureError):
            out.append(str(error))
        return tuple(dict.fromkeys(out))

    def _progress(self) -> tuple[int, ...]:
        """What a save would hold new: the pipeline's decisions and the user's actions, counted."""
        return (*self.pipeline.decisions, len(self.actions))

    def _save_results(self) -> None:
        if self.recorder is not None:
            self._saved_progress = self._progress()
            analysis = self.analysis_so_far()
            self.recorder.save_results(analysis, config=self.config, actions=self.actions, block_size=self.block_size)

    def analysis_so_far(self) -> Analysis:
        """The analysis of what has been decided so far, without finishing the pipeline."""
        return self.pipeline.analysis_so_far(
            tuple(getattr(self.source, "warnings", ())) + tuple(self.recorder.warnings if self.recorder else ())
        )

    def _emit(self, update: Update) -> None:
        """Hand ``update`` to the consumer; once the consumer has failed, updates are dropped."""
        if self._consumer_failed:
            return
        try:
            self.on_update(update)
        except BaseException:
            self._consumer_failed = True
            raise


def session_config(
    pipeline: SessionPipeline, source: BlockSource, block_size: int, plan_text: str | None = None
) -> dict[str, Any]:
    """The configuration saved with a session's results: enough to reproduce them from its WAV (and ``plan``, the
    plan the screen showed, as :meth:`quietland.presets.SetPlan.describe` writes it, for a replay to show again)."""
    return {
        "drill": pipeline.drill,
        "target_cadence_per_min": pipeline.target_cadence_per_min,
        "plan": plan_text,
        "device": str(source.description),
        "sample_rate": pipeline.sample_rate,
        "channels": int(getattr(source, "channels", 1) or 1),
        "block_size": block_size,
        "detector": dataclasses.asdict(pipeline.detector.config),
        "counter": dataclasses.asdict(pipeline.counter.config),
    }
