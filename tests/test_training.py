"""Set reports, the plan tracker and the metronome against known answers, on reps built by hand.

Reps here are made at a sample rate of 1000 Hz, so a sample is a millisecond
and every interval, countdown and beat below can be checked exactly.
"""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest

from quietland.calibration import DEFAULT_PROFILE
from quietland.events import Cue, OnsetEvent, Rejected, Rep, RepScore, SetSummary
from quietland.presets import PRESETS, SetPlan
from quietland.training import (
    DONE,
    READY,
    REST,
    WORK,
    Metronome,
    PlanTracker,
    SetLog,
    parse_plan,
    session_report,
    set_report,
    whole_seconds,
)

from event_support import zeroed_event

SR = 1000
CALIBRATED = dataclasses.replace(DEFAULT_PROFILE, name="ann", calibrated=True, quiet_db=-40.0, normal_db=-26.0)


def event(sample: int, impact_db: float = -30.0) -> OnsetEvent:
    return zeroed_event(sample=sample, sample_rate=SR, impact_db=impact_db, loudness_db=impact_db + 3.0)


def make_set(samples: list[int], *, set_number: int = 1, first_number: int = 1, impacts: list[float] | None = None,
             inferred: tuple[int, ...] = ()) -> list[Rep]:
    """Reps landing at ``samples`` (ms), as the rep logic would number them; ``inferred``: 1-based reps in the set."""
    reps = []
    for i, sample in enumerate(samples):
        interval = None if i == 0 else float(sample - samples[i - 1])
        impact = math.nan if i + 1 in inferred else (impacts[i] if impacts else -30.0)
        reps.append(Rep(
            number=first_number + i, set_number=set_number, rep_in_set=i + 1, event=event(sample, impact),
            interval_ms=interval, cadence_per_min=None if interval is None else 60000.0 / interval,
            rhythm_dev_pct=None, ramp_in=i < 3, inferred=i + 1 in inferred,
        ))
    return reps


def at(intervals: list[int], start: int = 1000) -> list[int]:
    out = [start]
    for dt in intervals:
        out.append(out[-1] + dt)
    return out


def score(number: int, value: float | None, double: bool = False) -> RepScore:
    return RepScore(number, value, None, None, double, 20.0 if double else None, True)


# ------------------------------------------------------------------ reports


def test_best_five_are_the_shortest_steady_heard_intervals():
    # rep 3's interval (300 ms) is ramp-in; rep 8 is an inferred beat, so its interval (350) and
    # the one after it (360) are guesses, not measurements
    intervals = [500, 300, 400, 410, 390, 420, 350, 360, 380, 450, 395, 405]
    reps = make_set(at(intervals), inferred=(8,))
    report = set_report(reps, [], None)
    assert report.best5_intervals_ms == (380.0, 390.0, 395.0, 400.0, 405.0)
    assert report.reps == 13 and report.set_number == 1
    assert report.duration_s == pytest.approx(sum(intervals) / 1000)
    # cadence and CV are those of the set summaries: every interval's median, steady intervals' CV
    assert report.cadence_per_min == pytest.approx(60000.0 / 397.5)  # median of the 12 intervals
    steady = [400, 410, 390, 420, 350, 360, 380, 450, 395, 405]
    mean = sum(steady) / len(steady)
    cv = math.sqrt(sum((x - mean) ** 2 for x in steady) / len(steady)) / mean
    assert report.interval_cv == pytest.approx(cv)
    short = set_report(make_set(at([400, 400, 380, 390])), [], None)
    assert short.best5_intervals_ms == (380.0, 390.0)  # only two steady intervals: two figures


def test_loudness_trend_is_the_least_squares_slope_and_baseline_needs_a_calibration():
    impacts = [-32.0 + 0.5 * k for k in range(10)]  # +0.5 dB a rep: getting louder
    reps = make_set(at([400] * 9), impacts=impacts)
    report = set_report(reps, [], CALIBRATED)
    assert report.trend_db_per_rep == pytest.approx(0.5)
    assert report.median_impact_db == pytest.approx(-29.75)
    assert report.vs_baseline_db == pytest.approx(-29.75 - (-26.0))
    assert set_report(reps, [], DEFAULT_PROFILE).vs_baseline_db is None  # the built-in default is no baseline
    assert set_report(reps, [], None).vs_baseline_db is None

    noisy = [-20.0, -21.0, -23.0, -22.0, -25.0]  # slope of y over x = 1..5: -1.1 dB a rep
    report = set_report(make_set(at([400] * 4), impacts=noisy), [], None)
    assert report.trend_db_per_rep == pytest.approx(-1.1)
    assert set_report(make_set(at([400]), impacts=[-20.0, -10.0]), [], None).trend_db_per_rep is None  # too few


def test_scores_double_contacts_and_form_fade_moments():
    reps = make_set(at([400] * 5), first_number=11, set_number=2)
    scores = {11: score(11, 80.0), 12: score(12, 60.0, double=True), 13: score(13, 40.0), 14: score(14, None)}
    reps[4] = dataclasses.replace(reps[4], score=score(15, 20.0, double=True))  # a score already on the rep
    cues = [
        Cue(reps[3].sample, "form-fade", "fading", set_number=2, rep_number=14),
        Cue(0, "form-fade", "another set", set_number=1, rep_number=3),
        Cue(reps[2].sample, "drift-level", "drift", rep_number=13),
    ]
    report = set_report(reps, cues, None, scores)
    assert report.median_score == pytest.approx(50.0)  # of 80, 60, 40, 20 (rep 14 has no score)
    assert report.double_contacts == 2
    assert report.form_fade_reps == (14,)
    assert report.set_number == 2


def test_session_report_pools_the_sets():
    one = make_set(at([400, 400, 400, 380, 390, 410]), impacts=[-30.0] * 7)
    two = make_set(at([500, 500, 500, 370, 375, 600], start=20000), set_number=2, first_number=8, impacts=[-28.0] * 7)
    report = session_report(one + two, [Cue(0, "form-fade", "x", set_number=2, rep_number=12)], CALIBRATED)
    assert report.sets == 2 and report.reps == 14
    assert report.best5_intervals_ms == (370.0, 375.0, 380.0, 390.0, 400.0)
    assert report.duration_s == pytest.approx(2.38 + 2.845)
    assert report.median_impact_db == pytest.approx(-29.0)
    assert report.vs_baseline_db == pytest.approx(-3.0)
    assert report.trend_db_per_rep is not None and report.trend_db_per_rep > 0  # set 2 was louder
    assert report.form_fade_reps == (12,)
    empty = session_report([], [], None)
    assert (empty.reps, empty.sets, empty.best5_intervals_ms, empty.cadence_per_min) == (0, 0, (), None)


def test_set_log_reports_the_latest_sets_and_forgets_older_ones():
    log = SetLog(keep_sets=2)
    sets = [make_set(at([400] * 4, start=10000 * k), set_number=k + 1, first_number=5 * k + 1) for k in range(3)]
    assert log.add(sets[0][0]) == 1
    for rep in sets[0][1:]:
        log.add(rep)
    assert log.add(score(3, 70.0)) == 1
    assert log.add(Cue(0, "form-fade", "x", set_number=1, rep_number=4)) == 1
    assert log.add(Rejected(event(5), "echo")) is None
    assert log.add(score(99, 1.0)) is None  # not a kept rep
    report = log.report(1, None)
    assert report is not None and report.reps == 5 and report.median_score == 70.0 and report.form_fade_reps == (4,)
    for rep in sets[1] + sets[2]:
        log.add(rep)
    assert log.report(1, None) is None  # forgotten: only the newest two sets are kept
    assert log.report(2, None).reps == 5 and log.report(3, None).reps == 5
    assert log.add(score(3, 10.0)) is None


# ------------------------------------------------------------------ plan


def test_rep_plan_counts_reps_reaches_the_target_once_and_rests():
    tracker = PlanTracker(SimpleNamespace(sets=2, reps=4, round_s=None, rest_s=30.0), SR)
    state = tracker.tick(500)
    assert (state.phase, state.set_number, state.reps_done, state.text) == (READY, 1, 0, "set 1 of 2 · 0 / 4 reps")
    one = make_set(at([400] * 4))  # the athlete does 5: the 5th comes before the new set takes effect
    states = [tracker.on_rep(rep) for rep in one]
    assert [s.text for s in states[:3]] == [f"set 1 of 2 · {k} / 4 reps" for k in (1, 2, 3)]
    assert [s.progress for s in states[:3]] == [0.25, 0.5, 0.75]
    assert [s.target_reached for s in states] == [False, False, False, True, False]
    assert states[3].ends_set and states[3].phase == REST and states[3].rest_remaining_s == 30.0
    assert states[3].text == "rest 30 s · next: set 2 of 2"
    # the session's SetEnded confirms it; the rest still runs from the 4th rep (at 2200 ms)
    tracker.on_set_end(SetSummary(1, 5, 1.0, 3.0, None, None, None))
    state = tracker.tick(12_000)
    assert state.rest_remaining_s == pytest.approx(20.2) and state.text == "rest 21 s · next: set 2 of 2"
    assert state.progress == pytest.approx(1 - 20.2 / 30)
    state = tracker.tick(40_000)
    assert state.rest_remaining_s == 0.0 and state.text == "rest over · next: set 2 of 2"
    two = make_set(at([400] * 2, start=41_000), set_number=2, first_number=6)
    state = tracker.on_rep(two[0])
    assert (state.phase, state.set_number, state.reps_done, state.rest_remaining_s) == (WORK, 2, 1, None)
    for rep in two[1:]:
        state = tracker.on_rep(rep)
    assert state.text == "set 2 of 2 · 3 / 4 reps"
    # the athlete stops short: the session ends the set after a rest, and that ends the plan
    state = tracker.on_set_end(SetSummary(2, 3, 41.0, 41.8, None, None, None))
    assert (state.phase, state.set_number, state.text) == (DONE, 2, "plan done: 2 of 2 sets")
    assert tracker.on_rep(make_set([60_000], set_number=3, first_number=9)[0]).phase == DONE  # and stays done


def test_timed_round_counts_down_from_the_first_rep_and_ends_once():
    tracker = PlanTracker(SetPlan(sets=2, round_s=30.0, rest_s=45.0), SR)
    state = tracker.tick(3000)
    assert (state.phase, state.round_remaining_s, state.reps_target) == (READY, 30.0, None)
    assert state.text == "round 1 of 2 · 30 s from the first landing"
    state = tracker.on_rep(make_set([5000])[0])
    assert state.round_remaining_s == 30.0 and state.text == "round 1 of 2 · 30 s left · 1 rep"
    state = tracker.tick(17_300)
    assert state.round_remaining_s == pytest.approx(17.7) and state.text == "round 1 of 2 · 18 s left · 1 rep"
    assert not state.round_over
    state = tracker.tick(35_020)  # 30 s after the first rep (plus a Level's worth)
    assert state.round_over and state.ends_set and state.phase == REST
    assert state.rest_remaining_s == pytest.approx(44.98)  # the rest started when the round ended, at 35 000
    assert state.text == "rest 45 s · next: round 2 of 2"
    later = [tracker.tick(35_040), tracker.on_set_end(SetSummary(1, 1, 5.0, 5.0, None, None, None))]
    assert not any(s.round_over for s in later)  # once
    state = tracker.tick(79_500)
    assert state.rest_remaining_s == pytest.approx(0.5) and state.text == "rest 1 s · next: round 2 of 2"
    second = make_set(at([400] * 2, start=82_000), set_number=2, first_number=2)
    for rep in second:
        state = tracker.on_rep(rep)
    assert (state.phase, state.set_number, state.text) == (WORK, 2, "round 2 of 2 · 30 s left · 3 reps")
    assert state.progress == pytest.approx(0.8 / 30)
    # a rep decided after the round's end time ends the round even before the next tick
    late = make_set([82_000, 112_100], set_number=2, first_number=2)[1]
    state = tracker.on_rep(dataclasses.replace(late, rep_in_set=4))
    assert state.round_over and state.phase == DONE and state.text == "plan done: 2 of 2 rounds"
    assert not tracker.tick(120_000).round_over


def test_a_session_set_end_rests_from_the_last_rep_and_a_new_set_starts_early():
    tracker = PlanTracker(SimpleNamespace(sets=3, reps=10, round_s=None, rest_s=60.0), SR)
    for rep in make_set(at([400] * 5)):
        tracker.on_rep(rep)
    tracker.tick(6000)
    state = tracker.on_set_end(SetSummary(1, 6, 1.0, 3.0, None, None, None))
    assert state.phase == REST and state.rest_remaining_s == pytest.approx(57.0)  # from the last rep at 3 s
    state = tracker.on_rep(make_set([20_000], set_number=2, first_number=7)[0])  # back at it after 17 s
    assert (state.phase, state.set_number, state.text) == (WORK, 2, "set 2 of 3 · 1 / 10 reps")


def test_a_session_that_ends_before_its_plan_says_how_far_it_got():
    """The screen kept a session's last rest counting ('rest 59 s · next: round 3 of 3') beside FINISHED."""
    resting = PlanTracker(SetPlan(sets=3, round_s=30.0, rest_s=60.0), SR)
    resting.on_rep(make_set([5000])[0])
    assert resting.tick(35_500).phase == REST
    state = resting.end(36_000)
    assert (state.phase, state.set_number, state.text) == (DONE, 1, "session ended: 1 of 3 rounds done")
    assert state.rest_remaining_s is None and state.progress is None
    working = PlanTracker(SimpleNamespace(sets=3, reps=10, round_s=None, rest_s=60.0), SR)
    for rep in make_set(at([400] * 5)):
        working.on_rep(rep)
    assert working.end(4000).text == "session ended in set 1 of 3 · 6 / 10 reps"
    done = PlanTracker(SimpleNamespace(sets=1, reps=2, round_s=None, rest_s=60.0), SR)
    for rep in make_set(at([400])):
        done.on_rep(rep)
    assert done.end(9000).text == "plan done: 1 of 1 sets"


def test_plans_are_checked():
    for bad in (dict(sets=0, reps=5, round_s=None, rest_s=1.0), dict(sets=2, reps=5, round_s=30.0, rest_s=1.0),
                dict(sets=2, reps=None, round_s=None, rest_s=1.0), dict(sets=2, reps=5, round_s=None, rest_s=-1.0)):
        with pytest.raises(ValueError):
            PlanTracker(SimpleNamespace(**bad), SR)
    for preset in PRESETS.values():  # every preset's structure is a plan
        assert PlanTracker(preset.structure, 48000).tick(0).phase == READY


@pytest.mark.parametrize(
    ("text", "plan"),
    [
        ("3x10", SetPlan(3, reps=10, rest_s=60.0)),
        ("3x30s", SetPlan(3, round_s=30.0, rest_s=60.0)),
        ("3x10/90", SetPlan(3, reps=10, rest_s=90.0)),
        ("4 x 8,rest 30", SetPlan(4, reps=8, rest_s=30.0)),
        ("3 x 30 s, rest 45 s", SetPlan(3, round_s=30.0, rest_s=45.0)),
        ("6 × 7.5 s, rest 60 s", SetPlan(6, round_s=7.5, rest_s=60.0)),
    ],
)
def test_plans_are_read_as_coaches_write_them(text, plan):
    assert parse_plan(text) == plan
    assert parse_plan(plan.describe()) == plan  # what 'quietland drills' prints reads back


@pytest.mark.parametrize("text", ["3", "x10", "3x", "3x10.5", "0x10", "3x0s", "3x10 rest", "three by ten"])
def test_a_plan_that_cannot_be_read_is_one_sentence(text):
    with pytest.raises(ValueError, match=r"^cannot (read|use) the plan") as info:
        parse_plan(text)
    assert "\n" not in str(info.value)


def test_whole_seconds_round_up():
    assert [whole_seconds(x) for x in (30.0, 29.999, 0.2, 0.0, -1.0, 1e-12)] == [30, 30, 1, 0, 0, 0]


# ------------------------------------------------------------------ metronome


def test_metronome_beats_and_deviation():
    m = Metronome(150)
    assert m.interval_ms == 400.0
    assert m.beat(1000, SR) == m.beat(1000, SR, 0)
    beat = m.beat(1000, SR)
    assert (beat.index, beat.phase) == (2, pytest.approx(0.5))
    beat = m.beat(1000, SR, anchor_sample=200)
    assert (beat.index, beat.phase) == (2, 0.0)
    beat = m.beat(100, SR, anchor_sample=200)
    assert (beat.index, beat.phase) == (-1, pytest.approx(0.75))
    beat = m.beat(48000 * 60, 48000)  # a minute at 48 kHz: exactly 150 beats
    assert (beat.index, beat.phase) == (150, 0.0)
    assert m.deviation_pct(420.0) == pytest.approx(5.0)  # slower than the target
    assert m.deviation_pct(380.0) == pytest.approx(-5.0)
    assert m.deviation_pct(None) is None
    for bad in (0, -10, math.nan, math.inf):
        with pytest.raises(ValueError):
            Metronome(bad)


def test_training_imports_no_ui_or_sound_library():
    from test_import_hygiene import heavy_modules_after

    assert heavy_modules_after("import quietland.training") == []
