"""Do a real recording's labels and its audio agree on the rhythm?

The rope recordings in ``../shared/data/real`` are labelled from video: one time
per contact (or per jump for double-unders). Their scoring fits one constant
audio/video offset per file and then matches within a window. That is only fair
when the labels and the audio keep the same rhythm: if the labels' period differs
from the audio's by a few percent, no single offset lines up more than a short run
of them, whatever the detector does.

For every manifest entry of a rope drill with event times, this script prints:

- the labels' period: the median and the mean label interval, over intervals
  shorter than 1.5 times the median (a gap between runs is not a period);
- the audio's period: the lag, within 0.75 to 1.33 times the labels' median (so
  not half, twice or 3:2 of it), at which the autocorrelation of the audio's
  high-band (above 3 kHz) onset strength over the labelled span peaks. The rope's
  clicks live in that band. Under music, the music's own beat can take this peak
  (``jumprope-alternate-03`` has music). Also for each half of that span alone;
- the autocorrelation at the labels' mean period, as a share of that peak
  (near 1: the audio repeats at the labels' period too; near 0 or below: it does not);
- the ratio of the audio's period (whole span) to the labels' mean, and how much audio (seconds) follows the last label.

It uses librosa (a runtime dependency) for the onset strength. Run it from the
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


def main() -> int:
    manifest = REAL / "manifest.json"
    if not manifest.exists():
        print(f"label_rhythm: needs {manifest} beside the checkout.", file=sys.stderr)
        return 1
    print(f"{'file':28s} {'labels':>6s} {'median':>7s} {'mean':>7s} {'audio':>7s} {'half1':>6s} {'half2':>6s} {'ratio':>6s} {'ac@mean':>8s} {'after':>6s}")
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
        mean = float(np.mean(gaps[gaps < 1.5 * median]))
        start, stop = max(0.0, labels[0] - 0.2), labels[-1] + 0.3
        mid = (start + stop) / 2
        spans = ((start, stop), (start, mid), (mid, stop))
        found = [audio_period(audio[int(a * rate) : int(b * rate)], rate, 0.75 * median, 1.33 * median, mean) for a, b in spans]
        periods = [period for period, _ in found]
        at_mean = found[0][1]
        after = audio.size / rate - labels[-1]
        print(
            f"{entry['file']:28s} {labels.size:6d} {median:7.3f} {mean:7.3f} {periods[0]:7.3f} "
            f"{periods[1]:6.3f} {periods[2]:6.3f} {periods[0] / mean:6.3f} {at_mean:8.2f} {after:6.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
