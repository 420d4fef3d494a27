"""Benchmark the CPU the live screen costs: ``quietland replay`` at real time on a 48 kHz recording; prints figures (not a test).

What it measures: ``python -m quietland replay FILE --speed 1`` runs as a
child process on a pseudo-terminal of ``--size`` columns x rows (so Textual
really draws, and its output is read and thrown away as a terminal would),
for ``--seconds`` of wall time; then ``q`` is sent and the child exits. The
child's CPU time (user + system, from ``os.wait4``) divided by its wall time
is the figure: the share of one core the whole program needed to show a
session at real-time pace (reading and pacing the file, detection, rep
logic and the screen). For comparison, the same audio is analysed in this
process without a screen (``SessionPipeline`` fed 1024-sample blocks), which
is the part of the figure that is not the screen.

The recording is synthetic (:mod:`quietland.synth`): two-foot landings at
150/min in sets of 20 with 6 s rests, pink noise and babble at 30 dB SNR,
48 kHz mono 16-bit PCM, a little longer than ``--seconds``, written to a
temporary directory. ``--file PATH`` uses another recording instead.

Run from the repository root (quietland need not be installed)::

    python benchmarks/bench_ui_cpu.py [--seconds 20] [--file PATH] [--size 100x32]

The last line is one ``BENCH ...`` summary. Target: under 15% of one core.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import platform
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quietland.synth import SessionSpec, synthesize  # noqa: E402

TARGET_CPU_PCT = 15.0
"""Target: CPU of the whole replay process at real time, % of one core."""
SAMPLE_RATE_HZ = 48000
"""Sample rate of the synthetic recording, Hz."""


def render_recording(path: Path, seconds: float) -> None:
    """Write a synthetic 48 kHz session of at least ``seconds`` to ``path``."""
    import soundfile

    reps, cadence, rest = 20, 150.0, 6.0
    set_s = (reps - 1) * 60.0 / cadence
    n_sets = max(1, int(seconds // (set_s + rest)) + 1)
    spec = SessionSpec(
        sample_rate=SAMPLE_RATE_HZ, kind="landings", sets=(reps,) * n_sets, cadence_per_min=cadence, rest_s=rest,
        force_range=(0.6, 1.4), snr_db=30.0, background=("pink", "babble"), background_db=(0.0, -4.0),
        room_t60_s=0.2, seed=7,
    )
    session = synthesize(spec)
    soundfile.write(str(path), session.audio, SAMPLE_RATE_HZ, subtype="PCM_16")


def run_on_pty(cmd: list[str], seconds: float, cols: int, rows: int) -> tuple[float, float, int, int]:
    """Run ``cmd`` on a pseudo-terminal for ``seconds``, then press q.

    Returns (child CPU seconds, wall seconds, exit status, bytes the child drew).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": os.environ.get("TERM", "xterm-256color")}
    env.pop("TEXTUAL", None)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, start_new_session=True)
    os.close(slave)
    drawn = 0
    quit_sent = False
    status = None
    while status is None:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                drawn += len(os.read(master, 1 << 16))
            except OSError:  # the child closed the terminal
                pass
        if not quit_sent and time.monotonic() - t0 >= seconds:
            os.write(master, b"q")
            quit_sent = True
        pid, raw_status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(raw_status)
            cpu = usage.ru_utime + usage.ru_stime
        elif time.monotonic() - t0 > seconds + 30:
            proc.kill()
    wall = time.monotonic() - t0
    os.close(master)
    return cpu, wall, status, drawn


def pipeline_cpu(path: Path, seconds: float) -> float:
    """CPU seconds to analyse the first ``seconds`` of ``path`` without a screen, in 1024-sample blocks."""
    from quietland.audiofile import FileSource
    from quietland.pipeline import SessionPipeline

    source = FileSource(path)
    pipeline = SessionPipeline(source.sample_rate, "line-hops")
    limit = int(seconds * source.sample_rate)
    t0 = time.process_time()
    for block in source.blocks(1024):
        if pipeline.n_samples >= limit:
            break
        pipeline.process(block)
    pipeline.finish()
    return time.process_time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="wall time to run the screen, s (default 20)")
    ap.add_argument("--file", type=Path, help="recording to replay (default: a synthetic 48 kHz session)")
    ap.add_argument("--size", default="100x32", help="terminal size COLSxROWS (default 100x32)")
    ap.add_argument("--drill", default="line-hops")
    args = ap.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file or Path(tmp) / "bench-ui-48k.wav"
        if args.file is None:
            render_recording(path, args.seconds + 5.0)
        cmd = [sys.executable, "-m", "quietland", "replay", str(path), "--speed", "1", "--drill", args.drill]
        cpu, wall, status, drawn = run_on_pty(cmd, args.seconds, cols, rows)
        # the child's first ~0.5 s is interpreter start-up and imports; report it too, separately
        startup = run_on_pty([sys.executable, "-c", "import quietland.ui, quietland.cli"], 0.0, cols, rows)[0]
        base = pipeline_cpu(path, wall)
    pct = 100.0 * cpu / wall
    steady = 100.0 * max(0.0, cpu - startup) / wall
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"replay at 1x real time, {SAMPLE_RATE_HZ if args.file is None else 'file'} Hz, terminal {cols}x{rows}: "
          f"{wall:.1f} s wall, {cpu:.2f} s CPU = {pct:.1f}% of one core (exit status {status}, {drawn / 1024:.0f} KiB drawn)")
    print(f"  of which start-up (interpreter, imports): {startup:.2f} s CPU; without it {steady:.1f}%")
    print(f"  detection alone on the same audio, no screen: {base:.2f} s CPU = {100.0 * base / wall:.1f}% of one core")
    ok = pct < TARGET_CPU_PCT and status == 0
    print(f"BENCH ui_cpu_pct={pct:.1f} steady_pct={steady:.1f} pipeline_pct={100.0 * base / wall:.1f} "
          f"wall_s={wall:.1f} exit={status} target_pct={TARGET_CPU_PCT:g} {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
