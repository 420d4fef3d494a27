"""Beats kept by a machine: a metronome, a click track, quantised music's drums.

Why it exists: athletes jump to music and to metronome apps. Their clicks and
drum hits are sharp sounds on a steady beat, as a rope's contacts are, and as
loud; a beat tracker follows them (a real double-under recording with a click
track 7% slower than the jumps counted the clicks through the set and after
it). What gives them away is how exact they are. A machine keeps its beat to
the sample, and the detector times its hits to 1-2 ms. A person does not: over
24 beats, the contacts of the real rope, jump and tap recordings come within
3 ms of the straight line through them at no more than 38% of the beats (a
steady double-under jumper; most sets 4-25%), that click track at 71-75%.

:class:`MachineBeat` watches every sound's onset. A grid through the newest
sound (a period in ``period_s``) is a machine's when a sound lands within the
tolerance (``tolerance_s``, or ``tolerance_fraction`` of a shorter period) of
``hit_ratio`` of its last ``beats`` beats (at least ``span_s`` of them), or of
``quick_hit_ratio`` of its last ``quick_beats`` (``quick_span_s``), and its hits
are not part of another rhythm (see :meth:`MachineBeat._subdivides`). From then on
a sound within twice the tolerance of it is the machine's, as are the sounds that
made it, unless it is ``loud_db`` louder than the grid's hits at the same place in
the bar (a drum machine's kick is louder than its hi-hat every bar; a landing on
the click is still a landing), or than the loudest of them while that place has
fewer than 2. A grid is dropped once fewer than half that share
of its last beats find a sound (the music stopped). numpy only; no I/O.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

BAR_BEATS = 8
"""Beats of a grid that make one place in the bar (eighths of a 4/4 bar; a metronome's accent every 4 is at
one of its places too): a drum machine plays the same drum, as loud, at each place every bar."""


@dataclass
class _Grid:
    anchor: float  # sample of beat 0
    period: float  # samples
    beats: int  # beats it is judged over (see MachineBeat._beats)
    hits: deque[tuple[int, int, float]] = field(default_factory=deque)  # (beat number, sample, loudness dB)

    def beat(self, sample: float) -> tuple[int, float]:
        """The beat nearest ``sample`` and how far (samples) ``sample`` is from it."""
        k = int(round((sample - self.anchor) / self.period))
        return k, abs(sample - (self.anchor + k * self.period))

    def refit(self, last: int) -> None:
        """The straight line through the ``last`` hits (a sound card's clock is steady, not exact; a video's
        sound track can slip a few milliseconds)."""
        recent = list(self.hits)[-last:]
        if len(recent) >= 3:
            k = np.array([h[0] for h in recent], float)
            s = np.array([h[1] for h in recent], float)
            self.period, self.anchor = (float(x) for x in np.polyfit(k, s, 1))


class MachineBeat:
    """Tells which sounds keep a machine's beat. Feed every sound in time order."""

    def __init__(
        self,
        sample_rate: int,
        *,
        tolerance_s: float = 0.003,
        tolerance_fraction: float = 0.007,
        beats: int = 24,
        span_s: float = 10.0,
        hit_ratio: float = 0.6,
        quick_beats: int = 12,
        quick_span_s: float = 5.0,
        quick_hit_ratio: float = 0.8,
        period_s: tuple[float, float] = (0.15, 1.2),
        loud_db: float = 4.5,
    ) -> None:
        self.sr = int(sample_rate)
        self.tol = tolerance_s * self.sr
        self.fraction = tolerance_fraction
        self.beats, self.span = int(beats), span_s * self.sr
        self.quick, self.quick_span = int(quick_beats), quick_span_s * self.sr
        self.quick_ratio = quick_hit_ratio
        self.ratio = hit_ratio
        self.shortest, self.longest = (x * self.sr for x in period_s)
        self.loud_db = loud_db
        self._keep = max(self.span + self.longest, self.beats * self.longest) + self.tol
        self._sounds = _Sounds()  # those of the last _keep samples
        self._start: int | None = None  # the first sound heard: grids reach no further back
        self._grids: list[_Grid] = []

    def feed(self, sample: int, loudness_db: float) -> list[int]:
        """Take the next sound; return the samples of the sounds now known to be the machine's: this one, when it
        is on a grid, and when it completes a new grid, that grid's earlier hits too."""
        if self._start is None:
            self._start = sample
        self._sounds.append(sample, loudness_db)
        self._sounds.forget_before(sample - self._keep)
        self._grids = [g for g in self._grids if self._alive(g, sample)]
        for g in self._grids:
            k, off = g.beat(sample)
            if off <= 2 * self.tol:  # once found, the beat is followed more loosely (a video's track slips)
                # something louder than the machine's usual there (the median of its hits at that place in the bar,
                # or, when fewer than 2 are, the loudest of all its hits: a metronome's accent, 1 click in 4, is
                # over their median) is not the machine alone (a landing on the click), and
                # is kept from the hits, unless the place has lost its own (only the last 2 * beats are kept: a
                # place whose sounds were all louder than the rest would not get one back)
                place = [h[2] for h in g.hits if (h[0] - k) % BAR_BEATS == 0]
                usual = np.median(place) if len(place) >= 2 else max(h[2] for h in g.hits)
                louder = bool(loudness_db > usual + self.loud_db)
                if louder and len(place) >= 2:
                    return []
                g.hits.append((k, sample, loudness_db))
                while len(g.hits) > 2 * g.beats:
                    g.hits.popleft()
                g.refit(self.quick)
                return [] if louder else [sample]
        grid = self._find(sample)
        if grid is None:
            return []
        self._grids.append(grid)
        return [h[1] for h in grid.hits]

    def _beats(self, period, beats: int, span: float):
        """Beats a grid of ``period`` is judged over: ``beats``, or as many as ``span`` holds, if more (a quick
        beat's grid is judged over as long a time as a slow one's: a person's timing wanders over seconds)."""
        return np.maximum(beats, np.ceil(span / period)).astype(int)

    def _tol(self, period):
        """How near its beat a machine's sound lands: ``tolerance_s``, or ``tolerance_fraction`` of a short period
        (a person's timing wanders by milliseconds, fewer of them at a quick beat)."""
        return np.minimum(self.tol, self.fraction * period)

    def _alive(self, g: _Grid, sample: int) -> bool:
        """A grid lives while half the share of its beats that made it still find a sound."""
        k_now = (sample - g.anchor) / g.period
        recent = sum(1 for h in g.hits if h[0] > k_now - g.beats)
        return 2 * recent >= self.ratio * g.beats

    def _find(self, sample: int) -> _Grid | None:
        """The grid through ``sample`` that is a machine's with the most hits (the shortest of equals), or None.
        A machine's: ``hit_ratio`` of its last ``beats`` beats (``span_s``, if longer) find a sound within the
        tolerance, or ``quick_hit_ratio`` of its last ``quick_beats`` (``quick_span_s``). Not the finest that
        passes: a grid of half the beat passes on music's eighths, then loses half its hits where only the beats
        are heard.

        A period measured from one gap is good to a millisecond or two; laid back 24 beats it misses by tens.
        So each candidate (a gap back from ``sample``, or half of one) is grown: checked over its last 4 beats,
        then its quick beats, then all, with the tolerance 4, 2 and 1 times, its period fitted to the hits
        (through ``sample``) after each; it must keep ``hit_ratio`` of the beats at each."""
        assert self._start is not None
        times = self._sounds.times
        # gaps back from ``sample`` and their halves, in the range (the sounds further back give none)
        earlier = sample - times[int(np.searchsorted(times, sample - 2.0 * self.longest)) : -1]
        gaps = np.concatenate([earlier, earlier / 2])
        heard = sample - self._start + self.tol  # a grid reaches no further back than this
        periods = _sorted_unique(np.round(gaps[(gaps >= self.shortest) & (gaps <= self.longest)]))
        found = []
        for stage in ("start", "quick", "full"):
            if stage == "start":
                n = np.full(periods.size, 4)
            else:
                n = self._beats(periods, self.quick, self.quick_span) if stage == "quick" else self._beats(periods, self.beats, self.span)
                keep = periods * (n - 1) <= heard
                periods, n = periods[keep], n[keep]
            if not periods.size:
                break
            m = np.arange(1, int(n.max()), dtype=float)
            points = sample - periods[:, None] * m[None, :]
            at, miss = self._sounds.nearest(points)
            near = times[at]
            tol = self._tol(periods)[:, None]
            slack = {"start": 4.0, "quick": 2.0, "full": 1.0}[stage]
            ok = miss <= slack * tol
            if stage != "start":  # (the start's 4 beats are all inside)
                ok &= m[None, :] < n[:, None]
            if stage == "quick":  # quick_hit_ratio of the beats within the tolerance: a machine's already
                found.extend(periods[(ok & (miss <= tol)).sum(axis=1) + 1 >= self.quick_ratio * n])
            # the period through ``sample`` that fits the hits best (least squares); sums of whole numbers of
            # samples, exact in any order
            mm = np.where(ok, m, 0.0)
            num = np.einsum("ij,ij->i", mm, sample - near)
            den = mm @ m
            keep = (ok.sum(axis=1) + 1 >= self.ratio * n) & (den > 0)
            periods = num[keep] / den[keep]
        best: _Grid | None = None
        for period in {*found, *periods}:
            if not self.shortest <= period <= self.longest:
                continue
            full = int(self._beats(period, self.beats, self.span))
            quick = int(self._beats(period, self.quick, self.quick_span))
            beats = np.arange(min(full, int(heard // period) + 1), dtype=float)
            at, miss = self._sounds.nearest(sample - period * beats)
            ok = miss <= self._tol(period)
            by_full = beats.size == full and ok.sum() >= self.ratio * full
            by_quick = beats.size >= quick and ok[:quick].sum() >= self.quick_ratio * quick
            if not (by_full or by_quick):
                continue
            if self._subdivides(sample, period, ok):
                continue
            hits = deque(sorted((-int(b), int(times[j]), self._sounds.loudness[j]) for b, j in zip(beats[ok], at[ok])))
            grid = _Grid(float(sample), float(period), full, hits)
            if best is None or len(grid.hits) > len(best.hits) or (len(grid.hits) == len(best.hits) and grid.period < best.period):
                best = grid
        if best is not None:
            best.refit(best.beats)
        return best

    def _subdivides(self, sample: int, period: float, ok: np.ndarray) -> bool:
        """Whether the grid's hits are not one machine's beat but part of another rhythm, either of:

        - the grid is every k-th beat of a person's quicker rhythm: a person's quick contacts, every few of
          which keep a slower grid's looser tolerance for a while. The quickest rhythm (down to half the
          shortest period) whose points between the grid's ``n`` beats find a sound within a quarter of its
          period at ``hit_ratio`` of them is judged, and is a person's unless as many find one within its
          tolerance (music's eighths between its beats do);
        - its hits come from every 2nd or 3rd beat, a slower machine's (or one a half or a third off the
          grid's), and chance: one of its beats in 2 (or 3) finds a sound within the tolerance at less than
          half the share of another.

        ``ok``: which of the grid's beats, the newest first, have a sound within the tolerance."""
        n = ok.size
        j = np.arange(n)
        for k in (2, 3):
            shares = [np.mean(ok[j % k == r]) for r in range(k)]
            if n >= 4 * k and min(shares) < 0.5 * max(shares):
                return True
        judged = None
        for k in range(2, int(period / (self.shortest / 2)) + 1):
            sub = period / k
            i = np.arange(k * (n - 1) + 1, dtype=float)
            points = sample - sub * i[i % k != 0]
            _, miss = self._sounds.nearest(points)
            if np.mean(miss <= 0.25 * sub) >= self.ratio:
                judged = np.mean(miss <= self._tol(sub))
        return judged is not None and judged < self.ratio


class _Sounds:
    """Sounds heard, oldest first: ``times`` (their samples, as floats for the grids' arithmetic) and ``loudness``.
    Kept in one array with room to grow, so that the times are read without a copy; -inf before the oldest, so
    that a point before every sound finds the oldest (:meth:`nearest`)."""

    def __init__(self) -> None:
        self._t = np.full(256, -np.inf)
        self._head = self._tail = 1  # the sounds are _t[_head:_tail]
        self.loudness: deque[float] = deque()

    @property
    def times(self) -> np.ndarray:
        return self._t[self._head : self._tail]

    def nearest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``points`` (none after the newest sound), the sound nearest it (its index in ``times``; the
        earlier of two as near) and how far it is, in samples."""
        padded = self._t[self._head - 1 : self._tail]
        i = np.searchsorted(padded, points)
        before, after = padded[i - 1], padded[i]
        early, late = points - before, after - points
        return np.where(early <= late, i - 2, i - 1), np.minimum(early, late)

    def append(self, sample: int, loudness_db: float) -> None:
        if self._tail == self._t.size:  # full: the sounds move to the front of an array twice their number
            n = self._tail - self._head
            t = np.full(max(256, 2 * (n + 1)), -np.inf)
            t[1 : n + 1] = self.times
            self._t, self._head, self._tail = t, 1, n + 1
        self._t[self._tail] = sample
        self._tail += 1
        self.loudness.append(loudness_db)

    def forget_before(self, sample: float) -> None:
        while self._t[self._head] < sample:
            self._t[self._head] = -np.inf
            self._head += 1
            self.loudness.popleft()


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` of a 1-D float array without NaN (its sorted distinct values), without np.unique's overhead."""
    x = np.sort(x)
    return x[np.concatenate([[True], x[1:] != x[:-1]])] if x.size else x
