"""Synthetic drill sessions with exact, sample-level truth.

Why this exists: real recordings are labelled from video, one frame (33 ms)
at a time and a constant 0-150 ms away from the audio, so they cannot say
whether the detector found a landing at the right sample, and they come at
one sample rate, one cadence and one room each. :func:`synthesize` renders a
session from a :class:`SessionSpec` (drill kind, sets, cadence, forces,
noise, music, talk, room, sample rate) and returns the audio together with
the exact first sample of every sound it placed. Tests use it to check the
detector across SNRs, cadences of 40-450 contacts/min and 8-96 kHz; the
bundled demo recording is made from :func:`demo_spec` by
:mod:`quietland.synth_cli`. numpy only; deterministic for a given seed.

Sound models (each instance randomised a little):

- landing: a decaying 60-150 Hz sinusoid (1-4 ms attack, 40-120 ms decay)
  plus a 5-15 ms exponentially decaying broadband noise click;
- rope slap: a 1-4 ms noise click high-passed above 2 kHz, no thud;
- take-off: a soft 30-80 ms high-band scuff; settle: a small quiet thud.

Every sound is normalised to unit peak and scaled by its force, so a
landing's peak amplitude is proportional to its force (amplitude ∝ force¹).
A room is a direct path plus an exponentially decaying noise tail,
convolved with all impacts (FFT overlap-add); it is causal, so truth samples
stay exact.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np

KINDS = ("landings", "single", "rope", "rope-alternate", "double-under")
"""Drill kinds :class:`SessionSpec` can render."""
BACKGROUNDS = ("white", "pink", "hum", "music", "pop", "sequenced", "babble", "metronome")
"""Background components :class:`SessionSpec` can mix."""
TRUTH_KINDS = ("landing", "double", "rope", "takeoff", "settle", "rebound")
"""Kinds of :class:`TruthEvent`."""


@dataclass(frozen=True)
class SessionSpec:
    """Everything needed to render one synthetic session; same spec, same audio."""

    sample_rate: int = 44100
    """Sample rate of the rendered audio, Hz (8000-96000)."""
    kind: str = "landings"
    """Drill kind, one of :data:`KINDS`:

    - ``landings``: two-foot hops, line hops, pogo; one landing per contact.
    - ``single``: discrete jumps (squat, broad, box); a soft take-off scuff
      0.2-0.8 s before each landing and 1-3 settling thuds 0.2-0.9 s after it,
      12-25 dB quieter than the landing. Needs ``cadence_per_min`` <= 60.
    - ``rope``: single-bounce jump rope; each contact is a rope slap 15-40 ms
      before a light two-foot landing, the slap often louder (-3 to +6 dB re
      a force-1.0 landing).
    - ``rope-alternate``: alternate-foot speed step; a rope slap 15-40 ms
      before each single-foot contact.
    - ``double-under``: per jump, two rope clicks (0 to +6 dB re a force-1.0
      landing) about half a jump cycle apart, the second 15-40 ms before the
      feet, and a soft landing.
    """
    sets: tuple[int, ...] = (10,)
    """Reps (landings) in each set, e.g. ``(10, 10)``."""
    cadence_per_min: float = 150.0
    """Contacts (for ``double-under``: jumps) per minute within a set."""
    rhythm_jitter: float = 0.03
    """Standard deviation of each contact interval as a fraction of the mean interval."""
    rest_s: float = 8.0
    """Time from the last landing of a set to the first landing of the next, s."""
    lead_in_s: float = 1.0
    """Background-only time before the first sound, s."""
    tail_s: float = 1.5
    """Time after the last landing to the end of the audio, s (longer if a sound would be cut)."""
    force_range: tuple[float, float] = (0.8, 1.2)
    """Range of relative landing force, drawn uniformly per landing; peak amplitude ∝ force."""
    set_force_ranges: tuple[tuple[float, float], ...] = ()
    """Per-set force ranges overriding ``force_range`` for the first sets (e.g. quiet, then normal landings)."""
    double_contact_prob: float = 0.0
    """Probability that a landing is two impacts 10-60 ms apart (feet not landing together)."""
    second_foot_db: float = 0.0
    """``rope-alternate`` only: level of the second foot's contacts (every other one) against the first
    foot's, dB; negative when one foot lands the quieter (an athlete's feet seldom land alike)."""
    rebound_db: float | None = None
    """``rope`` only: a beginner's double bounce. After each landing the athlete hops once more, with no
    rope under the feet, and lands again 45-55% of the way to the next rope pass, this many dB (give or
    take 2) under that landing; None: no rebound. A rep is still one rope pass."""
    snr_db: float | None = 40.0
    """Peak of the loudest landing over the RMS of the whole background, dB; None renders no background."""
    background: tuple[str, ...] = ("pink",)
    """Background components from :data:`BACKGROUNDS`, summed: ``white``/``pink`` noise, ``hum``
    (mains and harmonics), ``music`` (soft-attack chords and a quiet steady beat), ``pop`` (brighter
    chords under a drum kit: kick, snare, hi-hats), ``sequenced`` (``pop`` with every hit exactly on the
    beat, as a sequencer plays it), ``babble``
    (three talkers: formant-filtered glottal pulses, ~4 Hz syllables), ``metronome`` (a metronome
    app's clicks, exactly on the beat)."""
    background_db: tuple[float, ...] = ()
    """RMS level of each background component relative to the others, dB, in the order of
    ``background`` (missing entries are 0 dB). The sum is then scaled to meet ``snr_db``."""
    mains_hz: float = 50.0
    """Mains frequency of ``hum``, Hz: 50 or 60."""
    room_t60_s: float = 0.0
    """Reverberation time (decay by 60 dB) of the room applied to every impact, s; 0 = dry."""
    room_drr_db: float = 6.0
    """Direct-to-reverberant energy ratio of the room, dB."""
    level_dbfs: float = -12.0
    """Peak level of the loudest landing (highest force), dBFS. Rope clicks may be louder;
    the output is clipped to [-1, 1] if they reach full scale."""
    seed: int = 0
    """Seed of all randomness (numpy Generator)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sets", tuple(int(r) for r in self.sets))
        object.__setattr__(self, "background", tuple(self.background))
        object.__setattr__(self, "background_db", tuple(float(d) for d in self.background_db))
        object.__setattr__(self, "force_range", tuple(float(f) for f in self.force_range))
        object.__setattr__(self, "set_force_ranges", tuple(tuple(float(f) for f in r) for r in self.set_force_ranges))
        problem = _spec_problem(self)
        if problem:
            raise ValueError(problem)

    @property
    def period_s(self) -> float:
        """Mean time between contacts (jumps), s."""
        return 60.0 / self.cadence_per_min


def _spec_problem(spec: SessionSpec) -> str | None:
    """The first thing wrong with ``spec`` as one sentence, or None."""
    if not 8000 <= spec.sample_rate <= 96000:
        return f"sample_rate must be 8000-96000 Hz, got {spec.sample_rate}."
    if spec.kind not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}; got {spec.kind!r}."
    if not spec.sets or min(spec.sets) < 1:
        return f"sets must list at least one set of at least 1 rep, got {spec.sets}."
    if not 0 < spec.cadence_per_min <= 600:
        return f"cadence_per_min must be in (0, 600], got {spec.cadence_per_min}."
    if spec.kind == "single" and spec.cadence_per_min > 60:
        return f"kind 'single' needs cadence_per_min <= 60 (jumps at least 1 s apart), got {spec.cadence_per_min}."
    if spec.second_foot_db and spec.kind != "rope-alternate":
        return f"second_foot_db applies to kind 'rope-alternate' only, got it for {spec.kind!r}."
    if spec.rebound_db is not None and spec.kind != "rope":
        return f"rebound_db applies to kind 'rope' only, got it for {spec.kind!r}."
    if spec.rebound_db is not None and not -30 <= spec.rebound_db <= 0:
        return f"rebound_db must be in [-30, 0] dB, got {spec.rebound_db}."
    if not -20 <= spec.second_foot_db <= 20:
        return f"second_foot_db must be in [-20, 20] dB, got {spec.second_foot_db}."
    if not 0 <= spec.rhythm_jitter <= 0.2:
        return f"rhythm_jitter must be in [0, 0.2], got {spec.rhythm_jitter}."
    if len(spec.sets) > 1 and spec.rest_s < spec.period_s:
        return f"rest_s must be at least one contact interval ({spec.period_s:.3f} s), got {spec.rest_s}."
    if spec.lead_in_s < 0 or spec.tail_s < 0:
        return "lead_in_s and tail_s must not be negative."
    if len(spec.force_range) != 2 or not 0 < spec.force_range[0] <= spec.force_range[1]:
        return f"force_range must be (low, high) with 0 < low <= high, got {spec.force_range}."
    for r in spec.set_force_ranges:
        if len(r) != 2 or not 0 < r[0] <= r[1]:
            return f"set_force_ranges must hold (low, high) pairs with 0 < low <= high, got {r}."
    if len(spec.set_force_ranges) > len(spec.sets):
        return "set_force_ranges has more entries than sets."
    if not 0 <= spec.double_contact_prob <= 1:
        return f"double_contact_prob must be in [0, 1], got {spec.double_contact_prob}."
    unknown = [b for b in spec.background if b not in BACKGROUNDS]
    if unknown:
        return f"background must name only {', '.join(BACKGROUNDS)}; got {unknown[0]!r}."
    if spec.snr_db is not None and not spec.background:
        return "snr_db needs at least one background component (or snr_db=None for no background)."
    if len(spec.background_db) > len(spec.background):
        return "background_db has more levels than background has components."
    if spec.mains_hz not in (50.0, 60.0):
        return f"mains_hz must be 50 or 60, got {spec.mains_hz}."
    if spec.room_t60_s < 0:
        return f"room_t60_s must not be negative, got {spec.room_t60_s}."
    return None


@dataclass(frozen=True)
class TruthEvent:
    """One sound placed in a synthetic session."""

    sample: int
    """First sample of the sound (where it is first non-zero), counted from the start of the audio."""
    kind: str
    """One of :data:`TRUTH_KINDS`: ``landing`` (one per rep), ``double`` (second impact of a
    double contact), ``rope`` (rope slap or click), ``takeoff``, ``settle`` or ``rebound`` (a double
    bounce's second, rope-less hop)."""
    force: float
    """Peak amplitude on the landing-force scale: the relative force for ``landing`` and
    ``double``; for other kinds the force a landing with the same peak would have."""
    set_number: int
    """1-based set the sound belongs to."""


@dataclass(frozen=True, eq=False)
class SyntheticSession:
    """A rendered session: audio and the exact truth of every sound in it."""

    audio: np.ndarray
    """Mono samples, float32, shape ``(n,)``, within [-1, 1]."""
    sample_rate: int
    """Sample rate of ``audio``, Hz."""
    truth: tuple[TruthEvent, ...]
    """Every sound placed, in order of ``sample``."""
    spec: SessionSpec
    """The spec rendered."""

    @property
    def duration_s(self) -> float:
        """Length of the audio, s."""
        return len(self.audio) / self.sample_rate

    def samples_of(self, kind: str) -> np.ndarray:
        """First samples of all truth events of ``kind``, int64, shape ``(k,)``, ascending."""
        return np.array([e.sample for e in self.truth if e.kind == kind], dtype=np.int64)

    @property
    def landing_samples(self) -> np.ndarray:
        """First samples of the landings (one per rep), int64, ascending."""
        return self.samples_of("landing")

    @property
    def landing_times_s(self) -> np.ndarray:
        """Landing times in seconds from the start of the audio, float64, ascending."""
        return self.landing_samples / self.sample_rate

    @property
    def count(self) -> int:
        """The true rep count: number of landings (for ``double-under``, one per jump)."""
        return sum(1 for e in self.truth if e.kind == "landing")


# --- sounds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ImpactShape:
    """Ranges for one family of thud-plus-click impacts; each instance draws uniformly in them."""

    thud_hz: tuple[float, float]
    attack_ms: tuple[float, float]
    decay_ms: tuple[float, float]
    """Time for the thud to fall by 40 dB, ms; the sound is cut at 1.5x the longest (-60 dB)."""
    click_ms: tuple[float, float]
    """Time for the click to fall by 40 dB, ms."""
    click_gain: tuple[float, float]
    """Click peak relative to thud peak."""


LN100 = np.log(100.0)
"""Natural-log decay that makes an exponential envelope fall by 40 dB."""
ROPE_CUTOFF_HZ = 2000.0
"""Rope slaps and take-off scuffs carry no energy below this, Hz (before enveloping)."""
BATCH = 128
"""Sounds rendered per vectorised batch (bounds memory at 96 kHz)."""


def _impacts(rng: np.random.Generator, n: int, fs: int, shape: _ImpactShape) -> np.ndarray:
    """``n`` thud-plus-click impacts, float32, shape ``(n, length)``, each with unit peak."""
    length = int(np.ceil(1.5e-3 * shape.decay_ms[1] * fs))
    t = (np.arange(length) + 0.5) / fs  # sound begins half a sample before its first sample
    hz = rng.uniform(*shape.thud_hz, (n, 1))
    attack_s = rng.uniform(*shape.attack_ms, (n, 1)) / 1e3
    decay_s = rng.uniform(*shape.decay_ms, (n, 1)) / 1e3
    click_s = rng.uniform(*shape.click_ms, (n, 1)) / 1e3
    click_gain = rng.uniform(*shape.click_gain, (n, 1))
    thud = (1 - np.exp(-t / attack_s)) * np.exp(-t * LN100 / decay_s) * np.sin(2 * np.pi * hz * t)
    click = rng.standard_normal((n, length)) * np.exp(-t * LN100 / click_s)
    sound = _unit_peak(thud) + click_gain * _unit_peak(click)
    return _unit_peak(sound).astype(np.float32)


def _noise_bursts(rng: np.random.Generator, n: int, fs: int, dur_ms: tuple[float, float], soft: bool) -> np.ndarray:
    """``n`` bursts of noise high-passed at :data:`ROPE_CUTOFF_HZ`, float32, ``(n, length)``, unit peak.

    ``soft=False``: a click, exponential decay by 40 dB over the drawn duration
    (rope slap). ``soft=True``: a half-sine envelope over the duration (take-off scuff).
    """
    length = int(np.ceil((1.0 if soft else 1.5) * 1e-3 * dur_ms[1] * fs)) + 1
    t = (np.arange(length) + 0.5) / fs
    dur_s = rng.uniform(*dur_ms, (n, 1)) / 1e3
    noise = _band_noise(rng, (n, length), fs, ROPE_CUTOFF_HZ)
    if soft:
        envelope = np.where(t < dur_s, np.sin(np.pi * np.minimum(t / dur_s, 1.0)), 0.0)
    else:
        envelope = np.exp(-t * LN100 / dur_s)
    return _unit_peak(noise * envelope).astype(np.float32)


def _band_noise(rng: np.random.Generator, shape: tuple[int, ...], fs: int, lo_hz: float, hi_hz: float = np.inf) -> np.ndarray:
    """White noise of ``shape`` (samples along the last axis) with every component outside ``[lo_hz, hi_hz]``
    removed (an FFT brick wall)."""
    spectrum = np.fft.rfft(rng.standard_normal(shape), axis=-1)
    f = np.fft.rfftfreq(shape[-1], 1 / fs)
    spectrum[..., (f < lo_hz) | (f > hi_hz)] = 0
    return np.fft.irfft(spectrum, shape[-1], axis=-1)


def _unit_peak(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to a peak absolute value of 1."""
    return x / np.abs(x).max(axis=-1, keepdims=True)


SOUNDS = {
    "landing": partial(_impacts, shape=_ImpactShape((60, 150), (1, 4), (40, 120), (5, 15), (0.3, 0.8))),
    "bounce": partial(_impacts, shape=_ImpactShape((70, 140), (1, 3), (40, 90), (4, 10), (0.3, 0.8))),
    "step": partial(_impacts, shape=_ImpactShape((90, 170), (1, 3), (25, 60), (3, 8), (0.2, 0.6))),
    "soft": partial(_impacts, shape=_ImpactShape((60, 120), (2, 5), (40, 90), (5, 12), (0.1, 0.3))),
    "settle": partial(_impacts, shape=_ImpactShape((80, 200), (1, 4), (30, 60), (3, 8), (0.05, 0.3))),
    "rope": partial(_noise_bursts, dur_ms=(1, 4), soft=False),
    "takeoff": partial(_noise_bursts, dur_ms=(30, 80), soft=True),
}
"""Sound renderers by name: ``(rng, n, sample_rate) -> float32 (n, length)`` with unit peaks."""
LANDING_SOUND = {"landings": "landing", "single": "landing", "rope": "bounce", "rope-alternate": "step",
                 "double-under": "soft"}
"""Which impact each drill kind lands with."""


# --- the plan: when each sound happens -------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    """A sound in the plan, before rendering."""

    time_s: float
    """Start of the sound, s from the start of the audio."""
    kind: str
    """Truth kind (see :class:`TruthEvent`)."""
    force: float
    """Peak amplitude on the landing-force scale."""
    set_number: int
    """1-based set."""
    sound: str
    """Renderer in :data:`SOUNDS`."""


def _db(level_db: float) -> float:
    return float(10.0 ** (level_db / 20.0))


def _plan(spec: SessionSpec, rng: np.random.Generator) -> list[_Placed]:
    """Every sound of the session with its time, the first sound at ``lead_in_s``, in time order."""
    placed: list[_Placed] = []
    t = 0.0
    for set_number, reps in enumerate(spec.sets, 1):
        jitter = np.clip(1 + spec.rhythm_jitter * rng.standard_normal(reps + 1), 0.5, 1.5)
        intervals = spec.period_s * jitter
        intervals[0] = spec.period_s  # before the first rep; intervals[i + 1] follows rep i
        forces = rng.uniform(*(spec.set_force_ranges[set_number - 1] if set_number <= len(spec.set_force_ranges)
                               else spec.force_range), reps)
        forces[1::2] *= _db(spec.second_foot_db)  # (alternate foot: the second foot's contacts)
        if set_number > 1:
            t += spec.rest_s
        for i in range(reps):
            if i > 0:
                t += intervals[i]
            after = intervals[i + 1] if i + 1 < reps else spec.period_s
            placed += _contact(spec, rng, t, float(forces[i]), intervals[i], after, set_number)
    shift = spec.lead_in_s - min(p.time_s for p in placed)
    return sorted((replace(p, time_s=p.time_s + shift) for p in placed), key=lambda p: p.time_s)


def _contact(spec: SessionSpec, rng: np.random.Generator, t: float, force: float,
             before_s: float, after_s: float, set_number: int) -> list[_Placed]:
    """The sounds of one contact (jump) whose landing is at ``t`` s; ``before_s``/``after_s`` are
    the intervals to the neighbouring landings, used to keep sounds of adjacent contacts in order."""
    landing = LANDING_SOUND[spec.kind]
    out = [_Placed(t, "landing", force, set_number, landing)]
    if rng.random() < spec.double_contact_prob:
        out.append(_Placed(t + rng.uniform(0.010, 0.060), "double", force * rng.uniform(0.4, 0.9), set_number, landing))
    if spec.kind == "single":
        lead = rng.uniform(0.2, max(0.2, min(0.8, 0.4 * before_s)))
        out.append(_Placed(t - lead, "takeoff", force * _db(rng.uniform(-24, -14)), set_number, "takeoff"))
        latest = max(0.2, min(0.9, 0.45 * after_s))
        k = min(int(rng.integers(1, 4)), 1 + int((latest - 0.2) / 0.1))  # settles >= 0.1 s apart
        delays = 0.2 + np.sort(rng.uniform(0, latest - 0.2 - 0.1 * (k - 1), k)) + 0.1 * np.arange(k)
        for d in delays:
            out.append(_Placed(t + d, "settle", force * _db(rng.uniform(-25, -12)), set_number, "settle"))
    elif spec.kind in ("rope", "rope-alternate"):
        gap = rng.uniform(0.015, max(0.015, min(0.040, 0.3 * before_s)))
        out.append(_Placed(t - gap, "rope", _db(rng.uniform(-3, 6)), set_number, "rope"))
        if spec.rebound_db is not None:
            level = spec.rebound_db + rng.uniform(-2, 2)
            out.append(_Placed(t + rng.uniform(0.45, 0.55) * after_s, "rebound", force * _db(level), set_number, landing))
    elif spec.kind == "double-under":
        gap = rng.uniform(0.015, 0.040)
        half = 0.5 * before_s * rng.uniform(0.9, 1.1)
        out.append(_Placed(t - gap - half, "rope", _db(rng.uniform(0, 6)), set_number, "rope"))
        out.append(_Placed(t - gap, "rope", _db(rng.uniform(0, 6)), set_number, "rope"))
    return out


# --- rendering -------------------------------------------------------------------------------


def synthesize(spec: SessionSpec) -> SyntheticSession:
    """Render ``spec``: impacts (with room) scaled to ``level_dbfs``, plus background at ``snr_db``.

    Randomness comes from four independent streams of ``spec.seed`` (plan, sounds, room,
    background), so the same spec with ``snr_db=None`` renders exactly the same impacts
    without background: ``noisy - clean`` is the background. Output is clipped to [-1, 1].
    """
    fs = spec.sample_rate
    plan_rng, sound_rng, room_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(4))
    plan = _plan(spec, plan_rng)
    starts = np.array([int(round(p.time_s * fs)) for p in plan], dtype=np.int64)
    loudest = max((i for i, p in enumerate(plan) if p.kind == "landing"), key=lambda i: plan[i].force)
    last_landing = max(p.time_s for p in plan if p.kind == "landing")
    n = int(np.ceil((last_landing + spec.tail_s) * fs))
    impacts, loudest_sound = _render(plan, starts, n, fs, sound_rng, loudest)
    if spec.room_t60_s > 0:
        room = _room_response(spec.room_t60_s, spec.room_drr_db, fs, room_rng)
        impacts = _convolve(impacts, room)[: len(impacts)]
        loudest_sound = _convolve(loudest_sound, room)
    audio = impacts * np.float32(_db(spec.level_dbfs) / (plan[loudest].force * np.abs(loudest_sound).max()))
    if spec.snr_db is not None:
        audio += _background(spec, len(audio), noise_rng) * np.float32(_db(spec.level_dbfs - spec.snr_db))
    np.clip(audio, -1.0, 1.0, out=audio)
    truth = tuple(TruthEvent(int(s), p.kind, p.force, p.set_number) for s, p in zip(starts, plan))
    return SyntheticSession(audio=audio, sample_rate=fs, truth=truth, spec=spec)


def _render(plan: list[_Placed], starts: np.ndarray, n: int, fs: int, rng: np.random.Generator,
            keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Dry impact track (float32, at least ``n`` samples, long enough for every sound) with each
    sound at its start and its force as peak; also the unit-peak sound of plan entry ``keep``."""
    track = np.zeros(n, dtype=np.float32)
    kept = np.zeros(1, dtype=np.float32)
    names = np.array([p.sound for p in plan])
    for name in SOUNDS:
        index = np.flatnonzero(names == name)
        if len(index) == 0:
            continue
        for batch in np.array_split(index, -(-len(index) // BATCH)):
            sounds = SOUNDS[name](rng, len(batch), fs)
            need = int(starts[batch].max()) + sounds.shape[1]
            if need > len(track):
                track = np.concatenate([track, np.zeros(need - len(track), dtype=np.float32)])
            for i, sound in zip(batch, sounds):
                track[starts[i]: starts[i] + len(sound)] += np.float32(plan[i].force) * sound
                if i == keep:
                    kept = sound
    return track, kept


def _room_response(t60_s: float, drr_db: float, fs: int, rng: np.random.Generator) -> np.ndarray:
    """Room impulse response, float32, length ``t60_s`` s: 1 at sample 0 (direct sound), then from
    2 ms a noise tail decaying by 60 dB over ``t60_s``, with energy ``drr_db`` below the direct sound."""
    length = max(2, int(round(t60_s * fs)))
    pre = min(length - 1, max(1, int(round(0.002 * fs))))
    t = np.arange(length - pre) / fs
    tail = rng.standard_normal(length - pre) * np.exp(-t * np.log(1000.0) / t60_s)
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(tail**2))
    return np.concatenate([[1.0], np.zeros(pre - 1), tail]).astype(np.float32)


def _convolve(x: np.ndarray, h: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """Full linear convolution of float32 ``x`` (long) with ``h`` by FFT overlap-add, float32,
    shape ``(len(x) + len(h) - 1,)``."""
    block = max(block, 1 << int(np.ceil(np.log2(len(h)))))
    nfft = 1 << int(np.ceil(np.log2(block + len(h) - 1)))
    spectrum = np.fft.rfft(h.astype(np.float32), nfft)
    y = np.zeros(len(x) + nfft, dtype=np.float32)
    for s in range(0, len(x), block):
        y[s: s + nfft] += np.fft.irfft(np.fft.rfft(x[s: s + block], nfft) * spectrum, nfft)
    return y[: len(x) + len(h) - 1]


# --- background ------------------------------------------------------------------------------


def _background(spec: SessionSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    """The summed background, float32, shape ``(n,)``, with an RMS of exactly 1."""
    levels = spec.background_db + (0.0,) * (len(spec.background) - len(spec.background_db))
    total = np.zeros(n, dtype=np.float32)
    for name, level_db in zip(spec.background, levels):
        part = BACKGROUND_GENERATORS[name](rng, n, spec)
        total += part * np.float32(_db(level_db) / _rms(part))
    return total / np.float32(_rms(total))


def _rms(x: np.ndarray) -> float:
    """Root-mean-square of a 1-D array."""
    return float(np.sqrt(np.dot(x, x) / len(x)))


def _white(rng: np.random.Generator, n: int, spec: SessionSpec) -> np.ndarray:
    return rng.standard_normal(n, dtype=np.float32)


def _pink(rng: np.random.Generator, n: int, spec: SessionSpec) -> np.ndarray:
    """Noise with power ∝ 1/f down to about 4 Hz: white noise through a linear-phase FIR."""
    fs = spec.sample_rate
    taps = 1 << int(np.ceil(np.log2(fs / 4)))
    f = np.fft.rfftfreq(taps, 1 / fs)
    magnitude = 1 / np.sqrt(np.maximum(f, fs / taps))
    magnitude[0] = 0
    fir = np.roll(np.fft.irfft(magnitude, taps), taps // 2) * np.hanning(taps)
    return _convolve(rng.standard_normal(n + taps - 1, dtype=np.float32), fir)[taps - 1: taps - 1 + n]


def _hum(rng: np.random.Generator, n: int, spec: SessionSpec) -> np.ndarray:
    """Mains hum: the mains frequency and five harmonics (odd ones strong), one second tiled."""
    fs = spec.sample_rate
    t = np.arange(fs) / fs
    weights = (1.0, 0.4, 0.7, 0.2, 0.4, 0.1)
    second = sum(w * np.sin(2 * np.pi * k * spec.mains_hz * t + rng.uniform(0, 2 * np.pi))
                 for k, w in enumerate(weights, 1))
    return np.resize(second.astype(np.float32), n)


def _fold(loop: np.ndarray, length: int) -> np.ndarray:
    """Wrap what a loop render wrote past ``length`` back onto its start, so tiling is seamless."""
    out = loop[:length].copy()
    out[: len(loop) - length] += loop[length:]
    return out


def _chords(rng: np.random.Generator, fs: int, beat_s: float, harmonics: tuple[int, ...]) -> np.ndarray:
    """The I-vi-IV-V loop (4 beats a chord, soft 0.15-0.3 s attacks, root 110-208 Hz, a bass an octave
    under each chord's root), each note with ``harmonics`` (amplitude 1/h), 16 beats long."""
    chord_n = int(round(4 * beat_s * fs))
    root_hz = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    t = np.arange(chord_n + int(0.4 * fs)) / fs
    attack_s = rng.uniform(0.15, 0.3)
    envelope = np.minimum(1, t / attack_s) ** 2 * np.exp(-np.maximum(0, t - chord_n / fs) / 0.08)
    chords = np.zeros(4 * chord_n + len(t))
    for k, steps in enumerate(((0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14))):
        notes = [root_hz * 2 ** (s / 12) for s in steps] + [root_hz * 2 ** (steps[0] / 12 - 1)]
        tone = sum(np.sin(2 * np.pi * h * f * t + rng.uniform(0, 2 * np.pi)) / h for f in notes for h in harmonics
                   if h * f < fs / 2)
        chords[k * chord_n: k * chord_n + len(t)] += envelope * tone
    return _fold(chords, 4 * chord_n)


def _music(rng: np.random.Generator, n: int, spec: SessionSpec) -> np.ndarray:
    """A four-chord loop (I-vi-IV-V, 4 beats each, soft 0.15-0.3 s attacks) plus a quiet kick
    on every beat 14 dB under the chords, at 84-126 beats/min; tiled."""
    fs = spec.sample_rate
    beat_s = 60.0 / rng.uniform(84, 126)
    chords = _chords(rng, fs, beat_s, (1, 2, 3))
    beat_n = int(round(beat_s * fs))
    tk = np.arange(min(beat_n, int(0.25 * fs))) / fs
    kick = (1 - np.exp(-tk / 0.003)) * np.exp(-tk / 0.05) * np.sin(2 * np.pi * 55 * tk)
    kicks = np.zeros(len(chords))
    for start in range(0, 16 * beat_n, beat_n):
        kicks[start: start + len(kick)] += kick[: max(0, len(chords) - start)]
    loop = chords / _rms(chords) + _db(-14) * kicks / _rms(kicks)
    return np.resize(loop.astype(np.float32), n)


def _drum_kit(rng: np.random.Generator, fs: int) -> dict[str, np.ndarray]:
    """One hit of each drum, peak 1: ``kick`` (a sine falling from 120 to 50 Hz with a beater click),
    ``snare`` (a 190 Hz body and a noise burst at 150 Hz to 8 kHz), ``hat`` and ``open`` (noise above
    7 kHz, or the top 40% of the band at low sample rates, decaying in 20 and 120 ms)."""
    nyquist = fs / 2

    def noise(duration_s: float, lo_hz: float, hi_hz: float) -> np.ndarray:
        return _band_noise(rng, (int(duration_s * fs),), fs, lo_hz, hi_hz)

    def times(duration_s: float) -> np.ndarray:
        return np.arange(int(duration_s * fs)) / fs

    t = times(0.3)
    attack = 1 - np.exp(-t / 0.0005)
    kick = np.sin(2 * np.pi * (50 * t + 70 * 0.015 * (1 - np.exp(-t / 0.015)))) * np.exp(-t / 0.06)
    kick += 0.2 * noise(0.3, 1000, min(6000, nyquist)) * np.exp(-t / 0.002)
    snare = 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.04) + noise(0.3, 150, min(8000, nyquist)) * np.exp(-t / 0.07)
    high = min(7000.0, 0.6 * nyquist)
    hat = noise(0.3, high, nyquist) * np.exp(-t / 0.02)
    to = times(0.6)
    open_hat = noise(0.6, high, nyquist) * np.exp(-to / 0.12) * (1 - np.exp(-to / 0.0005))
    hits = {"kick": kick * attack, "snare": snare * attack, "hat": hat * attack, "open": open_hat}
    return {name: _unit_peak(x) for name, x in hits.items()}


DRUM_LEVELS_DB = {"kick": 0.0, "snare": -1.0, "hat": -10.0, "open": -9.0}
"""Peak of each drum in ``pop``, dB relative to the kick."""


def _pop(rng: np.random.Generator, n: int, spec: SessionSpec, humanise_s: float = 0.008) -> np.ndarray:
    """Pop music: the chord loop of ``music``, brighter (8 harmonics a note), under a drum kit at its
    tempo (84-126 beats/min): kick on beats 1 and 3, snare on 2 and 4, a closed hi-hat on every eighth
    and an open one on each bar's last; each hit up to ``humanise_s`` (8 ms) off the grid, as a drummer
    plays (``sequenced``: 0, exactly on it), and up to 3 dB softer; the
    drums as loud (RMS) as the chords; tiled. Unlike ``music``, its hits are sharp broadband transients
    on a steady beat, as a rope's contacts are."""
    fs = spec.sample_rate
    beat_s = 60.0 / rng.uniform(84, 126)
    chords = _chords(rng, fs, beat_s, tuple(range(1, 9)))
    kit = _drum_kit(rng, fs)
    drums = np.zeros(len(chords) + int(0.6 * fs))
    for k in range(32):  # the eighths of 4 bars
        beat, offbeat = divmod(k, 2)
        names = ["open" if k % 8 == 7 else "hat"]
        if not offbeat:
            names.append("snare" if beat % 2 else "kick")
        for name in names:
            start = max(0, int(round((k * beat_s / 2 + rng.uniform(-humanise_s, humanise_s)) * fs)))
            hit = kit[name] * _db(DRUM_LEVELS_DB[name] - rng.uniform(0, 3))
            drums[start: start + len(hit)] += hit
    drums = _fold(drums, len(chords))
    loop = chords / _rms(chords) + drums / _rms(drums)
    return np.resize(loop.astype(np.float32), n)


VOWEL_FORMANTS_HZ = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410),
                     (300, 870, 2240), (660, 1720, 2410), (490, 1350, 1690))
"""First three formants of seven vowels (adult male averages), Hz."""
FORMANT_BANDWIDTHS_HZ = (80.0, 100.0, 140.0)


def _babble(rng: np.random.Generator, n: int, spec: SessionSpec, talkers: int = 3, loop_s: float = 12.0) -> np.ndarray:
    """Speech-like babble of ``talkers`` voices, a ``loop_s`` s loop tiled: per syllable (0.12-0.32 s,
    so ~4 Hz amplitude modulation, with occasional pauses) a glottal pulse train at 95-230 Hz
    (gliding), shaped by a vowel's formants and a -6 dB/octave tilt, under a sin² envelope."""
    fs = spec.sample_rate
    length = int(loop_s * fs)
    out = np.zeros(length + int(0.4 * fs))
    for _ in range(talkers):
        f0_hz, level = rng.uniform(95, 230), _db(rng.uniform(-3, 3))
        start_s = rng.uniform(0, 0.3)
        while start_s < loop_s:
            dur_s = rng.uniform(0.12, 0.32)
            m = int(dur_s * fs)
            pitch = f0_hz * rng.uniform(0.85, 1.15) * np.linspace(1, rng.uniform(0.85, 1.1), m)
            cycles = np.floor(np.cumsum(pitch / fs) + rng.uniform())
            pulses = np.diff(cycles, prepend=cycles[0])
            f = np.fft.rfftfreq(m, 1 / fs)
            gain = 1 / np.sqrt(1 + (f / 200) ** 2)
            for fk, bk in zip(VOWEL_FORMANTS_HZ[rng.integers(len(VOWEL_FORMANTS_HZ))], FORMANT_BANDWIDTHS_HZ):
                gain *= fk**2 / np.sqrt((fk**2 - f**2) ** 2 + (bk * f) ** 2)
            voiced = np.fft.irfft(np.fft.rfft(pulses) * gain, m) * np.sin(np.pi * np.arange(m) / m) ** 2
            i = int(start_s * fs)
            out[i: i + m] += level * voiced / (_rms(voiced) + 1e-12)
            start_s += dur_s + (rng.uniform(0.2, 0.6) if rng.random() < 0.15 else 0.0)
    return np.resize(_fold(out, length).astype(np.float32), n)


def _metronome(rng: np.random.Generator, n: int, spec: SessionSpec) -> np.ndarray:
    """A metronome app at 80-160 beats/min: a 20 ms click (a tone of 1.6-2.4 kHz and a tick of noise
    above 2 kHz, both decaying in 4 ms) on every beat, the first of each four a fifth higher and
    6 dB louder. Its beat is exact to the sample, as a machine's is (unlike ``pop``'s drums)."""
    fs = spec.sample_rate
    beat_s = 60.0 / rng.uniform(80, 160)
    t = np.arange(int(0.02 * fs)) / fs
    tone_hz = min(rng.uniform(1600, 2400), 0.3 * fs)
    tick = np.fft.irfft(np.fft.rfft(rng.standard_normal(t.size)) * (np.fft.rfftfreq(t.size, 1 / fs) > 2000), t.size)
    tick /= np.max(np.abs(tick)) + 1e-12

    def click(hz: float) -> np.ndarray:
        return (np.sin(2 * np.pi * hz * t) + 0.5 * tick) * np.exp(-t / 0.004)

    clicks = (_db(6) * click(min(1.5 * tone_hz, 0.45 * fs)), click(tone_hz))
    out = np.zeros(n + t.size, dtype=np.float64)
    start = rng.uniform(0, beat_s)
    for k in range(int((n / fs - start) / beat_s) + 1):
        i = int(round((start + k * beat_s) * fs))
        out[i: i + t.size] += clicks[k % 4 != 0]
    return out[:n].astype(np.float32)


BACKGROUND_GENERATORS = {
    "white": _white, "pink": _pink, "hum": _hum, "music": _music, "pop": _pop,
    "sequenced": partial(_pop, humanise_s=0.0), "babble": _babble, "metronome": _metronome,
}
"""Background renderers by name: ``(rng, n, spec) -> float32 (n,)``, any level."""


# --- presets ---------------------------------------------------------------------------------

PRESETS: dict[str, SessionSpec] = {
    "demo": SessionSpec(
        kind="landings", sets=(20, 20, 20), cadence_per_min=150, rest_s=8.0, lead_in_s=1.0, tail_s=1.5,
        force_range=(0.6, 1.4), double_contact_prob=0.04, snr_db=35.0, background=("pink", "babble"),
        background_db=(0.0, -4.0), room_t60_s=0.25, seed=7),
    "pogo": SessionSpec(
        kind="landings", sets=(10, 10, 10), cadence_per_min=96, rest_s=20.0, force_range=(0.8, 1.3),
        double_contact_prob=0.02, snr_db=40.0, background=("white", "hum"), background_db=(0.0, -6.0),
        room_t60_s=0.3),
    "squat-jumps": SessionSpec(
        kind="single", sets=(6, 6, 6), cadence_per_min=12, rest_s=30.0, force_range=(0.8, 1.5), snr_db=40.0,
        background=("pink",), room_t60_s=0.4),
    "rope": SessionSpec(
        kind="rope", sets=(80, 80), cadence_per_min=160, rest_s=20.0, force_range=(0.7, 1.2), snr_db=30.0,
        background=("pink", "hum"), background_db=(0.0, -3.0), room_t60_s=0.3),
    "rope-alternate": SessionSpec(
        kind="rope-alternate", sets=(150,), cadence_per_min=300, force_range=(0.6, 1.0), snr_db=30.0,
        background=("pink",), room_t60_s=0.3),
    "double-under": SessionSpec(
        kind="double-under", sets=(30, 30), cadence_per_min=210, rest_s=20.0, force_range=(0.5, 0.9),
        snr_db=25.0, background=("hum", "babble", "pink"), background_db=(0.0, -2.0, -8.0), room_t60_s=0.4),
    "rope-music": SessionSpec(
        kind="rope", sets=(90,), cadence_per_min=180, force_range=(0.7, 1.2), snr_db=20.0,
        background=("music", "pink"), background_db=(0.0, -10.0), room_t60_s=0.3),
    "calibration": SessionSpec(
        kind="single", sets=(3, 5, 5), cadence_per_min=24, rest_s=4.0, lead_in_s=6.5, tail_s=2.0,
        set_force_ranges=((0.9, 1.1), (0.3, 0.4), (0.9, 1.1)), snr_db=40.0, background=("pink",),
        room_t60_s=0.3, seed=3),
}
"""Named sessions: drills as coaches set them (rates from the field notes), each with a plausible room."""


def demo_spec() -> SessionSpec:
    """The bundled demo: line hops, 3 sets of 20 at 150/min with 8 s rests, pink noise and some
    babble at 35 dB SNR, a little room, forces 0.6-1.4, a couple of double contacts; ~40 s at 44.1 kHz."""
    return PRESETS["demo"]
