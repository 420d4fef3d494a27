"""Drill rules: which onset events are reps, and the rhythm between them.

Why it exists: the detector hears every impact; a rep is a drill's idea of
one contact. A rope slap is not a landing, a take-off scuff or the settling
after a box jump is not a rep, and in double-unders the rope clicks twice
per jump. This module decides, for each event in time order, whether it is a
rep or rejected (with a reason), then measures the rhythm of the reps: interval,
cadence, deviation from the running median interval, sets split at rests.
numpy only; no I/O.

Decisions may wait for later audio (a take-off is only known once the landing
follows; a rope click is judged against the beat around it), never longer than
``decision_delay_s`` of the drill's rule. :meth:`RepCounter.advance` releases
decisions as the stream's clock moves on, even when no new event arrives.
"""
from __future__ import annotations

import itertools
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .events import OnsetEvent, Rejected, Rep, SessionSummary, SetSummary
from .machinebeat import MachineBeat
from .presets import PRESETS, DrillPreset


@dataclass(frozen=True)
class DrillRule:
    """How one drill turns impacts into reps."""

    name: str
    """Drill name as typed on the command line."""
    summary: str
    """One line: what counts as a rep."""
    kind: str
    """``impact`` (every salient impact), ``discrete`` (one landing per jump; take-off and settling rejected)
    or ``rope`` (one beat per rope pass, tracked against the rhythm)."""
    min_interval_s: float = 0.12
    """Shortest plausible time between two contacts (or rope passes)."""
    max_interval_s: float = 2.0
    """Longest time between contacts that is still the same set's rhythm."""
    decision_delay_s: float = 0.0
    """Most audio after an event the rule may wait for before deciding it."""
    two_foot: bool = False
    """Both feet should land together: a second impact 10-60 ms away is a double contact (scored, flagged)."""
    landing_weight_db: float = 0.0
    """``rope``: on the grids searched for a beat, salience bonus of a click that a thud (a sound mostly below
    3 kHz) follows within ``merge_ms``: where the rope also clicks in mid-air (double-unders), the grid's
    phase is the landing's, not a mid-air pass's."""
    onset_k_mad: float | None = None
    """The detector's threshold for this drill, in robust standard deviations of the recent onset strength
    (``DetectorConfig.k_mad``; None: the detector's own, 4). A rope rhythm's follower takes only the sounds
    on its beat, so single bounce and alternate foot can hear fainter contacts (3.5); for double-unders the
    fainter sounds are as often the rope's mid-air clicks, and the beat moved onto them (measured: README,
    "Synthetic sessions with exact truth")."""
    faint_needs_thud: bool = False
    """``impact`` and ``discrete``: a faint sound (see ``CounterConfig.faint_db``) must have a thud as the recent reps do: its
    low band (``OnsetEvent.low_db``) within ``CounterConfig.thud_drop_db`` of its loudness as theirs is, or it
    is ``no-thud`` (a metronome's click, a voice: a landing drill's contacts are feet on the floor)."""
    confirm_faint_opener: bool = False
    """``impact``: a faint sound (see ``CounterConfig.faint_db``; with no rep yet, any) that would open a set is a
    rep only once a contact follows it within ``max_interval_s``; alone, it is ``lone`` (a drill of many contacts
    does not start a set with one faint sound and stop)."""


DRILL_RULES: dict[str, DrillRule] = {
    r.name: r
    for r in (
        DrillRule("generic", "every impact is a rep", "impact", max_interval_s=4.0),
        DrillRule(
            "single",
            "one landing per discrete jump (squat, broad, box, depth); take-off and settling sounds are rejected",
            "discrete",
            min_interval_s=0.8,
            max_interval_s=30.0,
            decision_delay_s=0.8,
            two_foot=True,
            faint_needs_thud=True,
        ),
        DrillRule(
            "line-hops", "every two-foot landing over the line", "impact", min_interval_s=0.15, max_interval_s=2.0, two_foot=True,
            confirm_faint_opener=True, faint_needs_thud=True,
        ),
        DrillRule(
            "pogo", "every two-foot pogo landing", "impact", min_interval_s=0.15, max_interval_s=2.0, two_foot=True,
            confirm_faint_opener=True, faint_needs_thud=True,
        ),
        DrillRule(
            "jump-rope",
            "one landing per rope pass (single bounce); the rope's slap is rejected as rope",
            "rope",
            min_interval_s=0.12,
            max_interval_s=1.0,
            decision_delay_s=0.5,
            onset_k_mad=3.5,
        ),
        DrillRule(
            "jump-rope-alternate",
            "every foot contact of alternate-foot speed step (one rope pass each)",
            "rope",
            min_interval_s=0.12,
            max_interval_s=1.0,
            decision_delay_s=0.5,
            onset_k_mad=3.5,
        ),
        DrillRule(
            "jump-rope-double-under",
            "one rep per jump; the rope clicks about twice per jump (the click off the jump's beat is rope)",
            "rope",
            min_interval_s=0.25,
            max_interval_s=0.6,
            decision_delay_s=0.5,
            landing_weight_db=3.0,
        ),
    )
}


def _preset_rule(preset: DrillPreset) -> DrillRule:
    """The rule a preset is counted by: its base rule under the preset's name and note.

    Intervals stay the base rule's unless the preset sets ``min_interval_s`` (depth jumps: the
    rebound's landing belongs to the same rep); ``one_foot`` presets drop the two-foot check.
    """
    base = DRILL_RULES[preset.rule]
    return replace(
        base,
        name=preset.name,
        summary=preset.note,
        two_foot=base.two_foot and not preset.one_foot,
        min_interval_s=base.min_interval_s if preset.min_interval_s is None else preset.min_interval_s,
    )


# Every preset is a drill; a preset named like a rule (pogo, jump-rope, ...) is counted by that rule as it is.
DRILL_RULES.update({p.name: _preset_rule(p) for p in PRESETS.values() if p.name not in DRILL_RULES})
DRILLS: tuple[str, ...] = tuple(DRILL_RULES)
"""Every drill name ``--drill`` takes: the counting rules, then the presets (:mod:`quietland.presets`)."""


@dataclass(frozen=True)
class CounterConfig:
    """Rep-logic settings shared by the drills, in physical units."""

    merge_ms: float = 60.0
    """Events this soon after a contact belong to it (ringing, a second foot, the rope at the feet)."""
    faint_db: float = 6.0
    """A rep this much quieter than the recent reps (``discrete``: than the loudest of them, see
    ``background_first_reps``) waits ``merge_ms`` (in ``impact`` drills the drill's shortest
    interval, if longer: a louder sound inside it would otherwise be rejected as this rep's echo) before it is decided ..."""
    precursor_db: float = 10.0
    """... and is a ``precursor`` (not the contact) if a sound this much louder follows inside that time."""
    min_contrast_db: float = 6.0
    """An impact must be this much louder than the 50 ms before it (``impact`` and ``discrete`` drills)."""
    min_above_floor_db: float = 10.0
    """An impact's loudness must be this far above the running noise floor (``impact`` and ``discrete`` drills)."""
    min_strength_db: float = 3.0
    """With no rep yet to compare against, the first impact's onset strength must clear the detector's threshold by
    this much; so must, in ``discrete`` drills, a faint one (``faint_db`` under the loudest recent rep). Far
    quieter than the athlete's landings, a sound that barely clears the threshold is as likely the room's: over
    talk (synthetic babble, 16-24 dB under the loudest landing), 112 of the 170 faint sounds that were counted
    had a strength under 3 dB and no faint landing did; over steady noise, 5 of 14 faint landings did (see
    README, "Synthetic sessions with exact truth")."""
    thud_drop_db: float = 10.0
    """See ``DrillRule.faint_needs_thud``: how much less of its loudness a faint sound's low band may hold than the
    recent reps' (their median of ``low_db - loudness_db``)."""
    lone_repeat_s: float = 8.0
    """With no rep yet, a sound that would be ``lone`` is a rep when it comes within this long after the last ``lone``
    one and is within ``faint_db`` of it (see ``DrillRule.confirm_faint_opener``): the athlete's own hops, further
    apart than the drill's longest interval, would otherwise never start the count."""
    relative_floor_db: float = 15.0
    """An impact (``rope``: a beat's cluster, its loudest sound within ``merge_ms``) more than this far below the recent
    reps' median loudness is too quiet."""
    off_beat_fraction: float = 0.5
    """In a steady set, an impact sooner than this fraction of the median interval after a rep ..."""
    off_beat_drop_db: float = 3.0
    """... and this much quieter than the recent reps is a bounce or scuff, not a contact (``off-beat``)."""
    ramp_in_reps: int = 3
    """Reps at the start of a set that are reported but left out of consistency figures."""
    rest_factor: float = 3.0
    """A gap longer than this many running-median intervals ends the set."""
    rhythm_window: int = 8
    """Intervals in the running median."""
    settle_window_s: float = 1.5
    """``discrete``: quieter impacts this soon after a landing are settling, not reps."""
    settle_drop_db: float = 6.0
    """``discrete``: ... when they are at least this much quieter than the landing."""
    takeoff_window_s: tuple[float, float] = (0.15, 0.8)
    """``discrete``: an impact this long before a louder landing is its take-off."""
    takeoff_drop_db: float = 3.0
    """``discrete``: ... when it is at least this much quieter than that landing."""
    background_db: float = 3.0
    """``impact`` and ``discrete``: a sound ``faint_db`` quieter than the recent reps is the room's
    (``background``: music's drums), not a contact, when it keeps the steady beat of two earlier faint sounds
    within this much of its loudness that were not reps (nor ``too-quiet``: the athlete's own faint landings
    are, and must not make a beat that would reject the next) ... (``rope``: a rhythm found after a set,
    see ``_RopeTracker._was_going``.)"""
    background_period_s: tuple[float, float] = (0.2, 2.0)
    """... a beat of a period in this range (their gap, or a half or a third of it: a beat between them may
    be lost under a contact) ..."""
    background_tolerance_s: float = 0.02
    """... that it lands on, 1-4 periods after the later one, to this much either side (a drum machine's
    beat is steadier than a person's) ..."""
    background_first_reps: int = 2
    """``discrete``: the session's first reps, counted with at most one rep before them to compare with, are
    evidence of that beat too, once faint (as the music's kick before the first landing is, counted as the first
    rep). So that such a kick does not pull the comparison down with it, a sound is faint in these drills when it
    is ``faint_db`` under the loudest of the recent reps, not their median, and the evidence's faintness is
    judged when the beat is checked (their few reps give a median no footing; a landing stays the loudest)."""
    background_window_s: float = 8.0
    """... heard in this much time before it."""
    machine_period_s: tuple[float, float] = (0.15, 1.2)
    """Every drill: a sound on a machine's beat (a metronome, a click track, quantised music) is ``background``
    (see :mod:`quietland.machinebeat`). A grid through the newest sound, of a period in this range, is a
    machine's beat when ..."""
    machine_tolerance_s: float = 0.003
    """... at ``machine_hit_ratio`` of its last ``machine_beats`` beats a sound lands within this of it ..."""
    machine_tolerance_fraction: float = 0.007
    """... or within this share of a shorter period ..."""
    machine_beats: int = 24
    machine_span_s: float = 10.0
    """(``machine_beats``, or as many as this holds, if more) ..."""
    machine_hit_ratio: float = 0.6
    """(a person's contacts reach 38% at most), or at ``machine_quick_hit_ratio`` of its last
    ``machine_quick_beats`` ..."""
    machine_quick_beats: int = 12
    machine_quick_span_s: float = 5.0
    """(or as many as this holds, if more) ..."""
    machine_quick_hit_ratio: float = 0.8
    """(not all of them: a contact close before a click hides it from the detector; with one click in six
    hidden, a metronome's beat was found 6.5-19 s in, now 5.75-10 s, see ``tests/test_machinebeat.py``).
    Once found, a sound within twice the tolerance is the machine's ..."""
    machine_loud_db: float = 4.5
    """... unless it is this much louder than the beat's sounds at the same place in the bar (every 8th beat:
    a kick is louder than a hi-hat; a landing on the click is not the click)."""
    beat_tolerance: float = 0.2
    """``rope``: a beat may come this fraction of the period early or late (at least 25 ms). ``impact``: in a
    steady set, the next contact is due this fraction of the median interval either side of it; a rep at least
    ``faint_db`` quieter than the recent ones that comes before then waits for it, and is ``off-beat`` if a sound
    ``precursor_db`` louder than it lands there (a scuff or a step ahead of the beat, then the contact)."""
    beat_timing_db: float = 6.0
    """``rope``: choosing a beat, salience (dB) minus this much per period of timing error."""
    click_weight_db: float = 3.0
    """``rope``: salience bonus of a sound whose onset is all above 3 kHz (a rope or shoe click)."""
    beat_search_s: float = 2.5
    """``rope``: sound gathered after a set's first contact before its beat is searched for."""
    beat_min_hits: int = 4
    """``rope``: contacts a beat must match to be believed ..."""
    beat_min_hit_ratio: float = 0.6
    """``rope``: ... and the share of its beats they must cover."""
    beat_ioi_spread: float = 0.04
    """``rope``: width of the inter-onset-interval histogram's smoothing, relative to the period."""
    beat_start_above_floor_db: float = 6.0
    """``rope``: only sounds this far above the noise floor may start a rhythm (the room alone never does)."""
    beat_miss_db: float = 3.0
    """``rope``: score cost of a grid beat with no contact."""
    beat_drop_db: float = 4.0
    """``rope``: a beat's contact may be this much less salient than the recent beats' median (in a search for a
    rhythm, than the sound that opened it)."""
    beat_max_missing: int = 2
    """``rope``: beats in a row with no contact that may still be inferred; one more ends the set ..."""
    beat_confirm_db: float = 6.0
    """``rope``: ... and the contact after them, which confirms them, must be within this much of the recent beats'
    loudness (``relative_floor_db`` holds for the others; 6 dB, as ``faint_db``). A rhythm that only the odd quieter
    sound keeps alive, a beat in two or three, is the room's (music's drums in a rest), not the athlete's."""
    beat_start_run: int = 2
    """``rope``: a set starts at the first of this many grid beats in a row that all have a contact
    (a first interval on the beat, so one stray sound cannot start a set); matched sounds before it are strays."""
    beat_recheck_beats: int = 8
    """``rope``: while following, every this many beats the period is checked against a faster one ..."""
    beat_recheck_fractions: tuple[float, ...] = (1 / 3, 1 / 2, 2 / 3)
    """... of these fractions of it (a beat every 3rd, 2nd or, as 3 in 2, 1.5th contact still finds sounds) ..."""
    beat_recheck_span_beats: float = 4.5
    """... laid back over this many of the current period's beats before the last (at least ``beat_search_s``:
    a grid is judged on 4 beats or more, which a slow beat would not have in ``beat_search_s``) ..."""
    beat_recheck_hit_ratio: float = 0.8
    """... and the finest whose grid finds a sound a beat could be at this share of its beats, and at least the
    current grid's share less 0.05, becomes the period (the athlete sped up, or the set started on every other
    contact)."""
    beat_phase_louder_db: float = 6.0
    """``rope``, double-unders: at every beat, the grid half a period off becomes the beat when it finds
    sounds about as often and its clusters are this much louder (the landing, where the beat followed the
    jump's mid-air click)."""


class RepCounter:
    """Turns a stream of :class:`OnsetEvent` into reps and rejections for one drill."""

    def __init__(self, drill: str, sample_rate: int, config: CounterConfig | None = None) -> None:
        if drill not in DRILL_RULES:
            raise ValueError(f"unknown drill {drill!r}; choose one of: {', '.join(DRILLS)}")
        self.rule = DRILL_RULES[drill]
        self.config = config or CounterConfig()
        self.sample_rate = int(sample_rate)
        self.reps: list[Rep] = []
        self.rejected: list[Rejected] = []
        self._merge_n = int(round(self.config.merge_ms * self.sample_rate / 1000.0))
        self._pending: list[OnsetEvent] = []  # events waiting for a decision, in time order
        self._last_contact: OnsetEvent | None = None  # last accepted contact (rep or rope pass)
        self._rep_loudness: deque[float] = deque(maxlen=8)
        self._rep_thud: deque[float] = deque(maxlen=8)  # low_db - loudness_db of the recent reps
        # recent sounds that may lay a background beat: impact, faint ones that were not reps (nor too quiet);
        # discrete, every one that was not a rep (nor too quiet) and the first background_first_reps reps
        self._evidence: deque[OnsetEvent] = deque()
        cfg = self.config
        self._machine = MachineBeat(
            self.sample_rate, tolerance_s=cfg.machine_tolerance_s, tolerance_fraction=cfg.machine_tolerance_fraction,
            beats=cfg.machine_beats, span_s=cfg.machine_span_s, hit_ratio=cfg.machine_hit_ratio,
            quick_beats=cfg.machine_quick_beats, quick_span_s=cfg.machine_quick_span_s,
            quick_hit_ratio=cfg.machine_quick_hit_ratio,
            period_s=cfg.machine_period_s, loud_db=cfg.machine_loud_db,
        )
        self._machine_sounds: set[int] = set()  # samples of the sounds on a machine's beat (background)
        self._rope = self._new_rope()
        # rhythm book
        self._set_number = 0
        self._rep_in_set = 0
        self._set_intervals: deque[float] = deque(maxlen=self.config.rhythm_window)
        self._last_rep_sample: int | None = None
        self._force_new_set = False
        self._last_lone: OnsetEvent | None = None  # the last sound rejected as lone

    # ---------------------------------------------------------------- public
    def feed(self, event: OnsetEvent) -> list[Rep | Rejected]:
        """Take one event (in time order); return the decisions now final."""
        machine = self._machine.feed(event.sample, event.loudness_db)
        if machine:
            horizon = event.sample - 60 * self.sample_rate  # far older than any decision still waiting
            if len(self._machine_sounds) > 4096:
                self._machine_sounds = {s for s in self._machine_sounds if s >= horizon}
            self._machine_sounds.update(machine)
            if self._rope is not None:
                self._rope.forget(machine)
        if self._rope is not None:
            return self._record(self._rope.feed(event))
        self._pending.append(event)
        return self._decide(event.sample)

    def advance(self, sample_now: int) -> list[Rep | Rejected]:
        """The stream has reached ``sample_now``; release decisions that no longer need to wait."""
        if self._rope is not None:
            return self._record(self._rope.advance(sample_now))
        return self._decide(sample_now)

    def finish(self) -> list[Rep | Rejected]:
        """End of stream: decide everything still pending."""
        if self._rope is not None:
            return self._record(self._rope.finish())
        return self._decide(None)

    @property
    def max_gap_in_set_s(self) -> float:
        """The longest gap between two reps of one set under this drill's rule, s (rope: missed beats included)."""
        missing = self.config.beat_max_missing if self.rule.kind == "rope" else 0
        return self.rule.max_interval_s * (1 + missing)

    def start_new_set(self) -> None:
        """The next rep starts a new set (the athlete or coach said so)."""
        self._force_new_set = True
        if self._rope is not None:
            self._rope = self._new_rope()

    def change_drill(self, drill: str) -> list[Rep | Rejected]:
        """Decide everything pending under the old rule, then count by ``drill`` from a new set on.

        Rep and set numbering continue; returns the decisions the old rule still owed.
        """
        if drill not in DRILL_RULES:
            raise ValueError(f"unknown drill {drill!r}; choose one of: {', '.join(DRILLS)}")
        out = self.finish()
        self.rule = DRILL_RULES[drill]
        self._pending = []
        self._last_contact = None
        self._rope = self._new_rope()
        self.start_new_set()
        return out

    def _new_rope(self) -> _RopeTracker | None:
        return _RopeTracker(self.rule, self.config, self.sample_rate, self._machine_sounds) if self.rule.kind == "rope" else None

    def set_summaries(self) -> list[SetSummary]:
        """One summary per set, in order."""
        out = []
        by_set: dict[int, list[Rep]] = {}
        for r in self.reps:
            by_set.setdefault(r.set_number, []).append(r)
        for n, reps in sorted(by_set.items()):
            out.append(_summarise_set(n, reps))
        return out

    def summary(self, n_samples: int) -> SessionSummary:
        """Figures for the whole session; ``n_samples`` is the stream length."""
        sets = self.set_summaries()
        intervals = [r.interval_ms for r in self.reps if r.interval_ms is not None]
        steady = [r.interval_ms for r in self.reps if r.interval_ms is not None and not r.ramp_in]
        loud = [r.loudness_db for r in self.reps if not r.inferred]
        active = 0.0
        for s in sets:
            med = s.cadence_per_min and 60.0 / s.cadence_per_min
            active += (s.end_s - s.start_s) + (med or 0.0)
        return SessionSummary(
            reps=len(self.reps),
            sets=len(sets),
            rejected=len(self.rejected),
            duration_s=n_samples / self.sample_rate,
            active_s=active,
            cadence_per_min=60000.0 / statistics.median(intervals) if intervals else None,
            interval_cv=interval_cv(steady),
            median_loudness_db=statistics.median(loud) if loud else None,
            loudest_loudness_db=max(loud) if loud else None,
        )

    # ----------------------------------------------------- impact / discrete
    def _decide(self, now: int | None) -> list[Rep | Rejected]:
        """Decide pending events in order, each with the state its predecessors left (``now=None``: all)."""
        delay_n = int(self.rule.decision_delay_s * self.sample_rate)
        out: list[Rep | Rejected] = []
        while self._pending:
            ev = self._pending[0]
            if now is not None and ev.sample + delay_n > now:
                break
            reason = self._classify(ev)
            faint = reason is None and self._is_faint(ev)
            if faint and now is not None and ev.sample + self._precursor_n > now:
                break  # a faint rep waits: a louder sound right after it would be the contact
            if reason is None and self._louder_within(ev, ev.sample + 1, ev.sample + self._precursor_n - 1):
                reason = "precursor"  # a louder sound follows within the span a faint rep waits: it is the contact
            beat = self._beat_ahead(ev) if faint and reason is None else None
            if beat is not None:
                if now is not None and beat[1] > now:
                    break  # a faint, early rep waits for the beat: a louder contact on it would make this one off-beat
                if self._louder_within(ev, *beat):
                    reason = "off-beat"
            if reason is None and faint and self.rule.confirm_faint_opener and self._opens_set(ev) and not self._followed(ev):
                if now is not None and ev.sample + self.rule.max_interval_s * self.sample_rate > now:
                    break  # a faint opener waits for the set's next contact
                reason = None if self._repeats_lone(ev) else "lone"
            if reason == "lone":
                self._last_lone = ev
            self._pending.pop(0)
            out.extend(self._record([(ev, reason)]))
        return out

    @property
    def _precursor_n(self) -> int:
        """How long a faint rep waits, in samples: as long as a later sound would be its echo in :meth:`_classify`
        (``merge_ms``, then; the drill's shortest interval in ``impact`` drills; in ``discrete`` drills, whose
        later sounds settle, until a take-off could be, the shortest of ``takeoff_window_s``). A sound
        ``precursor_db`` louder inside it makes it the precursor.
        A property, so that it follows :meth:`change_drill`."""
        if self.rule.kind == "discrete":
            return max(self._merge_n, int(round(self.config.takeoff_window_s[0] * self.sample_rate)))
        return max(self._merge_n, int(round(self.rule.min_interval_s * self.sample_rate)))

    def _is_faint(self, ev: OnsetEvent) -> bool:
        """Quieter than the recent reps (their median; ``discrete``, the loudest) by ``faint_db`` (or no rep yet to
        compare with)."""
        if not self._rep_loudness:
            return True
        ref = max(self._rep_loudness) if self.rule.kind == "discrete" else statistics.median(self._rep_loudness)
        return ev.loudness_db < ref - self.config.faint_db

    def _beat_ahead(self, ev: OnsetEvent) -> tuple[int, int] | None:
        """In a steady set of an ``impact`` drill, the window (samples) where the next contact is due, when ``ev``
        comes before it; None otherwise. The window is the median interval after the last contact, give or take
        ``beat_tolerance`` (``discrete`` jumps keep no beat)."""
        last = self._last_contact
        if self.rule.kind != "impact" or last is None or not self._steady():
            return None
        period = statistics.median(self._set_intervals) * self.sample_rate
        lo = last.sample + (1.0 - self.config.beat_tolerance) * period
        if ev.sample >= lo:
            return None
        return int(lo), int(last.sample + (1.0 + self.config.beat_tolerance) * period)

    def _steady(self) -> bool:
        """Whether the set has a rhythm to judge a sound against: 3 intervals (their median outvotes one odd
        one), or 2 that agree to ``beat_tolerance`` either side of their mean (a set whose first interval is a
        pause has none yet)."""
        n = len(self._set_intervals)
        if n >= 3:
            return True
        if n < 2:
            return False
        a, b = self._set_intervals
        return abs(a - b) <= self.config.beat_tolerance * (a + b)

    def _louder_within(self, ev: OnsetEvent, lo: int, hi: int) -> bool:
        """A pending sound ``precursor_db`` louder than ``ev`` starts inside ``[lo, hi]`` (samples): right after
        ``ev``, it makes ``ev`` its ``precursor``; on the beat ahead of it, ``off-beat``."""
        return any(lo <= later.sample <= hi and later.loudness_db >= ev.loudness_db + self.config.precursor_db for later in self._pending[1:])

    def _classify(self, ev: OnsetEvent) -> str | None:
        """Reason the (oldest pending) event is not a rep, or None for a rep."""
        cfg = self.config
        last = self._last_contact
        if ev.sample in self._machine_sounds:
            return "background"
        if last is not None and ev.sample - last.sample < self._merge_n:
            return "echo"
        if ev.contrast_db < cfg.min_contrast_db or ev.loudness_db - ev.floor_dbfs < cfg.min_above_floor_db:
            return "too-quiet"
        if self._rep_loudness:
            if ev.loudness_db < statistics.median(self._rep_loudness) - cfg.relative_floor_db:
                return "too-quiet"
            if self.rule.kind == "discrete" and ev.strength_db < cfg.min_strength_db and self._is_faint(ev):
                return "too-quiet"
        elif ev.strength_db < cfg.min_strength_db:
            return "too-quiet"
        if self._rep_loudness and self._is_faint(ev) and self._keeps_background_beat(ev):
            return "background"
        if self.rule.kind == "discrete":
            sr = self.sample_rate
            if last is not None and ev.sample - last.sample < cfg.settle_window_s * sr and ev.loudness_db < last.loudness_db - cfg.settle_drop_db:
                return "settle"
            lo, hi = (int(x * sr) for x in cfg.takeoff_window_s)
            for later in self._pending:
                gap = later.sample - ev.sample
                if lo <= gap <= hi and later.loudness_db >= ev.loudness_db + cfg.takeoff_drop_db and later.contrast_db >= cfg.min_contrast_db:
                    return "takeoff"
            if last is not None and ev.sample - last.sample < self.rule.min_interval_s * sr:
                return "settle"
        elif last is not None:
            dt = (ev.sample - last.sample) / self.sample_rate
            if dt < self.rule.min_interval_s:
                return "echo"
            if (
                self._steady()
                and dt < cfg.off_beat_fraction * statistics.median(self._set_intervals)
                and ev.loudness_db < statistics.median(self._rep_loudness) - cfg.off_beat_drop_db
            ):
                return "off-beat"
        if self.rule.faint_needs_thud and self._rep_thud and self._is_faint(ev) and not self._has_thud(ev):
            return "no-thud"
        return None

    def _has_thud(self, ev: OnsetEvent) -> bool:
        """``ev``'s low band holds, of its loudness, no more than ``thud_drop_db`` less than the recent reps' do."""
        return ev.low_db - ev.loudness_db >= statistics.median(self._rep_thud) - self.config.thud_drop_db

    def _keeps_background_beat(self, ev: OnsetEvent) -> bool:
        """``ev`` keeps the steady beat of two earlier faint sounds that were not reps, as loud as it (see
        ``background_db`` and the settings after it; ``discrete``, ``background_first_reps``)."""
        cfg = self.config
        sr = self.sample_rate
        shortest, longest = (x * sr for x in cfg.background_period_s)
        discrete = self.rule.kind == "discrete"
        # landing drills: sounds with the reps' thud and sounds without one keep no beat together
        thud = self._has_thud(ev) if self.rule.faint_needs_thud and self._rep_thud else None
        t = np.array(
            [
                q.sample for q in self._evidence
                if abs(q.loudness_db - ev.loudness_db) <= cfg.background_db and (not discrete or self._is_faint(q))
                and (thud is None or self._has_thud(q) == thud)
            ],
            dtype=float,
        )
        if t.size < 2:
            return False
        later, earlier = np.triu_indices(t.size, 1)[::-1]  # every pair, later one first
        gap = t[later] - t[earlier]
        since = ev.sample - t[later]
        for j in (1, 2, 3):
            period = gap / j
            ok = (period >= shortest) & (period <= longest)
            m = np.round(since / np.where(ok, period, 1.0))
            err = np.abs(since - m * period)
            if np.any(ok & (m >= 1) & (m <= 4) & (err <= cfg.background_tolerance_s * sr)):
                return True
        return False

    def _may_lay_background(self, ev: OnsetEvent, reason: str | None) -> bool:
        """Whether a sound just decided is kept as evidence of a background beat (never a ``too-quiet`` one: the
        athlete's own faint landings are): in ``impact`` drills a faint one that was not a rep; in ``discrete``
        drills (its faintness judged when the beat is checked) every one that was not a rep, and the first
        ``background_first_reps`` reps."""
        if reason == "too-quiet":
            return False
        if self.rule.kind == "discrete":
            return reason is not None or len(self._rep_loudness) < self.config.background_first_reps
        return reason is not None and self._is_faint(ev)

    # ---------------------------------------------------------- rhythm book
    def _record(self, decisions: list[tuple[OnsetEvent, str | None]]) -> list[Rep | Rejected]:
        out: list[Rep | Rejected] = []
        for ev, reason in decisions:
            if self._rope is None and self._may_lay_background(ev, reason):
                self._evidence.append(ev)
                while ev.sample - self._evidence[0].sample > self.config.background_window_s * self.sample_rate:
                    self._evidence.popleft()
            if reason is None or reason == INFERRED:
                out.append(self._add_rep(ev, inferred=reason == INFERRED))
            else:
                rej = Rejected(ev, reason)
                self.rejected.append(rej)
                out.append(rej)
        return out

    def _opens_set(self, ev: OnsetEvent) -> bool:
        """Whether ``ev``, as a rep, would start a new set: the first rep, a start asked for, or a gap longer than
        a set's longest (``max_gap_in_set_s``) or ``rest_factor`` times its running median interval."""
        if self._force_new_set or self._last_rep_sample is None:
            return True
        interval_s = (ev.sample - self._last_rep_sample) / self.sample_rate
        if interval_s > self.max_gap_in_set_s:
            return True
        return len(self._set_intervals) >= 2 and interval_s > self.config.rest_factor * statistics.median(self._set_intervals)

    def _repeats_lone(self, ev: OnsetEvent) -> bool:
        """With no rep yet, ``ev`` (alone, as a ``lone`` sound is) comes within ``lone_repeat_s`` of the last ``lone``
        sound and within ``faint_db`` of its loudness: the athlete's own contacts, slower than the drill's longest
        interval (hops a few seconds apart), not a knock before the set. The first of them stays ``lone``."""
        last = self._last_lone
        return (
            not self._rep_loudness and last is not None
            and ev.sample - last.sample <= self.config.lone_repeat_s * self.sample_rate
            and abs(ev.loudness_db - last.loudness_db) <= self.config.faint_db
        )

    def _followed(self, ev: OnsetEvent) -> bool:
        """Whether a pending sound within ``max_interval_s`` after ``ev`` would be a rep were ``ev`` one (each
        judged as :meth:`_classify` would, the sounds between them not reps): the set ``ev`` opens goes on."""
        saved = self._last_contact, self._rep_loudness.copy(), self._set_intervals.copy()
        self._last_contact = ev
        self._rep_loudness.append(ev.loudness_db)
        self._set_intervals.clear()
        try:
            end = ev.sample + self.rule.max_interval_s * self.sample_rate
            return any(self._classify(q) is None for q in self._pending[1:] if q.sample <= end)
        finally:
            self._last_contact, self._rep_loudness, self._set_intervals = saved

    def _add_rep(self, ev: OnsetEvent, inferred: bool = False) -> Rep:
        sr = self.sample_rate
        interval_s = None if self._last_rep_sample is None else (ev.sample - self._last_rep_sample) / sr
        new_set = self._opens_set(ev)
        if new_set:
            self._force_new_set = False
            self._set_number += 1
            self._rep_in_set = 0
            self._set_intervals.clear()
            interval_s = None
        self._rep_in_set += 1
        rhythm = None
        if interval_s is not None:
            if self._set_intervals:
                med = statistics.median(self._set_intervals)
                rhythm = 100.0 * (interval_s - med) / med
            self._set_intervals.append(interval_s)
        rep = Rep(
            number=len(self.reps) + 1,
            set_number=self._set_number,
            rep_in_set=self._rep_in_set,
            event=ev,
            interval_ms=None if interval_s is None else 1000.0 * interval_s,
            cadence_per_min=None if interval_s is None else 60.0 / interval_s,
            rhythm_dev_pct=rhythm,
            ramp_in=self._rep_in_set <= self.config.ramp_in_reps,
            inferred=inferred,
        )
        self.reps.append(rep)
        self._last_rep_sample = ev.sample
        self._last_contact = ev
        if not inferred:
            self._rep_loudness.append(ev.loudness_db)
            self._rep_thud.append(ev.low_db - ev.loudness_db)
        return rep


class _RopeTracker:
    """Beat tracking for rope drills: one beat per rep (a contact, or a jump for double-unders).

    A sound's salience is ``strength_db + click_weight_db * (click_share + air_share) / 2``
    (the rope and the shoes give sharp, high-band clicks; above 6 kHz, where voice and music
    hardly reach, they count twice). A beat is timed by its most salient sound; the rep
    is the loudest sound within ``merge_ms`` of it (the feet land louder than the rope slaps);
    every other sound is ``rope``.

    *Finding the beat.* With no beat, once ``beat_search_s`` of sound has arrived after the
    first sound that can start a rhythm (the opener: ``beat_start_above_floor_db`` above the noise
    floor; the quieter sounds before it wait for it, up to ``beat_search_s``; and, but for double-unders,
    within ``faint_db`` of the third loudest such sound in the ``beat_search_s`` after it: the drums of
    music before the set's first contact are no opener), the sounds that take
    part in the search are those that could start one too and those within ``beat_drop_db`` of the
    opener's salience (as following asks of a beat: a contact as sharp as the opener, whose loudness
    the room's noise or music hides). The period is the one their inter-onset intervals agree on (see
    :meth:`_tempo`); periods within 8% of it are tried on grids anchored at each sound of the
    first period; each grid beat takes the most salient sound within ``max(25 ms, tol * T)``
    (for double-unders a click that a thud follows counts ``rule.landing_weight_db`` more: the
    landing's, where a grid on the jumps' other click would do as well).
    The grid with the best ``sum(salience) - beat_miss_db * misses`` wins if at least
    ``beat_min_hits`` beats and ``beat_min_hit_ratio`` of them matched; otherwise the first
    sound is rejected (``too-quiet``), with the quieter ones before it, and the search moves on.
    For double-unders, of the grids on the other half of the winner's beat that match as often, the one
    whose clusters are loudest wins instead when they are ``beat_phase_louder_db`` louder than the
    winner's (as the period check below asks: the winner was on the mid-air click). Its
    matched sounds whose clusters are more than ``relative_floor_db`` under the median of theirs, or
    after a set under that set's beats' (as its opener must be), count as unmatched (following would not
    take them either; the drums of music in a rest are no new set). A rhythm found after a set that is
    ``faint_db`` under it and was already going before its first beat is ``background`` (see
    :meth:`_was_going`). The
    set starts at the first ``beat_start_run`` matched beats in a row (when that is not its first
    matched beat, the search starts again there, its opener no earlier, and the sounds before wait
    undecided, for its grid laid back to take or leave) and its search part ends at a gap of more than
    ``beat_max_missing`` beats, as it would while following. The grid is then laid back from the
    set's first beat over the undecided sounds before it, each earlier beat taking its sound as
    following would, passing over up to ``beat_max_missing`` beats with none as following does (they
    are inferred when the sound before them is as loud as confirming them asks), back to a longer gap:
    contacts too quiet to start a rhythm count once one has started (a set that fades in, a contact
    lost in noise just before it starts, a few of its first contacts unheard).

    *Following it.* The next beat is expected at ``last + T``; once the stream has passed
    ``last + (1 + tol) * T`` (plus ``merge_ms``), the sound in ``[last + (1 - tol) * T,
    last + (1 + tol) * T]`` with the best ``salience - beat_timing_db * |error| / T`` is the
    beat, if its salience is within ``beat_drop_db`` of the recent beats' and its loudness within
    ``relative_floor_db`` of theirs (far quieter is the room, not a contact). Loudness here is a
    cluster's, its loudest sound within ``merge_ms``: the rep the beat counts, so that a beat timed
    by a faint rope click is held to the landing beside it, and a quiet background beat in a rest
    is not held to the rope click of the set before. A beat with no
    such sound is held as *inferred*; when a real beat follows within ``beat_max_missing``
    beats, and its cluster is within ``beat_confirm_db`` of the recent beats' loudness (the odd
    quieter drum hit in a rest does not keep a rhythm alive), the inferred ones are counted (a
    contact the microphone did not hear inside a steady rhythm), otherwise the set ended at the
    last real beat.

    *Checking the period.* A grid at a multiple of the true period (every 2nd or 3rd contact,
    or 3 beats to 2 of a double-under's clicks) keeps finding sounds, so following alone never
    leaves it. Every ``beat_recheck_beats`` beats, and at once at a real beat that follows inferred
    ones (contacts that went missing are as much the sign of a quicker pace as of faint
    contacts), the grids at ``beat_recheck_fractions`` of
    the period (within the drill's range) are laid back from the last beat over the last
    ``beat_recheck_span_beats`` beats of the period (at least ``beat_search_s``, so that a slow beat
    has grid beats enough to judge; after inferred beats, no more than those beats: what is in
    question is the pace since the contacts went missing); the finest that finds a sound a beat could be at ``beat_recheck_hit_ratio``
    of its beats, and at about the current grid's share or more, becomes the period. For
    double-unders, at every beat the period stays (not only at the period checks: a set that opened
    on the mid-air click would count up to ``beat_recheck_beats`` of them), the grid half a period off
    is tried over the same span: when it finds sounds about as often and their clusters are
    ``beat_phase_louder_db`` louder, the beat moves onto it (the follower was on the mid-air click; the
    landing is the louder).
    """

    def __init__(self, rule: DrillRule, config: CounterConfig, sample_rate: int, machine: set[int]) -> None:
        self.rule = rule
        self._machine = machine  # samples of sounds on a machine's beat: never a beat nor a rep (background)
        self.cfg = config
        self.sr = sample_rate
        self._merge = config.merge_ms * sample_rate / 1000.0
        self._events: list[OnsetEvent] = []  # undecided, in order
        self._last: int | None = None  # sample of the last beat (real or inferred)
        self._period: float | None = None  # beat period, samples
        self._intervals: deque[float] = deque(maxlen=8)  # recent beat intervals, samples
        self._sal: deque[float] = deque(maxlen=8)  # salience of recent real beats
        self._beat_at: deque[int] = deque(maxlen=8)  # samples of the sounds that timed them
        self._loud: deque[float] = deque(maxlen=8)  # loudness of recent real beats' clusters (their reps), dB
        self._inferred: list[int] = []  # inferred beat samples waiting for a real beat
        self._recent: deque[OnsetEvent] = deque()  # every sound of the last _recent_s, for the period check
        self._cluster_loud: dict[int, float] = {}  # sample of each sound in _recent -> loudness of its cluster, dB
        self._set_loud = -np.inf  # median loudness of the last set's beats' clusters, dB (-inf: no set yet)
        self._set_grid: tuple[float, float] | None = None  # the last set's last beat and period, samples
        self._beats_to_recheck = config.beat_recheck_beats
        self._search_from = 0  # a search's opener is no earlier (strays before a found rhythm's first run wait)
        # the period check looks back beat_recheck_span_beats beats (at least beat_search_s) from the last beat,
        # which lags the newest sound by up to a beat and the decision delay: keep every sound that far back
        longest = max(config.beat_search_s, config.beat_recheck_span_beats * rule.max_interval_s)
        self._recent_s = longest + 2 * config.beat_search_s

    def _salience(self, ev: OnsetEvent) -> float:
        return ev.strength_db + self.cfg.click_weight_db * 0.5 * (ev.click_share + ev.air_share)

    def _phase_salience(self, ev: OnsetEvent) -> float:
        """Salience on a searched grid: plus ``rule.landing_weight_db`` for a click (``click_share`` 0.5 or more)
        that a thud (less) follows within ``merge_ms``: the rope's last pass, then the feet."""
        if not self.rule.landing_weight_db or ev.click_share < 0.5:
            return self._salience(ev)
        landing = any(0 < e.sample - ev.sample <= self._merge and e.click_share < 0.5 for e in self._recent)
        return self._salience(ev) + (self.rule.landing_weight_db if landing else 0.0)

    def _may_be_beat(self, ev: OnsetEvent, floor: float, quiet: float) -> bool:
        """As salient as a beat must be (``floor``), and its cluster loud enough to be a contact (``quiet``)."""
        return self._salience(ev) >= floor and self._loudness(ev) >= quiet

    def _loudness(self, ev: OnsetEvent) -> float:
        """Loudness of the cluster a sound would time as a beat: of its loudest sound within ``merge_ms``, the
        rep that beat would count (a beat timed by a faint rope click still counts the landing beside it)."""
        return self._cluster_loud.get(ev.sample, ev.loudness_db)

    def _salient(self, sals: Sequence[float]) -> float:
        """The salience a sound must reach to be a beat: ``beat_drop_db`` under the median of ``sals``, the
        rhythm's beats (or a search's opener; -inf with none: nothing to compare with)."""
        return statistics.median(sals) - self.cfg.beat_drop_db if sals else -np.inf

    def _quiet(self, louds: Sequence[float], drop_db: float | None = None) -> float:
        """The loudness a sound's cluster must reach to be a contact: ``drop_db`` (``relative_floor_db`` unless
        given) under the median of ``louds``, the clusters of the rhythm's beats (-inf with none: nothing to
        compare with)."""
        drop = self.cfg.relative_floor_db if drop_db is None else drop_db
        return statistics.median(louds) - drop if louds else -np.inf

    def _nearest_salient(self, window: list[OnsetEvent], expect: float, period: float) -> OnsetEvent:
        """The sound of ``window`` a beat expected at ``expect`` takes: salience less ``beat_timing_db`` per
        period of timing error."""
        return max(window, key=lambda e: self._salience(e) - self.cfg.beat_timing_db * abs(e.sample - expect) / period)

    def _tol(self, period: float) -> float:
        return max(0.025 * self.sr, self.cfg.beat_tolerance * period)

    # ---------------------------------------------------------------- public
    def feed(self, ev: OnsetEvent) -> list[tuple[OnsetEvent, str | None]]:
        self._events.append(ev)
        if ev.sample in self._machine:
            return self.advance(ev.sample)  # decided in its turn, as background; no part of any beat
        # the cluster of a sound (every sound within merge_ms of it) is as loud as its loudest sound
        loud = ev.loudness_db
        for e in reversed(self._recent):
            if ev.sample - e.sample > self._merge:
                break
            self._cluster_loud[e.sample] = max(self._cluster_loud[e.sample], ev.loudness_db)
            loud = max(loud, e.loudness_db)
        self._cluster_loud[ev.sample] = loud
        self._recent.append(ev)
        while self._recent[0].sample < ev.sample - self._recent_s * self.sr:
            self._cluster_loud.pop(self._recent.popleft().sample, None)
        return self.advance(ev.sample)

    def forget(self, samples: list[int]) -> None:
        """These sounds turned out to be on a machine's beat: no beat search or check looks at them again."""
        gone = set(samples)
        self._recent = deque(e for e in self._recent if e.sample not in gone)
        for s in gone:
            self._cluster_loud.pop(s, None)
        if self._period is not None and 2 * sum(b in gone for b in self._beat_at) >= len(self._beat_at):
            self._end_set()  # the rhythm followed was the machine's: search the athlete's afresh

    def _live(self) -> list[OnsetEvent]:
        """The undecided sounds that may be a beat or a rep: not a machine's."""
        return [e for e in self._events if e.sample not in self._machine]

    def advance(self, now: int) -> list[tuple[OnsetEvent, str | None]]:
        out: list[tuple[OnsetEvent, str | None]] = []
        while (step := self._step(now, final=False)) is not None:
            out.extend(step)
        return out

    def finish(self) -> list[tuple[OnsetEvent, str | None]]:
        out: list[tuple[OnsetEvent, str | None]] = []
        while (step := self._step(10**18, final=True)) is not None:
            out.extend(step)
        self._inferred = []
        return out

    # ------------------------------------------------------------- internals
    def _step(self, now: int, final: bool) -> list[tuple[OnsetEvent, str | None]] | None:
        out = self._search(now, final) if self._period is None else self._follow(now, final)
        if out is None:
            return None
        machine = [(e, "background" if r is not None and r != INFERRED and e.sample in self._machine else r) for e, r in out]
        return sorted(machine, key=lambda d: d[0].sample)

    def _take_beat(self, beat: OnsetEvent, upto: float) -> list[tuple[OnsetEvent, str | None]]:
        """Decide every undecided sound up to ``upto`` (and the beat's own cluster): the beat's loudest is the rep."""
        cluster = [e for e in self._live() if abs(e.sample - beat.sample) <= self._merge]
        rep = max(cluster, key=lambda e: e.loudness_db)
        end = max(upto, max(e.sample for e in cluster))
        taken = [e for e in self._events if e.sample <= end]
        self._events = [e for e in self._events if e.sample > end]
        return [(e, None if e is rep else "rope") for e in taken]

    def _search(self, now: int, final: bool) -> list[tuple[OnsetEvent, str | None]] | None:
        if not self._events:
            return None
        cfg, sr = self.cfg, self.sr
        search = cfg.beat_search_s * sr
        live = self._live()
        opener = next((e for e in live if e.sample >= self._search_from and self._can_start(e)), None)
        # sounds that cannot start a rhythm wait for one that can, as far back as a search reaches (see _backfill)
        until = (opener.sample if opener is not None else now) - search
        if final and opener is None:
            until = np.inf
        if self._events[0].sample < until:
            old = [e for e in self._events if e.sample < until]
            self._events = self._events[len(old) :]
            return [(e, "too-quiet") for e in old]
        if opener is None or (not final and now < opener.sample + search + self._merge):
            return None
        horizon = opener.sample + search
        # the athlete's contacts are the loudest steady sounds: an opener faint_db under the window's loud ones
        # (its 3rd loudest cluster) is the room's (music's drums before the set); the search opens on the first
        # sound as loud, and the sounds before it wait for its grid's backfill (not for double-unders: their
        # quieter mid-air click may open the search, and the phase choice below moves the beat to the landing)
        window = [e for e in live if opener.sample <= e.sample <= horizon and self._can_start(e)]
        loudest = sorted((self._loudness(e) for e in window), reverse=True)
        if len(loudest) >= 3 and not self.rule.landing_weight_db:
            first = next(e for e in window if self._loudness(e) >= loudest[2] - cfg.faint_db)
            if first is not opener:
                self._search_from = first.sample
                return []
        # the sounds that could start a rhythm, and those as salient as its opener (see the class docstring)
        floor = self._salient([self._salience(opener)])
        cands = [
            e for e in live
            if opener.sample <= e.sample <= horizon and (self._can_start(e) or self._salience(e) >= floor)
        ]
        if len(cands) < cfg.beat_min_hits:
            return self._reject_through(opener)
        times = np.array([e.sample for e in cands], dtype=float)
        sal = np.array([self._salience(e) for e in cands])
        grid_sal = np.array([self._phase_salience(e) for e in cands])
        tempo = self._tempo(times, sal)
        if tempo is None:
            return self._reject_through(opener)
        grids = []  # (score, matched, beat_no, anchor, period, n_beats) of each grid that hits often enough
        anchors = times[times < times[0] + tempo]  # the rhythm's first beat is one of the first period's sounds
        for anchor, period in itertools.product(anchors, np.arange(0.92 * tempo, 1.08 * tempo + 1e-9, 0.002 * sr)):
            n_beats = int((min(horizon, times[-1] + self._tol(period)) - anchor) // period) + 1
            if n_beats < cfg.beat_min_hits:
                continue
            score, matched, beat_no = self._grid_hits(times, grid_sal, anchor, period, n_beats)
            if len(matched) >= max(cfg.beat_min_hits, cfg.beat_min_hit_ratio * n_beats):
                grids.append((score, matched, beat_no, anchor, period, n_beats))
        if not grids:
            return self._reject_through(opener)
        best = max(grids, key=lambda g: g[0])  # (the first of equals)
        if self.rule.landing_weight_db:
            # double-unders: of the grids on the other half of the beat that find sounds as often, the one whose
            # clusters are loudest, when they are beat_phase_louder_db louder (as the period check asks): the
            # search was on the mid-air click, the landings are the other half
            def loud(g: tuple) -> float:
                return float(np.median([self._loudness(cands[j]) for j in g[1]]))

            share = len(best[1]) / best[5] - 0.05
            other = [
                g for g in grids
                if 0.25 <= ((g[3] - best[3]) / best[4]) % 1.0 <= 0.75 and len(g[1]) / g[5] >= share
            ]
            if other:
                louds = [loud(g) for g in other]
                i = max(range(len(other)), key=lambda i: (louds[i], other[i][0]))
                if louds[i] >= loud(best) + cfg.beat_phase_louder_db:
                    best = other[i]
        _, matched, beat_no = best[:3]
        # the period that best fits the matched sounds (a straight line in the beat number)
        period = float(np.polyfit(np.asarray(beat_no, float), times[matched], 1)[0])
        # as following asks of a beat: a sound far quieter than the rhythm's beats is the room, not a contact
        quiet = max(self._quiet([self._loudness(cands[j]) for j in matched]), self._set_quiet)
        kept = [i for i, j in enumerate(matched) if self._loudness(cands[j]) >= quiet]
        matched, beat_no = [matched[i] for i in kept], [beat_no[i] for i in kept]
        run = _start_run(beat_no, cfg.beat_start_run, cfg.beat_max_missing)
        if run is None:
            return self._reject_through(opener)
        if self._was_going([cands[j] for j in matched], beat_no):
            return self._reject_through(opener, "background")
        first, last = run
        if first > 0:
            # strays before the rhythm's first run of hits: search again from the run; they wait undecided
            # (the next search's backfill may take them, as it does the quieter sounds before its opener)
            self._search_from = cands[matched[first]].sample
            return []
        matched = matched[: last + 1]
        out: list[tuple[OnsetEvent, str | None]] = []
        beats = self._backfill([cands[j] for j in matched], period)
        prev: int | None = None
        for beat in beats:
            if beat not in self._events:
                continue  # already inside the previous beat's cluster
            if prev is not None:
                k = max(1, int(round((beat.sample - prev) / period)))
                for m in range(1, k):
                    out.append((_inferred_event(beat, int(round(prev + m * (beat.sample - prev) / k))), INFERRED))
                self._intervals.append((beat.sample - prev) / k)
            self._sal.append(self._salience(beat))
            self._beat_at.append(beat.sample)
            self._loud.append(self._loudness(beat))
            out.extend(self._take_beat(beat, beat.sample))
            prev = beat.sample
        self._last = prev
        self._period = self._clamp(float(np.median(self._intervals)) if self._intervals else float(period))
        return out

    def _grid_hits(self, times: np.ndarray, grid_sal: np.ndarray, anchor: float, period: float, n_beats: int) -> tuple[float, list[int], list[int]]:
        """Each of the ``n_beats`` beats ``anchor + n * period`` takes the sound (of ``times``) within the beat
        tolerance with the best ``grid_sal`` less ``beat_timing_db`` per period of timing error, one beat per
        sound: the grid's score (those saliences, less ``beat_miss_db`` per beat with none), and the sounds'
        indices with their beat numbers."""
        cfg = self.cfg
        tol = self._tol(period)
        matched: list[int] = []
        beat_no: list[int] = []
        score = 0.0
        for n in range(n_beats):
            d = np.abs(times - (anchor + n * period))
            ok = np.flatnonzero(d <= tol)
            if ok.size:
                j = int(ok[np.argmax(grid_sal[ok] - cfg.beat_timing_db * d[ok] / period)])
                if not matched or j != matched[-1]:
                    matched.append(j)
                    beat_no.append(n)
                    score += grid_sal[j]
                    continue
            score -= cfg.beat_miss_db
        return score, matched, beat_no

    def _was_going(self, beats: list[OnsetEvent], beat_no: list[int]) -> bool:
        """A searched rhythm after a set is the room's (music's drums), not a new set, when it is quieter than
        that set and was already going before it started.

        Quieter: its beats' clusters' median loudness ``faint_db`` or more under the last set's. Going: its
        grid (the line fitted to its beats), laid back over the 4 beats before its first, finds at 2 of them
        a sound within the beat tolerance that is as loud as its beats (from ``background_db`` under the
        quietest to ``background_db`` over the loudest) and itself ``faint_db`` under the last set's (the
        athlete's contacts are not). Not when it is the last set's rhythm resumed: a period within 8% of
        that set's, on its grid (the rope's own faint clicks go on through a set the follower lost)."""
        cfg = self.cfg
        louds = [self._loudness(b) for b in beats]
        faint = self._set_loud - cfg.faint_db
        if statistics.median(louds) >= faint:
            return False
        period, at = np.polyfit(np.asarray(beat_no, float), [b.sample for b in beats], 1)
        first = beats[0].sample
        if self._set_grid is not None:
            last, was = self._set_grid
            k = (first - last) / was
            if abs(period / was - 1) <= 0.08 and abs(k - round(k)) * was <= self._tol(was):
                return False
        lo, hi = min(louds) - cfg.background_db, min(max(louds) + cfg.background_db, faint)
        before = np.array([e.sample for e in self._recent if e.sample < first - self._merge and lo <= self._loudness(e) <= hi], float)
        if not before.size:
            return False
        grid = at + period * (beat_no[0] - np.arange(1, 5))
        return int(np.sum(np.min(np.abs(before[None, :] - grid[:, None]), axis=1) <= self._tol(period))) >= 2

    def _can_start(self, ev: OnsetEvent) -> bool:
        """Loud enough above the noise floor to start a rhythm (``beat_start_above_floor_db``) and, after a set,
        loud enough to be one of the athlete's contacts: its cluster within ``relative_floor_db`` of the last
        set's reps (as following asks of a beat; the room in a rest is not a new set)."""
        if ev.loudness_db - ev.floor_dbfs < self.cfg.beat_start_above_floor_db:
            return False
        return self._loudness(ev) >= self._set_quiet

    @property
    def _set_quiet(self) -> float:
        """The loudness a new set's opener and beats must reach: ``relative_floor_db`` under the last set's
        beats (-inf before the first set)."""
        return self._set_loud - self.cfg.relative_floor_db

    def _reject_through(self, ev: OnsetEvent, reason: str = "too-quiet") -> list[tuple[OnsetEvent, str | None]]:
        """No rhythm of the athlete's starts at ``ev``: it, and the sounds before it, are rejected for ``reason``
        (too quiet to be contacts, unless told otherwise)."""
        out = [(e, reason) for e in self._events if e.sample <= ev.sample]
        self._events = self._events[len(out) :]
        return out

    def _backfill(self, beats: list[OnsetEvent], period: float) -> list[OnsetEvent]:
        """A found rhythm's beats, led by the beats of the same grid before its first one (back to the oldest
        undecided sound): sounds too quiet to start a rhythm are contacts on one, when as salient and loud as
        following asks. As following does, it passes over up to ``beat_max_missing`` grid beats with no
        sound, to an earlier beat whose sound is as loud as confirming them asks (they are inferred); it
        stops at the first gap longer, or with no such sound beyond it."""
        cfg = self.cfg
        floor = self._salient([self._salience(b) for b in beats])
        louds = [self._loudness(b) for b in beats]
        quiet, confirm = self._quiet(louds), self._quiet(louds, cfg.beat_confirm_db)
        tol = self._tol(period)
        out = list(beats)
        live = self._live()
        while True:
            for missing in range(cfg.beat_max_missing + 1):
                expect = out[0].sample - (missing + 1) * period
                window = [
                    e for e in live
                    if abs(e.sample - expect) <= tol and e.sample < out[0].sample - self._merge
                    and self._may_be_beat(e, floor, confirm if missing else quiet)
                ]
                if window:
                    out.insert(0, self._nearest_salient(window, expect, period))
                    break
            else:
                return out

    def _tempo(self, times: np.ndarray, sal: np.ndarray) -> float | None:
        """The beat period (samples) the sounds' inter-onset intervals agree on, or None when they agree on none.

        Every pair of sounds adds ``w_i * w_j`` (weights: salience above the weakest, floored at 0.5)
        to a histogram ``H`` of their time difference, smoothed by a Gaussian of ``beat_ioi_spread``
        relative width. A period ``T`` in the drill's range scores the sum of ``H(k T) - mean(H)``
        over its multiples up to ``beat_search_s``: only the true period collects all its multiples
        (twice the period collects half of them, half the period adds empty lags, which cost).
        When even the best scores below zero there is no rhythm. The periods tried reach down to half the
        drill's shortest interval: a rhythm faster than the drill's fastest rep is two sounds per rep (a
        double-under's two rope passes, which can come nearer each other than the fastest jumps do), and the
        rep's period is twice it.
        """
        cfg, sr = self.cfg, self.sr
        span = cfg.beat_search_s * sr
        w = np.maximum(sal - sal.min(), 0.5)
        lags = times[None, :] - times[:, None]
        weights = w[None, :] * w[:, None]
        keep = (lags > 0) & (lags <= span * 1.05)
        lags, weights = lags[keep], weights[keep]
        if lags.size < cfg.beat_min_hits:
            return None

        def hist(at: np.ndarray) -> np.ndarray:
            sigma = cfg.beat_ioi_spread * at[:, None]
            return np.sum(weights[None, :] * np.exp(-0.5 * ((lags[None, :] - at[:, None]) / sigma) ** 2), axis=1)

        lo = 0.5 * self.rule.min_interval_s * sr
        grid = np.arange(lo / sr, self.rule.max_interval_s + 1e-9, 0.002) * sr
        mean_h = float(np.mean(hist(np.linspace(lo, span, 200))))
        score = np.zeros(grid.size)
        for k in range(1, int(span // lo) + 1):
            multiple = k * grid
            inside = multiple <= span
            if not inside.any():
                break
            score[inside] += hist(multiple[inside]) - mean_h
        i = int(np.argmax(score))
        if score[i] < 0:
            return None  # no period's multiples stand above the histogram's mean: no rhythm
        best = float(grid[i])
        if best < self.rule.min_interval_s * sr:
            best *= 2.0  # two sounds per rep: the rep is every second one
        return self._clamp(best)

    def _clamp(self, period: float) -> float:
        """Keep the beat inside the drill's range (a double-under's beat is a jump, never a single rope pass)."""
        return min(max(period, self.rule.min_interval_s * self.sr), self.rule.max_interval_s * self.sr)

    def _follow(self, now: int, final: bool) -> list[tuple[OnsetEvent, str | None]] | None:
        cfg = self.cfg
        period, last = self._period, self._last
        assert period is not None and last is not None
        expect = last + period
        tol = self._tol(period)
        lo, hi = expect - tol, expect + tol
        if self._events and self._events[0].sample < lo:
            return [(self._events.pop(0), "rope")]
        if not final and now < hi + self._merge:
            return None
        floor = self._salient(self._sal)
        quiet = self._quiet(self._loud)
        # after inferred beats, only a sound about as loud as the rhythm's beats confirms that it went on
        confirm = self._quiet(self._loud, cfg.beat_confirm_db) if self._inferred else quiet
        window = [e for e in self._live() if e.sample <= hi and self._may_be_beat(e, floor, confirm)]
        if window:
            beat = self._nearest_salient(window, expect, period)
            out: list[tuple[OnsetEvent, str | None]] = [(_inferred_event(beat, x), INFERRED) for x in self._inferred]
            k = len(self._inferred) + 1
            self._intervals.append((beat.sample - (last - (k - 1) * period)) / k)
            self._inferred = []
            self._sal.append(self._salience(beat))
            self._beat_at.append(beat.sample)
            self._loud.append(self._loudness(beat))
            out.extend(self._take_beat(beat, hi))
            self._last = beat.sample
            self._period = self._clamp(float(np.median(self._intervals)))
            # k > 1: contacts went missing, the athlete may have sped up; check now, on the recent beats only
            self._recheck_period(floor, quiet, after_missing=k > 1)
            return out
        if final and not self._events:
            self._end_set()
            return None
        if len(self._inferred) < cfg.beat_max_missing:
            self._inferred.append(int(round(expect)))
            self._last = int(round(expect))
            return []
        self._end_set()
        return []

    def _recheck_period(self, floor: float, quiet: float, after_missing: bool) -> None:
        """Every ``beat_recheck_beats`` beats (at once, over the last ``beat_recheck_span_beats`` beats only, after
        inferred beats), move to a faster period that the recent sounds fit as well (:meth:`_faster_period`);
        for double-unders, check the phase (:meth:`_recheck_phase`) at every beat the period stays.

        A grid at a multiple of the true period (every 2nd or 3rd contact, or 3 beats to 2 of
        a double-under's clicks) keeps finding sounds, so the follower alone never leaves it.
        """
        cfg = self.cfg
        assert self._period is not None
        span = cfg.beat_recheck_span_beats * self._period
        if not after_missing:
            span = max(cfg.beat_search_s * self.sr, span)  # (a slow beat has grid beats enough to judge)
        self._beats_to_recheck -= 1
        if self._beats_to_recheck <= 0 or after_missing:
            self._beats_to_recheck = cfg.beat_recheck_beats
            if self._faster_period(span, floor, quiet):
                return
        if self.rule.landing_weight_db:
            self._recheck_phase(span, quiet)

    def _faster_period(self, span: float, floor: float, quiet: float) -> bool:
        """Move to the finest of ``beat_recheck_fractions`` of the period whose grid, over the ``span`` before the
        last beat, finds a sound a beat could be at ``beat_recheck_hit_ratio`` of its beats, and at about the
        current grid's share or more; whether it moved."""
        cfg = self.cfg
        assert self._period is not None and self._last is not None
        # the sounds a beat could be: as salient and loud as following asks
        since = self._last - span - self._tol(self._period)
        sounds = np.array(
            [
                e.sample for e in self._recent
                if since <= e.sample < self._last and self._may_be_beat(e, floor, quiet)
            ],
            dtype=float,
        )
        current = self._grid_share(self._period, span, sounds)
        if current is None:
            return False
        for fraction in sorted(cfg.beat_recheck_fractions):
            period = fraction * self._period
            if period < self.rule.min_interval_s * self.sr:
                continue
            share = self._grid_share(period, span, sounds)
            if share is not None and share >= cfg.beat_recheck_hit_ratio and share >= current - 0.05:
                self._period = period
                self._intervals.clear()
                self._intervals.append(period)
                return True
        return False

    def _recheck_phase(self, span: float, quiet: float) -> None:
        """Double-unders: move the beat half a period when the grid half a period off finds sounds as often and
        its clusters are ``beat_phase_louder_db`` louder (median over the ``span`` before the last beat): the
        follower was on the jumps' mid-air click, the landings are on the other half."""
        assert self._period is not None and self._last is not None
        period, tol = self._period, self._tol(self._period)
        n = int(span // period)
        since = self._last - span - tol
        # the sounds loud enough to be a contact (``quiet``, as following asks); salience does not matter here
        cands = [e for e in self._recent if since <= e.sample <= self._last + tol and self._loudness(e) >= quiet]
        if n < 4 or not cands:
            return
        times = np.array([e.sample for e in cands], dtype=float)
        loud = np.array([self._loudness(e) for e in cands])

        def grid(offset: float) -> tuple[float, float]:
            beats = self._last - period * (np.arange(n) + offset)
            d = np.abs(times[None, :] - beats[:, None]) <= tol
            hit = d.any(axis=1)
            if not hit.any():
                return 0.0, -np.inf
            best = np.where(d, loud[None, :], -np.inf).max(axis=1)
            return float(hit.mean()), float(np.median(best[hit]))

        share0, loud0 = grid(0.0)
        share1, loud1 = grid(0.5)
        if share1 >= share0 - 0.05 and loud1 >= loud0 + self.cfg.beat_phase_louder_db:
            self._last = int(round(self._last - 0.5 * period))  # the next beat is due half a period on

    def _grid_share(self, period: float, span: float, sounds: np.ndarray) -> float | None:
        """Share of the grid beats ``period`` apart in the ``span`` before the last beat that have one of
        ``sounds`` (samples) within the beat tolerance; None for fewer than 4 grid beats."""
        assert self._last is not None
        n = int(span // period)
        if n < 4:
            return None
        if not sounds.size:
            return 0.0
        beats = self._last - period * np.arange(1, n + 1)
        hit = np.min(np.abs(sounds[None, :] - beats[:, None]), axis=1) <= self._tol(period)
        return float(np.mean(hit))

    def _end_set(self) -> None:
        """The rhythm stopped at the last real beat: forget the beat and the unconfirmed inferred beats (keep how
        loud its contacts were: the next set must start within ``relative_floor_db`` of it, see :meth:`_can_start`)."""
        self._inferred = []
        if self._last is not None and self._period is not None:
            self._set_grid = (self._last, self._period)
        self._period = None
        self._last = None
        self._intervals.clear()
        self._sal.clear()
        self._beat_at.clear()
        if self._loud:
            self._set_loud = statistics.median(self._loud)
        self._loud.clear()


def _start_run(beat_no: list[int], run: int, max_missing: int) -> tuple[int, int] | None:
    """Where a searched rhythm's set lies among its matched beats (indices into ``beat_no``, inclusive).

    It starts at the first of ``run`` matched beats on consecutive grid beats and ends before the
    first gap of more than ``max_missing`` unmatched beats after that (the follower would end the
    set there too); None when no such run exists.
    """
    for i in range(len(beat_no) - run + 1):
        if beat_no[i + run - 1] - beat_no[i] == run - 1:
            j = i + run - 1
            while j + 1 < len(beat_no) and beat_no[j + 1] - beat_no[j] <= max_missing + 1:
                j += 1
            return i, j
    return None


INFERRED = "inferred"
"""Decision marker: a rep the beat implies but no sound marked (see :class:`_RopeTracker`)."""


def _inferred_event(like: OnsetEvent, sample: int) -> OnsetEvent:
    """A stand-in event for an inferred beat: its time, and no measured figures (NaN)."""
    nan = float("nan")
    return OnsetEvent(
        sample=int(sample),
        sample_rate=like.sample_rate,
        peak_dbfs=nan,
        loudness_db=nan,
        impact_db=nan,
        low_db=nan,
        high_db=nan,
        strength_db=nan,
        floor_dbfs=like.floor_dbfs,
        contrast_db=nan,
        click_share=nan,
        detect_delay_samples=0,
        air_share=nan,
    )


MIN_CV_INTERVALS = 3
"""Fewest intervals whose coefficient of variation is reported."""


def interval_cv(values: list[float]) -> float | None:
    """Coefficient of variation of intervals: population standard deviation over mean; None with fewer than
    :data:`MIN_CV_INTERVALS` values."""
    if len(values) < MIN_CV_INTERVALS:
        return None
    mean = statistics.fmean(values)
    return statistics.pstdev(values) / mean if mean > 0 else None


def _summarise_set(number: int, reps: list[Rep]) -> SetSummary:
    intervals = [r.interval_ms for r in reps if r.interval_ms is not None]
    steady = [r.interval_ms for r in reps if r.interval_ms is not None and not r.ramp_in]
    return SetSummary(
        number=number,
        reps=len(reps),
        start_s=reps[0].t_s,
        end_s=reps[-1].t_s,
        cadence_per_min=60000.0 / statistics.median(intervals) if intervals else None,
        interval_cv=interval_cv(steady),
        median_loudness_db=statistics.median(loud) if (loud := [r.loudness_db for r in reps if not r.inferred]) else None,
    )
