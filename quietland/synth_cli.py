"""Write a synthetic session to disk: a 16-bit PCM WAV and its truth as JSON.

``python -m quietland.synth_cli OUT.wav [--preset demo] [--seed N] [--sample-rate HZ]``
renders a preset of :mod:`quietland.synth` and writes ``OUT.wav`` (mono) and
``OUT.truth.json`` (every truth event with its sample, time in seconds, kind,
force and set number, plus the full spec that reproduces the audio). This is
how ``recordings/demo-line-hops.wav`` is made. It lives outside the numpy-only
core because it writes files (soundfile is imported only when writing).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .synth import PRESETS, SyntheticSession, synthesize


def truth_document(session: SyntheticSession) -> dict:
    """The JSON-ready truth of ``session``: counts, spec and events (sample, t_s, kind, force, set_number)."""
    fs = session.sample_rate
    return {
        "sample_rate": fs,
        "n_samples": len(session.audio),
        "duration_s": session.duration_s,
        "count": session.count,
        "spec": dataclasses.asdict(session.spec),
        "events": [
            {"sample": e.sample, "t_s": e.sample / fs, "kind": e.kind, "force": e.force, "set_number": e.set_number}
            for e in session.truth
        ],
    }


def truth_path(wav_path: Path) -> Path:
    """``OUT.wav`` -> ``OUT.truth.json`` (beside it)."""
    return wav_path.with_name(wav_path.stem + ".truth.json")


def write_session(session: SyntheticSession, wav_path: Path) -> Path:
    """Write ``session`` as a mono 16-bit PCM WAV at ``wav_path`` and its truth beside it; return the truth path."""
    import soundfile

    soundfile.write(str(wav_path), session.audio, session.sample_rate, subtype="PCM_16")
    json_path = truth_path(wav_path)
    json_path.write_text(json.dumps(truth_document(session), indent=1) + "\n")
    return json_path


DRILL_OF_KIND = {
    "landings": "line-hops", "single": "single", "rope": "jump-rope", "rope-alternate": "jump-rope-alternate",
    "double-under": "jump-rope-double-under",
}
"""The drill a synthetic session of each kind is counted as (``--drill`` of ``quietland analyze``)."""


def analyse_with(preset: str) -> str:
    """The ``--drill`` to analyse a rendering of ``preset`` with (pogo's landings are pogo hops)."""
    return "pogo" if preset == "pogo" else DRILL_OF_KIND[PRESETS[preset].kind]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m quietland.synth_cli",
        description="Render a synthetic drill session with exact truth to a WAV and OUT.truth.json.",
    )
    parser.add_argument("out", type=Path, help="output WAV path (OUT.wav); the truth goes to OUT.truth.json")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="demo",
        help="session to render (default: demo); 'quietland analyze OUT.wav --drill DRILL' counts it, DRILL by "
        "preset: " + "; ".join(f"{name}: {analyse_with(name)}" for name in sorted(PRESETS)),
    )
    parser.add_argument("--seed", type=int, help="random seed (default: the preset's)")
    parser.add_argument("--sample-rate", type=int, metavar="HZ", help="sample rate, Hz (default: the preset's)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; return the exit code (0 ok, 1 cannot write, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    changes = {k: v for k, v in (("seed", args.seed), ("sample_rate", args.sample_rate)) if v is not None}
    try:
        spec = dataclasses.replace(PRESETS[args.preset], **changes)
    except ValueError as exc:
        print(f"synth_cli: error: {exc}", file=sys.stderr)
        return 2
    if args.out.suffix.lower() != ".wav":
        print(f"synth_cli: error: '{args.out}' must end in .wav (the session is written as a WAV).", file=sys.stderr)
        return 2
    if not args.out.parent.is_dir():
        print(f"synth_cli: error: the folder '{args.out.parent}' does not exist.", file=sys.stderr)
        return 1
    session = synthesize(spec)
    try:
        json_path = write_session(session, args.out)
    except (OSError, RuntimeError) as exc:  # soundfile reports unwritable paths as RuntimeError subclasses
        print(f"synth_cli: error: cannot write '{args.out}': {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({session.duration_s:.1f} s, {session.count} landings) and {json_path}; "
          f"'quietland analyze {args.out} --drill {analyse_with(args.preset)}' counts it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
