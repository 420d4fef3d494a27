"""Training structure on top of the counted reps: set reports, a session plan and a cadence metronome.

Why it exists: the rep logic says what a rep is and where a set ends; a coach
also wants to run a plan (3 x 10 reps, or 3 rounds of 30 s, with a rest
between them), to see after each set how it went, and to hop to a beat.
Those are figures and clocks over reps that have already been decided, so
they live here, apart from detection and apart from the screen:

- :func:`set_report` and :func:`session_report`: what a set (or the whole
  session) was like, as a :class:`SetReport` / :class:`SessionReport`;
- :class:`SetLog`: keeps the reps, scores and cues of the latest sets so a
  report can be made when a set ends (older sets are forgotten, so a long
  session costs nothing more);
- :class:`PlanTracker`: a state machine for a plan of sets or timed rounds,
  driven only by the session's sample clock and its reps and set ends;
- :class:`Metronome`: the beat of a cadence target at any sample.

Time is the session's sample index, as everywhere in quietland: nothing here
reads a wall clock. Pure Python (``statistics``, ``math``); no Textual, no
numpy. A plan is anything with ``sets``, ``reps``, ``round_s`` and ``rest_s``
(:class:`quietland.presets.SetPlan` is one); this module does not import it.
"""
from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .events import Cue, Rejected, Rep, RepScore, SetSummary
from .reps import interval_cv
from .scoring import target_deviation_pct

if TYPE_CHECKING:
    from .calibration import Profile

BEST_OF = 5
"""How many intervals the "best 5" figure keeps."""
MIN_TREND_REPS = 3
"""Heard reps needed before a loudness trend is given."""


# ---------------------------------------------------------------- reports
@dataclass(frozen=True)
class LandingFigures:
    """Figures over a run of reps: the part a set report and a session report share."""

    reps: int
    """Reps counted."""
    duration_s: float
    """Time inside sets: from a set's first rep to its last, summed over the sets, s."""
    best5_intervals_ms: tuple[float, ...]
    """The :data:`BEST_OF` shortest steady intervals, shortest first, ms (fewer when there are fewer).

    Steady: after the ramp-in (a set's first 3 reps), between two reps that were both
    heard (an inferred rope beat's interval is the rhythm's guess, not a measurement).
    Shortest is best, as force-plate systems' best-5-of-10 keep the quickest contacts."""
    cadence_per_min: float | None
    """Contacts per minute at the median interval (every interval; as the set summaries); None with no interval."""
    interval_cv: float | None
    """Coefficient of variation of the steady (post-ramp-in) intervals, as the set summaries
    compute it (0.033 = 3.3 %); None with fewer than :data:`~quietland.reps.MIN_CV_INTERVALS`."""
    median_impact_db: float | None
    """Median impact level (``impact_db``, the loudest 5 ms) of the heard reps, dB re full scale."""
    vs_baseline_db: float | None
    """``median_impact_db`` minus the profile's normal anchor, dB (negative: quieter than a normal landing);
    None without a calibrated profile: against the built-in default it would mean nothing."""
    trend_db_per_rep: float | None
    """Least-squares slope of impact level over the reps, dB per rep (positive: getting louder);
    None with fewer than :data:`MIN_TREND_REPS` heard reps."""
    median_score: float | None
    """Median of the reps' 0-100 scores; None until a rep has one."""
    double_contacts: int
    """Reps whose feet did not land together."""
    form_fade_reps: tuple[int, ...]
    """Session rep numbers at which a form-fade cue fired (at most one per set)."""


@dataclass(frozen=True)
class SetReport(LandingFigures):
    """What one set was like: the card shown when it ends."""

    set_number: int
    """1-based set number in the session."""


@dataclass(frozen=True)
class SessionReport(LandingFigures):
    """The session's reps pooled: the card shown when it ends (the trend runs over session rep numbers)."""

    sets: int
    """Sets with at least one rep."""


def set_report(
    reps: Sequence[Rep],
    cues: Iterable[Cue],
    profile: Profile | None,
    scores: Mapping[int, RepScore] | None = None,
) -> SetReport:
    """The :class:`SetReport` of one set's ``reps`` (in order; at least one).

    ``cues``: any cues (only form-fade cues of these reps count). ``profile``: the
    calibration profile the session scores against (None: unknown). ``scores``:
    rep number -> score, for reps whose ``score`` is not filled in yet. The trend
    runs over ``rep_in_set``.
    """
    if not reps:
        raise ValueError("a set report needs at least one rep")
    return SetReport(**_figures(reps, cues, profile, scores, lambda r: r.rep_in_set), set_number=reps[0].set_number)


def session_report(
    reps: Sequence[Rep],
    cues: Iterable[Cue],
    profile: Profile | None,
    scores: Mapping[int, RepScore] | None = None,
) -> SessionReport:
    """The :class:`SessionReport` of all the session's ``reps`` (in order; may be empty), as :func:`set_report`."""
    return SessionReport(**_figures(reps, cues, profile, scores, lambda r: r.number),
                         sets=len({r.set_number for r in reps}))


def _figures(reps, cues, profile, scores, x_of) -> dict:
    scores = scores or {}
    heard = [r for r in reps if not r.inferred and math.isfinite(r.impact_db)]
    intervals = [r.interval_ms for r in reps if r.interval_ms is not None]
    steady = [r.interval_ms for r in reps if r.interval_ms is not None and not r.ramp_in]
    rep_scores = [s for s in (r.score or scores.get(r.number) for r in reps) if s is not None]
    known = [s.score for s in rep_scores if s.score is not None]
    median_impact = statistics.median(r.impact_db for r in heard) if heard else None
    calibrated = profile is not None and getattr(profile, "calibrated", False)
    numbers = {r.number for r in reps}
    by_set: dict[int, list[Rep]] = {}
    for r in reps:
        by_set.setdefault(r.set_number, []).append(r)
    return dict(
        reps=len(reps),
        duration_s=sum(run[-1].t_s - run[0].t_s for run in by_set.values()),
        best5_intervals_ms=tuple(sorted(_measured_steady_intervals(reps))[:BEST_OF]),
        cadence_per_min=60000.0 / statistics.median(intervals) if intervals else None,
        interval_cv=interval_cv(steady),
        median_impact_db=median_impact,
        vs_baseline_db=median_impact - profile.normal_db if calibrated and median_impact is not None else None,
        trend_db_per_rep=_slope([x_of(r) for r in heard], [r.impact_db for r in heard]),
        median_score=statistics.median(known) if known else None,
        double_contacts=sum(s.double_contact for s in rep_scores),
        form_fade_reps=tuple(
            c.rep_number for c in cues if c.kind == "form-fade" and c.rep_number is not None and c.rep_number in numbers
        ),
    )


def _measured_steady_intervals(reps: Sequence[Rep]) -> list[float]:
    """Intervals after the ramp-in whose both ends were heard (see :attr:`LandingFigures.best5_intervals_ms`)."""
    out = []
    previous: Rep | None = None
    for r in reps:
        if (
            r.interval_ms is not None
            and not r.ramp_in
            and not r.inferred
            and previous is not None
            and previous.set_number == r.set_number
            and not previous.inferred
        ):
            out.append(r.interval_ms)
        previous = r
    return out


def _slope(x: list[float], y: list[float]) -> float | None:
    """Least-squares slope of ``y`` over ``x``; None with fewer than :data:`MIN_TREND_REPS` points."""
    if len(x) < MIN_TREND_REPS or len(set(x)) < 2:
        return None
    return statistics.linear_regression(x, y).slope


class SetLog:
    """The reps, scores and cues of the latest :data:`keep_sets` sets, for :meth:`report`.

    Fed every decided item in session order (reps, rejections, scores, cues);
    a set older than the newest ``keep_sets`` is forgotten, so memory does not
    grow with the session (the session's own analysis keeps everything).
    """

    def __init__(self, keep_sets: int = 2) -> None:
        self.keep_sets = max(1, int(keep_sets))
        self._reps: dict[int, list[Rep]] = {}  # set number -> its reps, in order
        self._set_of: dict[int, int] = {}  # rep number -> set number, for the reps kept
        self._scores: dict[int, RepScore] = {}
        self._cues: list[Cue] = []

    def add(self, item: Rep | Rejected | RepScore | Cue) -> int | None:
        """Take one item; return the number of the (kept) set it concerns, else None."""
        if isinstance(item, Rep):
            self._reps.setdefault(item.set_number, []).append(item)
            self._set_of[item.number] = item.set_number
            while len(self._reps) > self.keep_sets:
                self._forget(min(self._reps))
            return item.set_number
        if isinstance(item, RepScore):
            number = self._set_of.get(item.number)
            if number is not None:
                self._scores[item.number] = item
            return number
        if isinstance(item, Cue) and item.rep_number is not None:
            number = self._set_of.get(item.rep_number)
            if number is not None:
                self._cues.append(item)
            return number
        return None

    def _forget(self, set_number: int) -> None:
        for rep in self._reps.pop(set_number):
            self._set_of.pop(rep.number, None)
            self._scores.pop(rep.number, None)
        self._cues = [c for c in self._cues if c.rep_number in self._set_of]

    def report(self, set_number: int, profile: Profile | None) -> SetReport | None:
        """The report of set ``set_number`` so far; None when it is not kept (or has no rep)."""
        reps = self._reps.get(set_number)
        return set_report(reps, self._cues, profile, self._scores) if reps else None


# ---------------------------------------------------------------- plan
class PlanLike(Protocol):
    """A session plan: ``sets`` sets of ``reps`` reps, or ``sets`` timed rounds of ``round_s`` s (exactly one)."""

    sets: int
    reps: int | None
    round_s: float | None
    rest_s: float


_PLAN_TEXT = re.compile(
    r"\s*(?P<sets>\d+)\s*[x×]\s*(?P<work>\d+(?:\.\d+)?)\s*(?P<seconds>s)?"
    r"(?:\s*(?:,|/)\s*(?:rest\s*)?(?P<rest>\d+(?:\.\d+)?)\s*s?)?\s*",
    re.IGNORECASE,
)


def parse_plan(text: str, default_rest_s: float = 60.0):
    """A plan from how coaches write it; returns a :class:`quietland.presets.SetPlan`.

    ``3x10`` (3 sets of 10 reps), ``3x30s`` (3 rounds of 30 s), with an optional
    rest: ``3x10/90``, ``3x30s,rest 45`` or ``SetPlan.describe()``'s own
    ``3 x 10, rest 60 s``; without one the rest is ``default_rest_s``. Raises
    ValueError with one sentence for anything else.
    """
    from .presets import SetPlan  # only when a plan is asked for: this module stays free of presets

    match = _PLAN_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(
            f"cannot read the plan {text!r}: write SETSxREPS (3x10) or SETSxSECONDSs (3x30s), "
            "optionally with a rest in seconds (3x10/90 or '3 x 10, rest 90 s')"
        )
    sets, work = int(match["sets"]), float(match["work"])
    rest = default_rest_s if match["rest"] is None else float(match["rest"])
    if match["seconds"] is None and not work.is_integer():
        raise ValueError(f"cannot read the plan {text!r}: reps must be a whole number (add 's' for a timed round)")
    try:
        if match["seconds"]:
            return SetPlan(sets=sets, round_s=work, rest_s=rest)
        return SetPlan(sets=sets, reps=int(work), rest_s=rest)
    except ValueError as exc:
        raise ValueError(f"cannot use the plan {text!r}: {exc}") from None


READY, WORK, REST, DONE = "ready", "work", "rest", "done"
"""Phases of a plan: before the first rep; inside a set (round); resting after one; every set done."""


@dataclass(frozen=True)
class PlanState:
    """Where a plan stands at one sample of the session."""

    phase: str
    """:data:`READY`, :data:`WORK`, :data:`REST` or :data:`DONE`."""
    set_number: int
    """1-based plan set (round) being worked, or just finished while resting; ``sets_total`` once done."""
    sets_total: int
    """Sets (rounds) in the plan."""
    reps_done: int
    """Reps in the current (or just finished) set."""
    reps_target: int | None
    """Target reps per set; None for timed rounds."""
    round_remaining_s: float | None
    """Time left in the round, s (the full round before its first rep); None outside a round or for a rep plan."""
    rest_remaining_s: float | None
    """Rest left before the next set, s (0 once the rest is over); None when not resting."""
    text: str
    """One short line, e.g. ``set 2 of 3 · 7 / 10 reps`` or ``rest 45 s · next: set 3 of 3``
    (countdowns in whole seconds, rounded up)."""
    progress: float | None
    """How much of the current phase is behind, 0-1: reps of the target, time of the round or of the rest;
    None before the first rep of a round plan's set, or once done."""
    sample: int
    """The session sample this state is for (samples analysed)."""
    round_over: bool = False
    """True once per timed round, in the state where its time ran out: end the set now (``runner.new_set()``)."""
    target_reached: bool = False
    """True once per set, in the state where its target rep came: end the set now (``runner.new_set()``)."""

    @property
    def ends_set(self) -> bool:
        """The set's work is done (target reached or round over): the next rep should start a new set."""
        return self.round_over or self.target_reached


class PlanTracker:
    """Follows a plan through a session, from its reps, its set ends and its sample clock.

    Decision rules (``sr`` the sample rate):

    - Each session set is one plan set: the first rep of a new session set starts
      the next plan set (from :data:`READY` or :data:`REST`).
    - A rep plan's set is done at its ``reps``-th rep (``target_reached``, once);
      a timed round starts at its set's first rep and is done once
      ``sample_now >= first_rep_sample + round_s * sr`` (``round_over``, once,
      also if a rep past that time comes first). Either way the caller should
      call ``runner.new_set()`` so that the next rep starts a new set.
    - A set also ends when the session says so (:meth:`on_set_end`: a rest
      longer than the drill allows, the new-set key, a drill change).
    - The rest starts when the set's work ended: the target rep, the round's
      end time, or the set's last rep when the session ended it; it counts
      down ``rest_s`` from there, to 0 ("rest over"). After the last set the plan
      is :data:`DONE` and stays so.
    """

    def __init__(self, plan: PlanLike, sample_rate: int) -> None:
        sets, reps, round_s, rest_s = plan.sets, plan.reps, plan.round_s, plan.rest_s
        if int(sets) < 1:
            raise ValueError(f"a plan needs at least one set, got {sets}")
        if (reps is None) == (round_s is None):
            raise ValueError("a plan gives exactly one of reps and round_s")
        if (reps is not None and reps < 1) or (round_s is not None and not round_s > 0) or rest_s < 0:
            raise ValueError("a plan's reps and round_s must be positive and its rest_s not negative")
        self.sets_total = int(sets)
        """Sets (rounds) in the plan."""
        self.reps_target: int | None = None if reps is None else int(reps)
        """Reps per set; None for rounds."""
        self.round_s: float | None = None if round_s is None else float(round_s)
        """Round length, s; None for a rep plan."""
        self.rest_s = float(rest_s)
        """Rest between sets, s."""
        self.sample_rate = int(sample_rate)
        self._round_n = None if round_s is None else int(round(float(round_s) * self.sample_rate))
        self._rest_n = int(round(self.rest_s * self.sample_rate))
        self._phase = READY
        self._set_index = 0  # plan sets begun
        self._sets_ended = 0
        self._session_set: int | None = None  # the session's number for the current plan set
        self._reps_done = 0
        self._work_start = 0  # sample of the current set's first rep
        self._rest_start = 0  # sample the current rest started at
        self._now = 0

    @property
    def unit(self) -> str:
        """``round`` for timed rounds, ``set`` for a rep plan."""
        return "set" if self.round_s is None else "round"

    # ----------------------------------------------------------- events
    def on_rep(self, rep: Rep) -> PlanState:
        """Take a decided rep (in session order); return the state at the later of its sample and the clock."""
        if rep.set_number != self._session_set:
            if self._phase == WORK:
                self._end_work(rep.sample)  # the session started a new set without a SetEnded first
            self._session_set = rep.set_number
            if self._phase != DONE:
                self._set_index += 1
                self._phase = WORK
                self._reps_done = 0
                self._work_start = rep.sample
        self._reps_done = max(self._reps_done, rep.rep_in_set)
        target_reached = False
        if self._phase == WORK and self.reps_target is not None and self._reps_done >= self.reps_target:
            target_reached = True
            self._end_work(rep.sample)
        round_over = self._advance(rep.sample)
        return self._state(round_over=round_over, target_reached=target_reached)

    def on_set_end(self, summary: SetSummary) -> PlanState:
        """The session ended a set; a plan set still being worked ends at its last rep."""
        if summary.number == self._session_set and self._phase == WORK:
            self._end_work(max(self._work_start, int(round(summary.end_s * self.sample_rate))))
        return self._state()

    def tick(self, sample_now: int) -> PlanState:
        """The state at ``sample_now`` (samples analysed; the clock never goes back)."""
        return self._state(round_over=self._advance(sample_now))

    def end(self, sample_now: int) -> PlanState:
        """The state once the session has ended at ``sample_now``: :data:`DONE`, and a plan left unfinished
        says how far it got (``session ended: 2 of 3 rounds done``) instead of a rest that counts on."""
        self._advance(sample_now)
        if self._phase == DONE:
            return self._state()
        if self._phase == WORK:
            text = f"session ended in {self.unit} {self._set_index} of {self.sets_total} · {self._reps_text()}"
        else:
            text = f"session ended: {self._sets_ended} of {self.sets_total} {self.unit}s done"
        set_number = self._set_index if self._phase == WORK else self._sets_ended
        self._phase = DONE
        return PlanState(DONE, set_number, self.sets_total, self._reps_done, self.reps_target, None, None, text,
                         None, self._now)

    # ----------------------------------------------------------- internals
    def _advance(self, sample: int) -> bool:
        """Move the clock to ``sample``; True when that ends the round being worked."""
        self._now = max(self._now, int(sample))
        if self._phase == WORK and self._round_n is not None and self._now >= self._work_start + self._round_n:
            self._end_work(self._work_start + self._round_n)
            return True
        return False

    def _end_work(self, at_sample: int) -> None:
        self._sets_ended += 1
        self._rest_start = at_sample
        self._phase = DONE if self._sets_ended >= self.sets_total else REST

    def _state(self, *, round_over: bool = False, target_reached: bool = False) -> PlanState:
        sr, now, phase = self.sample_rate, self._now, self._phase
        round_left = rest_left = None
        if self.round_s is not None and phase == READY:
            round_left = self.round_s
        elif self._round_n is not None and phase == WORK:
            round_left = max(0.0, (self._work_start + self._round_n - now) / sr)
        if phase == REST:
            rest_left = max(0.0, (self._rest_start + self._rest_n - now) / sr)
        set_number = {READY: 1, DONE: self.sets_total}.get(phase, self._set_index)
        progress = None
        if phase == REST:
            assert rest_left is not None
            progress = 1.0 - rest_left / self.rest_s if self.rest_s > 0 else 1.0
        elif phase in (READY, WORK) and self.reps_target is not None:
            progress = min(1.0, self._reps_done / self.reps_target)
        elif phase == WORK and round_left is not None and self.round_s is not None:
            progress = 1.0 - round_left / self.round_s
        return PlanState(
            phase=phase,
            set_number=set_number,
            sets_total=self.sets_total,
            reps_done=self._reps_done,
            reps_target=self.reps_target,
            round_remaining_s=round_left,
            rest_remaining_s=rest_left,
            text=self._text(phase, set_number, round_left, rest_left),
            progress=progress,
            sample=now,
            round_over=round_over,
            target_reached=target_reached,
        )

    def _text(self, phase: str, set_number: int, round_left: float | None, rest_left: float | None) -> str:
        unit, total = self.unit, self.sets_total
        if phase == DONE:
            return f"plan done: {total} of {total} {unit}s"
        if phase == REST:
            assert rest_left is not None
            head = f"rest {whole_seconds(rest_left)} s" if rest_left > 0 else "rest over"
            return f"{head} · next: {unit} {set_number + 1} of {total}"
        where = f"{unit} {set_number} of {total}"
        if self.reps_target is not None:
            return f"{where} · {self._reps_text()}"
        assert round_left is not None
        if phase == READY:
            return f"{where} · {whole_seconds(round_left)} s from the first landing"
        return f"{where} · {whole_seconds(round_left)} s left · {self._reps_text()}"

    def _reps_text(self) -> str:
        """The current set's reps: ``7 / 10 reps`` against a rep plan's target, else ``7 reps``."""
        if self.reps_target is not None:
            return f"{self._reps_done} / {self.reps_target} reps"
        return f"{self._reps_done} rep{'s' if self._reps_done != 1 else ''}"


def whole_seconds(seconds: float) -> int:
    """A countdown in whole seconds, rounded up (a 30 s round shows 30 at its start and 1 in its last second)."""
    return max(0, math.ceil(seconds - 1e-9))


# ---------------------------------------------------------------- metronome
@dataclass(frozen=True)
class Beat:
    """Where a metronome is at one sample."""

    index: int
    """Beats since the anchor (0: the beat at the anchor; negative before it)."""
    phase: float
    """How far into that beat, 0 (on the beat) to just under 1."""


class Metronome:
    """The beat of a cadence target: one beat every ``60 / target_per_min`` s from an anchor sample."""

    def __init__(self, target_per_min: float) -> None:
        if not target_per_min > 0 or not math.isfinite(target_per_min):
            raise ValueError(f"a cadence target must be a positive number of contacts per minute, got {target_per_min}")
        self.target_per_min = float(target_per_min)
        """The target, contacts per minute."""

    @property
    def interval_ms(self) -> float:
        """Time between two beats, ms."""
        return 60000.0 / self.target_per_min

    def beat(self, sample_now: int, sample_rate: int, anchor_sample: int = 0) -> Beat:
        """The beat at ``sample_now``, counting beats from ``anchor_sample`` (e.g. a set's first landing)."""
        beats = (sample_now - anchor_sample) * self.target_per_min / (60.0 * sample_rate)
        index = math.floor(beats)
        return Beat(index, min(beats - index, math.nextafter(1.0, 0.0)))

    def deviation_pct(self, interval_ms: float | None) -> float | None:
        """(interval - target interval) / target interval, percent (positive: slower than the target); None for None."""
        return target_deviation_pct(interval_ms, self.target_per_min)
