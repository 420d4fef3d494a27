"""The values that flow between quietland's stages.

Everything here is a frozen dataclass so that the detector, the rep logic,
the session recorder and the UI can hand values to each other without
copying or guarding them. Time is always a sample index counted from the
first sample fed into the pipeline; seconds and milliseconds are derived.
JSON is produced at the edge (``quietland.report``), never here.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class OnsetEvent:
    """One impact found by :class:`quietland.detector.LandingDetector`."""

    sample: int
    """Onset sample index (refined to the sample), counted from the first sample fed in."""
    sample_rate: int
    """Sample rate of the stream, in Hz."""
    peak_dbfs: float
    """Peak absolute sample level in the 20 ms after the onset, in dBFS (0 dBFS = full scale)."""
    loudness_db: float
    """Short-window loudness: RMS level of the 20 ms after the onset, in dB re full scale."""
    impact_db: float
    """Impact level: RMS of the loudest 5 ms within the 20 ms after the onset, dB re full scale. A fast
    "peak sound level" that follows the force of the impact; the score and calibration anchors use it."""
    low_db: float
    """Energy of the low ("thud", below 250 Hz) band in the 20 ms after the onset, in dB."""
    high_db: float
    """Energy of the high ("click", above 3 kHz) band in the 20 ms after the onset, in dB."""
    strength_db: float
    """How far the onset rose above the adaptive threshold, in dB (a confidence figure). Negative for a
    candidate under it, which the detector reports only when asked (``DetectorConfig.candidate_k_mad``)."""
    floor_dbfs: float
    """Running noise floor just before the onset (10th percentile of recent frame levels), dBFS."""
    contrast_db: float
    """Local contrast: RMS of the 20 ms after the onset over RMS of the 50 ms before it (ending 2 ms before), dB."""
    click_share: float
    """Share of the onset strength in bands above 3 kHz (0-1): near 1 for a rope click, low for a thud."""
    detect_delay_samples: int
    """Audio the detector needed after the onset before emitting it, in samples."""
    air_share: float = 0.0
    """Share of the onset strength in bands above 6 kHz (0-1): where a rope's slap still rises and voice,
    music and a landing's thud hardly reach (the rope drills' beat salience uses it)."""
    thud_db: float | None = None
    """For an onset found in the thud band alone (``DetectorConfig.thud_k_mad``: a landing in broadband noise, whose
    rise over all frequencies is too small), how far the thud band's level rose over its past, dB; None for an onset
    the onset strength found. Such an onset is judged by this rise, not by ``contrast_db`` over all frequencies."""

    @property
    def t_s(self) -> float:
        """Onset time in seconds from the first sample."""
        return self.sample / self.sample_rate

    @property
    def detect_delay_ms(self) -> float:
        """Detection delay in milliseconds."""
        return 1000.0 * self.detect_delay_samples / self.sample_rate

    @property
    def candidate(self) -> bool:
        """Under the detector's threshold (negative ``strength_db``): reported only for a drill that asks
        (``DetectorConfig.candidate_k_mad``), for its rope follower to fill a beat with."""
        return self.strength_db < 0


@dataclass(frozen=True)
class Rep:
    """A counted rep: one landing (or, for ``generic``, one impact)."""

    number: int
    """1-based rep number within the session."""
    set_number: int
    """1-based set number."""
    rep_in_set: int
    """1-based rep number within its set."""
    event: OnsetEvent
    """The onset event that is this rep's landing."""
    interval_ms: float | None
    """Time since the previous rep's landing in the same set, in ms (None for a set's first rep)."""
    cadence_per_min: float | None
    """Contacts per minute implied by ``interval_ms`` (None for a set's first rep)."""
    rhythm_dev_pct: float | None
    """(interval - running median interval) / running median interval, in percent (None until known)."""
    ramp_in: bool
    """True for reps 1-3 of a set: reported, left out of consistency figures."""
    inferred: bool = False
    """True for a rope beat counted inside a steady rhythm with no sound heard (its event has NaN figures)."""
    score: RepScore | None = None
    """The rep's score; None until the audio after the landing has been heard (see :class:`RepScore`)."""

    @property
    def sample(self) -> int:
        return self.event.sample

    @property
    def t_s(self) -> float:
        return self.event.t_s

    @property
    def loudness_db(self) -> float:
        return self.event.loudness_db

    @property
    def impact_db(self) -> float:
        return self.event.impact_db


@dataclass(frozen=True)
class RepScore:
    """How good one rep was: 0-100 from softness, rhythm and whether the feet landed together.

    The formula is in :mod:`quietland.scoring` and the README.
    """

    number: int
    """The rep's number within the session."""
    score: float | None
    """0-100, higher is better; None for an inferred rope beat (nothing was heard to score)."""
    softness: float | None
    """0-1: where the landing's loudness sits on the athlete's scale (0.9 at the quiet anchor, 0.5 at the normal one)."""
    rhythm: float | None
    """0-1: 1 on the set's running interval, 0 at 30% or more off it; None while the set has no rhythm yet."""
    double_contact: bool
    """True when a second impact came 10-60 ms after the landing in a two-foot drill."""
    double_gap_ms: float | None
    """Time from the landing to that second impact, ms; None when there was none."""
    calibrated: bool
    """False when scored against the built-in default profile, not the athlete's own calibration."""


@dataclass(frozen=True)
class Cue:
    """Something the athlete or coach should be told during the session (said once, when it starts)."""

    sample: int
    """Where it was noticed: the sample of the rep that triggered it, or for ``drift-floor`` the whole second of
    the stream at which the floor was compared."""
    kind: str
    """``form-fade`` (landings getting louder within a set), ``drift-floor`` or ``drift-level`` (the set-up
    no longer matches the calibration profile)."""
    message: str
    """One sentence for the screen and the session JSON."""
    set_number: int | None = None
    """The set it concerns (``form-fade``), else None."""
    rep_number: int | None = None
    """The rep that triggered it, else None."""


@dataclass(frozen=True)
class Rejected:
    """An onset event that is not a rep, kept with the reason why."""

    event: OnsetEvent
    """The event that was not counted."""
    reason: str
    """Why: ``rope``, ``rebound``, ``settle``, ``takeoff``, ``too-quiet``, ``echo``, ``precursor``, ``off-beat``,
    ``background``, ``lone`` or ``no-thud``."""

    @property
    def t_s(self) -> float:
        return self.event.t_s


@dataclass(frozen=True)
class SetSummary:
    """One set: a run of reps with no rest inside it."""

    number: int
    """1-based set number."""
    reps: int
    """Reps in the set."""
    start_s: float
    """Time of the set's first rep, in seconds."""
    end_s: float
    """Time of the set's last rep, in seconds."""
    cadence_per_min: float | None
    """Median contacts per minute over the set (None with fewer than 2 reps)."""
    interval_cv: float | None
    """Coefficient of variation of the set's intervals after ramp-in (None with fewer than 3 such intervals)."""
    median_loudness_db: float | None
    """Median rep loudness in the set, dB."""


@dataclass(frozen=True)
class SessionSummary:
    """Figures for a whole session."""

    reps: int
    """Reps counted."""
    sets: int
    """Sets (runs of reps split at rests)."""
    rejected: int
    """Events seen but not counted."""
    duration_s: float
    """Audio analysed, in seconds."""
    active_s: float
    """Time inside sets: from each set's first rep to its last, plus one median interval per set."""
    cadence_per_min: float | None
    """Median contacts per minute over all sets."""
    interval_cv: float | None
    """Coefficient of variation of intervals after ramp-in, pooled over sets."""
    median_loudness_db: float | None
    """Median rep loudness, dB."""
    loudest_loudness_db: float | None
    """Loudest rep loudness, dB."""


def drill_sequence(first: str, changed_to: Iterable[str]) -> list[str]:
    """A session's drills in order: ``first``, then each drill it was changed to (a change to the drill already
    counted by adds none)."""
    drills = [first]
    for drill in changed_to:
        if drill != drills[-1]:
            drills.append(drill)
    return drills
