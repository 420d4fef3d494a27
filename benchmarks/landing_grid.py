"""The landing drills on a grid of synthetic sessions with exact truth: where do they count what is not a landing?

For the ``demo`` preset (line hops) and the ``pogo`` preset of :mod:`quietland.synth`, each under its
own drill, it renders three seeds over each background at the SNRs below (the loudest landing's
peak over the background's RMS; ``a+b`` mixes two at equal RMS), and once with no background:
102 sessions, 4590 landings. Each is fed through :class:`quietland.pipeline.SessionPipeline` in
4096-sample blocks.

- pink noise at 30, 18 and 12 dB;
- three-talker babble at 16, 20 and 24 dB;
- pop music with a drum kit at 18 and 24 dB, the same drums quantised (``sequenced``) at 24 and 18 dB;
- the synthetic music (soft chords, a quiet steady beat) at 16 and 20 dB;
- white noise with mains hum at 12 and 18 dB;
- a metronome's clicks with pink noise at 24 and 18 dB;
- no background.

A rep is on time as in ``rope_grid.py``: the nearest rep to a landing and within 50 ms of it (one rep
per landing); every other rep is false. It prints one line per session with ``--verbose``, then one
line per background (landings, reps, on time, false, sets) and a last ``LANDING_GRID ...`` line
over all of them.

Run from the repository root (quietland need not be installed)::

    python benchmarks/landing_grid.py [--verbose]

It takes about 45 s on the project's 2-core machine.
"""
from __future__ import annotations

import argparse
import collections
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quietland.pipeline import SessionPipeline  # noqa: E402
from quietland.synth import PRESETS, synthesize  # noqa: E402
from rope_grid import on_time  # noqa: E402  (the same match: one rep per landing, within 50 ms)

DRILLS = (("demo", "line-hops"), ("pogo", "pogo"))
BACKGROUNDS: tuple[tuple[str | None, tuple[float | None, ...]], ...] = (
    ("pink", (30, 18, 12)),
    ("babble", (16, 20, 24)),
    ("pop", (18, 24)),
    ("music", (16, 20)),
    ("white+hum", (12, 18)),
    ("metronome+pink", (24, 18)),
    ("sequenced", (24, 18)),
    (None, (None,)),
)
SEEDS = (1, 2, 3)
BLOCK = 4096
FIELDS = ("sessions", "landings", "reps", "on_time", "false", "sets")


def run(preset: str, drill: str, background: str | None, snr: float | None, seed: int) -> collections.Counter:
    """One session's figures."""
    spec = replace(PRESETS[preset], seed=seed, snr_db=None)  # no background: the landings alone
    if background is not None:
        parts = tuple(background.split("+"))
        spec = replace(spec, snr_db=snr, background=parts, background_db=(0.0,) * len(parts))
    session = synthesize(spec)
    pipe = SessionPipeline(session.sample_rate, drill)
    for i in range(0, session.audio.size, BLOCK):
        pipe.process(session.audio[i : i + BLOCK])
    _, analysis = pipe.finish()
    truth = session.samples_of("landing") / session.sample_rate
    reps = np.array([r.t_s for r in analysis.reps])
    hits = on_time(truth, reps)
    return collections.Counter(
        sessions=1, landings=truth.size, reps=reps.size, on_time=hits, false=reps.size - hits, sets=analysis.summary.sets,
    )


def line(c: collections.Counter) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {c[k]}" for k in FIELDS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="one line per session")
    args = parser.parse_args()
    total: collections.Counter = collections.Counter()
    by_background: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for preset, drill in DRILLS:
        for background, snrs in BACKGROUNDS:
            for snr in snrs:
                for seed in SEEDS:
                    c = run(preset, drill, background, snr, seed)
                    name = background or "none"
                    if args.verbose:
                        at = "" if snr is None else f" {snr:g} dB"
                        print(f"{preset:5s} {name:15s}{at:7s} seed {seed}: {c['reps']:3d} reps of {c['landings']}, "
                              f"{c['on_time']} on time, {c['sets']} sets", flush=True)
                    total += c
                    by_background[name] += c
    for name, c in by_background.items():
        print(f"{name:15s} {line(c)}", flush=True)
    print("LANDING_GRID " + " ".join(f"{k}={total[k]}" for k in FIELDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
