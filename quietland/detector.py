"""The streaming landing detector: blocks of samples in, onset events out.

Why it exists: every landing, rope slap and tap starts with a sudden rise of
energy across many frequency bands. This module finds those rises causally,
in a room whose noise it learns as it goes, and reports each one with the
sample it started at and a few loudness figures. It knows nothing about drills
or reps (that is :mod:`quietland.reps`), and it imports numpy and two small
modules of its own only (:mod:`quietland.events`, :mod:`quietland.downmix`).

Method, per analysis frame ``k`` (a Hann-windowed FFT of the last ``n_fft``
samples, taken every ``hop`` samples):

1. Band levels ``L[k, b]`` in dB over log-spaced bands (4 per octave, 30 Hz up).
2. Adaptive whitening: each band's level is taken relative to a slowly rising,
   quickly falling floor ``F[b]`` (its running noise floor), ``W = max(L - F, 0)``,
   so a band that is always loud (hum, a fan, a held note) stops counting. A band
   whose floor lies more than ``band_range_db`` under the loudest band's is empty
   (a recording low-passed under the band, a codec's cut, a synthetic background
   with nothing there): its level and floor are taken as no lower than that, so that
   the rounding noise it holds, whose level in dB swings wildly, makes no rises. While
   the detector learns the room (the first ``2 * floor_window_s`` of sound) the
   floor forgets levels older than ``floor_window_s``: a fade-in's first frames
   are not the room for the 20 s the rise would need to climb from them. So a
   change of input gain moves every floor by the gain and leaves the events as
   they were.
3. Onset strength (SuperFlux-style, in dB): the mean over bands of the positive
   rise of ``W[k, b]`` above the maximum of ``W[k - lag, b-1..b+1]``.
4. Peak picking, causal with ``post`` frames of look-ahead. Frame ``k`` is an
   onset when all three hold::

       odf[k] == max(odf[r : k + post + 1])
       odf[k] >= median(odf[k - W : k]) + max(delta_db, k_mad * 1.4826 * MAD(odf[k - W : k]))
       k - k_last >= min_gap frames

   where ``r`` is ``k - pre``, or later, the last frame since then whose strength
   is under ``delta_db``: a sound before that rest is over, and its fading strength
   does not hide one close behind it (a landing 20-25 ms after the rope's slap).

   A drill whose follower knows when its next contact is due (``candidate_k_mad``,
   under ``k_mad``) also gets the peaks between the two thresholds: candidates,
   whose ``strength_db`` (measured against the ``k_mad`` threshold, as every
   event's is) is negative.
   A drill whose contacts are thuds (``thud_k_mad``: line hops, pogo, single jumps) also gets the thud band's peaks: frames
   whose power under ``low_band_hz`` stands over its mean in the ``thud_before_ms`` of frames before the
   frame's window by ``thud_min_db`` and ``thud_k_mad`` robust standard deviations more than that figure's
   recent median, unless another onset came in the ``thud_gap_ms`` before. Over broadband noise a soft
   landing's rise over all frequencies is lost in the noise's; its thud is not. Such an event's ``thud_db``
   is that figure.
5. The onset sample is refined to the sample: in the samples the frame could
   have seen (from ``refine_after_ms`` after the last onset on, so that an
   impact close behind another is not timed on the other's attack), the first
   sample where a 1 ms energy envelope
   crosses 25% of the way from the local floor to the local peak
   (energy, so a faint precursor 15 dB below the impact does not count).
   When half the onset strength is above ``air_band_hz`` (a sharp click, not a
   thud or a voice), the envelope is taken of the second difference instead.
6. Loudness figures come from the ``feature_ms`` after the onset sample, so the
   event is emitted once that much audio has arrived (look-ahead at most
   ``max(post * hop_ms, feature_ms)``).

Digital silence (a muted input, a dropout, the zeros a video's audio track
often starts with, a noise gate shut) is not a quiet room, and it is cut out of
the stream: frames quieter than ``silence_dbfs``, and those that hold a hop of it
(a hop whose variance is under ``silence_dbfs``: its edge, or a dropout too short
to fill a frame), have no onset strength, leave every band's floor and the noise
floor as they were, and take no part in the adaptive threshold. Each frame of
sound is compared with the frames of sound before it, however much silence came
between: sound that comes back as the room was makes no rise, and an impact that
opens a gate is one. (How many frames at an edge fall under ``silence_dbfs``
depends on the input's gain. Where a stream starts with zeros, the hops before
its first hop of sound that hold a run of exact zeros half a hop long are silence
too, so that the frame its sound starts at does not; a fade-in from zeros that
starts under one bit of 16-bit audio still moves it.) The contrast of a
sound with digital silence before it is taken against the noise floor.

The stream's first moments have no room before them. The detector holds back
the first ``opening_s`` of sound (after any digital silence the stream starts
with), runs a copy of itself over it, and starts the analysis of that sound
with what the copy learnt: each band's floor, each band's typical rise, the
opening's onset strengths and frame levels as the threshold's and the noise
floor's past, and the frames before the stream at each band's median level
over the opening (sound going on as the stream starts makes no rise; an impact
it starts with, one). No onset is picked in the first ``pre_max_ms`` of sound.

A DC offset is not sound either: the frame levels behind the noise floor are
taken less each frame's own mean, and every sample-domain figure (loudness,
peak, contrast, the refined onset) less the input's offset before it (the median
of the hop means over ``dc_window_s``), and the look-ahead the end of a stream
lacks is that offset held, not a step down to zero.

All state advances on whole hops, so the events do not depend on how the
stream was cut into blocks.
"""
from __future__ import annotations

import bisect
import copy
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from .downmix import Downmix
from .events import OnsetEvent

_EPS = 1e-12
_BAND_EPS = 1e-20
"""Added to band powers before dB: far under any real noise (-200 dB), so that turning the input down does not
press a quiet band's level against it (the detector should hear the same events at any gain)."""
_TOGETHER_S = 2.0
"""The most audio whose frames :meth:`LandingDetector.process_pieces` computes in one go, s. The detector alone
over 10 minutes of audio took 3.4 s of CPU fed 0.25 s at a time and 2.1 s fed 1 s at a time; the memory a
group's frames take grows with it (a 24 s block's: some 20 MB more)."""
_SPECTRUM_ROWS = 64
"""Frames whose spectra ``_run_frames`` computes at once, in buffers it keeps. Fresh arrays for each call's
spectra (0.5 MB and more each) were slow to fill: the memory came back from the system at each call."""


@dataclass(frozen=True)
class DetectorConfig:
    """Detector settings, in physical units."""

    window_ms: float = 1024 / 44.1
    """Analysis window length (23.2 ms, 1024 samples at 44.1 kHz); the nearest FFT size with no prime factor
    above 5, so that the window, and the band resolution, are the same at every sample rate."""
    hop_ms: float = 4.0
    """Time between analysis frames."""
    lag_frames: int = 2
    """Onset strength compares a frame with the one ``lag_frames`` earlier."""
    bands_per_octave: int = 4
    """Resolution of the band split used for the onset strength."""
    min_freq_hz: float = 30.0
    """Lowest band edge."""
    floor_rise_db_per_s: float = 3.0
    """How fast a band's noise floor may rise (it falls at once to a quieter level) ..."""
    floor_window_s: float = 1.5
    """While learning the room (the first twice this much sound), a band's floor is
    the lowest of its levels over this much past sound, each raised by the rise for its age; older ones are
    forgotten (a fade-in's quiet start is not the room). Minimum statistics' usual span for a noise floor."""
    band_range_db: float = 60.0
    """A band's level and floor are taken as no lower than the loudest band's floor less this much: a band further
    under it holds no sound, only rounding noise (its level in dB swings by tens of dB from frame to frame, and each
    swing up would be a rise). 0 turns it off."""
    band_scale_s: float = 1.0
    """Each band's rise is divided by its mean rise over this much past audio (0 turns it off)."""
    min_band_scale_db: float = 0.25
    """Smallest typical rise a band is divided by, dB (quiet or silent bands)."""
    max_band_ratio: float = 30.0
    """Largest contribution of one band, in multiples of its typical rise."""
    threshold_window_s: float = 0.75
    """Past onset strength used for the adaptive threshold."""
    delta_db: float = 1.2
    """Minimum rise of the onset strength above its running median, dB."""
    k_mad: float = 4.0
    """Threshold in robust standard deviations of the recent onset strength."""
    candidate_k_mad: float | None = None
    """Also report the peaks down to this many robust standard deviations (when under ``k_mad``): candidates, whose
    ``strength_db`` is negative, for a rep counter that takes a faint sound only where its rhythm expects a contact.
    None: none."""
    thud_k_mad: float | None = None
    """Also pick thuds the onset strength misses: peaks of the thud band's level (under ``low_band_hz``) over its mean
    in the ``thud_before_ms`` before each frame's window, ``thud_k_mad`` robust standard deviations (and at least
    ``thud_min_db``) over that figure's recent median. The onset strength, a mean over every band, hears a landing
    in broadband noise (a fan, an air conditioner) only where the thud's few bands outweigh the noise's rises in all
    the others. Such an onset's ``thud_db`` is the figure; an onset within ``thud_gap_ms`` after another is none.
    None: none (the figure is followed all the same, so that a drill change can turn it on)."""
    thud_before_ms: float = 80.0
    """The thud band's past that a frame's thud level is compared with, ending where the frame's window starts."""
    thud_min_db: float = 10.0
    """Smallest rise of the thud band's level over its past that is a thud onset, dB."""
    thud_gap_ms: float = 45.0
    """A thud onset comes no sooner than this after another onset (the thud band peaks later than the onset strength
    does: the same landing's thud)."""
    warmup_ms: float = 100.0
    """Onset strength history needed before the first onset can be picked (learning the room), at the start
    of the stream's sound (after any digital silence it starts with), when ``opening_s`` is 0."""
    opening_s: float = 0.5
    """The stream's first sound is judged against the room heard after it: the detector holds back this much of
    the stream from its first hop of sound on, learns the room from it (each band's floor and typical rise, the
    onset strength's past and the noise floor) and only then analyses it from its start, as if that room had come
    before. So an impact a recording starts on (a clip cut on a footstep, a landing in its first moments) is an
    onset, not the room. The events of that stretch wait for it (their delay says so). 0: no holding, and no
    onset for ``warmup_ms`` instead."""
    dc_window_s: float = 0.5
    """The input's offset (DC) is the median of the means of the hops in this much past audio (a median, so
    that an impact's own low-frequency swing does not move it); every sample-domain figure (loudness, peak,
    contrast, the refined onset) is taken less of it: an offset is no sound."""
    silence_dbfs: float = -110.0
    """A frame whose mean square is below this is digital silence, not a quiet room (no microphone is that
    quiet; 16-bit audio's own rounding noise is near -101 dBFS)."""
    pre_max_ms: float = 20.0
    """A peak must be the largest onset strength this far back, or since the strength last fell under
    ``delta_db`` (the sound before is over)."""
    post_max_ms: float = 8.0
    """... and this far ahead (the peak picker's look-ahead)."""
    min_gap_ms: float = 20.0
    """Two onsets closer than this are one impact (its ringing, not a new contact) ..."""
    refine_after_ms: float = 10.0
    """A new onset is refined in the audio from this long after the last one on: before then, the last impact's
    own attack (a click's peak comes within a few ms of its onset) would be taken for the new one's rise, and
    the impact behind it (a landing 25 ms after the rope's click) reported as a copy of the click."""
    new_impact_ratio: float = 2.0
    """... unless the later one's onset strength is this many times the earlier one's (a faint blip, then the impact)."""
    feature_ms: float = 20.0
    """Audio after the onset used for peak level, loudness and band energies."""
    impact_window_ms: float = 5.0
    """Impact level: the loudest span of this length (mean square) within the ``feature_ms`` after the onset."""
    contrast_before_ms: float = 50.0
    """Audio before the onset (ending 2 ms before it) that the contrast figure compares against."""
    envelope_ms: float = 1.0
    """Smoothing of the sample-level envelope used to refine the onset sample."""
    onset_fraction: float = 0.25
    """Refined onset: first sample this far from the local floor to the local peak."""
    low_band_hz: float = 250.0
    """Upper edge of the "thud" band."""
    high_band_hz: float = 3000.0
    """Lower edge of the "click" band."""
    air_band_hz: float = 6000.0
    """Lower edge of the "air" band: above voice formants and most of music's energy, where only
    sharp broadband transients (a rope's slap, a shoe's click) rise; see ``OnsetEvent.air_share``."""
    noise_floor_window_s: float = 3.0
    """Span of the running noise-floor estimate reported to the UI."""


def _fft_size(n: int) -> int:
    """The smallest size at least ``n`` whose prime factors are 2, 3 and 5 (fast for the FFT)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            size = p35
            while size < n:
                size *= 2
            best = min(best, size)
            p35 *= 3
        p5 *= 5
    return best


class PieceResult(NamedTuple):
    """What :meth:`LandingDetector.process_pieces` tells of each piece."""

    events: list[OnsetEvent]
    """The events the piece completed, in order (as :meth:`LandingDetector.process` returns them)."""
    complete_through: int
    """:attr:`LandingDetector.complete_through` after the piece."""
    noise_floor_dbfs: float
    """:attr:`LandingDetector.noise_floor_dbfs` after the piece."""


class LandingDetector:
    """Causal onset detector. ``process(block)`` returns the events it could finish."""

    def __init__(self, sample_rate: int, config: DetectorConfig | None = None) -> None:
        if not 1000 <= sample_rate <= 384000:
            raise ValueError(f"unsupported sample rate {sample_rate} Hz")
        self.sample_rate = int(sample_rate)
        self.config = cfg = config or DetectorConfig()
        sr = self.sample_rate
        # --- the one place where physical units become samples and frames ---
        self.n_fft = _fft_size(max(16, int(round(cfg.window_ms * sr / 1000.0))))
        self.hop = max(1, int(round(cfg.hop_ms * sr / 1000.0)))
        frame_rate = sr / self.hop
        self._lag = cfg.lag_frames
        self._pre = max(1, int(round(cfg.pre_max_ms / 1000.0 * frame_rate)))
        self._post = max(1, int(round(cfg.post_max_ms / 1000.0 * frame_rate)))
        self._thr_w = max(8, int(round(cfg.threshold_window_s * frame_rate)))
        self._warmup = max(4, int(round(cfg.warmup_ms / 1000.0 * frame_rate)))
        self._min_gap = max(1, int(round(cfg.min_gap_ms / 1000.0 * frame_rate)))
        self._feat_n = max(8, int(round(cfg.feature_ms * sr / 1000.0)))
        self._impact_n = max(1, int(round(cfg.impact_window_ms * sr / 1000.0)))
        self._env_n = max(1, int(round(cfg.envelope_ms * sr / 1000.0)))
        self._after_n = int(round(cfg.refine_after_ms * sr / 1000.0))
        self._pre_n = max(8, int(round(cfg.contrast_before_ms * sr / 1000.0)))
        self._gap_n = int(round(0.002 * sr))
        self._floor_rise = cfg.floor_rise_db_per_s / frame_rate
        self._floor_n = max(2, int(round(cfg.floor_window_s * frame_rate)))
        self._learn_n = 2 * self._floor_n if cfg.floor_window_s > 0 else 0
        self._nf_len = max(4, int(round(cfg.noise_floor_window_s * frame_rate)))

        self._mix = Downmix(sr)  # blocks of several channels are mixed down
        self._window = np.hanning(self.n_fft + 2)[1:-1]
        freqs = np.fft.rfftfreq(self.n_fft, 1.0 / sr)
        self._band_of_bin, self.n_bands = _band_map(freqs, cfg.min_freq_hz, min(sr / 2.0, 16000.0), cfg.bands_per_octave)
        valid = np.flatnonzero(self._band_of_bin >= 0)  # one contiguous run of bins, bands in order
        self._bin_lo, self._bin_hi = int(valid[0]), int(valid[-1]) + 1
        self._band_starts = np.flatnonzero(np.diff(np.concatenate([[-1], self._band_of_bin[self._bin_lo : self._bin_hi]])))
        self._band_counts = np.bincount(self._band_of_bin[self._band_of_bin >= 0], minlength=self.n_bands).astype(float)
        first_bin_of_band = np.array([freqs[self._band_of_bin == b][0] for b in range(self.n_bands)])
        self._high_bands = first_bin_of_band >= cfg.high_band_hz
        self._air_bands = first_bin_of_band >= cfg.air_band_hz
        self._win_norm = float(np.sum(self._window) ** 2) / 4.0
        self._win_energy = float(np.sum(self._window**2))  # a frame's sum of squares over this is its mean square
        self._feat_window = np.hanning(self._feat_n)  # band energies of the feature_ms after an onset
        feat_freqs = np.fft.rfftfreq(self._feat_n, 1.0 / sr)
        self._low_bins = _bin_range((feat_freqs > 0) & (feat_freqs < cfg.low_band_hz))  # the thud band's bins ...
        self._high_bins = _bin_range(feat_freqs >= cfg.high_band_hz)  # ... and the click band's, of that spectrum
        self._feat_norm = float(np.sum(self._feat_window) ** 2) / 2.0
        # the thud band's level (see DetectorConfig.thud_k_mad): its bins of a frame's spectrum, and the frames of
        # sound its past spans, ending with the last frame whose window ends before the frame's window starts
        self._thud_bins = _bin_range((freqs > 0) & (freqs < cfg.low_band_hz))
        self._thud_gap = -(-self.n_fft // self.hop)
        self._thud_ref = max(1, int(round(cfg.thud_before_ms / 1000.0 * frame_rate)))
        self._thud_after = max(1, int(round(cfg.thud_gap_ms / 1000.0 * frame_rate)))

        # sample history: self._buf holds samples [self._buf_start, self._n_seen)
        keep = self._pre_n + self._gap_n + self.n_fft + (self._lag + self._pre + self._post + 4) * self.hop + self._feat_n + self._env_n
        self._keep = keep
        self._buf = np.zeros(self.n_fft, dtype=np.float64)
        self._buf_start = -self.n_fft
        self._together_n = int(_TOGETHER_S * sr)
        # scratch for _run_frames' spectra: windowed frames, their spectra and powers, _SPECTRUM_ROWS frames each
        n_bins = self.n_fft // 2 + 1
        self._spectrum_bufs = (np.empty((_SPECTRUM_ROWS, self.n_fft)), np.empty((_SPECTRUM_ROWS, n_bins), np.complex128),
                               np.empty((_SPECTRUM_ROWS, n_bins)))
        self._n_seen = 0
        self._next_frame = 0  # index of the next frame to compute; frame k ends at sample (k + 1) * hop

        # while learning: band levels less the rise so far, of the last floor_n - 1 frames that fed the floors
        self._floor_hist = np.zeros((0, self.n_bands))
        self._sound_frames = 0  # frames that fed the floors so far, the floors' clock
        self._floor_x = np.full(self.n_bands, np.inf)  # the last floor less the rise so far
        self._learn_left = self._learn_n  # frames that feed the floors before the learning ends
        self._last_floor = np.full(self.n_bands, np.nan)  # the floors after the last frame that fed them
        self._lev_hist = np.zeros((self._lag, self.n_bands))  # whitened levels of the last `lag` frames of sound
        self._sounded = False  # whether any frame has fed the floors yet
        self._heard_at: int | None = None  # the stream's first hop of sound: neither silence nor a run of zeros
        self._silence_before = False  # whether digital silence came before the first frame that did
        self._started = 0  # the frame where the stream's sound started (after the digital silence it began with)
        self._scale_n = max(1, int(round(cfg.band_scale_s * frame_rate)))
        self._flux_cum = np.zeros((self._scale_n + 1, self.n_bands))  # running sums of each band's rise
        # onset strength history: self._odf holds frames [self._odf_start, self._next_frame)
        self._odf = np.zeros(0)
        self._odf_start = 0
        self._next_decide = 0  # next frame whose peak decision is pending
        self._last_onset_frame = -(10**9)
        self._last_onset_value = 0.0
        self._last_onset_sample = -(10**12)  # none yet
        # (onset, decided-at sample, strength, floor, click share, air share, thud level of a thud onset or None)
        self._pending: list[tuple[int, int, float, float, float, float, float | None]] = []
        # the frames of sound (digital silence cut out): their indices, onset strengths and levels (for the
        # adaptive threshold and the noise floor); the frames that hold the zeros before the stream count
        self._seq_frames = np.zeros(0, dtype=np.int64)
        self._seq_odf = np.zeros(0)
        self._seq_db = np.zeros(0)
        self._dc_n = max(1, int(round(cfg.dc_window_s * frame_rate)))
        self._hop_means = np.zeros(0)  # each hop's mean sample, as _odf holds frames (hop k ends where frame k does)
        self._click_share = np.zeros(0)  # share of each frame's onset strength above high_band_hz
        self._air_share = np.zeros(0)  # ... and above air_band_hz
        self._thud = np.zeros(0)  # each frame's thud level over its past, dB (0 for frames not of sound), as _odf
        self._seq_thud = np.zeros(0)  # ... of the frames of sound, as _seq_odf
        self._low_hist = np.zeros(0)  # the thud band's power of the last frames of sound, for the next ones' past
        # the opening (see DetectorConfig.opening_s): the stream's samples held back from its first hop of sound
        # on until opening_s of them have come (None: analysed, or no holding); primed once the room is learnt
        self._held: np.ndarray | None = np.zeros(0) if cfg.opening_s > 0 else None
        self._opening_n = int(round(cfg.opening_s * sr))
        self._primed = False
        self._sound_from = 0  # (primed) the stream sample its sound starts at: no onset in its first pre_max_ms
        self._pre_n_max = int(round(cfg.pre_max_ms * sr / 1000.0))
        self._opening_levels: list[np.ndarray] | None = None  # a probe's band levels of the frames that fed its floors
        self._opening_low: list[np.ndarray] = []  # ... and their thud band's power

    # ------------------------------------------------------------------ public
    @property
    def samples_seen(self) -> int:
        """Samples fed in so far (per channel)."""
        return self._n_seen

    @property
    def latency_samples(self) -> int:
        """The most audio after an onset the detector may need before emitting it.

        An onset is refined at most ``n_fft + (lag + 1 + post)`` hops before the end of the
        audio its peak was decided on, and its figures need ``feature_ms`` after it.
        """
        return max(self._feat_n, self.n_fft + (self._lag + 1 + self._post) * self.hop)

    @property
    def complete_through(self) -> int:
        """Every event whose onset is before this sample has been emitted (the rest may still come)."""
        return self._n_seen - self.latency_samples

    @property
    def noise_floor_dbfs(self) -> float:
        """Running noise floor: 10th percentile of recent frame levels, dBFS."""
        return self._floor_before(self._next_frame)

    def process(self, block: np.ndarray) -> list[OnsetEvent]:
        """Feed samples, shape ``(n,)`` or ``(n, channels)`` (mixed down by :class:`~quietland.downmix.Downmix`);
        return the events now complete, in order. Samples that are not numbers (NaN, infinite) count as 0."""
        x = self._mixed(block)
        if self._held is None:
            return self._analyse(x)
        early, x = self._hold(x, final=False)
        return early + self._analyse(x)

    def process_pieces(self, pieces: list[np.ndarray]) -> list[PieceResult]:
        """Feed several blocks in turn: for each, what :meth:`process` would return for it and the
        :attr:`complete_through` and :attr:`noise_floor_dbfs` after it, exactly as :meth:`process` piece by piece
        and the properties between would give.

        Faster than that, which is why it is here: the frames of all the pieces (spectra, floors, onset
        strength) and their peak decisions are computed in one go, and each piece is then told the events ready
        by its end. A frame's figures depend on the audio up to its end alone, and a peak's decision on the frames
        up to a few after it alone (made after a piece's end, it is not told to that piece), so nothing a piece
        is told depends on the pieces after it. The stream's held opening (``opening_s``) is fed piece by piece."""
        results: list[PieceResult] = []
        i = 0
        while i < len(pieces) and self._held is not None:
            events = self.process(pieces[i])
            results.append(PieceResult(events, self.complete_through, self.noise_floor_dbfs))
            i += 1
        xs = [self._mixed(piece) for piece in pieces[i:]]
        ends = (self._n_seen + np.cumsum([x.size for x in xs], dtype=np.int64)).tolist()  # each piece's, in the stream
        start = 0
        while start < len(xs):
            # at most _TOGETHER_S of them at a time (one piece at least): the gain is made by then, and a very
            # large block's frames would take memory in proportion
            stop = max(start + 1, bisect.bisect_right(ends, self._n_seen + self._together_n))
            self._buf = np.concatenate([self._buf, *xs[start:stop]])
            self._n_seen = ends[stop - 1]
            self._run_frames()
            # every peak the pieces decide, in one go: a peak is decided as soon as the frames post after it
            # are in, on those frames and the audio up to their end alone, so taking the decisions of later
            # pieces now changes none; each piece is told the events ready by its end (a later piece's
            # decision is not: it is made after that end)
            self._decide_peaks(final=False)
            for end in ends[start:stop]:
                # as the stream stood at the piece's end: the frames it completed, the audio it had
                self._n_seen, self._next_frame = end, end // self.hop
                events = self._emit(final=False)
                # (the noise floor: of the frames before the piece's end, as noise_floor_dbfs gives it then)
                results.append(PieceResult(events, self.complete_through, self._floor_before(self._next_frame - 1)))
            self._trim()
            start = stop
        return results

    def _mixed(self, block: np.ndarray) -> np.ndarray:
        """A block as the analysis takes it: checked, not-a-number samples zeroed, mixed down, float64."""
        if np.ndim(block) not in (1, 2):
            raise ValueError("a block must have shape (n,) or (n, channels)")
        block = np.asarray(block)
        finite = np.isfinite(block)
        if not finite.all():  # a sample that is not a number is silence, not a state that never heals
            block = np.where(finite, block, 0.0).astype(block.dtype)
        return self._mix(block).astype(np.float64)

    def _analyse(self, x: np.ndarray) -> list[OnsetEvent]:
        """Feed mono samples to the analysis (past the opening held back); return the events now complete."""
        if x.size == 0:
            return []
        self._buf = np.concatenate([self._buf, x])
        self._n_seen += x.size
        self._run_frames()
        self._decide_peaks(final=False)
        out = self._emit(final=False)
        self._trim()
        return out

    def flush(self) -> list[OnsetEvent]:
        """End of stream: finish every pending decision (missing look-ahead counts as silence: the stream's
        last DC level, held, so that an offset stopping is no impact)."""
        early = self.process(self._mix.flush())
        if self._held is not None:  # the stream ended inside its opening: the room is learnt from what came
            quiet, x = self._hold(np.zeros(0), final=True)
            early += quiet + self._analyse(x)
        n_real = self._n_seen
        pad = np.full(self.latency_samples + self.hop * (self._post + 2), self._offset_before(n_real + self.hop))
        self._buf = np.concatenate([self._buf, pad])
        self._n_seen += pad.size
        self._run_frames()
        self._decide_peaks(final=True)
        out = [ev for ev in self._emit(final=True) if ev.sample < n_real]
        self._n_seen = n_real
        return early + out

    def set_threshold(self, k_mad: float, candidate_k_mad: float | None = None, thud_k_mad: float | None = None) -> None:
        """Pick peaks from the next decision on at ``k_mad`` robust standard deviations over the recent onset
        strength, candidates down to ``candidate_k_mad`` and the thud band's peaks at ``thud_k_mad``
        (``DetectorConfig``): a drill change (see ``quietland.reps.DrillRule.onset_k_mad``)."""
        self.config = replace(
            self.config, k_mad=float(k_mad), candidate_k_mad=None if candidate_k_mad is None else float(candidate_k_mad),
            thud_k_mad=None if thud_k_mad is None else float(thud_k_mad),
        )

    # ---------------------------------------------------------------- internals
    def _hold(self, x: np.ndarray, final: bool) -> tuple[list[OnsetEvent], np.ndarray]:
        """Hold the stream's opening back (see ``DetectorConfig.opening_s``); return the events of what was
        analysed here and the samples that may be analysed now. The digital silence before the stream's first hop
        of sound (as ``_run_frames`` tells it: not quiet and no run of zeros) passes at once, in whole hops. Once
        ``opening_s`` from that hop has come (or the stream ends), a copy of the detector analyses the opening,
        the detector is primed with the room it learnt, and everything held passes."""
        assert self._held is not None
        held = np.concatenate([self._held, x])
        n_hops = held.size // self.hop
        hops = held[: n_hops * self.hop].reshape(n_hops, self.hop)
        sound = np.flatnonzero(~self._quiet_hops(hops) & ~self._zero_runs(hops))
        start = int(sound[0]) * self.hop if sound.size else n_hops * self.hop
        # (the stream so far is held from a hop's start on: the hops above are the stream's)
        quiet = self._analyse(held[:start])  # (no onsets: digital silence has no onset strength)
        held = held[start:]
        self._sound_from = self._n_seen
        if not final and (not sound.size or held.size < self._opening_n):
            self._held = held
            return quiet, np.zeros(0)
        self._held = None
        if sound.size:
            probe = copy.deepcopy(self)
            probe._opening_levels = []
            probe._analyse(held[: self._opening_n])
            self._prime(probe)
        return quiet, held

    def _prime(self, probe: LandingDetector) -> None:
        """Start the analysis of the stream's sound with the room ``probe`` learnt from its opening, as if heard
        just before it: each band's floor (for ``floor_window_s``, as any frame of sound), each band's typical
        rise, and the opening's onset strengths and levels as the threshold's and the noise floor's past."""
        if np.isnan(probe._last_floor).any():
            return  # no frame of the opening fed the floors: nothing learnt (the warmup applies)
        floor = probe._last_floor
        self._floor_hist = np.tile(floor, (self._floor_n - 1, 1))
        self._last_floor = floor.copy()
        # the frames before the stream's first are as the room most often is: each band's median level over the
        # opening (whitened as _run_frames whitens), so that sound going on as the stream starts is no rise
        level = np.vstack(probe._opening_levels)
        if self.config.band_range_db > 0:
            least = np.max(floor) - self.config.band_range_db
            level, floor = np.maximum(level, least), np.maximum(floor, least)
        self._lev_hist = np.tile(np.median(np.maximum(level - floor, 0.0), axis=0), (self._lag, 1))
        self._flux_cum = probe._flux_cum.copy()
        low = np.concatenate(probe._opening_low)  # (the room's thud band, as the room's levels above)
        self._low_hist = np.full(self._thud_gap - 1 + self._thud_ref, float(np.median(low)))
        self._seq_thud = np.concatenate([probe._seq_thud, self._seq_thud])
        n = probe._seq_odf.size  # (numbered before the stream's frames, which start at 0)
        self._seq_frames = np.concatenate([np.arange(-n, 0), self._seq_frames])
        self._seq_odf = np.concatenate([probe._seq_odf, self._seq_odf])
        self._seq_db = np.concatenate([probe._seq_db, self._seq_db])
        self._primed = True

    def _samples(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) from the history (zeros before the stream began)."""
        lo = start - self._buf_start
        hi = stop - self._buf_start
        if lo < 0:
            return np.concatenate([np.zeros(-lo), self._buf[: max(0, hi)]])
        return self._buf[lo:hi]

    def _run_frames(self) -> None:
        last = self._n_seen // self.hop  # frames k with (k + 1) * hop <= n_seen
        ks = np.arange(self._next_frame, last)
        if ks.size == 0:
            return
        ends = (ks + 1) * self.hop
        base = int(ends[0]) - self.n_fft
        seg = self._samples(base, int(ends[-1]))
        # frame k holds seg[k * hop : k * hop + n_fft] (a strided view, copied once by the window product)
        windows = _windows(seg, self.n_fft, self.hop)
        n = ks.size
        energy, dc, low_pow = np.empty(n), np.empty(n), np.empty(n)
        band_pow = np.empty((n, self.n_bands))
        # the spectra in chunks of at most _SPECTRUM_ROWS frames, in buffers kept from call to call (see
        # _SPECTRUM_ROWS); each frame's figures are computed row by row as before, so they are bit for bit the same
        frames_buf, spec_buf, power_buf = self._spectrum_bufs
        for a in range(0, n, _SPECTRUM_ROWS):
            b = min(n, a + _SPECTRUM_ROWS)
            frames = np.multiply(windows[a:b], self._window, out=frames_buf[: b - a])
            spec = np.fft.rfft(frames, axis=1, out=spec_buf[: b - a])
            power = _power(spec, out=power_buf[: b - a])
            # frame energy by Parseval: sum(x^2) = (P[0] + 2 * sum(P[1:-1]) + P[-1]) / n_fft (n_fft is even)
            energy[a:b] = (2.0 * np.sum(power, axis=1) - power[:, 0] - power[:, -1]) / self.n_fft
            # (a row's sum, not a matrix product: that sums a row in an order that depends on its place in the
            # matrix, and a frame's figures would change in the last bit with the frames computed with it)
            dc[a:b] = np.add.reduce(np.multiply(frames, self._window, out=frames), axis=1)
            power /= self._win_norm
            low_pow[a:b] = np.add.reduce(power[:, self._thud_bins], axis=1)
            band_pow[a:b] = np.add.reduceat(power[:, self._bin_lo : self._bin_hi], self._band_starts, axis=1)
        # less the frame's own DC (its window-weighted mean): an offset is no sound, and a constant is silence
        energy = np.maximum(energy - dc**2 / self._win_energy, 0.0)
        level = 10.0 * np.log10(band_pow / self._band_counts + _BAND_EPS)
        frame_db = 10.0 * np.log10(energy / self._win_energy + _EPS)

        # Frames that still hold the zeros before the stream count as silence: no floor, no onset strength;
        # so do frames of digital silence inside it, and the floors wait through them (see _band_floors)
        first_full = -(-self.n_fft // self.hop) - 1
        silent = (ks >= first_full) & (frame_db < self.config.silence_dbfs)
        full = (ks >= first_full) & ~silent
        # the block's hops, the m that frame ks[0] holds and then the newest of each later frame
        m = self.n_fft // self.hop
        hops = seg[seg.size - (ks.size - 1 + m) * self.hop :].reshape(-1, self.hop)
        hop_means = np.add.reduce(hops, axis=1) / self.hop  # (np.mean's arithmetic, without its overhead)
        self._hop_means = np.concatenate([self._hop_means, self._hop_means_of(hop_means[m - 1 :], silent)])
        # a frame holding a hop of digital silence (a dropout, the edge of the zeros a file starts with) is
        # sound, but not the room: it does not feed the floors, which hold their last value through it
        quiet = self._quiet_hops(hops, hop_means)
        first_hop = int(ks[0]) - m + 1  # the stream's hop that is the first row of hops
        if self._heard_at is None or first_hop < self._heard_at:
            # before the stream's first hop of sound, the edge of the zeros it starts with is silence too,
            # whatever its variance: which frame is the stream's first of sound then does not depend on the gain
            edge = self._zero_runs(hops)
            if self._heard_at is None:
                sound = np.flatnonzero(~quiet & ~edge)
                self._heard_at = first_hop + int(sound[0]) if sound.size else None
            before = first_hop + np.arange(hops.shape[0]) < (self._heard_at if self._heard_at is not None else np.inf)
            quiet |= edge & before
        feed = full & ~_any_in_windows(quiet, m)
        frame_db = np.where(feed, frame_db, np.nan)  # the noise floor leaves digital silence (and its edges) out
        # the stream's sound starts at the frame that ends with its first hop of sound, when digital silence
        # came first: the first frame to feed the floors less m - 1. Its onset strength starts lag frames later
        if not self._sounded:
            fed = np.flatnonzero(feed)
            first = int(fed[0]) if fed.size else ks.size
            self._silence_before = self._silence_before or bool(silent[:first].any())
            if fed.size:
                self._sounded = True
                if self._silence_before:
                    self._started = int(ks[first]) - (m - 1) + self._lag
        if self._opening_levels is not None:
            self._opening_levels.append(level[feed])
            self._opening_low.append(low_pow[feed])
        whitened = np.zeros_like(level)
        if full.any():
            floor = self._band_floors(level, feed)
            if self.config.band_range_db > 0:  # an empty band is as loud as the room's loudest, less the range
                least = np.max(floor, axis=1, keepdims=True) - self.config.band_range_db
                level, floor = np.maximum(level, least), np.maximum(floor, least)
            whitened[full] = np.maximum(level[full] - floor[full], 0.0)
        # Digital silence is cut out of the stream: each frame of sound (one that feeds the floors; and those
        # that hold the zeros before the stream) is compared with the lag frames of sound before it, however
        # much silence came between; the frames of silence and those that hold a hop of it have no onset
        # strength. So sound that comes back as the room was makes no rise; an impact that opens a gate does
        seq = feed | ((ks < first_full) & (not self._primed))  # (primed: the room learnt stands before the stream)
        w_seq = whitened[seq]
        hist = np.vstack([self._lev_hist, w_seq])
        ref = hist[: w_seq.shape[0]]
        widened = ref.copy()  # maximum over each band and its two neighbours
        np.maximum(widened[:, :-1], ref[:, 1:], out=widened[:, :-1])
        np.maximum(widened[:, 1:], ref[:, :-1], out=widened[:, 1:])
        rise = np.maximum(w_seq - widened, 0.0)
        self._lev_hist = hist[-self._lag :]
        if self.config.band_scale_s > 0:
            # each band's rise in units of that band's own typical rise over the past band_scale_s of sound:
            # a band that is always busy (voice, hum) counts less, a quiet band that clicks counts more
            cum = np.cumsum(np.vstack([self._flux_cum[-1:], rise]), axis=0)[1:]
            full_cum = np.vstack([self._flux_cum, cum])
            w = self._scale_n
            n_new = rise.shape[0]
            hi_rows = full_cum[w : w + n_new]  # C[k-1] for each new frame k
            lo_rows = full_cum[:n_new]  # C[k-1-W]
            scale = np.maximum((hi_rows - lo_rows) / w, self.config.min_band_scale_db)
            rise = np.minimum(rise / scale, self.config.max_band_ratio)
            self._flux_cum = full_cum[-(w + 1) :]
        flux = np.zeros_like(level)
        flux[seq] = rise
        odf = np.add.reduce(flux, axis=1) / flux.shape[1]  # (np.mean's arithmetic)
        high = np.sum(flux[:, self._high_bands], axis=1)
        total = np.maximum(np.sum(flux, axis=1), _EPS)
        click_share = np.where(odf > 0, high / total, 0.0)
        air_share = np.where(odf > 0, np.sum(flux[:, self._air_bands], axis=1) / total, 0.0)
        thud = np.zeros(ks.size)
        thud[seq] = self._thud_levels(low_pow[seq])
        self._odf = np.concatenate([self._odf, odf])
        self._thud = np.concatenate([self._thud, thud])
        self._seq_thud = np.concatenate([self._seq_thud, thud[seq]])
        self._seq_frames = np.concatenate([self._seq_frames, ks[seq]])
        self._seq_odf = np.concatenate([self._seq_odf, odf[seq]])
        self._seq_db = np.concatenate([self._seq_db, frame_db[seq]])
        self._click_share = np.concatenate([self._click_share, click_share])
        self._air_share = np.concatenate([self._air_share, air_share])
        self._next_frame = last

    def _band_floors(self, level: np.ndarray, feed: np.ndarray) -> np.ndarray:
        """Each band's floor at each of the block's frames (rows of ``level``); the frames marked ``feed`` (sound
        without a hop of digital silence) feed it, the others hold the last floor. See the module docstring, step 2.

        In the floor's clock (frames that feed it), ``floor[k] = rise * k + min(level[j] - rise * j)`` over every
        earlier frame ``j``, except while learning, for the first ``2 * floor_window_s`` of sound: then only over
        the last ``floor_window_s`` of it, so that a fade-in is forgotten, not kept for as long as the rise needs
        to climb from it. Rows before any frame has fed the floor get their own level (nothing above the floor).
        """
        lv = level[feed]
        n = lv.shape[0]
        clock = self._sound_frames + np.arange(n)
        self._sound_frames += n
        x = lv - clock[:, None] * self._floor_rise
        floor_x = np.empty_like(x)
        m = min(n, self._learn_left)
        if m > 0:  # still learning: the window's minimum
            past = np.concatenate([self._floor_hist, x[:m]])
            floor_x[:m] = _sliding_min(past, self._floor_n)[self._floor_hist.shape[0] :]
            self._floor_hist = past[-(self._floor_n - 1) :]
            self._learn_left -= m
            self._floor_x = floor_x[m - 1]
        if n > m:  # learnt: the running minimum
            floor_x[m:] = np.minimum.accumulate(np.concatenate([self._floor_x[None, :], x[m:]]), axis=0)[1:]
            self._floor_x = floor_x[n - 1]
        # every row: the floor of the latest frame that fed it, in this block or before
        fed = np.concatenate([self._last_floor[None, :], floor_x + clock[:, None] * self._floor_rise])
        floor = fed[np.cumsum(feed)]
        self._last_floor = fed[-1]
        no_floor = np.isnan(floor[:, 0])
        floor[no_floor] = level[no_floor]
        return floor

    def _thud_levels(self, low: np.ndarray) -> np.ndarray:
        """Each new frame of sound's thud level: the thud band's power ``low`` over its mean in the ``thud_ref``
        frames of sound that end ``thud_gap`` frames before it (its window's start), dB; 0 while there are fewer."""
        hist = np.concatenate([self._low_hist, low])
        ends = self._low_hist.size + np.arange(low.size) - self._thud_gap + 1  # one past each past's last frame
        ok = ends >= self._thud_ref
        out = np.zeros(low.size)
        if ok.any():
            past = np.add.reduce(_windows(hist, self._thud_ref)[ends[ok] - self._thud_ref], axis=1) / self._thud_ref
            out[ok] = 10.0 * np.log10((low[ok] + _BAND_EPS) / (past + _BAND_EPS))
        self._low_hist = hist[-(self._thud_gap - 1 + self._thud_ref) :]
        return out

    def _decide_peaks(self, final: bool) -> None:
        last_decidable = self._next_frame - 1 - self._post
        if last_decidable < self._next_decide:
            return
        cfg = self.config
        j0 = self._next_decide - self._odf_start
        j1 = last_decidable - self._odf_start
        # the threshold is at least delta_db (the strength is >= 0)
        cand = self._local_peaks(self._odf, j0, j1, rest=cfg.delta_db, least=cfg.delta_db)
        med, mad = self._threshold_stats(cand + self._odf_start, self._seq_odf)
        thresholds = med + np.maximum(cfg.delta_db, cfg.k_mad * 1.4826 * mad)
        lowest = cfg.k_mad if cfg.candidate_k_mad is None else min(cfg.k_mad, cfg.candidate_k_mad)
        reported = med + np.maximum(cfg.delta_db, lowest * 1.4826 * mad)  # candidates too (their strength is negative)
        peaks = [(int(j), False, float(thr), float(low)) for j, thr, low in zip(cand, thresholds, reported)]
        if cfg.thud_k_mad is not None:
            peaks = sorted(peaks + self._thud_peaks(j0, j1))
        for j, thud, thr, low in peaks:
            k = j + self._odf_start
            if thud:
                v = float(self._thud[j])
                if k - self._last_onset_frame < self._thud_after:
                    continue  # the thud of an onset already found (the thud band peaks later)
                # (another scale: a sound behind it is judged on its own, not against this strength)
                strength, value, click, thud_db = v - thr, 0.0, False, round(v, 2)
            else:
                v = float(self._odf[j])
                if v < low:
                    continue
                if k - self._last_onset_frame < self._min_gap and v < cfg.new_impact_ratio * self._last_onset_value:
                    continue  # the same impact's ringing
                strength, value, click, thud_db = 10.0 * np.log10(v / thr), v, float(self._air_share[j]) >= 0.5, None
            onset = self._refine(k, click)
            if onset is None:
                continue  # no audio the last impact's attack leaves for a new one
            if self._primed and onset < self._sound_from + self._pre_n_max:
                continue  # a peak needs pre_max_ms of past: a sound going on as the stream's sound starts is no onset
            self._last_onset_frame = k
            self._last_onset_value = value
            self._last_onset_sample = onset
            decided_at = (k + 1 + self._post) * self.hop
            share, air = float(self._click_share[j]), float(self._air_share[j])
            self._pending.append((onset, decided_at, strength, self._floor_before(k), share, air, thud_db))
        self._next_decide = last_decidable + 1

    def _local_peaks(self, series: np.ndarray, j0: int, j1: int, rest: float, least: float) -> np.ndarray:
        """The frames ``j0..j1`` (indices into ``series``, which is held as ``_odf`` is) whose value is over 0, at
        least ``least``, and the largest from ``pre`` frames before, or since the value last fell under ``rest``,
        to ``post`` after (step 4); none before ``warmup`` frames of the stream's sound, while the room is learnt."""
        lo = max(0, j0 - self._pre)
        seg = np.concatenate([np.full(self._pre - (j0 - lo), -np.inf), series[lo : j1 + self._post + 1]])
        here = series[j0 : j1 + 1]
        cand = np.nonzero((here >= _max_since_rest(seg, self._pre, self._post, rest)) & (here > 0.0))[0] + j0
        if not self._primed:
            cand = cand[cand + self._odf_start >= self._started + self._warmup]
        return cand[series[cand] >= least]

    def _thud_peaks(self, j0: int, j1: int) -> list[tuple[int, bool, float, float]]:
        """The thud band's peaks (see ``DetectorConfig.thud_k_mad``) among the frames ``j0..j1`` (indices into
        ``_thud``), as ``(j, True, threshold, threshold)``: the largest thud level from ``pre`` frames before to
        ``post`` after, at least ``thud_min_db`` and ``thud_k_mad`` robust standard deviations over the recent
        median."""
        cfg = self.config
        cand = self._local_peaks(self._thud, j0, j1, rest=-np.inf, least=cfg.thud_min_db)
        if not cand.size:
            return []
        med, mad = self._threshold_stats(cand + self._odf_start, self._seq_thud)
        thr = med + np.maximum(cfg.thud_min_db, cfg.thud_k_mad * 1.4826 * mad)
        return [(int(j), True, float(t), float(t)) for j, t in zip(cand, thr) if self._thud[j] >= t]

    def _threshold_stats(self, frames: np.ndarray, series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each peak frame, the median and the MAD (median absolute deviation) that its adaptive threshold
        ``median + max(delta_db, k_mad * 1.4826 * MAD)`` (step 4) is made of: of ``series`` (``_seq_odf``, the
        onset strength, or ``_seq_thud``, the thud level) of the
        ``threshold_window_s`` of sound before it (digital silence cut out), or of all the sound since the stream's
        sound started, when there is less."""
        at = np.searchsorted(self._seq_frames, frames)  # each candidate's place among the frames of sound
        since = 0 if self._primed else int(np.searchsorted(self._seq_frames, self._started))
        med = np.empty(frames.size)
        mad = np.empty(frames.size)
        full = at - since >= self._thr_w
        if full.any():
            windows = _windows(series, self._thr_w)[at[full] - self._thr_w]
            med[full] = _median_rows(windows)
            mad[full] = _median_rows(np.abs(windows - med[full][:, None]))
        for i in np.flatnonzero(~full):  # the stream's first threshold window: a shorter past
            past = series[since : at[i]]
            med[i] = _median_rows(past[None, :])[0]
            mad[i] = _median_rows(np.abs(past - med[i])[None, :])[0]
        return med, mad

    def _hop_means_of(self, means: np.ndarray, silent: np.ndarray) -> np.ndarray:
        """Each new hop's mean sample, from ``means`` (changed in place). The hop of a frame of digital silence
        (``silent``) repeats the mean before it, so that a mute does not drag the offset estimate to zero."""
        if silent.any():
            last = self._hop_means[-1] if self._hop_means.size else 0.0
            for i in np.flatnonzero(silent):  # carry the last mean of sound forward
                means[i] = means[i - 1] if i > 0 else last
        return means

    def _offset_before(self, sample: int) -> float:
        """The input's offset (DC) as it stood before ``sample``: the median of the means of the hops in the
        ``dc_window_s`` that end at or before it (fewer at the stream's start; 0 before its first hop). A
        median, so that an impact's own low-frequency swing does not move it."""
        j = sample // self.hop - 1 - self._odf_start
        j = min(j, self._hop_means.size - 1)
        if j < 0:
            return 0.0
        return float(_median_rows(self._hop_means[None, max(0, j - self._dc_n + 1) : j + 1])[0])

    def _floor_before(self, k: int) -> float:
        """Noise floor at frame ``k``: 10th percentile of the levels of the frames of sound in the window that
        ends with it (digital silence cut out), dBFS."""
        j = int(np.searchsorted(self._seq_frames, k, side="right"))
        past = self._seq_db[max(0, j - self._nf_len - 1) : j]
        past = past[~np.isnan(past)]  # nor the frames that hold the zeros before the stream, or a hop of silence
        return _percentile(past, 10) if past.size else -120.0

    def _refine(self, k: int, click: bool) -> int | None:
        """Sample-accurate onset for a peak at frame ``k`` (see the module docstring, step 5); None when the frame
        saw no audio after the last onset's attack (``refine_after_ms``)."""
        end = (k + 1 + self._post) * self.hop  # all the audio the decision had
        start = end - self.n_fft - (self._lag + 1 + self._post) * self.hop
        x = self._samples(start - 2, end)
        # a click is timed on the second difference (a steep high-pass), so voice and hum do not blur it
        # otherwise on the samples less the input's offset (DC) as it stood before them
        x = x[2:] - 2.0 * x[1:-1] + x[:-2] if click else x[2:] - self._offset_before(start)
        env = np.convolve(x**2, np.ones(self._env_n) / self._env_n, mode="full")[: x.size]
        # a new impact rises after the last one's attack: the audio before then is not searched
        skip = max(0, self._last_onset_sample + self._after_n - start)
        if skip >= env.size:
            return None
        start += skip
        env = env[skip:]
        peak_i = int(np.argmax(env))
        floor = _percentile(env[:peak_i], 20) if peak_i > 0 else float(env[0])
        target = floor + self.config.onset_fraction * (env[peak_i] - floor)
        above = np.nonzero(env[: peak_i + 1] >= target)[0]
        first = int(above[0]) if above.size else peak_i
        # walk back over the smoothing delay of the causal moving average
        first = max(0, first - self._env_n // 2)
        return start + first

    def _emit(self, final: bool) -> list[OnsetEvent]:
        out: list[OnsetEvent] = []
        keep: list[tuple[int, int, float, float, float, float, float | None]] = []
        for item in self._pending:
            onset, decided_at, strength, floor, share, air, thud = item
            ready_at = max(decided_at, onset + self._feat_n)
            if ready_at > self._n_seen:
                keep.append(item)
                continue
            out.append(self._make_event(onset, ready_at - onset, strength, floor, share, air, thud))
        self._pending = keep
        return out

    def _make_event(
        self, onset: int, delay: int, strength: float, floor: float, share: float, air_share: float, thud: float | None
    ) -> OnsetEvent:
        # less the input's offset (DC) as it stood before: an offset is no sound, and would hide an impact's
        # contrast and level
        dc = self._offset_before(max(0, onset - self._pre_n - self._gap_n))
        before = self._samples(max(0, onset - self._pre_n - self._gap_n), max(0, onset - self._gap_n)) - dc
        seg = self._samples(onset, onset + self._feat_n) - dc
        peak = float(np.maximum.reduce(np.abs(seg)))
        if before.size < self.hop or self._holds_silence(before):  # the room before it is the noise floor
            before2 = 10.0 ** (floor / 10.0)  # (digital silence, or the stream starts less than a hop before it)
        else:
            before2 = _mean_square(before)
        seg2 = seg * seg
        rms2 = float(np.add.reduce(seg2)) / seg2.size  # (np.mean's arithmetic, without its overhead)
        contrast = 10.0 * np.log10((rms2 + _EPS) / (before2 + _EPS))
        # impact level: the loudest impact_window_ms of the feature window (sliding mean square)
        win = min(seg.size, self._impact_n)
        csum = np.concatenate([[0.0], np.cumsum(seg2)])
        impact2 = float(np.maximum.reduce(csum[win:] - csum[:-win])) / win
        spec = np.abs(np.fft.rfft(seg * self._feat_window)) ** 2
        norm = self._feat_norm
        low = float(np.add.reduce(spec[self._low_bins])) / norm
        high = float(np.add.reduce(spec[self._high_bins])) / norm
        return OnsetEvent(
            sample=int(onset),
            sample_rate=self.sample_rate,
            peak_dbfs=round(float(20.0 * np.log10(peak + _EPS)), 2),
            loudness_db=round(float(10.0 * np.log10(rms2 + _EPS)), 2),
            impact_db=round(float(10.0 * np.log10(impact2 + _EPS)), 2),
            low_db=round(float(10.0 * np.log10(low + _EPS)), 2),
            high_db=round(float(10.0 * np.log10(high + _EPS)), 2),
            strength_db=round(float(strength), 2),
            floor_dbfs=round(float(floor), 2),
            contrast_db=round(float(contrast), 2),
            click_share=round(share, 3),
            detect_delay_samples=int(delay),
            air_share=round(air_share, 3),
            thud_db=thud,
        )

    def _quiet_hops(self, hops: np.ndarray, means: np.ndarray | None = None) -> np.ndarray:
        """Which hops (rows of ``hops``, whose means are ``means``, computed here if not given) are digital
        silence: a variance under ``silence_dbfs``."""
        if means is None:
            means = np.add.reduce(hops, axis=1) / self.hop  # (np.mean's arithmetic, without its overhead)
        spread = hops - means[:, None]  # (np.var's arithmetic)
        return np.add.reduce(spread * spread, axis=1) / self.hop < 10.0 ** (self.config.silence_dbfs / 10.0)

    def _zero_runs(self, hops: np.ndarray) -> np.ndarray:
        """Which hops (rows of ``hops``) hold a run of exact zeros half a hop long. A room's noise quantised to
        16 bits makes runs that long only when it is under about -100 dBFS (under a third of the last bit)."""
        run = -(-self.hop // 2)
        zeros = np.zeros((hops.shape[0], self.hop + 1), dtype=np.int32)
        np.cumsum(hops == 0.0, axis=1, out=zeros[:, 1:])
        return np.any(zeros[:, run:] - zeros[:, :-run] == run, axis=1)

    def _holds_silence(self, x: np.ndarray) -> bool:
        """Whether any hop-long stretch of ``x`` (from its end back) is digital silence."""
        n = x.size // self.hop
        hops = x[x.size - n * self.hop :].reshape(n, self.hop)
        return bool(np.any(self._quiet_hops(hops)))

    def _trim(self) -> None:
        """Drop history no longer needed (samples and onset strength)."""
        oldest_needed = self._n_seen - self._keep
        for onset, *_ in self._pending:
            oldest_needed = min(oldest_needed, onset)
        drop = oldest_needed - self._buf_start
        if drop > 4 * self._keep:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        odf_drop = (self._next_decide - max(self._thr_w, self._nf_len) - self._pre - 2) - self._odf_start
        if odf_drop > 4 * self._thr_w:
            self._odf = self._odf[odf_drop:]
            self._hop_means = self._hop_means[odf_drop:]
            self._click_share = self._click_share[odf_drop:]
            self._air_share = self._air_share[odf_drop:]
            self._thud = self._thud[odf_drop:]
            self._odf_start += odf_drop
        # the frames of sound: the threshold window and the noise floor's before the next decision
        seq_drop = int(np.searchsorted(self._seq_frames, self._next_decide)) - max(self._thr_w, self._nf_len) - 2
        if seq_drop > 4 * self._thr_w:
            self._seq_frames = self._seq_frames[seq_drop:]
            self._seq_odf = self._seq_odf[seq_drop:]
            self._seq_db = self._seq_db[seq_drop:]
            self._seq_thud = self._seq_thud[seq_drop:]


# Small, exact stand-ins for numpy helpers the detector calls once or more per block: ``sliding_window_view``,
# ``median`` and ``percentile`` carry tens of microseconds of checks each call, which at a block every 0.25 s
# cost more than the arithmetic. Each gives bit for bit what the numpy call it replaces gives (for input
# without NaN, which the detector never passes).
def _windows(a: np.ndarray, n: int, step: int = 1) -> np.ndarray:
    """Read-only view whose row ``i`` is ``a[i * step : i * step + n]`` (1-D ``a``, at least ``n`` long)."""
    stride = a.strides[0]
    rows = (a.shape[0] - n) // step + 1
    return np.lib.stride_tricks.as_strided(a, (rows, n), (stride * step, stride), writeable=False)


def _any_in_windows(mask: np.ndarray, n: int) -> np.ndarray:
    """Element ``i``: any of ``mask[i : i + n]`` (1-D boolean, at least ``n`` long)."""
    rows = mask.shape[0] - n + 1
    out = mask[:rows].copy()
    for j in range(1, n):
        out |= mask[j : j + rows]
    return out


def _mean_square(x: np.ndarray) -> float:
    """``float(np.mean(x**2))`` of a non-empty 1-D array, without np.mean's overhead (the same arithmetic)."""
    return float(np.add.reduce(x * x)) / x.size


def _max_since_rest(x: np.ndarray, pre: int, post: int, rest: float) -> np.ndarray:
    """Element ``i``: the maximum of ``x[i : i + pre + post + 1]``, leaving out the frames of its first ``pre``
    that come before one under ``rest`` (the strength fell back to rest since: an impact before it is over)."""
    rows = x.shape[0] - pre - post
    out = _max_in_windows(x[pre:], post + 1)[:rows]
    resting = np.zeros(rows, dtype=bool)  # a frame under rest lies between frame i + j and frame i + pre
    for j in range(pre - 1, -1, -1):
        frame = x[j : j + rows]
        np.maximum(out, np.where(resting, -np.inf, frame), out=out)
        resting |= frame < rest
    return out


def _max_in_windows(x: np.ndarray, n: int) -> np.ndarray:
    """Element ``i``: the maximum of ``x[i : i + n]`` (1-D, at least ``n`` long)."""
    rows = x.shape[0] - n + 1
    out = x[:rows].copy()
    for j in range(1, n):
        np.maximum(out, x[j : j + rows], out=out)
    return out


def _power(spec: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``spec.real**2 + spec.imag**2`` of a C-contiguous complex128 array into ``out``, squaring contiguous memory
    rather than strided parts. ``spec`` is overwritten (by its parts' squares)."""
    parts = spec.view(np.float64)
    np.multiply(parts, parts, out=parts)
    return np.add(parts[..., 0::2], parts[..., 1::2], out=out)


def _median_rows(w: np.ndarray) -> np.ndarray:
    """``np.median(w, axis=1)`` of a 2-D array with at least one column."""
    n = w.shape[1]
    h = n // 2
    if n % 2:
        return np.partition(w, h, axis=1)[:, h]
    part = np.partition(w, (h - 1, h), axis=1)
    return (part[:, h - 1] + part[:, h]) / 2.0


def _percentile(a: np.ndarray, q: float) -> float:
    """``float(np.percentile(a, q))`` (linear interpolation) of a non-empty 1-D array."""
    n = a.shape[0]
    virtual = (n - 1) * (q / 100.0)
    lo = int(virtual)
    hi = min(lo + 1, n - 1)
    part = np.partition(a, (lo, hi) if hi != lo else lo)
    below, above = float(part[lo]), float(part[hi])
    gamma = virtual - lo
    diff = above - below
    return above - diff * (1.0 - gamma) if gamma >= 0.5 else below + diff * gamma


def _sliding_min(x: np.ndarray, n: int) -> np.ndarray:
    """Row ``i`` of the result is the minimum of rows ``max(0, i - n + 1) .. i`` of ``x`` (per column).

    Van Herk / Gil-Werman: in chunks of ``n`` rows, a window is the suffix minimum of one chunk and
    the prefix minimum of the next, so the cost is a few passes over ``x`` whatever ``n``.
    """
    m = x.shape[0]
    if n <= 1 or m == 0:
        return x.copy()
    pad = (-(m + n - 1)) % n
    y = np.vstack([np.full((n - 1, x.shape[1]), np.inf), x, np.full((pad, x.shape[1]), np.inf)])
    chunks = y.reshape(-1, n, x.shape[1])
    prefix = np.minimum.accumulate(chunks, axis=1).reshape(y.shape)
    suffix = np.minimum.accumulate(chunks[:, ::-1], axis=1)[:, ::-1].reshape(y.shape)
    return np.minimum(suffix[:m], prefix[n - 1 : n - 1 + m])


def _band_map(freqs: np.ndarray, f_min: float, f_max: float, per_octave: int) -> tuple[np.ndarray, int]:
    """Assign FFT bins to log-spaced bands; bands with no bin are merged away. -1 = unused bin."""
    n_edges = int(np.floor(np.log2(f_max / f_min) * per_octave)) + 1
    edges = f_min * 2.0 ** (np.arange(n_edges) / per_octave)
    raw = np.searchsorted(edges, freqs, side="right") - 1
    raw[(freqs < f_min) | (freqs >= f_max)] = -1
    used = np.unique(raw[raw >= 0])
    remap = -np.ones(n_edges + 1, dtype=int)
    remap[used] = np.arange(used.size)
    out = np.where(raw >= 0, remap[np.maximum(raw, 0)], -1)
    return out, int(used.size)


def _bin_range(mask: np.ndarray) -> slice:
    """The slice of the bins ``mask`` marks, one run of them (a band of an ``rfftfreq``'s ascending bins)."""
    bins = np.flatnonzero(mask)
    if not bins.size:
        return slice(0, 0)
    assert bins[-1] - bins[0] + 1 == bins.size, "the bins of a band are one run"
    return slice(int(bins[0]), int(bins[-1]) + 1)
