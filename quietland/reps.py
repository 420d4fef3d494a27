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

import math
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .events import OnsetEvent, Rejected, Rep, SessionSummary, SetSummary
from .machinebeat import MachineBeat
from .presets import PRESETS, DrillPreset
from .ropebeat import INFERRED, RopeBeatTracker


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
    rebound: bool = False
    """``rope``, single bounce: a beginner's double bounce, a small hop with no rope under the feet between two
    rope passes, is no rep. Where the beat's every other cluster is ``CounterConfig.rebound_drop_db`` under
    the others (the rope's slap joins the landing's cluster, not the hop's), the beat is every second sound,
    on the louder ones, and the sounds halfway between are ``rebound``."""
    onset_k_mad: float | None = None
    """The detector's threshold for this drill, in robust standard deviations of the recent onset strength
    (``DetectorConfig.k_mad``; None: the detector's own, 4). A rope rhythm's follower takes only the sounds
    on its beat, so single bounce and alternate foot can hear fainter contacts (3.5); for double-unders the
    fainter sounds are as often the rope's mid-air clicks, and the beat moved onto them (measured: docs/accuracy.md,
    "Synthetic sessions with exact truth")."""
    onset_candidate_k_mad: float | None = None
    """``rope``: the detector also reports peaks down to this many robust standard deviations
    (``DetectorConfig.candidate_k_mad``; None: none). Such a candidate is never a set's first sound, and a rhythm
    found needs ``CounterConfig.beat_min_hits`` sounds over the threshold, but a followed beat may take one where a
    contact is due. Alternate foot asks 2.5: one foot often lands fainter than the other, and the follower, hearing
    only every other contact, would lock onto half the pace (measured: docs/accuracy.md, "Synthetic sessions with exact
    truth"; single bounce counted worse with them)."""
    strides: bool = False
    """``rope``, alternate foot: the feet take turns, and one often lands fainter or less evenly than the other, so
    the beat a rhythm keeps best may be a stride (every second contact). While the places halfway between the
    beats (on the line through them) hold a sound a beat could be as often as the period check asks of a faster
    grid (``CounterConfig.beat_recheck_hit_ratio``; of the places where anything was heard between two beats),
    from the set's first beat, the sound nearest each halfway place is
    a rep too (and one is inferred where none is heard): see ``RopeBeatTracker``, *Strides*."""
    thud_k_mad: float | None = None
    """``impact`` and ``discrete``: the detector also picks thuds the onset strength misses, ``thud_k_mad`` robust
    standard deviations over the thud band's recent level (``DetectorConfig.thud_k_mad``; None: not). A landing
    drill's contacts are thuds, and over broadband noise (a fan, an air conditioner) a soft landing's rise over all
    frequencies is lost in the noise's. Such a sound must rise ``CounterConfig.min_contrast_db`` in the thud band
    (``OnsetEvent.thud_db``) where another must over all frequencies, and it need not be ``min_above_floor_db``
    over the noise floor; but it is ``too-quiet`` when it is faint (``CounterConfig.faint_db`` under the recent
    reps): talk's voiced sounds rise under 250 Hz too, and a soft landing in noise is not that much softer."""
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
            thud_k_mad=3.0,
        ),
        DrillRule(
            "line-hops", "every two-foot landing over the line", "impact", min_interval_s=0.15, max_interval_s=2.0, two_foot=True,
            confirm_faint_opener=True, faint_needs_thud=True, thud_k_mad=3.0,
        ),
        DrillRule(
            "pogo", "every two-foot pogo landing", "impact", min_interval_s=0.15, max_interval_s=2.0, two_foot=True,
            confirm_faint_opener=True, faint_needs_thud=True, thud_k_mad=3.0,
        ),
        DrillRule(
            "jump-rope",
            "one landing per rope pass (single bounce); the rope's slap is rejected as rope",
            "rope",
            min_interval_s=0.12,
            max_interval_s=1.0,
            decision_delay_s=0.5,
            rebound=True,
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
            onset_candidate_k_mad=2.5,
            strides=True,
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
    docs/accuracy.md, "Synthetic sessions with exact truth")."""
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
    """``discrete``: ... when it is at least this much quieter than that landing, or, no louder than it, its low band
    holds ``thud_drop_db`` less of its loudness than the landing's does (``low_db - loudness_db``): a take-off
    scuffs, a landing thuds, and an automatic gain control, turning the take-off up in the quiet before it, can
    bring it within 3 dB of the landing."""
    background_db: float = 3.0
    """``impact`` and ``discrete``: a sound ``faint_db`` quieter than the recent reps is the room's
    (``background``: music's drums), not a contact, when it keeps the steady beat of two earlier faint sounds
    within this much of its loudness that were not reps (nor ``too-quiet``: the athlete's own faint landings
    are, and must not make a beat that would reject the next) ... (``rope``: a rhythm found after a set,
    see ``RopeBeatTracker._was_going``.)"""
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
    rebound_drop_db: float = 6.0
    """``rope``, single bounce (``DrillRule.rebound``): how far under the other half of a beat's clusters
    (their medians; as ``faint_db``) every other one must be to be a double bounce's rope-less hop (see
    ``RopeBeatTracker._rebound_parity`` for the rest of the test)."""
    rebound_beats: int = 16
    """``rope``, single bounce: the recent beats judged for a double bounce while following (6 or more)."""
    slow_jump_beats: int = 12
    """``rope``, double-unders: how many recent beats one period apart (back from the last) a follower on every
    rope pass of a slow jump needs before its beat becomes every second sound, the landings (see
    ``RopeBeatTracker._slower_parity``). A real double-under's landing thud varies by 20 dB from jump to jump, and
    6 beats of it alternated by chance (``jumprope-double-under-4`` high-passed at 200 Hz)."""
    rebound_hops: int = 6
    """``rope``, single bounce: the places halfway between the recent beats looked at for a double bounce's hops
    in a set whose beat is the rope passes' already (for the sounds' reason only)."""
    beat_phase_louder_db: float = 6.0
    """``rope``, double-unders: at every beat, the grid half a period off becomes the beat when it finds
    sounds about as often and its clusters are this much louder, or as loud and thud this much more (the landing, where the
    beat followed the jump's mid-air click)."""


class RepCounter:
    """Turns a stream of :class:`OnsetEvent` into reps and rejections for one drill."""

    def __init__(self, drill: str, sample_rate: int, config: CounterConfig | None = None) -> None:
        if drill not in DRILL_RULES:
            raise ValueError(f"unknown drill {drill!r}; choose one of: {', '.join(DRILLS)}")
        self.rule = DRILL_RULES[drill]
        self.config = config or CounterConfig()
        self.sample_rate = int(sample_rate)
        self.reps: list[Rep] = []
        self._set_summaries: dict[int, SetSummary] = {}  # by set number, while the set has that many reps
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
        self._new_sets_from: list[int] = []  # samples from which a new set was asked for, not yet begun
        self._last_lone: OnsetEvent | None = None  # the last sound rejected as lone
        self.on_rep: Callable[[Rep], int | None] | None = None
        """Called with each rep as it is counted; a sample it returns starts a new set from there (a session plan's
        target rep: the reps decided with it, after it, are the next set's)."""

    # ---------------------------------------------------------------- public
    def feed(self, event: OnsetEvent) -> list[Rep | Rejected]:
        """Take one event (in time order); return the decisions now final."""
        # a candidate under the detector's threshold is no machine's hit: a noisy room gives many at that level,
        # and fed to the machine-beat check they hid a metronome's beat (measured: docs/accuracy.md, rope grid)
        machine = self._machine.feed(event.sample, event.loudness_db) if not event.candidate else []
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

    def start_new_set(self, from_sample: int = 0) -> None:
        """The first rep at or after ``from_sample`` starts a new set (the athlete or coach said so, at that sample;
        0: the next rep). A rep heard before it and decided after it stays in the set it belongs to.

        A rope drill keeps its beat tracker: the sounds it holds undecided are decided as they would have been
        (a new tracker would lose them), a rhythm that goes on is still followed, and a rest ends its beat as
        any rest does."""
        self._new_sets_from.append(int(from_sample))

    def forget_loudness(self) -> None:
        """Judge the next sounds as the first reps are judged, with no recent reps to be louder or fainter than: the
        athlete is about to land differently on purpose (a calibration's next step)."""
        self._rep_loudness.clear()
        self._rep_thud.clear()

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

    def _new_rope(self) -> RopeBeatTracker | None:
        return RopeBeatTracker(self.rule, self.config, self.sample_rate, self._machine_sounds) if self.rule.kind == "rope" else None

    def set_summaries(self) -> list[SetSummary]:
        """One summary per set, in order. A set's summary is made again only once it has more reps (reps are never
        changed or taken back), so a session that asks often does not summarise every finished set each time."""
        out = []
        by_set: dict[int, list[Rep]] = {}
        for r in self.reps:
            by_set.setdefault(r.set_number, []).append(r)
        for n, reps in sorted(by_set.items()):
            summary = self._set_summaries.get(n)
            if summary is None or summary.reps != len(reps):
                summary = self._set_summaries[n] = _summarise_set(n, reps)
            out.append(summary)
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
        if ev.thud_db is None:  # found by the onset strength: its rise over all frequencies, and over the floor
            quiet = ev.contrast_db < cfg.min_contrast_db or ev.loudness_db - ev.floor_dbfs < cfg.min_above_floor_db
        else:  # found by its thud alone: the thud band's rise
            quiet = ev.thud_db < cfg.min_contrast_db
        if ev.candidate or quiet:
            return "too-quiet"  # (a candidate for a rope follower, still in flight at a drill change)
        if ev.thud_db is not None and self._rep_loudness and self._is_faint(ev):
            return "too-quiet"  # (talk rises under 250 Hz too; a soft landing is not that much softer)
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
                if lo <= gap <= hi and later.contrast_db >= cfg.min_contrast_db and (
                    later.loudness_db >= ev.loudness_db + cfg.takeoff_drop_db
                    or (later.loudness_db >= ev.loudness_db and _thud_share(later) >= _thud_share(ev) + cfg.thud_drop_db)
                ):
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
        return _thud_share(ev) >= statistics.median(self._rep_thud) - self.config.thud_drop_db

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
        if self._last_rep_sample is None or any(ev.sample >= s for s in self._new_sets_from):
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
            self._new_sets_from = [s for s in self._new_sets_from if s > ev.sample]
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
            self._rep_thud.append(_thud_share(ev))
        if self.on_rep is not None and (split := self.on_rep(rep)) is not None:
            self.start_new_set(split)
        return rep


MIN_CV_INTERVALS = 3
"""Fewest intervals whose coefficient of variation is reported."""


def _thud_share(ev: OnsetEvent) -> float:
    """How much of a sound's loudness its low band holds, dB (``low_db - loudness_db``; 0: all of it)."""
    return ev.low_db - ev.loudness_db


def interval_cv(values: list[float]) -> float | None:
    """Coefficient of variation of intervals: population standard deviation over mean; None with fewer than
    :data:`MIN_CV_INTERVALS` values."""
    if len(values) < MIN_CV_INTERVALS:
        return None
    mean = math.fsum(values) / len(values)
    # (two passes in floats, each sum exactly rounded: statistics.pstdev's exact fractions cost 1 ms per 1000 values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values)) / mean if mean > 0 else None


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
