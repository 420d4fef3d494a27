"""The rope drills on a grid of synthetic sessions with exact truth: where do they break?

The real rope recordings are few; this script asks the same question of many
sessions made by :mod:`quietland.synth`, whose truth is exact. For each rope kind
(single bounce, alternate foot, double-under) it renders two sets of 25 contacts
(double-unders: jumps) with a 5 s rest, at three cadences, two SNRs (30 and
12 dB: the loudest landing's peak over the background's RMS), three backgrounds
(pink noise, the synthetic music with its quiet steady beat, three-talker babble;
``--backgrounds pop`` runs the same grid over pop music with a drum kit instead,
``metronome+pink`` over a metronome's clicks and pink noise at equal RMS; ``--snrs``
sets other SNRs, ``--cadences`` other cadences; ``--second-foot-db`` makes the alternate-foot sessions'
second foot fainter or louder; ``--rebound-db`` gives the single-bounce sessions a beginner's double
bounce, a rope-less hop that many dB under the landing halfway to the next rope pass)
and two seeds: 36 sessions per kind. ``--trip-ups`` asks instead how a set that stops for a moment
is counted (the athlete tripped on the rope and went on): five sets of 20 contacts with a
pause of 0.8, 1.1, 1.4, 1.7, 2.0 or 2.5 s between them, one seed (108 sessions per kind,
with a line per pause length). Each is fed through
:class:`quietland.pipeline.SessionPipeline` in 4096-sample blocks under its drill.

A rep is on time when it is the nearest rep to a landing and within 50 ms of it
(one rep per landing). It prints one line per session with ``--verbose``, then per
kind and over all: the total count error (sum of |reps - truth| over the sessions,
over the truth), the reps on time and the F-measure of those matches, and last one
``ROPE_GRID ...`` line.

Run from the repository root (quietland need not be installed)::

    python benchmarks/rope_grid.py [--kinds rope,rope-alternate,double-under] [--backgrounds pink,music,babble] [--snrs 30,12] [--cadences N,N] [--second-foot-db 0] [--rebound-db DB] [--trip-ups] [--verbose]

It takes about 40-50 s on the project's 2-core machine (about 13 s with one background;
about 3 min with ``--trip-ups``).
"""
from __future__ import annotations

import argparse
import collections
import itertools
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quietland.pipeline import SessionPipeline  # noqa: E402
from quietland.synth import BACKGROUNDS as ALL_BACKGROUNDS  # noqa: E402
from quietland.synth import SessionSpec, synthesize  # noqa: E402

DRILLS = {"rope": "jump-rope", "rope-alternate": "jump-rope-alternate", "double-under": "jump-rope-double-under"}
CADENCES = {"rope": (100, 140, 180), "rope-alternate": (200, 280, 360), "double-under": (140, 200, 230)}
SNRS = (30, 12)
BACKGROUNDS = ("pink", "music", "babble")
SEEDS = (0, 1)
BLOCK = 4096
WINDOW_S = 0.05
TRIP_UP_PAUSES_S = (0.8, 1.1, 1.4, 1.7, 2.0, 2.5)


def on_time(truth_s: np.ndarray, reps_s: np.ndarray) -> int:
    """Landings with a rep within WINDOW_S, each rep matched at most once (nearest first, in time order)."""
    used: set[int] = set()
    hits = 0
    for t in truth_s:
        if not reps_s.size:
            break
        d = np.abs(reps_s - t)
        j = int(np.argmin(d))
        if d[j] <= WINDOW_S and j not in used:
            used.add(j)
            hits += 1
    return hits


def run(
    kind: str, cadence: float, snr: float, background: str, seed: int, second_foot_db: float = 0.0,
    sets: tuple[int, ...] = (25, 25), rest_s: float = 5.0, rebound_db: float | None = None,
) -> tuple[int, int, int]:
    """Truth, reps and reps on time for one session."""
    spec = SessionSpec(
        kind=kind, cadence_per_min=cadence, sets=sets, snr_db=snr, background=tuple(background.split("+")), seed=seed, rest_s=rest_s,
        second_foot_db=second_foot_db if kind == "rope-alternate" else 0.0,
        rebound_db=rebound_db if kind == "rope" else None,
    )
    session = synthesize(spec)
    pipe = SessionPipeline(session.sample_rate, DRILLS[kind])
    for i in range(0, session.audio.size, BLOCK):
        pipe.process(session.audio[i : i + BLOCK])
    _, analysis = pipe.finish()
    truth = session.samples_of("landing") / session.sample_rate
    reps = np.array([r.t_s for r in analysis.reps])
    return truth.size, reps.size, on_time(truth, reps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(DRILLS), help="comma-separated, from " + ", ".join(DRILLS))
    parser.add_argument(
        "--backgrounds", default=",".join(BACKGROUNDS),
        help="comma-separated, from " + ", ".join(ALL_BACKGROUNDS) + "; a+b mixes two at equal RMS"
        + f" (default: {','.join(BACKGROUNDS)})",
    )
    parser.add_argument(
        "--snrs", default=",".join(str(x) for x in SNRS),
        help=f"comma-separated SNRs in dB, the loudest landing's peak over the background's RMS (default: {','.join(str(x) for x in SNRS)})",
    )
    parser.add_argument(
        "--second-foot-db", type=float, default=0.0, metavar="DB",
        help="alternate foot: the second foot's contacts this many dB louder (negative: quieter; default 0)",
    )
    parser.add_argument(
        "--rebound-db", type=float, default=None, metavar="DB",
        help="single bounce: a beginner's double bounce, a rope-less hop between rope passes this many dB "
        "under the landing (-30 to 0; default none)",
    )
    parser.add_argument(
        "--cadences", default=None, metavar="N,N,...",
        help="comma-separated contacts (double-unders: jumps) per minute, for every kind given (default: each kind's three)",
    )
    parser.add_argument(
        "--trip-ups", action="store_true",
        help="five sets of 20 with a short pause (" + ", ".join(map(str, TRIP_UP_PAUSES_S)) + " s) between them, one seed",
    )
    parser.add_argument("--verbose", action="store_true", help="one line per session")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in DRILLS]
    if unknown:
        parser.error(f"unknown kind {unknown[0]!r}; choose from {', '.join(DRILLS)}")
    backgrounds = [b for b in args.backgrounds.split(",") if b]
    unknown = [b for mix in backgrounds for b in mix.split("+") if b not in ALL_BACKGROUNDS]
    if unknown or not backgrounds:
        parser.error(f"unknown background {unknown[0] if unknown else ''!r}; choose from {', '.join(ALL_BACKGROUNDS)}")
    try:
        snrs = [int(x) for x in args.snrs.split(",") if x]
    except ValueError:
        parser.error(f"--snrs takes whole numbers of dB separated by commas, got {args.snrs!r}")
    try:
        cadences = [int(x) for x in args.cadences.split(",") if x] if args.cadences else None
    except ValueError:
        parser.error(f"--cadences takes whole numbers per minute separated by commas, got {args.cadences!r}")
    if args.rebound_db is not None and not -30 <= args.rebound_db <= 0:
        parser.error(f"--rebound-db must be in [-30, 0], got {args.rebound_db:g}")
    totals = np.zeros(4)  # truth, |error|, reps, on time
    # (seed, rest) pairs: the default grid's two seeds with a 5 s rest, or one seed and each trip-up's pause
    layouts = [(0, r) for r in TRIP_UP_PAUSES_S] if args.trip_ups else [(seed, 5.0) for seed in SEEDS]
    sets = (20,) * 5 if args.trip_ups else (25, 25)
    for kind in kinds:
        sums = np.zeros(4)
        by_rest: dict[float, np.ndarray] = collections.defaultdict(lambda: np.zeros(4))
        for cadence, snr, background, (seed, rest_s) in itertools.product(cadences or CADENCES[kind], snrs, backgrounds, layouts):
            truth, reps, hits = run(kind, cadence, snr, background, seed, args.second_foot_db, sets, rest_s, args.rebound_db)
            if args.verbose:
                pause = f" pause {rest_s:.1f} s" if args.trip_ups else ""
                print(f"{kind:15s} {cadence:4d}/min {snr:3d} dB {background:7s} seed {seed}{pause}: {reps:3d} reps of {truth}, {hits} on time", flush=True)
            row = np.array((truth, abs(reps - truth), reps, hits))
            sums += row
            by_rest[rest_s] += row
        totals += sums
        if args.trip_ups:
            for rest_s, r in by_rest.items():
                print(f"{kind:15s} pause {rest_s:.1f} s: count error {100 * r[1] / r[0]:5.1f}%, {int(r[3])} of {int(r[0])} on time", flush=True)
        print(f"{kind:15s} count error {100 * sums[1] / sums[0]:5.1f}%, {int(sums[3])} of {int(sums[0])} on time, "
              f"F {2 * sums[3] / (sums[0] + sums[2]):.3f}", flush=True)
    print(f"ROPE_GRID{' trip_ups=1' if args.trip_ups else ''} kinds={','.join(kinds)} backgrounds={','.join(backgrounds)} snrs={','.join(map(str, snrs))} count_error_pct={100 * totals[1] / totals[0]:.1f} "
          f"on_time={int(totals[3])}/{int(totals[0])} f={2 * totals[3] / (totals[0] + totals[2]):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
