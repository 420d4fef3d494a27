"""Live latency: from a landing's sample entering the stream to its rep reaching the consumer.

Plays a synthetic session with known landings (``quietland.synth``, 48 kHz)
through a live session and timestamps two moments for every counted rep:

- when the block holding the rep's onset sample entered the stream: for the
  virtual microphone, the wall-clock time PortAudio delivered that block to
  the stream callback; for the simulated source, the time the block's last
  sample would have been captured;
- when the rep's ``Decided`` update reached the consumer (``on_update``).

It prints the median and 95th percentile of the difference (target: median
under 50 ms), the session's CPU use (process CPU time / wall time, all
threads), the reps counted against the truth, and which path was used. The
capture latency before the callback (PortAudio's own estimate) is printed
beside it; it is not part of the figure.

Paths: the virtual microphone (PortAudio -> ALSA -> PulseAudio, the recording
played with ``paplay`` into a null sink; see .ci/pulse-virtual-mic.sh) when a
server is reachable, else a simulated real-time source that hands out blocks
at wall-clock pace. ``--simulated`` forces the second.

    python benchmarks/bench_live.py [--simulated] [--sets N] [--block-ms MS]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from quietland.capture import BLOCK_DURATION_S
from quietland.events import Rep
from quietland.session import Decided, Level, SessionRunner
from quietland.synth import SessionSpec, synthesize

SAMPLE_RATE = 48000
DEFAULT_SOCKET = "/tmp/quietland-pulse/native"


class Timeline:
    """When each block entered the stream: arrival times and cumulative sample counts."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.ends: list[int] = []
        self._n = 0

    def add(self, t: float, frames: int) -> None:
        self._n += frames
        self.arrivals.append(t)
        self.ends.append(self._n)

    def arrival_of(self, sample: int) -> float:
        """When the block holding ``sample`` entered the stream."""
        i = int(np.searchsorted(self.ends, sample, side="right"))
        return self.arrivals[min(i, len(self.arrivals) - 1)]


class SimulatedSource:
    """The synthetic session handed out at wall-clock pace, ``block`` samples at a time."""

    def __init__(self, audio: np.ndarray, block: int, timeline: Timeline) -> None:
        self.audio = audio.astype(np.float32)
        self.sample_rate = SAMPLE_RATE
        self.block_size = block
        self.description = "simulated real-time source"
        self.timeline = timeline
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def blocks(self):
        t0 = time.monotonic()
        for i in range(0, self.audio.size, self.block_size):
            block = self.audio[i : i + self.block_size]
            due = t0 + (i + block.size) / self.sample_rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if self._stop:
                return
            self.timeline.add(due, block.size)
            yield block


def pulse_env() -> dict[str, str] | None:
    """The environment that reaches a virtual microphone, or None."""
    if shutil.which("paplay") is None or shutil.which("pactl") is None:
        return None
    env = dict(os.environ)
    if not env.get("PULSE_SERVER") and os.path.exists(DEFAULT_SOCKET):
        env["PULSE_SERVER"] = f"unix:{DEFAULT_SOCKET}"
    try:
        info = subprocess.run(["pactl", "info"], env=env, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return None
    if info.returncode != 0 or "Default Source: quietland_sink.monitor" not in info.stdout:
        return None
    return env


def run(source, on_started=None) -> tuple[list[tuple[Rep, float]], float, float, object]:
    """Run a session on ``source``; return (rep, time it reached the consumer) pairs, wall and CPU seconds, analysis."""
    decided: list[tuple[Rep, float]] = []
    first_level = threading.Event()

    def on_update(update) -> None:
        now = time.monotonic()
        if isinstance(update, Decided) and isinstance(update.item, Rep):
            decided.append((update.item, now))
        elif isinstance(update, Level) and not first_level.is_set():
            first_level.set()
            if on_started is not None:
                on_started()

    runner = SessionRunner(source, "line-hops", None, on_update)
    wall0, cpu0 = time.monotonic(), time.process_time()
    analysis = runner.run()
    return decided, time.monotonic() - wall0, time.process_time() - cpu0, analysis


def bench_virtual_mic(audio: np.ndarray, block: int, env: dict[str, str]):
    import soundfile as sf

    os.environ["PULSE_SERVER"] = env["PULSE_SERVER"]  # before PortAudio starts
    from quietland.capture import MicrophoneSource

    timeline = Timeline()

    class TimedMicrophone(MicrophoneSource):
        def _callback(self, indata, frames, time_info, status):
            timeline.add(time.monotonic(), frames)  # one append: still nothing slow in the callback
            super()._callback(indata, frames, time_info, status)

    tmp = Path(tempfile.mkdtemp(prefix="quietland-bench-"))
    wav = tmp / "session.wav"
    sf.write(wav, audio, SAMPLE_RATE, subtype="FLOAT")
    mic = TimedMicrophone("pulse", SAMPLE_RATE, block_size=block)

    def play() -> None:
        subprocess.run(["paplay", str(wav)], env=env, check=True)
        time.sleep(1.0)
        mic.stop()

    player = threading.Thread(target=play, daemon=True)
    decided, wall, cpu, analysis = run(mic, on_started=player.start)
    player.join()
    shutil.rmtree(tmp, ignore_errors=True)
    return decided, wall, cpu, analysis, timeline, mic


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--simulated", action="store_true", help="use the simulated real-time source even if a virtual microphone is there")
    ap.add_argument("--sets", type=int, default=2, help="sets of 30 line hops at 150/min (default: 2, about 35 s)")
    ap.add_argument("--block-ms", type=float, default=1000 * BLOCK_DURATION_S, help="audio per block, ms (default: what live uses)")
    args = ap.parse_args()

    spec = SessionSpec(
        sample_rate=SAMPLE_RATE, kind="landings", sets=(30,) * args.sets, cadence_per_min=150, rest_s=5.0,
        snr_db=30.0, background=("pink", "babble"), room_t60_s=0.25, seed=2026,
    )
    session = synthesize(spec)
    audio = session.audio.astype(np.float32)
    block = max(16, round(args.block_ms / 1000 * SAMPLE_RATE))
    env = None if args.simulated else pulse_env()
    print(f"session: {session.count} landings, {session.duration_s:.1f} s at {SAMPLE_RATE} Hz, blocks of {block} samples")
    if env is not None:
        path = "virtual microphone (PortAudio -> ALSA -> PulseAudio null sink, played with paplay)"
        print(f"path: {path}")
        decided, wall, cpu, analysis, timeline, mic = bench_virtual_mic(audio, block, env)
        print(f"PortAudio input latency estimate (before the callback, not included): {1000 * mic.latency_s:.1f} ms; overflows {mic.overflows}")
    else:
        path = "simulated real-time source (blocks handed out at wall-clock pace)"
        print(f"path: {path}")
        timeline = Timeline()
        decided, wall, cpu, analysis = run(SimulatedSource(audio, block, timeline))
    latencies_ms = np.array([1000.0 * (t - timeline.arrival_of(rep.sample)) for rep, t in decided])
    median = float(np.median(latencies_ms)) if latencies_ms.size else float("nan")
    p95 = float(np.percentile(latencies_ms, 95)) if latencies_ms.size else float("nan")
    detect = np.array([rep.event.detect_delay_ms for rep, _ in decided])
    print(f"reps: {analysis.summary.reps} counted, {session.count} true")
    print(f"latency, sample entering the stream -> rep at the consumer: median {median:.1f} ms, "
          f"95th percentile {p95:.1f} ms, max {latencies_ms.max():.1f} ms (target: median under 50 ms)")
    print(f"  of which audio the detector waits for after the onset: median {np.median(detect):.1f} ms")
    print(f"CPU: {cpu:.2f} s over {wall:.1f} s of session = {100 * cpu / wall:.1f}% of one core (all threads)")
    tag = "virtual_mic" if env is not None else "simulated"
    print(
        f"BENCH live path={tag} median_ms={median:.1f} p95_ms={p95:.1f} target_median_ms=50 "
        f"cpu_pct={100 * cpu / wall:.1f} reps={analysis.summary.reps}/{session.count} block={block} "
        f"rate={SAMPLE_RATE} nproc={os.cpu_count()} python={sys.version.split()[0]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
