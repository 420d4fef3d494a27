"""Training history: schema and migrations, storing real results, import, the readiness rule, export, and SIGKILL.

Results documents come from ``quietland analyze --json`` of synthetic sessions
(so they have exactly the shape real ones have); the readiness rule is
checked on constructed rows, one test per branch.
"""
from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import soundfile as sf

import quietland
import quietland.cli as cli
import quietland.history as history
from quietland.calibration import Profile, save_profile
from quietland.history import (
    EXPORT_COLUMNS,
    HISTORY_FILE,
    HistoryError,
    HistoryStore,
    SessionRow,
    schema_version_known,
    store_session_on_end,
)
from quietland.readiness import readiness
from quietland.history_cli import format_history, sparkline
from quietland.synth import SessionSpec, synthesize

PACKAGE_ROOT = str(Path(quietland.__file__).resolve().parent.parent)
NORMAL_DB = -8.0
"""The test profile's normal anchor (its quiet anchor is -20 dB): the synthetic landings at about -19 dB score ~85."""


# ---------------------------------------------------------------- results documents
def analyze_json(wav: Path, *extra: str) -> dict:
    """``quietland analyze WAV --json --drill pogo EXTRA`` run through cli.main, its stdout parsed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["analyze", str(wav), "--json", "--drill", "pogo", *extra]) == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, dict]:
    """Two real ``analyze --json`` documents of one synthetic pogo session: scored against a calibrated
    profile ('calibrated') and against the built-in default ('uncalibrated')."""
    folder = tmp_path_factory.mktemp("docs")
    profile = Profile(name="ann", calibrated=True, created="2026-11-01T09:00:00+00:00", source="live", device="test",
                      sample_rate=16000, floor_dbfs=-50.0, quiet_db=-20.0, normal_db=NORMAL_DB)
    toml = save_profile(profile, folder / "ann.toml")
    spec = SessionSpec(sample_rate=16000, kind="landings", sets=(12, 10), cadence_per_min=150.0, seed=3,
                       double_contact_prob=0.15, snr_db=35.0)
    session = synthesize(spec)
    wav = folder / "pogo.wav"
    sf.write(wav, session.audio, session.sample_rate)
    docs = {"calibrated": analyze_json(wav, "--profile", str(toml)), "uncalibrated": analyze_json(wav)}
    for doc in docs.values():  # as documents written before 'recorded_at' were: dated by the files they name
        del doc["recorded_at"]
    return docs


def recorded(doc: dict, started_at: str, *, athlete: str | None = "ann", complete: bool = True) -> dict:
    """``doc`` as a live session's results JSON: with athlete, start and end times and ``complete``."""
    return {**copy.deepcopy(doc), "athlete": athlete, "started_at": started_at,
            "ended_at": started_at if complete else None, "complete": complete}


def write_json(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc, indent=2))
    return path


@pytest.fixture
def store(tmp_path):
    with HistoryStore.open(tmp_path / HISTORY_FILE) as s:
        yield s


def rep_rows(db: Path) -> dict[int, int]:
    """Rep rows per session id, read with plain sqlite3."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT session_id, count(*) FROM reps GROUP BY session_id").fetchall())


# ---------------------------------------------------------------- the command line
@pytest.fixture
def run(monkeypatch, capsys, tmp_path):
    """Run ``quietland ARGS`` through cli.main with QUIETLAND_HOME in a temporary folder; (code, stdout, stderr)."""
    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))

    def run_(*args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run_


def one_error_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quietland: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


# ---------------------------------------------------------------- schema and migrations
def test_a_new_database_has_the_schema_its_version_and_wal(tmp_path):
    db = tmp_path / "sub" / HISTORY_FILE
    with HistoryStore.open(db) as s:
        assert s.schema_version == schema_version_known() == 5
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("5",)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"meta", "athletes", "sessions", "sets", "reps"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        plan = " ".join(str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE athlete_id = 1 ORDER BY started_unix"))
        assert "USING INDEX sessions_by_athlete" in plan and "TEMP B-TREE" not in plan


def test_the_default_database_is_in_the_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))
    with HistoryStore.open() as s:
        assert s.path == tmp_path / "home" / "history.sqlite3"
    assert (tmp_path / "home" / "history.sqlite3").exists()


def test_an_older_database_is_migrated_and_keeps_its_sessions(tmp_path, monkeypatch, docs):
    db = tmp_path / HISTORY_FILE
    with HistoryStore.open(db) as s:  # a database of this version with one session in it
        s.store_results(recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00"))
    known = schema_version_known()

    def add_rpe(conn):  # a made-up next version: rate of perceived exertion per session
        conn.execute("ALTER TABLE sessions ADD COLUMN rpe INTEGER")
        conn.execute("UPDATE sessions SET rpe = 5")

    monkeypatch.setattr(history, "MIGRATIONS", [*history.MIGRATIONS, add_rpe])
    with HistoryStore.open(db) as s:
        assert s.schema_version == known + 1
        [row] = s.sessions("ann")
        assert row.reps == len(docs["calibrated"]["reps"])
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(known + 1),)
        assert conn.execute("SELECT rpe FROM sessions").fetchall() == [(5,)]
    assert rep_rows(db) == {row.id: row.reps}


def test_a_version_1_history_gets_its_drift_cue_counts_column_and_keeps_its_sessions(tmp_path, monkeypatch, docs):
    """Version 2 counts each session's calibration drift cues; a version 1 history's sessions keep theirs unknown."""
    db = tmp_path / HISTORY_FILE
    monkeypatch.setattr(history, "MIGRATIONS", history.MIGRATIONS[:1])
    with HistoryStore.open(db) as s:
        assert s.schema_version == 1
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:  # a session as version 1 stored it
        conn.execute("INSERT INTO athletes (name) VALUES ('ann')")
        conn.execute(
            "INSERT INTO sessions (athlete_id, drill, started_at, started_unix, complete, results_sha256, calibrated, "
            "reps, sets, double_contacts, form_fades, stored_at) VALUES (1, 'pogo', '2026-11-20T18:00:00+01:00', "
            "1763658000, 1, 'x', 1, 20, 1, 0, 0, '2026-11-20T18:01:00+01:00')")
    monkeypatch.undo()
    with HistoryStore.open(db) as s:
        assert s.schema_version == schema_version_known()
        [old] = s.sessions("ann")
        assert old.reps == 20 and old.drift_cues is None
        drifted = recorded(docs["calibrated"], "2026-11-21T18:00:00+01:00")
        drifted["cues"] = [*drifted.get("cues", []), {"kind": "drift-floor", "message": "x", "t_s": 4.0, "sample": 1}]
        s.store_results(drifted)
        assert [r.drift_cues for r in s.sessions("ann")] == [None, 1]


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch, docs):
    db = tmp_path / HISTORY_FILE
    with HistoryStore.open(db) as s:
        s.store_results(recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00"))

    def half_done(conn):
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    known = schema_version_known()
    monkeypatch.setattr(history, "MIGRATIONS", [*history.MIGRATIONS, half_done])
    with pytest.raises(HistoryError, match=f"could not be upgraded to history schema version {known + 1}"):
        HistoryStore.open(db)
    monkeypatch.undo()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(known),)
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name = 'notes'").fetchall()
    with HistoryStore.open(db) as s:
        assert len(s.sessions()) == 1


def test_a_newer_database_is_refused_naming_the_file(tmp_path):
    db = tmp_path / HISTORY_FILE
    HistoryStore.open(db).close()
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    with pytest.raises(HistoryError) as info:
        HistoryStore.open(db)
    assert str(db) in str(info.value) and "newer quietland" in str(info.value) and "version 7" in str(info.value)
    with contextlib.closing(sqlite3.connect(db)) as conn:  # untouched
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("7",)
    # not even its journal mode: a newer database kept in a rollback journal stays so, to the byte
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    before = db.read_bytes()
    with pytest.raises(HistoryError, match="newer quietland"):
        HistoryStore.open(db)
    assert db.read_bytes() == before and not Path(f"{db}-wal").exists()


def test_a_file_that_is_not_a_history_is_refused_naming_it(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all, just some text " * 50)
    with pytest.raises(HistoryError, match=str(junk)):
        HistoryStore.open(junk)
    other = tmp_path / "other.sqlite3"
    with contextlib.closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(HistoryError, match="not a quietland history"):
        HistoryStore.open(other)


# ---------------------------------------------------------------- storing real results
def test_a_real_results_document_is_stored_with_its_figures(store, docs):
    doc = recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00", athlete="Ann")
    doc["cues"] = [*doc["cues"], {"t_s": 5.0, "sample": 80000, "kind": "form-fade", "message": "form fading",
                                  "set": 1, "rep": 8}]
    stored = store.store_results(doc)
    assert stored is not None and not stored.replaced
    assert (stored.athlete, stored.drill, stored.reps, stored.sets) == ("Ann", "pogo", len(doc["reps"]), 2)
    [row] = store.sessions()
    summary, reps = doc["summary"], doc["reps"]
    assert row.athlete == "Ann" and row.started_at == "2026-11-20T18:00:00+01:00" and row.complete
    assert row.reps == summary["reps"] == len(reps) and row.sets == summary["sets"]
    assert row.cadence_per_min == summary["cadence_per_min"] and row.interval_cv == summary["interval_cv"]
    assert row.median_score == summary["median_score"] and row.median_loudness_db == summary["median_loudness_db"]
    assert row.double_contacts == summary["double_contacts"] == sum(r["double_contact"] for r in reps) >= 1
    assert row.median_impact_db == round(statistics.median(r["impact_db"] for r in reps), 2)
    assert row.calibrated and row.profile_name == "ann" and (row.quiet_db, row.normal_db) == (-20.0, NORMAL_DB)
    assert row.vs_baseline_db == pytest.approx(row.median_impact_db - NORMAL_DB)
    assert row.form_fades == 1 + sum(c["kind"] == "form-fade" for c in docs["calibrated"]["cues"])
    assert row.sample_rate == 16000 and row.duration_s == doc["duration_s"]
    stored_reps = store.session_reps(row.id)
    assert [r["impact_db"] for r in stored_reps] == [r["impact_db"] for r in reps]
    assert [r["set_number"] for r in stored_reps] == [r["set"] for r in reps]
    assert [r["double_contact"] for r in stored_reps] == [r["double_contact"] for r in reps]
    assert [s["cadence_per_min"] for s in store.session_sets(row.id)] == [s["cadence_per_min"] for s in doc["sets"]]
    assert store.athletes() == ["Ann"] and store.sessions("ANN") == [row]  # names ignore case


def test_storing_the_same_results_again_is_a_no_op(store, docs):
    doc = recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00")
    assert store.store_results(doc) is not None
    assert store.store_results(copy.deepcopy(doc)) is None
    assert store.store_results(copy.deepcopy(doc), athlete="ANN") is None  # (its own athlete, named again)
    assert len(store.sessions()) == 1
    assert rep_rows(store.path) == {store.sessions()[0].id: len(doc["reps"])}


def test_the_same_results_named_for_another_athlete_move_to_them(store, docs, tmp_path):
    """A session stored under the wrong athlete (or 'unknown') is put right by importing it again with --athlete:
    moved, reps and all, not stored twice; the athlete left with no session is forgotten."""
    path = write_json(tmp_path / "s.json", docs["uncalibrated"])
    [first] = store.import_paths([path]).outcomes
    assert first.status == "stored" and first.session.athlete == "unknown"
    [again] = store.import_paths([path]).outcomes
    assert again.status == "already"
    assert f"'{path}' is already in the history (unknown, " in again.sentence and "--athlete NAME" in again.sentence
    [moved] = store.import_paths([path], athlete="hana").outcomes
    assert moved.status == "moved" and moved.sentence.startswith(f"'{path}': moved from unknown: hana (a new athlete), ")
    [row] = store.sessions()
    assert row.athlete == "hana" and row.id == first.session.id and store.athletes() == ["hana"]
    assert store.find_athlete("unknown") is None
    assert rep_rows(store.path) == {row.id: len(docs["uncalibrated"]["reps"])}
    assert [o.status for o in store.import_paths([path], athlete="Hana").outcomes] == ["already"]


def test_the_athlete_given_wins_over_the_one_the_results_name(store, docs, tmp_path):
    """A name typed wrong at 'live --athlete' ('hanna') is put right at import; the sentence says so."""
    doc = recorded(docs["uncalibrated"], "2026-11-20T18:00:00+01:00", athlete="hanna")
    path = write_json(tmp_path / "live.json", doc)
    [outcome] = store.import_paths([path], athlete="hana").outcomes
    assert outcome.status == "stored" and outcome.session.athlete == "hana"
    assert outcome.sentence.startswith(f"'{path}': stored: hana (a new athlete; the results name hanna), pogo")
    assert store.athletes() == ["hana"]


def test_athlete_names_ignore_the_case_of_every_letter_and_how_an_accent_was_typed(store, docs, tmp_path):
    """SQLite's NOCASE folds only A-Z: 'zoë ångström' was a second athlete beside 'Zoë Ångström', and a 'ë' typed as
    'e' and a combining mark found no sessions of the 'ë' stored. A name seen for the first time says so."""
    first = write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-01T08:00:00+01:00", athlete=None))
    second = write_json(tmp_path / "b.json", recorded(docs["calibrated"], "2026-11-02T08:00:00+01:00", athlete=None))
    [one] = store.import_paths([first], athlete="Zoë Ångström").outcomes
    assert "stored: Zoë Ångström (a new athlete), pogo" in one.sentence
    [two] = store.import_paths([second], athlete="ZOË ÅNGSTRÖM").outcomes
    assert "stored: Zoë Ångström, pogo" in two.sentence  # (not new: the spelling stored first)
    assert store.athletes() == ["Zoë Ångström"]
    typed = "Zoe\u0308 A\u030angstro\u0308m"  # the same letters, each accent a combining mark
    assert store.find_athlete(typed) == "Zoë Ångström" and len(store.sessions(typed)) == 2
    assert store.find_athlete("zoe angstrom") is None
    # listed by their letters, case and accents set aside ('Émile' came after 'zoë', 'JOHN' before 'ann')
    for day, name in enumerate(("JOHN", "Émile", "ann", "eve"), start=3):
        path = write_json(tmp_path / f"{day}.json", recorded(docs["calibrated"], f"2026-11-{day:02d}T08:00:00+01:00", athlete=None))
        store.import_paths([path], athlete=name)
    assert store.athletes() == ["ann", "Émile", "eve", "JOHN", "Zoë Ångström"]


def test_results_that_name_an_athlete_past_a_names_length_are_stored_under_a_name_given(store, docs, tmp_path):
    """The command line holds a name to 60 characters; a results file could name a longer one, which was stored,
    and then no command could name that athlete (--athlete refused it)."""
    path = write_json(tmp_path / "long.json", recorded(docs["calibrated"], "2026-11-01T08:00:00+01:00", athlete="A" * 70))
    [outcome] = store.import_paths([path]).outcomes
    assert outcome.status == "failed" and "a name is at most 60 characters (70 given)" in outcome.sentence
    assert "--athlete NAME" in outcome.sentence and store.athletes() == []
    [outcome] = store.import_paths([path], athlete="Ann").outcomes
    assert outcome.status == "stored" and store.athletes() == ["Ann"]


def test_a_plain_analyze_document_takes_the_given_athlete_and_the_files_time(store, docs, tmp_path):
    # (the recording it names is gone: the results file's own time)
    path = write_json(tmp_path / "plain.json", {**docs["uncalibrated"], "file": "gone.wav"})
    when = datetime(2026, 10, 2, 7, 45, 0).timestamp()
    os.utime(path, (when, when))
    report = store.import_paths([path], athlete="bo")
    assert [o.status for o in report.outcomes] == ["stored"]
    [row] = store.sessions()
    assert row.athlete == "bo" and row.started_at == datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds")
    assert not row.calibrated and row.vs_baseline_db is None and row.source_file == str(path.resolve())
    # results that name their athlete keep it when none is given
    store.store_results(recorded(docs["uncalibrated"], "2026-11-20T18:00:00+01:00", athlete="cy"))
    assert store.athletes() == ["bo", "cy"]


def test_an_incomplete_live_session_is_replaced_by_its_final_results(store, docs):
    final = recorded(docs["calibrated"], "2026-11-21T07:00:00+01:00")
    early = recorded(docs["calibrated"], "2026-11-21T07:00:00+01:00", complete=False)
    early["reps"], early["sets"] = early["reps"][:12], early["sets"][:1]
    assert store.store_results(early).reps == 12
    stored = store.store_results(final)
    assert stored is not None and stored.replaced
    [row] = store.sessions()
    assert row.complete and row.reps == len(final["reps"])
    assert rep_rows(store.path) == {row.id: row.reps}
    assert store.store_results(early) is None  # an old incomplete copy never replaces the final one
    assert len(store.sessions()) == 1


def test_copies_with_one_start_keep_the_longest_and_the_first_complete_one_stays(store, docs):
    """Two complete documents with the same athlete and start replaced each other, and re-importing flipped
    between them; an older, shorter incomplete copy replaced a longer one (100 reps after 140). Then both complete
    ones stayed, as two sessions: but one athlete's sessions never start in one millisecond, and a session's own
    results imported after an analysis of its recording was the session counted twice (review)."""
    start = "2026-11-22T07:00:00.250+01:00"
    longer = recorded(docs["calibrated"], start, complete=False)
    shorter = recorded(docs["calibrated"], start, complete=False)
    shorter["reps"], shorter["duration_s"] = shorter["reps"][:5], longer["duration_s"] / 2
    assert store.store_results(longer) is not None
    assert store.store_results(shorter) is None
    [row] = store.sessions()
    assert row.reps == len(longer["reps"])

    one = recorded(docs["calibrated"], start)
    other = recorded(docs["uncalibrated"], start)
    assert store.store_results(one).replaced  # the complete copy replaces the incomplete one
    assert store.store_results(other) is None  # the session is stored: the first complete copy stands
    [row] = store.sessions()
    assert row.calibrated and row.reps == len(one["reps"])
    assert store.store_results(one) is None and store.store_results(other) is None
    assert len(store.sessions()) == 1


def test_a_session_started_on_a_whole_second_keeps_its_milliseconds(store, docs):
    """A live session writes its start to the millisecond; one that started on a whole second
    (``...T12:04:25.000+00:00``) was stored as ``...T12:04:25+00:00``, so the history's start was not the session's
    (a CI run met it: 1 session start in 1000). A start written to the second stays so."""
    for start in ("2026-12-07T12:04:25.000+00:00", "2026-12-07T12:04:26.250+00:00", "2026-12-07T12:04:27+00:00"):
        assert store.store_results(recorded(docs["calibrated"], start)) is not None
    assert sorted(r.started_at for r in store.sessions()) == [
        "2026-12-07T12:04:25.000+00:00", "2026-12-07T12:04:26.250+00:00", "2026-12-07T12:04:27+00:00",
    ]


def test_import_reports_a_damaged_file_in_one_sentence_and_imports_the_rest(store, docs, tmp_path):
    good1 = write_json(tmp_path / "quietland-1.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00"))
    cut = tmp_path / "cut.json"
    cut.write_text(good1.read_text()[:500])
    odd = write_json(tmp_path / "odd.json", {"hello": "world"})
    write_json(tmp_path / "quietland-2.json", recorded(docs["calibrated"], "2026-11-22T18:00:00+01:00"))
    (tmp_path / "quietland-2.wav").write_bytes(b"")
    report = store.import_paths([good1, cut, odd, tmp_path / "missing.wav", tmp_path / "quietland-2.wav"])
    assert [o.status for o in report.outcomes] == ["stored", "failed", "failed", "failed", "stored"]
    cut_sentence, odd_sentence, missing_sentence = (o.sentence for o in report.outcomes[1:4])
    assert str(cut) in cut_sentence and "not valid JSON" in cut_sentence and "line" in cut_sentence
    assert str(odd) in odd_sentence and "not a quietland results document" in odd_sentence
    assert "missing.wav" in missing_sentence and "missing.json" in missing_sentence
    for sentence in (cut_sentence, odd_sentence, missing_sentence):
        assert sentence.count(". ") == 0 and sentence.endswith(".")
    assert report.failed == 3 and len(store.sessions()) == 2


def test_import_reports_values_no_session_has_in_one_sentence_and_goes_on(store, docs, tmp_path):
    """A number SQLite cannot hold, a date before year 1, JSON nested beyond reason: each one sentence, and the
    files after them are still imported (they used to end the import with a traceback)."""
    first = write_json(tmp_path / "first.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00"))
    huge = recorded(docs["calibrated"], "2026-11-21T18:00:00+01:00")
    huge["sample_rate"] = 10**30
    year0 = recorded(docs["calibrated"], "0001-01-01T00:00:00")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    bom = tmp_path / "bom.json"  # a byte-order mark, as some Windows editors write: read as it is
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(recorded(docs["calibrated"], "2026-11-23T18:00:00+01:00")).encode())
    last = write_json(tmp_path / "last.json", recorded(docs["calibrated"], "2026-11-22T18:00:00+01:00"))
    heard: list[str] = []
    report = store.import_paths(
        [first, write_json(tmp_path / "huge.json", huge), write_json(tmp_path / "year0.json", year0), deep, bom, last],
        on_outcome=lambda o: heard.append(o.status),
    )
    assert [o.status for o in report.outcomes] == heard == ["stored", "failed", "failed", "failed", "stored", "stored"]
    for outcome in report.outcomes[1:4]:
        assert outcome.path in outcome.sentence and outcome.sentence.endswith(".") and "\n" not in outcome.sentence
    assert "holds a value no quietland session has" in report.outcomes[1].sentence
    assert "nested too deeply" in report.outcomes[3].sentence
    assert len(store.sessions()) == 3


def test_two_sessions_started_in_the_same_second_are_two_sessions(store, docs):
    """Two live sessions at once (two microphones, two athletes' laptops sharing a history) start within a
    second of each other; their results name their start to the millisecond. The incomplete copy of one is
    still replaced by its own complete copy only."""
    a_early = recorded(docs["calibrated"], "2026-12-05T21:40:53.120+01:00", athlete=None, complete=False)
    a = recorded(docs["calibrated"], "2026-12-05T21:40:53.120+01:00", athlete=None)
    b = recorded(docs["uncalibrated"], "2026-12-05T21:40:53.480+01:00", athlete=None)
    assert store.store_results(a_early) is not None
    assert store.store_results(b) is not None
    stored = store.store_results(a)
    assert stored is not None and stored.replaced
    rows = store.sessions()
    assert sorted(r.started_at for r in rows) == ["2026-12-05T21:40:53.120+01:00", "2026-12-05T21:40:53.480+01:00"]
    assert all(r.complete for r in rows)


def test_control_characters_in_a_name_are_stored_as_spaces(store, docs):
    """A newline or a terminal escape in an athlete's name would break every table and line it is printed in."""
    stored = store.store_results(recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00", athlete="Ann\n\x1b[31m  B\tC "))
    assert stored.athlete == "Ann [31m B C" and store.athletes() == ["Ann [31m B C"]
    # found by the name as typed: the filter reads it as storing does (a double space was not found)
    assert store.find_athlete("ann\n\x1b[31m  b\tc") == store.find_athlete(" Ann  [31m B C ") == "Ann [31m B C"


def damaged_history(run, docs, tmp_path) -> Path:
    """A history of 40 sessions whose sessions table's root page is junk, its header intact; its path."""
    for day in range(1, 41):
        assert run("import", str(write_json(tmp_path / f"d{day}.json",
                                            recorded(docs["calibrated"], f"2026-10-{day % 28 + 1:02d}T{day % 24:02d}:00:00+01:00"))))[0] == 0
    db = tmp_path / "home" / HISTORY_FILE
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sessions'").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[(page - 1) * size : page * size] = b"\x5a" * size
    db.write_bytes(bytes(data))
    return db


def test_a_damaged_history_is_one_sentence_not_a_traceback(run, docs, tmp_path):
    """A database whose header is intact but a table's page is junk opens; reading it fails inside SQLite."""
    db = damaged_history(run, docs, tmp_path)
    for args in (("history",), ("history", "--json"), ("export", "--format", "csv")):
        code, _, err = run(*args)
        assert code == 1, args
        one_error_line(err, str(db), "is damaged", "move it aside")


def test_import_on_the_command_line(run, docs, tmp_path):
    good = write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00"))
    bad = tmp_path / "b.json"
    bad.write_text("{")
    code, out, err = run("import", str(good), str(bad))
    assert code == 1
    one_error_line(err, str(bad), "not valid JSON")
    assert "stored: ann (a new athlete), pogo, 2026-11-20 18:00" in out and "1 session added, 0 already there, 1 file skipped" in out
    code, out, err = run("import", str(good))
    assert code == 0 and err == "" and "already in the history" in out and "0 sessions added, 1 already there" in out


def test_import_leaves_out_a_copy_saved_before_the_first_rep(run, docs, tmp_path):
    """A live session stopped or killed before its first rep leaves a 0-rep incomplete JSON; import stored it as a
    session of 0 reps (a live session with no rep is not stored)."""
    empty = recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00", complete=False)
    empty["reps"], empty["sets"], empty["duration_s"] = [], [], 0.2
    path = write_json(tmp_path / "quietland-20261120-180000.json", empty)
    code, out, err = run("import", str(path))
    assert code == 0 and err == ""
    assert f"'{path}': left out: a live session's copy from before its first rep (incomplete, no reps)." in out
    assert "0 sessions added, 0 already there, 1 empty left out, 0 files skipped" in out
    code, out, err = run("history", "--json")
    assert json.loads(out)["sessions"] == []
    # a finished session with no rep (a live session's JSON, analyze --json of a silent file) is no session either:
    # stored, it blocked the readiness verdict with four reasons (0 reps, no score, no rhythm, no impact level)
    done = write_json(tmp_path / "silent.json", {**empty, "complete": True})
    code, out, err = run("import", str(done))
    assert code == 0 and err == "" and f"'{done}': left out: a session with no reps." in out
    assert "0 sessions added, 0 already there, 1 empty left out, 0 files skipped" in out
    assert json.loads(run("history", "--json")[1])["sessions"] == []


def test_a_session_whose_drill_changed_counts_toward_no_single_drill(run, docs, tmp_path):
    """A session begun as pogo and changed to line hops was stored as pogo, all its reps counting toward pogo's
    readiness verdict."""
    pogo = [write_json(tmp_path / f"p{d}.json", recorded(docs["calibrated"], f"2026-11-0{d}T08:00:00+01:00")) for d in (1, 2)]
    changed = recorded(docs["calibrated"], "2026-11-03T08:00:00+01:00")
    changed["drill_changes"] = [{"t_s": 3.0, "sample": 132300, "drill": "line-hops"},
                                {"t_s": 6.0, "sample": 264600, "drill": "line-hops"}]
    mixed = write_json(tmp_path / "mixed.json", changed)
    code, out, _ = run("import", *map(str, pogo), str(mixed))
    assert code == 0 and "stored: ann, pogo+line-hops, 2026-11-03 08:00" in out
    code, out, _ = run("history", "--json")
    assert [s["drill"] for s in json.loads(out)["sessions"]] == ["pogo", "pogo", "pogo+line-hops"]
    code, out, _ = run("history", "--drill", "pogo", "--json")
    assert [s["started_at"][:10] for s in json.loads(out)["sessions"]] == ["2026-11-01", "2026-11-02"]
    code, out, _ = run("history")
    assert "ann, pogo: 2 sessions, 2026-11-01 to 2026-11-02" in out and "ann, pogo+line-hops: 1 session, on 2026-11-03\n" in out


def test_a_plain_analyze_document_is_dated_by_the_recording_it_names(store, docs, tmp_path):
    """Dated by the results file's time, an analysis saved days after the recording was dated then."""
    wav = tmp_path / "rec" / "pogo.wav"
    wav.parent.mkdir()
    wav.write_bytes(b"RIFF")  # (only its time is read)
    recorded_at, analysed_at = datetime(2026, 11, 2, 18, 0, 0).timestamp(), datetime(2026, 11, 9, 9, 0, 0).timestamp()
    os.utime(wav, (recorded_at, recorded_at))
    path = write_json(tmp_path / "rec" / "pogo.json", {**docs["uncalibrated"], "file": "somewhere/else/pogo.wav"})
    os.utime(path, (analysed_at, analysed_at))
    store.import_paths([path], athlete="bo")
    [row] = store.sessions()
    assert row.started_at == datetime.fromtimestamp(recorded_at).astimezone().isoformat(timespec="seconds")


def test_an_analysis_is_dated_by_the_recording_time_it_holds(run, tmp_path):
    """'analyze --json' writes the recording's time into the document: imported from another folder, where the path
    it names leads nowhere, it is dated by that, not by when the analysis was saved."""
    rec, out = tmp_path / "rec", tmp_path / "out"
    rec.mkdir(), out.mkdir()
    session = synthesize(SessionSpec(sample_rate=16000, kind="landings", sets=(8,), cadence_per_min=150.0, seed=5))
    wav = rec / "d.wav"
    sf.write(wav, session.audio, session.sample_rate)
    when = datetime(2026, 11, 20, 18, 0, 0).timestamp()
    os.utime(wav, (when, when))
    doc = analyze_json(wav)
    assert doc["recorded_at"] == datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds")
    path = write_json(out / "d.json", {**doc, "file": "rec/d.wav"})  # (analysed from tmp_path, imported from out/)
    code, text, err = run("import", str(path), "--athlete", "gus")
    assert code == 0 and err == "" and "stored: gus (a new athlete), pogo, 2026-11-20 18:00, " in text and "dated by" not in text
    # without it (written before it was), and with the recording out of reach: the JSON's own time, said so
    older = {k: v for k, v in doc.items() if k != "recorded_at"}
    path = write_json(out / "old.json", {**older, "reps": older["reps"][:-1], "file": "rec/d.wav"})
    code, text, err = run("import", str(path), "--athlete", "gus")
    assert code == 0 and err == ""
    assert ("It is dated by the results file's own time: the recording it names ('rec/d.wav') was not found beside it "
            "or as named.") in text


def test_a_recording_scored_again_against_a_profile_replaces_its_uncalibrated_session(run, docs, tmp_path):
    """The readiness verdict asks for an uncalibrated session to be scored against a profile ('quietland analyze
    RECORDING --profile NAME'); importing that analysis added a second copy of the session, dated when it was
    analysed, and the uncalibrated one kept blocking the verdict."""
    wav = tmp_path / "rec.wav"
    wav.write_bytes(b"RIFF")  # (only its time is read)
    when = datetime(2026, 11, 2, 18, 0, 0).timestamp()
    os.utime(wav, (when, when))
    first = write_json(tmp_path / "first.json", {**docs["uncalibrated"], "file": "rec.wav"})
    code, out, _ = run("import", str(first), "--athlete", "ann")
    assert code == 0 and "1 session added" in out
    # the same recording, scored against a profile
    again = write_json(tmp_path / "again.json", {**docs["calibrated"], "file": "rec.wav"})
    code, out, err = run("import", str(again), "--athlete", "ann")
    assert code == 0 and err == ""
    assert f"'{again.resolve()}': replaced the stored session of the same recording: ann, pogo, " in out
    assert "0 sessions added, 1 new analysis of stored recordings, 0 already there" in out
    [row] = json.loads(run("history", "--athlete", "ann", "--json")[1])["sessions"]
    assert row["calibrated"] is True
    assert row["started_at"] == datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds")
    # the same analysis again is already there; one of another athlete, or with other reps, is its own session
    assert "1 already there" in run("import", str(again), "--athlete", "ann")[1]
    assert "1 session added" in run("import", str(first), "--athlete", "bo")[1]
    fewer = write_json(tmp_path / "fewer.json", {**docs["calibrated"], "reps": docs["calibrated"]["reps"][:-1],
                                                 "file": "rec.wav"})
    assert "1 session added" in run("import", str(fewer), "--athlete", "ann")[1]


def test_an_athlete_is_shown_in_the_spelling_stored_first(run, docs, tmp_path):
    """'import --athlete ann' said 'stored: ann' of a session the history shows under 'ANN', and history --json
    named the athlete as typed where export named the stored spelling."""
    first = write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-01T08:00:00+01:00", athlete="ANN"))
    # (another recording: a new analysis of the same one would replace the first)
    plain = write_json(tmp_path / "b.json", {**docs["calibrated"], "file": "other.wav", "duration_s": 99.0})
    code, out, _ = run("import", str(first))
    code, out, _ = run("import", str(plain), "--athlete", "ann")
    assert code == 0 and "stored: ANN, pogo" in out
    assert json.loads(run("history", "--athlete", "ann", "--json")[1])["athlete"] == "ANN"
    assert json.loads(run("export", "--format", "json", "--athlete", "ann")[1])["athlete"] == "ANN"


def test_a_recording_and_its_json_given_together_are_imported_once(run, docs, tmp_path):
    """'import rec/*' names each session twice (its WAV stands for its JSON): it said '1 already there' of a
    session nothing had stored before."""
    path = write_json(tmp_path / "quietland-20261120-180000.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00"))
    wav = path.with_suffix(".wav")
    wav.write_bytes(b"RIFF")
    code, out, err = run("import", str(wav), str(path), str(tmp_path / "." / path.name))
    assert code == 0 and err == "" and out.count("stored: ann (a new athlete), pogo") == 1
    assert out.splitlines()[-1].startswith("1 session added, 0 already there, 0 files skipped")


def test_an_import_into_a_damaged_history_blames_the_history_not_each_file(run, docs, tmp_path):
    db = damaged_history(run, docs, tmp_path)
    new = [write_json(tmp_path / f"n{i}.json", recorded(docs["calibrated"], f"2026-11-0{i}T08:00:00+01:00")) for i in (1, 2)]
    code, out, err = run("import", *map(str, new))
    assert code == 1 and "skipped" not in out
    one_error_line(err, str(db), "is damaged", "move it aside")
    db.write_bytes(b"x" * 4096)  # its header too: not a database at all
    for name in ("history.sqlite3-wal", "history.sqlite3-shm"):
        (tmp_path / "home" / name).unlink(missing_ok=True)
    code, out, err = run("import", *map(str, new))
    assert code == 1
    one_error_line(err, str(db), "cannot be opened as a quietland history", "move it aside")


def test_import_refuses_a_pipe_instead_of_waiting_for_a_writer(run, tmp_path):
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)
    code, out, err = run("import", str(fifo))
    assert code == 1
    one_error_line(err, str(fifo), "is not a file but a pipe")


def test_store_session_on_end_stores_and_never_raises(monkeypatch, tmp_path, docs):
    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))
    results = write_json(tmp_path / "quietland-20261120-180000.json",
                         recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00", athlete=None))
    assert store_session_on_end(results, "dee") is None
    with HistoryStore.open() as s:
        assert [r.athlete for r in s.sessions()] == ["dee"]
    assert store_session_on_end({**docs["calibrated"], "reps": [], "sets": []}, "dee") is None  # nothing to add
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    warning = store_session_on_end(results, "dee", path=blocked / "history.sqlite3")
    assert warning is not None and warning.startswith("The session was not added to the training history")
    assert f"'quietland import {results}' adds it later." in warning
    assert store_session_on_end({"not": "results"}, None) is not None


# ---------------------------------------------------------------- readiness (pure)
def row(day: int = 1, **changes) -> SessionRow:
    """A calibrated pogo session of 'ann' that passes every condition; ``changes`` break some."""
    base = SessionRow(
        id=day, athlete="ann", drill="pogo", started_at=f"2026-11-{day:02d}T18:00:00+01:00", ended_at=None,
        complete=True, duration_s=60.0, sample_rate=48000, source_file=None, calibrated=True, profile_name="ann",
        quiet_db=-30.0, normal_db=-20.0, reps=40, sets=2, cadence_per_min=150.0, interval_cv=0.04,
        median_loudness_db=-28.0, median_impact_db=-25.0, median_score=80.0, double_contacts=2, form_fades=0,
    )
    return replace(base, **changes)


def good(n: int = 3) -> list[SessionRow]:
    return [row(day) for day in range(1, n + 1)]


@pytest.mark.parametrize("n, more", [(0, "3 more are needed"), (1, "2 more are needed"), (2, "1 more is needed")])
def test_readiness_needs_three_sessions(n, more):
    verdict = readiness(good(n))
    assert not verdict.ready and more in verdict.sentence and verdict.sentence.startswith("Not ready to judge yet")


def test_readiness_when_every_condition_holds():
    verdict = readiness(good())
    assert verdict.ready
    assert verdict.sentence == (
        "Ready to move up from pogo: the last 3 sessions were calibrated, scored a median 80, kept the interval "
        "CV at 4.0% with at most 5% double contacts, and landings did not get louder (the median impact level "
        "against baseline changed +0.0 dB from 2026-11-01 18:00 to 2026-11-03 18:00)."
    )


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"calibrated": False}, "the session of 2026-11-02 18:00 was scored uncalibrated"),
        ({"reps": 5, "double_contacts": 0}, "the session of 2026-11-02 18:00 had only 5 reps (8 needed)"),
        ({"median_score": 69.4}, "2026-11-02 18:00 had a median score of 69 (70 needed)"),
        ({"median_score": 69.6}, "2026-11-02 18:00 had a median score of 69.6 (70 needed)"),
        ({"median_score": None}, "2026-11-02 18:00 had no score (70 needed)"),
        ({"interval_cv": 0.075}, "2026-11-02 18:00 had an interval CV of 7.5% (6% at most)"),
        ({"interval_cv": None}, "2026-11-02 18:00 had no measurable rhythm (6% at most)"),
        ({"double_contacts": 5}, "2026-11-02 18:00 had 12% double contacts (10% at most)"),
        ({"interval_cv": 0.0604}, "2026-11-02 18:00 had an interval CV of 6.04% (6% at most)"),
    ],
)
def test_readiness_names_the_condition_that_fails(changes, needle):
    rows = good()
    rows[1] = replace(rows[1], **changes)
    verdict = readiness(rows)
    assert not verdict.ready
    assert verdict.sentence.startswith("Not ready to move up in pogo yet: ") and needle in verdict.sentence


def test_readiness_names_two_sessions_of_one_minute_to_the_second():
    """'the sessions of 2026-11-12 18:00 and 2026-11-12 18:00 were scored uncalibrated' named two sessions alike."""
    rows = good()
    rows[1] = replace(rows[1], started_at="2026-11-03T18:00:12+01:00", calibrated=False)
    rows[2] = replace(rows[2], started_at="2026-11-03T18:00:47+01:00", calibrated=False)
    verdict = readiness(rows)
    assert "the sessions of 2026-11-03 18:00:12 and 2026-11-03 18:00:47 were scored uncalibrated" in verdict.sentence
    assert readiness(good()).sentence.endswith("from 2026-11-01 18:00 to 2026-11-03 18:00).")  # (otherwise minutes)


def test_readiness_leaves_out_a_session_whose_drift_cue_said_its_scores_were_not_honest():
    """Three sessions at 12 dB less input gain raised 'calibrate again for honest scores' and scored 95: they were
    'ready to move up', where the same landings at the calibrated gain scored 58."""
    rows = good()
    rows[1] = replace(rows[1], drift_cues=1, median_score=95.0)
    sentence = readiness(rows).sentence
    assert not readiness(rows).ready
    assert "the session of 2026-11-02 18:00 raised a calibration drift cue" in sentence and "calibrate again" in sentence
    assert readiness([replace(r, drift_cues=None) for r in good()]).ready  # unknown (stored by version 1): as none



def test_readiness_asks_for_the_athletes_own_baseline():
    """Sessions scored against another profile ('live --athlete dan' with no profile of dan's scores against
    'default', and says so) counted as calibrated: dan was 'ready to move up' on someone else's baseline (an
    audit). A profile named as the athlete in any case or way of typing an accent is theirs; with no athlete
    named, or no profile name kept, whose it was cannot be told and it counts."""
    rows = good()
    rows[0] = replace(rows[0], profile_name="default")
    rows[2] = replace(rows[2], profile_name="bo")
    verdict = readiness(rows)
    assert not verdict.ready and "another's baseline" in verdict.short
    assert ("the sessions of 2026-11-01 18:00 and 2026-11-03 18:00 were scored against the profile 'default', 'bo', "
            "not ann's own") in verdict.sentence
    assert "louder" not in verdict.sentence  # (not judged on another's baseline)
    assert readiness([replace(r, profile_name="ANN") for r in good()]).ready
    assert readiness([replace(r, athlete="Zoe\u0308", profile_name="zoë") for r in good()]).ready
    assert readiness([replace(r, athlete="unknown", profile_name="default") for r in good()]).ready
    assert readiness([replace(r, profile_name=None) for r in good()]).ready

def test_readiness_names_the_uncalibrated_sessions_in_one_reason():
    """Three uncalibrated sessions gave the same reason, with the same remedy, three times."""
    rows = [replace(r, calibrated=False) for r in good()]
    sentence = readiness(rows).sentence
    assert sentence.count("uncalibrated") == 1 and sentence.count("quietland calibrate") == 1
    assert "the sessions of 2026-11-01 18:00, 2026-11-02 18:00 and 2026-11-03 18:00 were scored uncalibrated" in sentence
    assert "--profile NAME" in sentence
    clean = [replace(r, double_contacts=0) for r in good()]
    assert "with no double contacts, and" in readiness(clean).sentence  # not 'at most 0% double contacts'


def test_readiness_louder_landings_fail_and_a_small_rise_does_not():
    rows = good()
    rows[2] = replace(rows[2], median_impact_db=-23.5)  # +1.5 dB against the same baseline
    verdict = readiness(rows)
    assert not verdict.ready and ("landings got louder: the median impact level rose 1.5 dB against baseline from "
                                  "2026-11-01 18:00 to 2026-11-03 18:00 (1 dB allowed)") in verdict.sentence
    rows[2] = replace(rows[2], median_impact_db=-24.2)  # +0.8 dB: within the allowance
    assert readiness(rows).ready


def test_readiness_compares_loudness_against_the_baseline_across_a_recalibration():
    rows = good()
    rows[2] = replace(rows[2], normal_db=-15.0, median_impact_db=-21.0)  # louder set-up, quieter landing vs baseline
    verdict = readiness(rows)
    assert verdict.ready and "against baseline changed -1.0 dB from" in verdict.sentence


def test_readiness_looks_only_at_the_last_three_and_lists_every_failure():
    old_bad = [row(1, median_score=20.0, calibrated=False)]
    assert readiness(old_bad + [row(day) for day in (2, 3, 4)]).ready
    rows = [row(1), row(2, median_score=50.0), row(3, interval_cv=0.2)]
    sentence = readiness(rows).sentence
    assert "median score of 50" in sentence and "interval CV of 20.0%" in sentence and sentence.count(";") == 1
    assert readiness([row(1), row(2, median_score=75.0), row(3, median_score=90.0)]).sentence.count("a median 75-90,") == 1


def test_readiness_refuses_mixed_drills_or_athletes():
    with pytest.raises(ValueError):
        readiness([row(1), row(2, drill="bounding"), row(3)])
    with pytest.raises(ValueError):
        readiness([row(1), row(2, athlete="bo"), row(3)])


# ---------------------------------------------------------------- history on the command line
def test_sparkline_spans_the_blocks():
    assert sparkline([0.0, 7.0, 3.5, None, 1.0]) == "▁█▅ ▂"
    assert sparkline([2.0, 2.0]) == "▄▄"
    assert sparkline([None, None]) == "  "


def test_a_score_just_under_the_readiness_limit_is_never_shown_as_the_limit():
    """69.96 would round to 70, the median score readiness asks: the table, the plot and the verdict say 69.96."""
    rows = good()
    rows[1] = replace(rows[1], median_score=69.96)
    text = format_history(rows)
    table_row = next(line for line in text.splitlines() if line.startswith("2026-11-02 18:00"))
    assert table_row.split()[-2] == "69.96"  # (the score column, then double contacts)
    plot = next(line for line in text.splitlines() if "median score" in line)
    assert "min 69.96  max 80" in plot
    assert "had a median score of 69.96 (70 needed)" in " ".join(text.split())
    rows[1] = replace(rows[1], median_score=70.4)  # at the limit or over it, whole numbers
    assert "min 70  max 80" in format_history(rows)


def test_plot_labels_that_would_read_the_same_get_a_decimal_more():
    """Cadence 11.9-12.2 was labelled 'min 12  max 12' under bars spanning the whole range."""
    rows = [replace(r, cadence_per_min=c) for r, c in zip(good(), (11.9, 12.2, 12.0))]
    plot = next(line for line in format_history(rows).splitlines() if "cadence /min" in line)
    assert "min 11.9  max 12.2" in plot
    rows = [replace(r, cadence_per_min=c) for r, c in zip(good(), (118.0, 131.0, 125.0))]
    plot = next(line for line in format_history(rows).splitlines() if "cadence /min" in line)
    assert "min 118  max 131" in plot  # apart already: whole numbers


def stored_history(home: Path, docs: dict) -> None:
    """ann: three calibrated pogo sessions (ready); bo: one uncalibrated one."""
    with HistoryStore.open(home / HISTORY_FILE) as s:
        for day in (20, 21, 22):
            s.store_results(recorded(docs["calibrated"], f"2026-11-{day}T18:00:00+01:00"))
        s.store_results(recorded(docs["uncalibrated"], "2026-11-21T09:00:00+01:00", athlete="bo"))


def test_history_table_plots_and_verdict(run, docs, tmp_path):
    code, out, err = run("history")
    assert code == 0 and out.startswith("No training history yet") and err == ""
    stored_history(tmp_path / "home", docs)
    doc = docs["calibrated"]
    impact = round(statistics.median(r["impact_db"] for r in doc["reps"]), 2)
    code, out, err = run("history", "--athlete", "ANN")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "ann, pogo: 3 sessions, 2026-11-20 to 2026-11-22"
    assert lines[1].split() == ["date", "reps", "sets", "/min", "CV", "%", "dB", "vs", "base", "score", "double"]
    assert max(len(line) for line in lines) <= 80  # (a calibrated row took 88 columns)
    s = doc["summary"]
    assert lines[3].split() == [
        "2026-11-20", "18:00", str(s["reps"]), str(s["sets"]), f"{s['cadence_per_min']:.0f}",
        f"{100 * s['interval_cv']:.1f}", f"{impact:.1f}", f"{impact - NORMAL_DB:+.1f}", f"{s['median_score']:.0f}",
        str(s["double_contacts"]),
    ]
    assert len([line for line in lines if line.startswith("2026-11-")]) == 3
    assert "ann, pogo: 3 sessions, 2026-11-20 to 2026-11-22" in out
    plot = next(line for line in lines if line.strip().startswith("vs baseline dB"))
    assert "▄▄▄" in plot and f"min {impact - NORMAL_DB:+.1f}  max {impact - NORMAL_DB:+.1f}" in plot
    for label in ("cadence /min", "interval CV %", "median score"):
        assert any(line.strip().startswith(label) for line in lines)
    assert "Ready to move up from pogo" in out

    code, out, _ = run("history")  # both athletes: a block and a verdict each, in alphabetical order
    assert out.index("ann, pogo: 3 sessions") < out.index("bo, pogo: 1 session") and "\n  impact dB " in out
    assert "Not ready to judge yet: 1 pogo session so far; 2 more are needed" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_an_uncalibrated_session_says_so_in_its_vs_base_cell_and_fits_80_columns(run, docs, tmp_path):
    """The whole word trailing the row took a pogo row to 88 columns; the ``vs base`` cell, which has no figure
    without a baseline, now says it, and a line under the table says what it means."""
    stored_history(tmp_path / "home", docs)
    code, out, err = run("history", "--athlete", "bo")
    assert code == 0 and err == ""
    lines = out.splitlines()
    row = next(line for line in lines if line.startswith("2026-11-21"))
    assert row.split()[7] == "uncal." and "uncalibrated" not in row
    assert max(len(line) for line in lines) <= 80
    assert "uncal.: scored without a calibration profile, so no baseline to compare with." in lines
    code, out, _ = run("history", "--athlete", "ann")  # every session calibrated: no such line
    assert "uncal." not in out


def test_history_json(run, docs, tmp_path):
    stored_history(tmp_path / "home", docs)
    code, out, err = run("history", "--json", "--drill", "pogo")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert [(s["athlete"], s["started_at"][:10]) for s in doc["sessions"]] == [
        ("ann", "2026-11-20"), ("bo", "2026-11-21"), ("ann", "2026-11-21"), ("ann", "2026-11-22")]
    first = doc["sessions"][0]
    assert first["reps"] == len(docs["calibrated"]["reps"]) and first["calibrated"] is True
    assert first["vs_baseline_db"] == round(first["median_impact_db"] - NORMAL_DB, 2)
    assert doc["sessions"][1]["vs_baseline_db"] is None
    progress = {p["athlete"]: p for p in doc["progress"]}
    assert progress["ann"]["ready"] is True and progress["ann"]["sessions"] == 3
    assert progress["bo"]["ready"] is False


def test_history_errors_are_one_sentence(run, docs, tmp_path):
    stored_history(tmp_path / "home", docs)
    code, out, err = run("history", "--athlete", "zed")
    assert code == 1 and out == ""
    one_error_line(err, "no sessions of 'zed'", "athletes: ann, bo")
    code, out, err = run("history", "--drill", "bounding")
    assert code == 0 and "No sessions of drill 'bounding' are stored (drills stored: pogo)." in out
    for command in (["history"], ["export", "--format", "json"]):  # a drill no session can have: as analyze says
        code, out, err = run(*command, "--drill", "bouncing")
        assert code == 2 and out == ""
        one_error_line(err, "--drill", "invalid choice: 'bouncing'")
    (tmp_path / "home" / HISTORY_FILE).write_bytes(b"x" * 4096)
    for name in ("history.sqlite3-wal", "history.sqlite3-shm"):
        (tmp_path / "home" / name).unlink(missing_ok=True)
    code, out, err = run("history")
    assert code == 1
    one_error_line(err, str(tmp_path / "home" / HISTORY_FILE))


# ---------------------------------------------------------------- export
def test_export_csv_and_json_parse_back(run, docs, tmp_path):
    code, out, err = run("export", "--format", "csv")  # no history yet: no sessions, as 'history' says
    assert code == 0 and out == ",".join(EXPORT_COLUMNS) + "\n"
    assert "exported 0 sessions: there is no training history yet" in err and len(err.splitlines()) == 1
    empty = tmp_path / "empty.json"
    code, out, err = run("export", "--format", "json", "--output", str(empty), "--athlete", "ann")
    assert code == 0 and out == "" and f"exported 0 sessions to {empty}: there is no" in err
    doc = json.loads(empty.read_text())
    assert doc["sessions"] == [] and doc["schema_version"] == schema_version_known() and doc["athlete"] == "ann"
    assert not (tmp_path / "home" / HISTORY_FILE).exists()  # reading commands never create the history
    stored_history(tmp_path / "home", docs)
    code, out, err = run("export", "--format", "csv", "--athlete", "ann")
    assert code == 0 and err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3 and {r["athlete"] for r in rows} == {"ann"}
    assert rows[0]["reps"] == str(docs["calibrated"]["summary"]["reps"]) and rows[0]["calibrated"] == "1"
    assert float(rows[0]["interval_cv"]) == docs["calibrated"]["summary"]["interval_cv"]
    assert rows[0]["ended_at"] == "2026-11-20T18:00:00+01:00"
    # a drill with no sessions: the header only, and why on stderr (it said nothing, where 'history' says why)
    code, out, err = run("export", "--format", "csv", "--drill", "squat-jumps")
    assert code == 0 and out == ",".join(EXPORT_COLUMNS) + "\n"
    assert err == "quietland: note: no sessions of drill 'squat-jumps' are stored (drills stored: pogo).\n"

    target = tmp_path / "out" / "history.json"
    target.parent.mkdir()
    target.write_text("an older export")
    code, out, err = run("export", "--format", "json", "--output", str(target))
    assert code == 0 and out == "" and "exported 4 sessions" in err
    assert sorted(p.name for p in target.parent.iterdir()) == ["history.json"]  # no temporary file left
    doc = json.loads(target.read_text())
    assert doc["schema_version"] == schema_version_known() and len(doc["sessions"]) == 4
    first = doc["sessions"][0]
    assert [r["impact_db"] for r in first["reps"]] == [r["impact_db"] for r in docs["calibrated"]["reps"]]
    assert [s["reps"] for s in first["sets"]] == [s["reps"] for s in docs["calibrated"]["sets"]]
    assert first["reps"][0]["ramp_in"] is True


def test_export_through_a_link_writes_its_target_keeps_its_mode_and_never_replaces_a_device(run, docs, tmp_path):
    """--output is replaced whole (a temporary file renamed over it); that rename must not turn a symbolic link
    into a file, make a shared file private, or replace a device or a pipe (as root, /dev/null itself)."""
    import os
    import stat

    assert run("import", str(write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00"))))[0] == 0
    target = tmp_path / "exports" / "history.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o644)
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    code, _, err = run("export", "--format", "csv", "--output", str(link))
    assert code == 0, err
    assert link.is_symlink() and target.read_text().startswith("athlete,drill,")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    code, _, err = run("export", "--format", "csv", "--output", str(fifo))
    assert code == 1 and stat.S_ISFIFO(fifo.stat().st_mode)
    one_error_line(err, str(fifo), "not a regular file")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    code, _, err = run("export", "--format", "csv", "--output", str(folder))
    assert code == 1 and folder.is_dir()
    one_error_line(err, str(folder), "it is a folder, so it is not replaced")  # (was: "a device or a pipe")
    new = tmp_path / "new.csv"  # a new file gets what the umask gives, not the temporary file's 0600
    umask = os.umask(0o022)
    try:
        assert run("export", "--format", "csv", "--output", str(new))[0] == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644


def test_export_to_a_folder_that_cannot_be_written_is_one_sentence(run, docs, tmp_path):
    stored_history(tmp_path / "home", docs)
    code, out, err = run("export", "--format", "csv", "--output", str(tmp_path / "no" / "such" / "dir.csv"))
    assert code == 1
    one_error_line(err, "cannot be written", "dir.csv")


# ---------------------------------------------------------------- SIGKILL while storing
WRITER = textwrap.dedent("""
    import json, sys, time
    from quietland.history import HistoryStore

    db, results, stall_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    doc = json.load(open(results))
    doc["reps"] = doc["reps"] * 40  # ~900 reps: a transaction worth interrupting

    class Stalling:
        '''The store's connection, stalling for ever in session ``stall_at``: its sets written, its reps not.'''
        def __init__(self, conn):
            self.conn, self.sessions = conn, 0
        def __getattr__(self, name):
            return getattr(self.conn, name)
        def executemany(self, sql, rows):
            cur = self.conn.executemany(sql, rows)
            if sql.startswith("INSERT INTO sets"):
                self.sessions += 1
                if self.sessions == stall_at:
                    print("inside", flush=True)
                    time.sleep(600)
            return cur

    with HistoryStore.open(db) as store:
        store._conn = Stalling(store._conn)
        for i in range(200):
            session = dict(doc, athlete="kim", started_at=f"2026-01-01T{i // 60:02d}:{i % 60:02d}:00+00:00")
            assert store.store_results(session) is not None
            print(i + 1, flush=True)
""")


def start_writer(db: Path, results: Path, stall_at: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(results), str(stall_at)],
                            stdout=subprocess.PIPE, text=True, env=env)


def check_after_kill(db: Path, committed: int) -> int:
    """Integrity ok; the ``committed`` sessions all there with all their reps; no partial session. Returns the count."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        sessions = conn.execute("SELECT id, started_at, reps FROM sessions ORDER BY started_unix").fetchall()
        per_session = dict(conn.execute("SELECT session_id, count(*) FROM reps GROUP BY session_id").fetchall())
        sets = dict(conn.execute("SELECT session_id, count(*) FROM sets GROUP BY session_id").fetchall())
        orphans = conn.execute("SELECT count(*) FROM reps WHERE session_id NOT IN (SELECT id FROM sessions)").fetchone()
    assert committed <= len(sessions) <= committed + 1  # the last one may have committed just before the kill
    expected = [f"2026-01-01T{i // 60:02d}:{i % 60:02d}:00+00:00" for i in range(len(sessions))]
    assert [s[1] for s in sessions] == expected
    for session_id, _, reps in sessions:
        assert reps > 800 and per_session.get(session_id) == reps and sets.get(session_id) == 2
    assert orphans == (0,)
    with HistoryStore.open(db) as store:  # and quietland reads it, and can go on writing
        assert len(store.sessions("kim")) == len(sessions)
    return len(sessions)


def read_until(proc: subprocess.Popen, done: Callable[[list[str]], bool], timeout_s: float = 120.0) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "the writer ended early"
        lines.append(line.strip())
        if done(lines):
            return lines
    raise AssertionError("the writer was too slow")


@pytest.fixture
def results_file(tmp_path, docs) -> Path:
    return write_json(tmp_path / "results.json", docs["calibrated"])


def test_sigkill_while_storing_sessions_loses_nothing_committed(tmp_path, results_file):
    db = tmp_path / HISTORY_FILE
    proc = start_writer(db, results_file)
    try:
        lines = read_until(proc, lambda lines: int(lines[-1]) >= 5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        lines += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    finally:
        proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    committed = max(int(line) for line in lines)
    assert 5 <= committed < 200
    check_after_kill(db, committed)


def test_sigkill_inside_a_sessions_transaction_leaves_none_of_it(tmp_path, results_file):
    db = tmp_path / HISTORY_FILE
    proc = start_writer(db, results_file, stall_at=6)
    try:
        lines = read_until(proc, lambda lines: lines[-1] == "inside")  # session 6's row and sets are written
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.stdout.close()
    assert lines == ["1", "2", "3", "4", "5", "inside"]
    assert check_after_kill(db, 5) == 5


def test_csv_export_keeps_a_spreadsheet_from_running_a_name_as_a_formula(run, docs, tmp_path):
    """An athlete named '=HYPERLINK(...)' went into the CSV as it is, and a spreadsheet opening it runs it."""
    name = '=HYPERLINK("http://x","y")'
    path = write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00", athlete=name))
    assert run("import", str(path))[0] == 0
    code, out, err = run("export", "--format", "csv")
    assert code == 0 and err == ""
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["athlete"] == "'" + name and float(row["median_impact_db"]) < 0  # (numbers stay numbers)
    code, out, _ = run("export", "--format", "json")
    assert json.loads(out)["sessions"][0]["athlete"] == name  # JSON is no spreadsheet: the name as it is


def test_excel_export_is_the_csv_with_a_byte_order_mark_so_a_spreadsheet_reads_names_as_utf8(run, docs, tmp_path):
    """Without a byte-order mark, Excel reads a CSV in the computer's legacy code page: 'Zoë' showed as 'ZoÃ«'.
    --format excel is the CSV led by the mark, with CRLF line ends; --format csv stays plain UTF-8."""
    path = write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00", athlete="Zoë 王"))
    assert run("import", str(path))[0] == 0
    code, plain, _ = run("export", "--format", "csv")
    assert code == 0 and not plain.startswith("\ufeff") and "\r" not in plain
    target = tmp_path / "zoe.csv"
    code, _, err = run("export", "--format", "excel", "--output", str(target))
    assert code == 0 and "exported 1 session to" in err
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") == 2 and raw.count(b"\n") == 2
    text = raw.decode("utf-8-sig")
    assert list(csv.DictReader(io.StringIO(text))) == list(csv.DictReader(io.StringIO(plain)))
    [row] = csv.DictReader(io.StringIO(text))
    assert row["athlete"] == "Zoë 王"
    code, out, _ = run("export", "--format", "excel")  # to stdout too
    assert code == 0 and out.startswith("\ufeff") and out[1:].replace("\r\n", "\n") == plain


def test_a_csv_export_to_stdout_is_utf8_with_its_own_line_ends_whatever_stdouts_encoding(docs, tmp_path, monkeypatch):
    """stdout in Windows' code page with text line ends (a redirected console): the byte-order mark did not encode
    (a traceback), a name in another script would not have either, and CRLF became CR CR LF (a blank row after
    every row in Excel). CSV goes out as UTF-8 with the line ends it was written with."""
    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))
    path = write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00", athlete="Zoë 王"))
    assert cli.main(["import", str(path)]) == 0
    for fmt, first, end in (("excel", b"\xef\xbb\xbf", b"\r\n"), ("csv", b"athlete,", b"\n")):
        raw = io.BytesIO()
        console = io.TextIOWrapper(raw, encoding="cp1252", newline="\r\n")
        monkeypatch.setattr(sys, "stdout", console)
        assert cli.main(["export", "--format", fmt]) == 0
        console.flush()
        data = raw.getvalue()
        assert data.startswith(first) and b"\r\r" not in data and data.count(end) == 2 and data.endswith(end)
        assert "Zoë 王" in data.decode("utf-8-sig")


def test_the_analysis_of_a_sessions_recording_replaces_the_session_stored_from_it(run, tmp_path):
    """A session killed before its end leaves a JSON with the reps of a few seconds before (stored as an incomplete
    copy) and a WAV with every rep; analysing the WAV, as the README says, and importing that stored a second session.
    So did analysing it again with another drill. The analysis of a recording quietland made names its session."""
    from quietland.audiofile import FileSource
    from quietland.recorder import SessionRecorder
    from quietland.replay import PacedSource
    from quietland.session import SessionRunner

    s = synthesize(SessionSpec(sample_rate=16000, kind="landings", sets=(12,), cadence_per_min=150.0, seed=4))
    rec_dir = tmp_path / "rec"
    recorder = SessionRecorder(rec_dir, 16000, athlete="ann")
    source = PacedSource(FileSource(_wav(tmp_path / "s.wav", s)), None)
    SessionRunner(source, "pogo", recorder, lambda u: None).run()
    live = json.loads(recorder.results_path.read_text())
    # as a SIGKILL leaves it: saved a few seconds before the end, incomplete
    killed = {**live, "complete": False, "ended_at": None, "reps": live["reps"][:5]}
    recorder.results_path.write_text(json.dumps(killed))
    code, out, _ = run("import", str(recorder.results_path))
    assert code == 0 and "stored: ann (a new athlete), pogo" in out
    code, out, err = run("analyze", str(recorder.wav_path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["session_started_at"] == live["started_at"] and doc["athlete"] == "ann"
    analysis = write_json(tmp_path / "analysis.json", doc)
    code, out, _ = run("import", str(analysis))
    assert code == 0 and "replaced the stored session of the same recording: ann, pogo" in out
    [row] = json.loads(run("history", "--json")[1])["sessions"]
    assert row["reps"] == len(live["reps"]) == 12 and row["complete"] is True
    assert row["started_at"] == live["started_at"]
    # analysed again with another drill (a drill given wrong): still the one session
    code, out, _ = run("analyze", str(recorder.wav_path), "--json", "--drill", "generic")
    again = write_json(tmp_path / "again.json", json.loads(out))
    assert "replaced the stored session of the same recording: ann, generic" in run("import", str(again))[1]
    assert [r["drill"] for r in json.loads(run("history", "--json")[1])["sessions"]] == ["generic"]


def _wav(path: Path, s) -> Path:
    sf.write(path, s.audio, s.sample_rate, subtype="FLOAT")
    return path


def test_an_import_says_when_the_scores_are_against_another_athletes_profile(store, docs, tmp_path):
    """'analyze --profile eve' of farah's session, imported for farah: her 'vs base' and verdict used eve's anchors,
    and nothing said so (coach audit). Only a profile named as another athlete in the history is such a profile."""
    first = write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-01T08:00:00+01:00", athlete=None))
    [one] = store.import_paths([first], athlete="ann").outcomes  # (its profile is ann's own)
    assert "profile" not in one.sentence
    other = write_json(tmp_path / "b.json", recorded(docs["calibrated"], "2026-11-02T08:00:00+01:00", athlete=None))
    [two] = store.import_paths([other], athlete="farah").outcomes
    assert "stored: farah (a new athlete; scored against ann's profile), pogo" in two.sentence
    plain = write_json(tmp_path / "c.json", recorded(docs["calibrated"], "2026-11-03T08:00:00+01:00", athlete=None))
    store._conn.execute("UPDATE athletes SET name = 'annie' WHERE name = 'ann'")  # (no athlete of the profile's name)
    [three] = store.import_paths([plain], athlete="farah").outcomes
    assert "profile" not in three.sentence


@pytest.mark.parametrize("field, value", [
    ("recorded_at", "9999-12-31T23:59:59"),  # (no UTC offset: taken as local time, past what a computer holds)
    ("recorded_at", "not a time"),
    ("session_started_at", "not a time"),
    ("session_started_at", 17),
    ("session_started_at", "0001-01-01T00:00:00"),  # (no UTC offset: before what a computer's clock holds)
])
def test_a_bad_time_in_an_analysis_is_dated_as_one_without_it(store, docs, tmp_path, field, value, monkeypatch):
    """'recorded_at: 9999-12-31T23:59:59' was an OverflowError traceback that stopped the rest of the import, and a
    'session_started_at' that is no time refused the analysis, saying its 'started_at' was no time."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        path = write_json(tmp_path / "a.json", {**docs["uncalibrated"], "file": "gone.wav", field: value})
        later = write_json(tmp_path / "b.json", recorded(docs["calibrated"], "2026-11-21T08:00:00+01:00"))
        outcomes = store.import_paths([path, later], athlete="bo").outcomes
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert [o.status for o in outcomes] == ["stored", "stored"], outcomes
    assert "It is dated by the results file's own time" in outcomes[0].sentence


def test_moving_a_session_to_an_athlete_who_has_its_complete_copy_keeps_one(store, docs, tmp_path):
    """An incomplete copy stored under 'hanna', the complete one imported for 'hana', then the incomplete copy moved
    to 'hana': she had both copies of one session, counted twice by the history and the verdict."""
    start = "2026-11-20T18:00:00.000+01:00"
    incomplete = {**recorded(docs["calibrated"], start, athlete="hanna", complete=False),
                  "reps": docs["calibrated"]["reps"][:5], "duration_s": 3.0}
    inc = write_json(tmp_path / "inc.json", incomplete)
    full = write_json(tmp_path / "full.json", recorded(docs["calibrated"], start, athlete="hanna"))
    assert [o.status for o in store.import_paths([inc]).outcomes] == ["stored"]
    [complete] = store.import_paths([full], athlete="hana").outcomes  # (the session's copy, wherever it was)
    assert complete.status == "replaced" and "(stored under hanna)" in complete.sentence
    [again] = store.import_paths([inc], athlete="hana").outcomes
    assert again.status == "already" and "(hana, pogo, 2026-11-20 18:00;" in again.sentence
    [row] = store.sessions()
    assert row.athlete == "hana" and row.complete and row.reps == len(docs["calibrated"]["reps"])
    assert store.athletes() == ["hana"]


def test_the_analysis_of_a_recording_replaces_its_session_stored_under_unknown(run, tmp_path):
    """A session recorded without --athlete is stored under 'unknown'; its analysis imported with --athlete ann
    was stored beside it, a second copy of one session."""
    from quietland.audiofile import FileSource
    from quietland.recorder import SessionRecorder
    from quietland.replay import PacedSource
    from quietland.session import SessionRunner

    s = synthesize(SessionSpec(sample_rate=16000, kind="landings", sets=(12,), cadence_per_min=150.0, seed=4))
    recorder = SessionRecorder(tmp_path / "rec", 16000)
    SessionRunner(PacedSource(FileSource(_wav(tmp_path / "s.wav", s)), None), "pogo", recorder, lambda u: None).run()
    assert "stored: unknown (a new athlete), pogo" in run("import", str(recorder.results_path))[1]
    code, out, _ = run("analyze", str(recorder.wav_path), "--json")
    analysis = write_json(tmp_path / "analysis.json", json.loads(out))
    code, out, _ = run("import", str(analysis), "--athlete", "ann")
    assert "replaced the stored session of the same recording (stored under unknown): ann (a new athlete)" in out
    [row] = json.loads(run("history", "--json")[1])["sessions"]
    assert row["athlete"] == "ann"


def _history_of_version(tmp_path, monkeypatch, version: int, names: Sequence[str]) -> Path:
    """A history database at schema ``version`` holding one pogo session a day from 2026-11-20 for each of ``names``
    (each stored as that version stored athletes: a row per name as given)."""
    db = tmp_path / HISTORY_FILE
    monkeypatch.setattr(history, "MIGRATIONS", history.MIGRATIONS[:version])
    with HistoryStore.open(db) as s:
        assert s.schema_version == version
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        for day, name in enumerate(names, start=20):
            conn.execute("INSERT INTO athletes (name) VALUES (?)", (name,))
            conn.execute(
                "INSERT INTO sessions (athlete_id, drill, started_at, started_unix, complete, results_sha256, "
                "calibrated, reps, sets, double_contacts, form_fades, stored_at) VALUES ((SELECT id FROM athletes "
                f"WHERE name = ?), 'pogo', '2026-11-{day}T18:00:00+01:00', {1763658000 + day * 86400}, 1, ?, 1, 20, "
                "1, 0, 0, '2026-11-20T18:01:00+01:00')", (name, f"sha{day}"))
    monkeypatch.undo()
    return db


def test_a_version_2_history_merges_the_spellings_of_one_athlete(tmp_path, monkeypatch, docs):
    """Version 2 told names apart by SQLite's NOCASE (A-Z only): 'Émile' and 'émile' were two athletes with half the
    sessions each, and '--athlete émile' found one half. Version 3 makes them one, under the spelling stored first."""
    db = _history_of_version(tmp_path, monkeypatch, 2, ("Émile", "émile", "E\u0301mile", "bo"))
    with HistoryStore.open(db) as s:
        assert s.schema_version == schema_version_known()
        assert s.athletes() == ["bo", "Émile"]
        assert [r.started_at[:10] for r in s.sessions("émile")] == ["2026-11-20", "2026-11-21", "2026-11-22"]


def test_a_version_3_history_joins_names_that_differ_by_an_invisible_character(tmp_path, monkeypatch):
    """Version 3 kept 'Jo\u200bhn' (a zero-width space inside) beside 'John' as two athletes; names are now read
    without such characters, so a lookup of either found one of them only and 'rename' could take the other."""
    db = _history_of_version(tmp_path, monkeypatch, 3, ("Jo\u200bhn", "John", "a\u200db", "bo"))
    with HistoryStore.open(db) as s:
        assert s.schema_version == schema_version_known() == 5
        assert s.athletes() == ["a\u200db", "bo", "John"]  # (the joiner, which shapes letters, stays)
        assert [r.started_at[:10] for r in s.sessions("john")] == ["2026-11-20", "2026-11-21"]
        assert s.find_athlete("Jo\u200bhn") == "John"


def test_a_version_4_history_joins_names_typed_in_full_width_letters_or_with_a_space_between_han(tmp_path, monkeypatch):
    """Version 4 kept 'Ｍａｒｙ' (full-width letters, as an East Asian keyboard types them) beside 'Mary', and '王 芳'
    beside '王芳', as two athletes each, with part of the sessions; names are now matched without their
    compatibility forms, and a space between two Chinese, Japanese or Korean letters does not count."""
    db = _history_of_version(tmp_path, monkeypatch, 4, ("Mary", "Ｍａｒｙ", "ｍａｒｉｅ", "bo", "王 芳", "王芳"))
    with HistoryStore.open(db) as s:
        assert s.schema_version == schema_version_known() == 5
        assert s.athletes() == ["bo", "ｍａｒｉｅ", "Mary", "王 芳"]  # (each kept as first stored, sorted by its letters)
        assert [r.started_at[:10] for r in s.sessions("Ｍａｒｙ")] == ["2026-11-20", "2026-11-21"]
        assert s.find_athlete("MARY") == "Mary" and s.find_athlete("marie") == "ｍａｒｉｅ"
        assert [r.started_at[:10] for r in s.sessions("王芳")] == ["2026-11-24", "2026-11-25"]


def test_the_sessions_that_name_no_athlete_stay_unknown_when_a_full_width_twin_was_stored_first(tmp_path, monkeypatch):
    """'ｕｎｋｎｏｗｎ' (full-width) is read as 'unknown', the sessions that name no athlete, since version 5: a version 4
    history holding it before 'unknown' showed those sessions under the full-width spelling."""
    db = _history_of_version(tmp_path, monkeypatch, 4, ("ｕｎｋｎｏｗｎ", "unknown", "bo"))
    with HistoryStore.open(db) as s:
        assert s.find_athlete("unknown") == "unknown" and s.find_athlete("ｕｎｋｎｏｗｎ") == "unknown"
        assert [r.started_at[:10] for r in s.sessions("unknown")] == ["2026-11-20", "2026-11-21"]
    db2 = tmp_path / "new" / HISTORY_FILE
    with HistoryStore.open(db2) as s, s._conn:  # a new history: the first such session is stored as 'unknown'
        assert s._athlete("ｕｎｋｎｏｗｎ")[1] == "unknown"


def test_history_brief_is_a_squad_at_a_glance(run, docs, tmp_path):
    """'Who moves up?' for a squad meant reading every athlete's block (177 lines for 8 athletes in the coach audit):
    --brief is one line per athlete and drill with the verdict in a few words, as --json's 'verdict' is."""
    stored_history(tmp_path / "home", docs)
    code, out, err = run("history", "--brief")
    assert code == 0 and err == ""
    header, *lines = out.splitlines()
    assert header.split() == ["athlete", "drill", "sessions", "last", "score", "verdict"]
    assert [line.split()[:3] for line in lines] == [["ann", "pogo", "3"], ["bo", "pogo", "1"]]
    assert lines[0].endswith("  ready to move up") and lines[1].endswith("  needs 2 more sessions")
    assert max(len(line) for line in out.splitlines()) <= 80
    doc = json.loads(run("history", "--json")[1])
    assert [p["verdict"] for p in doc["progress"]] == ["ready to move up", "needs 2 more sessions"]
    code, _, err = run("history", "--brief", "--json")
    assert code == 2 and "not allowed with" in err


def test_the_short_verdict_names_what_fails():
    rows = good()
    rows[1] = replace(rows[1], calibrated=False)
    rows[2] = replace(rows[2], median_score=60.0, interval_cv=0.08)
    assert readiness(rows).short == "not yet: uncalibrated, score < 70, CV > 6%"
    assert readiness(good(1)).short == "needs 2 more sessions" and readiness(good(2)).short == "needs 1 more session"


def _recorded_session(tmp_path, athlete=None):
    """A live session of 12 pogo landings recorded by quietland (its WAV and results JSON under tmp_path/rec)."""
    from quietland.audiofile import FileSource
    from quietland.recorder import SessionRecorder
    from quietland.replay import PacedSource
    from quietland.session import SessionRunner

    s = synthesize(SessionSpec(sample_rate=16000, kind="landings", sets=(12,), cadence_per_min=150.0, seed=4))
    recorder = SessionRecorder(tmp_path / "rec", 16000, athlete=athlete)
    SessionRunner(PacedSource(FileSource(_wav(tmp_path / "s.wav", s)), None), "pogo", recorder, lambda u: None).run()
    return recorder


def test_a_session_and_the_analysis_of_its_recording_are_one_session_in_either_order(run, tmp_path):
    """The analysis replaced the session stored from the live results; importing those results again (an import of
    rec/*.json) stored them beside it, the session counted twice. Imported after the analysis, the same."""
    recorder = _recorded_session(tmp_path, athlete="ann")
    code, out, _ = run("analyze", str(recorder.wav_path), "--json")
    analysis = write_json(tmp_path / "x-again.json", json.loads(out))
    for order in ([recorder.results_path, analysis, recorder.results_path], [analysis, recorder.results_path]):
        (tmp_path / "home" / HISTORY_FILE).unlink(missing_ok=True)
        for path in order:
            assert run("import", str(path))[0] == 0
        sessions = json.loads(run("history", "--json")[1])["sessions"]
        assert len(sessions) == 1 and sessions[0]["athlete"] == "ann", order


def test_the_analysis_of_a_moved_session_replaces_it_where_it_is(run, tmp_path):
    """A session stored under 'unknown', moved to ann; the analysis of its recording, imported without --athlete,
    was stored under 'unknown' beside ann's copy, and moving it to ann kept both."""
    recorder = _recorded_session(tmp_path)
    assert run("import", str(recorder.results_path))[0] == 0
    assert "moved from unknown: ann" in run("import", str(recorder.results_path), "--athlete", "ann")[1]
    code, out, _ = run("analyze", str(recorder.wav_path), "--json")
    analysis = write_json(tmp_path / "x-again.json", json.loads(out))
    assert "replaced the stored session of the same recording: ann, pogo" in run("import", str(analysis))[1]
    sessions = json.loads(run("history", "--json")[1])["sessions"]
    assert [s["athlete"] for s in sessions] == ["ann"]


def test_the_version_3_upgrade_keeps_one_copy_of_a_session_and_matches_names_canonically(tmp_path, monkeypatch):
    """Copies of one session under one athlete stayed two after the upgrade; and two spellings of one name whose
    accents were typed in another order ('i' + U+0307 + U+0316, 'I' + U+0316 + U+0307) failed it on a UNIQUE
    constraint, leaving a history no command could open."""
    db = tmp_path / HISTORY_FILE
    monkeypatch.setattr(history, "MIGRATIONS", history.MIGRATIONS[:2])
    with HistoryStore.open(db):
        pass
    start = "2026-12-05T18:00:00.250+01:00"
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        for i, (name, when, complete, duration) in enumerate(
            [("Émile", start, 1, 60.0), ("Émile", start, 0, 30.0), ("Émile", start, 1, 60.0),
             ("i\u0307\u0316", "2026-12-06T18:00:00+01:00", 1, 60.0),
             ("I\u0316\u0307", "2026-12-07T18:00:00+01:00", 1, 60.0)]
        ):
            conn.execute("INSERT INTO athletes (name) VALUES (?) ON CONFLICT DO NOTHING", (name,))
            conn.execute(
                "INSERT INTO sessions (athlete_id, drill, started_at, started_unix, complete, duration_s, "
                "results_sha256, calibrated, reps, sets, double_contacts, form_fades, stored_at) VALUES ((SELECT id "
                "FROM athletes WHERE name = ?), 'pogo', ?, 1764950000, ?, ?, ?, 1, 20, 1, 0, 0, "
                "'2026-12-01T00:00:00+00:00')", (name, when, complete, duration, f"sha{i}"))
    monkeypatch.undo()
    with HistoryStore.open(db) as s:
        assert s.schema_version == schema_version_known()
        [kept] = s.sessions("émile")
        assert kept.complete and kept.id == 3  # (the complete copy stored last: an analysis replacing it, say)
        assert len(s.athletes()) == 2 and len(s.sessions("I\u0316\u0307")) == 2


def test_history_brief_fits_80_columns_with_long_drills_names_and_scores(run, docs, tmp_path):
    long_drill = {**docs["calibrated"], "drill": "line-hops",
                  "drill_changes": [{"t_s": 3.0, "sample": 48000, "drill": "jump-rope-double-under"}]}
    for day, athlete in ((20, "王小明王小明王小明王小明王小明"), (21, "Bartholomew Alexander")):
        doc = recorded(long_drill, f"2026-11-{day}T18:00:00+01:00", athlete=athlete)
        doc["summary"] = {**doc["summary"], "median_score": 69.996}
        write_json(tmp_path / f"{day}.json", doc)
        assert run("import", str(tmp_path / f"{day}.json"))[0] == 0
    code, out, _ = run("history", "--brief")
    from quietland.names import columns

    assert code == 0 and max(columns(line) for line in out.splitlines()) <= 80, out
    assert "line-hops+jum…" in out and "needs 2 more sessions" in out
    # the full history too: a block's first line, which names the athlete, was wrapped by characters (95 columns)
    write_json(tmp_path / "22.json", recorded(long_drill, "2026-11-22T18:00:00+01:00", athlete="山田 花子 やまだ はなこ " + "王" * 25))
    assert run("import", str(tmp_path / "22.json"))[0] == 0
    code, out, _ = run("history")
    assert code == 0 and max(columns(line) for line in out.splitlines()) <= 80, out
    assert "山田 花子 やまだ はなこ" in out


def test_a_session_is_stored_once_whoever_it_was_moved_to(run, tmp_path):
    """A session stored under 'unknown' at its end, its analysis imported for ann (moving it): importing its results
    again (a routine 'import rec/*') stored them under 'unknown' a second time; with --athlete bob, ann and bob had
    a copy each. A session's copy mid-session under ann and its end under 'unknown' were two sessions too."""
    recorder = _recorded_session(tmp_path)
    assert "stored: unknown" in run("import", str(recorder.results_path))[1]
    code, out, _ = run("analyze", str(recorder.wav_path), "--json")
    analysis = write_json(tmp_path / "x-again.json", json.loads(out))
    assert "(stored under unknown): ann" in run("import", str(analysis), "--athlete", "ann")[1]
    assert "is already in the history (ann, pogo, " in run("import", str(recorder.results_path))[1]
    assert "moved from ann: bob" in run("import", str(recorder.results_path), "--athlete", "bob")[1]
    assert [s["athlete"] for s in json.loads(run("history", "--json")[1])["sessions"]] == ["bob"]

    live = json.loads(recorder.results_path.read_text())
    middle = write_json(tmp_path / "middle.json", {**live, "complete": False, "ended_at": None,
                                                  "reps": live["reps"][:4], "duration_s": 2.0})
    (tmp_path / "home" / HISTORY_FILE).unlink()
    assert "stored: ann" in run("import", str(middle), "--athlete", "ann")[1]  # (a copy saved at a set end)
    assert store_session_on_end(str(recorder.results_path), None) is None  # (the session's end, named no athlete)
    [row] = json.loads(run("history", "--json")[1])["sessions"]
    assert row["athlete"] == "ann" and row["complete"] is True


def test_sessions_started_in_one_second_by_two_athletes_stay_two(store, docs, tmp_path):
    """Results whose start is to the second only (which two sessions may share): bob's was 'already in the history'
    as ann's, and '--athlete bob' moved ann's session to bob."""
    start = "2026-11-20T18:00:00+01:00"
    ann = write_json(tmp_path / "ann.json", recorded(docs["calibrated"], start, athlete="ann"))
    bob = write_json(tmp_path / "bob.json", recorded(docs["uncalibrated"], start, athlete="bob"))
    assert [o.status for o in store.import_paths([ann, bob]).outcomes] == ["stored", "stored"]
    assert [o.status for o in store.import_paths([bob], athlete="bob").outcomes] == ["already"]
    assert sorted(r.athlete for r in store.sessions()) == ["ann", "bob"]


def test_the_version_3_upgrade_keeps_the_analysis_and_the_athlete_a_copy_was_put_under(tmp_path, monkeypatch):
    """Version 2 stored a session's results again beside the analysis that had replaced them, and the upgrade kept
    the results stored last, dropping the analysis; and of an incomplete copy under ann and the end under 'unknown'
    it kept the session under 'unknown'."""
    db = tmp_path / HISTORY_FILE
    monkeypatch.setattr(history, "MIGRATIONS", history.MIGRATIONS[:2])
    with HistoryStore.open(db):
        pass
    rows = [  # athlete, start, complete, duration, source, stored at, profile
        ("ann", "2026-12-05T18:00:00.250+01:00", 1, 60.0, "/x/ann-cal.json", "2026-12-05T18:10:00+00:00", "ann"),
        ("ann", "2026-12-05T18:00:00.250+01:00", 1, 60.0, "/x/quietland-20261205-180000.json",
         "2026-12-05T18:20:00+00:00", "default"),
        ("ann", "2026-12-06T18:00:00.500+01:00", 0, 30.0, "/x/mid.json", "2026-12-06T18:10:00+00:00", "default"),
        ("unknown", "2026-12-06T18:00:00.500+01:00", 1, 60.0, "/x/quietland-20261206-180000.json",
         "2026-12-06T18:20:00+00:00", "default"),
    ]
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        for i, (name, start, complete, duration, source, stored_at, profile) in enumerate(rows):
            conn.execute("INSERT INTO athletes (name) VALUES (?) ON CONFLICT DO NOTHING", (name,))
            conn.execute(
                "INSERT INTO sessions (athlete_id, drill, started_at, started_unix, complete, duration_s, source_file, "
                "results_sha256, calibrated, profile_name, reps, sets, double_contacts, form_fades, stored_at) VALUES "
                "((SELECT id FROM athletes WHERE name = ?), 'pogo', ?, ?, ?, ?, ?, ?, 1, ?, 20, 1, 0, 0, ?)",
                (name, start, 1764950000 + i * 86400, complete, duration, source, f"sha{i}", profile, stored_at))
    monkeypatch.undo()
    with HistoryStore.open(db) as s:
        assert [(r.athlete, r.profile_name, r.complete) for r in s.sessions()] == [
            ("ann", "ann", True), ("ann", "default", True)]
        assert s.athletes() == ["ann"]


def test_an_analysis_naming_a_session_stored_without_its_start_finds_it_by_its_reps(run, tmp_path):
    """A WAV copied alone, analysed and imported for ann; later the analysis made beside its results (naming the
    session) was stored as a second session: sessions stored without a start to the millisecond (before they were
    found by it, or by a plain analysis) are still found by their reps."""
    recorder = _recorded_session(tmp_path, athlete="ann")
    alone = tmp_path / "alone" / "copy.wav"
    alone.parent.mkdir()
    alone.write_bytes(recorder.wav_path.read_bytes())
    code, out, _ = run("analyze", str(alone), "--json", "--drill", "pogo")
    assert "stored: ann" in run("import", str(write_json(tmp_path / "plain.json", json.loads(out))), "--athlete",
                                "ann")[1]
    code, out, _ = run("analyze", str(recorder.wav_path), "--json")
    named = write_json(tmp_path / "named.json", json.loads(out))
    assert "replaced the stored session of the same recording: ann, pogo" in run("import", str(named))[1]
    assert len(json.loads(run("history", "--json")[1])["sessions"]) == 1


# ---------------------------------------------------------------- putting right: rename and remove
def test_rename_puts_a_misspelt_athlete_right_joining_the_sessions_of_the_right_one(run, docs, tmp_path):
    """A coach had no way to put right a name typed wrong at 'live --athlete' but to import every session again."""
    for command in (("rename", "jhon", "ann"), ("remove", "jhon", "2026-11-21 18:00")):
        code, out, err = run(*command)
        assert code == 1 and out == ""
        one_error_line(err, "there is no training history yet")
    run("import", str(write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00",
                                                                athlete="ann"))))
    for day in (21, 22):
        run("import", str(write_json(tmp_path / f"j{day}.json",
                                     recorded(docs["calibrated"], f"2026-11-{day}T18:00:00+01:00", athlete="Jhon"))))
    code, out, err = run("rename", "jhon", "Ann")
    assert (code, err) == (0, "") and out.startswith("Jhon's 2 sessions joined ann's; history: ")
    with HistoryStore.open(tmp_path / "home" / HISTORY_FILE) as store:
        assert store.athletes() == ["ann"] and len(store.sessions("ann")) == 3
    code, out, err = run("rename", "ANN", "Ann")  # only the spelling
    assert code == 0 and out.startswith("ann is now Ann (3 sessions); history: ")
    code, out, err = run("history", "--brief")
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [["Ann", "pogo", "3"]]
    code, out, err = run("rename", "jhon", "ann")
    assert code == 1
    one_error_line(err, "there are no sessions of 'jhon'", "(athletes: Ann)")
    code, out, err = run("rename", "Ann", " \t ")
    assert code == 1
    one_error_line(err, "is no name")


def test_remove_takes_one_session_out_and_says_how_to_put_it_back(run, docs, tmp_path):
    first = write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-20T18:00:05.250+01:00"))
    second = write_json(tmp_path / "b.json", recorded(docs["uncalibrated"], "2026-11-20T18:00:41.000+01:00"))
    third = write_json(tmp_path / "c.json", recorded(docs["calibrated"], "2026-11-21T18:00:00.000+01:00"))
    assert run("import", str(first), str(second), str(third))[0] == 0
    reps = docs["calibrated"]["summary"]["reps"]

    code, out, err = run("remove", "ann", "2026-11-20 18:00")
    assert code == 1
    one_error_line(err, "2 sessions of ann started at 2026-11-20 18:00 (pogo at 18:00:05, ",
                   "pogo at 18:00:41, ", "give the start to the second to say which.")
    code, out, err = run("remove", "ANN", "2026-11-20 18:00:41")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"removed from the history: ann, pogo, 2026-11-20 18:00:41, {docs['uncalibrated']['summary']['reps']} reps in "
        f"{len(docs['uncalibrated']['sets'])} sets.",
        f"To put it back: quietland import --athlete ann {second.resolve()}",
    ]
    with HistoryStore.open(tmp_path / "home" / HISTORY_FILE) as store:
        assert [r.started_at for r in store.sessions()] == [
            "2026-11-20T18:00:05.250+01:00", "2026-11-21T18:00:00.000+01:00",  # (as the sessions wrote them)
        ]
    assert set(rep_rows(tmp_path / "home" / HISTORY_FILE).values()) == {reps}, "its reps went with it"
    code, out, err = run("import", str(second))
    assert code == 0 and "stored: ann, pogo, 2026-11-20 18:00" in out and "1 session added" in out

    for when, needle in (("yesterday", "is not a session's start"), ("2026-11-23 18:00", "no session of ann started at 2026-11-23 18:00")):
        code, out, err = run("remove", "ann", when)
        assert code == 1
        one_error_line(err, needle)
    code, out, err = run("remove", "bo", "2026-11-20 18:00")
    assert code == 1
    one_error_line(err, "there are no sessions of 'bo'", "(athletes: ann)")


def test_remove_tells_apart_sessions_of_one_second_by_drill_or_reps(store, docs, tmp_path):
    """Two analyses of one recording (two drills, or the same drill by two quietland versions) share its start."""
    line = {**copy.deepcopy(docs["calibrated"]), "drill": "line-hops"}
    shorter = copy.deepcopy(docs["calibrated"])
    del shorter["reps"][-1]
    shorter["summary"]["reps"] -= 1
    for doc in (docs["calibrated"], line, shorter):
        assert store.store_results(doc, athlete="ann", fallback_start=datetime(2026, 11, 20, 18, 0, 5)) is not None
    reps = docs["calibrated"]["summary"]["reps"]
    with pytest.raises(HistoryError, match=r"3 sessions of ann started at 2026-11-20 18:00:05 \(pogo at 18:00:05, "
                       rf"{reps} reps; line-hops at 18:00:05, {reps} reps; pogo at 18:00:05, {reps - 1} reps\): give "
                       r"--drill or --reps to say which\."):
        store.remove_session("ann", "2026-11-20 18:00:05")
    with pytest.raises(HistoryError, match=r"^ann has no squat-jumps sessions in the history \(their drills: "
                       r"line-hops, pogo\)\.$"):
        store.remove_session("ann", "2026-11-20 18:00", drill="squat-jumps")
    assert store.remove_session("ann", "2026-11-20 18:00", drill="line-hops")[0].drill == "line-hops"
    assert store.remove_session("ann", "2026-11-20 18:00", reps=reps - 1)[0].reps == reps - 1
    assert [(r.drill, r.reps) for r in store.sessions()] == [("pogo", reps)]
    start = store.sessions()[0].started_at  # (as 'export' and 'history --json' write it, with its offset)
    other = "-05:00" if not start.endswith("-05:00") else "+09:00"
    with pytest.raises(HistoryError, match="no session of ann started at"):
        store.remove_session("ann", start[:19] + other)
    assert store.remove_session("ann", start.replace("T", "t"))[0].reps == reps
    assert store.athletes() == [], "an athlete left with no session is forgotten"


def test_remove_takes_the_last_stored_of_sessions_nothing_tells_apart(run, docs, tmp_path):
    """Two plain analyses of one recording with the same drill and count could not be removed at all (review)."""
    a = write_json(tmp_path / "a.json", docs["calibrated"])
    other = copy.deepcopy(docs["calibrated"])  # (another recording made at the same moment: other rep times)
    for rep in other["reps"]:
        rep["t_s"] += 0.001
    b = write_json(tmp_path / "b.json", other)
    when = datetime(2026, 11, 20, 18, 0, 5).timestamp()
    for path in (a, b, tmp_path / "pogo.wav"):
        path.touch()
        os.utime(path, (when, when))
    assert run("import", "--athlete", "ann", str(a), str(b))[0] == 0
    with HistoryStore.open(tmp_path / "home" / HISTORY_FILE) as store:
        assert len(store.sessions()) == 2
    code, out, err = run("remove", "ann", "2026-11-20 18:00")
    assert (code, err) == (0, "")
    assert "(the one stored last of 2 alike in start, drill and reps)." in out.splitlines()[0]
    assert out.splitlines()[1] == f"To put it back: quietland import --athlete ann {b.resolve()}"
    code, out, err = run("remove", "ann", "2026-11-20 18:00")
    assert code == 0 and "alike" not in out and out.splitlines()[1].endswith(str(a.resolve()))


def test_rename_refuses_unknown_and_says_when_nothing_changes(run, docs, tmp_path):
    run("import", str(write_json(tmp_path / "a.json", recorded(docs["calibrated"], "2026-11-20T18:00:00+01:00",
                                                                athlete="José"))))
    code, out, err = run("rename", "JOSE\u0301", "José")  # (the accent typed as a combining mark, upper case)
    assert code == 0 and out.startswith("José is stored as José already (1 session): nothing changed; history: ")
    code, out, err = run("rename", "José", "Unknown")
    assert code == 1
    one_error_line(err, "'unknown' is where sessions that name no athlete are kept")
