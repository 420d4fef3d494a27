"""The session plan, the set and session report cards and the metronome, on the real app with the demo recording.

The demo is three sets of 20 line hops at ~150/min with 8 s rests between
them, so a plan of 3 x 20 reps with 8 s rests fits it exactly: each set's
20th rep ends the set (the app asks the runner for a new set during the
rest, so the count stays what ``analyze`` finds), the rest counts down, and
the plan ends done. The replay is paced (8x real time) so that the app's
new-set request lands in the rest, as it would live.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from quietland.audiofile import FileSource
from quietland.replay import DEMO_DRILL, PacedSource
from quietland.training import DONE, REST, WORK, session_report, set_report
from quietland.ui import QuietlandApp, runner_factory
from quietland.ui.formatting import session_report_text, set_report_text
from quietland.ui.widgets import MetronomeBar, PlanBar, RepTable, RhythmStrip, ScoreCard, StatusLine, SummaryCard
from ui_support import DEMO, wait_until

PLAN = SimpleNamespace(sets=3, reps=20, round_s=None, rest_s=8.0)
SPEED = 8.0


def plan_app(plan=PLAN, *, speed: float | None = SPEED, target: float | None = None, ends_sets: bool = True
             ) -> QuietlandApp:
    options = {} if target is None else {"target_cadence_per_min": target}
    factory = runner_factory(PacedSource(FileSource(DEMO), speed), DEMO_DRILL, **options)
    return QuietlandApp(factory, drill=DEMO_DRILL, plan=plan, plan_ends_sets=ends_sets, target_cadence=target)


@pytest.fixture
def recorded(monkeypatch):
    """Every plan state and summary card the screen shows, in order."""
    shown = SimpleNamespace(states=[], cards=[])
    plan_show, card_show = PlanBar.show, SummaryCard.show

    def record_state(self, state):
        shown.states.append(state)
        plan_show(self, state)

    def record_card(self, text, title):
        shown.cards.append((title, text))
        card_show(self, text, title)

    monkeypatch.setattr(PlanBar, "show", record_state)
    monkeypatch.setattr(SummaryCard, "show", record_card)
    return shown


@pytest.mark.asyncio
async def test_a_plan_of_three_sets_of_20_follows_the_demo_and_reports_each_set(recorded):
    app = plan_app()
    async with app.run_test(size=(100, 34)) as pilot:
        await wait_until(pilot, lambda: app.plan_state is not None and app.plan_state.phase == WORK, what="set 1")
        assert app.query_one(PlanBar).text.startswith("set 1 of 3 · ")
        await wait_until(pilot, lambda: app.finished is not None, what="the replay to finish")
        await pilot.pause(0.2)
        analysis = app.analysis
        final_card = str(app.query_one(SummaryCard).render())
        plan_line = app.query_one(PlanBar).render().plain

    # the automatic set ends came in the rests: the count is what analyze finds (3 sets of 20)
    assert [s.reps for s in analysis.sets] == [20, 20, 20]
    new_sets = [a["sample"] for a in app.runner.actions if a["action"] == "new-set"]
    ends = [r.sample for r in analysis.reps if r.rep_in_set == 20]
    starts = [r.sample for r in analysis.reps if r.rep_in_set == 1]
    assert len(new_sets) == 3
    for asked, end, next_start in zip(new_sets, ends, starts[1:] + [analysis.n_samples]):
        assert end < asked < next_start

    # the plan line: set k of 3 and its reps while working, the rest countdown after each 20th rep
    states = recorded.states
    working = [(s.set_number, s.reps_done) for s in states if s.phase == WORK]
    assert working == sorted(working) and {n for n, _ in working} == {1, 2, 3}
    assert all(1 <= reps <= 19 for _, reps in working)
    for s in states:
        if s.phase == WORK:
            assert s.text == f"set {s.set_number} of 3 · {s.reps_done} / 20 reps"
    assert sum(s.target_reached for s in states) == 3
    rests = [s for s in states if s.phase == REST]
    assert {s.set_number for s in rests} == {1, 2}
    for s in rests:
        assert 0.0 <= s.rest_remaining_s <= 8.0
        expected = "rest over" if s.rest_remaining_s == 0 else f"rest {-int(-s.rest_remaining_s // 1)} s"
        assert s.text == f"{expected} · next: set {s.set_number + 1} of 3"
    first_rest = [s.rest_remaining_s for s in rests if s.set_number == 1]
    assert first_rest == sorted(first_rest, reverse=True) and first_rest[0] > 7.0  # counts down from 8 s
    # rest starts at the 20th rep: remaining = 8 s - (clock - that rep's sample)
    for s in rests:
        end = ends[s.set_number - 1]
        assert s.rest_remaining_s == pytest.approx(max(0.0, 8.0 - (s.sample - end) / analysis.sample_rate))
    assert states[-1].phase == DONE and states[-1].text == "plan done: 3 of 3 sets"
    assert plan_line.startswith("plan done: 3 of 3 sets")

    # a report card after each set, with its best 5 intervals; then the session's
    for number in (1, 2, 3):
        reps = [r for r in analysis.reps if r.set_number == number]
        expected = set_report_text(set_report(reps, analysis.cues, analysis.profile))
        shown = [text for title, text in recorded.cards if title == f"set {number} done"]
        assert shown and shown[-1] == expected  # (late scores refresh the card)
        best = sorted(r.interval_ms for r in reps if r.interval_ms is not None and not r.ramp_in)[:5]
        assert "best 5: " + " ".join(f"{x:.0f}" for x in best) + " ms" in expected
    title, text = recorded.cards[-1]
    report = session_report(analysis.reps, analysis.cues, analysis.profile)
    assert title == "session" and text == session_report_text(analysis.summary, report, analysis.drill)
    assert report.sets == 3 and report.reps == 60
    assert "60 reps in 3 sets" in final_card and "best 5: " in final_card and "median score" in final_card


@pytest.mark.asyncio
async def test_a_timed_round_ends_the_set_when_its_time_is_up(recorded):
    app = plan_app(SimpleNamespace(sets=1, reps=None, round_s=3.0, rest_s=5.0), speed=4.0)
    async with app.run_test(size=(100, 34)) as pilot:
        await wait_until(pilot, lambda: app.plan_state is not None and app.plan_state.phase == DONE, what="the round")
        await wait_until(pilot, lambda: any(a["action"] == "new-set" for a in app.runner.actions), what="the new set")
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None, what="the app to exit")
    sr = app.analysis.sample_rate
    first = app.analysis.reps[0]
    round_end = first.sample + 3 * sr
    asked = [a["sample"] for a in app.runner.actions if a["action"] == "new-set"]
    assert len(asked) == 1 and round_end <= asked[0] <= round_end + sr  # within a second of audio of the time
    counting = [s for s in recorded.states if s.phase == WORK]
    assert counting and all(re.fullmatch(r"round 1 of 1 · [123] s left · \d+ reps?", s.text) for s in counting)
    assert [s.round_remaining_s for s in counting] == sorted(s.round_remaining_s for s in counting)[::-1]
    assert sum(s.round_over for s in recorded.states) == 1
    assert recorded.states[-1].text == "plan done: 1 of 1 rounds"
    assert [r.set_number for r in app.analysis.reps if r.sample < round_end] == [1] * sum(
        r.sample < round_end for r in app.analysis.reps)


@pytest.mark.asyncio
async def test_a_replay_as_fast_as_possible_ends_each_set_at_its_target_rep(recorded):
    """The set ends where the plan's target rep is decided, in the runner, whatever the replay's pace: the screen
    used to ask for it on seeing the rep, by when a fast replay had counted on (sets of 17, 3, 11, 9 and 20)."""
    app = plan_app(SimpleNamespace(sets=3, reps=10, round_s=None, rest_s=60.0), speed=None)
    async with app.run_test(size=(100, 34)) as pilot:
        await wait_until(pilot, lambda: app.finished is not None, what="the replay to finish")
        await pilot.pause(0.2)
    # the demo's 3 sets of 20: plan sets 1-3 are 10 each, then its last 10 and its third set count on
    assert [s.reps for s in app.analysis.sets] == [10, 10, 10, 10, 20]
    assert [a["action"] for a in app.runner.actions] == ["new-set"] * 3
    assert recorded.states[-1].text.startswith("plan done: 3 of 3 sets")


@pytest.mark.asyncio
async def test_a_plan_that_only_shows_leaves_the_sets_to_the_session(recorded):
    # as for a replay whose saved actions already end its sets: 2 x 10 is counted, shown, never enforced
    app = plan_app(SimpleNamespace(sets=2, reps=10, round_s=None, rest_s=8.0), speed=None, ends_sets=False)
    async with app.run_test(size=(100, 34)) as pilot:
        await wait_until(pilot, lambda: app.finished is not None, what="the replay to finish")
        await pilot.pause(0.2)
    assert app.runner.actions == [] and [s.reps for s in app.analysis.sets] == [20, 20, 20]
    assert sum(s.target_reached for s in recorded.states) == 2
    assert recorded.states[-1].text == "plan done: 2 of 2 sets"


@pytest.mark.asyncio
async def test_a_cadence_target_shows_a_metronome_and_deviations_from_it(monkeypatch):
    beats: list[int] = []
    intervals: list[tuple[float | None, float | None]] = []
    show_beat, show_interval = MetronomeBar.show_beat, MetronomeBar.show_interval
    monkeypatch.setattr(MetronomeBar, "show_beat", lambda self, i, p: (beats.append(i), show_beat(self, i, p)))
    monkeypatch.setattr(MetronomeBar, "show_interval",
                        lambda self, ms, dev: (intervals.append((ms, dev)), show_interval(self, ms, dev)))
    app = plan_app(None, target=150)
    async with app.run_test(size=(100, 34)) as pilot:
        await wait_until(pilot, lambda: len([i for i in intervals if i[0] is not None]) >= 10, what="10 intervals")
        bar = app.query_one(MetronomeBar)
        assert bar.display and bar.target_per_min == 150
        line = bar.render().plain
        assert line.startswith("beat 150/min (400 ms)") and line.count("●") == 1 and line.count("○") == 3
        assert re.search(r"last \d+ ms ([+-]\d+\.\d % (slow|fast)|\+0\.0 % )", line)
        assert "vs 150" in app.query_one(RhythmStrip).render().plain
        for ms, dev, shown in ((399.9, -0.025, "+0.0 %"), (400.4, 0.1, "+0.1 % slow"), (399.6, -0.1, "-0.1 % fast")):
            bar.show_interval(ms, dev)  # (on target, rounded, is neither "-0.0 %" nor "fast")
            assert bar.render().plain.rstrip().endswith(shown), bar.render().plain
        assert not app.query(PlanBar)  # no plan: no plan line
        await wait_until(pilot, lambda: app.finished is not None, what="the replay to finish")
        await pilot.pause(0.2)
        last_card = app.query_one(ScoreCard).border_subtitle
    for ms, dev in intervals:
        assert (ms is None and dev is None) or dev == pytest.approx(100.0 * (ms - 400.0) / 400.0)
    assert any(abs(dev) > 1.0 for ms, dev in intervals if dev is not None)  # the demo does not hop exactly at 150
    # the beat moves on with the session's sample clock (2.5 beats a second of audio; at 8x real time
    # the ~12 redraws a second skip most of them) and restarts at each set's first rep
    restarts = sum(b < a for a, b in zip(beats, beats[1:]))
    assert len(set(beats)) > 20 and restarts >= 2  # restarted at sets 2 and 3 (and set 1, unless too early to see)
    # the score's rhythm is against the target too (the runner was given it), and the last-rep card says so
    last = app.analysis.reps[-1]
    assert f"rhythm {100.0 * (last.interval_ms - 400.0) / 400.0:+.1f} %" in str(last_card)
    assert app.analysis.target_cadence_per_min == 150


@pytest.mark.asyncio
async def test_plan_metronome_and_report_card_fit_80_by_24(recorded):
    app = plan_app(target=150)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: any(t == "set 1 done" for t, _ in recorded.cards), what="set 1's card")
        await pilot.pause(0.3)
        screen_h = 24
        for widget in (app.query_one(PlanBar), app.query_one(MetronomeBar), app.query_one(SummaryCard),
                       app.query_one(StatusLine), app.query_one(ScoreCard)):
            region = widget.region
            assert region.height > 0 and region.y + region.height <= screen_h - 1, type(widget).__name__
        card = app.query_one(SummaryCard)
        lines = str(card.render()).splitlines()
        assert len(lines) == 3 and all(len(line) <= card.content_region.width for line in lines)
        assert card.region.height == 5  # three lines in a border: nothing wrapped
        assert app.query_one(RepTable).region.height >= 4  # the table keeps a few rows
        plan = app.query_one(PlanBar)
        assert len(plan.render().plain) <= plan.content_region.width
        assert plan.render().plain.startswith(("plan rest ", "plan set 2 of 3"))
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None, what="the app to exit")
    assert app.return_code == 0


def test_report_cards_break_between_figures_to_fit_76_columns():
    """Jumps 5 s apart have four-digit intervals: the session card's pace line was 80 columns, and the card
    wrapped it inside 'best 5', leaving '4949 ms' alone on a line."""
    from quietland.events import SessionSummary
    from quietland.training import SessionReport

    report = SessionReport(reps=40, duration_s=89.6, best5_intervals_ms=(4838.0, 4926.0, 4930.0, 4931.0, 4949.0),
                           cadence_per_min=12.0, interval_cv=0.015, median_impact_db=-21.0, vs_baseline_db=None,
                           trend_db_per_rep=0.0, median_score=40.0, double_contacts=0, form_fade_reps=(), sets=3)
    summary = SessionSummary(40, 3, 12, 137.4, 89.6, 12.0, 0.015, -21.0, -17.0)
    text = session_report_text(summary, report, "squat-jumps, then box-jumps")
    lines = text.splitlines()
    assert all(len(line) <= 76 for line in lines), lines
    assert "best 5: 4838 4926 4930 4931 4949 ms" in lines  # whole, on a line of its own
    assert lines[:3] == ["Session finished (squat-jumps, then box-jumps):", "40 reps in 3 sets, 12 rejected",
                         "137.4 s, active 89.6 s · 12/min · CV 1.5 %"]


def test_a_trend_that_rounds_to_zero_has_no_minus_sign():
    from quietland.ui.formatting import trend_text

    assert trend_text(-0.004) == "+0.00 dB/rep, steady" and trend_text(-0.006) == "-0.01 dB/rep, steady"
    assert trend_text(0.25) == "+0.25 dB/rep, getting louder"


def test_a_session_changed_away_from_a_drill_and_back_names_each_change():
    """The card's drills were filtered against the first drill only: line-hops, pogo, line-hops read as
    'line-hops, then pogo'. The history's label, from the same sequence, is pogo's twin."""
    from quietland.events import drill_sequence
    from quietland.ui.formatting import drills_text

    assert drills_text("line-hops", ((10, "pogo"), (20, "line-hops"))) == "line-hops, then pogo, then line-hops"
    assert drill_sequence("pogo", ["pogo", "line-hops", "line-hops"]) == ["pogo", "line-hops"]
