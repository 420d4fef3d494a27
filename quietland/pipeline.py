"""One path from samples to reps, shared by ``analyze``, ``live`` and ``replay``.

:class:`SessionPipeline` owns a :class:`~quietland.detector.LandingDetector`
and a :class:`~quietland.reps.RepCounter`. Feed it blocks of float samples
(any block size; shape ``(n,)`` or ``(n, channels)``), collect the reps and
rejections it returns as they are decided, and call :meth:`finish` at the end
of the stream for the full :class:`Analysis`. numpy only.

Each rep is scored against a calibration profile (:mod:`quietland.scoring`)
once the audio after its landing needed for the double-contact test has
arrived: the stream carries the :class:`~quietland.events.Rep` as soon as it
is counted and its :class:`~quietland.events.RepScore` about 70 ms of audio
later, plus a :class:`~quietland.events.Cue` when form fades or the set-up
drifts from the profile. Blocks are cut at every :data:`CHUNK_S` of the
stream, so every figure, cue and its sample is the same for any block size.
:meth:`SessionPipeline.process` is :meth:`SessionPipeline.cut` (mix down, cut)
then :meth:`SessionPipeline.run` (analyse the pieces); ``analyze`` cuts a block
ahead, to hand its pieces to a detector in a second process (:mod:`quietland.ahead`).
"""
from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from .calibration import DEFAULT_PROFILE, Profile
from .detector import DetectorConfig, LandingDetector, PieceResult
from .doublecontact import DoubleContactFinder
from .downmix import Downmix
from .events import Cue, OnsetEvent, Rejected, Rep, RepScore, SessionSummary, SetSummary
from .reps import DRILL_RULES, CounterConfig, RepCounter
from .scoring import CueWatch, ScoreConfig, rep_score

Item = Rep | Rejected | RepScore | Cue
"""Anything the pipeline hands out as the stream goes."""


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
    profile: Profile = DEFAULT_PROFILE
    """The calibration profile the reps were scored against."""
    cues: tuple[Cue, ...] = ()
    """Form-fade and drift cues, in order."""
    target_cadence_per_min: float | None = None
    """The cadence target rhythm was scored against (contacts per minute); None: each set's running median."""


CONTINUOUS_HINT_MIN = 5
"""Loud sounds too soon after a landing (see :meth:`SessionPipeline._continuous_hops_hint`) that make the hint ..."""
CONTINUOUS_HINT_SHARE = 0.3
"""... when they are also this share of the reps or more. Measured on the synthetic presets counted as ``single``:
squat jumps and the calibration have none (0 of 18 and 13 reps), the real single vertical jump none; pogo 14 of 15
reps, line hops 22 of 21, rope drills 22-81 of 18-46, and the real rhythmic jumps 8 of 12."""

CLIP_LEVEL = 0.999
"""Absolute sample value treated as clipped (up to full scale: a float recording's samples above 1.0 were not
clipped, and its loudness is not underestimated)."""
CLIP_RUN = 3
"""Consecutive clipped samples that make a block count as clipped."""
CHUNK_S = 0.25
"""Blocks are cut at every multiple of this much audio (counted from the stream's start), s."""
FLOOR_CHECK_S = 1.0
"""The noise floor is compared with the profile's at every multiple of this much audio, s."""


def _detector_config(drill: str) -> DetectorConfig:
    """The detector's settings for ``drill``: its threshold and candidates' where the drill's rule sets them
    (``DrillRule.onset_k_mad``, ``DrillRule.onset_candidate_k_mad``), the detector's defaults otherwise (and for
    a name no rule has: the rep counter says so)."""
    rule = DRILL_RULES.get(drill)
    default = DetectorConfig()
    if rule is None:
        return default
    return replace(
        default,
        k_mad=default.k_mad if rule.onset_k_mad is None else rule.onset_k_mad,
        candidate_k_mad=rule.onset_candidate_k_mad,
        thud_k_mad=rule.thud_k_mad,
    )


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
    results the session gave. ``counter_config``: the rep logic's settings
    (default :class:`~quietland.reps.CounterConfig`'s; calibration widens one).
    """

    def __init__(
        self,
        sample_rate: int,
        drill: str = "generic",
        script: tuple[ScriptedAction, ...] = (),
        profile: Profile | None = None,
        score_config: ScoreConfig | None = None,
        target_cadence_per_min: float | None = None,
        counter_config: CounterConfig | None = None,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.drill = drill
        self._script = sorted(script, key=lambda a: a.sample)
        self.detector = LandingDetector(self.sample_rate, _detector_config(drill))
        self.counter = RepCounter(drill, self.sample_rate, counter_config)
        self.profile = profile or DEFAULT_PROFILE
        """The calibration profile reps are scored against."""
        self.score_config = score_config or ScoreConfig()
        self.target_cadence_per_min = target_cadence_per_min
        """Contacts per minute the rhythm is scored against; None: against each set's running median interval."""
        self._contacts = DoubleContactFinder(self.sample_rate)
        self._cue_watch = CueWatch(self.profile, self.sample_rate, self.score_config)
        self._unscored: deque[tuple[Rep, bool]] = deque()  # counted reps waiting for their audio, with "two-foot drill"
        self._scored: list[Rep] = []  # the first reps counted, each with its score (reps are scored in order)
        self._cues: list[Cue] = []
        self._chunk_n = max(1, int(round(CHUNK_S * self.sample_rate)))
        self._floor_every = max(1, int(round(FLOOR_CHECK_S * self.sample_rate)))
        self._next_floor_check = self._floor_every
        self._drill_changes: list[tuple[int, str]] = []
        self._events: list[OnsetEvent] = []
        self._n_samples = 0
        self._n_cut = 0  # samples :meth:`cut` has cut (ahead of those analysed when blocks are cut ahead)
        self._clipped_samples = 0
        self._clip_run = 0  # length of a run of clipped samples still open at the end of the last block
        self._downmix = Downmix(self.sample_rate)  # blocks of several channels are mixed down (quietland.downmix)

    @property
    def n_samples(self) -> int:
        """Samples analysed so far (of the mixed-down stream)."""
        return self._n_samples

    def process(self, block: np.ndarray) -> list[Item]:
        """Feed one block; return what was decided because of it: reps and rejections (in time order),
        scores of earlier reps and cues. A block of shape ``(n,)`` or ``(n, channels)`` is mixed down (see
        :mod:`quietland.downmix`; its first half second of sound is taken in at once, when it is all in)."""
        return self.run(self.cut(block))

    def cut(self, block: np.ndarray) -> list[np.ndarray | ScriptedAction]:
        """The first half of :meth:`process`: ``block`` mixed down and cut at every multiple of CHUNK_S of the
        stream, with the script's actions that fall inside it in their places. :meth:`run` takes them, in order;
        blocks may be cut ahead of running (see :mod:`quietland.ahead`)."""
        block = self._downmix(block)
        steps: list[np.ndarray | ScriptedAction] = []
        while self._script and self._script[0].sample < self._n_cut + block.shape[0]:
            head = max(0, self._script[0].sample - self._n_cut)
            steps.extend(self._chunks(block[:head]))
            block = block[head:]
            steps.append(self._script.pop(0))
        return steps + self._chunks(block)

    def _chunks(self, block: np.ndarray) -> list[np.ndarray]:
        """``block`` cut at every multiple of CHUNK_S of the stream."""
        out: list[np.ndarray] = []
        while block.shape[0]:
            n = min(block.shape[0], self._chunk_n - self._n_cut % self._chunk_n)
            out.append(block[:n])
            block = block[n:]
            self._n_cut += n
        return out

    def run(self, steps: list[np.ndarray | ScriptedAction]) -> list[Item]:
        """The second half of :meth:`process`: analyse the pieces :meth:`cut` gave and take the script's actions."""
        out: list[Item] = []
        for actions, run in itertools.groupby(steps, lambda step: isinstance(step, ScriptedAction)):
            if actions:
                for action in run:
                    out.extend(self._act(action))  # type: ignore[arg-type]
                continue
            # the pieces up to the next action go to the detector together (LandingDetector.process_pieces: the
            # same as one at a time, and faster); the rep logic then takes them one at a time
            pieces: list[np.ndarray] = list(run)  # type: ignore[arg-type]
            for piece, result in zip(pieces, self.detector.process_pieces(pieces)):
                out.extend(self._process_chunk(piece, result))
        return out

    def _act(self, step: ScriptedAction) -> list[Item]:
        if step.action == "new-set":
            self.new_set(step.sample)
        elif step.action == "change-drill" and step.drill:
            return self.change_drill(step.drill)
        return []

    def _process_chunk(self, block: np.ndarray, detected: PieceResult) -> list[Item]:
        """The rep logic's part of a piece: ``detected`` is what the detector made of it."""
        n = block.shape[0]
        self._count_clipping(block)
        self._n_samples += n
        self._contacts.feed(block)
        self._events.extend(detected.events)
        decided: list[Rep | Rejected] = []
        for ev in detected.events:
            decided.extend(self.counter.feed(ev))
        # the rep logic's clock: the sample through which the detector has said everything
        decided.extend(self.counter.advance(detected.complete_through))
        out = self._after_decisions(decided)
        if self._n_samples >= self._next_floor_check:  # (a chunk need not end on a whole second: 22.05 kHz)
            self._next_floor_check += self._floor_every
            out.extend(self._note_cues(self._cue_watch.floor(detected.noise_floor_dbfs, self._n_samples)))
        return out + self._score_ready(final=False)

    def _after_decisions(self, decided: list[Rep | Rejected], two_foot: bool | None = None) -> list[Item]:
        """Queue the counted reps for scoring and watch them for cues.

        ``two_foot``: whether the rule that counted them is a two-foot drill (default: the current rule's).
        """
        out: list[Item] = []
        two_foot = self.counter.rule.two_foot if two_foot is None else two_foot
        for item in decided:
            out.append(item)
            if isinstance(item, Rep):
                self._unscored.append((item, two_foot))
                out.extend(self._note_cues(self._cue_watch.rep(item)))
        return out

    def _note_cues(self, cues: list[Cue]) -> list[Cue]:
        self._cues.extend(cues)
        return cues

    def _score_ready(self, final: bool) -> list[RepScore]:
        """Score the queued reps whose audio is in (all of them when ``final``), in order."""
        out: list[RepScore] = []
        while self._unscored and (final or self._contacts.ready(self._unscored[0][0].sample)):
            rep, two_foot = self._unscored.popleft()
            gap = self._contacts.gap_ms(rep.sample) if two_foot and not rep.inferred else None
            score = rep_score(rep, self.profile, gap, self.score_config, self.target_cadence_per_min)
            self._scored.append(replace(rep, score=score))
            out.append(score)
        return out

    @property
    def decisions(self) -> tuple[int, ...]:
        """How many reps were counted, sounds rejected, reps scored and cues given so far (a new decision changes it)."""
        return (len(self.counter.reps), len(self.counter.rejected), len(self._scored), len(self._cues))

    @property
    def noise_floor_dbfs(self) -> float:
        """The detector's running noise floor, dBFS."""
        return self.detector.noise_floor_dbfs

    def new_set(self, from_sample: int | None = None) -> None:
        """The first rep at or after ``from_sample`` (default: the samples analysed so far, now) starts a new set."""
        self.counter.start_new_set(self._n_samples if from_sample is None else from_sample)

    def change_drill(self, drill: str) -> list[Item]:
        """Count by ``drill`` from now on (from a new set); returns the decisions the old rule still owed.

        The change is recorded with the current sample index, so a replay can repeat it.
        """
        two_foot = self.counter.rule.two_foot  # the old rule decided what it still owed
        out = self._after_decisions(self.counter.change_drill(drill), two_foot)
        config = _detector_config(drill)
        self.detector.set_threshold(config.k_mad, config.candidate_k_mad, config.thud_k_mad)
        self._drill_changes.append((self._n_samples, drill))
        return out

    def _count_clipping(self, block: np.ndarray) -> None:
        """Count samples inside runs of at least CLIP_RUN consecutive full-scale samples (runs may span blocks)."""
        level = np.abs(block)
        hot = (level >= CLIP_LEVEL) & (level <= 1.0)
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

    def scored_reps(self) -> tuple[Rep, ...]:
        """The reps counted so far, each with its score once it has one (a scored rep is the same object each time)."""
        return (*self._scored, *self.counter.reps[len(self._scored):])

    def finish(self) -> tuple[list[Item], Analysis]:
        """End the stream: flush the detector and rep logic; return the last decisions and scores, and the analysis."""
        early = self.process(self._downmix.flush())
        while self._script and self._script[0].sample <= self._n_cut:
            early.extend(self._act(self._script.pop(0)))  # taken after the last sample (a drill changed as the session ended)
        decided: list[Rep | Rejected] = []
        for ev in self.detector.flush():
            self._events.append(ev)
            decided.extend(self.counter.feed(ev))
        decided.extend(self.counter.finish())
        out = early + self._after_decisions(decided) + self._score_ready(final=True)
        if self._clip_run >= CLIP_RUN:
            self._clipped_samples += self._clip_run
        self._clip_run = 0
        warnings: list[str] = [self._downmix.warning] if self._downmix.warning else []
        if (clipped := self.clipping_warning()) is not None:
            warnings.append(clipped)
        hint = self._continuous_hops_hint()
        if hint:
            warnings.append(hint)
        return out, self.analysis_so_far(tuple(warnings), events=tuple(self._events))

    def clipping_warning(self) -> str | None:
        """The warning for the runs of samples at full scale heard so far (None: none)."""
        if not self._clipped_samples:
            return None
        pct = 100.0 * self._clipped_samples / max(1, self._n_samples)
        return (
            f"The recording is clipped ({self._clipped_samples} samples at full scale, {pct:.2f}%): "
            "loudness of the loudest landings is underestimated; lower the input gain or move the microphone away."
        )

    def _continuous_hops_hint(self) -> str | None:
        """The warning for continuous hops counted as discrete jumps (``single``, or a preset counted by it with its
        interval): sounds as loud as the landings, too soon after one to be a new jump, make up a good share of
        the contacts. Each was rejected as ``settle`` by the rule's interval, not for being quieter; discrete jumps
        (squat, box, broad) have next to none of them, so half the contacts of pogo hops counted as ``single``
        are (15 of 30 counted) and went without a word."""
        rule = self.counter.rule
        if rule.kind != "discrete" or rule.min_interval_s != DRILL_RULES["single"].min_interval_s or self._drill_changes:
            return None  # (depth jumps: the rebound's landing, as loud, is part of the rep)
        drop_db = self.counter.config.settle_drop_db
        reps = sorted(self.counter.reps, key=lambda rep: rep.event.sample)
        quick, r = [], 0
        for rejected in sorted(self.counter.rejected, key=lambda rejected: rejected.event.sample):
            while r < len(reps) and reps[r].event.sample < rejected.event.sample:
                r += 1
            if rejected.reason == "settle" and r and rejected.event.loudness_db >= reps[r - 1].event.loudness_db - drop_db:
                quick.append(rejected.event.sample)
        if len(quick) < CONTINUOUS_HINT_MIN or len(quick) < CONTINUOUS_HINT_SHARE * len(reps):
            return None
        contacts = np.sort(np.array([rep.event.sample for rep in reps] + quick, dtype=float))
        gaps = np.diff(contacts) / self.sample_rate
        gaps = gaps[gaps < 2 * rule.min_interval_s]
        every = f" (a contact every {np.median(gaps):.2f} s)" if gaps.size else ""
        return (
            f"{len(quick)} sounds as loud as the landings came within {rule.min_interval_s:g} s of one{every}: "
            f"'{rule.name}' counts one landing per jump, no two within {rule.min_interval_s:g} s, and took these for "
            "settling. Hops in a continuous rhythm count every contact with --drill pogo, line-hops or "
            "single-leg-hops."
        )

    def analysis_so_far(self, warnings: tuple[str, ...] = (), events: tuple[OnsetEvent, ...] = ()) -> Analysis:
        """An :class:`Analysis` of what has been decided so far (:meth:`finish` makes the final one)."""
        return Analysis(
            sample_rate=self.sample_rate,
            n_samples=self._n_samples,
            drill=self.drill,
            events=events,
            reps=self.scored_reps(),
            rejected=tuple(self.counter.rejected),
            sets=tuple(self.counter.set_summaries()),
            summary=self.counter.summary(self._n_samples),
            warnings=warnings,
            drill_changes=tuple(self._drill_changes),
            profile=self.profile,
            cues=tuple(self._cues),
            target_cadence_per_min=self.target_cadence_per_min,
        )
