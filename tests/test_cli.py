"""`quietland analyze` end to end: bad inputs end in one sentence, outputs parse and hold the documented fields."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import quietland
from quietland import report
from quietland.cli import DEFAULT_BLOCK_SIZE, main
from quietland.events import OnsetEvent, Rejected, Rep, SessionSummary, SetSummary
from quietland.pipeline import Analysis
from quietland.synth import SessionSpec, SyntheticSession, synthesize

PACKAGE_ROOT = str(Path(quietland.__file__).resolve().parent.parent)

REP_FIELDS = {
    "rep", "set", "rep_in_set", "t_s", "sample", "interval_ms", "cadence_per_min", "loudness_db", "impact_db",
    "peak_dbfs", "low_db", "high_db", "rhythm_dev_pct", "ramp_in", "inferred", "detect_delay_ms", "score", "softness",
    "rhythm_score", "double_contact", "double_gap_ms",
}
REJECTED_FIELDS = {"t_s", "sample", "reason", "loudness_db", "impact_db", "peak_dbfs", "low_db", "high_db", "detect_delay_ms"}
SET_FIELDS = {"number", "reps", "start_s", "end_s", "cadence_per_min", "interval_cv", "median_loudness_db"}
SUMMARY_FIELDS = {
    "reps", "sets", "rejected", "duration_s", "active_s", "cadence_per_min", "interval_cv", "median_loudness_db",
    "loudest_loudness_db", "median_detect_delay_ms", "median_score", "double_contacts",
}
TOP_FIELDS = {
    "file", "recorded_at", "quietland_version", "drill", "drill_changes", "sample_rate", "duration_s", "block_size", "reps",
    "rejected", "sets",
    "summary", "calibration", "cues", "target_cadence_per_min", "warnings",
}
CALIBRATION_FIELDS = {"calibrated", "name", "created", "quiet_db", "normal_db", "floor_dbfs"}


def run_subprocess(*args: str) -> tuple[int, str, str]:
    """`python -m quietland ARGS` on the quietland these tests imported."""
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    p = subprocess.run([sys.executable, "-m", "quietland", *args], capture_output=True, text=True, env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(params=["main", "subprocess"])
def run(request, capsys):
    """Run the CLI in-process through main() or as `python -m quietland`."""
    if request.param == "main":
        return lambda *args: run_main(capsys, *args)
    return run_subprocess


# ---------------------------------------------------------------- test audio

def hops(**overrides) -> SyntheticSession:
    """Six two-foot landings at 120/min over faint pink noise, with exact truth."""
    return synthesize(SessionSpec(**{"kind": "landings", "sets": (6,), "cadence_per_min": 120.0, "seed": 1, **overrides}))


def write(path: Path, x: np.ndarray, sr: int, subtype: str = "PCM_16") -> str:
    sf.write(path, np.clip(x, -1.0, 1.0), sr, subtype=subtype)
    return str(path)


def assert_one_error_line(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("quietland: error: ")
    for needle in needles:
        assert needle in lines[0]


# ---------------------------------------------------------------- bad inputs

def wav_bytes(tmp_path: Path) -> bytes:
    """A valid 1 s, 16 kHz, 16-bit WAV."""
    path = write(tmp_path / "good.wav", np.random.default_rng(3).normal(0.0, 0.1, 16000), 16000)
    return Path(path).read_bytes()


def put(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


BAD_FILES = {
    "missing": lambda tmp: str(tmp / "missing.wav"),
    "directory": lambda tmp: str(tmp),
    "text renamed .wav": lambda tmp: put(tmp / "notes.wav", b"pogo 3x20\n" * 30),
    "empty wav": lambda tmp: write(tmp / "empty.wav", np.zeros(0), 44100),
    "empty file": lambda tmp: put(tmp / "nothing.wav", b""),
    "header only": lambda tmp: put(tmp / "hdr.wav", wav_bytes(tmp)[:44]),
    "cut inside header": lambda tmp: put(tmp / "cut.wav", wav_bytes(tmp)[:30]),
    "4 kHz": lambda tmp: write(tmp / "low.wav", np.zeros(4000), 4000),
    "192 kHz": lambda tmp: write(tmp / "high.wav", np.zeros(19200), 192000),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_file_is_one_error_line_and_exit_1(tmp_path, run, case):
    path = BAD_FILES[case](tmp_path)
    code, out, err = run("analyze", path, "--json")
    assert code == 1
    assert out == ""
    assert_one_error_line(err, path)
    if case == "empty file":  # (was: "not an audio file quietland can read")
        assert "is empty (0 bytes): it holds no audio." in err


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--drill", "hopscotch"], "--drill"),
        (["--block-size", "0"], "--block-size"),
        (["--block-size", "lots"], "--block-size"),
        (["--block-size", str(2**21)], "--block-size"),
        (["--json", "--csv"], "--csv"),
        (["--frobnicate"], "--frobnicate"),
    ],
)
def test_bad_command_line_is_one_error_line_and_exit_2(tmp_path, run, args, needle):
    path = put(tmp_path / "ok.wav", wav_bytes(tmp_path))
    code, out, err = run("analyze", path, *args)
    assert code == 2
    assert out == ""
    assert_one_error_line(err, needle)


@pytest.mark.parametrize("command", [["live", "--headless"], ["calibrate", "--headless"]])
def test_an_empty_device_name_is_a_bad_command_line(run, command):
    """'' is in every device's name: it used to say several devices matched; it is no name at all."""
    code, out, err = run(*command, "--device", "  ")
    assert code == 2 and out == ""
    assert_one_error_line(err, "--device")


def test_no_command_is_a_usage_error(run):
    code, out, err = run()
    assert code == 2 and out == ""
    assert_one_error_line(err)


def test_version(run):
    code, out, err = run("--version")
    assert (code, out.strip(), err) == (0, f"quietland {quietland.__version__}", "")


def test_help_describes_every_drill(run):
    from quietland.reps import DRILLS

    code, out, _ = run("analyze", "--help")
    assert code == 0
    for option in ("--drill", "--json", "--csv", "--block-size"):
        assert option in out
    for drill in DRILLS:
        assert f"\n  {drill} " in out


def test_truncated_wav_is_analysed_with_a_warning(tmp_path, run):
    data = wav_bytes(tmp_path)
    path = put(tmp_path / "cut.wav", data[: len(data) // 2])
    code, out, err = run("analyze", path, "--json")
    assert code == 0
    assert "Traceback" not in err
    warning_lines = [line for line in err.splitlines() if line.startswith("quietland: warning: ")]
    assert any("truncated" in line and path in line for line in warning_lines)
    doc = json.loads(out)
    assert any("truncated" in w for w in doc["warnings"])
    assert doc["duration_s"] == pytest.approx(0.5, abs=0.01)


# ---------------------------------------------------------------- outputs

@pytest.fixture(scope="module")
def session() -> SyntheticSession:
    return hops()


@pytest.fixture
def hops_wav(tmp_path, session) -> str:
    return write(tmp_path / "hops.wav", session.audio, session.sample_rate)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)")
@pytest.mark.parametrize("form", ["--json", "--csv", None])
def test_output_that_cannot_be_written_is_one_error_line(hops_wav, form):
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    args = [sys.executable, "-m", "quietland", "analyze", hops_wav, *([form] if form else [])]
    with open("/dev/full", "w") as full:
        p = subprocess.run(args, stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == ["quietland: error: the output could not be written (No space left on device)."]


def test_a_sample_that_is_not_a_number_leaves_every_later_landing_counted(tmp_path, session, run):
    """One NaN and one infinite sample early in a float WAV used to poison the detector: no rep after them."""
    audio = session.audio.astype(np.float32).copy()
    audio[int(0.05 * session.sample_rate)] = np.nan
    audio[int(0.3 * session.sample_rate)] = np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, audio, session.sample_rate, subtype="FLOAT")
    clean = tmp_path / "clean.wav"
    sf.write(clean, np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0), session.sample_rate, subtype="FLOAT")
    code, out, err = run("analyze", str(path), "--json", "--drill", "generic")
    assert code == 0 and "2 samples that are not numbers" in err
    doc = json.loads(out)
    code, out, _ = run("analyze", str(clean), "--json", "--drill", "generic")
    assert doc["reps"] == json.loads(out)["reps"] and doc["summary"]["reps"] == len(session.landing_times_s)


def test_json_is_one_document_with_the_documented_fields(hops_wav, session, run):
    code, out, err = run("analyze", hops_wav, "--json", "--drill", "generic")
    assert code == 0, err
    doc = json.loads(out)  # raises if there is anything but one document
    assert set(doc) == TOP_FIELDS
    assert (doc["file"], doc["drill"], doc["sample_rate"], doc["block_size"]) == (hops_wav, "generic", 44100, DEFAULT_BLOCK_SIZE)
    assert doc["duration_s"] == pytest.approx(session.duration_s, abs=1e-4)
    assert doc["reps"], "the landings should give reps"
    for rep in doc["reps"]:
        assert set(rep) == REP_FIELDS
        assert rep["t_s"] == pytest.approx(rep["sample"] / 44100, abs=1e-4)
    for rej in doc["rejected"]:
        assert set(rej) == REJECTED_FIELDS
    for st in doc["sets"]:
        assert set(st) == SET_FIELDS
    assert set(doc["summary"]) == SUMMARY_FIELDS
    assert set(doc["calibration"]) == CALIBRATION_FIELDS and doc["calibration"]["calibrated"] is False
    assert all(0 <= rep["score"] <= 100 and rep["double_contact"] in (True, False) for rep in doc["reps"])
    assert doc["summary"]["reps"] == len(doc["reps"])
    assert doc["summary"]["rejected"] == len(doc["rejected"])
    assert isinstance(doc["warnings"], list)


@pytest.mark.parametrize("drill", ["generic", "line-hops"])
def test_each_synthetic_landing_is_a_rep_at_its_time(hops_wav, session, run, drill):
    code, out, _ = run("analyze", hops_wav, "--json", "--drill", drill)
    doc = json.loads(out)
    assert [r["rep"] for r in doc["reps"]] == list(range(1, session.count + 1))
    np.testing.assert_allclose([r["t_s"] for r in doc["reps"]], session.landing_times_s, atol=0.005)


def test_block_size_does_not_change_results(hops_wav, capsys):
    docs = []
    for block_size in ("64", "1024", "44100"):
        code, out, _ = run_main(capsys, "analyze", hops_wav, "--json", "--block-size", block_size)
        assert code == 0
        doc = json.loads(out)
        docs.append({k: v for k, v in doc.items() if k != "block_size"})
    assert docs[0] == docs[1] == docs[2]


def test_csv_parses_with_one_row_per_event_in_time_order(hops_wav, capsys):
    code, out, _ = run_main(capsys, "analyze", hops_wav, "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == report.CSV_COLUMNS
    _, out_json, _ = run_main(capsys, "analyze", hops_wav, "--json")
    doc = json.loads(out_json)
    assert len(rows) == len(doc["reps"]) + len(doc["rejected"])
    assert [r["status"] for r in rows].count("rep") == len(doc["reps"])
    samples = [int(r["sample"]) for r in rows]
    assert samples == sorted(samples)


def test_table_is_the_default_output(hops_wav, capsys):
    code, out, err = run_main(capsys, "analyze", hops_wav)
    assert code == 0 and err == ""
    assert "interval" in out and "reps" in out and max(len(line) for line in out.splitlines()) <= 80
    assert not out.lstrip().startswith("{")
    header, units, rule, *rows = out.split("\n\n")[0].splitlines()  # the table, before the summary block
    assert header.endswith(" notes") and rule == "-" * 80
    assert units.split() == ["s", "ms", "/min", "dB", "dev", "%"]
    noted = [row for row in rows if len(row) > len(header) - len("notes")]
    assert any("ramp-in" in row for row in noted) and any("rejected:" in row for row in noted)
    notes_at = header.index("notes")
    for row in noted:  # every note starts under the notes heading
        assert row[notes_at - 1] == " " and row[notes_at] != " ", row
    for name, unit in (("time", "s"), ("interval", "ms"), ("loudness", "dB")):  # each unit under its name's end
        assert units[header.index(name) + len(name) - len(unit) : header.index(name) + len(name)] == unit
    assert "'quietland calibrate'" in out and "`" not in out  # plain text: no Markdown quoting


def test_table_summary_counts_the_rejected_sounds_by_reason(hops_wav, capsys):
    """The summary's ``rejected`` line says how many sounds each reason rejected, most first, and the
    counts are the JSON's."""
    _, out, _ = run_main(capsys, "analyze", hops_wav)
    _, doc, _ = run_main(capsys, "analyze", hops_wav, "--json")
    reasons = [r["reason"] for r in json.loads(doc)["rejected"]]
    assert reasons, "the fixture should have rejected sounds"
    line = next(x for x in out.splitlines() if x.startswith("rejected "))
    counts = {reason: reasons.count(reason) for reason in reasons}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert line.split(None, 1)[1] == f"{len(reasons)} (" + ", ".join(f"{k} {n}" for k, n in ranked) + ")"


def test_silence_gives_no_reps(tmp_path, capsys):
    path = write(tmp_path / "silence.wav", np.zeros(3 * 16000), 16000)
    code, out, _ = run_main(capsys, "analyze", path, "--json")
    assert code == 0
    assert json.loads(out)["summary"]["reps"] == 0


def test_white_noise_gives_no_reps(tmp_path, capsys):
    x = np.random.default_rng(7).normal(0.0, 0.05, 5 * 44100)
    path = write(tmp_path / "noise.wav", x, 44100)
    code, out, _ = run_main(capsys, "analyze", path, "--json")
    assert code == 0
    assert json.loads(out)["summary"]["reps"] == 0


def test_a_float_recording_over_full_scale_is_not_called_clipped(tmp_path, run):
    """Float samples above 1.0 were not clipped (the waveform is whole): 'loudness underestimated' was wrong."""
    quiet = hops(level_dbfs=-6.0)
    loud = quiet.audio * 4.0  # 6 dB over full scale, the waveform whole (the synthesizer clips its own output)
    path = tmp_path / "float.wav"
    sf.write(path, loud, quiet.sample_rate, subtype="FLOAT")
    assert np.abs(sf.read(path, dtype="float32")[0]).max() > 1.5
    code, out, err = run("analyze", str(path), "--json")
    assert code == 0 and "clipped" not in err and json.loads(out)["warnings"] == []
    clipped = tmp_path / "float-clipped.wav"
    sf.write(clipped, np.clip(loud, -1.0, 1.0), quiet.sample_rate, subtype="FLOAT")  # as a device clips
    code, out, err = run("analyze", str(clipped), "--json")
    assert code == 0 and any("clipped" in w for w in json.loads(out)["warnings"])


def test_clipped_recording_is_analysed_with_a_warning(tmp_path, run):
    loud = hops(level_dbfs=6.0)  # landings peak 6 dB over full scale: clipped
    path = write(tmp_path / "clipped.wav", loud.audio, loud.sample_rate)
    code, out, err = run("analyze", path, "--json")
    assert code == 0
    assert "Traceback" not in err
    # the warning names the file (one of many analysed in a loop); the source's own warnings name it already
    assert err.splitlines()[0].startswith(f"quietland: warning: '{path}': The recording is clipped (")
    doc = json.loads(out)
    assert doc["warnings"][0].startswith(f"'{path}': The recording is clipped (")  # as on stderr
    assert doc["summary"]["reps"] == loud.count


def test_progress_goes_to_a_terminal_stderr_only(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "long.wav", np.random.default_rng(5).normal(0.0, 0.01, 25 * 8000), 8000)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("quietland.cli.PROGRESS_INTERVAL_S", 0.0)
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["analyze", path, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    json.loads(out)
    assert "analysing" in terminal.getvalue()
    # not a terminal: no progress at all
    code, out, err = run_subprocess("analyze", path, "--json")
    assert code == 0 and "analysing" not in err


# ---------------------------------------------------------------- report on known values

def event(sample: int, sr: int = 1000, loudness: float = -20.0) -> OnsetEvent:
    return OnsetEvent(
        sample=sample, sample_rate=sr, peak_dbfs=-3.0, loudness_db=loudness, impact_db=loudness + 3.0, low_db=-25.0,
        high_db=float("-inf"), strength_db=6.0, floor_dbfs=-70.0, contrast_db=30.0, click_share=0.2, detect_delay_samples=20,
    )


def test_report_rounds_orders_and_never_writes_non_finite_numbers():
    reps = (
        Rep(1, 1, 1, event(1000), None, None, None, True),
        Rep(2, 1, 2, event(1500, loudness=-21.23456), 500.0, 120.0, 1.23456, True),
    )
    rejected = (Rejected(event(1200), "rope"),)
    analysis = Analysis(
        sample_rate=1000, n_samples=3000, drill="jump-rope", events=(), reps=reps, rejected=rejected,
        sets=(SetSummary(1, 2, 1.0, 1.5, 120.0, None, -20.6),),
        summary=SessionSummary(2, 1, 1, 3.0, 1.0, 120.0, None, -20.6, -20.0),
        warnings=("one warning",),
    )
    doc = report.analysis_to_dict(analysis, file="x.wav", block_size=256)
    json.dumps(doc, allow_nan=False)
    assert doc["reps"][1]["loudness_db"] == -21.23
    assert doc["reps"][1]["rhythm_dev_pct"] == 1.2
    assert doc["reps"][0]["high_db"] is None
    assert doc["rejected"] == [
        {"t_s": 1.2, "sample": 1200, "reason": "rope", "loudness_db": -20.0, "impact_db": -17.0, "peak_dbfs": -3.0,
         "low_db": -25.0, "high_db": None, "detect_delay_ms": 20.0}
    ]
    assert doc["summary"]["median_detect_delay_ms"] == 20.0
    assert doc["warnings"] == ["one warning"]

    buf = io.StringIO()
    report.write_csv(analysis, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [r["status"] for r in rows] == ["rep", "rejected:rope", "rep"]
    assert rows[1]["rep"] == "" and rows[1]["high_db"] == ""

    table = report.format_table(analysis)
    assert "rejected: rope" in table
    assert table.index("rejected: rope") < table.index("500.0")
    assert "interval CV         -\n" in table  # an unknown figure is a bare '-', with no unit after it
    assert "  set 1: 2 reps, 1.00-1.50 s, cadence 120.0 /min, CV -, loudness -20.6 dB" in table


def _no_reps(drill: str, rejected: tuple[Rejected, ...]) -> Analysis:
    return Analysis(
        sample_rate=1000, n_samples=3000, drill=drill, events=(), reps=(), rejected=rejected, sets=(),
        summary=SessionSummary(0, 0, len(rejected), 3.0, 0.0, None, None, None, None), warnings=(),
    )


def test_a_table_with_no_reps_says_why_and_where_the_drills_are():
    """Sounds heard and all rejected: the table says so, and points to the drills. Under generic (the default)
    it names the rope drills: a jump rope's sounds come too close together to rise over the sound before them,
    and a real alternate-foot recording's 37 sounds were all too-quiet under generic, 17 reps under jump-rope."""
    heard = (Rejected(event(1000), "too-quiet"), Rejected(event(1400), "too-quiet"))
    generic = " ".join(report.format_table(_no_reps("generic", heard)).split())
    assert "(no reps: each sound heard was rejected, for the reason beside it." in generic
    assert "'quietland drills' lists them." in generic
    assert "--drill jump-rope, jump-rope-alternate or jump-rope-double-under" in generic
    hops = " ".join(report.format_table(_no_reps("line-hops", heard)).split())
    assert "(no reps: each sound heard was rejected" in hops and "jump-rope" not in hops
    silent = report.format_table(_no_reps("generic", ()))
    assert "(no landings found)" in silent and "no reps" not in silent
    for line in report.format_table(_no_reps("generic", heard)).splitlines():
        assert len(line) <= 80


def test_an_inferred_beat_has_no_detection_delay_and_stays_out_of_the_median():
    """An inferred rope beat (no sound heard) reported 0.0 ms, which pulled the median down (20.0 for 35.1 on a
    rope drill with 12 of 47 reps inferred)."""
    beat = replace(event(1400), detect_delay_samples=0, loudness_db=float("nan"), impact_db=float("nan"))
    reps = (
        Rep(1, 1, 1, event(1000), None, None, None, True),
        Rep(2, 1, 2, beat, 400.0, 150.0, None, True, inferred=True),
        Rep(3, 1, 3, replace(event(1800), detect_delay_samples=40), 400.0, 150.0, 0.0, True),
    )
    analysis = Analysis(
        sample_rate=1000, n_samples=3000, drill="jump-rope", events=(), reps=reps, rejected=(),
        sets=(SetSummary(1, 3, 1.0, 1.8, 150.0, None, -20.0),),
        summary=SessionSummary(3, 1, 0, 3.0, 0.8, 150.0, None, -20.0, -20.0), warnings=(),
    )
    doc = report.analysis_to_dict(analysis, file="x.wav", block_size=256)
    assert [r["detect_delay_ms"] for r in doc["reps"]] == [20.0, None, 40.0]
    assert doc["summary"]["median_detect_delay_ms"] == 30.0
    # the table's summary says how many reps were inferred, and the target rhythm was scored against
    table = report.format_table(replace(analysis, target_cadence_per_min=160.0))
    assert "reps                3 in 1 set (1 inferred: rope beats with no sound heard)\n" in table
    assert "cadence             150.0 /min (rhythm scored against a target of 160/min)\n" in table
    assert "inferred:" not in report.format_table(replace(analysis, reps=reps[:1]))


def test_the_table_says_a_one_rep_set_in_the_singular_with_its_time():
    analysis = Analysis(
        sample_rate=1000, n_samples=3000, drill="generic", events=(), reps=(Rep(1, 1, 1, event(2000), None, None, None, True),),
        rejected=(), sets=(SetSummary(1, 1, 2.0, 2.0, None, None, -20.0),),
        summary=SessionSummary(1, 1, 0, 3.0, 0.0, None, None, -20.0, -20.0), warnings=(),
    )
    table = report.format_table(analysis)
    assert "  set 1: 1 rep, at 2.00 s, cadence -, CV -, loudness -20.0 dB" in table
    assert "reps                1 in 1 set\n" in table and "cadence             -\n" in table


# ---------------------------------------------------------------- plan and cadence target

@pytest.mark.parametrize(
    "args, words",
    [
        (("demo", "--plan", "3xx"), "cannot read the plan '3xx'"),
        (("replay", "x.wav", "--plan", "0x10"), "sets must be at least 1"),
        (("analyze", "x.wav", "--target-cadence", "5"), "must be from 10 to 600/min, got 5"),
        (("live", "--target-cadence", "fast"), "--target-cadence"),
    ],
)
def test_bad_plans_and_targets_are_one_sentence(args, words):
    code, out, err = run_subprocess(*args)
    assert code == 2 and out == "" and words in err and err.count("\n") == 1, err


def test_a_cadence_target_scores_rhythm_against_it(hops_wav, run):
    code, out, err = run("analyze", hops_wav, "--drill", "pogo", "--json", "--target-cadence", "120")
    assert code == 0, err
    on_target = json.loads(out)
    assert on_target["target_cadence_per_min"] == 120.0
    code, out, err = run("analyze", hops_wav, "--drill", "pogo", "--json", "--target-cadence", "80")
    off_target = json.loads(out)
    # the landings come at 120/min: against 80/min every interval is 33 % short, so rhythm scores 0
    steady = [r for r in off_target["reps"] if r["interval_ms"] is not None]
    assert steady and all(r["rhythm_score"] == 0.0 for r in steady)
    for r in on_target["reps"]:
        if r["interval_ms"] is not None:  # rhythm = 1 - |interval / 500 ms - 1| / 30 %
            assert r["rhythm_score"] == pytest.approx(max(0.0, 1 - abs(r["interval_ms"] / 500 - 1) / 0.30), abs=0.002)


def test_ctrl_c_while_the_command_is_still_starting_is_one_line_and_130():
    """A Ctrl-C during the first moments (while numpy and the command modules load) was a Python traceback and
    exit code -2. The interrupt is raised here where it fell then: inside the import of quietland.cli."""
    script = (
        "import sys, importlib.abc\n"
        "class Interrupt(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'quietland.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from quietland.entry import main\n"
        "sys.exit(main())\n"
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 130 and p.stdout == "" and p.stderr == "quietland: error: interrupted\n"


def test_analyse_is_analyze(run, tmp_path):
    """The help's prose spells it 'analyse'; typed so, the command was an invalid choice."""
    hops = synthesize(SessionSpec(kind="landings", sets=(8,), cadence_per_min=120, snr_db=35.0, seed=2))
    path = tmp_path / "hops.wav"
    sf.write(path, hops.audio, hops.sample_rate, subtype="PCM_16")
    british, american = run("analyse", str(path), "--json"), run("analyze", str(path), "--json")
    assert british[0] == american[0] == 0
    assert json.loads(british[1])["reps"] == json.loads(american[1])["reps"]


def test_live_warns_of_a_profile_calibrated_through_another_input():
    """A profile's levels are one microphone's: `live` through another says so; a device renumbered is the same."""
    from quietland.calibration import DEFAULT_PROFILE
    from quietland.cli import _other_microphone

    laptop = replace(DEFAULT_PROFILE, name="ann", calibrated=True, source="live",
                     device="Built-in Microphone (device 3, ALSA)")
    warning = _other_microphone(laptop, "USB Audio Device")
    assert warning is not None
    assert "'ann'" in warning and "'Built-in Microphone'" in warning and "'USB Audio Device'" in warning
    assert _other_microphone(laptop, "Built-in Microphone") is None  # device 3 before, another number now
    from_file = replace(laptop, source="recording:cal.wav", device="cal.wav")
    assert _other_microphone(from_file, "USB Audio Device") is None  # made from a recording: no device to compare
    assert _other_microphone(DEFAULT_PROFILE, "USB Audio Device") is None  # the uncalibrated default
