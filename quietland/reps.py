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

import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np

from .events import OnsetEvent, Rejected, Rep, SessionSummary, SetSummary


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
    passes_per_rep: int = 1
    """Rope passes per rep (2 for double-unders: a rep is a jump)."""
    min_interval_s: float = 0.12
    """Shortest plausible time between two contacts (or rope passes)."""
    max_interval_s: float = 2.0
    """Longest time between contacts that is still the same set's rhythm."""
    decision_delay_s: float = 0.0
    """Most audio after an event the rule may wait for before deciding it."""


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
        ),
        DrillRule("line-hops", "every two-foot landing over the line", "impact", min_interval_s=0.15, max_interval_s=2.0),
        DrillRule("pogo", "every two-foot pogo landing", "impact", min_interval_s=0.15, max_interval_s=2.0),
        DrillRule(
            "jump-rope",
            "one landing per rope pass (single bounce); the rope's slap is rejected as rope",
            "rope",
            min_interval_s=0.12,
            max_interval_s=1.0,
            decision_delay_s=0.5,
        ),
        DrillRule(
            "jump-rope-alternate",
            "every foot contact of alternate-foot speed step (one rope pass each)",
            "rope",
            min_interval_s=0.12,
            max_interval_s=1.0,
            decision_delay_s=0.5,
        ),
        DrillRule(
            "jump-rope-double-under",
            "one rep per jump; the rope clicks about twice per jump",
            "rope",
            passes_per_rep=2,
            min_interval_s=0.09,
            max_interval_s=0.5,
            decision_delay_s=0.5,
        ),
    )
}
DRILLS: tuple[str, ...] = tuple(DRILL_RULES)


@dataclass(frozen=True)
class CounterConfig:
    """Rep-logic settings shared by the drills, in physical units."""

    merge_ms: float = 60.0
    """Events this soon after a contact belong to it (ringing, a second foot, the rope at the feet)."""
    min_contrast_db: float = 6.0
    """An impact must be this much louder than the 50 ms before it (``impact`` and ``discrete`` drills)."""
    min_above_floor_db: float = 10.0
    """An impact's loudness must be this far above the running noise floor (``impact`` and ``discrete`` drills)."""
    first_strength_db: float = 3.0
    """With no rep yet to compare against, the first impact's onset strength must clear the detector's threshold by this much."""
    relative_floor_db: float = 15.0
    """An impact more than this far below the recent reps' median loudness is too quiet."""
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
    beat_tolerance: float = 0.35
    """``rope``: a pass may land this fraction of the period early or late."""
    beat_timing_db: float = 6.0
    """``rope``: choosing the pass in a beat window, loudness (dB) minus this much per period of timing error."""
    beat_start_strength_db: float = 2.0
    """``rope``: with no beat yet, an event needs this onset strength (or the impact contrast) to start one."""


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
        self._rope = _RopeTracker(self.rule, self.config, self.sample_rate) if self.rule.kind == "rope" else None
        # rhythm book
        self._set_number = 0
        self._rep_in_set = 0
        self._set_intervals: deque[float] = deque(maxlen=self.config.rhythm_window)
        self._last_rep_sample: int | None = None
        self._force_new_set = False

    # ---------------------------------------------------------------- public
    def feed(self, event: OnsetEvent) -> list[Rep | Rejected]:
        """Take one event (in time order); return the decisions now final."""
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

    def start_new_set(self) -> None:
        """The next rep starts a new set (the athlete or coach said so)."""
        self._force_new_set = True
        if self._rope is not None:
            self._rope = _RopeTracker(self.rule, self.config, self.sample_rate)

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
        self._rope = _RopeTracker(self.rule, self.config, self.sample_rate) if self.rule.kind == "rope" else None
        self.start_new_set()
        return out

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
        loud = [r.loudness_db for r in self.reps]
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
            interval_cv=_cv(steady),
            median_loudness_db=statistics.median(loud) if loud else None,
            loudest_loudness_db=max(loud) if loud else None,
        )

    # ----------------------------------------------------- impact / discrete
    def _decide(self, now: int | None) -> list[Rep | Rejected]:
        delay_n = int(self.rule.decision_delay_s * self.sample_rate)
        decisions: list[tuple[OnsetEvent, str | None]] = []
        while self._pending:
            ev = self._pending[0]
            if now is not None and ev.sample + delay_n > now:
                break
            self._pending.pop(0)
            decisions.append((ev, self._classify(ev)))
        return self._record(decisions)

    def _classify(self, ev: OnsetEvent) -> str | None:
        """Reason the (oldest pending) event is not a rep, or None for a rep."""
        cfg = self.config
        last = self._last_contact
        if last is not None and ev.sample - last.sample < self._merge_n:
            return "echo"
        if ev.contrast_db < cfg.min_contrast_db or ev.loudness_db - ev.floor_dbfs < cfg.min_above_floor_db:
            return "too-quiet"
        if self._rep_loudness:
            if ev.loudness_db < statistics.median(self._rep_loudness) - cfg.relative_floor_db:
                return "too-quiet"
        elif ev.strength_db < cfg.first_strength_db:
            return "too-quiet"
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
                len(self._set_intervals) >= 2
                and dt < cfg.off_beat_fraction * statistics.median(self._set_intervals)
                and ev.loudness_db < statistics.median(self._rep_loudness) - cfg.off_beat_drop_db
            ):
                return "off-beat"
        return None

    # ---------------------------------------------------------- rhythm book
    def _record(self, decisions: list[tuple[OnsetEvent, str | None]]) -> list[Rep | Rejected]:
        out: list[Rep | Rejected] = []
        for ev, reason in decisions:
            if reason is None:
                out.append(self._add_rep(ev))
            else:
                rej = Rejected(ev, reason)
                self.rejected.append(rej)
                out.append(rej)
        return out

    def _add_rep(self, ev: OnsetEvent) -> Rep:
        cfg = self.config
        sr = self.sample_rate
        interval_s = None if self._last_rep_sample is None else (ev.sample - self._last_rep_sample) / sr
        med = statistics.median(self._set_intervals) if self._set_intervals else None
        per_rep_max = self.rule.max_interval_s * self.rule.passes_per_rep
        new_set = (
            self._force_new_set
            or interval_s is None
            or interval_s > per_rep_max
            or (med is not None and len(self._set_intervals) >= 2 and interval_s > cfg.rest_factor * med)
        )
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
            ramp_in=self._rep_in_set <= cfg.ramp_in_reps,
        )
        self.reps.append(rep)
        self._last_rep_sample = ev.sample
        self._last_contact = ev
        self._rep_loudness.append(ev.loudness_db)
        return rep


class _RopeTracker:
    """Beat tracking for rope drills: one accepted event per rope pass.

    Each pass is expected one period ``T`` after the last (``T`` = running median
    of recent pass intervals). Once the stream passes ``last + (1 + tol) * T``, the
    events inside ``[last + (1 - tol) * T, last + (1 + tol) * T]`` are judged:
    the one with the best ``loudness_db - beat_timing_db * |dt - T| / T`` is the pass (the
    feet land louder than the rope slaps); the others are rope noise. Events before the
    window are the same pass's extra sounds (``rope``). With no beat yet (start of a set)
    the loudest event of a salient group (``merge_ms``) starts one. For double-unders the
    passes alternate landing and mid-air click; the louder parity is the landing.
    """

    def __init__(self, rule: DrillRule, config: CounterConfig, sample_rate: int) -> None:
        self.rule = rule
        self.config = config
        self.sr = sample_rate
        self._events: list[OnsetEvent] = []  # undecided, in order
        self._last: OnsetEvent | None = None  # last pass
        self._intervals: deque[float] = deque(maxlen=8)  # pass intervals, s
        self._pass_loud: deque[tuple[int, float]] = deque(maxlen=12)  # (parity, loudness)
        self._pass_index = 0  # passes in the current set, counting missed ones
        self._prev_was_rep = False
        self._held: tuple[OnsetEvent, int] | None = None  # double-under pass waiting for its verdict, with its parity

    def _period(self) -> float | None:
        return statistics.median(self._intervals) if len(self._intervals) >= 2 else None

    def feed(self, ev: OnsetEvent) -> list[tuple[OnsetEvent, str | None]]:
        self._events.append(ev)
        return self.advance(ev.sample)

    def advance(self, now: int) -> list[tuple[OnsetEvent, str | None]]:
        out: list[tuple[OnsetEvent, str | None]] = []
        while True:
            step = self._step(now)
            if step is None:
                return out
            out.extend(step)

    def finish(self) -> list[tuple[OnsetEvent, str | None]]:
        return self.advance(10**18) + self._release_held()

    def _step(self, now: int) -> list[tuple[OnsetEvent, str | None]] | None:
        """Make one decision if the clock allows; None when nothing more can be decided yet."""
        if not self._events:
            return None
        cfg = self.config
        sr = self.sr
        T = self._period()
        first = self._events[0]
        if self._last is None or T is None:
            # no beat yet: wait a little to compare neighbours, take the most salient early event
            horizon = first.sample + int(cfg.merge_ms * sr / 1000.0)
            if now < horizon:
                return None
            if self._last is not None and first.sample - self._last.sample < self.rule.min_interval_s * sr:
                self._events.pop(0)
                return [(first, "rope")]
            if first.strength_db < cfg.beat_start_strength_db and first.contrast_db < cfg.min_contrast_db:
                self._events.pop(0)
                return [(first, "too-quiet")]
            if self._last is not None and first.sample - self._last.sample > self.rule.max_interval_s * sr:
                self._intervals.clear()
            group = [e for e in self._events if e.sample < horizon]
            best = max(group, key=lambda e: e.loudness_db)
            out = [(e, "rope") for e in group if e is not best and e.sample < best.sample]
            self._events = [e for e in self._events if e.sample > best.sample]
            return out + self._accept(best)
        last = self._last.sample
        lo = last + int((1.0 - cfg.beat_tolerance) * T * sr)
        hi = last + int((1.0 + cfg.beat_tolerance) * T * sr)
        if first.sample < lo:
            self._events.pop(0)
            return [(first, "rope")]
        if first.sample > hi:
            # the beat was missed or the set stopped
            gap = (first.sample - last) / sr
            if gap > max(self.rule.max_interval_s, cfg.rest_factor * T):
                self._intervals.clear()
                out = self._release_held()
                self._pass_index = 0
                self._pass_loud.clear()
                self._prev_was_rep = False
                return out
            # a missed pass: step the beat on by one period
            self._last = _virtual(self._last, last + int(T * sr))
            self._pass_index += 1
            return []
        if now < hi:
            return None
        window = [e for e in self._events if lo <= e.sample <= hi]
        best = max(window, key=lambda e: e.loudness_db - cfg.beat_timing_db * abs((e.sample - last) / sr - T) / T)
        out = [(e, "rope") for e in window if e is not best]
        self._events = [e for e in self._events if e.sample > hi]
        return out + self._accept(best)

    def _accept(self, ev: OnsetEvent) -> list[tuple[OnsetEvent, str | None]]:
        if self._last is not None:
            dt = (ev.sample - self._last.sample) / self.sr
            if dt <= self.rule.max_interval_s:
                self._intervals.append(dt)
        self._last = ev
        if self.rule.passes_per_rep == 1:
            return [(ev, None)]
        # double-under: passes alternate landing and mid-air; decide a pass once the next is heard
        out = self._release_held()
        self._held = (ev, self._pass_index % 2)
        self._pass_loud.append((self._pass_index % 2, ev.loudness_db))
        self._pass_index += 1
        return out

    def _release_held(self) -> list[tuple[OnsetEvent, str | None]]:
        """Decide the held double-under pass: a rep when its parity is the louder one and the pass before was not a rep."""
        if self._held is None:
            return []
        ev, parity = self._held
        self._held = None
        same = [v for p, v in self._pass_loud if p == parity]
        other = [v for p, v in self._pass_loud if p != parity]
        louder = not other or float(np.median(same)) >= float(np.median(other))
        is_rep = louder and not self._prev_was_rep
        self._prev_was_rep = is_rep
        return [(ev, None if is_rep else "rope")]


def _virtual(ev: OnsetEvent, sample: int) -> OnsetEvent:
    """A stand-in for a pass the detector did not hear (used only to keep the beat)."""
    from dataclasses import replace

    return replace(ev, sample=sample)


def _cv(values: list[float]) -> float | None:
    if len(values) < 3:
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
        interval_cv=_cv(steady),
        median_loudness_db=statistics.median([r.loudness_db for r in reps]),
    )
