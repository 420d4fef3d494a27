"""Counts and F-measure on the real recordings and on variants of each: does a result hold up?

A method change should not only move the figures of the recordings as they are.
The same audio resampled to another rate, made 12 dB quieter or given a little
more noise is, to a listener, the same session, and a robust detector counts it
the same. This script runs every recording in ``../shared/data/real`` (truth in
its ``manifest.json``) through :class:`quietland.pipeline.SessionPipeline` as it
is and as these variants:

- ``16k``, ``32k``, ``48k``: resampled (``scipy.signal.resample_poly``);
- ``-12dB``: every sample times 10^(-12/20);
- ``noise30#1`` to ``#3``: white noise 30 dB below the recording's RMS added, three
  seeds (from the file's name and the variant's), so chance in one noise is seen as chance;
- ``skip1ms`` to ``skip3ms``: the recording less its first 1, 2 or 3 ms (the rep times
  moved back by as much before matching; ``--variants`` takes any ``skipN ms``, such as
  ``skip0.5ms``). The same sounds then fall elsewhere between
  the detector's 4 ms frames, as they would in any other recording of the session: a
  count that moves with them was one draw of a lottery.

Five more, run only when named in ``--variants``, ask the same of other recording
chains: ``cut11k``, every component above 11 kHz removed (a low-bitrate codec's cut,
the bands above it empty); ``hp200``, a 4th-order high-pass at 200 Hz (a small
microphone that hears no thud); ``8k``, resampled to 8 kHz (a phone line);
``gate``, a noise gate that shuts to exact zeros (an edited recording, a streaming
tool's gate): open from 2 ms before the 10 ms level first reaches the recording's
median 10 ms level to 50 ms after it last did, so that about half the recording's
stretches between its sounds are digital silence; ``agc``, an automatic gain control
as a laptop's or a call app's (the level of each 1 ms, followed in 5 ms rising and
0.5 s falling, steers the gain toward -20 dBFS, by -40 to +30 dB): quiet stretches
are turned up to the loudness of the sounds, and each loud sound turns down what
follows it. And ``pinkN`` for any N (``pink24``): the synthetic sessions' pink noise
(:mod:`quietland.synth`: a fan, ventilation, equal energy per octave) N dB under the
recording's peak sample added, seeded like ``noise30``;
where a recording's loudest sound is its one landing, as for the single jump, that is the
landing's peak over the noise, and where its landings vary, the softer ones stand less.

It prints, per file and variant, the count and (where the manifest has event
times) the F-measure, matched the way ``../shared/tools/score.py`` matches;
then, per variant, the files within tolerance, the total count error and the
mean F-measure; and last one ``VARIANTS ...`` line with the figures over all
variants and the largest spread of one file's count across them.

With ``--labelled-span``, a file with event times is judged only on the reps
inside the span its labels cover: from half the labels' median interval before
the first label to as much after the last (after the scorer's one fitted offset).
The rope recordings' labels come from videos whose own evaluator counts only
between the first and the last label; the audio runs on outside that span.

Run from the repository root (quietland need not be installed; scipy comes with
the ``bench`` extra)::

    python benchmarks/real_variants.py [--only SUBSTRING] [--variants orig,48k,...] [--labelled-span]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
import sys
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quietland.audiofile import AudioFileError, FileSource  # noqa: E402
from quietland.pipeline import SessionPipeline  # noqa: E402
from quietland.synth import BACKGROUND_GENERATORS, SessionSpec  # noqa: E402

SHARED = REPO.parent / "shared"
REAL = SHARED / "data" / "real"
SCORER = SHARED / "tools" / "score.py"
VARIANTS = ("orig", "16k", "32k", "48k", "-12dB", "noise30#1", "noise30#2", "noise30#3", "skip1ms", "skip2ms", "skip3ms")
CHAINS = ("cut11k", "hp200", "8k", "gate", "agc")
CHOICES = VARIANTS + CHAINS
NEED_SCIPY = {"16k", "32k", "48k", "8k", "hp200"}  # resampled or filtered by scipy.signal
BLOCK = 65536


def load_match():
    """``match`` from ../shared/tools/score.py: the matcher the accuracy targets are judged by."""
    spec = importlib.util.spec_from_file_location("shared_score", SCORER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.match


def read_mono(path: Path) -> tuple[np.ndarray, int]:
    source = FileSource(path)
    return np.concatenate(list(source.blocks(BLOCK))), source.sample_rate


def variant(name: str, audio: np.ndarray, rate: int, file: str) -> tuple[np.ndarray, int]:
    if name == "orig":
        return audio, rate
    if name == "-12dB":
        return (audio * 10 ** (-12 / 20)).astype(np.float32), rate
    if name.startswith("noise30"):
        rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
        seed = zlib.crc32(f"{file}:{name}".encode())  # the same noise whatever --only selects
        noise = np.random.default_rng(seed).standard_normal(audio.size) * rms * 10 ** (-30 / 20)
        return (audio + noise).astype(np.float32), rate
    if name.startswith("skip"):
        return audio[skipped(name, rate) :], rate
    if name.startswith("pink"):  # the synthetic sessions' pink noise (quietland.synth), seeded as noise30
        seed = zlib.crc32(f"{file}:{name}".encode())
        noise = BACKGROUND_GENERATORS["pink"](np.random.default_rng(seed), audio.size, SessionSpec(sample_rate=rate))
        noise = noise.astype(np.float64)
        noise *= float(np.max(np.abs(audio))) * 10 ** (-float(name[4:]) / 20) / float(np.sqrt(np.mean(noise**2)))
        return (audio + noise).astype(np.float32), rate
    if name == "gate":
        return gate(audio, rate), rate
    if name == "agc":
        return agc(audio, rate), rate
    if name == "cut11k":
        spec = np.fft.rfft(audio.astype(np.float64))
        spec[np.fft.rfftfreq(audio.size, 1.0 / rate) > 11000.0] = 0.0
        return np.fft.irfft(spec, audio.size).astype(np.float32), rate
    from scipy.signal import butter, resample_poly, sosfilt

    if name == "hp200":
        return sosfilt(butter(4, 200.0, "highpass", fs=rate, output="sos"), audio).astype(np.float32), rate
    target = {"8k": 8000, "16k": 16000, "32k": 32000, "48k": 48000}[name]
    return resample_poly(audio, target, rate).astype(np.float32), target


def skipped(name: str, rate: int) -> int:
    """How many samples a ``skipN ms`` variant leaves out of the recording's start (0 for the others)."""
    return int(round(float(name[4:-2]) * rate / 1000.0)) if name.startswith("skip") else 0


def gate(audio: np.ndarray, rate: int, threshold_dbfs: float | None = None, look_s: float = 0.002, hold_s: float = 0.05) -> np.ndarray:
    """``audio`` through a noise gate that shuts to exact zeros: zero wherever no 10 ms level (centred mean
    square) from ``hold_s`` before to ``look_s`` after reaches ``threshold_dbfs``, or by default the median of
    those levels (the ``gate`` chain; see the module docstring)."""
    x = audio.astype(np.float64)
    n = max(1, int(rate * 0.01))
    level = np.convolve(x * x, np.ones(n) / n, mode="same")
    threshold = np.median(level[::n]) if threshold_dbfs is None else 10.0 ** (threshold_dbfs / 10.0)
    loud = np.concatenate([[0], np.cumsum(level >= threshold)])
    i = np.arange(x.size)
    lo = np.clip(i - int(rate * hold_s), 0, x.size)
    hi = np.clip(i + int(rate * look_s) + 1, 0, x.size)
    return np.where(loud[hi] - loud[lo] > 0, x, 0.0).astype(np.float32)


def agc(audio: np.ndarray, rate: int, target_dbfs: float = -20.0, attack_s: float = 0.005, release_s: float = 0.5,
        max_gain_db: float = 30.0) -> np.ndarray:
    """``audio`` through an automatic gain control (the ``agc`` chain): the level of each 1 ms, followed with
    ``attack_s`` rising and ``release_s`` falling (one-pole, on the mean square), steers the gain toward
    ``target_dbfs``, from -40 dB to ``max_gain_db``, interpolated between the 1 ms steps; clipped at full scale."""
    x = audio.astype(np.float64)
    n = max(1, int(rate * 0.001))
    steps = -(-x.size // n)
    power = np.mean(np.pad(x, (0, steps * n - x.size)).reshape(steps, n) ** 2, axis=1)
    rise, fall = np.exp(-0.001 / attack_s), np.exp(-0.001 / release_s)
    env = np.empty(steps)
    e = float(np.mean(power[: 500]))  # the first half second's level to start from
    for k, p in enumerate(power):
        a = rise if p > e else fall
        e = a * e + (1.0 - a) * p
        env[k] = e
    gain_db = np.clip(target_dbfs - 10.0 * np.log10(env + 1e-12), -40.0, max_gain_db)
    gain = 10.0 ** (np.interp(np.arange(x.size), np.arange(steps) * n + n - 1, gain_db) / 20.0)
    return np.clip(x * gain, -1.0, 1.0).astype(np.float32)


def count(audio: np.ndarray, rate: int, drill: str) -> list[float]:
    """Rep times (s) of ``audio`` fed through the pipeline in blocks."""
    pipe = SessionPipeline(rate, drill)
    for i in range(0, audio.size, BLOCK):
        pipe.process(audio[i : i + BLOCK])
    _, analysis = pipe.finish()
    return [r.t_s for r in analysis.reps]


def labelled_span(match, entry: dict, times: list[float]) -> list[float]:
    """The rep times inside the span the labels cover (see the module docstring); all of them without labels."""
    truth = entry.get("events_s")
    if not truth or not times:
        return times
    _, offset, _ = match(truth, times, entry["window_s"], entry["max_offset_s"] or 0.0)
    half = statistics.median(np.diff(truth)) / 2 if len(truth) > 1 else entry["window_s"]
    lo, hi = truth[0] + offset - half, truth[-1] + offset + half
    return [t for t in times if lo <= t <= hi]


def f_measure(match, entry: dict, times: list[float]) -> float | None:
    if not entry.get("events_s"):
        return None
    hits, _, _ = match(entry["events_s"], times, entry["window_s"], entry["max_offset_s"] or 0.0)
    if not hits:
        return 0.0
    precision, recall = hits / len(times), hits / len(entry["events_s"])
    return 2 * precision * recall / (precision + recall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only files whose name contains this (e.g. jumprope)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(CHOICES)}, or skipNms or pinkN for any N")
    parser.add_argument(
        "--labelled-span", action="store_true", help="judge files with event times only on the reps inside the span their labels cover"
    )
    args = parser.parse_args()
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in CHOICES and not re.fullmatch(r"skip\d+(\.\d+)?ms|pink\d+(\.\d+)?", v)]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}; choose from {', '.join(CHOICES)}, or skipNms or pinkN")
    if not (REAL / "manifest.json").exists() or not SCORER.exists():
        print(f"real_variants: needs {REAL / 'manifest.json'} and {SCORER} beside the checkout.", file=sys.stderr)
        return 1
    if NEED_SCIPY.intersection(names) and importlib.util.find_spec("scipy") is None:
        print("real_variants: resampled and filtered variants need scipy (pip install -e '.[bench]').", file=sys.stderr)
        return 1
    match = load_match()
    entries = [e for e in json.loads((REAL / "manifest.json").read_text()) if not args.only or args.only in e["file"]]

    per_variant: dict[str, list[tuple[dict, int, float | None]]] = {v: [] for v in names}
    spreads: list[tuple[int, str]] = []
    if args.labelled_span:
        print("Reps inside each file's labelled span only (files with event times).")
    print(f"{'file':28s} {'truth':>7s} " + " ".join(f"{v:>11s}" for v in names))
    for entry in entries:
        try:
            audio, rate = read_mono(REAL / entry["file"])
        except AudioFileError as exc:
            print(f"{entry['file']}: {exc}", file=sys.stderr)
            return 1
        cells, counts = [], []
        for name in names:
            times = count(*variant(name, audio, rate, entry["file"]), entry["drill"])
            times = [t + skipped(name, rate) / rate for t in times]  # (the recording's own time)
            if args.labelled_span:
                times = labelled_span(match, entry, times)
            f = f_measure(match, entry, times)
            per_variant[name].append((entry, len(times), f))
            counts.append(len(times))
            cells.append(f"{len(times):4d}" + (f" F{f:.2f}" if f is not None else "      "))
        spreads.append((max(counts) - min(counts), entry["file"]))
        truth = f"{entry['count']}" + (f"+-{entry['count_tolerance']}" if entry["count_tolerance"] else "")
        print(f"{entry['file']:28s} {truth:>7s} " + " ".join(f"{c:>11s}" for c in cells), flush=True)

    print()
    all_ok = all_err = all_truth = 0
    all_f: list[float] = []
    # how far each version's counts moved from the recording's own (a robust count does not move at all)
    orig = [n for _, n, _ in per_variant["orig"]] if "orig" in per_variant else None
    moved_total = 0
    for name in names:
        rows = per_variant[name]
        ok = sum(abs(n - e["count"]) <= e["count_tolerance"] for e, n, _ in rows)
        err = sum(max(0, abs(n - e["count"]) - e["count_tolerance"]) for e, n, _ in rows)
        truth = sum(e["count"] for e, _, _ in rows)
        fs = [f for _, _, f in rows if f is not None]
        all_ok, all_err, all_truth = all_ok + ok, all_err + err, all_truth + truth
        all_f += fs
        mean_f = f"{statistics.fmean(fs):.3f}" if fs else "-"
        moved = ""
        if orig is not None and name != "orig":
            n_moved = sum(abs(n - o) for (_, n, _), o in zip(rows, orig))
            moved_total += n_moved
            moved = f", {n_moved:3d} reps from orig"
        print(
            f"{name:9s} within tolerance {ok:2d} of {len(rows)}, count error {100 * err / max(1, truth):5.1f}%, "
            f"mean F {mean_f}{moved}"
        )
    spread, worst = max(spreads)
    mean_all = f"{statistics.fmean(all_f):.3f}" if all_f else "-"
    print(
        f"VARIANTS within={all_ok}/{sum(len(r) for r in per_variant.values())} "
        f"count_error_pct={100 * all_err / max(1, all_truth):.1f} mean_f={mean_all} "
        f"largest_count_spread={spread} ({worst})" + (f" moved_from_orig={moved_total}" if orig is not None else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
