"""The ``quietland`` command line.

One function per subcommand (``cmd_analyze``, ...), each registered by an
``add_<name>_parser`` function, so a new subcommand is two functions and one
line in :func:`build_parser`. Heavy or hardware-bound modules (soundfile,
sounddevice, Textual) are imported inside the subcommand that needs them.

Every error a user can cause ends in one line, ``quietland: error: ...`` on
stderr, and a non-zero exit: 2 for a bad command line, 1 for a file
quietland cannot analyse, 130 when interrupted. Results go to stdout;
warnings and progress go to stderr.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import __version__
from .reps import DRILL_RULES, DRILLS

if TYPE_CHECKING:
    from .audiofile import FileSource
    from .pipeline import Analysis

EXIT_OK = 0
EXIT_FILE = 1
"""A file (or, later, a device) quietland cannot use."""
EXIT_USAGE = 2
"""A bad command line."""
EXIT_INTERRUPTED = 130

DEFAULT_BLOCK_SIZE = 4096
MIN_BLOCK_SIZE = 16
MAX_BLOCK_SIZE = 1 << 20
PROGRESS_MIN_DURATION_S = 20.0
"""Files longer than this show progress on stderr (when stderr is a terminal)."""
PROGRESS_INTERVAL_S = 0.2
"""Least time between two progress updates."""
HELP_WIDTH = 79


class UsageError(Exception):
    """A bad command line; the message is printed after ``quietland: error:``."""


class CommandError(Exception):
    """A subcommand failed for a reason the user can fix; carries its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad command line raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _block_size(text: str) -> int:
    """argparse type for ``--block-size``: a whole number of samples in range."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of samples, got {text!r}") from None
    if not MIN_BLOCK_SIZE <= n <= MAX_BLOCK_SIZE:
        raise argparse.ArgumentTypeError(f"must be from {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE} samples, got {n}")
    return n


def _drill_epilog() -> str:
    """The drill list for ``analyze --help``, one wrapped entry per drill."""
    width = max(len(name) for name in DRILLS)
    rows = [
        textwrap.fill(
            DRILL_RULES[name].summary,
            HELP_WIDTH,
            initial_indent=f"  {name:<{width}}  ",
            subsequent_indent=" " * (width + 4),
        )
        for name in DRILLS
    ]
    rejected = textwrap.fill(
        "Sounds that are not reps are listed with a reason: rope (the rope, not a landing), takeoff, settle, "
        "too-quiet, echo (too soon after a contact to be a new one). README.md explains each.",
        HELP_WIDTH,
    )
    return "drills (what counts as a rep):\n" + "\n".join(rows) + "\n\n" + rejected


def add_analyze_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="count reps and measure landings in a recording",
        description=textwrap.fill(
            "Read a recording (WAV, FLAC or any format libsndfile reads; 8-96 kHz; stereo is mixed to mono), "
            "find every landing, count reps by the drill's rules, and report each rep's time, interval, "
            "cadence, loudness and rhythm, every rejected sound with its reason, sets and a summary. "
            "Times are counted from the recording's first sample.",
            HELP_WIDTH,
        ),
        epilog=_drill_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", metavar="PATH", help="the recording to analyse")
    p.add_argument(
        "--drill",
        choices=DRILLS,
        default="generic",
        metavar="NAME",
        help="the drill performed, which decides what counts as a rep and what is rejected "
        "(see the list below; default: %(default)s)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON document on stdout instead of a table")
    fmt.add_argument(
        "--csv", action="store_true", help="print CSV on stdout, one row per rep or rejected sound, instead of a table"
    )
    p.add_argument(
        "--block-size",
        type=_block_size,
        default=DEFAULT_BLOCK_SIZE,
        metavar="N",
        help="samples read from the file and fed to the detector at a time "
        f"({MIN_BLOCK_SIZE}-{MAX_BLOCK_SIZE}; default: %(default)s); the detector streams, so results are the "
        "same for any block size: it only trades speed against memory",
    )
    p.set_defaults(func=cmd_analyze)


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="quietland",
        description="An audio landing meter for plyometric drills: counts reps and measures how loud "
        "and how rhythmic each landing is.",
    )
    parser.add_argument("--version", action="version", version=f"quietland {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_analyze_parser(subparsers)
    return parser


class _Progress:
    """A one-line progress display on a terminal stream, rewritten in place and erased at the end."""

    def __init__(self, label: str, total_frames: int, sample_rate: int, stream) -> None:
        self.label = label
        self.total_frames = max(1, total_frames)
        self.sample_rate = sample_rate
        self.stream = stream
        self._last_t = 0.0
        self._width = 0

    def update(self, done_frames: int) -> None:
        now = time.monotonic()
        if now - self._last_t < PROGRESS_INTERVAL_S:
            return
        self._last_t = now
        pct = min(100.0, 100.0 * done_frames / self.total_frames)
        line = (
            f"quietland: analysing {self.label}: {pct:3.0f}% "
            f"({done_frames / self.sample_rate:.0f} of {self.total_frames / self.sample_rate:.0f} s)"
        )
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def close(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def analyze_source(
    source: FileSource, drill: str, block_size: int, on_progress: Callable[[int], None] | None = None
) -> Analysis:
    """Feed ``source`` through a :class:`~quietland.pipeline.SessionPipeline` in blocks of ``block_size``.

    The source's warnings (truncation, damage) come first in the returned
    analysis's ``warnings``. ``on_progress`` gets the samples fed so far
    after each block. Raises :class:`~quietland.audiofile.AudioFileError`.
    """
    from .pipeline import SessionPipeline

    pipeline = SessionPipeline(source.sample_rate, drill)
    for block in source.blocks(block_size):
        pipeline.process(block)
        if on_progress is not None:
            on_progress(pipeline.n_samples)
    _, analysis = pipeline.finish()
    return dataclasses.replace(analysis, warnings=(*source.warnings, *analysis.warnings))


def cmd_analyze(args: argparse.Namespace) -> int:
    """``quietland analyze``: analyse one recording and print a table, JSON or CSV."""
    from . import report
    from .audiofile import AudioFileError, FileSource

    try:
        source = FileSource(args.path)
        progress = None
        if source.duration_s > PROGRESS_MIN_DURATION_S and sys.stderr.isatty():
            progress = _Progress(source.name, source.frames, source.sample_rate, sys.stderr)
        try:
            analysis = analyze_source(source, args.drill, args.block_size, progress.update if progress else None)
        finally:
            if progress:
                progress.close()
    except AudioFileError as exc:
        raise CommandError(str(exc), EXIT_FILE) from None
    for warning in analysis.warnings:
        print(f"quietland: warning: {warning}", file=sys.stderr)
    if args.json:
        doc = report.analysis_to_dict(analysis, file=args.path, block_size=args.block_size)
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    elif args.csv:
        report.write_csv(analysis, sys.stdout)
    else:
        sys.stdout.write(report.format_table(analysis))
    sys.stdout.flush()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("no command given; try 'quietland analyze PATH' or 'quietland --help'")
    except UsageError as exc:
        print(f"quietland: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version print and exit
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"quietland: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("quietland: error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
