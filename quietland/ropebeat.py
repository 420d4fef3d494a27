"""Beat tracking for the rope drills: which sounds are the athlete's contacts, on a rope's steady beat.

Why it exists: a rope drill's contacts are faint, sharp and quick (130 ms apart at the fastest), and the rope
slaps the floor beside each of them; what sets a contact apart is its place on the rhythm, not its loudness.
:class:`RopeBeatTracker` finds the beat, follows it and checks its period and phase, and tells
:class:`quietland.reps.RepCounter` for each sound whether it is a rep, ``rope`` or another reason, and which
reps the beat implies with no sound heard (:data:`INFERRED`). numpy only; no I/O.
"""
from __future__ import annotations

import bisect
import itertools
import statistics
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .events import OnsetEvent

if TYPE_CHECKING:
    from .reps import CounterConfig, DrillRule


class RopeBeatTracker:
    """Beat tracking for rope drills: one beat per rep (a contact, or a jump for double-unders).

    The settings named below are :class:`quietland.reps.CounterConfig`'s, those with ``rule.`` the drill's
    :class:`quietland.reps.DrillRule`'s.

    A sound's salience is ``strength_db + click_weight_db * (click_share + air_share) / 2``
    (the rope and the shoes give sharp, high-band clicks; above 6 kHz, where voice and music
    hardly reach, they count twice). A beat is timed by its most salient sound; the rep
    is the loudest sound within ``merge_ms`` of it (the feet land louder than the rope slaps);
    every other sound is ``rope``.

    *Finding the beat.* With no beat, once ``beat_search_s`` of sound has arrived after the
    first sound that can start a rhythm (the opener: over the detector's threshold, no candidate under it
    (``rule.onset_candidate_k_mad``), and ``beat_start_above_floor_db`` above the noise
    floor; the quieter sounds before it wait for it, up to ``beat_search_s``; and, but for double-unders,
    within ``faint_db`` of the third loudest such sound in the ``beat_search_s`` after it: the drums of
    music before the set's first contact are no opener; when the tempo found there is so slow that
    ``beat_min_hits`` of its beats, 8% slower, do not fit in it, the search waits for as much sound as they take
    and is made over all of it), the sounds that take
    part in the search are those that could start one too and those within ``beat_drop_db`` of the
    opener's salience (as following asks of a beat: a contact as sharp as the opener, whose loudness
    the room's noise or music hides). The period is the one their inter-onset intervals agree on (see
    :meth:`_tempo`); periods within 8% of it are tried on grids anchored at each sound of the
    first period; each grid beat takes the most salient sound within ``max(25 ms, tol * T)``
    (for double-unders a click that a thud follows counts ``rule.landing_weight_db`` more: the
    landing's, where a grid on the jumps' other click would do as well).
    The grid with the best ``sum(salience) - beat_miss_db * misses`` wins if at least
    ``beat_min_hits`` beats and ``beat_min_hit_ratio`` of them matched (and ``beat_min_hits`` with sounds over the
    detector's threshold: candidates fill a rhythm in, they do not make one); otherwise the first
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
    last real beat. A sound between the expected beats is ``rope``; but while beats are inferred,
    one that could confirm them waits (and the sounds after it): the athlete may have tripped, and it
    may be the first contact of the restart, which the search then takes; a beat that confirms the
    inferred ones decides it ``rope``.

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
    ``beat_phase_louder_db`` louder, or as loud and thud that much more, the beat moves onto it (the follower was on the
    mid-air click; the landing is the louder, or the one with the feet's thud). Before that, at every beat too, a double-under beat on every second jump halves
    (:meth:`_jumps_between`): jumps that alternate a louder and a quieter landing put twice the jump's period
    inside the drill's range, and a grid there keeps finding sounds; the rigid grid at half the period, laid
    back every ``beat_recheck_beats`` beats, drifts off the jumps of a beat whose period was measured on a few
    uneven beats (a set's first), where the places halfway between the beats actually found do not. A slow
    jump's halfway sound is the rope's mid-air pass, no landing: it must thud as the beats do.

    *Strides* (``rule.strides``: alternate foot). The feet take turns and one often lands fainter or less evenly,
    so the beat may settle on every second contact, where the half-period grid, laid rigidly back from the last
    beat with half the tolerance, misses the uneven steps and the period check keeps the stride. At every real
    beat, when half the period is within the drill's range and ``beat_recheck_hit_ratio`` of the places halfway
    between two real beats one period apart (over the period check's span) hold a sound a beat could
    be within the half period's tolerance, the beat is a stride. The halfway places lie on the straight line
    through those beats, not at the midpoint of each two: a contact often sounds twice (the rope's slap, the
    foot), about as sharply, so the beat slips from one of a contact's sounds to the other, and a midpoint moves
    by half that slip, out of the half period's tolerance. Only the places with a sound a beat could be somewhere
    between the two beats' clusters are judged (4 or more): where nothing at all was heard between them, the
    other foot's contact went unheard, as a beat's may, and is no sign that the beat is not a stride. At each
    halfway place (half a period along that line from the last beat, within the half period's tolerance of
    its midpoint) the sound nearest it that a beat could be counts (its cluster's loudest), and with none a rep
    is inferred there once a real beat follows; after an inferred beat, the sound nearest the halfway place waits
    for that real beat too (with none, the set's end leaves it to the next search). A search asks the same of the beats it found (the
    places halfway between them, after its inferred beats too): a set found on strides counts them from its
    first beat. It stays a stride until more than ``beat_max_missing`` halfway places in a row hold no such
    sound (as a set ends), the period moves, or the set ends.

    *A double bounce* (``rule.rebound``: single bounce). A beginner hops once more between two rope
    passes, with no rope under the feet. When every other one of a found rhythm's beats, or of the
    follower's last ``rebound_beats`` beats one period apart (6 or more, at every beat), is a hop (see
    :meth:`_rebound_parity`), the beat becomes every second sound, on the louder ones (within the drill's
    range), and a sound in the middle half between two of its beats, as loud as a contact must be, is
    ``rebound``. While such a set goes on, no faster beat is taken where the sounds halfway between its
    beats stay ``rebound_drop_db`` under them. A set found at the passes' pace is a double bounce's too
    once the places halfway between its beats hold hops (:meth:`_note_hops`).

    *A slow double-under* (a jump of 0.5 s or longer). Its two rope passes come about half a jump apart, inside
    the drill's range of beats, and a beat found on every pass counted each jump twice. When every other one
    of a found rhythm's beats, or of the follower's last ``slow_jump_beats`` beats one period apart, is a landing
    whose cluster thuds ``beat_phase_louder_db`` more than the passes' (medians; and every one of them more
    than every pass), the beat becomes the landings (see :meth:`_slower_parity`); while it goes on, no faster
    beat is taken where the sounds halfway between its beats thud that much less (:meth:`_half_beats_apart`).
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
        self._rebound = False  # the set is a double bounce: the sounds halfway between its beats are rebounds
        self._history: deque[tuple[int, float]] = deque(maxlen=config.rebound_beats)  # recent real beats: sample, loudness
        self._between_missing = 0  # strides: halfway places in a row with no sound
        self._stride = False  # alternate foot: the beat is a stride, a contact halfway between two beats is a rep too
        self._between_at: int | None = None  # the beat whose halfway place after it is decided
        self._between_inferred: list[int] = []  # strides: halfway places with no sound, waiting for a real beat
        self._between_held: list[int] = []  # strides: halfway contacts after inferred beats, undecided till a real beat
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
        self._between_held = [s for s in self._between_held if s not in gone]
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
        self._between_inferred = []
        self._between_held = []
        return out

    # ------------------------------------------------------------- internals
    def _step(self, now: int, final: bool) -> list[tuple[OnsetEvent, str | None]] | None:
        out = self._search(now, final) if self._period is None else self._follow(now, final)
        if out is None:
            return None
        machine = [(e, "background" if r is not None and r != INFERRED and e.sample in self._machine else r) for e, r in out]
        return sorted(machine, key=lambda d: d[0].sample)

    def _take_beat(
        self, beat: OnsetEvent, upto: float, prev: float | None, contacts: frozenset[int] = frozenset(),
    ) -> list[tuple[OnsetEvent, str | None]]:
        """Decide every undecided sound up to ``upto`` (and the beat's own cluster): the beat's loudest is the rep;
        ``prev`` is the beat before (None: none). ``contacts``: samples of sounds already chosen as reps of their
        own (a stride's halfway contacts), reps too and never part of the beat's cluster."""
        cluster = [e for e in self._live() if abs(e.sample - beat.sample) <= self._merge and e.sample not in contacts]
        rep = max(cluster, key=lambda e: e.loudness_db)
        end = max(upto, max(e.sample for e in cluster))
        taken = [e for e in self._events if e.sample <= end]
        self._events = [e for e in self._events if e.sample > end]
        return [
            (e, None if e is rep or e.sample in contacts else self._off_beat_reason(e, prev, beat.sample)) for e in taken
        ]

    def _note_beat(self, beat: OnsetEvent) -> None:
        """Keep a real beat's salience, sample and cluster loudness for the checks that judge the recent beats."""
        loud = self._loudness(beat)
        self._sal.append(self._salience(beat))
        self._beat_at.append(beat.sample)
        self._loud.append(loud)
        self._history.append((beat.sample, loud))

    def _loudest_near(self, at: float, tol: float) -> OnsetEvent | None:
        """The recent sound within ``tol`` of sample ``at`` whose cluster is the loudest (None: no sound there)."""
        near = self._recent_near(at, tol)
        return max(near, key=self._loudness) if near else None

    def _recent_near(self, at: float, tol: float) -> list[OnsetEvent]:
        """The recent sounds within ``tol`` of sample ``at``, in time order (found by bisection, not by a scan:
        the recent sounds are in time order)."""
        recent = self._recent
        i = bisect.bisect_left(recent, at - tol, key=_sample)
        near = []
        while i < len(recent) and recent[i].sample <= at + tol:
            near.append(recent[i])
            i += 1
        return near

    def _recent_event(self, sample: int) -> OnsetEvent | None:
        """The recent sound at ``sample`` (None: none, or forgotten); the recent sounds are in time order."""
        i = bisect.bisect_left(self._recent, sample, key=_sample)
        return self._recent[i] if i < len(self._recent) and self._recent[i].sample == sample else None

    def _off_beat_reason(self, ev: OnsetEvent, prev: float | None, beat: float) -> str:
        """``rebound`` for a sound of a double bounce's set in the middle half of the way from beat ``prev`` to
        beat ``beat`` (samples) whose cluster is as loud as a contact must be (``relative_floor_db`` under the
        recent beats'), ``rope`` otherwise."""
        if (
            self._rebound and prev is not None and abs(ev.sample - 0.5 * (prev + beat)) <= 0.25 * (beat - prev)
            and self._loudness(ev) >= self._quiet(self._loud)
        ):
            return "rebound"
        return "rope"

    def _rebound_parity(self, beat_no: Sequence[int], louds: Sequence[float]) -> int | None:
        """For a single bounce (``rule.rebound``), the parity of the beat numbers whose clusters are the rope
        passes, when the others are a double bounce's rope-less hops (louder by ``rebound_drop_db``, see
        :func:`_alternation`); None otherwise."""
        if not self.rule.rebound:
            return None
        return _alternation(beat_no, louds, self.cfg.rebound_drop_db)

    def _slower_parity(self, beat_no: Sequence[int], beats: Sequence[int], louds: Sequence[float]) -> int | None:
        """The parity of the beat numbers (of ``beats``, samples) that are the drill's beat when the beat found is twice as
        fast (``louds``: their clusters' loudness), or None: a single bounce's double bounce (:meth:`_rebound_parity`), or
        the rope passes of double-unders, every other one a landing whose cluster thuds (:meth:`_thud`)
        ``beat_phase_louder_db`` more than the mid-air passes' (medians), and every one more than every pass
        (see :func:`_alternation`; the thud of a real double-under's landings varies by 20 dB from jump to
        jump, and a few of them can alternate by chance). A slow double-under
        (a jump 0.5 s or longer) passes the rope about every 0.25 s, inside the drill's range of beats."""
        if self.rule.landing_weight_db:
            events = [e for e in map(self._recent_event, beats) if e is not None]
            if len(events) < len(beats):
                return None  # (a beat the follower no longer holds: nothing to judge its thud by)
            return _alternation(beat_no, [self._thud(e) for e in events], self.cfg.beat_phase_louder_db, apart=True)
        return self._rebound_parity(beat_no, louds)

    def _search(self, now: int, final: bool) -> list[tuple[OnsetEvent, str | None]] | None:
        if not self._events:
            return None
        cfg, sr = self.cfg, self.sr
        search = cfg.beat_search_s * sr
        live = self._live()
        # (a candidate under the detector's threshold opens no search: see rule.onset_candidate_k_mad)
        opener = next((e for e in live if e.sample >= self._search_from and not e.candidate and self._can_start(e)), None)
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
        while True:
            cands = [
                e for e in live
                if opener.sample <= e.sample <= horizon and (self._can_start(e) or self._salience(e) >= floor)
            ]
            if len(cands) < cfg.beat_min_hits:
                return self._reject_through(opener)
            times = np.array([e.sample for e in cands], dtype=float)
            sal = np.array([self._salience(e) for e in cands])
            tempo = self._tempo(times, sal)
            if tempo is None:
                return self._reject_through(opener)
            # a slow beat (a rope turned once a second) has fewer than beat_min_hits beats in beat_search_s: its
            # grids are judged over as long as that many of its slowest take, once that much sound is in
            slow = opener.sample + (cfg.beat_min_hits - 1) * 1.08 * tempo + self._tol(tempo)
            if slow <= horizon:
                break
            if not final and now < slow + self._merge:
                return None
            horizon = slow
        grid_sal = np.array([self._phase_salience(e) for e in cands])
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
        # the candidates under the detector's threshold fill a rhythm in, they do not make one: without them, the
        # grid must still match beat_min_hits sounds
        if sum(not cands[j].candidate for j in matched) < cfg.beat_min_hits:
            return self._reject_through(opener)
        # single bounce: a beat whose every other cluster is far quieter is a double bounce's, the rope passes
        # the louder half; double-unders: one whose every other cluster holds no thud is on every rope pass, the
        # landings the other half (either way the beat's period becomes twice the grid's, within the drill's range)
        rebound = False
        if 2 * best[4] <= self.rule.max_interval_s * sr * 1.08:
            parity = self._slower_parity(beat_no, [cands[j].sample for j in matched], [self._loudness(cands[j]) for j in matched])
            if parity is not None:
                keep = [i for i, b in enumerate(beat_no) if b % 2 == parity]
                matched, beat_no = [matched[i] for i in keep], [(beat_no[i] - parity) // 2 for i in keep]
                rebound = bool(self.rule.rebound)
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
        self._rebound = rebound  # (only a search that starts a set says what kind of set it is)
        out: list[tuple[OnsetEvent, str | None]] = []
        beats = self._backfill([cands[j] for j in matched], period)
        # strides (alternate foot): a set found on every second contact counts the halfway ones from its start
        floor = self._salient([self._salience(b) for b in beats])
        self._stride = self._strides_at([b.sample for b in beats], period, floor, quiet)
        self._between_missing = 0
        lead = None  # a stride's contact half a period before its first beat: the set began on the other foot
        if self._stride:
            first = beats[0].sample
            cluster = self._halfway_contact(
                first - 0.5 * period, first - period + self._merge, first - self._merge, floor, quiet, period
            )
            lead = max(cluster, key=lambda e: e.loudness_db) if cluster else None
        prev: int | None = None
        for beat in beats:
            if beat not in self._events:
                continue  # already inside the previous beat's cluster
            if prev is not None:
                k = max(1, int(round((beat.sample - prev) / period)))
                for m in range(1, k):
                    out.append((_inferred_event(beat, int(round(prev + m * (beat.sample - prev) / k))), INFERRED))
                step = (beat.sample - prev) / k
                for m in range(k if self._stride else 0):  # the halfway places after each beat, real or inferred
                    self._last, self._period = int(round(prev + m * step)), period
                    before = int(round(prev + (m + 1) * step)) - self._merge
                    out.extend(self._take_between(self._halfway_after(self._last, step), before, floor, quiet))
                out.extend((_inferred_event(beat, x), INFERRED) for x in self._between_inferred)
                self._between_inferred = []
                self._intervals.append((beat.sample - prev) / k)
            self._note_beat(beat)
            own = frozenset([lead.sample]) if lead is not None and prev is None else frozenset()
            out.extend(self._take_beat(beat, beat.sample, prev, own))
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
        # row n: each sound's distance from beat n, and its pull there (the first best of those within tolerance)
        d = np.abs(times[None, :] - (anchor + np.arange(n_beats)[:, None] * period))
        near = d <= tol
        pull = np.where(near, grid_sal[None, :] - cfg.beat_timing_db * d / period, -np.inf)
        best = np.argmax(pull, axis=1).tolist()
        heard = near.any(axis=1).tolist()
        matched: list[int] = []
        beat_no: list[int] = []
        score = 0.0
        for n in range(n_beats):
            if heard[n]:
                j = best[n]
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
            x = lags[None, :] - at[:, None]  # (in place from here: the same sums, without a new array a step)
            x /= cfg.beat_ioi_spread * at[:, None]
            np.square(x, out=x)
            x *= -0.5
            np.exp(x, out=x)
            x *= weights[None, :]
            return np.sum(x, axis=1)

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
        floor = self._salient(self._sal)
        quiet = self._quiet(self._loud)
        # after inferred beats, only a sound about as loud as the rhythm's beats confirms that it went on
        confirm = self._quiet(self._loud, cfg.beat_confirm_db) if self._inferred else quiet
        # strides (alternate foot): the sound nearest the halfway place to the next beat is the other foot's contact
        if self._stride and self._between_at != last:
            mid, half_tol = self._halfway_after(last, period), self._tol(0.5 * period)
            first = next((e for e in self._events if e.sample not in self._between_held), None)
            if self._inferred or not (first is not None and first.sample < mid - half_tol):
                if not final and now < mid + half_tol + self._merge:
                    return None
                return self._take_between(mid, lo, floor, quiet)
        # a sound off the grid is the rope's; but while beats are inferred, one that could confirm them waits: the
        # rhythm may have stopped, and it may be the next set's first contact (``rope`` if a beat confirms them);
        # so does a halfway contact held after them
        if self._events and self._events[0].sample < lo and not (
            self._inferred
            and (self._events[0].sample in self._between_held or self._may_be_beat(self._events[0], floor, confirm))
        ):
            ev = self._events.pop(0)
            return [(ev, self._off_beat_reason(ev, last, expect))]
        if not final and now < hi + self._merge:
            return None
        window = [e for e in self._live() if lo <= e.sample <= hi and self._may_be_beat(e, floor, confirm)]
        if window:
            beat = self._nearest_salient(window, expect, period)
            held = sorted(self._inferred + self._between_inferred)
            out: list[tuple[OnsetEvent, str | None]] = [(_inferred_event(beat, x), INFERRED) for x in held]
            contacts = frozenset(self._between_held)
            self._between_inferred = []
            self._between_held = []
            k = len(self._inferred) + 1
            self._intervals.append((beat.sample - (last - (k - 1) * period)) / k)
            self._inferred = []
            self._note_beat(beat)
            out.extend(self._take_beat(beat, hi, last, contacts))
            self._last = beat.sample
            self._period = self._clamp(float(np.median(self._intervals)))
            # k > 1: contacts went missing, the athlete may have sped up; check now, on the recent beats only
            self._recheck_period(floor, quiet, after_missing=k > 1)
            self._check_strides(floor, quiet)
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
        for double-unders, at every beat the period stays, halve a beat on every second jump
        (:meth:`_jumps_between`), or else check the phase (:meth:`_recheck_phase`).

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
        if not after_missing and self._slower_for_rebounds():
            return
        self._note_hops()
        if self.rule.landing_weight_db:
            if self._jumps_between(span, floor, quiet):
                return
            self._recheck_phase(span, quiet)

    def _thud(self, ev: OnsetEvent) -> float:
        """How much of a sound's cluster (every sound within ``merge_ms``) is thud: its strongest low band (below
        250 Hz, ``OnsetEvent.low_db``) less its loudness, dB. The feet landing thud, the rope's passes click; the low
        band is there at any sample rate."""
        cluster = self._recent_near(ev.sample, self._merge) or [ev]
        return max(e.low_db for e in cluster) - self._loudness(ev)

    def _jumps_between(self, span: float, floor: float, quiet: float) -> bool:
        """Double-unders: halve the period when the beat is every second jump; whether it moved.

        Jumps that alternate a louder and a quieter landing put twice the jump's period within the drill's range,
        and a grid there keeps finding landings. Of the places halfway between two real beats one period apart
        over the ``span`` before the last beat (4 or more), when ``beat_recheck_hit_ratio`` hold a sound a beat
        could be (as following asks, within the half period's tolerance), their clusters thud about as the beats'
        do (:meth:`_thud`, medians, within ``beat_phase_louder_db``: landings, not the rope's mid-air passes,
        which a slow jump also has halfway), and the intervals from beat to such a sound to the next beat are
        within the drill's range (their median), the beat is every jump: the period becomes that median."""
        assert self._period is not None and self._last is not None
        period = self._period
        tol, half_tol = self._tol(period), self._tol(0.5 * period)
        beats = [b for b, _ in self._history if b >= self._last - span - tol]
        pairs = [(a, b) for a, b in zip(beats, beats[1:]) if abs(b - a - period) <= tol]
        if len(pairs) < 4:
            return False
        beat_thuds = [self._thud(e) for e in map(self._recent_event, beats) if e is not None]
        if not beat_thuds:
            return False
        thud = statistics.median(beat_thuds)
        sounds = [e for e in self._recent if self._may_be_beat(e, floor, quiet)]
        halves: list[float] = []
        thuds: list[float] = []
        for a, b in pairs:
            mid = 0.5 * (a + b)
            near = [e for e in sounds if abs(e.sample - mid) <= half_tol and a + self._merge < e.sample < b - self._merge]
            if near:
                contact = self._nearest_salient(near, mid, 0.5 * period)
                thuds.append(self._thud(contact))
                halves += [contact.sample - a, b - contact.sample]
        if len(thuds) < self.cfg.beat_recheck_hit_ratio * len(pairs):
            return False
        if statistics.median(thuds) < thud - self.cfg.beat_phase_louder_db:
            return False  # the rope's mid-air passes, not landings
        half = float(np.median(halves))
        if half < self.rule.min_interval_s * self.sr:
            return False
        self._period = self._clamp(half)
        self._intervals.clear()
        self._intervals.append(self._period)
        return True

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
            if (self.rule.rebound or self.rule.landing_weight_db) and self._half_beats_apart(span):
                break  # a double bounce's hops, or a slow double-under's mid-air passes, fill the half beats
            share = self._grid_share(period, span, sounds)
            if share is not None and share >= cfg.beat_recheck_hit_ratio and share >= current - 0.05:
                self._rebound = False
                self._stride = False
                self._period = period
                self._intervals.clear()
                self._intervals.append(period)
                return True
        return False

    def _take_between(self, mid: float, before: float, floor: float, quiet: float) -> list[tuple[OnsetEvent, str | None]]:
        """Strides: decide the sounds up to the halfway place ``mid`` (plus the half period's tolerance; samples)
        after the last beat: the loudest of the cluster of the one nearest it that a beat could be (as following asks) is a rep,
        the others ``rope``; with none, a rep is inferred at ``mid`` once a real beat follows (as inferred beats
        are). ``before``: the next beat's window starts. After inferred beats nothing is decided: the contact
        (or the inferred rep) waits for a real beat to confirm that the rhythm went on, and with none the set's
        end leaves its sounds to the next search."""
        assert self._last is not None and self._period is not None
        self._between_at = self._last
        half_tol = self._tol(0.5 * self._period)
        cluster = self._halfway_contact(mid, self._last + self._merge, before, floor, quiet, self._period)
        if not cluster:
            self._between_inferred.append(int(round(mid)))  # counted once a real beat confirms the stride went on
            self._between_missing += 1
            if self._inferred:
                return []
            taken = [e for e in self._events if e.sample <= mid + half_tol]
            self._events = self._events[len(taken) :]
            return [(e, "rope") for e in taken]
        self._between_missing = 0
        rep = max(cluster, key=lambda e: e.loudness_db)
        if self._inferred:
            self._between_held.append(rep.sample)
            return []
        end = max(mid + half_tol, cluster[-1].sample)
        taken = [e for e in self._events if e.sample <= end]
        self._events = self._events[len(taken) :]
        return [(e, None if e is rep else "rope") for e in taken]

    def _halfway_after(self, last: int, period: float) -> float:
        """Strides: the halfway place (samples) after the beat at ``last``: half a ``period`` on along the line
        through the recent real beats (those of the period check's span, see :meth:`_beat_line`), where the beat
        that slipped from one of a contact's sounds to the other does not move it by its slip; at most the half
        period's tolerance from ``last + period / 2`` (the plain halfway place with no such line)."""
        plain = last + 0.5 * period
        line = self._beat_line(self._span_beats(last, period), period)
        if line is None:
            return plain
        _, number, slope, at = line
        half_tol = self._tol(0.5 * period)
        return float(np.clip(at + slope * (number[-1] + 0.5), plain - half_tol, plain + half_tol))

    def _halfway_contact(
        self, mid: float, after: float, before: float, floor: float, quiet: float, period: float,
    ) -> list[OnsetEvent]:
        """Strides: the contact at the halfway place ``mid`` (samples; the stride ``period``): of the undecided sounds
        after ``after`` and before ``before`` (the beats' own clusters left out) within the half period's tolerance
        of it that a beat could be (as following asks), the one nearest it as a beat takes it; its cluster within
        those bounds, in order (its loudest is the rep), empty without one."""
        half_tol = self._tol(0.5 * period)
        inside = [e for e in self._live() if after < e.sample < before]
        window = [e for e in inside if abs(e.sample - mid) <= half_tol and self._may_be_beat(e, floor, quiet)]
        if not window:
            return []
        contact = self._nearest_salient(window, mid, 0.5 * period)
        return [e for e in inside if abs(e.sample - contact.sample) <= self._merge]

    def _check_strides(self, floor: float, quiet: float) -> None:
        """Strides (``rule.strides``): the beat is a stride while, of the places halfway between two real beats
        one period apart over the last ``beat_recheck_span_beats`` beats (at least ``beat_search_s``), on the line
        through them, those where a sound was heard between the two (4 or more) hold a sound a beat could be within
        the half period's tolerance at ``beat_recheck_hit_ratio`` of them, and half the period is within the
        drill's range (see :meth:`_strides_at`)."""
        if self._stride and self._between_missing <= self.cfg.beat_max_missing:
            return  # (it ends as a set does: at more than beat_max_missing halfway places in a row with no sound)
        self._between_missing = 0
        self._stride = False
        if self._period is None or self._last is None:
            return
        self._stride = self._strides_at(self._span_beats(self._last, self._period), self._period, floor, quiet)

    def _span_beats(self, last: int, period: float) -> list[int]:
        """The real beats (samples) of the period check's span before the beat at ``last`` (``beat_recheck_span_beats``
        periods, at least ``beat_search_s``, and a beat's tolerance), then ``last`` itself (a real beat, or one
        inferred)."""
        span = max(self.cfg.beat_search_s * self.sr, self.cfg.beat_recheck_span_beats * period)
        return [*(b for b, _ in self._history if last - span - self._tol(period) <= b < last), last]

    def _strides_at(self, beats: Sequence[int], period: float, floor: float, quiet: float) -> bool:
        """Whether ``beats`` (samples) are a stride's (see :meth:`_check_strides`): of the places halfway between two
        of them one ``period`` apart, on the line through them (:meth:`_beat_line`), those with a sound a beat could
        be anywhere between the two beats' clusters (4 or more) hold one within the half period's tolerance at
        ``beat_recheck_hit_ratio`` of them."""
        if not self.rule.strides or 0.5 * period < self.rule.min_interval_s * self.sr:
            return False
        line = self._beat_line(beats, period)
        if line is None:
            return False
        pairs, number, slope, at = line
        sounds = np.array([e.sample for e in self._recent if self._may_be_beat(e, floor, quiet)], dtype=float)
        half_tol = self._tol(0.5 * period)
        heard = hits = 0
        for i in pairs:
            between = sounds[(sounds > beats[i] + self._merge) & (sounds < beats[i + 1] - self._merge)]
            if between.size:  # (nothing between them at all: the other foot's contact went unheard)
                heard += 1
                hits += float(np.min(np.abs(between - (at + slope * (number[i] + 0.5))))) <= half_tol
        return heard >= 4 and hits >= self.cfg.beat_recheck_hit_ratio * heard

    def _beat_line(self, beats: Sequence[int], period: float) -> tuple[list[int], np.ndarray, float, float] | None:
        """The straight line through a stride's ``beats`` (samples, in order) in their beat numbers (the periods
        from one to the next, rounded, at least 1), fitted to the beats one period (within the beat tolerance) from
        a neighbour: a beat timed by a stray sound does not bend it. The indices of the first beat of each such
        pair, every beat's number, and the line's slope and value at beat number 0 (samples); None with fewer
        than 2 pairs."""
        tol = self._tol(period)
        pairs = [i for i, (a, b) in enumerate(zip(beats, beats[1:])) if abs(b - a - period) <= tol]
        if len(pairs) < 2:
            return None
        at = np.asarray(beats, dtype=float)
        number = np.concatenate([[0.0], np.cumsum(np.maximum(1.0, np.round(np.diff(at) / period)))])
        fit = sorted({j for i in pairs for j in (i, i + 1)})
        slope, start = np.polyfit(number[fit], at[fit], 1)
        return pairs, number, float(slope), float(start)

    def _half_beats_apart(self, span: float) -> bool:
        """Whether, on the grid of half the period over the ``span`` before the last beat (each of its beats
        taking the loudest cluster within its tolerance), the clusters between the current beats are of another
        kind than those on them (medians, 2 or more of each): for a single bounce, ``rebound_drop_db`` quieter
        (a double bounce's hops); for double-unders, ``beat_phase_louder_db`` less thud (:meth:`_thud`; the rope's
        mid-air passes of a slow jump). A faster beat would take them for contacts."""
        assert self._period is not None and self._last is not None
        half = 0.5 * self._period
        tol = self._tol(half)
        on: list[float] = []
        between: list[float] = []
        for m in range(int(span // half) + 1):
            cluster = self._loudest_near(self._last - m * half, tol)
            if cluster is not None:
                figure = self._loudness(cluster) if self.rule.rebound else self._thud(cluster)
                (between if m % 2 else on).append(figure)
        if len(on) < 2 or len(between) < 2:
            return False
        drop = self.cfg.rebound_drop_db if self.rule.rebound else self.cfg.beat_phase_louder_db
        return statistics.median(between) <= statistics.median(on) - drop

    def _note_hops(self) -> None:
        """Single bounce: a set whose beat was found at the rope passes' pace is a double bounce's (its sounds
        between beats ``rebound``) when 3 in 4 of the last ``rebound_hops`` places halfway between its beats hold
        a cluster as loud as a contact must be and ``rebound_drop_db`` under the recent beats' median (in a
        plain single bounce, 1 check in 1000 of the rope grid's finds that many)."""
        if not self.rule.rebound or self._rebound or len(self._loud) < self.cfg.rebound_hops:
            return
        assert self._period is not None and self._last is not None
        ref = statistics.median(self._loud)
        lo, hi = ref - self.cfg.relative_floor_db, ref - self.cfg.rebound_drop_db
        tol = self._tol(0.5 * self._period)
        held = 0
        for m in range(self.cfg.rebound_hops):
            near = self._loudest_near(self._last - self._period * (m + 0.5), tol)
            held += near is not None and lo <= self._loudness(near) <= hi
        if held >= 0.75 * self.cfg.rebound_hops:
            self._rebound = True

    def _slower_for_rebounds(self) -> bool:
        """Single bounce (``rule.rebound``) and double-unders: when every other one of the recent beats one period
        apart (back from the last, up to ``rebound_beats``; 6 or more, double-unders ``slow_jump_beats``) is a
        double bounce's hop, or a slow
        double-under's mid-air rope pass (:meth:`_slower_parity`), the beat becomes every second sound, on the
        louder ones (the landings); whether it moved."""
        assert self._period is not None and self._last is not None
        period = self._period
        slower = self.rule.rebound or self.rule.landing_weight_db
        if not slower or 2 * period > self.rule.max_interval_s * self.sr * 1.08:
            return False
        beats = list(self._history)
        start = len(beats) - 1
        while start > 0 and abs(beats[start][0] - beats[start - 1][0] - period) <= self._tol(period):
            start -= 1
        beats = beats[start:]
        if len(beats) < (self.cfg.slow_jump_beats if self.rule.landing_weight_db else 6):
            return False
        parity = self._slower_parity(range(len(beats)), [b for b, _ in beats], [x for _, x in beats])
        if parity is None:
            return False
        passes = [b for i, b in enumerate(beats) if i % 2 == parity]
        at = set(s for s, _ in passes)
        kept = [i for i, s in enumerate(self._beat_at) if s in at]
        sal, loud, beat_at = list(self._sal), list(self._loud), list(self._beat_at)
        self._sal = deque((sal[i] for i in kept), maxlen=self._sal.maxlen)
        self._loud = deque((loud[i] for i in kept), maxlen=self._loud.maxlen)
        self._beat_at = deque((beat_at[i] for i in kept), maxlen=self._beat_at.maxlen)
        self._history = deque(passes, maxlen=self._history.maxlen)
        if (len(beats) - 1) % 2 != parity:
            self._last = int(round(self._last - period))  # the last beat was a hop: the next rope pass is due next
        self._period = self._clamp(2 * period)
        self._intervals.clear()
        self._intervals.append(self._period)
        self._rebound = bool(self.rule.rebound)
        return True

    def _recheck_phase(self, span: float, quiet: float) -> None:
        """Double-unders: move the beat half a period when the grid half a period off finds sounds as often and
        its clusters (each beat's loudest) are ``beat_phase_louder_db`` louder, or as loud and thud that much
        more (:meth:`_thud`; medians over the ``span`` before the last beat): the follower was on the jumps'
        mid-air click, the landings are on the other half. (The rope's click at the feet can make a landing's
        cluster no louder than a mid-air click's; the feet's thud is the landing's own. A quieter cluster's low
        band holds more of the room's hum, for its loudness: it does not count.)"""
        assert self._period is not None and self._last is not None
        period, tol = self._period, self._tol(self._period)
        n = int(span // period)
        since = self._last - span - tol
        # the sounds loud enough to be a contact (``quiet``, as following asks); salience does not matter here
        cands = [e for e in self._recent if since <= e.sample <= self._last + tol and self._loudness(e) >= quiet]
        if n < 4 or not cands:
            return
        times = np.array([e.sample for e in cands], dtype=float)
        louds = [self._loudness(e) for e in cands]
        loud = np.array(louds)

        def grid(offset: float) -> tuple[float, float, float]:
            beats = self._last - period * (np.arange(n) + offset)
            d = np.abs(times[None, :] - beats[:, None]) <= tol
            hit = d.any(axis=1)
            if not hit.any():
                return 0.0, -np.inf, -np.inf
            at = np.where(d, loud[None, :], -np.inf).argmax(axis=1)[hit].tolist()  # each beat's loudest cluster
            thud = [self._thud(cands[i]) for i in at]
            return float(hit.mean()), statistics.median(louds[i] for i in at), statistics.median(thud)

        share0, loud0, thud0 = grid(0.0)
        share1, loud1, thud1 = grid(0.5)
        step = self.cfg.beat_phase_louder_db
        if share1 >= share0 - 0.05 and (loud1 >= loud0 + step or (loud1 >= loud0 and thud1 >= thud0 + step)):
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
        self._between_inferred = []
        self._between_held = []
        self._rebound = False
        self._stride = False
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


def _alternation(beat_no: Sequence[int], values: Sequence[float], drop_db: float, apart: bool = False) -> int | None:
    """The parity of the beat numbers whose ``values`` are the higher half of a beat that alternates, or None.
    It alternates when both halves have 2 beats or more, the lower half's median is ``drop_db`` under the
    higher half's, every one of its beats is under the higher half's median (``apart``: under every one of the
    higher half's), and of every two beats in a row (consecutive beat numbers) 3 in 4 have the higher half's
    beat the higher (a set that fades in, or the odd faint contact, is no alternation)."""
    halves = [[x for b, x in zip(beat_no, values) if b % 2 == p] for p in (0, 1)]
    if min(len(h) for h in halves) < 2:
        return None
    high = 0 if np.median(halves[0]) >= np.median(halves[1]) else 1
    top = float(np.median(halves[high]))
    if top - float(np.median(halves[1 - high])) < drop_db or max(halves[1 - high]) >= (min(halves[high]) if apart else top):
        return None
    at = dict(zip(beat_no, values))
    ordered = [(at[b] > at[b + 1]) == (b % 2 == high) for b in at if b + 1 in at]
    return high if ordered and sum(ordered) >= 0.75 * len(ordered) else None


def _sample(ev: OnsetEvent) -> int:
    return ev.sample


INFERRED = "inferred"
"""Decision marker: a rep the beat implies but no sound marked (see :class:`RopeBeatTracker`)."""


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
