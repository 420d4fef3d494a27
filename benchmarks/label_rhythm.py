"""Do a real recording's labels and its audio agree on the rhythm?

The rope recordings in ``../shared/data/real`` are labelled from video: one time
per contact (or per jump for double-unders). Their scoring fits one constant
audio/video offset per file and then matches within a window. That is only fair
when the labels and the audio keep the same rhythm: if the labels' period differs
from the audio's by a few percent, no single offset lines up more than a short run
of them, whatever the detector does.

For every manifest entry of a rope drill with event times, this script prints:

- the labels' period: the median and the mean label interval, over intervals
  shorter than 1.5 times the median (a gap between runs is not a period), and
  that mean over each half of the labelled span alone (``lab1``, ``lab2``);
- the audio's period: the lag, within 0.75 to 1.33 times the labels' median (so
  not half, twice or 3:2 of it), at which the autocorrelation of the audio's
  high-band (above 3 kHz) onset strength over the labelled span peaks. The rope's
  clicks live in that band. Under music, the music's own beat can take this peak
  (``jumprope-alternate-03`` has music). Also for each half of that span alone;
- the autocorrelation at the labels' mean period, as a share of that peak
  (near 1: the audio repeats at the labels' period too; near 0 or below: it does not);
- the ratio of the audio's period (whole span) to the labels' mean, and how much audio (seconds) follows the last label;
- whether the sharpest high-band clicks of the labelled span keep one fixed grid: the
  clicks (see :func:`sharp_clicks`), the period between 0.4 and 1.1 times the labels'
  median whose grid they fit best (phase coherence), how many of them lie within
  ``GRID_MS`` of that one grid, how many would by chance (clicks times the grid's
  share of time), and their median distance from it. A click track (music, a
  metronome) holds one grid to a few ms for as long as it plays; a person's
  contacts hold one only while their pace does (a steady skipper does for a few
  seconds), so over a span whose labels change pace they drift away from it.

It uses librosa (the ``bench`` extra) for the onset strength. Run it from the
repository root::

    python benchmarks/label_rhythm.py
"""
from __future__ import annotations

import json
import sys

import numpy as np
from real_variants import REAL, read_mono  # beside this script; it puts the repository on the path

from quietland.audiofile import AudioFileError

HOP = 256
HIGH_HZ = 3000.0
GRID_MS = 30.0
"""A click this close to a grid beat is on the grid."""


def audio_period(audio: np.ndarray, rate: int, lo: float, hi: float, at: float) -> tuple[float, float]:
    """The lag in ``[lo, hi]`` s where the autocorrelation of the onset strength above ``HIGH_HZ`` peaks,
    and that autocorrelation at lag ``at`` as a share of the peak."""
    import librosa

    spec = np.abs(librosa.stft(audio, n_fft=1024, hop_length=HOP))
    freqs = librosa.fft_frequencies(sr=rate, n_fft=1024)
    strength = librosa.onset.onset_strength(S=librosa.amplitude_to_db(spec[freqs >= HIGH_HZ]), sr=rate, hop_length=HOP)
    ac = librosa.autocorrelate(strength - strength.mean())
    lags = np.arange(ac.size) * HOP / rate
    peak_i = int(np.argmax(np.where((lags >= lo) & (lags <= hi), ac, -np.inf)))
    return float(lags[peak_i]), float(ac[int(np.argmin(np.abs(lags - at)))] / ac[peak_i])


def sharp_clicks(audio: np.ndarray, rate: int) -> np.ndarray:
    """Times (s) of the sharpest clicks: peaks of the 1 ms energy envelope of the second difference
    (a steep high-pass) that are the largest within 60 ms either side and 12 dB over the median
    of the 2 s around them; each timed at the first sample within 15 ms before the peak that is
    within 6 dB of it."""
    x = audio.astype(np.float64)
    env = np.convolve(np.diff(x, 2) ** 2, np.ones(max(1, rate // 1000)), "same")
    level = 10.0 * np.log10(env + 1e-15)
    reach, lead = int(0.06 * rate), int(0.015 * rate)
    # the 2 s median, on a coarse (10 ms) grid, is plenty to tell a click from its surroundings
    step = max(1, rate // 100)
    coarse = level[::step]
    half = 100
    median = np.array([np.median(coarse[max(0, i - half) : i + half + 1]) for i in range(coarse.size)])
    times = []
    i = 0
    while i < level.size:
        j = i + int(np.argmax(level[i : i + reach]))
        if level[j] >= level[max(0, j - reach) : j + reach].max() and level[j] > median[min(j // step, median.size - 1)] + 12.0:
            k0 = max(0, j - lead)
            times.append((k0 + int(np.argmax(level[k0 : j + 1] >= level[j] - 6.0))) / rate)
            i = j + reach
        else:
            i += reach // 2
    return np.asarray(times)


def click_grid(clicks: np.ndarray, lo: float, hi: float) -> tuple[float, int, float, float]:
    """The fixed grid (period in ``[lo, hi]`` s, best phase) that ``clicks`` (s) fit best by phase coherence:
    its period, the clicks within ``GRID_MS`` of it, how many would be by chance, and their median distance (ms)."""
    periods = np.exp(np.arange(np.log(lo), np.log(hi), 1e-4))
    coherence = np.array([abs(np.mean(np.exp(2j * np.pi * clicks / p))) for p in periods])
    period = float(periods[int(np.argmax(coherence))])
    phase = np.angle(np.mean(np.exp(2j * np.pi * clicks / period))) * period / (2 * np.pi)
    dev = np.abs((clicks - phase + period / 2) % period - period / 2)
    on = dev <= GRID_MS / 1000.0
    chance = clicks.size * min(1.0, 2 * GRID_MS / 1000.0 / period)
    return period, int(on.sum()), chance, float(np.median(dev[on]) * 1000.0) if on.any() else float("nan")


def main() -> int:
    manifest = REAL / "manifest.json"
    if not manifest.exists():
        print(f"label_rhythm: needs {manifest} beside the checkout.", file=sys.stderr)
        return 1
    print(
        f"{'file':28s} {'labels':>6s} {'median':>7s} {'mean':>7s} {'lab1':>6s} {'lab2':>6s} {'audio':>7s} {'half1':>6s} {'half2':>6s} {'ratio':>6s} {'ac@mean':>8s} {'after':>6s}"
        f" {'grid':>7s} {'on/clicks':>10s} {'chance':>6s} {'dev ms':>6s}"
    )
    for entry in json.loads(manifest.read_text()):
        if not entry["drill"].startswith("jump-rope") or not entry.get("events_s"):
            continue
        try:
            audio, rate = read_mono(REAL / entry["file"])
        except AudioFileError as exc:
            print(f"{entry['file']}: {exc}", file=sys.stderr)
            return 1
        labels = np.asarray(entry["events_s"], float)
        gaps = np.diff(labels)
        median = float(np.median(gaps))
        steady = gaps < 1.5 * median
        mean = float(np.mean(gaps[steady]))
        start, stop = max(0.0, labels[0] - 0.2), labels[-1] + 0.3
        mid = (start + stop) / 2
        lab1, lab2 = (float(np.mean(gaps[steady & side])) for side in (labels[1:] < mid, labels[1:] >= mid))
        spans = ((start, stop), (start, mid), (mid, stop))
        found = [audio_period(audio[int(a * rate) : int(b * rate)], rate, 0.75 * median, 1.33 * median, mean) for a, b in spans]
        periods = [period for period, _ in found]
        at_mean = found[0][1]
        after = audio.size / rate - labels[-1]
        clicks = sharp_clicks(audio[int(start * rate) : int(stop * rate)], rate)
        grid, on, chance, dev = click_grid(clicks, 0.4 * median, 1.1 * median)
        print(
            f"{entry['file']:28s} {labels.size:6d} {median:7.3f} {mean:7.3f} {lab1:6.3f} {lab2:6.3f} {periods[0]:7.3f} "
            f"{periods[1]:6.3f} {periods[2]:6.3f} {periods[0] / mean:6.3f} {at_mean:8.2f} {after:6.1f}"
            f" {grid:7.4f} {f'{on}/{clicks.size}':>10s} {chance:6.0f} {dev:6.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
