"""Benchmark ``quietland analyze`` on a 10-minute recording; prints figures (not a test).

What it measures:

1. ``quietland analyze FILE --json`` as a whole process (``python -m quietland``,
   so interpreter start-up, imports, decoding, detection and JSON output are all
   included): best and median wall time of ``--runs`` runs (after one untimed
   warm-up run), the realtime factor (audio seconds per wall second) and the
   child's peak RSS. Peak RSS comes from GNU ``/usr/bin/time -f %M`` when it is
   there. Otherwise it is the child's ``ru_maxrss`` from ``os.wait4`` (the
   figure ``resource.getrusage(RUSAGE_CHILDREN)`` gives), and that is only an
   upper bound: on Linux a child's ``ru_maxrss`` keeps the peak RSS of the
   parent it was forked from, so it never reads below this script's own peak
   (which holds the rendered audio). The script prints that floor.
2. The same for librosa's onset detector called the way its users call it
   (``librosa.load(path, sr=None, mono=True)`` then
   ``librosa.onset.onset_detect(y=y, sr=sr, units="time")``) in a
   ``python -c`` child, and the ratio quietland/librosa of the median times.
   Skipped (exit 0) when librosa is not installed.
3. From quietland's JSON: median and 95th percentile of ``detect_delay_ms``
   over the reps that were heard (a rep a rope beat inferred has none), and the
   rep count against the true count.

By default the recording is synthetic (:mod:`quietland.synth`): about 10 minutes
of two-foot landings in sets of 30 at 150/min with rests, pink noise plus babble
at 30 dB SNR, a 0.25 s room, 44.1 kHz mono 16-bit PCM, written to a temporary
directory; its true count is exact. ``--session`` renders jump rope instead
(``rope``: 9 sets of 120 at 150/min; ``rope-alternate``: 14 of 120 at 240/min;
``double-under``: 14 of 60 jumps at 130/min), analysed with its rope drill.
``--file PATH`` benchmarks an existing recording instead (true count from
``PATH.truth.json`` beside it, as written by ``quietland.synth_cli``, when there
is one).

Run from the repository root (quietland need not be installed; librosa is the
``bench`` extra)::

    python benchmarks/bench_analyze.py [--file PATH | --session KIND] [--runs N] [--drill NAME]

The last line is one ``BENCH ...`` summary (times are medians).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quietland.synth import SessionSpec, synthesize  # noqa: E402

TARGET_S = 5.0
"""Target wall time for analysing 10 minutes of audio, s."""
TARGET_DELAY_MS = 25.0
"""Target median detection delay, ms."""

LIBROSA_SNIPPET = (
    "import sys, librosa; "
    "y, sr = librosa.load(sys.argv[1], sr=None, mono=True); "
    "t = librosa.onset.onset_detect(y=y, sr=sr, units='time'); "
    "print(len(t))"
)


SESSIONS = {
    # kind: (reps a set, sets, contacts a minute (double-under: jumps), the drill it is analysed as by default)
    "landings": (30, 19, 150.0, "generic"),
    "rope": (120, 9, 150.0, "jump-rope"),
    "rope-alternate": (120, 14, 240.0, "jump-rope-alternate"),
    "double-under": (60, 14, 130.0, "jump-rope-double-under"),
}
"""The synthetic sessions ``--session`` offers (:data:`quietland.synth.KINDS`): a rope session's rep logic
(beat trackers) costs several times a landing session's."""


def ten_minute_spec(seed: int = 1, kind: str = "landings") -> SessionSpec:
    """Sets of ``kind`` (:data:`SESSIONS`; landings: 30 at 150/min), rests chosen so the whole session lasts about
    600 s."""
    reps, n_sets, cadence, _ = SESSIONS[kind]
    lead_in, tail = 1.0, 1.5
    active = n_sets * (reps - 1) * 60.0 / cadence
    rest = (600.0 - lead_in - tail - active) / (n_sets - 1)
    return SessionSpec(
        sample_rate=44100, kind=kind, sets=(reps,) * n_sets, cadence_per_min=cadence, rest_s=rest,
        lead_in_s=lead_in, tail_s=tail, force_range=(0.6, 1.4), snr_db=30.0,
        background=("pink", "babble"), background_db=(0.0, -4.0), room_t60_s=0.25, seed=seed,
    )


def _kib(ru_maxrss: int) -> float:
    return ru_maxrss / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux


def gnu_time() -> str | None:
    """Path of GNU time if it is at /usr/bin/time and understands ``-f %M -o FILE``, else None."""
    with tempfile.NamedTemporaryFile("r") as f:
        try:
            ok = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name, "true"], capture_output=True).returncode == 0
            return "/usr/bin/time" if ok and f.read().strip().isdigit() else None
        except OSError:
            return None


TIME = gnu_time()


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``argv`` to completion; return (wall seconds, peak RSS in MiB, stdout). Raises on failure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        if TIME:
            argv = [TIME, "-f", "%M", "-o", rss_file.name, *argv]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        kib = float(rss_file.read().split()[-1]) if TIME and proc.returncode == 0 else _kib(usage.ru_maxrss)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])} ... exited {proc.returncode}:\n{stderr}")
    return wall, round(kib / 1024), stdout


def bench(label: str, argv: list[str], runs: int, env: dict[str, str], audio_s: float) -> tuple[float, str]:
    """Time ``argv`` ``runs`` times, print a line of figures; return (median seconds, last stdout)."""
    run_child(argv, env)  # warm-up: page cache, .pyc files, numba's on-disk cache (librosa)
    walls, rss = [], []
    for _ in range(runs):
        wall, mib, stdout = run_child(argv, env)
        walls.append(wall)
        rss.append(mib)
    best, median = min(walls), statistics.median(walls)
    print(f"{label:<10} best {best:6.2f} s  median {median:6.2f} s  ({audio_s / median:5.0f}x realtime)  "
          f"peak RSS {max(rss)} MiB   runs: {' '.join(f'{w:.2f}' for w in walls)}")
    return median, stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="benchmark this recording instead of a synthetic 10-minute one")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command (default: 3)")
    parser.add_argument("--session", choices=sorted(SESSIONS), default="landings",
                        help="the synthetic session's drill (default: landings, two-foot landings)")
    parser.add_argument("--drill", help="--drill passed to quietland analyze (default: generic, or the --session's "
                        "rope drill)")
    args = parser.parse_args()
    drill = args.drill or ("generic" if args.file else SESSIONS[args.session][3])
    runs = max(1, args.runs)

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    has_librosa = importlib.util.find_spec("librosa") is not None
    print(f"machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {platform.machine()}, "
          f"{platform.system()} {platform.release()}; python {platform.python_version()}, numpy {np.__version__}"
          + (f", librosa {__import__('librosa').__version__}" if has_librosa else ""))

    import soundfile  # writes the synthetic file and reads durations (benchmarks may; the core does not)

    with tempfile.TemporaryDirectory(prefix="quietland-bench-") as tmp:
        if args.file:
            path = args.file
            truth_file = path.with_name(path.stem + ".truth.json")
            truth = json.loads(truth_file.read_text())["count"] if truth_file.exists() else None
            print(f"file: {path}" + (f" (truth: {truth_file.name})" if truth is not None else " (no truth)"))
        else:
            spec = ten_minute_spec(kind=args.session)
            t0 = time.perf_counter()
            session = synthesize(spec)
            path = Path(tmp) / f"{spec.kind}-10min.wav"
            soundfile.write(str(path), session.audio, session.sample_rate, subtype="PCM_16")
            truth = session.count
            print(f"file: synthetic {session.duration_s:.1f} s, {spec.sample_rate} Hz mono PCM_16, "
                  f"{len(spec.sets)} sets x {spec.sets[0]} {spec.kind} at {spec.cadence_per_min:.0f}/min, "
                  f"rest {spec.rest_s:.1f} s, pink+babble at {spec.snr_db:.0f} dB SNR, room T60 "
                  f"{spec.room_t60_s} s, seed {spec.seed} (rendered in {time.perf_counter() - t0:.1f} s)")

        if TIME:
            how = "peak RSS from GNU /usr/bin/time -f %M"
        else:
            floor = round(_kib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024)
            how = (f"peak RSS = child ru_maxrss via os.wait4 (no GNU time); an upper bound that cannot read "
                   f"below this script's own peak, {floor} MiB")
        print(f"timing: whole process, wall clock, 1 untimed warm-up + {runs} timed run(s) each; {how}")
        q_argv = [sys.executable, "-m", "quietland", "analyze", str(path), "--json", "--drill", drill]
        audio_s = float(soundfile.info(str(path)).duration)
        q_s, stdout = bench("quietland", q_argv, runs, env, audio_s)
        doc = json.loads(stdout)

        lib_s = ratio = None
        if has_librosa:
            lib_s, lib_out = bench("librosa", [sys.executable, "-c", LIBROSA_SNIPPET, str(path)], runs, env, audio_s)
            ratio = q_s / lib_s
            print(f"ratio quietland/librosa (median times): {ratio:.2f}   (librosa onsets found: {lib_out.strip()})")
        else:
            print("librosa: not installed, skipped (pip install librosa, or the 'bench' extra)")

    # (a rep a rope beat inferred, with no sound heard, has no detection delay: null)
    delays = np.array([r["detect_delay_ms"] for r in doc["reps"] if r["detect_delay_ms"] is not None], dtype=float)
    med_delay = float(np.median(delays)) if delays.size else float("nan")
    p95_delay = float(np.percentile(delays, 95)) if delays.size else float("nan")
    n_reps = len(doc["reps"])
    heard = f"the {delays.size} heard of {n_reps} reps" if delays.size < n_reps else f"{n_reps} reps"
    print(f"detect_delay_ms over {heard}: median {med_delay:.1f}, p95 {p95_delay:.1f}, max "
          f"{delays.max() if delays.size else float('nan'):.1f}")
    print(f"reps: {n_reps} counted, truth {truth if truth is not None else 'unknown'}"
          + (f" (diff {n_reps - truth:+d})" if truth is not None else "")
          + f"; rejected {len(doc['rejected'])}; sets {len(doc['sets'])}")

    scale = 600.0 / audio_s  # the target is for 10 minutes of audio
    name = "analyze_10min_s" if abs(audio_s - 600.0) < 30 else f"audio_s={audio_s:.1f} analyze_s"
    print(f"BENCH {name}={q_s:.2f} target_s={TARGET_S / scale:.1f} "
          f"librosa_s={'n/a' if lib_s is None else f'{lib_s:.2f}'} "
          f"ratio={'n/a' if ratio is None else f'{ratio:.2f}'} median_delay_ms={med_delay:.1f} "
          f"(target {TARGET_DELAY_MS:.0f}) reps={n_reps}/{truth if truth is not None else '?'} "
          f"nproc={os.cpu_count()} python={platform.python_version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
