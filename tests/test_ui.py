"""The screen, replay and demo: the real app driven headless with ``App.run_test()`` on the demo recording.

What is checked: a replay shows exactly what ``analyze`` finds; the keys ask
the session for what they say (space start/pause, n new set, d drill, q quit
with status 0); a crash in the screen still stops the session and saves its
recording; the bridge never drops a rep and coalesces levels; the paced
source keeps pace, pauses and stops; ``replay``/``demo`` fail in one
sentence. Snapshots and the hour-long session are in their own files.
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from textual.app import App

from quietland import report
from quietland.audiofile import FileSource
from quietland.cli import main
from quietland.events import OnsetEvent, Rejected, Rep, RepScore, SetSummary
from quietland.recorder import SessionRecorder
from quietland.replay import DEMO_DRILL, DEMO_ENV, PacedSource, find_demo_recording
from quietland.session import Decided, Finished, Level, Scored, SetEnded, Started, Status
from quietland.ui import QuietlandApp
from quietland.ui.app import runner_factory
from quietland.ui.drill_picker import DrillPicker
from quietland.ui.messages import LevelChanged, RepsDecided, SessionFinished, SetFinished, StatusChanged, UpdateBridge
from quietland.ui.formatting import LastRepCard
from quietland.ui import widgets
from quietland.ui.widgets import CountPanel, LevelMeter, RepTable, RhythmStrip, ScoreCard, StatusLine, SummaryCard
from event_support import zeroed_event
from ui_support import DEMO, demo_app, wait_until

SIZE = (100, 34)


def table_rows(app: QuietlandApp) -> list[tuple[str, ...]]:
    """The rep table's cells, top (newest) row first."""
    return [cells for cells, _ in app.query_one(RepTable).rows()]


@pytest.fixture(scope="module")
def analyze_doc() -> dict:
    """``quietland analyze DEMO --drill line-hops --json``, run through the command line."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["analyze", str(DEMO), "--drill", DEMO_DRILL, "--json"]) == 0
    return json.loads(out.getvalue())


# ------------------------------------------------------------------ replay = analyze


@pytest.mark.asyncio
async def test_fast_replay_shows_what_analyze_finds(analyze_doc):
    app = demo_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.finished is not None, what="the replay to finish")
        await pilot.pause(0.2)
        doc = report.analysis_to_dict(app.analysis, file=analyze_doc["file"], block_size=analyze_doc["block_size"])
        for field in ("reps", "rejected", "sets", "summary", "drill", "sample_rate", "duration_s", "calibration", "cues"):
            assert doc[field] == analyze_doc[field], field

        # what is on screen is what was decided: every rep and every rejection, newest on top
        table = app.query_one(RepTable)
        rows_text = table_rows(app)
        rep_rows = [cells for cells, rejected in table.rows() if not rejected]
        rejected_rows = [cells for cells, rejected in table.rows() if rejected]
        assert [int(r[0]) for r in rep_rows] == list(range(len(analyze_doc["reps"]), 0, -1))
        assert [float(r[2]) for r in rep_rows[::-1]] == [round(x["t_s"], 2) for x in analyze_doc["reps"]]
        # every rep's score arrived after it and filled its row; double contacts are noted
        assert [r[7] for r in rep_rows[::-1]] == [f"{rep.score.score:.0f}" for rep in app.analysis.reps]
        assert [("double contact" in r[8]) for r in rep_rows[::-1]] == [x["double_contact"] for x in analyze_doc["reps"]]
        assert any(x["double_contact"] for x in analyze_doc["reps"]), "the demo has double contacts planted"
        assert [r[-1] for r in rejected_rows[::-1]] == [f"rejected: {x['reason']}" for x in analyze_doc["rejected"]]
        lines = table.render().split()
        grey = [line for line in lines if any(span.style == "dim" for span in line.spans)]
        assert grey and all("rejected:" in line.plain for line in grey)  # rejected rows, and only they, are greyed
        assert len(grey) == sum("rejected:" in line.plain for line in lines)

        last_set = analyze_doc["sets"][-1]
        assert app.query_one("#session-count", CountPanel).query_one("Digits").value == str(len(analyze_doc["reps"]))
        assert app.query_one("#set-count", CountPanel).query_one("Digits").value == str(last_set["reps"])
        assert app.query_one("#set-count", CountPanel).border_title == f"set {last_set['number']}"
        card = app.query_one(ScoreCard)
        assert card.has_class("uncalibrated") and str(card.border_title).endswith(" · uncalibrated")
        assert card.query_one("Digits").value.strip() == f"{app.analysis.reps[-1].score.score:.0f}"
        summary = str(app.query_one(SummaryCard).render())
        assert f"{len(analyze_doc['reps'])} reps in {len(analyze_doc['sets'])} sets" in summary
        assert app.query_one(SummaryCard).border_title == "session"
        status = str(app.query_one(StatusLine).render())
        assert "FINISHED" in status and "demo-line-hops.wav" in status and "44100 Hz" in status

        # the table scrolls back through its rows and Home returns to the newest
        await pilot.press("down", "down", "pagedown")
        assert table.scrolled_back == 12 and "↓12" in table.render().plain.splitlines()[0]
        assert table.render().plain.splitlines()[1].split()[2] == rows_text[12][2]
        await pilot.press("home")
        assert table.scrolled_back == 0
        await pilot.press("q")
    assert app.return_code == 0


# ------------------------------------------------------------------ keys


@pytest.mark.asyncio
async def test_keys_start_pause_new_set_drill_and_quit(monkeypatch):
    cards: list[str] = []
    texts: list[str] = []
    show = SummaryCard.show
    monkeypatch.setattr(SummaryCard, "show",
                        lambda self, text, title: (cards.append(title), texts.append(text), show(self, text, title)))
    # (a key press in a test waits until the process is idle or 2 s have passed, so the set and
    # drill keys are pressed while paused: what they do then happens at the next block, race-free)
    app = demo_app(1.5, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert app.state == "ready" and app.query_one(RepTable).row_count == 0 and app.runner is not None
        assert "READY" in str(app.query_one(StatusLine).render())

        await pilot.press("space")  # start
        await wait_until(pilot, lambda: len(app.runner.pipeline.counter.reps) >= 3, what="3 reps")
        assert app.state == "running"

        await pilot.press("space")  # pause: a replay holds its blocks back, so nothing is skipped
        assert app.state == "paused" and app.runner.source.paused
        await pilot.pause(0.3)
        n_samples = app.runner.pipeline.n_samples
        rows = app.query_one(RepTable).row_count
        await pilot.pause(0.5)
        assert app.runner.pipeline.n_samples == n_samples and app.query_one(RepTable).row_count == rows
        assert "PAUSED" in str(app.query_one(StatusLine).render())

        set_before = app.runner.pipeline.counter.reps[-1].set_number
        await pilot.press("n")  # new set: the next rep starts one
        await pilot.press("d")  # the drill picker
        await wait_until(pilot, lambda: isinstance(app.screen, DrillPicker), what="the drill picker")
        await pilot.press("down", "enter")  # line-hops -> pogo
        await wait_until(pilot, lambda: not isinstance(app.screen, DrillPicker), what="the picker to close")
        assert app.drill == "pogo" and "drill pogo" in str(app.query_one(StatusLine).render())

        await pilot.press("space")  # resume
        assert app.state == "running"
        await wait_until(
            pilot, lambda: app.runner.pipeline.counter.reps[-1].set_number > set_before, what="a rep of the new set"
        )
        assert app.runner.drill == "pogo"
        assert [a["action"] for a in app.runner.actions] == ["new-set", "change-drill"]
        first_of_new = next(r for r in app.runner.pipeline.counter.reps if r.set_number > set_before)
        assert first_of_new.rep_in_set == 1 and first_of_new.sample > n_samples
        await wait_until(pilot, lambda: cards, what="the set summary")
        assert cards[0] == f"set {set_before} done"

        await pilot.press("q")  # quit: the session stops and finishes before the app exits
        await wait_until(pilot, lambda: app.return_code is not None, what="the app to exit")
    assert app.return_code == 0
    assert app.finished is not None and app.session_done.is_set()
    assert app.finished.analysis.n_samples < FileSource(DEMO).frames  # stopped early
    assert cards[-1] == "session"
    assert texts[-1].startswith("Session finished (line-hops, then pogo): ")  # it named the first drill only


@pytest.mark.asyncio
async def test_a_terminal_smaller_than_80_by_24_is_told_once_each_time_it_shrinks():
    app = demo_app(1.0, autostart=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)

        def told() -> list[str]:
            return [n.message for n in app._notifications if "the screen needs 80x24" in n.message]

        assert told() == []
        await pilot.resize_terminal(60, 20)
        await pilot.pause(0.1)
        await pilot.resize_terminal(50, 18)  # still too small: not told again
        await pilot.pause(0.1)
        assert told() == ["This terminal is 60x20; the screen needs 80x24 and cuts some of it off until the terminal is made larger."]
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.1)
        assert told() == []  # large enough again: taken down (it covered the table for the rest of its 10 s)
        await pilot.resize_terminal(79, 30)  # too narrow again: told again
        await pilot.pause(0.1)
        assert told() == ["This terminal is 79x30; the screen needs 80x24 and cuts some of it off until the terminal is made larger."]
        await pilot.press("q")


@pytest.mark.asyncio
async def test_escape_keeps_the_drill_and_q_quits_a_session_that_never_started():
    app = demo_app(1.0, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DrillPicker), what="the drill picker")
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.drill == DEMO_DRILL and app.runner.drill == DEMO_DRILL
        await pilot.press("q")
    assert app.return_code == 0 and app.finished is None


@pytest.mark.asyncio
async def test_in_the_drill_picker_space_and_q_belong_to_it_and_ctrl_c_ends_the_session():
    """Space and q are the screen's own keys, bound ahead of any widget; with the picker open, space must not
    pause the session behind it and q keeps the drill (as Escape does). Ctrl-C ends the session as q does (not
    Textual's "press ctrl+q to quit" notice), from the picker too."""
    app = demo_app(1.5, autostart=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runner is not None and len(app.runner.pipeline.counter.reps) >= 2, what="2 reps")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DrillPicker), what="the drill picker")
        await pilot.press("space")
        assert app.state == "running" and not app.runner.source.paused
        await pilot.press("q")
        await wait_until(pilot, lambda: not isinstance(app.screen, DrillPicker), what="the picker to close")
        assert app.state == "running" and app.return_code is None and app.drill == DEMO_DRILL
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DrillPicker), what="the drill picker")
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: app.return_code is not None, what="the app to exit")
    assert app.return_code == 0 and app.finished is not None and app.session_done.is_set()
    assert app.finished.analysis.n_samples < FileSource(DEMO).frames  # ended by the key, not by the file


@pytest.mark.asyncio
async def test_a_crash_in_the_screen_stops_the_session_and_saves_the_recording(tmp_path, monkeypatch):
    def boom(self, card):
        raise RuntimeError("the score card broke")

    monkeypatch.setattr(ScoreCard, "show", boom)
    recorder = SessionRecorder(tmp_path, FileSource(DEMO).sample_rate)
    app = demo_app(1.0, recorder=recorder)  # real time: the file alone would take 41 s
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="score card broke"):
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.return_code is not None, what="the crash")
    assert app.session_done.wait(10.0), "the runner was not stopped"
    assert time.monotonic() - t0 < 20.0
    assert app.return_code == 1
    saved = json.loads(recorder.results_path.read_text())
    assert saved["complete"] is True and saved["reps"]
    info = sf.info(str(recorder.wav_path))
    assert 0 < info.frames < FileSource(DEMO).frames


# ------------------------------------------------------------------ bridge


def _event(sample: int) -> OnsetEvent:
    return zeroed_event(sample=sample, sample_rate=48000, loudness_db=-20.0)


def _rep(n: int, sample: int) -> Rep:
    return Rep(n, 1, n, _event(sample), None, None, None, True)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_bridge_keeps_every_decision_in_order_and_batches_them():
    posted, clock = [], FakeClock()
    bridge = UpdateBridge(posted.append, clock)
    items = [_rep(i + 1, 1000 * i) if i % 3 else Rejected(_event(1000 * i), "echo") for i in range(500)]
    for i, item in enumerate(items):
        clock.t = i * 0.001  # 1000 decisions a second: far faster than the screen wants them
        bridge.on_update(Decided(item))
    bridge.flush()
    batches = [m for m in posted if isinstance(m, RepsDecided)]
    assert [x for b in batches for x in b.items] == items
    assert len(batches) <= 0.5 / 0.05 + 2


def test_bridge_coalesces_levels_keeping_the_loudest_and_any_clipping():
    posted, clock = [], FakeClock()
    bridge = UpdateBridge(posted.append, clock)
    bridge.on_update(Level(1, -30.0, -60.0, False))  # posted at once
    for i, (level, clipped) in enumerate([(-20.0, False), (-5.0, True), (-40.0, False)]):
        clock.t = 0.001 * (i + 1)
        bridge.on_update(Level(2 + i, level, -59.0, clipped))
    levels = [m for m in posted if isinstance(m, LevelChanged)]
    assert [(m.level_dbfs, m.clipped) for m in levels] == [(-30.0, False)]
    bridge.flush()
    levels = [m for m in posted if isinstance(m, LevelChanged)]
    assert (levels[-1].level_dbfs, levels[-1].floor_dbfs, levels[-1].clipped) == (-5.0, -59.0, True)
    # a queued level that clipped is not replaced by one that did not
    assert not LevelChanged(-30.0, -60.0, False).can_replace(LevelChanged(-5.0, -60.0, True))
    assert LevelChanged(-30.0, -60.0, True).can_replace(LevelChanged(-5.0, -60.0, False))


def test_bridge_posts_set_ends_after_the_reps_before_them_and_holds_routine_status():
    posted, clock = [], FakeClock()
    bridge = UpdateBridge(posted.append, clock)
    bridge.on_update(Started("pogo", 48000, "mic", None, None))
    bridge.on_update(Status(0, 12.0))
    bridge.on_update(Decided(_rep(1, 100)))
    bridge.on_update(Decided(_rep(2, 200)))  # held: too soon after the first batch
    bridge.on_update(Status(0, 12.0))  # nothing new: held
    bridge.on_update(SetEnded(SetSummary(1, 2, 0.0, 0.1, None, None, -20.0)))
    bridge.on_update(Status(3, 12.0))  # overflows: posted at once
    kinds = [type(m).__name__ for m in posted]
    assert kinds == ["SessionStarted", "StatusChanged", "RepsDecided", "RepsDecided", "SetFinished", "StatusChanged"]
    assert isinstance(posted[4], SetFinished) and posted[5].update.overflows == 3
    bridge.on_update(Finished(analysis=None, wav_path=None, results_path=None, warnings=()))  # type: ignore[arg-type]
    assert isinstance(posted[-1], SessionFinished)
    assert not any(isinstance(m, StatusChanged) and m.update.overflows == 0 for m in posted[5:])


@pytest.mark.asyncio
async def test_a_score_the_flush_timer_posts_never_overtakes_its_rep_posted_from_the_session_thread():
    # the session thread posts rep 1 and queues its score (too soon for a second batch); the app's flush
    # timer then posts the score from the app's own thread before the event loop has handed rep 1 over
    app = demo_app(None, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        score = RepScore(1, 42.0, 0.5, 0.5, False, None, False)

        def session_thread() -> None:
            app._bridge.on_update(Decided(_rep(1, 4800)))
            app._bridge.on_update(Scored(score))

        thread = threading.Thread(target=session_thread)
        thread.start()
        thread.join()  # the loop has not run since: rep 1 is still on its way
        app._bridge.flush()  # what the app's flush timer does
        await pilot.pause(0.2)
        rows = table_rows(app)
        assert [(r[0], r[7]) for r in rows] == [("1", "42")]  # the rep, then its score in its row
        assert app.query_one(ScoreCard).border_title == "last rep: #1 · uncalibrated"


# ------------------------------------------------------------------ paced source


def test_paced_source_hands_out_the_file_unchanged(tmp_path):
    blocks = list(PacedSource(FileSource(DEMO), None, block_size=1000).blocks())
    assert all(len(b) == 1000 for b in blocks[:-1])
    np.testing.assert_array_equal(np.concatenate(blocks), np.concatenate(list(FileSource(DEMO).blocks(4096))))


def _tone(tmp_path: Path, seconds: float, sr: int = 8000) -> FileSource:
    path = tmp_path / "tone.wav"
    sf.write(path, 0.1 * np.sin(np.arange(int(seconds * sr)) * 0.05), sr, subtype="PCM_16")
    return FileSource(path)


def test_paced_source_keeps_real_time_times_speed(tmp_path):
    source = PacedSource(_tone(tmp_path, 2.0), 4.0, block_size=400)  # 2 s of audio at 4x: 0.5 s
    t0 = time.monotonic()
    n = sum(len(b) for b in source.blocks())
    wall = time.monotonic() - t0
    assert n == 16000
    assert 0.45 <= wall <= 1.0


def test_paced_source_pauses_resumes_and_stops_from_another_thread(tmp_path):
    source = PacedSource(_tone(tmp_path, 60.0), 1.0, block_size=80)  # 10 ms blocks
    got: list[int] = []

    def consume():
        for b in source.blocks():
            got.append(len(b))

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.2)
    source.pause()
    time.sleep(0.05)
    held = len(got)
    time.sleep(0.3)
    assert len(got) <= held + 1 and source.paused
    source.resume()
    time.sleep(0.2)
    assert len(got) > held + 5  # paced from the resume, not bursting to catch up
    assert len(got) < held + 40
    source.pause()
    source.stop()  # a stop wakes a paused source
    thread.join(2.0)
    assert not thread.is_alive()


def test_paced_source_rejects_a_bad_speed():
    with pytest.raises(ValueError):
        PacedSource(FileSource(DEMO), 0.0)


def test_demo_recording_is_found_from_the_environment_the_folder_or_the_source_tree(tmp_path, monkeypatch):
    import quietland

    tree = tmp_path / "checkout"
    (tree / "quietland").mkdir(parents=True)
    (tree / "recordings").mkdir()
    beside = tree / "recordings" / "demo-line-hops.wav"
    beside.write_bytes(DEMO.read_bytes())
    monkeypatch.setattr(quietland, "__file__", str(tree / "quietland" / "__init__.py"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DEMO_ENV, raising=False)
    assert find_demo_recording() == beside  # beside the package source
    (tmp_path / "recordings").mkdir()
    local = tmp_path / "recordings" / "demo-line-hops.wav"
    local.write_bytes(DEMO.read_bytes())
    assert find_demo_recording().resolve() == local  # ./recordings comes first
    monkeypatch.setenv(DEMO_ENV, str(tmp_path / "elsewhere.wav"))
    assert find_demo_recording() is None  # $QUIETLAND_DEMO, when set, is the only place looked at
    monkeypatch.setenv(DEMO_ENV, str(beside))
    assert find_demo_recording() == beside
    monkeypatch.delenv(DEMO_ENV)
    local.unlink()
    beside.unlink()
    assert find_demo_recording() is None


# ------------------------------------------------------------------ command line


def test_replay_and_demo_need_a_terminal(capsys, tmp_path, monkeypatch):
    # under pytest stdout is captured, not a terminal
    for argv in (["demo"], ["demo", "--fast"], ["replay", str(DEMO), "--speed", "2"]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("quietland: error: ")
        assert "live --headless" in lines[0]
        # the command to run instead names the file (it said 'quietland analyze PATH', even for the demo)
        if argv[0] == "demo":
            assert "'quietland analyze " in lines[0] and "demo-line-hops.wav --drill line-hops'" in lines[0], lines[0]
        else:
            assert f"'quietland analyze {DEMO}'" in lines[0], lines[0]
    # the options analyze shares go with it, so that its scores are the screen's (they were dropped)
    from dataclasses import replace

    from quietland.calibration import DEFAULT_PROFILE, profiles_dir, save_profile

    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path))
    profiles_dir().mkdir(parents=True)
    save_profile(replace(DEFAULT_PROFILE, name="ann", calibrated=True), profiles_dir() / "ann.toml")
    assert main(["replay", str(DEMO), "--drill", "pogo", "--profile", "ann", "--target-cadence", "96"]) == 2
    assert f"'quietland analyze {DEMO} --drill pogo --profile ann --target-cadence 96'" in capsys.readouterr().err
    # a profile that is not there is said to be so (the analyze command suggested would have failed on it)
    assert main(["replay", str(DEMO), "--profile", "anne"]) == 2
    err = capsys.readouterr().err
    assert "--profile 'anne': there is no profile of that name (saved profiles: ann" in err and "analyze" not in err, err


def test_replay_of_a_missing_file_and_a_missing_demo_are_one_sentence_and_exit_1(tmp_path, capsys, monkeypatch):
    import quietland

    assert main(["replay", str(tmp_path / "nope.wav")]) == 1
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setenv(DEMO_ENV, str(tmp_path / "nope.wav"))
    assert main(["demo"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and DEMO_ENV in err[0] and str(tmp_path / "nope.wav") in err[0]  # the path it was given
    monkeypatch.delenv(DEMO_ENV)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(quietland, "__file__", str(tmp_path / "tree" / "quietland" / "__init__.py"))
    assert main(["demo"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "demo recording" in err[0] and "./recordings" in err[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["replay", str(DEMO), "--speed", "0"],
        ["replay", str(DEMO), "--speed", "fast"],
        ["replay", str(DEMO), "--speed", "2", "--fast"],
        ["replay", str(DEMO), "--drill", "hopscotch"],
        ["demo", "--speed", "1000"],
        ["demo", str(DEMO)],
    ],
)
def test_bad_replay_command_lines_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("quietland: error: ")



def test_demo_on_a_terminal_shows_the_session_and_q_exits_0():
    """``quietland demo --fast`` as a user runs it: on a (pseudo-)terminal, until the screen says FINISHED; then q."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(DEMO.parents[1]), "TERM": "xterm-256color", DEMO_ENV: str(DEMO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "quietland", "demo", "--fast"],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
    )
    os.close(slave)
    seen, quit_sent, deadline = b"", False, time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    seen += os.read(master, 1 << 16)
                except OSError:
                    break
            if not quit_sent and b"FINISHED" in seen:
                os.write(master, b"q")
                quit_sent = True
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert quit_sent, seen[-2000:]
    assert b"demo-line-hops.wav" in seen and b"Session finished (line-hops): 60 reps in 3 sets" in seen
    assert b"Traceback" not in seen


# ------------------------------------------------------------------ widgets alone


class WidgetsApp(App):
    """The score card, meter, rhythm strip and table on their own, to show them values by hand."""

    def compose(self):
        yield ScoreCard()
        yield LevelMeter()
        yield RhythmStrip()
        yield RepTable()


@pytest.mark.asyncio
async def test_the_table_says_how_far_it_is_scrolled_within_80_columns():
    """At 80 columns the hint was cut to '↓13 (Home: newes'."""
    for width, hint in ((80, "↓13 (Home)"), (100, "↓13 (Home: newest)")):
        app = WidgetsApp()
        async with app.run_test(size=(width, 40)) as pilot:
            table = app.query_one(RepTable)
            table.add_items([_rep_with(n, 1, 400.0, 0.0) for n in range(1, 30)])
            table.action_scroll_rows(13)
            await pilot.pause()
            header = table.render().plain.splitlines()[0]
            assert header.endswith(hint) and len(header) <= table.size.width, (width, header)


def _rep_with(number: int, set_number: int, interval_ms: float | None, dev: float | None) -> Rep:
    return Rep(number, set_number, number, _event(1000 * number), interval_ms, interval_ms and 60000 / interval_ms, dev, False)


@pytest.mark.asyncio
async def test_score_card_takes_a_calibrated_score_coloured_by_band():
    app = WidgetsApp()
    async with app.run_test(size=(80, 12)) as pilot:
        card = app.query_one(ScoreCard)
        card.show(LastRepCard(rep=7, loudness_db=-21.5, rhythm_dev_pct=3.0))
        await pilot.pause()
        assert card.query_one("Digits").value == "-21.5" and card.has_class("uncalibrated")
        # at 80 columns (the card 48 wide) a double contact's detail and "uncalibrated" both show, whole
        card.show(LastRepCard(rep=128, loudness_db=-20.7, rhythm_dev_pct=1.0, score=41.0, double_contact=True))
        await pilot.pause()
        assert card.border_title == "last rep: #128 · uncalibrated" and card.border_subtitle == (
            "-20.7 dB · rhythm +1.0 % · double contact")
        room = card.outer_size.width - 4  # (the corners and a space either side)
        assert len(card.border_title) <= room and len(card.border_subtitle) <= room, room
        card.show(LastRepCard(rep=8, loudness_db=-30.0, rhythm_dev_pct=-1.0, score=87.0, calibrated=True))
        await pilot.pause()
        assert card.query_one("Digits").value == " 87" and card.has_class("band-good")
        assert not card.has_class("uncalibrated") and "uncalibrated" not in str(card.border_subtitle)
        assert card.border_title == "last rep: #8"


@pytest.mark.asyncio
async def test_meter_holds_a_clipping_warning_and_marks_the_floor(monkeypatch):
    monkeypatch.setattr(widgets, "CLIP_HOLD_S", 0.5)
    app = WidgetsApp()
    async with app.run_test(size=(80, 12)) as pilot:
        meter = app.query_one(LevelMeter)
        meter.show(-40.0, -60.0, clipped=False)
        await pilot.pause()
        head, bar = meter.render().plain.splitlines()
        assert "-40.0 dBFS" in head and "-60.0 dBFS" in head and "CLIPPING" not in head
        assert bar.index("│") == round(20 / 80 * len(bar)) and bar.count("█") == round(40 / 80 * len(bar)) - 1
        meter.show(-1.0, -60.0, clipped=True)
        meter.show(-30.0, -60.0, clipped=False)  # a later block that did not clip keeps the warning up
        head, bar = meter.render().plain.splitlines()
        assert "CLIPPING: lower the input gain" in head and len(head) <= meter.size.width  # on one line, over the bar
        assert len(bar) == meter.size.width and bar.count("█") > 0
        # with no level after it (the session ended), the warning is still taken down once its time is over
        repaints = []
        monkeypatch.setattr(meter, "refresh", lambda *a, **k: repaints.append(meter.clipping))
        await pilot.pause(widgets.CLIP_HOLD_S + 0.5)
        assert repaints == [False] and "CLIPPING" not in meter.render().plain and meter._clip_timer is None


@pytest.mark.asyncio
async def test_rhythm_strip_draws_the_current_set_only():
    app = WidgetsApp()
    async with app.run_test(size=(80, 12)) as pilot:
        strip = app.query_one(RhythmStrip)
        strip.add_reps([_rep_with(1, 1, None, None), _rep_with(2, 1, 400, None), _rep_with(3, 1, 500, 25.0)])
        strip.add_reps([_rep_with(4, 1, 300, -25.0), _rep_with(5, 1, 400, 0.0)])
        await pilot.pause()
        head, bars = strip.render().plain.splitlines()
        assert bars == "▄█▁▄" and "set 1" in head and "400 ms" in head
        strip.add_reps([_rep_with(6, 2, None, None), _rep_with(7, 2, 410, None)])
        assert strip.render().plain.splitlines()[1] == "▄"


@pytest.mark.parametrize("keyword, sentence, severity", [
    ("notices", "The profile '/tmp/x.toml' is not valid TOML (line 1); scoring uncalibrated instead.", "error"),
    # a session that did not close, now in the history, is information, not a problem like a broken profile
    ("notes", "The session started 2026-12-06 10:59:27 did not close (quietland was killed, or the power went): ...",
     "information"),
])
@pytest.mark.asyncio
async def test_what_was_said_before_the_screen_opened_is_shown_on_it(keyword, sentence, severity):
    source = PacedSource(FileSource(DEMO), None)
    app = QuietlandApp(runner_factory(source, DEMO_DRILL), drill=DEMO_DRILL, autostart=False, **{keyword: (sentence,)})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert [n.severity for n in app._notifications if n.message == sentence] == [severity]


@pytest.mark.asyncio
async def test_a_warning_found_at_the_end_is_counted_and_shown(tmp_path):
    """A clipped recording's warning, made when the session ends, was on the final card only: the status line
    did not count it and no notification said it."""
    audio, rate = sf.read(DEMO, dtype="float32")
    clipped = tmp_path / "clipped.wav"
    sf.write(clipped, np.clip(audio[: rate * 10] * 8.0, -1.0, 1.0), rate, subtype="PCM_16")
    app = QuietlandApp(runner_factory(PacedSource(FileSource(clipped), None), DEMO_DRILL), drill=DEMO_DRILL)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.finished is not None, what="the end of the replay")
        await pilot.pause(0.1)
        said = [n.message for n in app._notifications if n.message.startswith("The recording is clipped")]
        assert len(said) == 1 and said[0] in app.finished.warnings
        assert "1 warning" in str(app.query_one(StatusLine).render())
        await pilot.press("q")


@pytest.mark.asyncio
async def test_a_long_profile_name_is_cut_in_the_status_line():
    """A profile's name may be 60 characters (30 Chinese ones, 60 columns): whole, it pushed the device, latency
    and recording off the status line."""
    from dataclasses import replace

    from quietland.calibration import DEFAULT_PROFILE

    profile = replace(DEFAULT_PROFILE, calibrated=True, name="王" * 30)
    app = QuietlandApp(runner_factory(PacedSource(FileSource(DEMO), None), DEMO_DRILL, profile=profile), drill=DEMO_DRILL)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.finished is not None, what="the end of the replay")
        status = str(app.query_one(StatusLine).render())
        assert "profile 王王王王王王王王王… · " in status and "overflows 0" in status, status
        await pilot.press("q")


@pytest.mark.asyncio
async def test_the_footer_offers_what_the_keys_still_do(tmp_path):
    """After FINISHED the footer kept 'space Start/pause  n New set  d Drill  q Quit & save', though space, n and
    d did nothing then and there was nothing left to save; a replay, which records nothing, offered to save."""

    def offered(app) -> dict[str, str]:
        return {key: b.binding.description for key, b in app.active_bindings.items() if b.binding.show}

    app = demo_app(None, autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert offered(app) == {"space": "Start/pause", "n": "New set", "d": "Drill", "q": "Quit"}
        await pilot.press("space")
        await wait_until(pilot, lambda: app.finished is not None, what="the end of the replay")
        await pilot.pause(0.1)
        assert offered(app) == {"q": "Quit"}
        await pilot.press("q")
    assert app.return_code == 0
    recorder = SessionRecorder(tmp_path, 44100)
    app = demo_app(None, autostart=False, recorder=recorder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert offered(app)["q"] == "Quit & save"
        await pilot.press("space")
        await wait_until(pilot, lambda: app.finished is not None, what="the end of the recorded replay")
        await pilot.pause(0.1)
        assert offered(app) == {"q": "Quit"}
        await pilot.press("q")


@pytest.mark.asyncio
async def test_the_table_keeps_time_order_when_a_beat_is_decided_late():
    """An inferred rope beat is decided after sounds heard later than it: its row sat above them."""
    app = WidgetsApp()
    async with app.run_test(size=(100, 40)) as pilot:
        table = app.query_one(RepTable)
        table.add_items([_rep_with(1, 1, None, None), Rejected(_event(1600), "rope")])
        late = dataclasses.replace(_rep_with(2, 1, 400.0, 0.0), inferred=True)  # at 2000 samples: after the rope
        early = Rejected(_event(1500), "rope")  # decided with it, heard before it
        table.add_items([late, Rejected(_event(2100), "rope"), early])
        await pilot.pause()
        times = [float(cells[2]) for cells, _ in table.rows()]
        assert times == sorted(times, reverse=True) and len(times) == 5


def test_the_session_is_said_in_one_line_once_the_screen_has_closed(monkeypatch, capsys):
    """q in the middle of a replay closed the screen at once: the session's card was never seen, and nothing
    was printed."""
    from quietland.ui.app import run_live_app

    async def drive(pilot):
        app = pilot.app
        await wait_until(pilot, lambda: app.runner is not None and len(app.runner.pipeline.counter.reps) >= 5,
                         what="5 reps")
        await pilot.press("q")

    monkeypatch.setattr(QuietlandApp, "run", lambda self: App.run(self, headless=True, size=SIZE, auto_pilot=drive))
    code = run_live_app(PacedSource(FileSource(DEMO), 4.0), DEMO_DRILL)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("quietland: Session finished (line-hops): ")]
    assert code == 0 and len(lines) == 1 and lines[0].endswith(" rejected.")
    reps = int(lines[0].split(": ")[2].split()[0])
    assert 5 <= reps < 60  # stopped early: what it had
