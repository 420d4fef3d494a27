"""The two ways to make a calibration profile: the guided live steps, and from a recording.

Why it exists: both must measure the same things the same way, so that a
profile made live and one made from a recording of the same audio agree.
:class:`CalibrationSteps` is the guided flow's logic with no screen (the
Textual flow in :mod:`quietland.ui.calibrate` only shows it): blocks of audio
in, step progress out. :func:`profile_from_audio` makes a profile from a
whole recording with no steps. Both count landings with the same
:class:`~quietland.pipeline.SessionPipeline`, drill and settings (:data:`COUNTING`), and measure the floor
with a :class:`~quietland.calibration.FloorMeter`. numpy only.

The guided steps, in order (each starts as soon as the previous one ends):

1. ``silence``: :attr:`CalibrationSteps.silence_s` of room sound; the room's
   floor and its octave spectrum. Landings heard now are ignored.
2. ``headroom``: a few normal landings; a warning if they sit within 15 dB
   of the floor (move the laptop, change the input gain). A landing that
   clips, in this step or a later one, is a warning as it is heard.
3. ``quiet``: five of the athlete's quietest landings: the quiet anchor.
4. ``normal``: five normal landings: the normal anchor.
5. ``done``: the profile can be made (where the microphone is comes from the athlete).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .calibration import (
    ANCHOR_LANDINGS,
    FloorMeter,
    Placement,
    Profile,
    anchors_from_levels,
    clipping_warning,
    floor_warning,
    make_profile,
)
from .downmix import Downmix
from .events import Rep
from .pipeline import SessionPipeline
from .reps import DRILL_RULES, CounterConfig

COUNTING = CounterConfig(relative_floor_db=math.inf)
"""How calibration counts landings: as a session does, but with no ``relative_floor_db``. In a session a sound
15 dB under the recent reps is the room, not a landing; a calibration asks for landings far apart in loudness on
purpose (the quietest after the headroom hops, 15-20 dB under them for a soft lander), and those quiet ones were
rejected. The room is still held off by the detector's own gates (``min_above_floor_db``, ``min_contrast_db``) and
the discrete drills' take-off and settling rules."""
STEPS = ("silence", "headroom", "quiet", "normal", "done")
"""The guided steps, in order."""
DEFAULT_DRILL = "single"
"""Calibration landings are counted as discrete jumps: one hop at a time, take-off and settling rejected."""
HEADROOM_LANDINGS = 3
"""Normal landings in the headroom check."""
STEP_SPACING_S = 2.0
"""How far apart the steps ask the hops to be, s (``STEP_TEXT``)."""
STEP_NAMES = {"silence": "room silence", "headroom": "headroom check", "quiet": "quiet landings",
              "normal": "normal landings"}
"""What each measuring step is called, on the screen and in messages."""
STEP_TEXT = {
    "silence": "Stand still and keep quiet: measuring the room.",
    "headroom": f"Do {HEADROOM_LANDINGS} normal hops, one at a time: checking the microphone's headroom.",
    "quiet": f"Now {ANCHOR_LANDINGS} of your QUIETEST landings, one hop at a time (about {STEP_SPACING_S:g} s apart).",
    "normal": f"Now {ANCHOR_LANDINGS} NORMAL landings, the way you usually land, one hop at a time.",
    "done": "Calibration measured. Say where the microphone is, then save.",
}
"""What the athlete is asked to do in each step."""
STEP_DRILLS = tuple(
    name for name, rule in DRILL_RULES.items() if rule.kind == "discrete" and rule.min_interval_s < STEP_SPACING_S
)
"""The drills the guided steps may count with: the discrete ones, since the steps ask for one hop at a time, that
take hops about ``STEP_SPACING_S`` apart for two (depth jumps, no two within 2.5 s, would merge them; see
:func:`step_drill_problem`). A recording made for another drill is counted by that drill's rule
(:func:`profile_from_audio`)."""


DIGITAL_SILENCE_DBFS = -119.0
"""A room floor this low after the silence step is no room: the input delivers exact zeros (all silence reads
-120 dBFS)."""


def step_drill_problem(drill: str) -> str | None:
    """Why the guided steps cannot count with ``drill`` (one sentence), or None when they can."""
    if drill in STEP_DRILLS:
        return None
    rule = DRILL_RULES.get(drill)
    if rule is not None and rule.kind == "rope":
        why = f"{drill} looks for a rope's steady rhythm, which single hops do not have"
    elif rule is not None and rule.kind == "discrete":
        why = (f"{drill} takes no two landings within {rule.min_interval_s:g} s, where the steps' hops come about "
               f"{STEP_SPACING_S:g} s apart")
    else:
        why = f"{drill} counts every impact, so take-offs and settling would be counted as landings"
    return (
        f"the calibration steps are one hop at a time, and {why}; use a discrete drill "
        f"({', '.join(STEP_DRILLS[:3])}, ...), or --from a recording of {drill}."
    )


@dataclass(frozen=True)
class StepProgress:
    """Where the guided calibration is (sent after every block that changed something)."""

    step: str
    """The current step, one of :data:`STEPS`."""
    done: int
    """Landings counted in the step (for ``silence``: whole seconds measured)."""
    needed: int
    """Landings (seconds) the step needs."""
    landing_db: float | None = None
    """Impact level of the landing just counted, dB (None when this progress is not a landing)."""
    warnings: tuple[str, ...] = ()
    """Warnings raised so far (an inverted channel, headroom), oldest first."""


class CalibrationSteps:
    """The guided calibration's logic: feed blocks of mono audio; read :meth:`profile` once :attr:`step` is ``done``."""

    def __init__(self, sample_rate: int, *, drill: str = DEFAULT_DRILL, silence_s: float = 5.0) -> None:
        """Raises ValueError for a drill the steps cannot count with (:func:`step_drill_problem`)."""
        if (problem := step_drill_problem(drill)) is not None:
            raise ValueError(problem)
        self.sample_rate = int(sample_rate)
        self.drill = drill
        self.silence_s = float(silence_s)
        self.pipeline = SessionPipeline(self.sample_rate, drill, counter_config=COUNTING)
        self.step = STEPS[0]
        """The current step."""
        self.landings: dict[str, list[Rep]] = {s: [] for s in ("headroom", "quiet", "normal")}
        """Reps counted in each landing step."""
        self.warnings: list[str] = []
        """Warnings raised so far."""
        self._silence_n = max(1, int(round(self.silence_s * self.sample_rate)))
        self._mix = Downmix(self.sample_rate)
        self._room = FloorMeter(self.sample_rate)  # the silence step's audio, measured as it comes
        self._silence_got = 0
        self.floor_dbfs: float | None = None
        """The room floor, once the silence step is over, dBFS."""
        self.floor_spectrum: tuple[float, ...] = ()
        """The room's octave spectrum, once the silence step is over, dB."""
        self._clipping_said = False

    def needed(self, step: str) -> int:
        """Landings (for ``silence``: seconds) ``step`` needs."""
        return {"silence": int(round(self.silence_s)), "headroom": HEADROOM_LANDINGS}.get(step, ANCHOR_LANDINGS)

    def mix(self, block: np.ndarray) -> np.ndarray:
        """``block`` mixed down as :meth:`feed` mixes it (a mono block is returned as it is); a channel found
        inverted is noted among the :attr:`warnings`. For a caller that wants the mono audio too (a level meter):
        it feeds the result."""
        mono = self._mix(block)
        if (inverted := self._mix.warning) is not None and inverted not in self.warnings:
            self.warnings.append(inverted)
        return mono

    def feed(self, block: np.ndarray) -> list[StepProgress]:
        """Feed a block of float samples, shape ``(n,)`` or ``(n, channels)`` (mixed down as
        :mod:`quietland.downmix` says); return the progress it made."""
        block = self.mix(block)
        out: list[StepProgress] = []
        if self.step == "silence":
            take = block[: self._silence_n - self._silence_got]
            before = self._silence_got // self.sample_rate
            self._room.feed(take)
            self._silence_got += take.size
            if self._silence_got >= self._silence_n:
                self.floor_dbfs = self._room.floor_dbfs()
                self.floor_spectrum = self._room.spectrum_db()
                self.step = "headroom"
                if self.floor_dbfs <= DIGITAL_SILENCE_DBFS:  # said now: no landing will be heard to finish the steps
                    self.warnings.append(
                        "The input is digital silence: no sound reaches quietland, so no landing can be heard. Is "
                        "the microphone muted, or is it the wrong device ('quietland devices' lists them)?"
                    )
                out.append(self._progress())
            elif self._silence_got // self.sample_rate > before:
                out.append(StepProgress("silence", self._silence_got // self.sample_rate, self.needed("silence")))
        for item in self.pipeline.process(block):
            if isinstance(item, Rep) and not item.inferred:
                out.extend(self._landing(item))
        return out

    def finish(self) -> list[StepProgress]:
        """The audio has ended: feed what the mixdown still holds and decide the landings still pending."""
        out = self.feed(self._mix.flush())
        items, _ = self.pipeline.finish()
        for item in items:
            if isinstance(item, Rep) and not item.inferred:
                out.extend(self._landing(item))
        return out

    def _landing(self, rep: Rep) -> list[StepProgress]:
        if self.step not in self.landings:
            return []  # during the silence, or after the last step
        step = self.step
        got = self.landings[step]
        got.append(rep)
        clipped = clipping_warning(rep.event.peak_dbfs)
        if clipped is not None and not self._clipping_said:  # (said with the landing, in any step: the quiet and
            self._clipping_said = True                        # normal anchors rest on landings heard whole)
            self.warnings.append(clipped)
        if len(got) < self.needed(step):
            return [self._progress(rep.impact_db)]
        if step == "headroom":
            self.warnings.extend(headroom_warnings(got, self.floor_dbfs))
        self.step = STEPS[STEPS.index(step) + 1]
        self.pipeline.counter.forget_loudness()  # the quiet landings are not too quiet next to the headroom hops
        return [StepProgress(step, len(got), self.needed(step), rep.impact_db, tuple(self.warnings)), self._progress()]

    def _progress(self, landing_db: float | None = None) -> StepProgress:
        done = len(self.landings[self.step]) if self.step in self.landings else 0
        return StepProgress(self.step, done, self.needed(self.step) if self.step != "done" else 0, landing_db,
                            tuple(self.warnings))

    def profile(self, *, name: str, device: str, placement: Placement = Placement()) -> Profile:
        """The profile measured; raises RuntimeError before the ``done`` step."""
        if self.step != "done" or self.floor_dbfs is None:
            raise RuntimeError(f"calibration is not finished (step {self.step})")
        everything = [r for reps in self.landings.values() for r in reps]
        return make_profile(
            name=name,
            source="live",
            device=device,
            sample_rate=self.sample_rate,
            floor_dbfs=self.floor_dbfs,
            quiet_landings_db=tuple(r.impact_db for r in self.landings["quiet"]),
            normal_landings_db=tuple(r.impact_db for r in self.landings["normal"]),
            peak_dbfs=max(r.event.peak_dbfs for r in everything),
            floor_spectrum=self.floor_spectrum,
            placement=placement,
        )


def headroom_warnings(landings: list[Rep], floor_dbfs: float | None) -> list[str]:
    """Warnings about the microphone's headroom from a few normal landings (empty when all is well): too close to
    the room's floor. (Clipping is said with the landing that clips, in any step.)"""
    typical = float(np.median([r.impact_db for r in landings]))
    found = floor_warning(typical, floor_dbfs) if floor_dbfs is not None else None
    return [found] if found else []


def profile_from_audio(
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    *,
    name: str,
    source: str,
    device: str,
    drill: str = DEFAULT_DRILL,
    placement: Placement = Placement(),
    on_warning: Callable[[str], None] | None = None,
) -> Profile:
    """A profile from a whole recording of landings (no steps).

    Landings are counted by ``drill``; the quiet anchor is the median of the
    five quietest, the normal anchor the median of the others
    (:func:`~quietland.calibration.anchors_from_levels`); the floor is the
    recording's :func:`~quietland.calibration.room_floor_dbfs` and the spectrum
    that of its quietest fifth. Raises ValueError with too few landings.
    ``on_warning`` hears the counting's own warnings (continuous hops counted as
    discrete jumps, say), which say the landings may not be what they seem; not the
    recording's clipping when the profile's own warning says its landings clip.
    """
    pipeline = SessionPipeline(sample_rate, drill, counter_config=COUNTING)
    mix = Downmix(sample_rate)
    floor = FloorMeter(sample_rate)  # the audio is measured as it passes, not kept: a long recording fits

    def mixed() -> Iterator[np.ndarray]:
        yield from map(mix, blocks)
        yield mix.flush()

    for block in mixed():
        floor.feed(block)
        pipeline.process(block)
    _, analysis = pipeline.finish()
    reps = [r for r in analysis.reps if not r.inferred]
    peak = max((r.event.peak_dbfs for r in reps), default=None)
    if on_warning is not None:
        said = pipeline.clipping_warning() if clipping_warning(peak) is not None else None  # (the profile says it)
        for warning in analysis.warnings:
            if warning != said:
                on_warning(warning)
    _, _, quiet, others = anchors_from_levels([r.impact_db for r in reps])
    return make_profile(
        name=name,
        source=source,
        device=device,
        sample_rate=sample_rate,
        floor_dbfs=floor.floor_dbfs(),
        quiet_landings_db=quiet,
        normal_landings_db=others,
        peak_dbfs=peak,
        floor_spectrum=floor.spectrum_db(quietest=0.2),
        placement=placement,
    )
