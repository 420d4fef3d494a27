"""The history subcommands: ``quietland import``, ``history``, ``export``, ``rename`` and ``remove``.

Why it exists apart from :mod:`quietland.cli`: the history is its own concern
(a database, a table of sessions, terminal plots, a readiness verdict), and
keeping its command line here keeps ``cli.py`` about analysing audio.
:func:`add_history_parsers` registers the five subcommands on the main
parser; errors are raised as :class:`quietland.cli.CommandError` (imported
inside the functions, since ``cli`` imports this module), so they end in one
line ``quietland: error: ...`` and exit code 1 like every other command.
Standard library only.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import io
import json
import shlex
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from . import __version__
from .atomic import write_atomically
from .reps import DRILLS
from .history import (
    EXPORT_COLUMNS,
    HistoryError,
    HistoryStore,
    SessionRow,
    history_path,
    schema_version_known,
    session_to_dict,
    store_session_on_end,
)
from .names import athlete_argument, columns, fit, sort_key, wrap
from .readiness import progress_by_group, score_text

__all__ = ["add_history_parsers", "cmd_export", "cmd_history", "cmd_import", "cmd_remove", "cmd_rename", "sparkline", "store_session_on_end"]

HELP_WIDTH = 79
BARS = "▁▂▃▄▅▆▇█"
"""Sparkline levels, lowest to highest."""
PLOT_WIDTH = 36
"""Most sessions one plot line shows (the latest ones): with its label and its figures, 80 columns."""

_DATABASE_TEXT = (
    "The history is the SQLite database history.sqlite3 in quietland's data directory ($QUIETLAND_HOME, else "
    "$XDG_DATA_HOME/quietland, else ~/.local/share/quietland)."
)


def _fill(text: str) -> str:
    return wrap(text, HELP_WIDTH)


def add_history_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register ``import``, ``history``, ``export``, ``rename`` and ``remove`` on the main parser's subcommands."""
    p = subparsers.add_parser(
        "import",
        help="add saved session results (JSON) to the training history",
        description=_fill(
            "Add sessions to the training history from their results: the JSON a live session saves beside its "
            "recording, or the output of 'quietland analyze --json'. A recording's path (.wav or .flac) stands for "
            "the JSON beside it. A session is dated by its own start time; an 'analyze --json' document, which has "
            "none, by the recording's time it holds (written before it held one: by the modification time of the "
            "recording it names, else its own). Importing the same results again changes nothing (with --athlete "
            "naming another athlete: moves them to that one), a complete copy of a live session replaces an incomplete one saved before it "
            "ended, and a new analysis of a stored session's recording (the same reps, scored against a profile "
            "now) replaces it. A document with no reps is left out. A damaged file is reported in one "
            "sentence and skipped; the others are still imported (exit code 1 if any was skipped). Live sessions "
            "are added by themselves when they end. " + _DATABASE_TEXT
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="results JSON files, or recordings with a JSON beside them")
    p.add_argument("--athlete", metavar="NAME", type=athlete_argument,
                   help="the athlete the sessions are stored under, even where the results name another (a name "
                   "typed wrong at 'live --athlete'); a session already stored under another athlete is moved to "
                   "this one (default: the athlete the results name, else unknown)")
    p.set_defaults(func=cmd_import)

    p = subparsers.add_parser(
        "history",
        help="show progress across sessions and whether the athlete is ready to move up",
        description=_fill(
            "Show the stored sessions in a block for each athlete and drill (athletes in alphabetical order): "
            "a table of its sessions, oldest first (date, reps, sets, cadence, interval CV, median impact level "
            "and how far it sits from the calibrated baseline, median score, double contacts), a small plot per "
            "measure across them, and a verdict: ready to move up a level, or what is still missing. The verdict looks at the last 3 "
            "sessions of a drill: each calibrated, with 8+ reps, a median score of 70+, an interval CV of 6% "
            "or less and at most 10% double contacts, and landings not getting louder against the baseline "
            "(README.md states the rule). " + _DATABASE_TEXT
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_filters(p)
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--brief", action="store_true",
                       help="one line per athlete and drill: sessions, the last one's date and median score, and "
                       "the verdict in a few words (a squad at a glance)")
    shown.add_argument("--json", action="store_true",
                       help="print one JSON document (sessions and the verdicts) on stdout instead of the table and "
                       "plots")
    p.set_defaults(func=cmd_history)

    p = subparsers.add_parser(
        "export",
        help="write the training history out as CSV or JSON",
        description=_fill(
            "Write the stored sessions out, oldest first: CSV with one row per session (its summary figures; "
            "--format excel for a spreadsheet), or JSON with every session and its sets and reps. With --output the file is written whole or not at all "
            "(a temporary file renamed over it); without it, to stdout. With no history yet, the export holds no "
            "sessions (CSV: the header row only) and says so on stderr. " + _DATABASE_TEXT
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--format", required=True, choices=("csv", "excel", "json"),
                   help="csv: one row per session; excel: the same CSV for a spreadsheet (a UTF-8 byte-order mark "
                        "first, so that names with accents or in other scripts open as they are, and CRLF line "
                        "ends); json: sessions with their sets and reps")
    p.add_argument("--output", metavar="PATH", help="write to PATH (replacing it) instead of stdout")
    _add_filters(p)
    p.set_defaults(func=cmd_export)


    p = subparsers.add_parser(
        "rename",
        help="put right an athlete's name in the training history (every session of theirs)",
        description=_fill(
            "Store every session of the athlete OLD under NEW: a name typed wrong at 'live --athlete' or 'import "
            "--athlete' put right. When NEW already has sessions, OLD's join them (names are compared ignoring case "
            "and however accents were typed, as everywhere in the history); 'rename ann Ann' changes only the "
            "spelling. Calibration profiles keep their names. " + _DATABASE_TEXT
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("old", metavar="OLD", help="the name the sessions are stored under now")
    p.add_argument("new", metavar="NEW", type=athlete_argument, help="the name to store them under")
    p.set_defaults(func=cmd_rename)

    p = subparsers.add_parser(
        "remove",
        help="take one session out of the training history (its recording and results files stay)",
        description=_fill(
            "Take the session of ATHLETE that started at WHEN out of the training history, with its sets and reps "
            "(a session stored by mistake: a test, the wrong athlete's). WHEN is its start as 'quietland history' "
            "shows it ('2026-12-06 10:15'), or to the second where two started in one minute. Its recording and "
            "results files are not touched: 'quietland import' of the results puts it back, as the output says. "
            + _DATABASE_TEXT
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("athlete", metavar="ATHLETE", help="whose session it is (case ignored)")
    p.add_argument("when", metavar="WHEN", help="when it started: 'YYYY-MM-DD HH:MM', or with ':SS', or as a results "
                   "file or 'history --json' gives it (ISO 8601)")
    p.add_argument("--drill", metavar="NAME", choices=DRILLS,
                   help="its drill, where two sessions of other drills started in the same minute")
    p.add_argument("--reps", metavar="N", type=int,
                   help="its number of reps, where two sessions of one drill started in the same second")
    p.set_defaults(func=cmd_remove)


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--athlete", metavar="NAME", help="only this athlete's sessions (case ignored)")
    p.add_argument("--drill", metavar="NAME", choices=DRILLS,
                   help="only sessions of this drill, as 'quietland analyze --help' lists them")


# ------------------------------------------------------------------ errors
def _command_error(message: str) -> Exception:
    """A :class:`quietland.cli.CommandError` with exit code 1 (imported here: ``cli`` imports this module)."""
    from .cli import EXIT_FILE, CommandError

    return CommandError(message, EXIT_FILE)


def _database_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``command`` with the database's own failures as one sentence: a damaged page (the file opened, but a
    table in it is broken), or a database that cannot be written (its file or folder read-only)."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise _command_error(f"the history '{history_path()}' is being written by another process (a live "
                                     "session ending, an import) and did not come free: try again in a moment.") from None
            raise _command_error(f"the history '{history_path()}' cannot be used ({exc}): check that you may write "
                                 "to it and to its folder (the log beside it, '-wal' and '-shm', too).") from None
        except sqlite3.DatabaseError as exc:
            raise _command_error(f"the history '{history_path()}' is damaged ({exc}): move it aside (quietland then "
                                 "starts a new one) or put back a copy.") from None

    return run


def _open_existing() -> HistoryStore | None:
    """The history, or None when there is none yet (reading commands never create one)."""
    path = history_path()
    if not path.exists():
        return None
    try:
        return HistoryStore.open(path)
    except HistoryError as exc:
        raise _command_error(str(exc)) from None


def _athlete_filter(store: HistoryStore, name: str | None) -> str | None:
    """The stored spelling of ``--athlete``; an athlete with no sessions is an error listing who there is."""
    if name is None:
        return None
    found = store.find_athlete(name)
    if found is None or not store.sessions(found):
        raise _command_error(store.missing_athlete(name))
    return found


NO_HISTORY = (
    "No training history yet ({path}). 'quietland import PATH...' adds saved sessions; live sessions are added when "
    "they end."
)


# ------------------------------------------------------------------ import
@_database_errors
def cmd_import(args: argparse.Namespace) -> int:
    """``quietland import PATH...``: one line per file; exit 1 if any file could not be imported."""
    def say(outcome) -> None:  # as each file is done: an interrupted import still says what it stored
        if outcome.status == "failed":
            print(f"quietland: error: {outcome.sentence}", file=sys.stderr, flush=True)
        else:
            print(outcome.sentence, flush=True)

    try:
        with HistoryStore.open() as store:
            report = store.import_paths(args.paths, athlete=args.athlete, on_outcome=say)
    except HistoryError as exc:
        raise _command_error(str(exc)) from None
    new, replaced, empty = report.count("stored"), report.count("replaced"), report.count("empty")
    again, moved = report.count("reanalysed"), report.count("moved")
    print(f"{new} session{'s' if new != 1 else ''} added, "
          + (f"{replaced} incomplete cop{'ies' if replaced != 1 else 'y'} completed, " if replaced else "")
          + (f"{moved} moved to another athlete, " if moved else "")
          + (f"{again} new analys{'e' if again != 1 else 'i'}s of stored recordings, " if again else "")
          + f"{report.count('already')} already there, "
          + (f"{empty} empty left out, " if empty else "")
          + f"{report.failed} file{'s' if report.failed != 1 else ''} skipped; history: {store.path}")
    return 1 if report.failed else 0


# ------------------------------------------------------------------ putting right
def _change_history(nothing: str, change: Callable[[HistoryStore], Any]) -> tuple[Path, Any]:
    """The history's path and what ``change`` returned, run on it; with no history yet, an error saying there is
    ``nothing``; a :class:`HistoryError` of ``change`` as one sentence."""
    store = _open_existing()
    if store is None:
        raise _command_error(f"there is no training history yet ('{history_path()}'), so {nothing}.")
    try:
        with store:
            return store.path, change(store)
    except HistoryError as exc:
        raise _command_error(str(exc)) from None


@_database_errors
def cmd_rename(args: argparse.Namespace) -> int:
    """``quietland rename OLD NEW``: one line saying what moved."""
    path, (old, new, count, joined) = _change_history(
        "no one to rename", lambda store: store.rename_athlete(args.old, args.new))
    sessions = f"{count} session{'s' if count != 1 else ''}"
    if joined:
        print(f"{old}'s {sessions} joined {new}'s; history: {path}")
    elif old == new:
        print(f"{old} is stored as {new} already ({sessions}): nothing changed; history: {path}")
    else:
        print(f"{old} is now {new} ({sessions}); history: {path}")
    return 0


@_database_errors
def cmd_remove(args: argparse.Namespace) -> int:
    """``quietland remove ATHLETE WHEN``: the session taken out, and how to put it back."""
    _, (row, alike) = _change_history(
        "no session to remove", lambda store: store.remove_session(args.athlete, args.when, args.drill, args.reps))
    print(f"removed from the history: {row.athlete}, {row.drill}, {row.started_at[:19].replace('T', ' ')}, "
          f"{row.reps} reps in {row.sets} set{'s' if row.sets != 1 else ''}"
          + (f" (the one stored last of {alike} alike in start, drill and reps)." if alike > 1 else "."))
    source = Path(row.source_file) if row.source_file else None
    if source is not None and source.is_absolute() and source.is_file():
        print(f"To put it back: quietland import --athlete {shlex.quote(row.athlete)} {shlex.quote(str(source))}")
    elif source is not None and source.is_absolute():
        print(f"Its results file '{source}' is gone, so importing cannot put it back.")
    elif source is not None:
        print(f"It was stored by the live session that recorded '{source}', whose results were never saved to a "
              "file: an analysis of that recording, imported, puts it back.")
    return 0


# ------------------------------------------------------------------ history
@_database_errors
def cmd_history(args: argparse.Namespace) -> int:
    """``quietland history``: the table, plots and verdicts, or ``--json``."""
    store = _open_existing()
    if store is None:
        if args.json:
            _print_json(_history_document(None, args, []))
        else:
            print(NO_HISTORY.format(path=history_path()))
        return 0
    with store:
        athlete = _athlete_filter(store, args.athlete)
        rows = store.sessions(athlete, args.drill)
        drills = store.drills(athlete)
    if args.json:
        _print_json(_history_document(store.path, args, rows, athlete))
    elif not rows and args.drill is not None:
        print(_no_sessions_of(args.drill, athlete, drills))
    elif not rows:
        print(NO_HISTORY.format(path=store.path))
    elif args.brief:
        sys.stdout.write(format_brief(rows))
    else:
        sys.stdout.write(format_history(rows))
    return 0


def _no_sessions_of(drill: str, athlete: str | None, drills: Sequence[str]) -> str:
    """The sentence for a ``--drill`` with no sessions (of ``athlete``), naming the ``drills`` there are."""
    whose = f" of {athlete}" if athlete else ""
    return f"No sessions of drill '{drill}'{whose} are stored (drills stored: {', '.join(drills) or 'none'})."


def _print_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")


def _history_document(path: Path | None, args: argparse.Namespace, rows: Sequence[SessionRow],
                      athlete: str | None = None) -> dict[str, Any]:
    """The ``history --json`` document; ``athlete``: the stored spelling of ``--athlete`` (as ``export`` writes)."""
    return {
        "database": str(path if path is not None else history_path()),
        "quietland_version": __version__,
        "athlete": athlete or args.athlete,
        "drill": args.drill,
        "sessions": [session_to_dict(r) for r in rows],
        "progress": [
            {
                "athlete": p.athlete,
                "drill": p.drill,
                "sessions": len(p.sessions),
                "first_started_at": p.sessions[0].started_at,
                "last_started_at": p.sessions[-1].started_at,
                "ready": p.readiness.ready,
                "readiness": p.readiness.sentence,
                "verdict": p.readiness.short,
            }
            for p in progress_by_group(rows)
        ],
    }


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(rows: Sequence[SessionRow]) -> str:
    """One line per session of one athlete's drill (their block of :func:`format_history` names both)."""
    # (short headings, as the screen's table has: with 'cadence/min', 'impact dB' and 'vs baseline' a row took 88
    # columns; with the athlete and drill as columns, a squad's double-unders took 98)
    header = (
        f"{'date':<16} {'reps':>4} {'sets':>4} {'/min':>5} {'CV %':>5} {'dB':>6} {'vs base':>7} {'score':>5} "
        f"{'double':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.started_at[:16].replace('T', ' '):<16} {r.reps:>4} {r.sets:>4} "
            f"{_cell(r.cadence_per_min, '.0f'):>5} {_cell(None if r.interval_cv is None else 100 * r.interval_cv, '.1f'):>5} "
            f"{_cell(r.median_impact_db, '.1f'):>6} {_vs_base(r):>7} "
            f"{'-' if r.median_score is None else score_text(r.median_score):>5} {r.double_contacts:>6}"
            + ("  incomplete" if not r.complete else "")
        )
    return "\n".join(lines) + "\n"


UNCALIBRATED_MARK = "uncal."
"""What the table's ``vs base`` column says for a session scored without a calibration profile (the whole word,
trailing the row, took a row of the shortest drill to 88 columns)."""


def _vs_base(row: SessionRow) -> str:
    if not row.calibrated:
        return UNCALIBRATED_MARK
    return _cell(row.vs_baseline_db, "+.1f")


def sparkline(values: Sequence[float | None]) -> str:
    """One block character per value, ``▁`` at the smallest to ``█`` at the largest; a space for None.

    All values equal: every bar is ``▄``.
    """
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    if high == low:
        return "".join(" " if v is None else BARS[3] for v in values)
    top = len(BARS) - 1
    return "".join(" " if v is None else BARS[round((v - low) / (high - low) * top)] for v in values)


PLOTS: tuple[tuple[str, Callable[[SessionRow], float | None], str | Callable[[float], str]], ...] = (
    ("vs baseline dB", lambda r: r.vs_baseline_db, "+.1f"),
    ("cadence /min", lambda r: r.cadence_per_min, ".0f"),
    ("interval CV %", lambda r: None if r.interval_cv is None else 100 * r.interval_cv, ".1f"),
    ("median score", lambda r: r.median_score, score_text),
)
"""Plotted measures: label, value of a session, number format (or a function writing the number); what their
directions mean is :data:`PLOT_LEGEND`."""


def _finer(fmt: str) -> str:
    """``fmt`` with one more decimal: ``.0f`` -> ``.1f``, ``+.1f`` -> ``+.2f``."""
    head, digits = fmt[:-1].rsplit(".", 1)
    return f"{head}.{int(digits) + 1}f"


def format_plots(rows: Sequence[SessionRow]) -> list[str]:
    """A sparkline per measure over ``rows`` (the latest :data:`PLOT_WIDTH`), with min and max labels."""
    shown = list(rows[-PLOT_WIDTH:])
    plots = list(PLOTS)
    if all(r.vs_baseline_db is None for r in shown):  # uncalibrated: the raw level still shows a trend
        plots[0] = ("impact dB", lambda r: r.median_impact_db, ".1f")
    label_width = max(len(p[0]) for p in plots)
    lines = []
    for label, value, fmt in plots:
        values = [value(r) for r in shown]
        known = [v for v in values if v is not None]
        text = fmt if callable(fmt) else (lambda v, fmt=fmt: format(v, fmt))
        if known and not callable(fmt) and min(known) != max(known) and text(min(known)) == text(max(known)):
            # the bars span min to max: labels that read the same would hide how small the change is
            text = lambda v, fmt=_finer(fmt): format(v, fmt)  # noqa: E731
        span = f"min {text(min(known))}  max {text(max(known))}" if known else "no values"
        lines.append(f"  {label:<{label_width}}  {sparkline(values)}  {span}")
    return lines


PLOT_LEGEND = ("vs baseline: lower is quieter than the calibration's normal landings; interval CV: lower is steadier; "
               "score: 0-100, higher is better.")
"""What the plots' directions mean, said once under every block."""


BRIEF_NAME_WIDTH = 14
"""Widest athlete name or drill ``history --brief`` shows whole, in columns; a longer one is cut, ending in an
ellipsis (a session whose drill was changed is stored under every drill it had: ``pogo+line-hops``)."""


def _groups(rows: Sequence[SessionRow]) -> list:
    """The athlete-and-drill groups of ``rows``: athletes in alphabetical order, each one's drills as first done."""
    return sorted(progress_by_group(rows), key=lambda p: sort_key(p.athlete))


def format_brief(rows: Sequence[SessionRow]) -> str:
    """``history --brief``: one line per athlete and drill, in 80 columns (a verdict too long for its line goes on
    under itself)."""
    groups = _groups(rows)
    scores = ["-" if p.sessions[-1].median_score is None else score_text(p.sessions[-1].median_score) for p in groups]
    who = min(BRIEF_NAME_WIDTH, max([len("athlete"), *(columns(p.athlete) for p in groups)]))
    drill = min(BRIEF_NAME_WIDTH, max([len("drill"), *(columns(p.drill) for p in groups)]))
    score = max([len("score"), *map(len, scores)])
    lines = [f"{fit('athlete', who)} {fit('drill', drill)} {'sessions':>8} {'last':<10} {'score':>{score}}  verdict"]
    for p, shown in zip(groups, scores):
        row = (f"{fit(p.athlete, who)} {fit(p.drill, drill)} {len(p.sessions):>8} {p.sessions[-1].started_at[:10]:<10} "
               f"{shown:>{score}}  ")
        lines.append(_hanging(row, p.readiness.short))
    return "\n".join(lines) + "\n"


def _hanging(head: str, verdict: str) -> str:
    """``head`` then ``verdict``, going on under itself past 80 columns, never inside one of its items (the parts
    between ', ', and the 'not yet:' before them)."""
    items = verdict.split(", ")
    kept = [item.replace(" ", "\u00a0") for item in items]  # (textwrap breaks at ASCII spaces only)
    if kept[0].startswith("not\u00a0yet:\u00a0"):
        kept[0] = "not yet: " + kept[0][len("not\u00a0yet:\u00a0"):]
    text = wrap(", ".join(kept), 80, initial_indent=head, subsequent_indent=" " * columns(head),
                break_long_words=False, break_on_hyphens=False)
    return text.replace("\u00a0", " ")


def format_history(rows: Sequence[SessionRow]) -> str:
    """The ``history`` output, in 80 columns: a block per athlete and drill (athletes in alphabetical order, each one's
    drills in the order first done), each with its sessions' table, plots and readiness verdict; then what the plots'
    directions and an uncalibrated session's ``vs base`` cell mean."""
    out = []
    groups = _groups(rows)
    for i, p in enumerate(groups):
        n = len(p.sessions)
        first, last = p.sessions[0].started_at[:10], p.sessions[-1].started_at[:10]
        shown = f", the last {PLOT_WIDTH} plotted" if n > PLOT_WIDTH else ""
        when = f"on {first}" if first == last else f"{first} to {last}"
        out.append(("\n" if i else "") + _fill(f"{p.athlete}, {p.drill}: {n} session{'s' if n != 1 else ''}, {when}"
                                                 f"{shown}") + "\n")
        out.append(format_table(p.sessions))
        out.append("\n".join(format_plots(p.sessions)) + "\n")
        out.append(_fill(p.readiness.sentence) + "\n")
    out.append("\n" + _fill(PLOT_LEGEND) + "\n")
    if not all(r.calibrated for r in rows):
        out.append(f"{UNCALIBRATED_MARK}: scored without a calibration profile, so no baseline to compare with.\n")
    return "".join(out)


# ------------------------------------------------------------------ export
def write_csv(rows: Sequence[dict[str, Any]], stream: IO[str], excel: bool = False) -> None:
    """One header row (:data:`~quietland.history.EXPORT_COLUMNS`), then one row per session; None is an empty cell.
    ``excel``: led by a UTF-8 byte-order mark, with CRLF line ends (without the mark, Excel reads the file in the
    computer's legacy code page and shows 'Zoë' as 'ZoÃ«'; with it, a plain CSV reader sees the mark in the first
    column's name, so it is asked for)."""
    if excel:
        stream.write("\ufeff")
    writer = csv.DictWriter(stream, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n" if excel else "\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row[k]) for k in EXPORT_COLUMNS})


def _csv_cell(value: Any) -> Any:
    """A value as a spreadsheet should read it: None empty, a bool 0/1, and text that a spreadsheet would run as a
    formula (an athlete named ``=HYPERLINK(...)``: it starts with ``=``, ``+``, ``-`` or ``@``) quoted with a
    leading apostrophe, which spreadsheets show as text and do not display."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_json(store: HistoryStore | None, stream: IO[str], athlete: str | None, drill: str | None) -> None:
    """One JSON document: database facts and every session with its sets and reps, written session by session
    (``store`` None: no history yet, no sessions)."""
    version = store.schema_version if store is not None else schema_version_known()
    head = {"quietland_version": __version__, "schema_version": version, "athlete": athlete, "drill": drill}
    stream.write(json.dumps(head, indent=2)[:-2] + ',\n  "sessions": [')
    sessions = store.export_sessions(athlete, drill) if store is not None else ()
    for i, session in enumerate(sessions):
        stream.write(("," if i else "") + "\n    " + json.dumps(session, allow_nan=False))
    stream.write("\n  ]\n}\n")


def _write_atomically(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Write ``path`` whole or not at all (CSV rows keep their own line ends)."""
    write_atomically(path, write, newline="")


def export(store: HistoryStore | None, stream: IO[str], fmt: str, athlete: str | None = None,
           drill: str | None = None) -> None:
    """Write the sessions (of ``athlete``, of ``drill``) to ``stream`` as ``fmt``: ``csv``, ``excel`` or ``json``
    (``store`` None: no history yet, no sessions)."""
    if fmt in ("csv", "excel"):
        write_csv(store.export_rows(athlete, drill) if store is not None else [], stream, excel=fmt == "excel")
    else:
        write_json(store, stream, athlete, drill)


@_database_errors
def cmd_export(args: argparse.Namespace) -> int:
    """``quietland export``: CSV or JSON to ``--output`` (atomically) or stdout; with no history yet, no sessions."""
    store = _open_existing()
    if store is None:
        # as 'history' does: no history is no sessions, not an error (a nightly export keeps working)
        output = _write_export(args, None, args.athlete)
        to = f" to {output}" if output is not None else ""
        print(f"quietland: exported 0 sessions{to}: there is no training history yet ({history_path()}). "
              "'quietland import PATH...' adds saved sessions.", file=sys.stderr)
        return 0
    with store:
        athlete = _athlete_filter(store, args.athlete)
        output = _write_export(args, store, athlete)
        n = len(store.sessions(athlete, args.drill))
        if output is not None:
            print(f"quietland: exported {n} session{'s' if n != 1 else ''} to {output}", file=sys.stderr)
        if not n and args.drill is not None:  # (an export of nothing says why, as 'history' does)
            sentence = _no_sessions_of(args.drill, athlete, store.drills(athlete))
            print(f"quietland: note: {sentence[0].lower()}{sentence[1:]}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _export_stdout(fmt: str) -> Iterator[IO[str]]:
    """stdout for an export: for CSV, UTF-8 whatever stdout's own encoding (a Windows console's code page, a
    ``PYTHONIOENCODING``: the byte-order mark and a name in any alphabet would not encode) and the line ends as
    written (CRLF, not CRCRLF where text output translates them); JSON is ASCII and goes as it is."""
    buffer = getattr(sys.stdout, "buffer", None)
    if fmt == "json" or buffer is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    sys.stdout.flush()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()  # (stdout's buffer stays open)


def _write_export(args: argparse.Namespace, store: HistoryStore | None, athlete: str | None) -> Path | None:
    """The export to stdout, or whole to ``--output`` (returned)."""
    if args.output is None:
        with _export_stdout(args.format) as stream:
            export(store, stream, args.format, athlete, args.drill)
        return None
    output = Path(args.output).expanduser()
    try:
        _write_atomically(output, lambda fh: export(store, fh, args.format, athlete, args.drill))
    except OSError as exc:
        raise _command_error(f"the export cannot be written to '{output}': {exc.strerror or exc}.") from None
    return output
