"""The ``quietland`` command line.

One function per subcommand (``cmd_analyze``, ...), each registered by an
``add_<name>_parser`` function, so a new subcommand is two functions and one
line in :func:`build_parser` (``calibrate`` and the history's commands live in
:mod:`quietland.calibrate_cli` and :mod:`quietland.history_cli`). Heavy or hardware-bound modules (soundfile,
sounddevice, Textual) are imported inside the subcommand that needs them.

Every error a user can cause ends in one line, ``quietland: error: ...`` on
stderr, and a non-zero exit: 2 for a bad command line, 1 for a file
quietland cannot analyse, 130 when interrupted. Results go to stdout;
warnings and progress go to stderr.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import dataclasses
import errno
import json
import os
import shlex
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .calibrate_cli import add_calibrate_parser, add_profiles_parser
from .capture import device_argument
from .entry import EXIT_INTERRUPTED
from .history_cli import add_history_parsers
from .names import athlete_argument
from .presets import TARGET_CADENCE_RANGE
from .reps import DRILL_RULES, DRILLS

if TYPE_CHECKING:
    from .audiofile import FileSource
    from .calibration import Profile
    from .events import Rep, RepScore
    from .pipeline import Analysis, ScriptedAction
    from .recorder import SavedSession
    from .presets import DrillPreset

EXIT_OK = 0
EXIT_FILE = 1
"""A file or a device quietland cannot use."""
EXIT_USAGE = 2
"""A bad command line."""

DEFAULT_BLOCK_SIZE = 65536
"""Samples `analyze` reads and feeds at a time: large enough that per-block overhead is small (about 1.5 s at 44.1 kHz)."""
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


def _ranged(convert: Callable[[str], float], what: str, low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """An argparse ``type``: ``convert(text)`` within ``[low, high]``, else one sentence saying what was expected."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {_plain(low)} to {_plain(high)}{unit}, got {text}")
        return value

    return parse


def _plain(x: float) -> str:
    """A bound as people write it: 1048576, 0.1."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


_block_size = _ranged(int, "a whole number of samples", MIN_BLOCK_SIZE, MAX_BLOCK_SIZE, " samples")
"""``--block-size``."""


def _add_recording_drill_argument(p: argparse.ArgumentParser) -> None:
    """``--drill`` for the commands that read a recording (``analyze``, ``replay``)."""
    p.add_argument(
        "--drill",
        choices=DRILLS,
        default=None,
        metavar="NAME",
        help="the drill performed, which decides what counts as a rep and what is rejected "
        "(see the list below). Default: for a recording quietland made, the session's own drill, "
        "new sets and drill changes (from the results JSON beside it); otherwise generic",
    )


def _add_profile_argument(p: argparse.ArgumentParser, default_text: str) -> None:
    """``--profile PATH|NAME``: the calibration profile reps are scored against."""
    p.add_argument(
        "--profile",
        metavar="PATH|NAME",
        help="score each rep against this calibration profile: a TOML file, or the NAME given to "
        f"'quietland calibrate --name' (saved in profiles/ in quietland's data directory; 'quietland profiles' lists "
        f"them). {default_text} "
        "A damaged profile is reported and the reps are scored uncalibrated",
    )


_RECORDING_TARGET_DEFAULT = "Default: for a recording quietland made, its session's target; otherwise none."
_RECORDING_PROFILE_DEFAULT = (
    "Default: for a recording quietland made, the profile its session used; otherwise none (scores are "
    "labelled uncalibrated)."
)


_cadence = _ranged(float, "a number of contacts per minute", *TARGET_CADENCE_RANGE, "/min")
"""``--target-cadence``."""


def _add_target_cadence_argument(p: argparse.ArgumentParser, default_text: str) -> None:
    p.add_argument(
        "--target-cadence",
        type=_cadence,
        metavar="N",
        help="score rhythm against a target of N contacts per minute "
        f"({TARGET_CADENCE_RANGE[0]:g}-{TARGET_CADENCE_RANGE[1]:g}) instead of each set's running "
        f"median interval; the screen shows a metronome at that beat. {default_text}",
    )


def command_text(command: str) -> str:
    """A command to type, quoted in a sentence: in single quotes, or in double quotes when it holds single quotes
    of its own (a name with a space: "quietland calibrate --name 'Mary Jane'")."""
    return f'"{command}"' if "'" in command else f"'{command}'"


def _folder_argument(text: str) -> str:
    """A folder argument: not empty ('--recordings-dir ""', an unset shell variable, would save in the default folder
    without a word)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give a folder (it is empty)")
    return text


def _plan(text: str):
    """``--plan``: ``none``, or a plan as :func:`quietland.training.parse_plan` reads it."""
    if text.strip().lower() == "none":
        return "none"
    from .training import parse_plan

    try:
        return parse_plan(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_plan_argument(p: argparse.ArgumentParser, headless: bool = False) -> None:
    p.add_argument(
        "--plan",
        type=_plan,
        metavar="PLAN",
        help="the session's plan, shown with countdowns and rests: SETSxREPS (3x10) or SETSxSECONDSs (3x30s, "
        "timed rounds), with an optional rest in seconds (3x10/90; default 60). A set ends by itself when its "
        "target or round is reached. Default: the drill preset's structure ('quietland drills'; a drill without a "
        "preset, such as line-hops, has none); 'none' for no plan"
        + (". Only the screen shows and follows a plan: not used with --headless" if headless else ""),
    )


def _choose_plan(arg, drill: str, saved: SavedSession | None = None):
    """The plan to show: ``--plan``, else the recorded session's own (``saved``), else the drill preset's default
    structure, else none."""
    if arg is None and saved is not None and saved.plan_text is not None:
        try:
            arg = _plan(saved.plan_text)
        except argparse.ArgumentTypeError:
            pass  # (a plan this version cannot read: the preset's, as for a recording that saved none)
    if arg == "none":
        return None
    if arg is not None:
        return arg
    from .presets import PRESETS

    preset = PRESETS.get(drill)
    return None if preset is None else preset.structure


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
        "Sounds that are not reps are listed with a reason: rope (the rope, not a landing), rebound (jump-rope: "
        "a double bounce's small hop between rope passes), takeoff, settle, "
        "too-quiet, echo (too soon after a contact to be a new one), precursor, off-beat, background (a steady "
        "beat that goes on without the athlete: music's drums, a metronome), lone (line hops and pogo: a faint sound "
        "alone in a rest), no-thud (line hops, pogo and single: a faint sound with none of the landings' low thud, a "
        "click or a voice). README.md explains each.",
        HELP_WIDTH,
    )
    return "drills (what counts as a rep):\n" + "\n".join(rows) + "\n\n" + rejected


def add_analyze_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        aliases=["analyse"],  # (the help's prose spells it so)
        help="count reps and measure landings in a recording",
        description=textwrap.fill(
            "Read a recording (WAV, FLAC or any format libsndfile reads; 8-96 kHz; several channels are mixed to mono, an inverted one turned back first), "
            "find every landing, count reps by the drill's rules, and report each rep's time, interval, "
            "cadence, loudness and rhythm, every rejected sound with its reason, sets and a summary. "
            "Times are counted from the recording's first sample.",
            HELP_WIDTH,
        ),
        epilog=_drill_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", metavar="PATH", help="the recording to analyse")
    _add_recording_drill_argument(p)
    _add_profile_argument(p, _RECORDING_PROFILE_DEFAULT)
    _add_target_cadence_argument(p, _RECORDING_TARGET_DEFAULT)
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
        "same for any block size; only the speed changes (small blocks are slower and save little memory)",
    )
    p.set_defaults(func=cmd_analyze)


MIN_SPEED = 0.1
"""Slowest ``--speed`` of ``replay`` and ``demo``, times real time."""
MAX_SPEED = 100.0
"""Fastest ``--speed`` (``--fast`` has no limit)."""
_speed = _ranged(float, "a number (times real time)", MIN_SPEED, MAX_SPEED)
"""``--speed``."""


def _add_pace_arguments(p: argparse.ArgumentParser) -> None:
    """``--speed X | --fast`` for the commands that play a recording on screen."""
    pace = p.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="X",
        help=f"play at X times real time ({MIN_SPEED:g}-{MAX_SPEED:g}; default: %(default)g)",
    )
    pace.add_argument("--fast", action="store_true", help="play as fast as the recording can be analysed")


def _screen_keys(quit_does: str = "quit") -> str:
    """The screen's keys, for the help of the commands that show it (``quit_does``: what q does there)."""
    return (f"space pause/resume, n new set, d change drill, q (or Ctrl-C) {quit_does}, Up/Down, Page Up/Down and "
            "Home scroll the table")


def add_replay_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay",
        help="play a recording through the live screen",
        description=textwrap.fill(
            "Play a recording through the same screen as live listening, at real time or faster: reps, "
            "level, rhythm and rejected sounds appear as they are found, with the same results as "
            "'quietland analyze'. Keys: " + _screen_keys() + ". "
            "Nothing is recorded. Needs a terminal.",
            HELP_WIDTH,
        ),
        epilog=_drill_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", metavar="PATH", help="the recording to play")
    _add_pace_arguments(p)
    _add_recording_drill_argument(p)
    _add_profile_argument(p, _RECORDING_PROFILE_DEFAULT)
    _add_target_cadence_argument(p, _RECORDING_TARGET_DEFAULT)
    _add_plan_argument(p)
    p.set_defaults(func=cmd_replay)


def add_demo_parser(subparsers: argparse._SubParsersAction) -> None:
    from .replay import DEMO_ENV

    p = subparsers.add_parser(
        "demo",
        help="play the bundled demo recording (line hops) through the live screen",
        description=textwrap.fill(
            "Play the bundled synthetic recording of three sets of line hops (recordings/demo-line-hops.wav, "
            f"or the file ${DEMO_ENV} names) through the live screen. Keys: {_screen_keys()}. Nothing is recorded. "
            "Needs a terminal.",
            HELP_WIDTH,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_pace_arguments(p)
    _add_target_cadence_argument(p, "Default: none.")
    _add_plan_argument(p)
    p.set_defaults(func=cmd_demo)


MIN_LIVE_RATE_HZ = 8000
MAX_LIVE_RATE_HZ = 96000
_sample_rate = _ranged(int, "a whole number of Hz", MIN_LIVE_RATE_HZ, MAX_LIVE_RATE_HZ, " Hz")
"""``--sample-rate``."""
_duration = _ranged(float, "a number of seconds", 0.01, 7 * 86400, " s")
"""``--duration``: seconds of audio."""


def add_devices_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "devices",
        help="list the audio input devices",
        description=textwrap.fill(
            "List the audio input devices PortAudio sees: the id and name 'quietland live --device' takes, "
            "the audio system, input channels and default sample rate. The default device is marked '*'.",
            HELP_WIDTH,
        ),
    )
    p.set_defaults(func=cmd_devices)


def add_live_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "live",
        help="listen through a microphone: count reps and measure landings as they happen",
        description=textwrap.fill(
            "Listen through a microphone, find every landing as it happens and count reps by the drill's "
            "rules, on a live screen (keys: " + _screen_keys("quit and save") + ") or, "
            "with --headless, as lines on stdout. The session's audio is saved as a WAV and its results as a "
            "JSON beside it (see --recordings-dir); the paths are printed at the end, and the session is added to "
            "the training history (under --athlete, else 'unknown'; --no-record keeps it out). Ctrl-C, SIGTERM or "
            "SIGHUP ends the session and saves it. A session killed outright (SIGKILL, power cut) leaves its WAV "
            "and the results saved a few seconds before; the next 'live' with the same recordings folder adds those "
            "to the history and says how to measure the whole WAV. With --headless, a script may "
            "start once stderr says 'quietland: listening'. Exit status: 0 (ended by --duration, q, SIGTERM or "
            "SIGHUP), 130 (Ctrl-C), 1 (the device or the output failed; what was captured is saved), 2 (a bad "
            "command line).",
            HELP_WIDTH,
        ),
        epilog=_drill_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--device",
        type=device_argument,
        metavar="ID|NAME",
        help="the input device: its id or (part of) its name, as 'quietland devices' lists them "
        "(default: the system's default input)",
    )
    p.add_argument(
        "--drill",
        choices=DRILLS,
        default="generic",
        metavar="NAME",
        help="the drill performed (see the list below; default: %(default)s)",
    )
    p.add_argument("--athlete", metavar="NAME", type=athlete_argument,
                   help="who is jumping; saved with the results and the history, and "
                   "the reps are scored against the profile saved under that name when there is one (see --profile)")
    _add_profile_argument(
        p, "Default: the profile saved under the --athlete's name if there is one ('quietland calibrate --name "
        "NAME'), else the profile named 'default' if one is saved, else none (scores are labelled uncalibrated)."
    )
    p.add_argument(
        "--sample-rate",
        type=_sample_rate,
        metavar="HZ",
        help=f"capture at HZ ({MIN_LIVE_RATE_HZ}-{MAX_LIVE_RATE_HZ}; default: the device's own rate)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--no-record", action="store_true", help="save nothing: no WAV, no results JSON")
    where.add_argument(
        "--recordings-dir",
        type=_folder_argument,
        metavar="DIR",
        help="save the session's WAV and JSON in DIR (default: recordings/ in quietland's data directory: "
        "$QUIETLAND_HOME, else $XDG_DATA_HOME/quietland, else ~/.local/share/quietland)",
    )
    p.add_argument(
        "--headless",
        action="store_true",
        help="no screen: print each rep on stdout as it is counted, and the results at the end",
    )
    p.add_argument("--duration", type=_duration, metavar="S", help="stop after S seconds of audio (default: until stopped)")
    _add_target_cadence_argument(p, "Default: none.")
    _add_plan_argument(p, headless=True)
    p.add_argument(
        "--json",
        action="store_true",
        help="with --headless: one JSON object per event as it happens (\"event\": \"rep\", \"score\" or "
        "\"cue\"), then the 'analyze --json' document as the last line",
    )
    p.set_defaults(func=cmd_live)


def add_drills_parser(subparsers: argparse._SubParsersAction) -> None:
    from .presets import LEVELS

    p = subparsers.add_parser(
        "drills",
        help="list the drill presets: level, counting rule, reps per minute, default sets and rests",
        description=textwrap.fill(
            "List the drill presets: every drill coaches name, from jump rope to depth jumps. Each has a level "
            "(beginner, intermediate, advanced), the counting rule that decides what is a rep (see 'quietland "
            "analyze --help'), the reps per minute expected within a set (one contact each; double-unders: a jump) "
            "and a default structure: sets x reps, or timed rounds (3 x 30 s), with the rest between them. "
            "Every preset name works with --drill in analyze, replay, live and 'calibrate --from' (the guided "
            "calibration steps, one hop at a time, count with the discrete jumps' presets only).",
            HELP_WIDTH,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("name", nargs="?", choices=DRILLS, metavar="NAME",
                       help="show one preset in full: what it is, what counts as a rep, its rate and structure; "
                       "a counting rule's name (generic, single, line-hops) shows the rule and the presets it counts")
    which.add_argument("--level", choices=LEVELS, help="list only the presets of this level")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document instead: {\"presets\": [...]}, each with every field and the "
                   "structure written out (structure_text); with a counting rule's name, the presets it counts")
    p.set_defaults(func=cmd_drills)


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="quietland",
        description="An audio landing meter for plyometric drills: counts reps and measures how loud "
        "and how rhythmic each landing is.",
    )
    parser.add_argument("--version", action="version", version=f"quietland {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_analyze_parser(subparsers)
    add_replay_parser(subparsers)
    add_demo_parser(subparsers)
    add_live_parser(subparsers)
    add_devices_parser(subparsers)
    add_calibrate_parser(subparsers)
    add_profiles_parser(subparsers)
    add_history_parsers(subparsers)
    add_drills_parser(subparsers)
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


def _drill_and_script(
    saved: SavedSession | None, drill: str | None, target: float | None = None,
) -> tuple[str, tuple[ScriptedAction, ...]]:
    """The drill to count by and the session actions to replay: ``--drill`` if given, else the saved session's (with
    a note saying so, and, when ``--target-cadence`` (``target``) was not given, the saved session's target too)."""
    if drill is not None:
        return drill, ()
    if saved is None or saved.drill is None:
        return "generic", ()
    drill, script = saved.drill, saved.script
    aimed = saved.target_cadence_per_min if target is None else None
    print(
        f"quietland: note: counting as the recorded session did (drill {drill}"
        + (f", {len(script)} new set{'s' if len(script) != 1 else ''} or drill change{'s' if len(script) != 1 else ''}"
           if script else "")
        + (f", rhythm against its target of {aimed:g}/min" if aimed else "")
        + "); --drill NAME overrides it" + (" (--target-cadence N the target)" if aimed else ""),
        file=sys.stderr,
    )
    return drill, script


def _warning_to(notices: list[str] | None, echo: bool = True) -> Callable[[str], None]:
    """Where a warning sentence goes: into ``notices`` (for a screen to show again, or ``analyze`` to put in its
    results) and, with ``echo``, on stderr."""
    def say(sentence: str) -> None:
        if echo:
            print(f"quietland: warning: {sentence}", file=sys.stderr)
        if notices is not None:
            notices.append(sentence)

    return say


def _choose_profile(
    arg: str | None, saved: SavedSession | None = None, *, named_default: bool = False,
    notices: list[str] | None = None, echo: bool = True,
) -> Profile:
    """The profile to score against: ``--profile`` if given, else the recorded session's own (``saved``),
    else (``named_default``) the saved profile named 'default', else the built-in uncalibrated one.

    A ``--profile`` that names no profile at all (a typo) is a bad command line, raised before anything starts.
    A profile that cannot be used (damaged, a newer format) is a warning, one sentence naming the file: added to
    ``notices`` (for a screen to show again, or ``analyze`` to put in its results) and, with ``echo``, printed on
    stderr; scoring falls back to uncalibrated. A profile read from its file that was saved with warnings (its
    landings clipped, its anchors close together) is used, and its warnings are said again the same way: the
    scores rest on it.
    """
    from .calibration import DEFAULT_PROFILE, DEFAULT_PROFILE_NAME, ProfileError, load_profile, profile_path

    say = _warning_to(notices, echo)
    _check_profile_arg(arg)
    try:
        recorded = None if arg or saved is None else saved.profile()
        if recorded is not None:
            newer = _profile_made_since(recorded)
            if newer is not None:
                made, since = (p.created[:16].replace("T", " ") for p in (recorded, newer))
                say(f"The session is scored against the profile '{recorded.name}' it used (made {made}); "
                    f"'{recorded.name}' has been calibrated again since ({since}): --profile "
                    f"{shlex.quote(recorded.name)} scores it against that one.")
            return recorded
        path = profile_path(arg) if arg else profile_path(DEFAULT_PROFILE_NAME)
        if arg or (named_default and path.exists()):
            profile = load_profile(path)
            for warning in profile.warnings:
                say(f"The profile '{path}' was saved with a warning: {warning}")
            return profile
    except ProfileError as exc:
        say(f"{str(exc).rstrip('.')}; scoring uncalibrated instead.")
    return DEFAULT_PROFILE


def _profile_made_since(recorded: Profile) -> Profile | None:
    """The saved profile of ``recorded``'s name when it is another calibration than ``recorded`` (made since: a
    recorded session keeps the profile it was scored against), else None."""
    from datetime import datetime

    from .calibration import ProfileError, is_profile_name, load_profile, profile_path

    if not recorded.calibrated or not is_profile_name(recorded.name) or not profile_path(recorded.name).is_file():
        return None
    try:
        current = load_profile(profile_path(recorded.name))
    except ProfileError:
        return None
    try:
        later = datetime.fromisoformat(current.created) > datetime.fromisoformat(recorded.created)
    except (TypeError, ValueError):
        return None
    same_place = current.device == recorded.device  # (another profile saved under the name is not this one redone)
    return current if current.calibrated and later and same_place else None


def _athletes_profile(athlete: str | None) -> str | None:
    """The saved profile named as ``athlete`` (case ignored), for ``live --athlete NAME`` with no ``--profile``;
    None when there is none. Anything at the profile's place counts: a damaged file, a folder or a link to nothing
    is the athlete's profile that cannot be used (a warning, scores uncalibrated), never a cue to score against
    the profile 'default', which is someone else's baseline."""
    from .calibration import profile_name, saved_profile

    name = profile_name(athlete or "")
    return name if saved_profile(name) is not None else None


def _check_profile_arg(arg: str | None) -> None:
    """Raise a bad command line when ``--profile`` names nothing at all (a typo): before anything starts."""
    from .calibration import profile_path

    if arg and not os.path.lexists(profile_path(arg)):
        raise CommandError(_no_profile(arg), EXIT_USAGE)


def _no_profile(arg: str) -> str:
    """The sentence for a ``--profile`` that names no file: the saved profiles, and how to make one."""
    from .calibration import PROFILE_NAME_TEXT, is_profile_name, name_clash, profile_path, profiles_dir, saved_profiles

    path = profile_path(arg)
    if (clash := name_clash(arg)) is not None:
        return f"--profile '{arg}': {clash}; give one as it is spelled, or by its path (in '{profiles_dir()}')."
    saved = saved_profiles()
    known = f"saved profiles: {', '.join(saved)}" if saved else "no profile is saved yet"
    if path.parent != profiles_dir():
        return (f"--profile '{arg}': there is no such file ({known}, in '{profiles_dir()}': give one by its name)."
                if saved else f"--profile '{arg}': there is no such file.")
    make = (f"{command_text(f'quietland calibrate --name {shlex.quote(arg)}')} makes one (a profile saved with --output "
            "is given by its path)" if is_profile_name(arg) else f"a profile's name has {PROFILE_NAME_TEXT}")
    return f"--profile '{arg}': there is no profile of that name ({known}, in '{profiles_dir()}'); {make}."


def analyze_source(
    source: FileSource, drill: str, block_size: int, on_progress: Callable[[int], None] | None = None,
    script: tuple[ScriptedAction, ...] = (), profile: Profile | None = None,
    target_cadence_per_min: float | None = None,
) -> Analysis:
    """Feed ``source`` through a :class:`~quietland.pipeline.SessionPipeline` in blocks of ``block_size``.

    The source's warnings (truncation, damage) come first in the returned
    analysis's ``warnings``. ``on_progress`` gets the samples fed so far
    after each block. Raises :class:`~quietland.audiofile.AudioFileError`.
    """
    from . import ahead
    from .pipeline import ScriptedAction, SessionPipeline

    pipeline = SessionPipeline(
        source.sample_rate, drill, script, profile=profile, target_cadence_per_min=target_cadence_per_min
    )
    # on a second core, the detector runs in a second process, blocks ahead: each block is cut and its pieces sent
    # to it before the blocks before are counted (quietland.ahead); the events are the same as in one process
    changes = any(step.action == "change-drill" for step in script)
    two = ahead.usable(source.duration_s, block_size, changes)
    with ahead.DetectorProcess(pipeline.detector) if two else contextlib.nullcontext() as detector:
        if detector is not None:
            pipeline.detector = detector  # type: ignore[assignment]
        blocks_ahead = ahead.BLOCKS_AHEAD if detector is not None else 0
        waiting: collections.deque[list] = collections.deque()  # blocks cut (and sent), not yet counted
        for block in source.blocks(block_size):
            cut = pipeline.cut(block)
            if detector is not None:
                detector.send([step for step in cut if not isinstance(step, ScriptedAction)])
            waiting.append(cut)
            if len(waiting) > blocks_ahead:
                pipeline.run(waiting.popleft())
                if on_progress is not None:
                    on_progress(pipeline.n_samples)
        while waiting:
            pipeline.run(waiting.popleft())
        if on_progress is not None:
            on_progress(pipeline.n_samples)
        _, analysis = pipeline.finish()
    return dataclasses.replace(analysis, warnings=(*source.warnings, *analysis.warnings))


def cmd_analyze(args: argparse.Namespace) -> int:
    """``quietland analyze``: analyse one recording and print a table, JSON or CSV."""
    from . import report
    from .audiofile import AudioFileError, FileSource
    from .calibration import saved_profiles
    from .recorder import saved_session

    try:
        source = FileSource(args.path)
        notices: list[str] = []  # a profile or results that cannot be used: warnings of the analysis, printed with the others
        saved = saved_session(args.path, _warning_to(notices, echo=False))
        drill, script = _drill_and_script(saved, args.drill, args.target_cadence)
        profile = _choose_profile(args.profile, saved, notices=notices, echo=False)
        target = _choose_target(args.target_cadence, saved)
        progress = None
        if source.duration_s > PROGRESS_MIN_DURATION_S and sys.stderr.isatty():
            progress = _Progress(source.name, source.frames, source.sample_rate, sys.stderr)
        try:
            analysis = analyze_source(
                source, drill, args.block_size, progress.update if progress else None, script, profile, target
            )
        finally:
            if progress:
                progress.close()
    except AudioFileError as exc:
        raise CommandError(str(exc), EXIT_FILE) from None
    # the source's warnings name the file; the pipeline's say "the recording", and are told which (one of many
    # analysed in a loop), on stderr and in the JSON alike
    named = set(source.warnings)
    warnings = (*notices, *(w if w in named else f"{source.name}: {w}" for w in analysis.warnings))
    analysis = dataclasses.replace(analysis, warnings=warnings)
    for warning in analysis.warnings:
        print(f"quietland: warning: {warning}", file=sys.stderr)
    if args.json:
        doc = report.analysis_to_dict(analysis, file=args.path, block_size=args.block_size)
        # when the recording was made, as near as the file tells: its import is dated by it (the file's path may
        # not lead back to it from wherever the JSON is imported); for a session quietland recorded, which one it
        # is, so that importing this analysis replaces the session stored from it
        session = None if saved is None else (saved.started_at, saved.athlete)
        doc = _identified(doc, _modified_at(source.path), session)
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    elif args.csv:
        report.write_csv(analysis, sys.stdout)
    else:
        sys.stdout.write(report.format_table(analysis, saved_profiles()))
    sys.stdout.flush()
    return EXIT_OK


def _identified(doc: dict, recorded_at: str | None, session: tuple[str, str | None] | None) -> dict:
    """An ``analyze --json`` document led by where its audio is (``file``), when it was recorded and, for a session
    quietland recorded, which one it is (``session``: its ``started_at`` and athlete): importing it replaces the
    session stored from that recording."""
    head = {"file": doc.pop("file"), "recorded_at": recorded_at}
    if session is not None:
        head.update(session_started_at=session[0], athlete=session[1])
    return {**head, **doc}


def _modified_at(path: Path) -> str | None:
    """The file's modification time, local ISO 8601 with its UTC offset, to the second; None if unreadable."""
    from datetime import datetime

    try:
        return datetime.fromtimestamp(path.stat().st_mtime).astimezone().isoformat(timespec="seconds")
    except (OSError, ValueError, OverflowError):
        return None


def _choose_target(arg: float | None, saved: SavedSession | None) -> float | None:
    """The cadence target: ``--target-cadence``, else the recorded session's, else none."""
    if arg is not None or saved is None:
        return arg
    return saved.target_cadence_per_min


def _play_on_screen(command: str, path: str, drill: str | None, speed: float | None, args: argparse.Namespace) -> int:
    """Play ``path`` through the live screen (``replay`` and ``demo``); return the exit status."""
    from .audiofile import AudioFileError, FileSource
    from .replay import PacedSource

    try:
        source = FileSource(path, hold_decoder_output=False)  # (the screen draws on stderr while the file is read)
    except AudioFileError as exc:
        raise CommandError(str(exc), EXIT_FILE) from None
    profile, target = getattr(args, "profile", None), getattr(args, "target_cadence", None)
    _check_profile_arg(profile)  # (a typo is said as such, not carried into the command suggested below)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # (with the options analyze shares, so that its scores are the screen's)
        shown = (shlex.quote(str(path)) + (f" --drill {drill}" if drill else "")
                 + (f" --profile {shlex.quote(profile)}" if profile else "")
                 + (f" --target-cadence {target:g}" if target else ""))
        raise CommandError(
            f"'quietland {command}' needs an interactive terminal for its screen; for printed results "
            f"use 'quietland analyze {shown}' (or 'quietland live --headless' to listen without a screen).",
            EXIT_USAGE,
        )
    from .ui import run_live_app

    from .recorder import saved_session

    notices: list[str] = []
    saved = saved_session(path, _warning_to(notices))
    drill, script = _drill_and_script(saved, drill, args.target_cadence)
    return run_live_app(
        PacedSource(source, speed), drill, script=script,
        profile=_choose_profile(profile, saved, notices=notices),
        notices=tuple(notices),
        plan=_choose_plan(args.plan, drill, saved),
        plan_ends_sets=not script,  # a recorded session's own set ends are in its script
        target_cadence=_choose_target(args.target_cadence, saved),
    )


def cmd_replay(args: argparse.Namespace) -> int:
    """``quietland replay``: play a recording through the live screen."""
    return _play_on_screen("replay", args.path, args.drill, None if args.fast else args.speed, args)


def cmd_demo(args: argparse.Namespace) -> int:
    """``quietland demo``: play the bundled demo recording through the live screen."""
    from .replay import DEMO_DRILL, DEMO_ENV, DEMO_FILE_NAME, find_demo_recording

    path = find_demo_recording()
    named = os.environ.get(DEMO_ENV)
    if path is None and named:
        raise CommandError(
            f"${DEMO_ENV} names '{named}', which is not a file; set it to the demo recording's path, or unset it "
            "to use the bundled one.",
            EXIT_FILE,
        )
    if path is None:
        raise CommandError(
            f"the demo recording {DEMO_FILE_NAME} was not found (looked in ./recordings and beside the quietland "
            "source); run quietland from its source folder or set "
            f"{DEMO_ENV} to the file's path.",
            EXIT_FILE,
        )
    return _play_on_screen("demo", str(path), DEMO_DRILL, None if args.fast else args.speed, args)


def cmd_devices(args: argparse.Namespace) -> int:
    """``quietland devices``: list the audio input devices."""
    from .capture import NO_INPUT_DEVICE, CaptureError, list_devices

    try:
        devices = list_devices()
    except CaptureError as exc:
        raise CommandError(str(exc), EXIT_FILE) from None
    if not devices:
        raise CommandError(NO_INPUT_DEVICE, EXIT_FILE)
    name_w = max(len("name"), *(len(d.name) for d in devices))
    print(f"  {'id':>3}  {'name':<{name_w}}  {'system':<10} {'inputs':>6} {'default Hz':>10}")
    for d in devices:
        mark = "*" if d.is_default else " "
        print(f"{mark} {d.id:>3}  {d.name:<{name_w}}  {d.host_api:<10} {d.channels:>6} {d.default_sample_rate_hz:>10.0f}")
    sys.stdout.flush()
    return EXIT_OK


def cmd_drills(args: argparse.Namespace) -> int:
    """``quietland drills``: list the drill presets (or show one), as a table or JSON."""
    from .presets import LEVELS, PRESETS

    rule_only = args.name is not None and args.name not in PRESETS  # a counting rule's name: the presets it counts
    chosen = [p for p in PRESETS.values() if (args.name is None or p.name == args.name or (rule_only and p.rule == args.name))
              and (args.level is None or p.level == args.level)]
    if args.json:
        doc = {"presets": [{**dataclasses.asdict(p), "structure_text": p.structure.describe()} for p in chosen]}
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return EXIT_OK
    if rule_only:
        print(_rule_card(args.name, chosen))
        return EXIT_OK
    if args.name is not None:
        print(_drill_card(chosen[0]))
        return EXIT_OK
    name_w = max(len(p.name) for p in chosen)
    rule_w = max(len("counted by"), *(len(p.rule) for p in chosen))
    rate_w = len("per min")
    print(f"  {'name':<{name_w}}  {'counted by':<{rule_w}}  {'per min':<{rate_w}}  default structure")
    for level in LEVELS:
        group = [p for p in chosen if p.level == level]
        if group:
            print(f"{level}:")
        for p in group:
            print(f"  {p.name:<{name_w}}  {p.rule:<{rule_w}}  {p.rate_text:<{rate_w}}  {p.structure.describe()}")
    print()
    print(textwrap.fill(
        "per min: reps (contacts; double-unders: jumps) per minute within a set. 'quietland drills NAME' says more "
        "about one drill. Use a name with --drill, e.g. 'quietland live --drill pogo'.", HELP_WIDTH))
    return EXIT_OK


def _drill_card(preset: DrillPreset) -> str:
    """One preset in full, for ``quietland drills NAME``."""
    rule = DRILL_RULES[preset.rule]
    rows = [
        ("counted by", f"{preset.rule}: {rule.summary}"),
        ("per minute", f"{preset.rate_text} reps within a set"),
        ("default", preset.structure.describe()),
    ]
    if preset.one_foot:
        rows.append(("landings", "on one foot: no two-foot double-contact check"))
    if preset.min_interval_s is not None:
        rows.append(("reps", f"at least {preset.min_interval_s:g} s apart; a sound sooner is part of the same rep"))
    rows.append(("use", f"quietland live --drill {preset.name}"))
    head = f"{preset.name}: {preset.title} ({preset.level})"
    note = textwrap.fill(preset.note, HELP_WIDTH, initial_indent="  ", subsequent_indent="  ")
    table = [textwrap.fill(text, HELP_WIDTH, initial_indent=f"  {key + ':':<12}", subsequent_indent=" " * 14)
             for key, text in rows]
    return "\n".join([head, note, *table])


def _rule_card(name: str, presets: list[DrillPreset]) -> str:
    """A counting rule that is no preset (``generic``, ``single``, ``line-hops``), for ``quietland drills NAME``."""
    rows = [("counts", DRILL_RULES[name].summary)]
    if presets:
        rows.append(("presets", ", ".join(p.name for p in presets) + " (each with its rate and structure: "
                     "'quietland drills PRESET')"))
    rows.append(("use", f"quietland live --drill {name}"))
    head = f"{name}: a counting rule, with no rate or default structure of its own"
    table = [textwrap.fill(text, HELP_WIDTH, initial_indent=f"  {key + ':':<12}", subsequent_indent=" " * 14)
             for key, text in rows]
    return "\n".join([head, *table])


def cmd_live(args: argparse.Namespace) -> int:
    """``quietland live``: listen through a microphone, on the screen or headless."""
    if args.json and not args.headless:
        raise CommandError("--json needs --headless (the screen shows the results)", EXIT_USAGE)
    if not args.headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CommandError(
            "'quietland live' needs an interactive terminal for its screen; use 'quietland live --headless' "
            "to listen without one.",
            EXIT_USAGE,
        )

    from .session import ENDING_SIGNALS

    # a SIGTERM or SIGHUP while the device and files are being opened ends the session as soon as it starts (the
    # default action would leave a WAV with no audio behind); the session's own handlers take over from here
    early: list[int] = []
    before = {sig: signal.signal(sig, lambda signum, frame: early.append(signum)) for sig in ENDING_SIGNALS}
    try:
        return _live(args, early)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _live(args: argparse.Namespace, early: list[int]) -> int:
    from .capture import CaptureError, MicrophoneSource
    from .recorder import RecordingError, SessionRecorder, default_recordings_dir

    notices: list[str] = []
    if args.headless and args.plan is not None:
        print("quietland: note: --plan is not used with --headless: only the screen shows and follows a plan.",
              file=sys.stderr)
    athletes = _athletes_profile(args.athlete)
    profile = _choose_profile(args.profile or athletes, named_default=True, notices=notices)
    # ('--recordings-dir=~/rec': no shell expands a ~ after '=')
    folder = Path(args.recordings_dir).expanduser() if args.recordings_dir else default_recordings_dir()
    notes: list[str] = []
    if args.athlete and not args.profile and athletes is None:  # (tidied as stored: athlete_argument)
        # (a coach's squad: who scores against whose calibration)
        from .calibration import is_profile_name

        whose = f"the profile '{profile.name}'" if profile.calibrated else "no profile (uncalibrated scores)"
        name = args.athlete
        make = command_text(f"quietland calibrate --name {shlex.quote(name) if is_profile_name(name) else 'NAME'}")
        notes.append(f"{name} has no calibration profile of their own, so the session scores against {whose}; "
                     f"{make} makes one.")
        print(f"quietland: note: {notes[-1]}", file=sys.stderr)
    for level, sentence in _unfinished_notes(folder):
        print(f"quietland: {level}: {sentence}", file=sys.stderr)
        (notes if level == "note" else notices).append(sentence)
    try:
        source = MicrophoneSource(args.device, args.sample_rate)
    except CaptureError as exc:
        raise CommandError(str(exc), EXIT_FILE) from None
    if early:
        source.close()
        print(f"quietland: {signal.Signals(early[0]).name} came before the session started; nothing was recorded.",
              file=sys.stderr)
        return EXIT_OK
    other = _other_microphone(profile, source.device.name)
    if other:
        print(f"quietland: warning: {other}", file=sys.stderr)
        notices.append(other)
    recorder = None
    if not args.no_record:
        try:
            recorder = SessionRecorder(folder, source.sample_rate, athlete=args.athlete)
        except RecordingError as exc:
            source.close()
            raise CommandError(str(exc), EXIT_FILE) from None
    try:
        if args.headless:
            return _live_headless(args, source, recorder, profile, early)
        from .ui import run_live_app

        return run_live_app(
            source, args.drill, recorder, duration_s=args.duration, profile=profile,
            plan=_choose_plan(args.plan, args.drill), target_cadence=args.target_cadence, notices=tuple(notices),
            notes=tuple(notes), early_signals=early,
        )
    finally:
        # the session closes both; this is for a screen that failed before its session started
        if recorder is not None and not recorder.used:
            recorder.close()
        source.close()
        # the results file when the last save reached it; else what the session ended with (a full disk kept an
        # earlier copy there, or none)
        results = None if recorder is None or not recorder.used else (
            recorder.results_path if recorder.results_saved else recorder.final_results
        )
        warning = None
        if results is not None:
            from .history import store_session_on_end

            warning = store_session_on_end(results, args.athlete)
            if warning:
                print(f"quietland: warning: {warning}", file=sys.stderr)
        if recorder is not None and warning is None:
            # (closed, and in the history; else its marker stays, and the next live tries again)
            recorder.release()


def _unfinished_notes(folder: Path) -> list[tuple[str, str]]:
    """Put the sessions recorded in ``folder`` that did not close (killed, or a power cut) into the training history,
    as a session that ends is put; for each, what to say, if anything, as ``(level, sentence)`` (``note`` or
    ``warning``). One that cannot be stored now (another process holds the history) is tried again next time."""
    from .recorder import unfinished_sessions

    notes = []
    for session in unfinished_sessions(folder):
        done = False
        try:
            note, done = _settle_unfinished(session.wav_path)
        finally:  # (Ctrl-C, or a failure here: found again next time)
            session.settle() if done else session.let_go()
        if note:
            notes.append(note)
    return notes


SETTLE_WAIT_S = 2.0
"""How long ``live`` waits for another process writing to the history before leaving an unfinished session for the
next time, s."""


def _settle_unfinished(wav: Path) -> tuple[tuple[str, str] | None, bool]:
    """Store the results of the session recorded in ``wav``, which did not close: what to say (see
    :func:`_unfinished_notes`), and whether it is dealt with."""
    from .history import HistoryError, read_results_file, store_session
    from .recorder import recorded_seconds

    heard_s = recorded_seconds(wav)
    results = wav.with_suffix(".json")
    whole = shlex.quote(str(wav.with_name(wav.stem + "-whole.json")))
    measure = f"quietland analyze {shlex.quote(str(wav))} --json > {whole} && quietland import {whole}"
    if not results.exists():
        if not heard_s:
            try:
                if heard_s == 0:  # (killed as it started: as a session that never started, nothing is left)
                    wav.unlink(missing_ok=True)
            except OSError:
                pass
            return None, True
        return ("note", f"A session recorded in '{wav}' did not close (quietland was killed, or the power went) "
                        f"before it saved any results; its recording holds {_span(heard_s)}. To add it to the "
                        f"history: {measure}"), True
    try:
        doc, _ = read_results_file(results)
    except HistoryError as exc:
        return ("warning", f"A session recorded in '{wav}' did not close, and its results cannot be read "
                           f"({str(exc).rstrip('.')}). To measure its recording and add it to the history: "
                           f"{measure}"), True
    stored, trouble = store_session(doc, None, source=results, busy_timeout_s=SETTLE_WAIT_S)
    started = doc.get("started_at")
    when = (f"started {started[:19].replace('T', ' ')}" if isinstance(started, str) and len(started) >= 19
            else f"recorded in '{wav}'")
    if trouble:
        return ("warning", f"The session {when} did not close, and it could not be added to the training history "
                           f"now ({trouble}); the next 'live' tries again."), False
    if doc.get("complete") is True:
        return (("note", f"The session {when} ended, but was not added to the training history then; it is there "
                         "now.") if stored else None), True
    reps = doc.get("reps")
    if isinstance(reps, list) and reps and stored is None:
        return None, True  # (imported already, or put right by an analysis of its recording)
    saved_s = doc.get("duration_s")
    saved_s = float(saved_s) if isinstance(saved_s, (int, float)) and not isinstance(saved_s, bool) else 0.0
    if stored is not None:
        what = (f"the results it saved of its first {_span(saved_s)}, {stored.reps} rep{'s' if stored.reps != 1 else ''}, "
                "are now in the training history")
    else:
        what = f"the results it saved of its first {_span(saved_s)} hold no reps"
    head = f"The session {when} did not close (quietland was killed, or the power went): {what}."
    if heard_s is None or heard_s - saved_s < 1.0:
        return ("note", head), True
    return ("note", f"{head} Its recording holds {_span(heard_s)}; to put all of it in the history: {measure}"), True


def _span(seconds: float) -> str:
    """A length of audio in words: '0.4 s', '42 s', '2 min 31 s'."""
    if seconds < 1:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{whole} s"


def _other_microphone(profile: Profile, device_name: str) -> str | None:
    """The warning for a profile calibrated live through another input device than ``device_name``, else None.

    A profile's levels are the levels one microphone heard: through another, at another gain, every score moves.
    Only the device's name is compared: its number can change whenever a device is plugged in. A profile made from
    a recording (``calibrate --from``) names no device, so it is never warned of."""
    if not profile.calibrated or profile.source != "live":
        return None
    calibrated_through = profile.device.split(" (device ", 1)[0]
    if calibrated_through == device_name:
        return None
    return (
        f"The profile '{profile.name}' was calibrated through the input {calibrated_through!r}; this session listens "
        f"through {device_name!r}, which hears landings at other levels, so its scores may be off: calibrate "
        "again with this input to score against it."
    )


def _rep_line(rep: Rep) -> str:
    """One counted rep as a line of text (``live --headless`` without ``--json``)."""

    def cell(value: float | None, spec: str) -> str:
        return "-" if value is None or value != value else format(value, spec)

    return (
        f"rep {rep.number:>4}  set {rep.set_number} #{rep.rep_in_set:<3} {rep.t_s:9.3f} s  "
        f"interval {cell(rep.interval_ms, '.0f'):>5} ms  cadence {cell(rep.cadence_per_min, '.1f'):>5}/min  "
        f"loudness {cell(rep.loudness_db, '.1f'):>6} dB  rhythm {cell(rep.rhythm_dev_pct, '+.1f'):>6} %"
        + ("  inferred (no sound heard)" if rep.inferred else "")
    )


def _score_line(score: RepScore) -> str:
    """A rep's score as a line of text (``live --headless`` without ``--json``)."""
    value = "-" if score.score is None else f"{score.score:.0f}"
    return (
        f"     rep {score.number:>4} score {value:>3}"
        + ("  double contact" if score.double_contact else "")
        + ("" if score.calibrated else "  (uncalibrated)")
    )


def _live_headless(args: argparse.Namespace, source, recorder, profile: Profile, early: list[int]) -> int:
    """Run a live session with no screen: reps on stdout as they happen, then the results.

    SIGINT (Ctrl-C), SIGTERM and SIGHUP end the session; what was captured is analysed
    and saved. Exit 0 (ended by --duration, SIGTERM or SIGHUP), 130 (Ctrl-C) or 1
    (the device stopped working; results so far are still printed and saved).
    """
    from . import report
    from .calibration import saved_profiles
    from .capture import CaptureError
    from .events import Rep
    from .session import ENDING_SIGNALS, Cued, Decided, Level, Scored, SessionRunner, Started, Status

    told: set[str] = set()
    started: list = []
    closed: list[OSError] = []  # stdout could not be written (its reader went away: '| head -3'; a full disk)

    def say(line: str) -> None:
        """A line on stdout; once that fails, the session ends (and is saved), and stdout takes no more."""
        if closed:
            return
        try:
            if sys.stdout is None:  # (started with stdout closed: '>&-')
                raise OSError(errno.EBADF, "standard output is closed")
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (OSError, ValueError) as exc:  # (ValueError: a file object closed under it)
            closed.append(exc if isinstance(exc, OSError) else OSError(errno.EBADF, "standard output is closed"))
            _stdout_to_devnull()
            runner.stop()

    def warn(sentences) -> None:
        for sentence in sentences:
            if sentence not in told:
                told.add(sentence)
                print(f"quietland: warning: {sentence}", file=sys.stderr, flush=True)

    def on_update(update) -> None:
        if isinstance(update, Decided) and isinstance(update.item, Rep):
            if args.json:
                say(json.dumps({"event": "rep", **report.rep_to_dict(update.item)}, allow_nan=False))
            else:
                say(_rep_line(update.item))
        elif isinstance(update, Scored):
            if args.json:
                say(json.dumps({"event": "score", "rep": update.score.number, **report.score_fields(update.score)},
                               allow_nan=False))
            else:
                say(_score_line(update.score))
        elif isinstance(update, Cued):
            if args.json:
                say(json.dumps({"event": "cue", **report.cue_to_dict(update.cue, source.sample_rate)}))
            print(f"quietland: cue: {update.cue.message}", file=sys.stderr, flush=True)
        elif isinstance(update, Status):
            warn(update.warnings)
        elif isinstance(update, Started):
            started.append(update)
        elif isinstance(update, Level) and len(started) == 1:
            # said once the first audio has arrived, so a script may start playing then
            first = started.pop()
            where = f"recording to {first.wav_path}" if first.wav_path else "not recording"
            scoring = f"profile {profile.name}" if profile.calibrated else "uncalibrated scores (no profile)"
            print(
                f"quietland: listening to {first.source_description} at {first.sample_rate} Hz, drill "
                f"{first.drill}, {scoring}, {where}; Ctrl-C ends the session.",
                file=sys.stderr,
                flush=True,
            )

    runner = SessionRunner(source, args.drill, recorder, on_update, duration_s=args.duration, profile=profile,
                           target_cadence_per_min=args.target_cadence)
    signals: list[int] = []

    def on_signal(signum, frame) -> None:
        if signals and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the session to end cleanly
        signals.append(signum)
        runner.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, *ENDING_SIGNALS)}
    if early:  # a signal came while the device and files were being opened
        on_signal(early[0], None)
    failure = None
    try:
        try:
            analysis = runner.run()
        except CaptureError as exc:
            failure = str(exc)
            analysis = runner.analysis
        except KeyboardInterrupt:  # a second Ctrl-C while the session was closing: say where its recording is
            if recorder is None or not recorder.wav_path.exists():
                raise
            raise CommandError(
                f"interrupted again while the session was closing; its recording is {recorder.wav_path} (a session "
                "that did not close is stored in the history, with the results saved before the end, by the next "
                "'quietland live' in that folder).", EXIT_INTERRUPTED) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    wav = None if recorder is None else recorder.wav_path
    if args.json:
        doc = report.analysis_to_dict(analysis, file=None if wav is None else str(wav), block_size=runner.block_size)
        if recorder is not None:  # (which session it is, as 'analyze --json' of its recording says: importing this
            # document replaces the session stored from it, not a second copy)
            # (recorded_at as 'analyze --json' dates the recording: by the file's time, as it was closed)
            doc = _identified(doc, _modified_at(recorder.wav_path),
                              (recorder.started_at.isoformat(timespec="milliseconds"), recorder.athlete))
        say(json.dumps(doc, allow_nan=False))
    else:
        say("\n" + report.format_table(analysis, saved_profiles()).rstrip("\n"))
    warn(w for w in analysis.warnings if w != failure)
    if recorder is not None:
        warn(recorder.warnings)
        if recorder.wav_path.exists():
            print(f"quietland: saved {recorder.wav_path}", file=sys.stderr)
        if recorder.results_saved:
            print(f"quietland: saved {recorder.results_path}", file=sys.stderr)
    if failure is None and closed:
        gone = isinstance(closed[0], BrokenPipeError)
        failure = ("the output's reader went away" if gone else
                   f"the output could not be written ({closed[0].strerror or closed[0]})") + (
            f"; the session ended there, at {analysis.summary.duration_s:.1f} s.")
    if failure is not None:
        raise CommandError(failure, EXIT_FILE)
    return EXIT_INTERRUPTED if signal.SIGINT in signals else EXIT_OK


HEAP_TOP_PAD = 16 << 20
"""Bytes glibc's allocator is asked to grow the heap by, and keep free at its top (``M_TOP_PAD``)."""


def _keep_freed_memory() -> None:
    """Ask glibc's allocator to keep :data:`HEAP_TOP_PAD` of freed memory instead of returning it at once.

    Every block, the detector allocates and frees the same few hundred KiB of numpy temporaries. With
    glibc's defaults those pages went back to the kernel and were faulted in again each time: a 10-minute
    ``analyze`` took about 760 thousand page faults and 1.5 s of system time (4.9-6.4 s in all; 3.3-3.5 s
    with this, about 8 thousand faults; measured 2026-12-02). Elsewhere than glibc this does nothing.
    """
    try:
        ctypes.CDLL(None).mallopt(-2, HEAP_TOP_PAD)  # -2: M_TOP_PAD in glibc's malloc.h
    except (OSError, AttributeError, TypeError):
        pass  # not glibc (macOS, Windows): its allocator's defaults stand


def _stdout_to_devnull() -> None:
    """Point stdout's file descriptor at /dev/null, once writing to it has failed (its reader went away, a full disk):
    Python's flush of stdout at exit then complains of nothing. A stdout with no file behind it is left as it is."""
    try:
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    When an audio device could not be released (its sound server stopped answering; see
    :attr:`quietland.capture.MicrophoneSource.hung`), the process ends here, once the command has saved and said
    everything: the interpreter's own clean-up would wait for PortAudio for as long as the server does.
    """
    rc = _main(argv)
    capture = sys.modules.get("quietland.capture")
    if capture is not None and capture.device_hung():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


def _main(argv: Sequence[str] | None) -> int:
    _keep_freed_memory()
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
        _stdout_to_devnull()
        return 1
    except OSError as exc:
        # Every file a command opens turns its errors into a CommandError; what is left is the output itself
        # (stdout on a full disk, a terminal gone): one sentence, and no second complaint at exit.
        _stdout_to_devnull()
        print(f"quietland: error: the output could not be written ({exc.strerror or exc}).", file=sys.stderr)
        return EXIT_FILE
