"""Benchmark ``quietland history --athlete NAME`` on a large training history; prints figures (not a test).

What it measures:

1. Building the history: 1,000 sessions of 500 reps each (500,000 rep rows)
   spread over 20 athletes, 50 sessions each, stored one by one through
   :meth:`quietland.history.HistoryStore.store_results` (one transaction per
   session, the reps by ``executemany``, each commit fsynced: the real write
   path). The sessions are variants of one real ``analyze --json`` document
   of a synthetic 500-landing pogo session: each gets its own athlete, start
   time and a drift in impact level, score, cadence and rhythm, so the
   plots and verdicts have something to show. Printed: build time and the
   median and 95th percentile time to store one session. The database is
   cached in ``--home`` (default: a folder in the system's temporary
   directory) and reused when it already holds exactly that history;
   ``--rebuild`` starts again.
2. ``quietland history --athlete NAME`` as a whole process (``python -m
   quietland``, so interpreter start-up, imports, opening the database and
   printing are all included): best and median wall time of ``--runs`` runs
   after one untimed warm-up. If ``quietland.cli`` does not register the
   history subcommands yet, a ``python -c`` shim adds them to the same parser.
3. The same query in-process: ``HistoryStore.open`` + ``sessions(athlete)``
   + the readiness verdict + the formatted output (best of 20).

Run from the repository root::

    python benchmarks/bench_history.py [--home DIR] [--runs N] [--rebuild]

The last line is one ``BENCH history_s=... target_s=1.0 ...`` summary (the
whole-process median).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quietland.history import HISTORY_FILE, HistoryStore  # noqa: E402

TARGET_S = 1.0
"""Target wall time of ``quietland history --athlete NAME`` on this history, s."""
ATHLETES = 20
SESSIONS = 1000
REPS = 500



def template_document() -> dict:
    """A real ``analyze --json`` document of a synthetic pogo session with exactly :data:`REPS` landings."""
    import soundfile

    from quietland import cli
    from quietland.synth import SessionSpec, synthesize

    spec = SessionSpec(sample_rate=16000, kind="landings", sets=(50,) * (REPS // 50), cadence_per_min=150.0,
                       rest_s=6.0, snr_db=35.0, seed=11)
    session = synthesize(spec)
    with tempfile.TemporaryDirectory(prefix="quietland-bench-") as tmp:
        wav = Path(tmp) / "pogo.wav"
        soundfile.write(str(wav), session.audio, session.sample_rate)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["analyze", str(wav), "--json", "--drill", "pogo"])
    if code != 0:
        raise RuntimeError("quietland analyze failed on the synthetic session")
    doc = json.loads(out.getvalue())
    doc["reps"] = [dict(r) for r in (doc["reps"] * 2)[:REPS]]  # exactly REPS whatever the detector found
    doc["summary"]["reps"] = REPS
    return doc


def variant(template: dict, athlete: int, n: int, rng: random.Random) -> dict:
    """Session ``n`` (0-based) of athlete ``athlete``: a day later each time, landings drifting quieter, rhythm tightening."""
    doc = {**template, "reps": [dict(r) for r in template["reps"]], "summary": dict(template["summary"])}
    start = datetime(2026, 1, 5, 7, 0, tzinfo=timezone(timedelta(hours=1))) + timedelta(days=n, minutes=athlete)
    progress = n / 50
    shift = rng.gauss(-3.0 * progress, 0.8)
    for rep in doc["reps"]:
        if rep["impact_db"] is not None:
            rep["impact_db"] = round(rep["impact_db"] + shift, 2)
    doc["summary"].update(
        median_score=round(min(100.0, max(0.0, rng.gauss(55 + 25 * progress, 4))), 1),
        interval_cv=round(max(0.01, rng.gauss(0.09 - 0.05 * progress, 0.008)), 4),
        cadence_per_min=round(rng.gauss(140 + 10 * progress, 2), 1),
    )
    doc.update(
        athlete=f"athlete-{athlete:02d}", started_at=start.isoformat(timespec="seconds"),
        ended_at=(start + timedelta(minutes=20)).isoformat(timespec="seconds"), complete=True,
        calibration={"calibrated": True, "name": f"athlete-{athlete:02d}", "created": "2026-01-01T00:00:00+00:00",
                     "quiet_db": -34.0, "normal_db": -22.0, "floor_dbfs": -60.0},
    )
    return doc


def holds_the_history(db: Path) -> bool:
    """True when ``db`` already holds exactly the benchmark's history."""
    if not db.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            sessions, athletes = conn.execute("SELECT count(*), count(DISTINCT athlete_id) FROM sessions").fetchone()
            reps = conn.execute("SELECT count(*) FROM reps").fetchone()[0]
    except sqlite3.Error:
        return False
    return (sessions, athletes, reps) == (SESSIONS, ATHLETES, SESSIONS * REPS)


def build(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    template = template_document()
    print(f"template: a real 'analyze --json' document, {REPS} reps, made in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(5)
    docs_s, store_s = 0.0, []
    t0 = time.perf_counter()
    with HistoryStore.open(db) as store:
        for n in range(SESSIONS // ATHLETES):
            for athlete in range(ATHLETES):
                t1 = time.perf_counter()
                doc = variant(template, athlete, n, rng)
                t2 = time.perf_counter()
                if store.store_results(doc) is None:
                    raise RuntimeError("a benchmark session was a duplicate")
                docs_s += t2 - t1
                store_s.append(time.perf_counter() - t2)
    total = time.perf_counter() - t0
    store_s.sort()
    print(f"built {SESSIONS} sessions x {REPS} reps over {ATHLETES} athletes in {total:.1f} s "
          f"(making the documents {docs_s:.1f} s); storing one session: median {1000 * statistics.median(store_s):.1f} ms, "
          f"p95 {1000 * store_s[int(0.95 * len(store_s))]:.1f} ms; database {db.stat().st_size / 2**20:.0f} MiB")


def in_process(db: Path, athlete: str) -> float:
    """Best of 20: open, query one athlete's sessions, judge readiness and format the output, s."""
    from quietland.history_cli import format_history

    best = float("inf")
    for _ in range(20):
        t0 = time.perf_counter()
        with HistoryStore.open(db) as store:
            rows = store.sessions(athlete)
        text = format_history(rows)
        best = min(best, time.perf_counter() - t0)
    assert len(rows) == SESSIONS // ATHLETES and text
    return best


def whole_process(argv: list[str], env: dict[str, str], runs: int) -> tuple[list[float], str]:
    def once() -> tuple[float, str]:
        t0 = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[-4:])} exited {p.returncode}:\n{p.stderr}")
        return wall, p.stdout

    once()  # warm-up: page cache, .pyc files
    results = [once() for _ in range(runs)]
    return [w for w, _ in results], results[-1][1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "quietland-bench-history",
                        help="folder used as QUIETLAND_HOME; its history.sqlite3 is reused when it holds the "
                        "benchmark's history (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the whole command (default: 3)")
    parser.add_argument("--rebuild", action="store_true", help="build the history again even if it is there")
    args = parser.parse_args()
    runs = max(1, args.runs)
    print(f"machine: nproc={os.cpu_count()}, {platform.machine()}, {platform.system()} {platform.release()}; "
          f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")

    args.home.mkdir(parents=True, exist_ok=True)
    db = args.home / HISTORY_FILE
    if args.rebuild or not holds_the_history(db):
        build(db)
    else:
        print(f"reusing {db} ({SESSIONS} sessions x {REPS} reps, {ATHLETES} athletes; --rebuild builds it again)")

    athlete = "athlete-07"
    inproc = in_process(db, athlete)
    print(f"in-process: open + sessions('{athlete}') + verdict + formatted output: best {1000 * inproc:.1f} ms")

    env = dict(os.environ, QUIETLAND_HOME=str(args.home),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    head, how = [sys.executable, "-m", "quietland"], "python -m quietland"
    walls, stdout = whole_process([*head, "history", "--athlete", athlete], env, runs)
    best, median = min(walls), statistics.median(walls)
    print(f"whole process ({how}) history --athlete {athlete}: best {best:.3f} s  median {median:.3f} s   "
          f"runs: {' '.join(f'{w:.3f}' for w in walls)}")
    verdict = [line for line in stdout.splitlines() if line.startswith(("Ready", "Not ready"))]
    print(f"output: {len(stdout.splitlines())} lines, {SESSIONS // ATHLETES} sessions; verdict: "
          f"{verdict[0] if verdict else '(none)'}")
    print(f"BENCH history_s={median:.3f} target_s={TARGET_S:.1f} best_s={best:.3f} in_process_ms={1000 * inproc:.1f} "
          f"sessions={SESSIONS} reps={SESSIONS * REPS} athletes={ATHLETES} nproc={os.cpu_count()} "
          f"python={platform.python_version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
