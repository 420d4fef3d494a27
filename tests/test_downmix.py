"""Mixing several channels down: a channel wired in reverse is turned back, anything else is the plain mean."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from quietland.audiofile import FileSource
from quietland.cli import analyze_source
from quietland.downmix import Downmix
from quietland.synth import SessionSpec, synthesize

from pipeline_support import analyse_audio

SR = 16000


@pytest.fixture(scope="module")
def session():
    """Two sets of 10 line hops at 150/min in a room, 16 kHz."""
    return synthesize(SessionSpec(sample_rate=SR, kind="landings", sets=(10, 10), cadence_per_min=150, rest_s=3.0, snr_db=35.0, seed=5))


def inverted_pair(mono: np.ndarray, gain: float = 0.9, seed: int = 2) -> np.ndarray:
    """A laptop microphone pair of the kind that misbehaves: the right channel is the left inverted, times
    ``gain``, with its own faint noise (the two capsules are not identical) unless ``gain`` is exactly 1 (one
    capsule read twice)."""
    rng = np.random.default_rng(seed)
    right = -gain * mono + (0.0 if gain == 1.0 else 3e-4) * rng.standard_normal(mono.size)
    return np.stack([mono, right], axis=1).astype(np.float32)


def mixed(mix: Downmix, x: np.ndarray, sizes) -> np.ndarray:
    out, i = [], 0
    for n in sizes:
        if i >= len(x):
            break
        out.append(mix(x[i : i + int(n)]))
        i += int(n)
    return np.concatenate(out + [mix.flush()])


def analysed(x: np.ndarray):
    return analyse_audio(x, SR, "line-hops")


def test_an_inverted_copy_is_turned_back_and_the_landings_are_heard(session):
    """One capsule read twice, once inverted: the plain mean is digital silence and counts nothing; the
    mixdown finds the inversion and gives the left channel itself."""
    x = inverted_pair(session.audio, gain=1.0)
    assert len(analysed(x.mean(axis=1)).reps) == 0
    left, turned = analysed(x[:, 0].copy()), analysed(x)
    assert len(left.reps) == 20
    assert [r.sample for r in turned.reps] == [r.sample for r in left.reps]
    assert [r.loudness_db for r in turned.reps] == [r.loudness_db for r in left.reps]


def test_an_inverted_channel_is_turned_back_and_the_loudness_kept(session):
    """Two capsules, one inverted and 10% quieter: the plain mean still hears the landings (the detector does
    not care about gain) but 26 dB too quiet, which wrecks every loudness score; the mixdown's landings are
    the left channel's, 0.45 dB quieter ((1 + 0.9) / 2)."""
    x = inverted_pair(session.audio)
    plain, left, turned = analysed(x.mean(axis=1)), analysed(x[:, 0].copy()), analysed(x)
    assert len(left.reps) == len(turned.reps) == 20
    assert np.max(np.abs(np.array([r.sample for r in turned.reps]) - [r.sample for r in left.reps])) <= 0.001 * SR
    to_left = np.array([r.loudness_db for r in turned.reps]) - [r.loudness_db for r in left.reps]
    assert np.all(np.abs(to_left - 20 * np.log10(0.95)) < 0.2), to_left
    assert left.summary.median_loudness_db - plain.summary.median_loudness_db > 20
    mix = Downmix(SR)
    y = mixed(mix, x, [4096] * (len(x) // 4096 + 1))
    assert mix.inverted == [1]
    np.testing.assert_allclose(y, (x[:, 0] - x[:, 1]) / 2, rtol=0, atol=1e-7)


def test_a_stereo_file_with_an_inverted_channel_analyses_like_its_left_channel(tmp_path, session):
    x = inverted_pair(session.audio)
    sf.write(tmp_path / "pair.wav", x, SR, subtype="PCM_16")
    sf.write(tmp_path / "left.wav", x[:, 0], SR, subtype="PCM_16")
    pair = analyze_source(FileSource(tmp_path / "pair.wav"), "line-hops", 4096)
    left = analyze_source(FileSource(tmp_path / "left.wav"), "line-hops", 4096)
    assert pair.warnings == (
        f"{FileSource(tmp_path / 'pair.wav').name}: Channel 2 of 2 carries channel 1 inverted (a fault of some laptop microphones and cables); "
        "quietland turned it back before mixing the channels to mono.",
    )
    assert left.warnings == ()
    assert len(pair.reps) == len(left.reps) == 20
    assert np.max(np.abs(np.array([r.sample for r in pair.reps]) - [r.sample for r in left.reps])) <= 0.001 * SR


@pytest.mark.parametrize("right", ["same", "independent", "half"])
def test_channels_that_are_not_inverted_are_averaged(right):
    """The same signal twice, two independent noises, or one channel half the other: the plain mean."""
    rng = np.random.default_rng(7)
    left = (0.01 * rng.standard_normal(SR * 2)).astype(np.float32)
    other = {"same": left, "independent": (0.01 * rng.standard_normal(SR * 2)).astype(np.float32), "half": 0.5 * left}[right]
    x = np.stack([left, other], axis=1)
    mix = Downmix(SR)
    y = mixed(mix, x, [1000] * 40)
    assert mix.inverted == []
    np.testing.assert_array_equal(y, x.mean(axis=1, dtype=np.float32))


def test_the_mixdown_does_not_depend_on_the_blocks(session):
    """Leading zeros, then an inverted pair: the same samples out for one block, 64-sample blocks and random sizes;
    every sample comes out once, and the zeros before the first sound come out at once."""
    x = np.concatenate([np.zeros((3000, 2), np.float32), inverted_pair(session.audio[: SR * 3])])
    whole = mixed(Downmix(SR), x, [len(x)])
    small = mixed(Downmix(SR), x, [64] * (len(x) // 64 + 1))
    rand = mixed(Downmix(SR), x, np.random.default_rng(1).integers(1, 3000, size=len(x)))
    assert whole.size == small.size == rand.size == len(x)
    np.testing.assert_array_equal(whole, small)
    np.testing.assert_array_equal(whole, rand)
    mix = Downmix(SR)
    assert mix(x[:2000]).size == 2000  # zeros only: nothing to decide
    assert mix(x[2000:3500]).size == 1000  # the zeros, then sound held while the polarity is judged
    assert mix(x[3500 : 3500 + SR]).size == SR + 500  # half a second of sound: all of it, judged


def test_a_stream_shorter_than_the_judging_time_is_all_handed_out():
    rng = np.random.default_rng(3)
    left = (0.01 * rng.standard_normal(1500)).astype(np.float32)
    x = np.stack([left, -left], axis=1)
    mix = Downmix(SR)
    assert mix(x).size == 0
    y = mix.flush()
    assert mix.inverted == [1]
    np.testing.assert_array_equal(y, left)


def test_more_channels_each_matched_to_the_first():
    rng = np.random.default_rng(4)
    a = (0.01 * rng.standard_normal(SR)).astype(np.float32)
    x = np.stack([a, -a, 0.8 * a, -0.5 * a], axis=1)
    mix = Downmix(SR)
    y = mixed(mix, x, [SR])
    assert mix.inverted == [1, 3]
    np.testing.assert_allclose(y, a * (1 + 1 + 0.8 + 0.5) / 4, rtol=1e-6, atol=1e-9)


def test_mono_passes_through_untouched():
    x = np.arange(10, dtype=np.float32)
    mix = Downmix(SR)
    assert mix(x) is x
    np.testing.assert_array_equal(mix(x[:, None]), x)
    assert mix.flush().size == 0 and mix.signs is None
