"""Training history: every session's results kept in one SQLite database, so progress can be judged.

Why it exists: coaches judge progression across sessions ("moves up when
landings stay quiet and the rhythm holds"), and one results JSON per session
cannot answer "is she ready for the next level?". This module stores each
session's summary, sets and reps (from the ``analyze --json`` document, or a
live session's results JSON) in ``history.sqlite3`` in quietland's data
directory and answers per-athlete queries; the readiness rule is in
:mod:`quietland.readiness`.

Durability, and why the settings are what they are:

- **One transaction per session** (``BEGIN IMMEDIATE`` ... ``COMMIT``): a
  crash or ``kill -9`` in the middle of storing a session leaves either the
  whole session or none of it, never a session without its reps.
- **WAL journal**: readers (``quietland history``) never block the writer (a
  live session ending), and a killed writer leaves a WAL that SQLite rolls
  back or forward on the next open; the database is never left unreadable.
- **synchronous=FULL**: each commit is fsynced to the WAL before
  :meth:`HistoryStore.store_results` returns, so a stored session also
  survives a power cut or OS crash, not only a killed process (``NORMAL``
  would keep the file consistent but could lose the last few commits to a
  power cut). Sessions arrive a few per hour, so one fsync each costs nothing
  a user could notice (about a millisecond on an SSD).
- **busy timeout** (:data:`BUSY_TIMEOUT_S`): two quietland processes writing
  at once (an ``import`` while a live session ends) wait for each other
  instead of failing.
- **schema version** in ``meta``, upgraded at open by :data:`MIGRATIONS`, one
  transaction per step; a database from a newer quietland is refused with a
  sentence naming the file, never modified.

Standard library only (sqlite3, dataclasses): no numpy, no UI.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shlex
import sqlite3
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .events import drill_sequence
from .names import name_key, sort_key, tidy_name, too_long
from .readiness import Progress, readiness

HISTORY_FILE = "history.sqlite3"
"""The database's file name in quietland's data directory."""
BUSY_TIMEOUT_S = 10.0
"""How long a writer waits for another process's write to finish before giving up, s."""
UNKNOWN_ATHLETE = "unknown"
"""The athlete of a session whose results name none and to which no ``--athlete`` was given."""
FORM_FADE_CUE = "form-fade"
"""The cue ``kind`` counted in a session's ``form_fades``."""
DRIFT_CUES = ("drift-floor", "drift-level")
"""The cue kinds counted in a session's ``drift_cues``."""


class HistoryError(Exception):
    """The history cannot be read or written, or a document cannot be stored; one sentence for the user."""


def history_path() -> Path:
    """``history.sqlite3`` in quietland's data directory (``$QUIETLAND_HOME`` overrides it)."""
    from .recorder import data_dir  # lazily: recorder imports numpy, history needs only the path

    return data_dir() / HISTORY_FILE


# ------------------------------------------------------------------ schema and migrations
def _create_v1(conn: sqlite3.Connection) -> None:
    """Version 0 (an empty file) to 1: the tables and the indexes one athlete's history needs."""
    for statement in _V1_SCHEMA:
        conn.execute(statement)


_V1_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE athletes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE)",
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        athlete_id INTEGER NOT NULL REFERENCES athletes(id),
        drill TEXT NOT NULL,
        started_at TEXT NOT NULL,
        started_unix REAL NOT NULL,
        ended_at TEXT,
        complete INTEGER NOT NULL,
        duration_s REAL,
        sample_rate INTEGER,
        source_file TEXT,
        results_sha256 TEXT NOT NULL UNIQUE,
        calibrated INTEGER NOT NULL,
        profile_name TEXT,
        quiet_db REAL,
        normal_db REAL,
        reps INTEGER NOT NULL,
        sets INTEGER NOT NULL,
        cadence_per_min REAL,
        interval_cv REAL,
        median_loudness_db REAL,
        median_impact_db REAL,
        median_score REAL,
        double_contacts INTEGER NOT NULL,
        form_fades INTEGER NOT NULL,
        quietland_version TEXT,
        stored_at TEXT NOT NULL
    )""",
    "CREATE INDEX sessions_by_athlete ON sessions (athlete_id, started_unix)",
    "CREATE INDEX sessions_by_athlete_drill ON sessions (athlete_id, drill, started_unix)",
    "CREATE INDEX sessions_by_time ON sessions (started_unix)",
    """CREATE TABLE sets (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        reps INTEGER NOT NULL,
        start_s REAL,
        end_s REAL,
        cadence_per_min REAL,
        interval_cv REAL,
        median_loudness_db REAL,
        PRIMARY KEY (session_id, number)
    ) WITHOUT ROWID""",
    """CREATE TABLE reps (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        set_number INTEGER,
        t_s REAL,
        interval_ms REAL,
        loudness_db REAL,
        impact_db REAL,
        score REAL,
        double_contact INTEGER,
        ramp_in INTEGER,
        inferred INTEGER,
        PRIMARY KEY (session_id, number)
    ) WITHOUT ROWID""",
)
"""Version 1 of the schema. ``started_unix`` (s since 1970 UTC) orders sessions whatever their UTC offset;
``started_at`` keeps the local time as recorded."""

Migration = Callable[[sqlite3.Connection], None]
"""One schema step: takes the database from version N to N+1 inside an open transaction (no COMMIT)."""
def _add_drift_cues_v2(conn: sqlite3.Connection) -> None:
    """Version 1 to 2: ``sessions.drift_cues``, the calibration drift cues a session raised (NULL for the sessions
    stored before: not known), so that the readiness verdict can leave out scores its own cue called dishonest."""
    conn.execute("ALTER TABLE sessions ADD COLUMN drift_cues INTEGER")


def _sessions_by_start_v3(conn: sqlite3.Connection) -> None:
    """Version 2 to 3: a session is stored once, found by its own start; athletes' names are matched canonically.

    - ``sessions.session_start``: the start of the live session a row is (its results' ``started_at``, or for the
      analysis of its recording the ``session_started_at`` it names), as stored; NULL for a plain analysis, dated by
      a file's time. Rows stored before: their ``started_at`` when it is to the millisecond, as a live session
      writes it (else NULL: a file's time, to the second).
    - Athletes whose names are one under :func:`name_key` (every letter's case, and accents however they were
      typed; version 2 compared with SQLite's NOCASE, A-Z only, so 'Émile' and 'émile' could be two athletes with
      half the sessions each) become one, under the spelling stored first; names are stored in Unicode NFC.
    - The rows of one session (under two spellings, or two complete copies version 2 kept as two sessions) become
      one, as :func:`_keep_one_copy` keeps.
    """
    conn.execute("ALTER TABLE sessions ADD COLUMN session_start TEXT")
    conn.execute("UPDATE sessions SET session_start = started_at WHERE started_at LIKE '%T__:__:__.%'")
    _one_athlete_per_name(conn)
    _one_copy_per_session(conn)
    conn.execute("DELETE FROM athletes WHERE id NOT IN (SELECT athlete_id FROM sessions)")
    conn.execute("CREATE INDEX sessions_by_start ON sessions (session_start)")


def _one_athlete_per_name(conn: sqlite3.Connection) -> None:
    """Athletes whose names are one under :func:`name_key` become one, under the spelling stored first (their
    sessions joined); every name is stored as :func:`_stored_spelling` says."""
    first: dict[str, int] = {}
    renames: list[tuple[str, int]] = []
    for athlete_id, name in conn.execute("SELECT id, name FROM athletes ORDER BY id").fetchall():
        key = name_key(name)
        if key in first:
            conn.execute("UPDATE sessions SET athlete_id = ? WHERE athlete_id = ?", (first[key], athlete_id))
            conn.execute("DELETE FROM athletes WHERE id = ?", (athlete_id,))
        else:
            first[key] = athlete_id
            spelling = _stored_spelling(name)
            if spelling != name:
                renames.append((spelling, athlete_id))
    conn.executemany("UPDATE athletes SET name = ? WHERE id = ?", renames)


def _stored_spelling(name: str) -> str:
    """How an athlete's name is stored: as :func:`tidy_name` reads it, and ``unknown``, the sessions that name no
    athlete, in that one spelling (not a full-width 'ｕｎｋｎｏｗｎ', which :func:`name_key` reads as it)."""
    return UNKNOWN_ATHLETE if name_key(name) == UNKNOWN_ATHLETE else tidy_name(name) or name


def _invisible_characters_v4(conn: sqlite3.Connection) -> None:
    """Version 3 to 4: names are read without their invisible characters (a zero-width space, a direction mark;
    2026-12-06): 'Jo\u200bhn', stored beside 'John' as another athlete, now finds John, so the two become one (as
    version 3 joined spellings), under the spelling stored first; a name that held such a character is stored
    without it. The rows of one live session under both become one, as :func:`_keep_one_copy` keeps."""
    _names_read_anew(conn)


def _compatibility_forms_v5(conn: sqlite3.Connection) -> None:
    """Version 4 to 5: names are matched without their compatibility forms, and without a space between two
    Chinese, Japanese or Korean letters (2026-12-06): 'Ｍａｒｙ', typed in full-width letters beside 'Mary', is
    Mary, and '王 芳' is '王芳', so each two become one (as version 3 joined spellings), under the spelling stored
    first; the rows of one live session under both become one, as :func:`_keep_one_copy` keeps."""
    _names_read_anew(conn)


def _names_read_anew(conn: sqlite3.Connection) -> None:
    """After :func:`name_key` changed: the athletes it now reads as one name become one
    (:func:`_one_athlete_per_name`), and so do the copies of one session that were under them."""
    _one_athlete_per_name(conn)
    _one_copy_per_session(conn)


def _one_copy_per_session(conn: sqlite3.Connection) -> None:
    """Of every live session stored more than once (one ``session_start``), the row :func:`_keep_one_copy` keeps."""
    for (start,) in conn.execute(
        "SELECT session_start FROM sessions WHERE session_start IS NOT NULL GROUP BY session_start HAVING COUNT(*) > 1"
    ).fetchall():
        _keep_one_copy(conn, start)


def _keep_one_copy(conn: sqlite3.Connection, start: str) -> None:
    """Of the rows of the session that started at ``start`` (``session_start``), keep the one an import keeps now: a
    complete one, an analysis of the recording first (its results file is not the session's own, named
    ``quietland-YYYYmmdd-HHMMSS[-N].json``), the one stored last first; else the longest incomplete one. It stays
    with an athlete a copy was put under rather than ``unknown``."""
    rows = conn.execute(
        "SELECT s.id, s.athlete_id, a.name, s.complete, s.source_file, s.stored_at, s.duration_s FROM sessions s "
        "JOIN athletes a ON a.id = s.athlete_id WHERE s.session_start = ?", (start,),
    ).fetchall()

    def own_results(source: str | None) -> bool:
        return source is not None and re.search(r"quietland-\d{8}-\d{6}(-\d+)?\.json$", source) is not None

    # (greatest first: complete; an analysis; stored last; else longest)
    rows.sort(reverse=True, key=lambda r: (bool(r[3]), bool(r[3]) and not own_results(r[4]),
                                           (r[5] or "") if r[3] else "", 0.0 if r[3] else (r[6] or 0.0), r[0]))
    kept = rows[0]
    conn.executemany("DELETE FROM sessions WHERE id = ?", [(r[0],) for r in rows[1:]])
    named = [r for r in rows[1:] if name_key(r[2]) != UNKNOWN_ATHLETE]
    if name_key(kept[2]) == UNKNOWN_ATHLETE and named:
        conn.execute("UPDATE sessions SET athlete_id = ? WHERE id = ?", (named[0][1], kept[0]))


MIGRATIONS: list[Migration] = [
    _create_v1, _add_drift_cues_v2, _sessions_by_start_v3, _invisible_characters_v4, _compatibility_forms_v5,
]
"""``MIGRATIONS[n]`` upgrades version n to n+1; the schema this code writes is ``len(MIGRATIONS)``.
Append a function to change the schema; never edit a released one."""


def schema_version_known() -> int:
    """The newest schema version this code can read and write."""
    return len(MIGRATIONS)


def _read_version(conn: sqlite3.Connection, path: Path) -> int:
    """The database's ``meta.schema_version``; 0 for an empty database. Raises :class:`HistoryError`."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        if tables:
            raise HistoryError(f"'{path}' is an SQLite database but not a quietland history (it has no meta table).")
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise HistoryError(f"'{path}' has no valid schema_version; it is not a quietland history.") from None


def _refuse_newer(version: int, path: Path) -> None:
    """Raise :class:`HistoryError` when ``version`` is newer than this code reads."""
    if version > schema_version_known():
        raise HistoryError(
            f"'{path}' was written by a newer quietland (history schema version {version}; this one reads up "
            f"to {schema_version_known()}); upgrade quietland to read it."
        )


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the database up to :func:`schema_version_known`, one transaction per step; return the version.

    Each step re-reads the version under the write lock, so two processes
    opening an old database at once upgrade it once. A step that fails is
    rolled back whole (the database stays at the version before it) and
    raised as :class:`HistoryError`. A database newer than the code is
    refused, untouched.
    """
    known = schema_version_known()
    version = _read_version(conn, path)
    while True:
        _refuse_newer(version, path)
        if version == known:
            return version
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _read_version(conn, path)
            if version < known:
                MIGRATIONS[version](conn)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(version + 1),),
                )
                version += 1
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise HistoryError(f"'{path}' could not be upgraded to history schema version {version + 1}: {exc}.") from None
        except BaseException:
            conn.execute("ROLLBACK")
            raise


# ------------------------------------------------------------------ values handed out
@dataclass(frozen=True)
class SessionRow:
    """One stored session: its summary figures (no reps)."""

    id: int
    """Row id in the database."""
    athlete: str
    """Who performed it."""
    drill: str
    """The drill; for a session whose drill was changed, every drill it had in order, joined by ``+``."""
    started_at: str
    """Start time, ISO 8601 with UTC offset (local time as recorded; a plain ``analyze`` document: its file's time)."""
    ended_at: str | None
    """End time, ISO 8601, or None when unknown."""
    complete: bool
    """False for a live session's results saved before it ended (a killed session)."""
    duration_s: float | None
    """Audio analysed, s."""
    sample_rate: int | None
    """Sample rate of the recording, Hz."""
    source_file: str | None
    """Where the results came from: the results JSON imported, or the recording's name for a live session."""
    calibrated: bool
    """True when the reps were scored against a calibrated profile (the athlete's own baseline)."""
    profile_name: str | None
    """Name of the profile scored against."""
    quiet_db: float | None
    """The profile's quiet anchor, dB re full scale."""
    normal_db: float | None
    """The profile's normal anchor (the baseline), dB re full scale."""
    reps: int
    """Reps counted."""
    sets: int
    """Sets."""
    cadence_per_min: float | None
    """Cadence from the median interval over all sets, contacts per minute."""
    interval_cv: float | None
    """Coefficient of variation of the intervals after ramp-in, ratio (0.05 = 5%)."""
    median_loudness_db: float | None
    """Median rep loudness (20 ms RMS), dB re full scale."""
    median_impact_db: float | None
    """Median rep impact level (what the score uses), dB re full scale."""
    median_score: float | None
    """Median score over the scored reps, 0-100."""
    double_contacts: int
    """Reps flagged as double contacts."""
    form_fades: int
    """Form-fade cues raised (sets ended with landings getting louder)."""
    drift_cues: int | None = None
    """Calibration drift cues raised (the room's floor or the landings' level far from the profile's: its scores
    do not rest on this set-up's baseline); None for a session stored before the history counted them."""

    @property
    def own_baseline(self) -> bool:
        """Scored against the athlete's own profile: a calibrated one named as the athlete (any case, any way of
        typing an accent). Without a name (the athlete ``unknown``) or a profile name (not kept), any calibrated
        profile counts: whose it was cannot be told."""
        if not self.calibrated:
            return False
        if not self.profile_name or name_key(self.athlete) == UNKNOWN_ATHLETE:
            return True
        return name_key(self.profile_name) == name_key(self.athlete)

    @property
    def vs_baseline_db(self) -> float | None:
        """Median impact level minus the profile's normal anchor, dB (negative: quieter than usual);
        None when uncalibrated (a generic baseline says nothing about this athlete) or unknown."""
        if not self.calibrated or self.median_impact_db is None or self.normal_db is None:
            return None
        return self.median_impact_db - self.normal_db

    @property
    def double_contact_share(self) -> float | None:
        """Double contacts over reps, ratio; None without reps."""
        return self.double_contacts / self.reps if self.reps else None


_SESSION_COLUMNS = tuple(f.name for f in fields(SessionRow) if f.name not in ("id", "athlete"))
"""``sessions`` columns read into a :class:`SessionRow` (after ``id`` and the athlete's name)."""


_COPIES = ("SELECT s.id, s.athlete_id, a.name, s.drill, s.started_at, s.reps, s.sets, s.complete, s.duration_s, "
           "s.started_unix, s.ended_at FROM sessions s JOIN athletes a ON a.id = s.athlete_id ")
"""The stored rows an import weighs as copies of the session it brings, up to their WHERE: id, athlete id, athlete,
drill, start, reps, sets, complete, length, start in seconds, end."""


@dataclass(frozen=True)
class StoredSession:
    """What :meth:`HistoryStore.store_results` added."""

    id: int
    """Row id of the new session."""
    athlete: str
    """The athlete it was stored under."""
    drill: str
    """Its drill."""
    started_at: str
    """Its start time, ISO 8601."""
    reps: int
    """Reps stored."""
    sets: int
    """Sets stored."""
    replaced: bool
    """True when it replaced an earlier, incomplete copy of the same live session."""
    reanalysed: bool = False
    """True when it replaced the stored session of the same recording (see :meth:`HistoryStore.store_results`)."""
    new_athlete: bool = False
    """True when its athlete had no session before (a new name: a misspelt one shows here)."""
    moved_from: str | None = None
    """The athlete it was stored under before, when it was already stored and named for another athlete now
    (see :meth:`HistoryStore.store_results`); else None."""


@dataclass(frozen=True)
class ImportOutcome:
    """What happened to one path given to :meth:`HistoryStore.import_paths`."""

    path: str
    """The path as given."""
    status: str
    """``stored``, ``replaced`` (an incomplete copy of the session was replaced), ``reanalysed`` (an earlier analysis
    of the same recording was replaced), ``moved`` (already stored, under another athlete than the one named now:
    moved to that one), ``already`` (already in the
    history: nothing done), ``empty`` (an incomplete live session with no rep, left by a session stopped or killed
    before its first rep: nothing done, as a live session with no rep is not stored) or ``failed``."""
    sentence: str
    """One sentence saying what happened (for ``failed``: why, naming the file)."""
    session: StoredSession | None = None
    """The session stored (``stored``/``replaced``), else None."""


@dataclass(frozen=True)
class ImportReport:
    """Outcome of importing several files, in the order given."""

    outcomes: tuple[ImportOutcome, ...]
    """One per path."""

    def count(self, status: str) -> int:
        """How many outcomes have ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> int:
        """Files that could not be imported."""
        return self.count("failed")


# ------------------------------------------------------------------ reading a results document (pure)
def _number(value: Any) -> float | None:
    """A finite JSON number as float, else None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _flag(value: Any) -> int | None:
    """A JSON boolean as 1/0, else None."""
    return int(value) if isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def results_sha256(doc: dict[str, Any]) -> str:
    """SHA-256 of the document's canonical JSON (sorted keys, no spaces): the same results give the same digest."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _digest(doc: dict[str, Any], where: str) -> str:
    try:
        return results_sha256(doc)
    except (TypeError, ValueError) as exc:
        raise HistoryError(f"{where} holds a value JSON cannot hold ({exc}).") from None


@dataclass(frozen=True)
class ParsedResults:
    """A results document reduced to the rows the database stores."""

    athlete: str
    """Who performed the session."""
    athlete_given: bool
    """True when ``athlete`` was named by the caller (``import --athlete``), not taken from the document."""
    named_athlete: str | None
    """The athlete the document itself names, if any."""
    started_at: str
    """Start time, ISO 8601 with UTC offset."""
    started_unix: float
    """The same, seconds since 1970 UTC."""
    own_start: bool
    """True when the document carries its own ``started_at`` (a recorded session), False when it was supplied."""
    session_start: str | None
    """For the analysis of a recording quietland made (``analyze --json`` of its WAV): the ``started_at`` of the
    session it is (``session_started_at``), as stored; else None."""
    session: dict[str, Any]
    """Values of the ``sessions`` columns other than ids and the athlete."""
    sets: tuple[tuple[Any, ...], ...]
    """``sets`` rows: number, reps, start_s, end_s, cadence_per_min, interval_cv, median_loudness_db."""
    reps: tuple[tuple[Any, ...], ...]
    """``reps`` rows: number, set_number, t_s, interval_ms, loudness_db, impact_db, score, double_contact, ramp_in,
    inferred."""


_TO_THE_MS = re.compile(r"T\d\d:\d\d:\d\d[.,]\d")
"""Matches a ``started_at`` written to a fraction of a second (as a live session writes it, ``...T07:30:05.250``,
and ``...T07:30:05.000`` on a whole second): such a start is kept to the millisecond."""


def _start_time(text: str, where: str) -> tuple[str, float]:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HistoryError(f"{where} has a started_at that is not an ISO 8601 time ({text!r}).") from None
    moment = moment.astimezone() if moment.tzinfo is None else moment
    # to the millisecond when given so: two sessions started in the same second are two sessions (and a session
    # that started on a whole second, written ...T12:04:25.000+00:00, is stored so, not as ...T12:04:25+00:00)
    return moment.isoformat(timespec="milliseconds" if _TO_THE_MS.search(text) else "seconds"), moment.timestamp()


def _drills_label(first: str, changes: Any) -> str:
    """The drill a session is stored under: its drill, or for a session whose drill was changed every drill in
    order, joined by '+' (``pogo+line-hops``), so its reps count toward no single drill's verdict."""
    named = [_text(c.get("drill")) for c in changes if isinstance(c, dict)] if isinstance(changes, list) else []
    return "+".join(drill_sequence(first, (name for name in named if name is not None)))


def parse_results(
    doc: Any, *, athlete: str | None = None, fallback_start: datetime | None = None, source_file: str | None = None,
    where: str = "The results document",
) -> ParsedResults:
    """The rows to store for results document ``doc`` (the ``analyze --json`` document, or a session's results JSON).

    The athlete is ``athlete`` when given (a name typed wrong at ``live --athlete`` is put right so), else the
    document's own ``athlete``, else ``unknown``; the start time its ``started_at``, else ``fallback_start``
    (e.g. the file's modification time), else now. Optional figures that are
    missing or not numbers become None (NULL). Raises :class:`HistoryError`
    (one sentence starting with ``where``) when ``doc`` is not a results document.
    """
    if not isinstance(doc, dict):
        raise HistoryError(f"{where} is not a quietland results document (it is not a JSON object).")
    reps, sets = doc.get("reps"), doc.get("sets", [])
    if not isinstance(reps, list) or not all(isinstance(r, dict) for r in reps):
        raise HistoryError(f"{where} is not a quietland results document (it has no list of reps).")
    if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
        raise HistoryError(f"{where} is not a quietland results document (its sets are not a list).")
    drill = _text(doc.get("drill"))
    if drill is None:
        raise HistoryError(f"{where} is not a quietland results document (it names no drill).")
    drill = _drills_label(drill, doc.get("drill_changes"))
    named, given = tidy_name(doc.get("athlete")), tidy_name(athlete)
    who = given or named or UNKNOWN_ATHLETE
    if (problem := too_long(who)) is not None:  # (as on the command line: live's --athlete, import's, rename's)
        raise HistoryError(f"{where} names its athlete with more than a name holds ({problem}); give the name to "
                           "store it under with --athlete NAME.")
    own = _text(doc.get("started_at"))
    session = _session_start(doc) if own is None else None
    session_start = None
    if own is not None:
        started_at, started_unix = _start_time(own, where)
    elif session is not None:  # (the analysis of a session's recording: dated as the session)
        started_at, started_unix = session
        session_start = _session_key(_text(doc.get("session_started_at")))
    else:
        moment = (fallback_start or datetime.now()).astimezone()
        started_at, started_unix = moment.isoformat(timespec="seconds"), moment.timestamp()
    summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    calibration = doc.get("calibration") if isinstance(doc.get("calibration"), dict) else {}
    profile = doc.get("profile") if isinstance(doc.get("profile"), dict) else {}
    anchors = profile.get("anchors") if isinstance(profile.get("anchors"), dict) else {}
    impacts = [v for v in (_number(r.get("impact_db")) for r in reps) if v is not None]
    cues = doc.get("cues") if isinstance(doc.get("cues"), list) else []
    complete = doc.get("complete")
    session = {
        "drill": drill,
        "started_at": started_at,
        "started_unix": started_unix,
        "ended_at": _text(doc.get("ended_at")),
        "complete": 0 if complete is False else 1,
        "duration_s": _number(doc.get("duration_s")),
        "sample_rate": _integer(doc.get("sample_rate")),
        "source_file": source_file or _text(doc.get("file")),
        "results_sha256": _digest(doc, where),
        "calibrated": 1 if (calibration.get("calibrated", profile.get("calibrated")) is True) else 0,
        "profile_name": _text(calibration.get("name")) or _text(profile.get("name")),
        "quiet_db": _number(calibration.get("quiet_db", anchors.get("quiet_db"))),
        "normal_db": _number(calibration.get("normal_db", anchors.get("normal_db"))),
        "reps": len(reps),
        "sets": len(sets),
        "cadence_per_min": _number(summary.get("cadence_per_min")),
        "interval_cv": _number(summary.get("interval_cv")),
        "median_loudness_db": _number(summary.get("median_loudness_db")),
        "median_impact_db": round(statistics.median(impacts), 2) if impacts else None,
        "median_score": _number(summary.get("median_score")),
        "double_contacts": sum(1 for r in reps if r.get("double_contact") is True),
        "form_fades": sum(1 for c in cues if isinstance(c, dict) and c.get("kind") == FORM_FADE_CUE),
        "drift_cues": sum(1 for c in cues if isinstance(c, dict) and c.get("kind") in DRIFT_CUES),
        "quietland_version": _text(doc.get("quietland_version")),
        "session_start": _session_key(own) if own is not None else session_start,
    }
    set_rows = tuple(
        (i, _integer(s.get("reps")) or 0, _number(s.get("start_s")), _number(s.get("end_s")),
         _number(s.get("cadence_per_min")), _number(s.get("interval_cv")), _number(s.get("median_loudness_db")))
        for i, s in enumerate(sets, 1)
    )
    rep_rows = tuple(
        (i, _integer(r.get("set")), _number(r.get("t_s")), _number(r.get("interval_ms")), _number(r.get("loudness_db")),
         _number(r.get("impact_db")), _number(r.get("score")), _flag(r.get("double_contact")), _flag(r.get("ramp_in")),
         _flag(r.get("inferred")))
        for i, r in enumerate(reps, 1)
    )
    return ParsedResults(who, given is not None, named, started_at, started_unix, own is not None, session_start,
                         session, set_rows, rep_rows)


def _session_key(text: str | None) -> str | None:
    """A live session's identity in the history (``sessions.session_start``): its start to the millisecond, from a
    ``started_at`` written so (as a live session writes it, ``...T07:30:05.250+01:00``); None for a start to the
    second only, which two sessions may share."""
    if text is None or not _TO_THE_MS.search(text):
        return None
    moment = datetime.fromisoformat(text)
    return (moment.astimezone() if moment.tzinfo is None else moment).isoformat(timespec="milliseconds")


def _session_start(doc: dict[str, Any]) -> tuple[str, float] | None:
    """The ``session_started_at`` of the analysis of a recording quietland made, as its session's own copy is stored
    (and in seconds since 1970); None when it has none, or one that is no time (then it is dated as any analysis)."""
    text = _text(doc.get("session_started_at"))
    try:
        return None if text is None else _start_time(text, "")
    except (HistoryError, OverflowError, OSError, ValueError):  # (ValueError: a year no computer's clock holds)
        return None


def _recorded_at(source: Path, doc: Any) -> tuple[datetime | None, bool]:
    """When the recording a results document without ``started_at`` was made of was last written, and whether that
    is known: its ``recorded_at`` (``analyze --json`` writes the recording's modification time there), else the
    modification time of the file it names (``file``: beside the results file, or as named); else, not known, the
    results file's own (when the analysis was saved, which may be days later), or None when that cannot be read."""
    own = _text(doc.get("recorded_at")) if isinstance(doc, dict) else None
    if own is not None:
        try:
            moment = datetime.fromisoformat(own)
            return (moment.astimezone() if moment.tzinfo is None else moment), True
        except (ValueError, OverflowError, OSError):
            pass  # (not a time, or none this computer can hold: dated as a document without it)
    named = doc.get("file") if isinstance(doc, dict) else None
    places = [source.parent / Path(named).name, Path(named)] if isinstance(named, str) and named else []
    for path in (*places, source):
        try:
            if path.is_file():
                return datetime.fromtimestamp(path.stat().st_mtime), path != source
        except (OSError, ValueError, OverflowError):
            continue
    return None, False


def results_file_for(path: str | os.PathLike[str]) -> Path:
    """The results JSON a path stands for: the path itself, or for a recording (``.wav``, ``.flac``) the JSON beside it."""
    path = Path(path)
    return path.with_suffix(".json") if path.suffix.lower() in (".wav", ".flac") else path


def read_results_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Path]:
    """The results document a path stands for, and the JSON file read. Raises :class:`HistoryError` (one sentence)."""
    given = Path(path)
    file = results_file_for(given)
    try:
        if file.exists() and not file.is_file() and not file.is_dir():  # (reading a pipe waits for a writer)
            raise HistoryError(f"'{file}' is not a file but a pipe or a device; save the results to a file first.")
        text = file.read_text(encoding="utf-8-sig")  # (a byte-order mark, as some Windows editors write, is no error)
    except FileNotFoundError:
        if file != given:
            raise HistoryError(f"'{given}' has no results JSON beside it ('{file.name}'); 'quietland analyze "
                               f"{given} --drill DRILL --json > {file}' makes one (with --profile NAME, scored "
                               "against a calibration).") from None
        raise HistoryError(f"'{file}' does not exist.") from None
    except IsADirectoryError:
        raise HistoryError(f"'{file}' is a folder; give the results files in it (e.g. '{file}/*.json').") from None
    except UnicodeDecodeError:
        raise HistoryError(f"'{file}' is not UTF-8 text (a results JSON is; a copy saved as UTF-16, as Windows "
                           "PowerShell's '>' writes, is not), so it cannot be read as results.") from None
    except OSError as exc:
        raise HistoryError(f"'{file}' cannot be read: {exc.strerror or exc}.") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise HistoryError(f"'{file}' is JSON nested too deeply to be a quietland results document.") from None
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise HistoryError(f"'{file}' is not valid JSON{where}: it is damaged or cut short.") from None
    if not isinstance(doc, dict):
        raise HistoryError(f"'{file}' is not a quietland results document (it is not a JSON object).")
    return doc, file


# ------------------------------------------------------------------ the store
class HistoryStore:
    """The history database: open with :meth:`open`, use as a context manager (closes on exit).

    One instance is one connection; use it from one thread. Several
    processes may use the same file at once (WAL; writers wait up to
    :data:`BUSY_TIMEOUT_S` for each other).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, schema_version: int) -> None:
        self._conn = conn
        self.path = path
        """The database file."""
        self.schema_version = schema_version
        """The database's schema version (after migrations: :func:`schema_version_known`)."""

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> HistoryStore:
        """Open (creating it and its folder if needed) and upgrade the database at ``path``
        (default: :func:`history_path`). Raises :class:`HistoryError` naming the file."""
        path = Path(path) if path is not None else history_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"The history folder '{path.parent}' cannot be created: {exc.strerror or exc}.") from None
        if path.is_dir():
            raise HistoryError(f"'{path}' is a folder, not a history database.")
        conn = None
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            # not a quietland history, or a newer one: refused before anything (even the journal mode) is written
            _refuse_newer(_read_version(conn, path), path)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise HistoryError(f"'{path}' cannot use a write-ahead log (journal mode stays {mode}).")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            version = migrate(conn, path)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise HistoryError(f"'{path}' cannot be opened as a quietland history ({exc}): if it is a damaged "
                               "history, move it aside (quietland then starts a new one) or put back a copy.") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return cls(conn, path, version)

    def close(self) -> None:
        """Close the connection (a no-op when closed)."""
        self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ writing
    def store_results(
        self, doc: dict[str, Any], *, athlete: str | None = None, source: str | os.PathLike[str] | None = None,
        fallback_start: datetime | None = None,
    ) -> StoredSession | None:
        """Store one session's results document in one transaction; None when it is already stored.

        ``athlete`` names the athlete (over the one the document names; else that one, else ``unknown``).
        ``source`` is the results file it came from (kept as ``source_file``; its modification time dates a
        document without ``started_at``, ``session_started_at`` or ``recorded_at`` unless ``fallback_start`` is
        given). The rules (README, ``quietland import``):

        - the same document (SHA-256 of its canonical JSON) is already stored; with ``athlete`` naming another
          athlete, it moves to them;
        - a live session is stored once, found by its start to the millisecond (``sessions.session_start``)
          wherever it is stored (a start to the second only: with the athlete too): a complete copy stands against
          any other document with its own ``started_at`` (already stored; moved with ``athlete``); a complete or
          longer incomplete copy replaces incomplete ones, staying with the athlete they were put under unless that
          is ``unknown`` and the document names one;
        - an analysis (no ``started_at``) replaces the session it names (``session_started_at``) wherever stored,
          and a session of the same athlete, drill, sample rate, length and rep times, keeping its start.

        A crash at any point leaves the whole session stored or none of it.
        Raises :class:`HistoryError` for a document that is not results, or a
        database that cannot be written.
        """
        where = f"'{source}'" if source is not None else "The results document"
        if source is not None and fallback_start is None and not (isinstance(doc, dict) and doc.get("started_at")):
            fallback_start, _ = _recorded_at(Path(source), doc)
        try:
            parsed = parse_results(
                doc, athlete=athlete, fallback_start=fallback_start,
                source_file=None if source is None else str(Path(source).resolve()), where=where,
            )
            return self._insert(parsed)
        except sqlite3.Error as exc:
            if type(exc) is sqlite3.DatabaseError:  # a damaged database (SQLITE_CORRUPT, NOTADB): not this file's
                raise
            raise HistoryError(f"{where} could not be stored in the history '{self.path}': {exc}.") from None
        except (OverflowError, ValueError, RecursionError) as exc:  # (a number or a date no session has)
            raise HistoryError(f"{where} holds a value no quietland session has ({exc}); it was not stored.") from None

    def _insert(self, parsed: ParsedResults) -> StoredSession | None:
        conn = self._conn
        with self._transaction():
            s = parsed.session
            there = conn.execute(
                "SELECT sessions.id, athlete_id, name, drill, started_at, reps, sets FROM sessions JOIN athletes "
                "ON athletes.id = athlete_id WHERE results_sha256 = ?", (s["results_sha256"],),
            ).fetchone()
            # the stored rows of this live session (one, but for a history's incomplete copies): wherever stored, by
            # its start to the millisecond; a start to the second only (which two sessions may share), the athlete's
            order = " ORDER BY s.complete DESC, s.duration_s DESC, s.id"
            copies = []
            if s["session_start"] is not None:
                copies = conn.execute(_COPIES + "WHERE s.session_start = ?" + order, (s["session_start"],)).fetchall()
            elif parsed.own_start and (found := self._athlete_row(parsed.athlete)) is not None:
                copies = conn.execute(_COPIES + "WHERE s.athlete_id = ? AND s.started_at = ?" + order,
                                      (found[0], parsed.started_at)).fetchall()
            if there is None and parsed.own_start and copies and (copies[0][7] or (
                    not s["complete"] and (copies[0][8] or 0.0) > (s["duration_s"] or 0.0))):
                # a complete copy is the session: nothing with its own start replaces it (an analysis of its
                # recording stands); nor does an incomplete copy shorter than one already there replace that
                there = copies[0][:7]
            if there is not None:  # already stored: with --athlete, it moves to the athlete named
                return self._move(there, parsed.athlete) if parsed.athlete_given else None  # (no move: nothing written)
            replaced = reanalysed = False
            stays_with = None  # (an athlete the session is stored under, whom it stays with when none is named)
            if not parsed.own_start:  # an analysis: also a session of the same athlete with the same reps (one stored
                # from a plain analysis of the recording, or before sessions were found by their start)
                copies += [row for row in self._same_recording(parsed) if row[0] not in {c[0] for c in copies}]
            if copies:
                if s["session_start"] is None:  # (a plain analysis of a session's recording: the session it is)
                    s["session_start"] = conn.execute("SELECT session_start FROM sessions WHERE id = ?",
                                                      (copies[0][0],)).fetchone()[0]
                if parsed.own_start:
                    replaced = True  # (incomplete copies, by a complete or longer one)
                else:
                    reanalysed = True
                    s["started_at"], s["started_unix"], ended_at = copies[0][4], copies[0][9], copies[0][10]
                    s["ended_at"] = s["ended_at"] or ended_at
                stays_with = copies[0][2]
                conn.executemany("DELETE FROM sessions WHERE id = ?", [(row[0],) for row in copies])
            # the athlete named now; else the one it is stored under (put right there, say), unless that is 'unknown'
            # and the document names one
            kept = stays_with is not None and not (parsed.named_athlete and name_key(stays_with) == UNKNOWN_ATHLETE)
            name = stays_with if kept and not parsed.athlete_given else parsed.athlete
            new_athlete = self._athlete_row(name) is None
            athlete_id, stored_name = self._athlete(name)
            moved_from = next((row[2] for row in copies if row[1] != athlete_id), None)
            for other in {row[1] for row in copies} - {athlete_id}:
                self._forget_if_unused(other)
            columns = ["athlete_id", *s, "stored_at"]
            values = [athlete_id, *s.values(), datetime.now(timezone.utc).isoformat(timespec="seconds")]
            cur = conn.execute(
                f"INSERT INTO sessions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values
            )
            session_id = cur.lastrowid
            conn.executemany("INSERT INTO sets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             ((session_id, *row) for row in parsed.sets))
            conn.executemany(
                "INSERT INTO reps (session_id, number, set_number, t_s, interval_ms, loudness_db, impact_db, score, "
                "double_contact, ramp_in, inferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((session_id, *row) for row in parsed.reps),
            )
        return StoredSession(session_id, stored_name, s["drill"], s["started_at"], s["reps"], s["sets"], replaced,
                             reanalysed, new_athlete, moved_from)

    def _move(self, there: Sequence[Any], athlete: str) -> StoredSession | None:
        """Move stored session ``there`` (id, athlete id, athlete, drill, start, reps, sets) to ``athlete`` (inside the
        caller's transaction); None when it is theirs already. An athlete left with no session is forgotten."""
        session_id, old_id, old_name, drill, started_at, reps, sets = there
        new_athlete = self._athlete_row(athlete) is None
        athlete_id, name = self._athlete(athlete)
        if athlete_id == old_id:
            return None
        self._conn.execute("UPDATE sessions SET athlete_id = ? WHERE id = ?", (athlete_id, session_id))
        self._forget_if_unused(old_id)
        return StoredSession(session_id, name, drill, started_at, reps, sets, False, new_athlete=new_athlete,
                             moved_from=old_name)

    def _forget_if_unused(self, athlete_id: int) -> None:
        """Remove an athlete left with no session (inside the caller's transaction)."""
        self._conn.execute("DELETE FROM athletes WHERE id = ? AND NOT EXISTS (SELECT 1 FROM sessions WHERE "
                           "athlete_id = ?)", (athlete_id, athlete_id))

    def _others_profile(self, stored: StoredSession) -> list[str]:
        """``["scored against eve's profile"]`` when the session was scored against a profile named as another athlete
        in the history (a profile per athlete, and the wrong one given), else nothing."""
        row = self._conn.execute("SELECT calibrated, profile_name FROM sessions WHERE id = ?", (stored.id,)).fetchone()
        if row is None or not row[0] or not row[1] or name_key(row[1]) == name_key(stored.athlete):
            return []
        other = self._athlete_row(row[1])
        return [f"scored against {other[1]}'s profile"] if other is not None else []

    def stored_as(self, doc: dict[str, Any], athlete: str | None = None) -> tuple[str, str, str] | None:
        """The athlete, drill and start of the stored session with results ``doc`` (the same SHA-256), else of the live
        session ``doc`` is a copy of (its own ``started_at``; to the second only, ``athlete``'s or the one it names),
        or None."""
        query = ("SELECT name, drill, started_at FROM sessions JOIN athletes ON athletes.id = athlete_id WHERE ")
        found = self._conn.execute(query + "results_sha256 = ?", (_digest(doc, "The results document"),)).fetchone()
        own = _text(doc.get("started_at"))
        if found is None and own is not None:
            try:
                key, start = _session_key(own), _start_time(own, "")[0]
            except (HistoryError, OverflowError, OSError, ValueError):
                return None
            who = self._athlete_row(tidy_name(athlete) or tidy_name(doc.get("athlete")) or UNKNOWN_ATHLETE)
            found = (self._conn.execute(query + "session_start = ?", (key,)).fetchone() if key is not None
                     else None if who is None
                     else self._conn.execute(query + "athlete_id = ? AND started_at = ?", (who[0], start)).fetchone())
        return found

    def _same_recording(self, parsed: ParsedResults) -> list[tuple[Any, ...]]:
        """The stored session that a plain analysis (one that names no session) is a new analysis of: the same
        athlete, drill, sample rate, length and rep times (a row of :data:`_COPIES`); empty if none."""
        s = parsed.session
        found = self._athlete_row(parsed.athlete)
        if found is None:
            return []
        times = [row[2] for row in parsed.reps]
        for row in self._conn.execute(
            _COPIES + "WHERE s.athlete_id = ? AND s.drill = ? AND s.sample_rate IS ? AND s.duration_s IS ? AND "
            "s.reps = ? ORDER BY s.id", (found[0], s["drill"], s["sample_rate"], s["duration_s"], s["reps"]),
        ):
            stored = [t for (t,) in self._conn.execute("SELECT t_s FROM reps WHERE session_id = ? ORDER BY number",
                                                       (row[0],))]
            if stored == times:
                return [row]
        return []

    def _athlete(self, name: str) -> tuple[int, str]:
        """The athlete's id and stored spelling, adding them first if new (inside the caller's transaction). Names
        ignore case (:func:`name_key`): the spelling is the one stored first."""
        found = self._athlete_row(name)
        if found is not None:
            return found
        name = _stored_spelling(name)
        self._conn.execute("INSERT INTO athletes (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
        return self._conn.execute("SELECT id, name FROM athletes WHERE name = ?", (name,)).fetchone()

    def _athlete_row(self, name: str) -> tuple[int, str] | None:
        """The id and stored spelling of athlete ``name`` (:func:`name_key`; the first stored, should a history
        written before names were compared so hold two), or None. (SQLite's NOCASE, the column's, folds only A-Z.)"""
        key = name_key(name)
        return next((row for row in self._conn.execute("SELECT id, name FROM athletes ORDER BY id")
                     if name_key(row[1]) == key), None)

    def import_paths(
        self, paths: Iterable[str | os.PathLike[str]], *, athlete: str | None = None,
        on_outcome: Callable[[ImportOutcome], None] | None = None,
    ) -> ImportReport:
        """Store the results files ``paths`` (a recording's path means the ``.json`` beside it), each on its own.

        A file that cannot be read or is not results is reported in one
        sentence and skipped; the others are still imported. A results file given twice (also through its
        recording) is imported once. ``on_outcome`` hears of each file as it is done. A damaged database
        raises ``sqlite3.DatabaseError`` (no file is to blame).
        """
        outcomes: list[ImportOutcome] = []
        seen: set[Path] = set()
        for given in paths:
            file = results_file_for(given).resolve()
            if file in seen:  # a recording and its JSON given together (rec/*): one session, imported once
                continue
            seen.add(file)
            outcomes.append(self._import_one(given, athlete))
            if on_outcome is not None:
                on_outcome(outcomes[-1])
        return ImportReport(tuple(outcomes))

    def _import_one(self, given: str | os.PathLike[str], athlete: str | None) -> ImportOutcome:
        """Store one results file; what came of it."""
        try:
            doc, file = read_results_file(given)
            if doc.get("reps") == []:  # as a live session with no rep is not stored when it ends
                what = ("a live session's copy from before its first rep (incomplete, no reps)"
                        if doc.get("complete") is False else "a session with no reps")
                return ImportOutcome(str(given), "empty", f"'{file}': left out: {what}.")
            recorded, known = _recorded_at(file, doc) if not doc.get("started_at") else (None, True)
            stored = self.store_results(doc, athlete=athlete, source=file, fallback_start=recorded)
        except HistoryError as exc:
            return ImportOutcome(str(given), "failed", str(exc))
        if stored is None:
            there = self.stored_as(doc, athlete)
            what = "" if there is None else (
                f" ({there[0]}, {there[1]}, {there[2][:16].replace('T', ' ')}; 'import --athlete NAME' moves it "
                "to another athlete)")
            return ImportOutcome(str(given), "already", f"'{file}' is already in the history{what}.")
        verb, status = "stored", "stored"
        if stored.replaced or stored.reanalysed:
            verb, status = (("replaced its incomplete copy", "replaced") if stored.replaced
                            else ("replaced the stored session of the same recording", "reanalysed"))
            if stored.moved_from is not None:
                verb += f" (stored under {stored.moved_from})"
        elif stored.moved_from is not None:
            verb, status = f"moved from {stored.moved_from}", "moved"
        named = tidy_name(doc.get("athlete"))
        notes = [
            *(["a new athlete"] if stored.new_athlete else []),
            *([f"the results name {named}"] if named and name_key(named) != name_key(stored.athlete) else []),
            *self._others_profile(stored),
        ]
        renamed = f" ({'; '.join(notes)})" if notes else ""
        dated = ""
        if status == "stored" and not known and _session_start(doc) is None:
            recording = _text(doc.get("file"))
            dated = (" It is dated by the results file's own time" + (
                f": the recording it names ('{recording}') was not found beside it or as named." if recording
                else ", as it names no recording."))
        return ImportOutcome(
            str(given), status,
            f"'{file}': {verb}: {stored.athlete}{renamed}, {stored.drill}, "
            f"{stored.started_at[:16].replace('T', ' ')}, {stored.reps} reps in {stored.sets} "
            f"set{'s' if stored.sets != 1 else ''}.{dated}",
            stored,
        )

    # ------------------------------------------------------------ putting right
    def rename_athlete(self, old: str, new: str) -> tuple[str, str, int, bool]:
        """Store every session of athlete ``old`` under ``new``, in one transaction: a misspelt name put right.

        When ``new`` is another athlete with sessions (names compared as :func:`name_key` does), ``old``'s join
        theirs, under the spelling stored; when it is ``old`` spelt otherwise (another case), that spelling is
        stored. Returns the spelling renamed, the spelling now stored (the same: nothing changed), the sessions and
        whether they joined another athlete's. Raises :class:`HistoryError` when ``old`` has no sessions, or ``new``
        is no name or ``unknown`` (where sessions that name no athlete go)."""
        spelling = tidy_name(new)
        if spelling is None:
            raise HistoryError(f"{new!r} is no name: give the athlete's name as it should be stored.")
        if name_key(spelling) == name_key(UNKNOWN_ATHLETE):
            raise HistoryError(f"'{UNKNOWN_ATHLETE}' is where sessions that name no athlete are kept, not a name to "
                               "give: give the athlete's name.")
        with self._transaction():
            found = self._athlete_row(old)
            count = 0 if found is None else self._conn.execute(
                "SELECT COUNT(*) FROM sessions WHERE athlete_id = ?", (found[0],)).fetchone()[0]
            if found is None or count == 0:
                raise HistoryError(self.missing_athlete(old))
            target = self._athlete_row(spelling)
            if target is None or target[0] == found[0]:
                self._conn.execute("UPDATE athletes SET name = ? WHERE id = ?", (spelling, found[0]))
                return found[1], spelling, count, False
            self._conn.execute("UPDATE sessions SET athlete_id = ? WHERE athlete_id = ?", (target[0], found[0]))
            self._forget_if_unused(found[0])
            return found[1], target[1], count, True

    def remove_session(
        self, athlete: str, when: str, drill: str | None = None, reps: int | None = None,
    ) -> tuple[SessionRow, int]:
        """Take out of the history the session of ``athlete`` (of ``drill``, with ``reps`` reps) that started at
        ``when``, with its sets and reps; the session taken out, and how many matched.

        ``when`` is its start as ``history`` shows it (``2026-12-06 10:15``), or to the second or millisecond, or
        as ``export`` writes it (with its UTC offset). Raises :class:`HistoryError` when none matches, or when more
        than one does and their start to the second, drill or reps tell them apart (the sentence names them). Where
        nothing does (two analyses of one recording by one quietland), the one stored last is taken. Its results
        file, if any, is not touched: importing it puts it back."""
        given = re.fullmatch(r"(\d{4}-\d\d-\d\d)[ Tt](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)(Z|[+-]\d\d:?\d\d)?", when.strip())
        if given is None:
            raise HistoryError(f"{when!r} is not a session's start: give it as 'quietland history' shows it, "
                               "e.g. '2026-12-06 10:15' (or to the second, '2026-12-06 10:15:02').")
        wanted = f"{given[1]} {given[2]}"
        offset = None if given[3] is None else "+00:00" if given[3] == "Z" else given[3][:3] + ":" + given[3][-2:]

        def started_then(row: SessionRow) -> bool:
            start = row.started_at.replace("T", " ")
            return start.startswith(wanted) and (offset is None or start.endswith(offset) or (
                offset == "+00:00" and start.endswith("Z")))

        with self._transaction():
            found = self._athlete_row(athlete)
            if found is None or not self.sessions(found[1]):
                raise HistoryError(self.missing_athlete(athlete))
            rows = self.sessions(found[1], drill)
            if not rows:
                raise HistoryError(f"{found[1]} has no {drill} sessions in the history (their drills: "
                                   f"{', '.join(self.drills(found[1]))}).")
            matches = [row for row in rows if started_then(row) and (reps is None or row.reps == reps)]
            if not matches:
                raise HistoryError(f"no session of {found[1]}{' of ' + drill if drill else ''}"
                                   f"{f' with {reps} reps' if reps is not None else ''} started at {when.strip()}; "
                                   f"'quietland history --athlete {shlex.quote(found[1])}' lists their sessions.")
            ways = ["the start to the second"] if len({row.started_at[:19] for row in matches}) > 1 else []
            ways += [] if drill or len({row.drill for row in matches}) == 1 else ["--drill"]
            ways += [] if reps is not None or len({row.reps for row in matches}) == 1 else ["--reps"]
            if ways:
                listed = "; ".join(f"{row.drill} at {row.started_at[11:19]}, {row.reps} reps" for row in matches)
                raise HistoryError(f"{len(matches)} sessions of {found[1]} started at {when.strip()} ({listed}): give "
                                   f"{' or '.join(ways)} to say which.")
            gone = max(matches, key=lambda row: row.id)  # (alike in all but when they were stored)
            self._conn.execute("DELETE FROM sessions WHERE id = ?", (gone.id,))
            self._forget_if_unused(found[0])
            return gone, len(matches)

    def missing_athlete(self, athlete: str) -> str:
        """The sentence for an athlete with no sessions, naming those who have some."""
        return (f"there are no sessions of '{athlete}' in the history '{self.path}' (athletes: "
                f"{', '.join(self.athletes()) or 'none yet'}).")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception (unless SQLite already did)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------ reading
    def athletes(self) -> list[str]:
        """Every athlete with a stored session, by name (case and accents set aside, :func:`sort_key`)."""
        return sorted((name for (name,) in self._conn.execute(
            "SELECT name FROM athletes WHERE id IN (SELECT DISTINCT athlete_id FROM sessions)"
        )), key=sort_key)

    def find_athlete(self, name: str) -> str | None:
        """The stored spelling of athlete ``name`` (case ignored, :func:`name_key`), or None."""
        row = self._athlete_row(name)
        return None if row is None else row[1]

    def drills(self, athlete: str | None = None) -> list[str]:
        """The drills with stored sessions (of ``athlete``), by name."""
        where, args = self._filter(athlete, None)
        return [d for (d,) in self._conn.execute(
            f"SELECT DISTINCT drill FROM sessions s JOIN athletes a ON a.id = s.athlete_id{where} ORDER BY drill", args
        )]

    def _filter(self, athlete: str | None, drill: str | None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if athlete is not None:
            clauses.append("a.name = ?")
            args.append(self.find_athlete(athlete) or athlete.strip())
        if drill is not None:
            clauses.append("s.drill = ?")
            args.append(drill)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def sessions(self, athlete: str | None = None, drill: str | None = None) -> list[SessionRow]:
        """Stored sessions (of ``athlete``, of ``drill``), oldest first; one query on an index, reps not read."""
        where, args = self._filter(athlete, drill)
        columns = ", ".join(f"s.{c}" for c in _SESSION_COLUMNS)
        rows = self._conn.execute(
            f"SELECT s.id, a.name, {columns} FROM sessions s JOIN athletes a ON a.id = s.athlete_id{where} "
            "ORDER BY s.started_unix, s.id",
            args,
        )
        return [_session_row(row) for row in rows]

    def progress(self, athlete: str, drill: str) -> Progress:
        """``athlete``'s sessions of ``drill``, oldest first, with the :func:`readiness` verdict."""
        rows = tuple(self.sessions(athlete, drill))
        name = rows[0].athlete if rows else athlete
        return Progress(name, drill, rows, readiness(rows))

    def session_sets(self, session_id: int) -> list[dict[str, Any]]:
        """A session's sets, as dicts with the ``sets`` columns (no ``session_id``)."""
        return self._dicts("SELECT number, reps, start_s, end_s, cadence_per_min, interval_cv, median_loudness_db "
                           "FROM sets WHERE session_id = ? ORDER BY number", (session_id,))

    def session_reps(self, session_id: int) -> list[dict[str, Any]]:
        """A session's reps, as dicts with the ``reps`` columns (no ``session_id``; flags as booleans)."""
        reps = self._dicts("SELECT number, set_number, t_s, interval_ms, loudness_db, impact_db, score, double_contact, "
                           "ramp_in, inferred FROM reps WHERE session_id = ? ORDER BY number", (session_id,))
        for rep in reps:
            for flag in ("double_contact", "ramp_in", "inferred"):
                rep[flag] = None if rep[flag] is None else bool(rep[flag])
        return reps

    def _dicts(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        cur = self._conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    # ------------------------------------------------------------ export
    def export_rows(self, athlete: str | None = None, drill: str | None = None) -> list[dict[str, Any]]:
        """One flat dict per session (:data:`EXPORT_COLUMNS`), oldest first: the CSV export."""
        return [session_to_dict(row) for row in self.sessions(athlete, drill)]

    def export_sessions(self, athlete: str | None = None, drill: str | None = None) -> Iterator[dict[str, Any]]:
        """Each session as a dict with its ``sets`` and ``reps`` lists, oldest first: the JSON export
        (a generator, so a large history is never all in memory)."""
        for row in self.sessions(athlete, drill):
            yield {**session_to_dict(row), "sets": self.session_sets(row.id), "reps": self.session_reps(row.id)}


def _session_row(row: Sequence[Any]) -> SessionRow:
    values = dict(zip(("id", "athlete", *_SESSION_COLUMNS), row))
    values["complete"] = bool(values["complete"])
    values["calibrated"] = bool(values["calibrated"])
    return SessionRow(**values)


EXPORT_COLUMNS = (
    "athlete", "drill", "started_at", "ended_at", "complete", "duration_s", "sample_rate", "reps", "sets",
    "cadence_per_min", "interval_cv", "median_loudness_db", "median_impact_db", "vs_baseline_db", "median_score",
    "double_contacts", "double_contact_share", "form_fades", "drift_cues", "calibrated", "profile_name", "quiet_db",
    "normal_db",
    "source_file",
)
"""Fields of an exported session, in order (the CSV header)."""


def session_to_dict(row: SessionRow) -> dict[str, Any]:
    """A session as the dict ``history --json`` and ``export`` write (:data:`EXPORT_COLUMNS`; derived figures rounded)."""
    values = asdict(row)
    share = row.double_contact_share
    values["vs_baseline_db"] = None if row.vs_baseline_db is None else round(row.vs_baseline_db, 2)
    values["double_contact_share"] = None if share is None else round(share, 4)
    return {name: values[name] for name in EXPORT_COLUMNS}


# ------------------------------------------------------------------ a live session's end
def store_session_on_end(
    results: str | os.PathLike[str] | dict[str, Any], athlete: str | None, *, path: str | os.PathLike[str] | None = None,
) -> str | None:
    """Add a finished live session to the history; never raises.

    ``results`` is the session's results JSON file (or its document).
    A session that counted no reps is not added. Returns None when stored
    (or nothing needed storing), else one warning sentence saying the session
    is not in the history and how to add it later.
    """
    source = None if isinstance(results, dict) else results
    _, failure = store_session(results, athlete, path=path)
    if failure is None:
        return None
    later = f" 'quietland import {source}' adds it later." if source is not None else ""
    return f"The session was not added to the training history: {failure}.{later}"


def store_session(
    results: str | os.PathLike[str] | dict[str, Any], athlete: str | None, *, source: str | os.PathLike[str] | None = None,
    path: str | os.PathLike[str] | None = None, busy_timeout_s: float = BUSY_TIMEOUT_S,
) -> tuple[StoredSession | None, str | None]:
    """Add a live session's results (a file, or its document read from ``source``) to the history; never raises.
    What was stored (None: nothing, or it was there already), and why it could not be, as a clause (None: it could).
    ``busy_timeout_s``: how long to wait for another process writing to the history."""
    try:
        if isinstance(results, dict):
            doc = results
        else:
            doc, source = read_results_file(results)
        if isinstance(doc.get("reps"), list) and not doc["reps"]:
            return None, None
        with HistoryStore.open(path, busy_timeout_s=busy_timeout_s) as store:
            return store.store_results(doc, athlete=athlete, source=source), None
    except Exception as exc:  # noqa: BLE001 - the session is saved already; the history must not end it badly
        return None, str(exc).rstrip(".") or type(exc).__name__
