"""Double contacts: the two feet of a two-foot landing hitting the ground apart.

Why it exists: in line hops, pogo hops and two-foot jumps both feet should
land together. When they land 10-60 ms apart the detector hears one landing
(its events are at least 20 ms apart, and the rep logic merges anything within
60 ms into one contact), so the rep count is right but the fault is lost.
:class:`DoubleContactFinder` looks at the audio around each landing for a
second attack.

Only a second attack *after* the onset counts: when the first foot is much
quieter than the second, the rep logic already takes the louder sound as the
contact and the fainter one before it as a ``precursor``; looking backwards
flags the early part of soft impacts whose onset is refined late.

Decision rule, on the high-passed signal ``d[n] = x[n] - x[n-1]`` (a rising
slope of 6 dB per octave that favours the impact's click over room rumble),
in energy frames of :data:`FRAME_MS` taken every quarter frame, ``E`` in dB,
``P[i] = max(E[i .. i + PEAK_MS))``:

    second attack at frame i  <=>  P[i] - min(E[i-look..i-1]) >= rise_db
                                   and P[i] >= E_landing - within_db
                                   and gap_min_ms <= t_i - t_landing <= gap_max_ms

where ``look`` covers :attr:`DoubleContactConfig.look_ms` and ``E_landing``
is the highest frame within 6 ms after the landing's onset. The attack with
the largest rise wins; its time from the onset is the gap. A single landing's
decay (and a room's reverberation) falls smoothly; a second foot starts a new
rise. numpy only, and exact for any block size: the finder keeps the last
:attr:`DoubleContactConfig.history_s` of audio by sample index.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FRAME_MS = 2.0
"""Energy frame length, ms (hop: a quarter of it)."""
MIN_FRAME_SAMPLES = 24
"""... but at least this many samples: under 16 kHz a 2 ms frame holds too few for its energy to be steady (16 at
8 kHz), and a dip in one landing's own ringing reads as a second attack rising out of silence."""
PEAK_MS = 2.0
"""A second attack's level is the highest frame in this span from where it starts, ms."""


@dataclass(frozen=True)
class DoubleContactConfig:
    """Settings of the double-contact test, in physical units."""

    gap_min_ms: float = 9.0
    """Earliest second attack after the landing's onset, ms (a frame starting here reaches past 10 ms)."""
    gap_max_ms: float = 62.0
    """Latest second attack, ms."""
    rise_db: float = 8.0
    """A second attack rises at least this much within ``look_ms`` ..."""
    look_ms: float = 4.0
    """... measured from the quietest frame in this span before it ..."""
    within_db: float = 15.0
    """... and peaks no more than this far below the landing."""
    history_s: float = 2.5
    """Audio kept for the test, s: longer than any rep decision waits after its landing."""


class DoubleContactFinder:
    """Keeps recent audio and tells, for a landing's onset sample, whether a second impact came with it."""

    def __init__(self, sample_rate: int, config: DoubleContactConfig | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.config = cfg = config or DoubleContactConfig()
        sr = self.sample_rate
        self._frame = max(MIN_FRAME_SAMPLES, int(round(FRAME_MS * sr / 1000.0)))
        self._hop = max(1, self._frame // 4)
        self._peak_frames = max(1, int(round(PEAK_MS * sr / 1000.0 / self._hop)))
        self._look = max(1, int(round(cfg.look_ms * sr / 1000.0 / self._hop)))
        self._before_n = 2 * self._frame
        self._after_n = int(np.ceil(cfg.gap_max_ms * sr / 1000.0)) + 4 * self._frame
        self._keep = max(int(cfg.history_s * sr), self._before_n + self._after_n)
        # _buf[:_len] holds samples [_n - _len, _n); room for 2 * keep, so a block is copied in, not the history
        self._buf = np.zeros(2 * self._keep, dtype=np.float32)
        self._len = 0
        self._n = 0  # samples fed

    @property
    def after_samples(self) -> int:
        """Audio needed after a landing's onset before it can be judged, samples."""
        return self._after_n

    @property
    def samples_fed(self) -> int:
        """Samples fed so far."""
        return self._n

    def feed(self, block: np.ndarray) -> None:
        """Append a mono float block."""
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        self._n += block.size
        block = block[-self._keep :]  # older samples of a long block would not be kept
        if self._len + block.size > self._buf.size:
            drop = self._len + block.size - self._keep  # keep the last `keep` samples, counting this block
            self._buf[: self._len - drop] = self._buf[drop : self._len]
            self._len -= drop
        self._buf[self._len : self._len + block.size] = block
        self._len += block.size

    def ready(self, onset: int) -> bool:
        """True once the audio after ``onset`` that the test needs has been fed."""
        return self._n >= onset + self._after_n

    def gap_ms(self, onset: int) -> float | None:
        """Time from the landing at ``onset`` to its second impact, ms; None if it was a single impact.

        Needs :meth:`ready`; audio no longer kept or not yet fed counts as silence.
        """
        sr = self.sample_rate
        cfg = self.config
        a, b = onset - self._before_n, onset + self._after_n  # audio before the onset: the first frames' history
        seg = np.zeros(b - a, dtype=np.float64)
        # only the last `keep` samples count, however much more the buffer happens to hold
        start = self._n - self._len  # sample index of _buf[0]
        lo, hi = max(a, self._n - self._keep, 0), min(b, self._n)  # (nothing before the stream's first sample)
        if hi > lo:
            seg[lo - a : hi - a] = self._buf[lo - start : hi - start]
        d = np.diff(seg, prepend=seg[:1])
        csum = np.concatenate([[0.0], np.cumsum(d * d)])
        starts = np.arange(0, d.size - self._frame + 1, self._hop)
        energy = (csum[starts + self._frame] - csum[starts]) / self._frame
        e = 10.0 * np.log10(energy + 1e-20)
        t_ms = (starts + a - onset) * 1000.0 / sr
        head = (t_ms >= -1.0) & (t_ms <= 6.0)
        if not head.any():
            return None
        landing = float(e[head].max())
        i = np.flatnonzero((t_ms >= cfg.gap_min_ms) & (t_ms <= cfg.gap_max_ms))
        i = i[(i >= self._look) & (i + self._peak_frames <= e.size)]
        if not i.size:
            return None
        peak = sliding_window_view(e, self._peak_frames)[i].max(axis=1)  # row i: e[i : i + peak_frames]
        rise = peak - sliding_window_view(e, self._look)[i - self._look].min(axis=1)  # ... less e[i - look : i]'s least
        attack = (peak >= landing - cfg.within_db) & (rise >= cfg.rise_db)
        if not attack.any():
            return None
        return float(t_ms[i[np.argmax(np.where(attack, rise, -np.inf))]])  # the largest rise (the first, of equals)
