"""Counting against synthetic sessions with exact truth: SNRs, cadences, sample rates, drills."""
from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from quietland.detector import LandingDetector
from quietland.pipeline import ScriptedAction, SessionPipeline
from quietland.synth import PRESETS, SessionSpec, synthesize
from quietland.synth_cli import DRILL_OF_KIND

from pipeline_support import analyse_audio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from real_variants import gate  # noqa: E402  (the benchmark's noise gate, used here as is)
import rope_grid  # noqa: E402  (the benchmark's count of reps on time, used here as is)



def analyse(spec: SessionSpec, drill: str | None = None, block: int = 65536):
    session = synthesize(spec)
    return session, analyse_audio(session.audio, session.sample_rate, drill or DRILL_OF_KIND[spec.kind], block)


def hits_within(session, analysis, window_s: float = 0.03) -> int:
    """Reps matched one-to-one to true landings within ``window_s``."""
    truth = list(session.landing_samples)
    hits = 0
    for rep in analysis.reps:
        if not truth:
            break
        d = np.abs(np.asarray(truth) - rep.sample)
        j = int(np.argmin(d))
        if d[j] <= window_s * session.sample_rate:
            truth.pop(j)
            hits += 1
    return hits


@pytest.mark.parametrize("snr_db", [20.0, 30.0, 40.0])
def test_line_hops_count_and_timing_across_snr(snr_db):
    spec = SessionSpec(kind="landings", cadence_per_min=150, sets=(20,), snr_db=snr_db, background=("pink", "babble"), seed=4)
    session, analysis = analyse(spec)
    assert analysis.summary.reps == session.count == 20
    assert hits_within(session, analysis) == 20


@pytest.mark.parametrize("cadence", [40, 90, 150, 250])
def test_two_foot_hops_at_every_cadence(cadence):
    spec = SessionSpec(kind="landings", cadence_per_min=cadence, sets=(20,), snr_db=30, seed=3)
    session, analysis = analyse(spec)
    assert analysis.summary.reps == 20
    assert hits_within(session, analysis) == 20
    assert analysis.summary.cadence_per_min == pytest.approx(cadence, rel=0.05)


@pytest.mark.parametrize("cadence", [90, 150, 250, 350, 450])
def test_rope_alternate_one_rep_per_contact_up_to_450_per_min(cadence):
    spec = SessionSpec(kind="rope-alternate", cadence_per_min=cadence, sets=(20,), snr_db=30, seed=3)
    session, analysis = analyse(spec)
    assert abs(analysis.summary.reps - 20) <= 1
    assert hits_within(session, analysis) >= 19
    assert any(r.reason == "rope" for r in analysis.rejected)  # the slaps are seen and rejected, not dropped


@pytest.mark.parametrize("sample_rate", [8000, 22050, 44100, 96000])
def test_sample_rates(sample_rate):
    spec = SessionSpec(kind="landings", sample_rate=sample_rate, cadence_per_min=150, sets=(20,), snr_db=30, seed=5)
    session, analysis = analyse(spec)
    assert analysis.summary.reps == 20
    assert hits_within(session, analysis, window_s=0.005) == 20


@pytest.mark.parametrize("name", ["demo", "pogo", "squat-jumps", "rope", "rope-alternate", "rope-music"])
def test_presets_count_and_sets(name):
    spec = PRESETS[name]
    session, analysis = analyse(spec)
    assert abs(analysis.summary.reps - session.count) <= max(1, round(0.02 * session.count))
    assert hits_within(session, analysis, window_s=0.05) >= 0.9 * session.count
    if spec.kind != "rope":
        assert analysis.summary.sets == len(spec.sets)


@pytest.mark.parametrize("name", ["demo", "pogo", "squat-jumps"])
def test_a_recording_that_starts_with_digital_silence_counts_the_same(name):
    """0.1 s of exact zeros first (as many exported and captured files begin): the sound starting after them
    is not a landing, and every rep is the same, 0.1 s later."""
    session = synthesize(PRESETS[name])
    lead = int(0.1 * session.sample_rate)
    audio = np.concatenate([np.zeros(lead, np.float32), session.audio])
    plain, shifted = ([r.sample for r in analyse_audio(x, session.sample_rate, DRILL_OF_KIND[session.spec.kind]).reps]
                      for x in (session.audio, audio))
    assert len(plain) == session.count
    assert len(shifted) == len(plain)
    assert np.max(np.abs(np.array(shifted) - lead - plain)) <= 0.001 * session.sample_rate


@pytest.mark.parametrize("threshold_dbfs", [-35.0, -25.0])
def test_a_recording_gated_to_digital_silence_keeps_its_landings(threshold_dbfs):
    """The demo through a noise gate that shuts to exact zeros under -35 or -25 dBFS (84% and 89% of it
    zeros): every landing but the first is a rep, timed to 5 ms, and nothing else is. The first landing is
    the recording's first sound, where the detector starts to learn the room."""
    session = synthesize(PRESETS["demo"])
    gated = gate(session.audio, session.sample_rate, threshold_dbfs)  # opening 2 ms ahead, holding 50 ms
    assert np.mean(gated == 0) > 0.8
    reps = analyse_audio(gated, session.sample_rate, "line-hops").reps
    truth = np.asarray(session.landing_samples)
    assert len(reps) == session.count - 1
    assert np.max(np.abs(np.array([r.sample for r in reps]) - truth[1:])) <= 0.005 * session.sample_rate


def test_a_dc_offset_does_not_stop_the_count():
    """The demo with a DC offset of 0.05 (-26 dBFS) added, as a poor microphone or converter gives: every rep,
    timed to 2 ms, with the same loudness to 0.5 dB."""
    session = synthesize(PRESETS["demo"])
    plain, offset = (analyse_audio(x, session.sample_rate, "line-hops").reps for x in (session.audio, session.audio + np.float32(0.05)))
    assert len(plain) == len(offset) == session.count
    assert np.max(np.abs(np.array([r.sample for r in offset]) - [r.sample for r in plain])) <= 0.002 * session.sample_rate
    assert [r.loudness_db for r in offset] == pytest.approx([r.loudness_db for r in plain], abs=0.5)


def test_single_rejects_takeoff_and_settle():
    session, analysis = analyse(PRESETS["squat-jumps"])
    assert analysis.summary.reps == session.count
    reasons = {r.reason for r in analysis.rejected}
    assert "takeoff" in reasons or "settle" in reasons


@pytest.mark.parametrize("preset, drill, hinted", [
    ("pogo", "single", True), ("demo", "single", True), ("pogo", "box-jumps", True),
    ("squat-jumps", "single", False), ("calibration", "single", False), ("squat-jumps", "squat-jumps", False),
    ("pogo", "depth-jumps", False),  # (its rebound's landing, as loud as the drop's, is part of the rep)
    ("pogo", "pogo", False),
])
def test_continuous_hops_counted_as_discrete_jumps_are_said_to_be(preset, drill, hinted):
    """Pogo hops counted as 'single' gave 15 of 30 without a word: every other contact was 'settle'."""
    session, analysis = analyse(PRESETS[preset], drill)
    hints = [w for w in analysis.warnings if "sounds as loud as the landings came within" in w]
    assert len(hints) == (1 if hinted else 0), analysis.warnings
    if hinted:
        quick, rest = hints[0].split(" sounds as loud as the landings came within 0.8 s of one (a contact every ")
        every, rest = rest.split(" s): ", 1)
        # the sounds named are contacts 'single' left out (not every one: a soft landing within 0.8 s is quieter,
        # one before a louder landing its take-off): with its reps, most landings and no more than there are
        assert 0.7 * session.count <= analysis.summary.reps + int(quick) <= session.count
        assert int(quick) <= sum(r.reason == "settle" for r in analysis.rejected)
        assert float(every) == pytest.approx(60.0 / PRESETS[preset].cadence_per_min, abs=0.02)
        assert rest.startswith(f"'{drill}' counts one landing per jump, no two within 0.8 s, and took these")
        assert rest.endswith("count every contact with --drill pogo, line-hops or single-leg-hops.")


def test_double_under_one_rep_per_jump():
    """The double-under preset on its own seed and seeds 1 and 2: one rep per jump (to one), 95% of them within
    50 ms of the landing. Measured: 60, 60 and 61 of 60 counted, 60, 60 and 57 on time. Before the search
    weighed the other half of the beat (a set that opened on the mid-air click stayed on it until the first
    period check): 60, 60 and 62, with 60, 54 and 55 on time."""
    counts, hits, truth = [], [], []
    for seed in (None, 1, 2):
        spec = PRESETS["double-under"] if seed is None else replace(PRESETS["double-under"], seed=seed)
        session, analysis = analyse(spec)
        counts.append(abs(analysis.summary.reps - session.count))
        hits.append(hits_within(session, analysis, window_s=0.05))
        truth.append(session.count)
    assert max(counts) <= 1
    assert sum(hits) >= 0.95 * sum(truth)


def rope_count_error_and_on_time(kind: str, cadences: tuple[int, ...]) -> tuple[int, int]:
    """Two sets of 25 contacts (double-unders: jumps) of ``kind`` at each of ``cadences``, 30 dB over pink noise,
    music or babble, seeds 0 and 1 (as ``rope_grid.py`` renders them): the count error summed over the sessions,
    and the reps within 50 ms of a landing."""
    error = on_time = 0
    for cadence, background, seed in itertools.product(cadences, ("pink", "music", "babble"), (0, 1)):
        spec = SessionSpec(kind=kind, cadence_per_min=cadence, sets=(25, 25), snr_db=30, background=(background,),
                           seed=seed, rest_s=5.0)
        session, analysis = analyse(spec)
        error += abs(analysis.summary.reps - session.count)
        on_time += hits_within(session, analysis, 0.05)
    return error, on_time


def test_a_rope_turned_once_a_second_is_found():
    """Single bounce at 60 rope passes per minute (a beginner's pace): two sets of 25, 30 dB over pink noise,
    music or babble, seeds 0 and 1: 6 sessions, 300 passes. A beat is believed on ``beat_min_hits`` (4) matched
    contacts, and ``beat_search_s`` (2.5 s) holds only 3 beats a second apart: before, no beat was found in 4 of
    the sessions (0 reps; 73 in all, 35 on time). A search whose tempo is that slow now judges its grids over
    as long as 4 of its beats take: 296 reps, all on time. (At 70 per minute: 252 before, 300 now.)"""
    error, on_time = rope_count_error_and_on_time("rope", (60,))
    assert error <= 10
    assert on_time >= 290


def test_a_slow_double_under_counts_one_rep_per_jump():
    """Double-unders at 100 and 120 jumps per minute (a jump of 0.6 and 0.5 s): the two rope passes come about
    half a jump apart, inside the drill's range of beats. Two sets of 25, 30 dB over pink noise, music or
    babble, seeds 0 and 1: 12 sessions, 600 jumps.

    Before, the beat was found on every rope pass and each jump counted twice: 1200 reps (600 too many), 600
    on time. Now a search whose every other beat thuds far less (the mid-air passes) takes the landings, and a
    follower does after ``slow_jump_beats`` beats: 624 reps, 600 on time; 10 sessions count 50, and in the two over pink
    noise with seed 1 (one at each cadence) the follower moved after 12 reps of its first set."""
    error, on_time = rope_count_error_and_on_time("double-under", (100, 120))
    assert error <= 30
    assert on_time >= 590


def test_squat_jumps_over_pop_music_count_only_the_landings():
    """Pop alone 30 dB under the loudest landing. Its kick is a thud with a click, as a landing is, 13-15 dB
    under the landings: within ``relative_floor_db`` of them, and a quiet landing must count. What tells
    the kicks apart is their beat: it goes on through the rests, where the kicks the discrete drill
    rejected between the landings (as settling or take-off sounds) have already laid it down. Before
    the ``background`` rule the preset counted 100 reps for its 18 jumps."""
    session, analysis = analyse(replace(PRESETS["squat-jumps"], background=("pop",), background_db=(), snr_db=30.0))
    assert abs(analysis.summary.reps - session.count) <= 1
    assert hits_within(session, analysis, 0.05) >= session.count - 1


@pytest.mark.parametrize(
    "kind, cadence, seed",
    [
        ("line-hops", 100, 1),
        ("line-hops", 150, 2),
        ("pogo", 120, 1),
        ("pogo", 120, 2),
        ("single", 15, 1),
        ("single", 15, 2),
    ],
)
def test_pop_drums_in_the_rest_between_two_impact_sets_are_no_reps(kind, cadence, seed):
    """Two sets of 20 landings 30 dB over pop music, with a 6 s rest (12 s for the discrete ``single``).

    The kick and snare, 10-15 dB under the landings, passed as reps through the rests (line hops at
    100/min: 48 reps in 1 set; squat jumps at 15/min: 93). A sound 6 dB under the recent reps that keeps
    the steady beat of two earlier such sounds that were not reps is now ``background``. In squat jumps at
    15/min (seed 2) a kick 100 ms before the first landing was the first rep, the landing its settling,
    and the kicks, as loud as that first rep, never faint against the reps (104 reps, 1 set): a faint
    sound in a discrete drill now waits as long as a take-off could come before its landing (150 ms), and
    a landing 10 dB louder in that time makes it the precursor. What is left: a kick before the first
    landing can still be the first rep (the lead-in), and a few drums between contacts count.
    """
    spec = SessionSpec(
        kind="single" if kind == "single" else "landings",
        sets=(20, 20),
        cadence_per_min=cadence,
        rest_s=12.0 if kind == "single" else 6.0,
        background=("pop",),
        snr_db=30,
        seed=seed,
    )
    session, analysis = analyse(spec, drill=kind)
    assert reps_in_rest(session, analysis, cadence) == []
    assert analysis.summary.sets == 2
    assert 40 <= analysis.summary.reps <= 43
    assert hits_within(session, analysis, 0.05) >= 38


def landings_with_a_rep(analysis, landings: np.ndarray, sample_rate: int, window_s: float = 0.05) -> int:
    """How many of ``landings`` (samples) have a rep within ``window_s`` (a rep may serve two landings)."""
    reps = np.array([r.sample for r in analysis.reps])
    if not reps.size:
        return 0
    return sum(bool(np.min(np.abs(reps - t)) <= window_s * sample_rate) for t in landings)


def _speed_up(seed: int, before_per_min: float, after_per_min: float):
    """10 alternate-foot contacts at ``before_per_min``, then 40 at ``after_per_min`` with no rest:
    the analysis, and how many of the 50 contacts have a rep within 50 ms."""
    new_gap = 60.0 / after_per_min
    first = synthesize(
        SessionSpec(kind="rope-alternate", cadence_per_min=before_per_min, sets=(10,), snr_db=30, seed=seed, tail_s=new_gap / 2)
    )
    then = synthesize(
        SessionSpec(kind="rope-alternate", cadence_per_min=after_per_min, sets=(40,), snr_db=30, seed=seed + 100, lead_in_s=new_gap / 2)
    )
    audio = np.concatenate([first.audio, then.audio])
    truth = np.concatenate([first.landing_samples, then.landing_samples + first.audio.size])
    analysis = analyse_audio(audio, first.sample_rate, "jump-rope-alternate")
    return analysis, landings_with_a_rep(analysis, truth, first.sample_rate)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rope_follows_a_speed_up_inside_a_set(seed):
    """10 alternate-foot contacts at 150/min, then 40 at 225/min with no rest.

    Without a period check the follower keeps its first period: its beats land on every
    1.5th contact and still find sounds (measured: 36-37 reps, 23-24 on a contact). The check
    every 8 beats finds the faster grid; contacts before it are lost (44-46 reps, 42 on time, and
    seed 2 lost the beat and split the set). Checked also at once, over the last 4.5 beats only,
    when a real beat follows inferred ones (contacts that went missing), it finds it sooner:
    48-49 reps, 46-48 on time, one set. (Over 2.5 s, as the regular check looks, the old pace's
    beats kept the faster grid's share at 0.78 in seed 2, under the 0.8 it needs.)
    """
    analysis, on_time = _speed_up(seed, 150, 225)
    assert analysis.summary.sets == 1
    assert 44 <= analysis.summary.reps <= 50
    assert on_time >= 38


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_slow_rope_set_that_doubles_its_pace_is_followed(seed):
    """10 alternate-foot contacts at 80/min (0.75 s), then 40 at 160/min with no rest.

    The period check lays its grids back over 4.5 beats of the current period: with a beat of
    0.75 s it needs 3.4 s of sounds. While it looked back over 2.5 s only, it never ran for
    periods above about 0.45 s, and the follower stayed on every other contact (measured:
    30 reps, 30 on time). Now it halves the period (40 reps, 40 on time).
    """
    analysis, on_time = _speed_up(seed, 80, 160)
    assert analysis.summary.sets == 1
    assert 38 <= analysis.summary.reps <= 50
    assert on_time >= 38


def test_the_first_contacts_after_a_trip_up_are_counted():
    """Single-bounce rope, 3 sets of 20 with a short pause (a trip-up: 0.8 or 1.4 s) between them, at 100 and
    130 per minute, 3 seeds: 12 sessions, 24 restarts.

    While the follower infers beats through the pause, a sound off its grid is the rope's, unless it could confirm
    them: that one waits, for it may be the next set's first contact. When it was decided ``rope`` at once, the
    restart's first contact was lost whenever it fell between two of the stopped rhythm's beats (measured: 7 of
    the 24 restarts' first contacts counted). Waiting, 19 of 24 are.
    """
    found = 0
    for cadence, rest_s, seed in itertools.product((100, 130), (0.8, 1.4), (0, 1, 2)):
        spec = SessionSpec(kind="rope", sets=(20, 20, 20), cadence_per_min=cadence, rest_s=rest_s, snr_db=30.0,
                           background=("pink",), seed=seed)
        session, analysis = analyse(spec)
        found += landings_with_a_rep(analysis, session.landing_samples[[20, 40]], session.sample_rate)
    assert found >= 16


def test_a_beginners_double_bounce_counts_one_rep_per_rope_pass():
    """Single-bounce rope with a beginner's double bounce: after each landing a rope-less hop, 8 or 12 dB
    quieter, halfway to the next rope pass. Two sets of 25 at 60, 80 and 100 passes per minute, 30 dB over pink
    noise, babble or music, seed 0: 18 sessions, 900 rope passes.

    The rope's beat is every second sound, on the louder ones, once every other one of its clusters is
    ``rebound_drop_db`` under the others. Before, the follower took the hops for contacts: 795 reps too many
    (about twice the count), 893 of them within 50 ms of a rope pass's landing. Now the counts are off by 23
    in all, 9 at most in one session (60 per minute, 8 dB hops over babble), 895 reps are within 50 ms, and 946
    sounds are ``rebound``. (A follower that halved the beat once did not halve it again; a search that had
    found a beat twice as fast as the contacts left one set counted at the hops' pace to its end: 45 off.)
    """
    error = on_time = rebounds = 0
    for cadence, rebound_db, background in itertools.product((60, 80, 100), (-8.0, -12.0), ("pink", "babble", "music")):
        spec = SessionSpec(kind="rope", cadence_per_min=cadence, sets=(25, 25), snr_db=30, background=(background,),
                           seed=0, rest_s=5.0, rebound_db=rebound_db)
        session, analysis = analyse(spec)
        error += abs(analysis.summary.reps - session.count)
        on_time += hits_within(session, analysis, 0.05)
        rebounds += sum(r.reason == "rebound" for r in analysis.rejected)
    assert error <= 40
    assert on_time >= 880
    assert rebounds >= 700


@pytest.mark.parametrize("seed", [1, 13])
def test_a_plain_single_bounce_has_no_rebounds_and_its_reps_are_its_landings(seed):
    """The ``rope`` preset (two sets of 80 contacts at 160/min, a slap 15-40 ms before each landing) with seeds
    that broke it. Where a landing came 15-24 ms after its slap, the landing's rise was no peak of the onset
    strength while the slap's was still fading within ``pre_max_ms``: one event, timed and measured on the
    slap, about 10 dB quieter than a landing's. Such beats, every other one by chance, read as a double
    bounce's hops: 147 and 149 reps of 160 (15 and 17 landings ``rebound``), and 22% of the reps over 23 seeds
    were timed on the slap. A peak now need beat only the strength since it last fell to rest."""
    session, analysis = analyse(replace(PRESETS["rope"], seed=seed))
    assert analysis.summary.reps == session.count == 160
    assert not [r for r in analysis.rejected if r.reason == "rebound"]
    # timed on the landing, not on the slap before it (a landing 15-20 ms after it, inside min_gap_ms, still
    # is one impact with it): 157 and 153 within 5 ms, 114 and 111 before
    assert hits_within(session, analysis, 0.005) >= 150


def reps_in_rest(session, analysis, cadence: float, margin_s: float | None = None) -> list[float]:
    """Times (s) of the reps inside a two-set session's rest: more than ``margin_s`` (half a period unless
    given) from the landings either side of the longest gap between landings."""
    landings = session.landing_samples / session.sample_rate
    rest_at = int(np.argmax(np.diff(landings)))  # the first set's last landing
    margin = 60.0 / cadence / 2 if margin_s is None else margin_s
    return [r.t_s for r in analysis.reps if landings[rest_at] + margin < r.t_s < landings[rest_at + 1] - margin]


@pytest.mark.parametrize(
    "kind, cadence, background",
    [("rope", 100, "music"), ("rope-alternate", 200, "babble")],
    ids=["carry-on-over-music", "new-set-in-babble"],
)
def test_the_rest_between_two_rope_sets_has_no_reps(kind, cadence, background):
    """Two sets of 25 contacts with a 5 s rest, over a background some 20 dB under the landings.

    Over music whose quiet beat is steady, the set carried on through the rest: each beat is
    timed by its most salient sound, often the rope's click, some 20 dB under the landing beside
    it, and while the follower held a beat's loudness to that click's, the music's beat (as
    quiet) passed (80 reps in one set). Over babble, a new set started in the rest on the
    voices (69 reps, 42 on time). Now a beat is held to its cluster's loudness, the rep it
    counts; a new set must start within 15 dB of the last set's reps; and a searched rhythm's
    sounds far under its own beats are not contacts (two at the start of the babble session).
    """
    spec = SessionSpec(kind=kind, cadence_per_min=cadence, sets=(25, 25), snr_db=30, background=(background,), seed=0, rest_s=5.0)
    session, analysis = analyse(spec)
    assert reps_in_rest(session, analysis, cadence) == []
    landings = session.landing_samples / session.sample_rate
    period = 60.0 / cadence
    assert [r.t_s for r in analysis.reps if r.t_s < landings[0] - period / 2] == []  # nor the lead-in
    assert analysis.summary.sets == 2
    assert 48 <= analysis.summary.reps <= 52
    assert hits_within(session, analysis, 0.05) >= 48


def started_earlier(session, seconds: float):
    """The same session recorded from ``seconds`` earlier, on the same music: its background loop's last
    ``seconds`` (from its tail, after the last landing has died away) before it, and its truth moved on."""
    n = int(round(seconds * session.sample_rate))
    audio = np.concatenate([session.audio[-n:], session.audio])
    return replace(session, audio=audio, truth=tuple(replace(e, sample=e.sample + n) for e in session.truth))


def test_pop_drums_before_the_first_squat_jump_are_no_reps():
    """Squat jumps at 15/min, two sets of 20 with a 12 s rest, 30 dB over pop, the recording started 0.41 s before
    the music's first bar (a real recording starts anywhere in the music). The kick before the first landing is
    the first rep, as nothing before it says otherwise. When faint was judged against the reps' median, taken
    over that kick and the first landing, the kicks after them were not faint and never laid down the background
    beat: 102 reps in 1 set (45-91 for seed 1 at other starts). Now a discrete drill's sound is faint against the
    loudest recent rep, and the first two reps are evidence of the beat too: 41 in 2."""
    spec = SessionSpec(kind="single", sets=(20, 20), cadence_per_min=15, rest_s=12.0, background=("pop",), snr_db=30, seed=2)
    session = started_earlier(synthesize(spec), 0.41)
    analysis = analyse_audio(session.audio, session.sample_rate, "single", 4096)
    assert reps_in_rest(session, analysis, 15) == []
    assert analysis.summary.sets == 2
    assert 40 <= analysis.summary.reps <= 43


def test_squat_jumps_over_pop_started_mid_bar_count_only_the_landings():
    """The squat-jump preset over pop (30 dB), the recording started 0.41 s before the music's first bar: 19 reps
    for 18, the one extra the kick before the first landing (97 when faint was judged against the reps' median;
    see the test above)."""
    session = started_earlier(synthesize(replace(PRESETS["squat-jumps"], background=("pop",), background_db=(), snr_db=30.0)), 0.41)
    analysis = analyse_audio(session.audio, session.sample_rate, "single", 4096)
    assert abs(analysis.summary.reps - session.count) <= 1
    assert hits_within(session, analysis, 0.05) == session.count


def test_a_rope_search_does_not_open_on_the_drums_before_the_first_contact():
    """Single-bounce rope at 100/min over pop (30 dB), two sets of 25, the recording started 0.41 s before the
    music's first bar: the drums before the first contact made a rope set of their own (55 reps in 3 sets).
    A search now opens on the first sound within ``faint_db`` of the loud ones in its window (the contacts),
    the quieter ones before it waiting for its grid (50 reps in 2 sets, as at every start from 0 to 0.78 s; started
    1.1 s earlier, 64 in 3)."""
    spec = SessionSpec(kind="rope", cadence_per_min=100, sets=(25, 25), snr_db=30, background=("pop",), seed=1, rest_s=5.0)
    session = started_earlier(synthesize(spec), 0.41)
    analysis = analyse_audio(session.audio, session.sample_rate, "jump-rope", 4096)
    assert reps_in_rest(session, analysis, 100) == []
    assert analysis.summary.sets == 2
    assert 48 <= analysis.summary.reps <= 52
    assert hits_within(session, analysis, 0.05) >= 46


@pytest.mark.parametrize("cadence", [100, 140], ids=["new-set-on-the-drums", "set-kept-alive-by-the-drums"])
def test_pop_drums_in_the_rest_between_two_rope_sets_are_no_reps(cadence):
    """Two sets of 25 single-bounce contacts with a 5 s rest, 30 dB over pop music (seed 1).

    Pop's drums are sharp hits on a steady beat some 10-25 dB under the landings: a rhythm, but not the
    athlete's. At 100/min a new set started in the rest on them (83 reps, 9 in the rest, 36 on time): only
    the search's opener was held to the last set's loudness, and the hi-hats, as salient as it, made the
    rhythm. Its sounds are now held to the last set's loudness as well (51 reps, 48 on time). At 140/min
    the set carried on through the rest (62 reps in one set, 10 in the rest): one drum hit in two or three
    beats, 10 dB or more under the landings, confirmed the inferred beats between. A sound that confirms
    inferred beats must now be within ``beat_confirm_db`` of the rhythm's beats (52 reps, 2 sets).
    """
    spec = SessionSpec(kind="rope", cadence_per_min=cadence, sets=(25, 25), snr_db=30, background=("pop",), seed=1, rest_s=5.0)
    session, analysis = analyse(spec)
    assert reps_in_rest(session, analysis, cadence) == []
    assert analysis.summary.sets == 2
    assert 48 <= analysis.summary.reps <= 53
    assert hits_within(session, analysis, 0.05) >= 46


@pytest.mark.parametrize(
    "kind, cadence, seed",
    [
        pytest.param(
            "rope",
            140,
            1,
            marks=pytest.mark.xfail(
                strict=True,
                reason="the drums before the first contact (24 dB: the kick within 4-7 dB of the landings) make a "
                "rope set of their own: 61 reps in 2 sets, 16 of them in the rest (81 in 1 set, 20 in the rest, "
                "before a sound's peak had to beat only the onset strength since it last fell to rest)",
            ),
        ),
        ("rope-alternate", 280, 1),
        ("double-under", 230, 2),
        ("rope-alternate", 200, 2),
    ],
)
def test_pop_drums_in_a_long_rest_between_two_rope_sets_are_no_reps(kind, cadence, seed):
    """Two sets of 25 contacts 24 dB over pop music, with a 20 s rest: long enough for the drums to make a
    set of their own. A rhythm found after a set that is ``faint_db`` under it and whose grid finds the
    drums before its first beat was going before: ``background``. Before: rope 140/min 92 reps (30 in the
    rest), alternate 280/min 85 (46), double-under 230 jumps/min 106 (54)."""
    spec = SessionSpec(kind=kind, cadence_per_min=cadence, sets=(25, 25), snr_db=24, background=("pop",), seed=seed, rest_s=20.0)
    session, analysis = analyse(spec)
    # a second either side of the rest is left out: a drum can still pass as the beat after a set's last
    assert reps_in_rest(session, analysis, cadence, margin_s=1.0) == []
    assert analysis.summary.sets == 2
    assert 45 <= analysis.summary.reps <= 53
    assert hits_within(session, analysis, 0.05) >= 45


def test_a_rope_set_starts_when_only_its_landings_clear_the_music():
    """Two sets of 25 single-bounce contacts at 100/min, 12 dB over music, 5 s rest.

    A rope set starts at a sound 6 dB over the room's floor. Over music this loud only some landings
    clear it, and the rope's slaps, as sharp but quieter, do not; a 2.5 s search holds about 4 beats
    at 100/min, so with only the loud sounds taking part the second set never started (24 reps, 19 on
    time). Sounds as salient as the sound that opens the search now take part too (50 reps, 38 on time).
    """
    spec = SessionSpec(kind="rope", cadence_per_min=100, sets=(25, 25), snr_db=12, background=("music",), seed=0, rest_s=5.0)
    session, analysis = analyse(spec)
    assert analysis.summary.sets == 2
    assert 47 <= analysis.summary.reps <= 53
    assert hits_within(session, analysis, 0.05) >= 32


@pytest.mark.parametrize("background, seed", [("babble", 0), ("music", 1)])
def test_a_double_under_beat_on_the_mid_air_click_moves_onto_the_landings(background, seed):
    """Two sets of 25 double-unders at 140/min, 30 dB over babble or music, 5 s rest.

    A jump's two rope clicks are about half a jump apart, so a beat that starts on the mid-air
    click keeps finding sounds there. Measured before the phase check: 51 reps, 27 and 25 of them
    within 50 ms of a landing (a set on the wrong half); then 52 reps, 42 and 38. Once empty bands made no rises
    the babble session's first set started on the mid-air click and its first phase check missed (28 on time);
    since a search also takes sounds as salient as its opener, 45 and 50.
    """
    spec = SessionSpec(kind="double-under", cadence_per_min=140, sets=(25, 25), snr_db=30, background=(background,), seed=seed, rest_s=5.0)
    session, analysis = analyse(spec)
    assert 48 <= analysis.summary.reps <= 53
    assert hits_within(session, analysis, 0.05) >= 36


@pytest.mark.parametrize(
    "background, sample_rate, cadence",
    [
        pytest.param(
            "pop",
            44100,
            200,
            marks=pytest.mark.xfail(
                strict=True,
                reason="47 reps in 2 sets (45 within 50 ms of a landing): the second set's first 4 landings, "
                "13.4-14.3 s, are no reps. Before a peak needed beat only the onset strength since it last fell "
                "to rest, 45 in 3 sets (42): at 17.6 and 17.9 s a landing 18-20 ms after its click was one "
                "impact with it, a cluster 12 dB under the set's, and after three such beats the set ended "
                "(and 51 in 2 sets, 43 on time, while a landing 25-40 ms after its click was timed on the click)",
            ),
        ),
        ("sequenced", 44100, 200),
        ("pink", 16000, 140),
    ],
)
def test_a_double_under_set_that_opens_on_the_mid_air_click_moves_within_a_few_beats(background, sample_rate, cadence):
    """Two sets of 25 double-unders, 30 dB over pop music, the same drums quantised, or pink noise at
    16 kHz (a headset's rate, where the rope's clicks show less of their high band), 5 s rest, seed 0.

    The phase is checked at every beat, not only at the period checks every ``beat_recheck_beats``
    beats: a set that opened on the mid-air click counted up to 8 of them first. Measured before:
    50, 52 and 50 reps, 34, 31 and 33 within 50 ms of a landing; after: 51, 51 and 50, 43, 43 and 48.
    """
    spec = SessionSpec(
        kind="double-under", sample_rate=sample_rate, cadence_per_min=cadence, sets=(25, 25), snr_db=30,
        background=(background,), seed=0, rest_s=5.0,
    )
    session, analysis = analyse(spec)
    assert 48 <= analysis.summary.reps <= 53
    assert hits_within(session, analysis, 0.05) >= 40


def test_ramp_in_and_rhythm_fields():
    spec = SessionSpec(kind="landings", cadence_per_min=120, sets=(12, 12), rest_s=8.0, snr_db=35, seed=9)
    _, analysis = analyse(spec)
    assert [s.reps for s in analysis.sets] == [12, 12]
    for rep in analysis.reps:
        assert rep.ramp_in == (rep.rep_in_set <= 3)
        if rep.rep_in_set == 1:
            assert rep.interval_ms is None
        else:
            assert rep.interval_ms == pytest.approx(500.0, rel=0.2)
    assert analysis.summary.interval_cv is not None and analysis.summary.interval_cv < 0.1


@pytest.mark.parametrize(("preset", "drill", "most_false", "fewest_on_time"), [("pogo", "pogo", 6, 81), ("squat-jumps", "single", 6, 44)])
def test_over_loud_talk_a_faint_sound_without_a_thud_is_no_landing(preset, drill, most_false, fewest_on_time):
    """Three seeds of a preset with three-talker babble, the loudest landing 18 dB over it. Faint syllables
    (6 dB under the recent reps) that cleared every other check were counted: 14 false reps over pogo's three
    sessions, 20 over the squat jumps' (reps not within 50 ms of a landing). A landing has a thud; a syllable
    hardly any under 250 Hz for its loudness, so in the landing drills a faint sound whose low band holds
    10 dB less of its loudness than the recent reps' is ``no-thud``: 4 and 3 false reps, and the landings on
    time as before (81 of 90, 44 of 54)."""
    false = on_time = 0
    for seed in (1, 2, 3):
        spec = replace(PRESETS[preset], background=("babble",), background_db=(0.0,), snr_db=18.0, seed=seed)
        session, analysis = analyse(spec, drill)
        truth = session.samples_of("landing") / session.sample_rate
        reps = np.array([r.t_s for r in analysis.reps])
        hits = rope_grid.on_time(truth, reps)
        on_time += hits
        false += reps.size - hits
    assert false <= most_false and on_time >= fewest_on_time


def _on_time_and_false(session, drill: str, thud: bool) -> tuple[int, int]:
    """Reps on time and false for ``drill`` over ``session``, with the thud band's onsets as the drill asks or none."""
    pipe = SessionPipeline(session.sample_rate, drill)
    if not thud:
        pipe.detector = LandingDetector(session.sample_rate, replace(pipe.detector.config, thud_k_mad=None))
    for i in range(0, session.audio.size, 4096):
        pipe.process(session.audio[i : i + 4096])
    _, analysis = pipe.finish()
    reps = np.array([r.t_s for r in analysis.reps])
    hits = rope_grid.on_time(session.samples_of("landing") / session.sample_rate, reps)
    return hits, reps.size - hits


@pytest.mark.parametrize(
    ("preset", "drill", "background", "landings", "most_without", "fewest_with"),
    [
        ("demo", "line-hops", ("pink",), 60, 40, 50),
        ("demo", "line-hops", ("white", "hum"), 60, 40, 50),
        ("squat-jumps", "single", ("white", "hum"), 18, 9, 15),
    ],
)
def test_soft_landings_in_broadband_noise_are_found_by_their_thud(preset, drill, background, landings, most_without, fewest_with):
    """The loudest landing's peak 18 dB over pink noise, or over white noise with mains hum: the onset strength, a
    mean of every band's rise, misses most landings softer than the middle (the thud rises in a few bands under
    250 Hz, the noise in all the rest). The thud band's own rise finds them (seed 1, measured 2026-12-07: the demo's
    60 line hops 36 -> 52 on time over pink noise, 28 -> 57 over white noise and hum; the squat-jump preset's 18
    jumps counted as ``single`` 5 -> 18 over white noise and hum, 24 -> 44 of 54 over three seeds; no false rep
    either way)."""
    spec = replace(PRESETS[preset], seed=1, snr_db=18.0, background=background, background_db=(0.0,) * len(background))
    session = synthesize(spec)
    assert session.samples_of("landing").size == landings
    with_thud, false_with = _on_time_and_false(session, drill, thud=True)
    without, false_without = _on_time_and_false(session, drill, thud=False)
    assert without <= most_without  # the onset strength alone loses a third or more of them ...
    assert with_thud >= fewest_with  # ... the thud band finds most of those
    assert false_with == 0 and false_without == 0


def test_pure_noise_music_and_babble_give_no_reps():
    from dataclasses import replace

    spec = SessionSpec(kind="landings", sets=(30,), snr_db=20, background=("pink", "babble", "music", "hum"), seed=2)
    noisy = synthesize(spec)
    clean = synthesize(replace(spec, snr_db=None))  # the same impacts without background
    background = noisy.audio - clean.audio
    assert np.sqrt(np.mean(background**2)) > 1e-3
    for drill in ("generic", "line-hops", "jump-rope"):
        pipe = SessionPipeline(noisy.sample_rate, drill)
        pipe.process(background)
        assert pipe.finish()[1].summary.reps == 0, drill


def test_new_set_and_change_drill_continue_numbering():
    spec = SessionSpec(kind="landings", cadence_per_min=120, sets=(20,), snr_db=35, seed=11)
    session = synthesize(spec)
    pipe = SessionPipeline(session.sample_rate, "line-hops")
    third = session.audio.size // 3
    pipe.process(session.audio[:third])
    pipe.new_set()
    pipe.process(session.audio[third : 2 * third])
    owed = pipe.change_drill("pogo")
    pipe.process(session.audio[2 * third :])
    _, analysis = pipe.finish()
    assert all(item.t_s <= 2 * third / session.sample_rate for item in owed)
    assert analysis.summary.reps == 20
    assert [r.number for r in analysis.reps] == list(range(1, 21))
    assert analysis.summary.sets == 3
    assert analysis.drill_changes == ((2 * third, "pogo"),)
    assert pipe.counter.rule.name == "pogo"


@pytest.mark.parametrize(
    "spec, drill",
    [
        *[
            pytest.param(replace(PRESETS[name], sets=PRESETS[name].sets[:1]), drill, id=name)
            for name, drill in [("rope", "jump-rope"), ("double-under", "jump-rope-double-under"), ("squat-jumps", "single"), ("demo", "line-hops")]
        ],
        # sounds held while beats are inferred through a pause, then the restart's search
        pytest.param(
            SessionSpec(kind="rope", sets=(20,) * 4, cadence_per_min=100, rest_s=0.9, snr_db=18.0, background=("babble",), seed=3),
            "jump-rope", id="trip-ups",
        ),
        # a double bounce: the beat halved, its hops rebound
        pytest.param(
            SessionSpec(kind="rope", sets=(25, 25), cadence_per_min=80, rest_s=5.0, snr_db=30.0, background=("babble",), seed=1,
                        rebound_db=-8.0),
            "jump-rope", id="double-bounce",
        ),
    ],
)
def test_reps_do_not_depend_on_block_size(spec, drill):
    session = synthesize(spec)
    runs = []
    for block in (64, 480, 4096, 1 << 20):
        analysis = analyse_audio(session.audio, session.sample_rate, drill, block)
        runs.append([(r.sample, r.inferred, r.set_number) for r in analysis.reps] + [(r.event.sample, r.reason) for r in analysis.rejected])
    assert len(runs[0]) > 5
    assert runs[0] == runs[1] == runs[2] == runs[3]


@pytest.mark.parametrize("name, drill", [("pogo", "pogo"), ("demo", "line-hops")])
def test_a_metronomes_clicks_are_no_reps_once_its_beat_is_known(name, drill):
    """The pogo preset (3 sets of 10, 20 s rests) and the demo's line hops (3 sets of 20, 8 s rests) over a
    metronome (its clicks 5 dB under the loudest landing, its accents 1 dB over) and pink noise, 36 dB under the
    loudest landing (the SNR counts both). Every landing is a rep within 50 ms (one line hop is timed by a
    click 35 ms before it, before the beat is known); once the metronome's beat is known (12 s in at most:
    24 beats, or 12 in a row all heard), no click is. Before, the clicks in the rests were reps (measured:
    pogo 103 reps for 30, 29 on time; line hops 72 for 60). Before the beat is known the clicks still count
    (pogo 4, line hops 6)."""
    spec = replace(PRESETS[name], background=("metronome", "pink"), background_db=(), snr_db=36.0)
    session, analysis = analyse(spec, drill)
    assert hits_within(session, analysis, 0.05) == session.count
    landings = session.landing_samples / session.sample_rate
    late = [r.t_s for r in analysis.reps if r.t_s > 12.0 and np.min(np.abs(landings - r.t_s)) > 0.05]
    assert late == []


@pytest.mark.parametrize("name, drill", [("pogo", "pogo"), ("demo", "line-hops"), ("squat-jumps", "single")])
def test_sequenced_drums_are_no_reps_once_their_beat_is_known(name, drill):
    """Three presets 24 dB over ``sequenced`` music (pop's drums, every hit exactly on the beat, the kick and
    snare 10 dB over the hi-hats): within 6 dB of the landings, too loud for the faint-beat rule. Once the
    drums' beat is known as a machine's (10 s in at most), no drum is a rep, kick or hi-hat: each is judged
    against the drums at the same place in the bar. Before, they passed all session (measured: pogo 86 reps for
    30, line hops 81 for 60, squat jumps 104 for 18; judged against all the drums, 86, 81 and 92). Landings on
    time within 50 ms: pogo 30 of 30 (27 before), line hops 56 of 60 (54), squat jumps 15 of 18 (14)."""
    spec = replace(PRESETS[name], background=("sequenced",), background_db=(), snr_db=24.0)
    session, analysis = analyse(spec, drill)
    landings = session.landing_samples / session.sample_rate
    late = [r.t_s for r in analysis.reps if r.t_s > 10.0 and np.min(np.abs(landings - r.t_s)) > 0.05]
    assert late == []
    if name == "pogo":
        assert hits_within(session, analysis, 0.05) == session.count


@pytest.mark.parametrize("seed", [0, 1])
def test_single_bounce_rope_in_loud_noise_hears_more_contacts_at_its_own_threshold(seed):
    """Single-bounce rope at 100/min, two sets of 25, the loudest landing 12 dB over pink noise (the
    contacts 3-6 dB over the room's floor): counted by ``jump-rope``, whose detector picks peaks at 3.5
    robust standard deviations (``DrillRule.onset_k_mad``), and again with the detector's default of 4.
    Measured: 40 and 30 of 50 on time (57 and 52 reps), against 22 and 18 (35 and 26 reps). (Seed 1 was 41 of 53
    before the detector learnt the room from the stream's opening: two noise onsets beside the first contact are
    now heard and the first set's search takes half the period, losing the beat.)"""
    session = synthesize(SessionSpec(kind="rope", cadence_per_min=100, sets=(25, 25), snr_db=12, background=("pink",), seed=seed, rest_s=5.0))
    truth = session.samples_of("landing") / session.sample_rate
    on_time = []
    for k_mad in (None, 4.0):
        pipe = SessionPipeline(session.sample_rate, "jump-rope")
        assert pipe.detector.config.k_mad == 3.5
        if k_mad is not None:
            pipe.detector.set_threshold(k_mad)
        for i in range(0, session.audio.size, 4096):
            pipe.process(session.audio[i : i + 4096])
        reps = np.array([r.t_s for r in pipe.finish()[1].reps])
        on_time.append(rope_grid.on_time(truth, reps))
    assert on_time[0] >= 30
    assert on_time[0] >= on_time[1] + 10


def test_a_drill_change_sets_the_detectors_threshold():
    """The rope drills that set their own threshold (single bounce, alternate foot: 3.5) and candidates'
    (alternate foot: 2.5) get them from the start and at a change of drill, and lose them at a change to a
    drill that does not (4, the detector's, and none)."""
    def thresholds(pipe: SessionPipeline) -> tuple[float, float | None]:
        return pipe.detector.config.k_mad, pipe.detector.config.candidate_k_mad

    pipe = SessionPipeline(44100, "generic")
    assert thresholds(pipe) == (4.0, None)
    pipe.change_drill("jump-rope-alternate")
    assert thresholds(pipe) == (3.5, 2.5)
    pipe.change_drill("jump-rope-double-under")
    assert thresholds(pipe) == (4.0, None)
    assert thresholds(SessionPipeline(44100, "jump-rope")) == (3.5, None)
    assert thresholds(SessionPipeline(44100, "jump-rope-alternate")) == (3.5, 2.5)


@pytest.mark.parametrize("cadence", [280, 360])
def test_alternate_foot_with_a_fainter_foot_in_loud_noise_keeps_the_full_pace(cadence):
    """Alternate foot, two sets of 25 contacts, the second foot's 8 dB fainter, the loudest landing 12 dB over
    pink noise: the detector hears few of the fainter foot's contacts over its threshold, and the follower
    locks onto the other foot's half pace. With the candidates under it (``DrillRule.onset_candidate_k_mad``,
    2.5) the period check finds the half beats. Measured (seed 0): 53 reps, 29 on time at 280/min, and 60, 43
    at 360/min, against 15, 7 and 38, 23 without them (without them, at 360/min the beat is a stride whose
    halfway places count, many of them inferred)."""
    session = synthesize(SessionSpec(
        kind="rope-alternate", cadence_per_min=cadence, sets=(25, 25), snr_db=12, background=("pink",), seed=0, rest_s=5.0,
        second_foot_db=-8.0,
    ))
    truth = session.samples_of("landing") / session.sample_rate
    counts = []
    for candidates in (True, False):
        pipe = SessionPipeline(session.sample_rate, "jump-rope-alternate")
        if not candidates:
            pipe.detector.set_threshold(3.5)
        for i in range(0, session.audio.size, 4096):
            pipe.process(session.audio[i : i + 4096])
        reps = np.array([r.t_s for r in pipe.finish()[1].reps])
        counts.append((reps.size, rope_grid.on_time(truth, reps)))
    (reps, on_time), (_, on_time_without) = counts
    assert reps >= 40
    assert on_time >= on_time_without + 10


@pytest.mark.parametrize("cadence", [10, 20, 40])
def test_softer_later_sets_of_squat_jumps_are_all_counted(cadence):
    """Three sets of 8 squat jumps, each set softer than the one before (force 1, 0.5 and 0.25: about 6 and 12 dB
    down), over pink noise. A discrete drill's sound is faint against the loudest recent rep, so the softer sets'
    landings are faint; they must not lay down a background beat for each other. (Only the session's first two
    reps are evidence of one: with every rep as evidence, 15 of 216 such landings were lost over 27 sessions.)"""
    spec = SessionSpec(kind="single", sets=(8, 8, 8), cadence_per_min=cadence, rest_s=10.0, background=("pink",), snr_db=40,
                       set_force_ranges=((0.9, 1.1), (0.45, 0.55), (0.2, 0.3)), seed=1)
    session, analysis = analyse(spec)
    assert [r.t_s for r in analysis.rejected if r.reason == "background"] == []
    assert analysis.summary.reps == session.count == 24
    assert hits_within(session, analysis, 0.05) == 24


@pytest.mark.parametrize(
    "preset, drill",
    [("rope", "jump-rope"), ("rope", "jump-rope-alternate"), ("double-under", "jump-rope-double-under")],
)
def test_a_new_set_in_a_rope_drill_loses_no_sound(preset, drill):
    """A new set pressed while the rope beat is followed: every sound the detector heard is still a rep or a
    rejection (a fresh beat tracker had dropped the ones its predecessor held: one or two of 159 sounds,
    and a rep), the count is the count without the press, and the new set starts at the press."""
    spec = replace(PRESETS[preset], sets=(60,), seed=3)
    session = synthesize(spec)
    sr = session.sample_rate
    plain = analyse_audio(session.audio, sr, drill, block=2048)
    first, last = plain.reps[0].t_s, plain.reps[-1].t_s
    for k in range(1, 8):
        press_s = first + k * (last - first) / 8 + 0.013 * k  # presses at every phase of the beat
        pipe = SessionPipeline(sr, drill, script=(ScriptedAction(int(press_s * sr), "new-set"),))
        for i in range(0, session.audio.size, 2048):
            pipe.process(session.audio[i : i + 2048])
        _, analysis = pipe.finish()
        heard = sorted(ev.sample for ev in analysis.events)
        decided = sorted([r.sample for r in analysis.reps if not r.inferred] + [r.event.sample for r in analysis.rejected])
        assert decided == heard, press_s
        assert analysis.summary.reps == plain.summary.reps, press_s
        second = [r.t_s for r in analysis.reps if r.set_number == 2]
        period = 60.0 / spec.cadence_per_min
        assert analysis.summary.sets == 2 and abs(second[0] - press_s) <= period, press_s

