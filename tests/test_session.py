"""SessionRunner: the same results as `analyze`, its updates in order, and a saved session that replays exactly."""
from __future__ import annotations

import itertools
import json
import statistics
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from quietland.audiofile import FileSource
from quietland.capture import CaptureError
from quietland.cli import analyze_source, main
from quietland.events import Rejected, Rep
from quietland.calibration import DEFAULT_PROFILE, profile_from_dict
from quietland.recorder import SessionRecorder, saved_session
from quietland.session import Decided, Finished, Level, SetEnded, Started, Status, SessionRunner, file_blocks
from quietland.pipeline import ScriptedAction, SessionPipeline
from quietland.synth import PRESETS, SessionSpec, synthesize

DEMO = Path(__file__).resolve().parent.parent / "recordings" / "demo-line-hops.wav"


class ListSource:
    """Blocks from a list; ``hooks[i]()`` runs just before block ``i`` is handed over (to press keys mid-stream)."""

    def __init__(self, blocks, sample_rate, hooks=None, fail_at=None):
        self._blocks = blocks
        self.sample_rate = sample_rate
        self.description = "test blocks"
        self.hooks = hooks if hooks is not None else {}
        self.fail_at = fail_at
        self.handed = 0

    def blocks(self):
        for i, block in enumerate(self._blocks):
            if i in self.hooks:
                self.hooks[i]()
            if i == self.fail_at:
                raise CaptureError("The input device 'test' stopped delivering audio (unplugged, taken by another program, or its sound server stopped answering); the session ended there.")
            self.handed += 1
            yield block


def split(audio: np.ndarray, size: int) -> list[np.ndarray]:
    return [np.ascontiguousarray(audio[i : i + size]) for i in range(0, len(audio), size)]


def key(items) -> list[tuple]:
    """What identifies each decision: kind, sample, rep/set numbers or reason."""
    out = []
    for it in items:
        if isinstance(it, Rep):
            out.append(("rep", it.sample, it.number, it.set_number, it.rep_in_set))
        else:
            out.append(("rejected", it.event.sample, it.reason))
    return out


@pytest.fixture(scope="module")
def two_sets():
    """A short synthetic session: two sets of 10 line hops at 150/min, 16 kHz, 5 s rest."""
    spec = SessionSpec(sample_rate=16000, kind="landings", sets=(10, 10), cadence_per_min=150, rest_s=5.0, snr_db=35.0, seed=11)
    return synthesize(spec)


def run_session(source, drill, tmp_path=None, **kwargs):
    updates = []
    recorder = None if tmp_path is None else SessionRecorder(tmp_path, source.sample_rate, flush_interval_s=0.05)
    runner = SessionRunner(source, drill, recorder, updates.append, **kwargs)
    return runner, updates, recorder


@pytest.mark.parametrize("block_size", [441, 4096, 10000])
def test_file_session_gives_exactly_analyze_results(block_size):
    expected = analyze_source(FileSource(DEMO), "line-hops", 4096)
    runner, updates, _ = run_session(file_blocks(FileSource(DEMO), block_size), "line-hops")
    analysis = runner.run()
    assert key(analysis.reps) == key(expected.reps)
    assert key(analysis.rejected) == key(expected.rejected)
    assert analysis.summary == expected.summary
    assert analysis.n_samples == expected.n_samples
    # every decision reached the consumer, in the order of the analysis
    decided = [u.item for u in updates if isinstance(u, Decided)]
    assert key([d for d in decided if isinstance(d, Rep)]) == key(expected.reps)
    assert sorted(key([d for d in decided if isinstance(d, Rejected)])) == sorted(key(expected.rejected))
    assert expected.summary.reps == 60


def test_updates_come_in_order(two_sets):
    source = ListSource(split(two_sets.audio, 320), two_sets.sample_rate)
    runner, updates, _ = run_session(source, "line-hops")
    analysis = runner.run()
    assert isinstance(updates[0], Started) and isinstance(updates[-1], Finished)
    assert sum(isinstance(u, (Started, Finished)) for u in updates) == 2
    assert isinstance(updates[1], Status)
    decided = [u.item for u in updates if isinstance(u, Decided)]
    samples = [d.event.sample for d in decided]
    assert samples == sorted(samples), "decisions reach the consumer in time order"
    assert len([d for d in decided if isinstance(d, Rep)]) == analysis.summary.reps == 20
    levels = [u.sample for u in updates if isinstance(u, Level)]
    assert levels == sorted(levels) and len(levels) >= len(two_sets.audio) / 16000 / 0.02 - 2
    # each set ends once, after its last rep and before the next set's first rep, and during the rest:
    # before the audio of the next set's first landing has been analysed
    ended = [(i, u.summary) for i, u in enumerate(updates) if isinstance(u, SetEnded)]
    assert [s.number for _, s in ended] == [1, 2]
    first_of_set2 = next(i for i, u in enumerate(updates) if isinstance(u, Decided) and isinstance(u.item, Rep) and u.item.set_number == 2)
    last_of_set1 = max(i for i, u in enumerate(updates) if isinstance(u, Decided) and isinstance(u.item, Rep) and u.item.set_number == 1)
    i_end1, summary1 = ended[0]
    assert last_of_set1 < i_end1 < first_of_set2
    assert summary1 == analysis.sets[0] and summary1.reps == 10
    heard_by_then = max(u.sample for u in updates[:i_end1] if isinstance(u, Level))
    assert heard_by_then < updates[first_of_set2].item.sample
    assert ended[1][0] < len(updates) - 1


@pytest.mark.parametrize("right_gain", [0.5, -0.9])
def test_stereo_blocks_are_mixed_down_as_a_file_would_be(tmp_path, two_sets, right_gain):
    """Live stereo blocks give the reps analyze gives for the same audio as a file, also when the right channel
    is the left inverted (then both say so), and the recording holds the mono mix."""
    rng = np.random.default_rng(3)
    left = two_sets.audio.astype(np.float32)
    stereo = np.stack([left, (right_gain * left + 0.01 * rng.standard_normal(left.size)).astype(np.float32)], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, two_sets.sample_rate, subtype="FLOAT")
    expected = analyze_source(FileSource(path), "line-hops", 4096)
    runner, updates, recorder = run_session(ListSource(split(stereo, 512), two_sets.sample_rate), "line-hops", tmp_path / "rec")
    got = runner.run()
    assert key(got.reps) == key(expected.reps) and len(got.reps) == 20
    inverted = [w for w in updates[-1].warnings if "carries channel 1 inverted" in w]
    assert len(inverted) == (1 if right_gain < 0 else 0)
    assert len([w for w in expected.warnings if "carries channel 1 inverted" in w]) == len(inverted)
    recorded, _ = sf.read(recorder.wav_path, dtype="float32")
    assert recorded.ndim == 1 and recorded.size == left.size


def test_saved_session_replays_to_the_same_results(tmp_path, two_sets):
    source = ListSource(split(two_sets.audio, 400), two_sets.sample_rate)
    runner, updates, recorder = run_session(source, "line-hops", tmp_path, block_size=400)
    analysis = runner.run()
    done = updates[-1]
    assert done.wav_path == recorder.wav_path and done.results_path == recorder.results_path
    replay = analyze_source(FileSource(done.wav_path), "line-hops", 777)
    assert key(replay.reps) == key(analysis.reps) and key(replay.rejected) == key(analysis.rejected)
    doc = json.loads(done.results_path.read_text())
    assert doc["complete"] is True and doc["summary"]["reps"] == 20 and len(doc["reps"]) == 20
    assert doc["file"] == done.wav_path.name
    assert doc["config"]["detector"]["hop_ms"] == runner.pipeline.detector.config.hop_ms
    assert doc["config"]["block_size"] == doc["block_size"] == 400
    assert profile_from_dict(doc["profile"], done.results_path) == DEFAULT_PROFILE and doc["actions"] == []


def test_a_replayed_files_warnings_reach_the_status_as_the_session_runs(tmp_path, two_sets):
    """A truncated recording's warning is known from its header: the screen's status (its warning count and a
    notification) hears of it while the replay runs, not only in the final summary."""
    path = tmp_path / "cut.wav"
    sf.write(path, two_sets.audio, two_sets.sample_rate, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    runner, updates, _ = run_session(file_blocks(FileSource(path), 1600), "line-hops")
    runner.run()
    statuses = [u for u in updates if isinstance(u, Status)]
    first_warned = next(i for i, u in enumerate(updates) if isinstance(u, Status) and u.warnings)
    assert first_warned < len(updates) - 1 and "is truncated" in statuses[-1].warnings[0]
    assert updates[-1].warnings.count(statuses[-1].warnings[0]) == 1


def test_pause_keeps_blocks_out_of_the_analysis_and_the_wav(tmp_path, two_sets):
    blocks = split(two_sets.audio, 1000)
    hooks = {}
    source = ListSource(blocks, two_sets.sample_rate, hooks)
    runner, updates, recorder = run_session(source, "line-hops", tmp_path)
    hooks[40] = runner.pause  # 2.5 s in: the middle of the first set
    hooks[70] = runner.resume
    analysis = runner.run()
    kept = np.concatenate(blocks[:40] + blocks[70:])
    assert analysis.n_samples == kept.size
    recorded, rate = sf.read(recorder.wav_path, dtype="float32")
    assert rate == two_sets.sample_rate and np.array_equal(recorded, kept)
    replay = analyze_source(FileSource(recorder.wav_path), "line-hops", 4096)
    assert key(replay.reps) == key(analysis.reps)
    assert analysis.summary.reps < 20  # the paused landings were not heard
    assert [(a["action"], a["sample"]) for a in runner.actions] == [("pause", 40000), ("resume", 40000)]


def test_stop_mid_stream_leaves_a_wav_and_results_of_what_was_captured(tmp_path, two_sets):
    blocks = split(two_sets.audio, 800)
    hooks = {}
    source = ListSource(blocks, two_sets.sample_rate, hooks)
    runner, updates, recorder = run_session(source, "line-hops", tmp_path)
    hooks[60] = runner.stop  # a source without stop(): the runner stops taking blocks
    analysis = runner.run()
    assert analysis.n_samples == 60 * 800
    assert isinstance(updates[-1], Finished)
    info = sf.info(recorder.wav_path)
    assert info.frames == 60 * 800
    doc = json.loads(recorder.results_path.read_text())
    assert doc["complete"] is True
    assert doc["summary"]["reps"] == analysis.summary.reps > 0
    assert doc["duration_s"] == pytest.approx(60 * 800 / 16000)


def test_duration_stops_after_exactly_that_much_audio(two_sets):
    runner, _, _ = run_session(ListSource(split(two_sets.audio, 1000), two_sets.sample_rate), "line-hops", duration_s=2.5005)
    assert runner.run().n_samples == round(2.5005 * 16000)


def test_a_device_that_goes_away_ends_the_session_with_everything_saved(tmp_path, two_sets):
    source = ListSource(split(two_sets.audio, 1000), two_sets.sample_rate, fail_at=120)
    runner, updates, recorder = run_session(source, "line-hops", tmp_path)
    with pytest.raises(CaptureError, match="stopped delivering audio"):
        runner.run()
    done = updates[-1]
    assert isinstance(done, Finished)
    assert any("stopped delivering audio" in w for w in done.warnings)
    assert sf.info(recorder.wav_path).frames == 120 * 1000
    doc = json.loads(recorder.results_path.read_text())
    assert doc["complete"] is True and doc["summary"]["reps"] == done.analysis.summary.reps == 10
    assert any("stopped delivering audio" in w for w in doc["warnings"])


def test_a_crashing_consumer_still_leaves_the_session_saved(tmp_path, two_sets):
    source = ListSource(split(two_sets.audio, 1000), two_sets.sample_rate)
    recorder = SessionRecorder(tmp_path, two_sets.sample_rate)
    seen = []

    def consumer(update):
        seen.append(update)
        if sum(isinstance(u, Decided) for u in seen) == 5:
            raise RuntimeError("the screen fell over")

    runner = SessionRunner(source, "line-hops", recorder, consumer)
    with pytest.raises(RuntimeError, match="fell over"):
        runner.run()
    doc = json.loads(recorder.results_path.read_text())
    reps_seen = [u.item for u in seen if isinstance(u, Decided) and isinstance(u.item, Rep)]
    assert reps_seen and doc["complete"] is True and doc["summary"]["reps"] >= len(reps_seen)
    assert sf.info(recorder.wav_path).frames == runner.pipeline.n_samples > 0


def replay_with_actions(wav: Path) -> tuple:
    """Analyse a saved session's WAV the way `analyze` and `replay` do: its drill and actions from the JSON beside it."""
    saved = saved_session(wav)
    assert saved is not None and saved.drill is not None
    return analyze_source(FileSource(wav), saved.drill, 4096, script=saved.script)


def test_new_set_and_drill_change_are_saved_so_a_replay_reproduces_them(tmp_path, two_sets, capsys):
    blocks = split(two_sets.audio, 500)
    hooks = {}
    source = ListSource(blocks, two_sets.sample_rate, hooks)
    runner, updates, recorder = run_session(source, "line-hops", tmp_path)
    hooks[90] = runner.new_set  # 2.8 s: inside the first set
    hooks[140] = lambda: runner.change_drill("pogo")  # 4.4 s: still inside it
    analysis = runner.run()
    doc = json.loads(recorder.results_path.read_text())
    assert [(a["action"], a["sample"], a.get("drill")) for a in doc["actions"]] == [
        ("new-set", 90 * 500, None),
        ("change-drill", 140 * 500, "pogo"),
    ]
    assert analysis.summary.sets == 4  # the first set is cut twice, then the rest and the second set
    assert [u.summary.number for u in updates if isinstance(u, SetEnded)] == [1, 2, 3, 4]
    again = replay_with_actions(recorder.wav_path)
    assert key(again.reps) == key(analysis.reps) and again.summary.sets == 4
    assert [r.set_number for r in again.reps] == [r.set_number for r in analysis.reps]
    # the command line does the same, and says so
    code = main(["analyze", str(recorder.wav_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and "counting as the recorded session did (drill line-hops, 2 new sets or drill changes)" in err
    printed = json.loads(out)
    assert [(r["sample"], r["set"]) for r in printed["reps"]] == [(r.sample, r.set_number) for r in analysis.reps]
    assert printed["drill"] == "line-hops" and printed["drill_changes"] == [
        {"t_s": round(140 * 500 / two_sets.sample_rate, 4), "sample": 140 * 500, "drill": "pogo"}
    ]
    # an explicit --drill analyses the audio as told, ignoring the session
    assert main(["analyze", str(recorder.wav_path), "--json", "--drill", "line-hops"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["sets"] == 2
    with pytest.raises(ValueError, match="unknown drill"):
        runner.change_drill("hopscotch")


def test_rope_session_hands_over_every_decision_with_reps_in_order():
    spec = SessionSpec(sample_rate=22050, kind="rope", sets=(40,), cadence_per_min=160, snr_db=30.0, seed=8)
    session = synthesize(spec)
    runner, updates, _ = run_session(ListSource(split(session.audio, 256), session.sample_rate), "jump-rope")
    analysis = runner.run()
    decided = [u.item for u in updates if isinstance(u, Decided)]
    assert sorted(key(decided)) == sorted(key([*analysis.reps, *analysis.rejected]))
    reps = [d for d in decided if isinstance(d, Rep)]
    assert key(reps) == key(analysis.reps) and [r.number for r in reps] == list(range(1, len(reps) + 1))
    assert analysis.summary.reps >= 38


@pytest.mark.parametrize("plan_text", ["4 x 8, rest 45 s", "2 x 30 s, rest 60 s", "none"])
def test_the_plan_a_session_showed_is_saved_and_a_replay_shows_it_again(tmp_path, two_sets, plan_text):
    """A replay of the recording shows the plan its session followed, not the drill preset's (pogo's is 3 x 10)."""
    from quietland.cli import _choose_plan
    from quietland.presets import PRESETS
    from quietland.training import parse_plan

    source = ListSource(split(two_sets.audio, 320), two_sets.sample_rate)
    runner, _, recorder = run_session(source, "pogo", tmp_path, plan_text=plan_text)
    runner.run()
    assert json.loads(recorder.results_path.read_text())["config"]["plan"] == plan_text
    saved = saved_session(recorder.wav_path)
    assert saved.plan_text == plan_text
    expected = None if plan_text == "none" else parse_plan(plan_text)
    assert _choose_plan(None, "pogo", saved) == expected != PRESETS["pogo"].structure
    assert _choose_plan(parse_plan("5x5"), "pogo", saved) == parse_plan("5x5")  # --plan still decides



def test_a_session_with_no_plan_replays_with_none(tmp_path, two_sets):
    """A headless session shows no plan and saves ``config.plan`` null; its replay took the drill preset's plan
    (pogo: 3 x 10) and split its sets otherwise than its results and ``analyze`` (an audit: 5 sets for 3)."""
    from quietland.cli import _choose_plan

    source = ListSource(split(two_sets.audio, 320), two_sets.sample_rate)
    runner, _, recorder = run_session(source, "pogo", tmp_path)
    runner.run()
    assert json.loads(recorder.results_path.read_text())["config"]["plan"] is None
    saved = saved_session(recorder.wav_path)
    assert saved.plan_text == "none" and _choose_plan(None, "pogo", saved) is None


def test_results_beside_a_recording_that_are_damaged_or_of_another_recording_are_said_and_left_out(tmp_path, two_sets, capsys):
    """A results JSON cut short was left out without a word (the session's drill, profile and athlete dropped), and
    one of another recording was taken as this one's: its drill, its athlete and the session it names, so that
    importing the analysis replaced another athlete's session in the history (an audit)."""
    source = ListSource(split(two_sets.audio, 320), two_sets.sample_rate)
    runner, _, recorder = run_session(source, "pogo", tmp_path)
    runner.run()
    wav, results = recorder.wav_path, recorder.results_path
    said: list[str] = []
    assert saved_session(wav, said.append) is not None and said == []
    doc = json.loads(results.read_text())
    results.write_text(json.dumps({**doc, "summary": {**doc["summary"], "duration_s": doc["summary"]["duration_s"] + 5}}))
    assert saved_session(wav, said.append) is None
    assert said[-1].endswith("are of another recording ("
                             f"{doc['summary']['duration_s'] + 5:.1f} s of audio; this one has "
                             f"{doc['summary']['duration_s']:.1f} s), so the recording is analysed as a plain one")
    results.write_text(json.dumps({**doc, "complete": False, "summary": {**doc["summary"], "duration_s": 1.0}}))
    assert saved_session(wav, said.append) is not None and len(said) == 1  # (an unfinished session's: not compared)
    results.write_text(results.read_text()[:200])
    assert saved_session(wav, said.append) is None and "cannot be read" in said[-1]
    code = main(["analyze", str(wav), "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and "cannot be read" in err and "cannot be read" in json.loads(out)["warnings"][0]
    assert "session_started_at" not in json.loads(out) and json.loads(out)["drill"] == "generic"

def test_a_session_scores_against_its_profile_and_its_recording_replays_with_it(tmp_path, two_sets, capsys):
    from dataclasses import replace

    from quietland.calibration import make_profile, save_profile
    from quietland.session import Cued, Scored

    profile = make_profile(name="ann", source="live", device="test", sample_rate=16000, floor_dbfs=-60.0,
                           quiet_landings_db=(-30.0,), normal_landings_db=(-22.0,), peak_dbfs=-10.0)
    source = ListSource(split(two_sets.audio, 320), two_sets.sample_rate)
    runner, updates, recorder = run_session(source, "line-hops", tmp_path, profile=profile)
    analysis = runner.run()
    scored = [u.score for u in updates if isinstance(u, Scored)]
    assert [s.number for s in scored] == list(range(1, 21)), "every rep is scored once, in order"
    decided_at = {u.item.number: i for i, u in enumerate(updates) if isinstance(u, Decided) and isinstance(u.item, Rep)}
    scored_at = {u.score.number: i for i, u in enumerate(updates) if isinstance(u, Scored)}
    assert all(scored_at[n] > decided_at[n] for n in decided_at), "a score comes after its rep"
    assert [r.score for r in analysis.reps] == scored and all(s.calibrated for s in scored)
    assert [u.cue for u in updates if isinstance(u, Cued)] == list(analysis.cues)
    doc = json.loads(recorder.results_path.read_text())
    assert profile_from_dict(doc["profile"], recorder.results_path) == profile
    assert doc["calibration"]["name"] == "ann" and doc["calibration"]["calibrated"] is True

    # analyze of the saved WAV scores against the session's own profile; --profile overrides it
    assert main(["analyze", str(recorder.wav_path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["calibration"] == doc["calibration"]
    assert [r["score"] for r in again["reps"]] == [r["score"] for r in doc["reps"]]
    other = save_profile(replace(profile, name="bob", quiet_db=-40.0), tmp_path / "bob.toml")
    assert main(["analyze", str(recorder.wav_path), "--json", "--profile", str(other)]) == 0
    assert json.loads(capsys.readouterr().out)["calibration"]["name"] == "bob"

    # ann calibrated again since: the session still scores against the profile it used, and says so (review: the
    # same name, two calibrations, and nothing told them apart)
    from quietland.calibration import profile_path

    profile_path("ann").parent.mkdir(parents=True, exist_ok=True)
    from datetime import datetime, timedelta

    since = (datetime.fromisoformat(profile.created) + timedelta(hours=1)).isoformat(timespec="seconds")
    save_profile(replace(profile, quiet_db=-34.0, created=since), profile_path("ann"))
    assert main(["analyze", str(recorder.wav_path), "--json"]) == 0
    captured = capsys.readouterr()
    again = json.loads(captured.out)
    assert [r["score"] for r in again["reps"]] == [r["score"] for r in doc["reps"]]
    note = (f"The session is scored against the profile 'ann' it used (made {profile.created[:16].replace('T', ' ')}); "
            f"'ann' has been calibrated again since ({since[:16].replace('T', ' ')}): --profile ann scores it against "
            "that one.")
    assert again["warnings"] == [note] and f"quietland: warning: {note}" in captured.err


@pytest.mark.parametrize("content, words", [("not = [toml", "is not valid TOML"), ("schema_version = 7\n", "newer than")])
def test_a_bad_profile_is_reported_and_scoring_falls_back_to_uncalibrated(tmp_path, capsys, content, words):
    bad = tmp_path / "bad.toml"
    bad.write_text(content)
    assert main(["analyze", str(DEMO), "--json", "--profile", str(bad)]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["calibration"]["calibrated"] is False and all(r["score"] is not None for r in doc["reps"])
    warnings = [line for line in captured.err.splitlines() if line.startswith("quietland: warning: ")]
    assert len(warnings) == 1 and str(bad) in warnings[0] and words in warnings[0] and "uncalibrated" in warnings[0]
    assert "quietland: error" not in captured.err  # the analysis went ahead: a warning, not an error
    assert doc["warnings"] == [warnings[0].removeprefix("quietland: warning: ")]


def test_a_profile_that_names_nothing_is_a_bad_command_line(tmp_path, capsys, monkeypatch):
    """A typo in --profile scored a whole session uncalibrated, with one warning line; it now stops before
    anything starts, saying which profiles there are."""
    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))
    saved = tmp_path / "home" / "profiles"
    saved.mkdir(parents=True)
    from quietland.calibration import save_profile

    profile = replace(DEFAULT_PROFILE, calibrated=True)
    for name in ("ann", "ann.previous", "bo"):
        save_profile(replace(profile, name=name), saved / f"{name}.toml")
    for args, words in (
        (["--profile", "an"], ["--profile 'an': there is no profile of that name (saved profiles: ann, bo, in",
                               "'quietland calibrate --name an' makes one (a profile saved with --output is given "
                               "by its path)."]),
        # a path lists the saved profiles too (a name typed as a file name, 'ann.toml')
        (["--profile", str(tmp_path / "none.toml")], [f"--profile '{tmp_path / 'none.toml'}': there is no such file "
                                                      "(saved profiles: ann, bo, in", ": give one by its name)."]),
    ):
        assert main(["analyze", str(DEMO), "--json", *args]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("quietland: error: ")
        assert all(w in captured.err for w in words), captured.err
    assert main(["analyze", str(DEMO), "--json", "--profile", "bo"]) == 0  # a saved name is found
    assert json.loads(capsys.readouterr().out)["calibration"]["name"] == "bo"
    # in any case, as athlete names are ('Ann' was no profile, where the history's 'Ann' is 'ann')
    assert main(["analyze", str(DEMO), "--json", "--profile", "BO"]) == 0
    assert json.loads(capsys.readouterr().out)["calibration"]["name"] == "bo"
    # spaced as athlete names may be (refused before); two files alike but for case: which one is said, not guessed
    save_profile(replace(profile, name="Mary Jane"), saved / "Mary Jane.toml")
    assert main(["analyze", str(DEMO), "--json", "--profile", " mary  jane"]) == 0
    assert json.loads(capsys.readouterr().out)["calibration"]["name"] == "Mary Jane"
    save_profile(replace(profile, name="BO"), saved / "BO.toml")
    assert main(["analyze", str(DEMO), "--json", "--profile", "Bo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--profile 'Bo': the saved profiles 'BO' and 'bo' differ only in case" in err, err


def test_analyze_says_it_takes_the_recorded_sessions_target_cadence(tmp_path, capsys):
    """The note named the drill it took from the recorded session, not the target cadence it took as well."""
    runner, _, recorder = run_session(file_blocks(FileSource(DEMO), 4096), "line-hops", tmp_path,
                                      target_cadence_per_min=160.0)
    runner.run()
    assert main(["analyze", str(recorder.wav_path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert ("counting as the recorded session did (drill line-hops, rhythm against its target of 160/min); --drill NAME "
            "overrides it (--target-cadence N the target)") in err
    assert json.loads(out)["target_cadence_per_min"] == 160.0
    assert main(["analyze", str(recorder.wav_path), "--json", "--target-cadence", "150"]) == 0
    assert "target of" not in capsys.readouterr().err


def test_the_table_says_what_the_scores_rest_on(tmp_path, capsys, monkeypatch):
    """'median score 39 (uncalibrated: 'quietland calibrate' makes a profile)' was said to a user who had just saved
    one ('analyze' does not take the profile named 'default' by itself), and a calibrated table named no profile."""
    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))

    def summary_line(*args: str) -> str:  # (with the lines it goes on in under its value, past 80 columns)
        assert main(["analyze", str(DEMO), *args]) == 0
        lines = capsys.readouterr().out.splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("median score"))
        more = [line.strip() for line in itertools.takewhile(lambda line: line.startswith(" " * 20), lines[at + 1 :])]
        return " ".join([lines[at], *more])

    assert summary_line().endswith("(uncalibrated: 'quietland calibrate' makes a profile)")
    # the level the scores use is in the summary too (only loudness was, where calibration and history say impact)
    assert main(["analyze", str(DEMO), "--json"]) == 0
    impacts = [r["impact_db"] for r in json.loads(capsys.readouterr().out)["reps"] if r["impact_db"] is not None]
    assert main(["analyze", str(DEMO)]) == 0
    assert f"median impact       {statistics.median(impacts):.1f} dB (the level of scores, calibration and history)" in (
        capsys.readouterr().out)
    saved = tmp_path / "home" / "profiles"
    saved.mkdir(parents=True)
    from quietland.calibration import save_profile

    save_profile(replace(DEFAULT_PROFILE, calibrated=True, name="default"), saved / "default.toml")
    assert summary_line().endswith("(uncalibrated: '--profile NAME' scores against a saved profile (default))")
    made = DEFAULT_PROFILE.created[:10]
    assert summary_line("--profile", "default").endswith(f"(profile 'default', made {made})")
    # an earlier copy holds its profile's name: its date tells it from the profile now saved ('ann' both)
    save_profile(replace(DEFAULT_PROFILE, calibrated=True, created="2026-01-02T10:00:00+00:00"), saved / "default.previous.toml")
    assert summary_line("--profile", "default.previous").endswith("(profile 'default', made 2026-01-02)")
    # a name of wide characters: the summary line goes on under its value by the columns it takes (it took 100)
    from quietland.names import columns

    save_profile(replace(DEFAULT_PROFILE, calibrated=True, name="王" * 30), saved / f"{'王' * 30}.toml")
    assert main(["analyze", str(DEMO), "--profile", "王" * 30]) == 0
    out = capsys.readouterr().out
    assert max(map(columns, out.splitlines())) <= 80 and "王" * 20 in out, out


def test_an_analysis_saved_beside_a_recording_is_not_taken_for_its_session(tmp_path, capsys):
    """'analyze x.wav --target-cadence 100 --json > x.json' made every later 'analyze x.wav' score against 100/min,
    without a word: the JSON was read as the recording's own session. A target JSON cannot hold as a number
    the command line refuses (1e400) was a ZeroDivisionError traceback."""
    wav = tmp_path / "s.wav"
    wav.write_bytes(DEMO.read_bytes())
    assert main(["analyze", str(wav), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["analyze", str(wav), "--target-cadence", "100", "--json"]) == 0
    aimed = capsys.readouterr().out
    (tmp_path / "s.json").write_text(aimed)
    assert json.loads(aimed)["target_cadence_per_min"] == 100.0
    assert main(["analyze", str(wav), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["target_cadence_per_min"] is None and again["reps"] == plain["reps"]
    recorded = {"drill": "line-hops", "actions": [], "started_at": "2026-11-20T18:00:00.000+01:00"}
    for target in ("1e400", "100000", "-5"):
        (tmp_path / "s.json").write_text(json.dumps(recorded)[:-1] + f', "target_cadence_per_min": {target}}}')
        assert main(["analyze", str(wav), "--json"]) == 0, target
        assert json.loads(capsys.readouterr().out)["target_cadence_per_min"] is None


def test_a_profile_saved_with_warnings_says_them_again_when_it_scores(tmp_path, capsys):
    """A profile whose landings clipped scored sessions (median 98.5) with no warning at all."""
    from quietland.calibration import save_profile

    path = save_profile(replace(DEFAULT_PROFILE, calibrated=True, warnings=("Landings reach full scale.",)),
                        tmp_path / "clipped.toml")
    assert main(["analyze", str(DEMO), "--json", "--profile", str(path)]) == 0
    captured = capsys.readouterr()
    said = f"The profile '{path}' was saved with a warning: Landings reach full scale."
    assert json.loads(captured.out)["warnings"] == [said] and f"quietland: warning: {said}\n" in captured.err
    assert json.loads(captured.out)["calibration"]["calibrated"] is True  # still used: the scores rest on it


def test_a_recorded_session_whose_profile_is_no_table_is_warned_about(tmp_path, capsys):
    """A results JSON whose ``profile`` is not an object (a list, a number) was scored uncalibrated in silence."""
    wav = tmp_path / "rec.wav"
    wav.write_bytes(DEMO.read_bytes())
    (tmp_path / "rec.json").write_text(json.dumps({"drill": "line-hops", "actions": [], "profile": [1, 2],
                                                   "started_at": "2026-11-20T18:00:00.000+01:00"}))
    assert main(["analyze", str(wav), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["calibration"]["calibrated"] is False
    assert len(doc["warnings"]) == 1 and "'profile'" in doc["warnings"][0] and str(tmp_path / "rec.json") in doc["warnings"][0]
    assert captured.err.count("quietland: warning: ") == 1


@pytest.mark.parametrize("drill, reps", [("jump-rope", 10), ("jump-rope", 5), ("jump-rope-alternate", 5), ("line-hops", 10)])
def test_a_plan_splits_a_rhythm_that_goes_on_at_each_target_and_a_replay_repeats_it(drill, reps):
    """A plan of 6 sets over 60 contacts with no rest between them: every set is the target, none is lost (a new
    set once restarted the rope drills' beat search, and 6 x 10 counted 55: 10, 10, 10, 10, 10, 5; and the reps a
    rope beat's search decides with the 5th went into set 1: 7, 5, 5, ...), the saved actions do not depend on the
    block size, and the pipeline given them as a script counts the same."""
    preset = "demo" if drill == "line-hops" else "rope"
    session = synthesize(replace(PRESETS[preset], sets=(60,), seed=3))
    saved = set()
    for block in (960, 4096):
        runner = SessionRunner(ListSource(split(session.audio, block), session.sample_rate), drill, None, lambda u: None)
        runner.follow_plan(SimpleNamespace(sets=6, reps=reps, round_s=None, rest_s=0.0))
        analysis = runner.run()
        assert [s.reps for s in analysis.sets][:6] == [reps] * 6, block
        actions = tuple((a["sample"], a["action"]) for a in runner.actions)
        saved.add(actions)
    assert len(saved) == 1
    script = tuple(ScriptedAction(sample, what) for sample, what in actions)
    pipe = SessionPipeline(session.sample_rate, drill, script)
    pipe.process(session.audio)
    assert [s.reps for s in pipe.finish()[1].sets] == [s.reps for s in analysis.sets]


def test_a_drill_change_as_the_session_ends_is_replayed(two_sets):
    """A drill changed after the last block, 10 ms after a landing: live, that landing (the detector still held it)
    is decided by the new drill; a replay applies the change at the stream's end too (it had left the change out
    and counted that landing by the old drill)."""
    sr = two_sets.sample_rate
    audio = two_sets.audio[: two_sets.samples_of("landing")[-1] + sr // 100]

    class ThenChange(ListSource):
        def blocks(self):
            yield from super().blocks()
            runner.change_drill("jump-rope")  # taken once the source has nothing more

    runner = SessionRunner(ThenChange(split(audio, 500), sr), "generic", None, lambda u: None)
    live = runner.run()
    assert runner.actions == [{"sample": audio.size, "action": "change-drill", "drill": "jump-rope"}]
    script = tuple(ScriptedAction(a["sample"], a["action"], a.get("drill")) for a in runner.actions)
    pipe = SessionPipeline(sr, "generic", script)
    pipe.process(audio)
    replay = pipe.finish()[1]
    assert replay.drill_changes == live.drill_changes == ((audio.size, "jump-rope"),)
    assert [(r.sample, r.set_number) for r in replay.reps] == [(r.sample, r.set_number) for r in live.reps]
    assert [(r.event.sample, r.reason) for r in replay.rejected] == [(r.event.sample, r.reason) for r in live.rejected]
