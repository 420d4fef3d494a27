"""The synthetic session generator: seeded, truthful to the sample, at the asked SNR, level and rate."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from quietland.synth import BACKGROUND_GENERATORS, KINDS, PRESETS, SessionSpec, demo_spec, synthesize
from quietland.synth_cli import main as synth_cli_main

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"

# A moderate cadence per kind, at which one contact's sounds end before the next contact's begin.
CADENCE_PER_MIN = {"landings": 150, "single": 20, "rope": 180, "rope-alternate": 240, "double-under": 200}


def spec_for(kind: str, **changes) -> SessionSpec:
    """Two short sets of ``kind`` at its moderate cadence, 22.05 kHz, then ``changes``."""
    base = SessionSpec(sample_rate=22050, kind=kind, sets=(6, 5), cadence_per_min=CADENCE_PER_MIN[kind],
                       rest_s=4.0, seed=11)
    return replace(base, **changes)


def onset_contrast_db(audio: np.ndarray, sample: int, sample_rate: int) -> float:
    """Energy in the 2 ms from ``sample`` over energy in the 2 ms before it, dB (inf if before is silent)."""
    w = int(0.002 * sample_rate)
    x = audio.astype(np.float64)
    before, after = np.sum(x[sample - w: sample] ** 2), np.sum(x[sample: sample + w] ** 2)
    return np.inf if before == 0 else 10 * np.log10(after / before)


def test_same_seed_same_session_other_seed_other_session():
    spec = spec_for("rope", background=("pink", "hum", "music", "babble"), room_t60_s=0.3, double_contact_prob=0.3)
    a, b, c = synthesize(spec), synthesize(spec), synthesize(replace(spec, seed=12))
    assert a.truth == b.truth and np.array_equal(a.audio, b.audio)
    assert a.truth != c.truth and not np.array_equal(a.audio[: len(c.audio)], c.audio[: len(a.audio)])


@pytest.mark.parametrize("kind", KINDS)
def test_truth_counts_follow_the_spec(kind):
    s = synthesize(spec_for(kind, sets=(7, 4, 5)))
    kinds = [e.kind for e in s.truth]
    assert s.count == kinds.count("landing") == len(s.landing_samples) == 16
    assert [sum(1 for e in s.truth if e.kind == "landing" and e.set_number == k) for k in (1, 2, 3)] == [7, 4, 5]
    ropes_per_landing = {"rope": 1, "rope-alternate": 1, "double-under": 2}.get(kind, 0)
    assert kinds.count("rope") == ropes_per_landing * 16
    assert kinds.count("takeoff") == (16 if kind == "single" else 0)
    assert "double" not in kinds
    assert [e.sample for e in s.truth] == sorted(e.sample for e in s.truth)
    np.testing.assert_allclose(s.landing_times_s, s.landing_samples / s.sample_rate)


@pytest.mark.parametrize("kind", ["rope", "rope-alternate", "double-under"])
def test_rope_clicks_sit_where_the_drill_puts_them(kind):
    s = synthesize(spec_for(kind, sets=(30,)))
    fs, period_s = s.sample_rate, 60 / s.spec.cadence_per_min
    landings, ropes = s.landing_samples, s.samples_of("rope")
    per_landing = 2 if kind == "double-under" else 1
    for i, landing in enumerate(landings):
        mine = ropes[(ropes < landing) & (ropes > (landings[i - 1] if i else 0))]
        assert len(mine) == per_landing
        assert 0.015 * fs - 1 <= landing - mine[-1] <= 0.040 * fs + 1  # the last click just before the feet
        if kind == "double-under":  # the two clicks about half a jump cycle apart
            assert 0.35 * period_s * fs <= mine[1] - mine[0] <= 0.65 * period_s * fs


def test_single_jumps_have_takeoffs_before_and_quieter_settles_after():
    s = synthesize(spec_for("single", sets=(8,), cadence_per_min=10))
    fs = s.sample_rate
    landings = [e for e in s.truth if e.kind == "landing"]
    for i, landing in enumerate(landings):
        end = landings[i + 1].sample if i + 1 < len(landings) else len(s.audio)
        takeoffs = [e for e in s.truth if e.kind == "takeoff" and landing.sample - 0.8 * fs - 1 <= e.sample < landing.sample]
        settles = [e for e in s.truth if e.kind == "settle" and landing.sample < e.sample < end]
        assert len(takeoffs) == 1 and landing.sample - takeoffs[0].sample >= 0.2 * fs - 1
        assert 1 <= len(settles) <= 3
        for e in settles:
            assert 0.2 * fs - 1 <= e.sample - landing.sample <= 0.9 * fs + 1
            assert 12 - 1e-9 <= 20 * np.log10(landing.force / e.force) <= 25 + 1e-9


def test_double_contacts_are_a_second_impact_10_to_60_ms_later_and_do_not_count():
    s = synthesize(spec_for("landings", double_contact_prob=1.0))
    landings, doubles = s.landing_samples, s.samples_of("double")
    assert s.count == 11 and len(doubles) == 11
    gaps_ms = 1000 * (doubles - landings) / s.sample_rate
    assert np.all((gaps_ms >= 10 - 0.1) & (gaps_ms <= 60 + 0.1))


@pytest.mark.parametrize("kind", KINDS)
def test_truth_sample_is_where_each_sound_starts(kind):
    s = synthesize(spec_for(kind, snr_db=None))
    first = s.truth[0].sample
    assert not np.any(s.audio[:first]) and s.audio[first] != 0
    for e in s.truth:
        assert onset_contrast_db(s.audio, e.sample, s.sample_rate) > 25, e


def test_single_jump_sounds_start_exactly_at_their_truth_sample():
    s = synthesize(spec_for("single", snr_db=None))
    for e in s.truth:
        if e.kind in ("takeoff", "landing"):
            assert s.audio[e.sample - 1] == 0 and s.audio[e.sample] != 0, e


def test_room_keeps_truth_samples_exact():
    s = synthesize(spec_for("landings", cadence_per_min=100, snr_db=None, room_t60_s=0.5))
    first = s.truth[0].sample
    assert np.max(np.abs(s.audio[:first])) < 1e-6 and abs(s.audio[first]) > 1e-4
    dry = synthesize(replace(s.spec, room_t60_s=0.0))
    after_last = slice(s.landing_samples[-1] + int(0.2 * s.sample_rate), s.landing_samples[-1] + int(0.3 * s.sample_rate))
    assert not np.any(dry.audio[after_last])  # a dry landing has died away 200 ms later ...
    assert 20 * np.log10(np.max(np.abs(s.audio[after_last]))) > -60  # ... the room still rings
    for e in s.truth:
        assert onset_contrast_db(s.audio, e.sample, s.sample_rate) > 30, e


@pytest.mark.parametrize(
    "background, background_db, room_t60_s",
    [(("white",), (), 0.0), (("pink", "hum"), (0.0, -3.0), 0.4), (("music", "babble", "pink"), (0.0, -3.0, -10.0), 0.2),
     (("pop",), (), 0.3), (("metronome", "pink"), (), 0.0)],
)
@pytest.mark.parametrize("snr_db", [6.0, 35.0])
def test_snr_and_level_are_as_asked(background, background_db, room_t60_s, snr_db):
    spec = spec_for("landings", force_range=(0.5, 1.5), background=background, background_db=background_db,
                    room_t60_s=room_t60_s, snr_db=snr_db, level_dbfs=-15.0)
    noisy, clean = synthesize(spec), synthesize(replace(spec, snr_db=None))
    assert noisy.truth == clean.truth
    loudest = max((e for e in clean.truth if e.kind == "landing"), key=lambda e: e.force)
    peak = np.max(np.abs(clean.audio[loudest.sample: loudest.sample + int(0.05 * clean.sample_rate)]))
    noise = noisy.audio.astype(np.float64) - clean.audio
    assert 20 * np.log10(peak) == pytest.approx(-15.0, abs=0.2)
    assert 20 * np.log10(peak / np.sqrt(np.mean(noise**2))) == pytest.approx(snr_db, abs=1.0)


@pytest.mark.parametrize("sample_rate", [8000, 22050, 44100, 96000])
def test_every_sample_rate_renders_the_same_session(sample_rate):
    spec = spec_for("rope", sample_rate=sample_rate, background=("pink", "hum", "babble", "music", "pop"), room_t60_s=0.3)
    s = synthesize(spec)
    reference = synthesize(replace(spec, sample_rate=22050))
    assert s.audio.dtype == np.float32 and s.audio.ndim == 1 and s.sample_rate == sample_rate
    assert np.all(np.isfinite(s.audio)) and np.max(np.abs(s.audio)) <= 1.0
    assert s.count == 11 and s.duration_s == pytest.approx(reference.duration_s, abs=0.01)
    np.testing.assert_allclose(s.landing_times_s, reference.landing_times_s, atol=1 / 8000)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pop_has_hi_hats_and_sharp_hits_that_music_has_not(seed):
    """``pop`` is the chord loop under a drum kit: power above 6 kHz (the hi-hats) and hits that stand well
    over its RMS; ``music`` holds nothing up there and no such peaks (its kick is 14 dB under the chords)."""
    spec = SessionSpec(sample_rate=44100)
    n = 20 * spec.sample_rate

    def above_6k_db(x):
        power = np.abs(np.fft.rfft(x)) ** 2
        return 10 * np.log10(np.sum(power[np.fft.rfftfreq(n, 1 / spec.sample_rate) > 6000]) / np.sum(power))

    def crest_db(x):
        return 20 * np.log10(np.max(np.abs(x)) / np.sqrt(np.mean(x.astype(np.float64) ** 2)))

    pop = BACKGROUND_GENERATORS["pop"](np.random.default_rng(seed), n, spec)
    music = BACKGROUND_GENERATORS["music"](np.random.default_rng(seed), n, spec)
    assert above_6k_db(pop) > -20 and above_6k_db(music) < -40
    assert crest_db(pop) > 15 and crest_db(music) < 14


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_metronome_keeps_its_beat_to_the_sample(seed):
    """``metronome``: a click every beat at 80-160 beats/min, each starting within a sample of an exact grid,
    every fourth 6 dB louder (an accent), nothing between the clicks."""
    spec = SessionSpec(sample_rate=44100)
    x = BACKGROUND_GENERATORS["metronome"](np.random.default_rng(seed), 20 * spec.sample_rate, spec)
    loud = np.flatnonzero(np.abs(x) > 1e-3 * np.max(np.abs(x)))
    starts = loud[np.concatenate([[True], np.diff(loud) > 0.05 * spec.sample_rate])]
    beat = np.diff(starts)
    assert 60 * spec.sample_rate / np.median(beat) == pytest.approx(120, abs=40.5)
    k = np.arange(starts.size)
    grid = np.polyval(np.polyfit(k, starts, 1), k)
    assert np.max(np.abs(starts - grid)) <= 1.0
    peaks = np.array([np.max(np.abs(x[s: s + int(0.02 * spec.sample_rate)])) for s in starts])
    accents = 20 * np.log10(peaks / np.median(peaks)) > 3.0
    assert accents.sum() == pytest.approx(starts.size / 4, abs=1)
    assert np.all(np.diff(k[accents]) == 4)


def test_output_stays_within_full_scale_even_when_driven_hard():
    s = synthesize(spec_for("double-under", level_dbfs=-0.5, snr_db=0.0, background=("white",)))
    assert np.max(np.abs(s.audio)) <= 1.0


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_render_unclipped_with_their_counts(name):
    s = synthesize(PRESETS[name])
    assert s.count == sum(PRESETS[name].sets)
    assert np.max(np.abs(s.audio)) < 0.99


def test_demo_spec_is_a_40_s_line_hops_session():
    spec = demo_spec()
    s = synthesize(spec)
    assert (spec.kind, spec.sets, spec.cadence_per_min, spec.sample_rate) == ("landings", (20, 20, 20), 150, 44100)
    assert 35 <= s.duration_s <= 45 and s.count == 60
    assert 1 <= len(s.samples_of("double")) <= 4


def test_ten_minutes_at_48_khz_with_every_background_render_every_landing():
    # how long a render takes is a figure benchmarks/bench_analyze.py prints, not a timed assert here
    spec = SessionSpec(sample_rate=48000, kind="rope", sets=(300,) * 5, cadence_per_min=180, rest_s=25.0,
                       background=("pink", "hum", "babble", "music"), room_t60_s=0.4, double_contact_prob=0.05)
    s = synthesize(spec)
    assert s.duration_s >= 600 and s.count == 1500 and s.sample_rate == 48000
    assert s.truth[-1].sample < len(s.audio) and np.all(np.isfinite(s.audio))
    assert np.max(np.abs(s.audio)) <= 1.0


def test_an_alternate_foot_sessions_second_foot_lands_as_much_fainter_as_asked():
    """``second_foot_db``: every other contact of a set (the second foot's) has its force scaled by it; the same
    seed draws the same forces and times, so the first foot's contacts are as before."""
    even = synthesize(spec_for("rope-alternate", snr_db=None))
    uneven = synthesize(spec_for("rope-alternate", snr_db=None, second_foot_db=-8.0))
    assert np.array_equal(even.landing_samples, uneven.landing_samples)
    for set_number in (1, 2):
        a = np.array([e.force for e in even.truth if e.kind == "landing" and e.set_number == set_number])
        b = np.array([e.force for e in uneven.truth if e.kind == "landing" and e.set_number == set_number])
        assert b[0::2] == pytest.approx(a[0::2])
        assert b[1::2] == pytest.approx(a[1::2] * 10 ** (-8.0 / 20))


def test_a_double_bounce_hops_once_between_rope_passes_as_much_fainter_as_asked():
    """``rebound_db``: after each landing of a single-bounce set, one rope-less hop 45-55% of the way to the next
    landing, its force the landing's scaled by ``rebound_db`` give or take 2 dB, and no rope slap with it."""
    double = synthesize(spec_for("rope", snr_db=None, rebound_db=-10.0))
    assert double.samples_of("rope").size == double.count
    landings = [e for e in double.truth if e.kind == "landing"]
    rebounds = [e for e in double.truth if e.kind == "rebound"]
    assert len(rebounds) == len(landings) == double.count
    gaps = np.diff(double.landing_samples)
    for i, (landing, hop) in enumerate(zip(landings, rebounds)):
        assert hop.set_number == landing.set_number
        level = 20 * np.log10(hop.force / landing.force)
        assert -12.0 <= level <= -8.0
        if i + 1 < len(landings) and landings[i + 1].set_number == landing.set_number:
            assert 0.45 * gaps[i] - 1 <= hop.sample - landing.sample <= 0.55 * gaps[i] + 1


@pytest.mark.parametrize(
    "changes",
    [{"kind": "hopscotch"}, {"background": ("traffic",)}, {"kind": "single", "cadence_per_min": 120},
     {"sets": ()}, {"sample_rate": 4000}, {"background": ()}, {"force_range": (1.2, 0.8)},
     {"second_foot_db": -6.0}, {"kind": "rope-alternate", "second_foot_db": -30.0},
     {"kind": "rope-alternate", "rebound_db": -8.0}, {"kind": "rope", "rebound_db": 3.0}],
)
def test_bad_specs_are_refused_in_one_sentence(changes):
    with pytest.raises(ValueError, match=r"^[^\n]+\.$"):
        SessionSpec(**changes)


def test_cli_writes_a_16_bit_wav_and_its_truth(tmp_path, capsys):
    out = tmp_path / "rope.wav"
    assert synth_cli_main([str(out), "--preset", "rope", "--seed", "3", "--sample-rate", "8000"]) == 0
    # it says which drill counts it (a preset's name is not a drill's)
    assert capsys.readouterr().out.endswith(f"; 'quietland analyze {out} --drill jump-rope' counts it\n")
    expected = synthesize(replace(PRESETS["rope"], seed=3, sample_rate=8000))
    audio, fs = sf.read(out, dtype="float32")
    assert sf.info(str(out)).subtype == "PCM_16" and fs == 8000
    np.testing.assert_allclose(audio, expected.audio, atol=2.0**-15)
    doc = json.loads((tmp_path / "rope.truth.json").read_text())
    assert doc["count"] == expected.count and doc["spec"]["seed"] == 3
    assert [(e["sample"], e["kind"], e["set_number"]) for e in doc["events"]] == [
        (e.sample, e.kind, e.set_number) for e in expected.truth]
    assert doc["events"][0]["t_s"] == pytest.approx(expected.truth[0].sample / 8000)


def test_cli_refuses_a_missing_folder(tmp_path, capsys):
    assert synth_cli_main([str(tmp_path / "nowhere" / "x.wav")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_cli_refuses_an_output_that_is_not_a_wav(tmp_path, capsys):
    assert synth_cli_main([str(tmp_path / "pogo"), "--preset", "pogo"]) == 2  # (a traceback from soundfile before)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must end in .wav" in err and list(tmp_path.iterdir()) == []


def test_bundled_demo_recording_matches_its_truth_and_spec():
    wav = RECORDINGS / "demo-line-hops.wav"
    doc = json.loads((RECORDINGS / "demo-line-hops.truth.json").read_text())
    session = synthesize(SessionSpec(**doc["spec"]))
    audio, fs = sf.read(wav, dtype="float32")
    assert fs == 44100 and sf.info(str(wav)).channels == 1 and wav.stat().st_size < 4_000_000
    assert [(e["sample"], e["kind"]) for e in doc["events"]] == [(e.sample, e.kind) for e in session.truth]
    np.testing.assert_allclose(audio, session.audio, atol=2 * 2.0**-15)
