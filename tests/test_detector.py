"""The streaming detector: block-size invariance, sample rates, channels, timing."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from quietland.detector import DetectorConfig, LandingDetector
from quietland.pipeline import SessionPipeline
from quietland.synth import PRESETS, synthesize


def impacts(sample_rate: int, times_s: list[float], duration_s: float, snr_db: float = 40.0, seed: int = 1) -> np.ndarray:
    """Noise with decaying broadband-plus-thud impacts starting exactly at ``times_s``."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    x = rng.standard_normal(n) * 10 ** (-snr_db / 20.0) * 0.3
    t = np.arange(int(0.25 * sample_rate)) / sample_rate
    for k, t0 in enumerate(times_s):
        burst = rng.standard_normal(t.size) * np.exp(-t / 0.006) + np.sin(2 * np.pi * 90.0 * t) * np.exp(-t / 0.03)
        i = int(round(t0 * sample_rate))
        x[i : i + t.size] += 0.3 * burst[: n - i]
    return x.astype(np.float32)


def salient(events: list) -> list:
    """Events clearly above the noise (the detector also reports faint ones; the rep logic weighs them)."""
    return [e for e in events if e.contrast_db >= 6.0]


def run(detector: LandingDetector, x: np.ndarray, sizes) -> list:
    out, i = [], 0
    for size in sizes:
        if i >= len(x):
            break
        out += detector.process(x[i : i + size])
        i += size
    while i < len(x):
        out += detector.process(x[i : i + 4096])
        i += 4096
    return out + detector.flush()


def test_block_size_invariance_exact():
    sr = 44100
    x = impacts(sr, [0.5 + 0.23 * k for k in range(20)], 6.0)
    whole = run(LandingDetector(sr), x, [len(x)])
    small = run(LandingDetector(sr), x, [64] * (len(x) // 64 + 1))
    rng = np.random.default_rng(7)
    rand = run(LandingDetector(sr), x, rng.integers(1, 5000, size=len(x)))
    assert len(salient(whole)) == 20
    assert whole == small == rand


def test_block_size_invariance_with_thud_onsets():
    """The thud band's onsets (line hops, pogo, single) keep their own past and threshold: the same in any blocks."""
    spec = replace(PRESETS["demo"], seed=1, snr_db=18.0, background=("pink",), background_db=(0.0,))
    session = synthesize(spec)
    sr = session.sample_rate
    x = session.audio[: 12 * sr]
    config = DetectorConfig(thud_k_mad=3.0)
    whole = run(LandingDetector(sr, config), x, [len(x)])
    rng = np.random.default_rng(11)
    rand = run(LandingDetector(sr, config), x, rng.integers(1, 5000, size=len(x)))
    odd = run(LandingDetector(sr, config), x, [777] * (len(x) // 777 + 1))
    assert sum(e.thud_db is not None for e in whole) >= 3
    assert whole == rand == odd
    # and an onset the thud band found comes no sooner than thud_gap_ms after the one before it
    gaps = np.diff([e.sample for e in whole]) / sr
    is_thud = [e.thud_db is not None for e in whole][1:]
    assert all(g >= config.thud_gap_ms / 1000.0 - config.hop_ms / 1000.0 * 3 for g, f in zip(gaps, is_thud) if f)


def test_pipeline_block_size_invariance_on_reps():
    sr = 22050
    # a person's timing, off the beat by up to 26 ms (a beat kept to the millisecond is a machine's: background)
    x = impacts(sr, [0.4 + 0.5 * k + 0.013 * ((7 * k) % 5 - 2) for k in range(12)], 7.0)
    results = []
    for size in (len(x), 64, 1000):
        p = SessionPipeline(sr, "generic")
        for i in range(0, len(x), size):
            p.process(x[i : i + size])
        _, analysis = p.finish()
        results.append([(r.sample, r.interval_ms, r.rhythm_dev_pct) for r in analysis.reps])
    assert len(results[0]) == 12
    assert results[0] == results[1] == results[2]


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000, 96000])
def test_sample_rates_find_every_impact_to_the_millisecond(sr):
    times = [0.3 + 0.31 * k for k in range(15)]
    x = impacts(sr, times, 5.5)
    ev = salient(run(LandingDetector(sr), x, [2048] * (len(x) // 2048 + 1)))
    got = np.array([e.t_s for e in ev])
    assert len(got) == len(times)
    assert np.max(np.abs(got - np.array(times))) < 0.002


def test_the_analysis_window_is_as_long_at_every_rate():
    # 1024 samples at 44.1 kHz, and as long elsewhere: a window of 16 ms at 32 kHz (the next power of two)
    # heard other onsets than 23 ms at 44.1 kHz in the same audio
    assert LandingDetector(44100).n_fft == 1024
    for sr in (8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000):
        n = LandingDetector(sr).n_fft
        assert n / sr == pytest.approx(1024 / 44100, rel=0.04), sr
        for p in (2, 3, 5):
            while n % p == 0:
                n //= p
        assert n == 1, sr  # no prime factor above 5: a fast FFT size


def test_stereo_is_mixed_down():
    sr = 44100
    mono = impacts(sr, [0.5, 1.0, 1.5], 2.0)
    stereo = np.stack([mono, mono], axis=1)
    a = run(LandingDetector(sr), mono, [len(mono)])
    b = run(LandingDetector(sr), stereo, [len(stereo)])
    assert [e.sample for e in a] == [e.sample for e in b]


def test_detection_delay_is_short_and_reported():
    sr = 48000
    x = impacts(sr, [0.5 + 0.4 * k for k in range(10)], 5.0)
    ev = salient(run(LandingDetector(sr), x, [256] * (len(x) // 256 + 1)))
    delays = [e.detect_delay_ms for e in ev]
    assert len(ev) == 10
    assert max(delays) <= 30.0
    assert np.median(delays) < 25.0


def test_silence_gives_no_events():
    sr = 44100
    assert run(LandingDetector(sr), np.zeros(sr * 3, np.float32), [4096] * 40) == []


def test_steady_noise_gives_no_salient_events_and_few_faint_ones():
    sr = 44100
    x = (np.random.default_rng(3).standard_normal(sr * 20) * 0.01).astype(np.float32)
    ev = run(LandingDetector(sr), x, [4096] * (len(x) // 4096 + 1))
    assert salient(ev) == []
    assert len(ev) < 20 * 2  # under two faint events a second


def test_fast_contacts_130_ms_apart_are_all_found():
    sr = 44100
    times = [0.3 + 0.13 * k for k in range(30)]
    ev = salient(run(LandingDetector(sr), impacts(sr, times, 4.5), [1024] * 200))
    assert len(ev) == 30


def test_loudness_follows_level():
    sr = 44100
    x = impacts(sr, [0.5, 1.5], 2.5)
    x[int(1.5 * sr) :] *= 0.1  # the second impact 20 dB quieter
    a, b = salient(run(LandingDetector(sr), x, [len(x)]))
    assert a.loudness_db - b.loudness_db == pytest.approx(20.0, abs=1.5)
    assert a.peak_dbfs > b.peak_dbfs


def test_complete_through_is_a_true_bound():
    """No event emitted later has its onset before what complete_through promised earlier."""
    sr = 44100
    x = impacts(sr, [0.3 + 0.137 * k for k in range(25)], 4.0, snr_db=30)
    det = LandingDetector(sr)
    promised = -1
    for i in range(0, len(x), 64):
        for ev in det.process(x[i : i + 64]):
            assert ev.sample >= promised
        promised = det.complete_through


# --- digital silence: a muted input, a dropout, the zeros a file starts with ----------------------------


def with_silences(x: np.ndarray, sr: int, spans_s: list[tuple[float, float]]) -> np.ndarray:
    """``x`` with exact zeros over each ``(start, stop)`` span, s."""
    y = x.copy()
    for a, b in spans_s:
        y[int(a * sr) : int(b * sr)] = 0.0
    return y


def gated(x: np.ndarray, sr: int, times_s: list[float], open_before_s: float, open_s: float) -> np.ndarray:
    """``x`` with exact zeros everywhere but from ``open_before_s`` before each of ``times_s`` to ``open_s``
    after it: a noise gate that opens on each impact and shuts behind it."""
    keep = np.zeros(x.size, dtype=bool)
    for t in times_s:
        keep[max(0, int((t - open_before_s) * sr)) : int((t + open_s) * sr)] = True
    return np.where(keep, x, 0.0).astype(np.float32)


def test_sound_coming_back_after_digital_silence_is_not_an_impact():
    """Noise, 1 s of exact zeros (a muted microphone), the same noise again, five times over: nothing salient
    where the sound comes back or after it, and the faint sounds any noise makes come as often after the
    silence as in the same noise without it (79 and 79 over 20 seeds, 16 and 16 over these 5)."""
    sr = 44100
    after, plain_after = 0, 0
    for seed in range(5):
        noise = (np.random.default_rng(seed).standard_normal(sr * 8) * 0.01).astype(np.float32)
        x = with_silences(noise, sr, [(4.0, 5.0)])
        ev = run(LandingDetector(sr), x, [4096] * (len(x) // 4096 + 1))
        assert salient(ev) == []
        plain = run(LandingDetector(sr), noise, [4096] * (len(x) // 4096 + 1))
        after += len([e for e in ev if e.t_s >= 5.0])
        plain_after += len([e for e in plain if e.t_s >= 5.0])
    assert after <= 1.2 * plain_after


@pytest.mark.parametrize("open_before_ms", [0.0, 3.0, 15.0])
def test_an_impact_that_opens_a_gate_is_found(open_before_ms):
    """Impacts in noise, the noise gated to exact zeros between them (the gate opening on each impact, or
    a little before it, and shutting 60 ms after): every impact but the stream's first sound is found, at
    the sample the ungated one is (to 0.2 ms), with no other salient event."""
    sr = 44100
    times = [0.5 + 0.41 * k for k in range(14)]
    x = impacts(sr, times, 6.5, snr_db=35)
    y = gated(x, sr, times, open_before_ms / 1000.0, 0.06)
    plain = salient(run(LandingDetector(sr), x, [4096] * (len(x) // 4096 + 1)))
    ev = salient(run(LandingDetector(sr), y, [4096] * (len(y) // 4096 + 1)))
    assert len(plain) == 14
    assert len(ev) >= 13  # the first sound of a stream is where the detector starts to learn the room
    found = {round(e.t_s, 1): e.sample for e in ev}
    for e in plain[1:]:
        assert abs(found[round(e.t_s, 1)] - e.sample) <= 0.0002 * sr


def test_sound_that_comes_back_louder_after_digital_silence_is_one_sound():
    """The cost of comparing the sound across digital silence: noise coming back 12 dB louder than it went
    (the input turned up while muted) is one rise, where it comes back, and no more after it."""
    sr = 44100
    x = np.random.default_rng(5).standard_normal(sr * 6) * 0.01
    x[3 * sr :] *= 4.0
    x = with_silences(x.astype(np.float32), sr, [(2.0, 3.0)])
    ev = run(LandingDetector(sr), x, [4096] * (len(x) // 4096 + 1))
    assert [round(e.t_s, 2) for e in salient(ev)] == [3.0]


def test_leading_digital_silence_changes_nothing_but_the_times():
    """The same impacts after 0.5 s of zeros: the same impacts, each later by the zeros (to 0.2 ms), with the
    same noise floor (the room's, not the zeros'), and about as many faint sounds (14 and 17)."""
    sr = 44100
    times = [0.4 + 0.37 * k for k in range(12)]
    x = impacts(sr, times, 5.0, snr_db=35)
    lead = int(0.5 * sr)
    plain = run(LandingDetector(sr), x, [4096] * (len(x) // 4096 + 1))
    y = np.concatenate([np.zeros(lead, np.float32), x])
    shifted = run(LandingDetector(sr), y, [4096] * (len(y) // 4096 + 1))
    a, b = salient(plain), salient(shifted)
    assert len(a) == len(b) == 12
    assert np.max(np.abs(np.array([e.sample - lead for e in b]) - [e.sample for e in a])) <= 0.0002 * sr
    assert [e.floor_dbfs for e in b] == pytest.approx([e.floor_dbfs for e in a], abs=0.5)
    assert abs(len(shifted) - len(plain)) <= 3


def test_the_edge_of_leading_zeros_does_not_depend_on_the_gain():
    """A recording that starts with zeros, its first hop of sound mostly zeros (173 of 176 samples, then the
    room), the same at full gain and 54 dB down (2^-9, exact in floating point; the room then at -95 dBFS):
    the same events, to the sample, with the same onset strength, and levels 54.2 dB apart (each rounded to
    0.01 dB). Whether that hop's variance is under ``silence_dbfs`` depends on the gain (-58 dBFS here,
    -112 dBFS 54 dB down: before the run rule, the events differed from the first); a run of zeros half a
    hop long makes it digital silence at both."""
    sr = 44100
    times = [0.9 + 0.37 * k for k in range(12)]
    x = impacts(sr, times, 5.5, snr_db=30)
    hop = LandingDetector(sr).hop
    x[: 125 * hop + hop - 3] = 0.0  # zeros up to the last 3 samples of a hop
    gain = np.float32(2.0**-9)
    loud = run(LandingDetector(sr), x, [4096] * (len(x) // 4096 + 1))
    quiet = run(LandingDetector(sr), x * gain, [4096] * (len(x) // 4096 + 1))
    assert len(salient(loud)) == 12
    assert [e.sample for e in quiet] == [e.sample for e in loud]
    assert [e.strength_db for e in quiet] == [e.strength_db for e in loud]
    assert [e.loudness_db - e2.loudness_db for e, e2 in zip(loud, quiet)] == pytest.approx([54.19] * len(loud), abs=0.03)


def test_dropouts_keep_the_floor_and_the_impacts_after_them():
    """Three 20 ms dropouts (exact zeros) between impacts: every impact is still found (to 0.2 ms), none is
    added, and the noise floor of the impacts after a dropout is the room's (within 1 dB of the same audio without them)."""
    sr = 48000
    times = [0.5 + 0.45 * k for k in range(14)]
    x = impacts(sr, times, 7.0, snr_db=35)
    gaps = [(1.6, 1.62), (3.3, 3.32), (5.1, 5.12)]
    y = with_silences(x, sr, gaps)
    a = salient(run(LandingDetector(sr), x, [2048] * (len(x) // 2048 + 1)))
    b = salient(run(LandingDetector(sr), y, [2048] * (len(y) // 2048 + 1)))
    assert len(b) == len(a) == 14
    assert np.max(np.abs(np.array([e.sample for e in b]) - [e.sample for e in a])) <= 0.0002 * sr
    assert [e.floor_dbfs for e in b] == pytest.approx([e.floor_dbfs for e in a], abs=1.0)


def test_block_size_invariance_with_digital_silence():
    sr = 22050
    x = impacts(sr, [0.3 + 0.29 * k for k in range(16)], 5.5)
    x = with_silences(x, sr, [(0.0, 0.2), (1.31, 1.33), (2.5, 3.1), (4.0, 4.004)])
    whole = run(LandingDetector(sr), x, [len(x)])
    small = run(LandingDetector(sr), x, [64] * (len(x) // 64 + 1))
    rand = run(LandingDetector(sr), x, np.random.default_rng(11).integers(1, 3000, size=len(x)))
    assert len(salient(whole)) >= 13
    assert whole == small == rand


# --- a DC offset (a cheap microphone's or converter's) is no sound ---------------------------------------


@pytest.mark.parametrize("dc", [0.05, -0.3])
def test_a_dc_offset_changes_no_impact(dc):
    """The same impacts with a constant offset added: the same impacts, timed to 0.2 ms, with the same
    loudness, peak, contrast and noise floor to 0.5 dB (the offset is not sound, and must not hide one)."""
    sr = 44100
    x = impacts(sr, [0.4 + 0.37 * k for k in range(12)], 5.0, snr_db=35)
    a = salient(run(LandingDetector(sr), x, [4096] * 60))
    b = salient(run(LandingDetector(sr), (x + dc).astype(np.float32), [4096] * 60))
    assert len(a) == len(b) == 12
    assert np.max(np.abs(np.array([e.sample for e in b]) - [e.sample for e in a])) <= 0.0002 * sr
    for field in ("loudness_db", "peak_dbfs", "contrast_db", "floor_dbfs"):
        assert [getattr(e, field) for e in b] == pytest.approx([getattr(e, field) for e in a], abs=0.5), field


def test_a_constant_is_silence():
    """Nothing but an offset, to the end of the stream (where the look-ahead the detector lacks is the
    stream's own level held, not a step down to zero)."""
    sr = 44100
    assert run(LandingDetector(sr), np.full(sr * 3, 0.2, np.float32), [4096] * 40) == []


# --- the input's gain moves levels, not events ------------------------------------------------------------


@pytest.mark.parametrize("gain_db", [-24.0, 12.0])
def test_input_gain_moves_levels_not_events(gain_db):
    """A stream that starts with zeros, turned down or up: the same events at the same samples with the same
    strength, and every level moved by the gain (to 0.01 dB). The quietest bands used to be pressed against a
    -120 dB floor, and the frame half of zeros after the lead-in counted as the room."""
    sr = 48000
    x = impacts(sr, [0.6 + 0.33 * k for k in range(20)], 8.0, snr_db=35)
    x[: int(0.25 * sr)] = 0.0
    x[int(0.25 * sr) : int(0.25 * sr) + 40] *= 1e-3  # a few faint samples: the edge of a fade or a splice
    g = np.float32(10 ** (gain_db / 20))
    a = run(LandingDetector(sr), x, [4096] * (len(x) // 4096 + 1))
    b = run(LandingDetector(sr), x * g, [4096] * (len(x) // 4096 + 1))
    assert len(salient(a)) == 20
    assert [e.sample for e in b] == [e.sample for e in a]
    assert [e.strength_db for e in b] == pytest.approx([e.strength_db for e in a], abs=0.01)
    for field in ("loudness_db", "peak_dbfs", "impact_db", "floor_dbfs"):
        assert [getattr(e, field) - gain_db for e in b] == pytest.approx([getattr(e, field) for e in a], abs=0.01), field


# --- an empty band is no source of onsets ----------------------------------------------------------------


def _split_at(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """``x`` with every component above ``cutoff_hz`` removed (a brick wall, as a codec's cut is)."""
    spec = np.fft.rfft(x.astype(np.float64))
    spec[np.fft.rfftfreq(x.size, 1.0 / sample_rate) > cutoff_hz] = 0.0
    return np.fft.irfft(spec, x.size)


def test_an_empty_band_is_heard_as_one_holding_faint_noise():
    """A rope session low-passed at 8 kHz, its bands above holding nothing but rounding noise, and the same with
    steady noise 70 dB under the session put above 8 kHz (what a microphone's own noise would put there): the
    detector finds the same contacts in both. Before empty bands were taken as no quieter than 60 dB under the
    loudest band's floor, the empty version found 25 of the 50 contacts and the noisy one 32: the rounding
    noise's level swings by tens of dB, and whitening made each swing up a rise."""
    from quietland.synth import SessionSpec, synthesize

    spec = SessionSpec(kind="rope-alternate", cadence_per_min=280, sets=(25, 25), snr_db=15, background=("pink",), seed=3, rest_s=5.0)
    session = synthesize(spec)
    sr = session.sample_rate
    empty = _split_at(session.audio, sr, 8000.0)
    noise = np.random.default_rng(0).standard_normal(empty.size)
    noise -= _split_at(noise, sr, 8000.0)
    noise *= np.sqrt(np.mean(empty**2) / np.mean(noise**2)) * 10 ** (-70 / 20)
    truth = session.samples_of("landing")

    def contacts_found(x: np.ndarray) -> tuple[int, int]:
        events = run(LandingDetector(sr), x.astype(np.float32), [4096] * (x.size // 4096 + 1))
        samples = np.array([e.sample for e in events])
        return sum(int(np.min(np.abs(samples - t)) <= 0.03 * sr) for t in truth), len(events)

    found_empty, n_empty = contacts_found(empty)
    found_noisy, n_noisy = contacts_found(empty + noise)
    assert found_noisy >= 30  # (the noisy version is itself a fair test: 32 of 50 at 15 dB)
    assert abs(found_empty - found_noisy) <= 1
    assert abs(n_empty - n_noisy) <= 3


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 188])
def test_the_detectors_fast_helpers_give_what_numpy_gives_bit_for_bit(n):
    from quietland.detector import _any_in_windows, _max_in_windows, _median_rows, _percentile, _power, _windows

    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 2, n)
    x[rng.integers(0, n, n // 3)] = x[0]  # ties
    for q in (0, 10, 20, 50, 90, 100):
        assert _percentile(x, q) == float(np.percentile(x, q))
    rows = rng.standard_normal((7, n))
    assert np.array_equal(_median_rows(rows), np.median(rows, axis=1))
    for w in {1, min(3, n), n}:
        assert np.array_equal(_windows(x, w), np.lib.stride_tricks.sliding_window_view(x, w))
        assert np.array_equal(_max_in_windows(x, w), np.lib.stride_tricks.sliding_window_view(x, w).max(axis=1))
        mask = x > 0
        assert np.array_equal(_any_in_windows(mask, w), np.lib.stride_tricks.sliding_window_view(mask, w).any(axis=1))
    assert np.array_equal(_windows(x, 1, 3)[:, 0], x[::3])
    spec = np.fft.rfft(rows, axis=1)
    expected = spec.real**2 + spec.imag**2
    out = np.empty(spec.shape)
    assert _power(spec, out=out) is out and np.array_equal(out, expected)  # (spec is overwritten)


@pytest.mark.parametrize("lead", ["room", "zeros"])
def test_an_impact_in_a_recordings_first_moments_is_found(lead):
    """A recording that starts 50 ms before its first impact, in the room's noise or after 0.1 s of exact zeros
    and 50 ms of noise: the first impact is found at its sample, as the same impact later in the stream is.
    The detector holds the stream's first ``opening_s`` back and learns the room from it before analysing it
    (before, nothing was picked in the first 100 ms of sound, and the floors were still being learnt: no
    impact in the first 0.1 s was found)."""
    sr = 44100
    times = [0.05, 0.6, 1.1, 1.6]
    x = impacts(sr, times, 2.5, snr_db=35)
    if lead == "zeros":
        x = np.concatenate([np.zeros(int(0.1 * sr), np.float32), x])
        times = [t + 0.1 for t in times]
    ev = salient(run(LandingDetector(sr), x, [4096] * (len(x) // 4096 + 1)))
    assert len(ev) == len(times)
    assert np.max(np.abs(np.array([e.t_s for e in ev]) - times)) <= 0.001


def test_a_sound_already_going_as_the_recording_starts_is_no_onset():
    """A recording that starts inside an impact (5 ms after it began) or on it: its first 20 ms (``pre_max_ms``,
    the past a peak needs) hold no onset, as what came before them was not recorded; the later impacts are
    found as before."""
    sr = 44100
    x = impacts(sr, [0.0, 0.6, 1.1], 2.0, snr_db=35)
    for cut in (0, int(0.005 * sr)):
        ev = salient(run(LandingDetector(sr), x[cut:], [4096] * (len(x) // 4096 + 1)))
        assert [round(e.t_s + cut / sr, 2) for e in ev] == [0.6, 1.1]


def test_block_size_invariance_inside_the_opening():
    """Streams shorter than the opening the detector holds back (0.3 s and 0.6 s, one impact at 0.1 s), and one
    longer, after 0.2 s of zeros, fed whole, in 64-sample blocks and in random blocks: the same events."""
    sr = 48000
    rng = np.random.default_rng(3)
    for x in (impacts(sr, [0.1], 0.3), impacts(sr, [0.1], 0.6), np.concatenate([np.zeros(9600, np.float32), impacts(sr, [0.1, 0.5], 1.5)])):
        whole = run(LandingDetector(sr), x, [len(x)])
        assert len(salient(whole)) >= 1
        assert run(LandingDetector(sr), x, [64] * (len(x) // 64 + 1)) == whole
        assert run(LandingDetector(sr), x, rng.integers(1, 3000, size=len(x))) == whole


def test_candidates_under_the_threshold_are_reported_only_when_asked():
    """``candidate_k_mad`` under ``k_mad``: the peaks between the two thresholds are reported too, with a
    negative ``strength_db`` (measured against the ``k_mad`` threshold, as every event's is); the 20 impacts
    are found as before; and the events are the same in any block size. Without it, no event has a negative
    strength."""
    sr = 44100
    x = impacts(sr, [0.5 + 0.23 * k for k in range(20)], 6.0, snr_db=20.0)
    plain = run(LandingDetector(sr, DetectorConfig(k_mad=3.5)), x, [len(x)])
    asked = DetectorConfig(k_mad=3.5, candidate_k_mad=2.5)
    whole = run(LandingDetector(sr, asked), x, [len(x)])
    small = run(LandingDetector(sr, asked), x, [64] * (len(x) // 64 + 1))
    rand = run(LandingDetector(sr, asked), x, np.random.default_rng(3).integers(1, 5000, size=len(x)))
    assert whole == small == rand
    assert min(e.strength_db for e in plain) >= 0
    candidates = [e for e in whole if e.strength_db < 0]
    assert candidates and len(whole) > len(plain)
    assert [e.sample for e in salient(whole)] == [e.sample for e in salient(plain)]
    assert len(salient(whole)) == 20


def test_a_drill_change_sets_the_candidates_threshold():
    detector = LandingDetector(44100, DetectorConfig(k_mad=3.5, candidate_k_mad=2.5))
    detector.set_threshold(4.0)
    assert (detector.config.k_mad, detector.config.candidate_k_mad) == (4.0, None)
    detector.set_threshold(3.5, 2.5)
    assert (detector.config.k_mad, detector.config.candidate_k_mad) == (3.5, 2.5)


@pytest.mark.parametrize("gap_ms", [21, 23, 25, 30, 40])
def test_a_thud_just_after_a_click_is_its_own_event(gap_ms):
    """A rope's click, then the landing's thud ``gap_ms`` later (a double-under's last pass, then the feet).

    The thud's onset is refined in the audio after the click's attack. Before, its peak could be refined
    back onto the click (the loudest sample in the audio its frame saw): an event a fraction of a
    millisecond after the click, with the click's figures, and no event for the thud. Measured before,
    of 12 thuds: 0 found (12 clicks doubled) 25 ms after the click, 8 (4 doubled) 30 ms after, 12 at 40 ms.

    The thud's peak need not beat the click's fading onset strength: the frames before the strength
    last fell under ``delta_db`` (the click is over) are left out of its ``pre_max_ms``. Before, of 12
    thuds 21 and 23 ms after the click, 0 and 8 were found.
    """
    sr = 44100
    rng = np.random.default_rng(3)
    x = rng.standard_normal(int(8.0 * sr)) * 1e-4
    t = np.arange(int(0.25 * sr)) / sr
    click = rng.standard_normal(int(0.002 * sr)) * 0.2
    click -= np.convolve(click, np.ones(8) / 8, mode="same")  # high-passed: a sharp tick
    thud = np.sin(2 * np.pi * 90.0 * t) * np.exp(-t / 0.03) * 0.3
    starts = [0.5 + 0.6 * k for k in range(12)]
    for t0 in starts:
        i = int(round(t0 * sr))
        x[i : i + click.size] += click
        j = i + int(round(gap_ms * sr / 1000))
        x[j : j + thud.size] += thud
    events = salient(run(LandingDetector(sr), x.astype(np.float32), [4096] * 100))
    clicks = [e for e in events if any(abs(e.sample / sr - t0) < 0.002 for t0 in starts)]
    thuds = [e for e in events if any(abs(e.sample / sr - t0 - gap_ms / 1000) < 0.003 for t0 in starts)]
    assert len(clicks) == 12
    assert len(thuds) == 12
    assert min(e.low_db for e in thuds) > max(e.low_db for e in clicks) + 10


def test_samples_that_are_not_numbers_count_as_zeros():
    """The detector's state must survive a NaN or an infinite sample (a faulty source): the events are those of
    the same stream with zeros there, fed in one block or in pieces."""
    rng = np.random.default_rng(3)
    sr = 16000
    x = rng.normal(0.0, 0.01, 3 * sr)
    for t in (0.8, 1.6, 2.4):  # three clicks
        i = int(t * sr)
        x[i : i + 160] += rng.normal(0.0, 0.5, 160) * np.exp(-np.arange(160) / 30.0)
    bad = x.copy()
    bad[[4000, 20000]], bad[30000] = np.nan, np.inf
    zeros = np.where(np.isfinite(bad), bad, 0.0)

    def events(stream, block):
        det = LandingDetector(sr)
        out = [e for i in range(0, stream.size, block) for e in det.process(stream[i : i + block])]
        return [(e.sample, round(e.loudness_db, 6)) for e in out + det.flush()]

    expected = events(zeros, zeros.size)
    assert len(expected) >= 3
    assert events(bad, bad.size) == expected and events(bad, 700) == expected


def _piece_by_piece(detector: LandingDetector, groups: list[list[np.ndarray]], thresholds: dict) -> list[tuple]:
    """Each piece fed with ``process``, and the detector's clock and floor read after it; the flush's events last."""
    out: list[tuple] = []
    for g, group in enumerate(groups):
        if g in thresholds:
            detector.set_threshold(*thresholds[g])
        for piece in group:
            out.append((detector.process(piece), detector.complete_through, detector.noise_floor_dbfs))
    return out + [detector.flush()]


def _pieces_together(detector: LandingDetector, groups: list[list[np.ndarray]], thresholds: dict) -> list[tuple]:
    """The same, each group of pieces fed with one ``process_pieces``."""
    out: list[tuple] = []
    for g, group in enumerate(groups):
        if g in thresholds:
            detector.set_threshold(*thresholds[g])
        out.extend(tuple(result) for result in detector.process_pieces(group))
    return out + [detector.flush()]


@pytest.mark.parametrize("seed", [1, 2])
def test_pieces_fed_together_are_told_what_they_would_be_told_one_at_a_time(seed):
    """process_pieces computes a group's frames at once and decides piece by piece: each piece's events, clock
    and noise floor must be exactly (floats equal, not close) what process and the properties give piece by piece,
    over two channels with an offset, a held opening, a mute of digital silence, pieces of 0 and 1 sample, and a threshold
    changed between groups."""
    session = synthesize(replace(PRESETS["rope-alternate"], seed=seed, sets=(60,)))
    sr = session.sample_rate
    x = session.audio.astype(np.float64)
    x[int(6.0 * sr) : int(6.7 * sr)] = 0.0  # a mute
    x += 0.05  # an offset (DC): each frame's is computed, and taken out of its energy
    stereo = np.stack([x, 0.5 * x + 0.01 * np.roll(x, 7)], axis=1).astype(np.float32)
    rng = np.random.default_rng(seed)
    sizes = rng.choice([0, 1, 64, 777, int(0.25 * sr), int(1.3 * sr)], size=400)
    cuts = np.minimum(np.cumsum(np.concatenate([[0], sizes])), stereo.shape[0])
    pieces = [stereo[a:b] for a, b in zip(cuts[:-1], cuts[1:])] + [stereo[cuts[-1] :]]
    groups, i = [], 0
    while i < len(pieces):
        n = int(rng.integers(1, 12))
        groups.append(pieces[i : i + n])
        i += n
    thresholds = {len(groups) // 2: (3.5, 2.5, 3.0)}
    one_at_a_time = _piece_by_piece(LandingDetector(sr), groups, thresholds)
    together = _pieces_together(LandingDetector(sr), groups, thresholds)
    *steps, last = one_at_a_time
    assert sum(len(events) for events, _, _ in steps) + len(last) > 60
    assert len({floor for _, _, floor in steps}) > 10  # (the floor moves: its every value is compared)
    assert together == one_at_a_time


def test_a_frames_figures_do_not_depend_on_the_frames_computed_with_it():
    """Bit for bit, the level and onset strength of each frame kept in the detector's history, whether the frames
    were computed all at once, 0.25 s at a time or 777 samples at a time (what process_pieces relies on: it
    computes a group's frames at once). Events round their figures; these are compared unrounded."""
    session = synthesize(replace(PRESETS["demo"], seed=1))
    sr = session.sample_rate
    x = session.audio[: 30 * sr]

    def history(size: int) -> dict[int, tuple[float, float]]:
        detector = LandingDetector(sr)
        for i in range(0, x.size, size):
            detector.process(x[i : i + size])
        frames = detector._seq_frames.tolist()
        return dict(zip(frames, zip(detector._seq_db.tolist(), detector._seq_odf.tolist())))

    whole, quarters, odd = history(x.size), history(sr // 4), history(777)
    common = whole.keys() & quarters.keys() & odd.keys()
    assert len(common) > 500
    for k in sorted(common):
        assert np.array_equal(whole[k], quarters[k], equal_nan=True), k
        assert np.array_equal(whole[k], odd[k], equal_nan=True), k
