"""The calibration subcommand: ``quietland calibrate``.

Why it exists apart from :mod:`quietland.cli`: making a profile is its own flow (a guided screen, a headless
run that announces its steps, or a profile from a recording) with its own output, a saved profile; keeping
its command line here keeps ``cli.py`` about analysing and playing audio. The profile's math is in
:mod:`quietland.calibrate` and :mod:`quietland.calibration`. Errors are raised as
:class:`quietland.cli.CommandError` (imported inside the functions, since ``cli`` imports this module), so
they end in one sentence and an exit code.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from .capture import device_argument
from .reps import DRILLS

DEFAULT_DRILL = "single"
"""How calibration landings are counted unless --drill (or, with --from, the recorded session) says otherwise."""
DEFAULT_SILENCE_S = 5.0
"""Seconds of room silence the guided steps measure unless ``--silence`` says otherwise."""
NAME_COLUMN = 24
"""Widest name ``quietland profiles`` shows whole (a longer one is cut, ending in an ellipsis)."""

if TYPE_CHECKING:
    from .calibration import Profile

__all__ = ["add_calibrate_parser", "add_profiles_parser", "cmd_calibrate", "cmd_profiles"]


def add_calibrate_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``quietland calibrate`` to the command line's ``subparsers``."""
    from .calibration import DEFAULT_PROFILE_NAME, PROFILE_NAME_TEXT, profile_name
    from .cli import HELP_WIDTH, MAX_LIVE_RATE_HZ, MIN_LIVE_RATE_HZ, _ranged, _sample_rate

    distance = _ranged(float, "a number of metres", 0.1, 20.0, " m")
    silence = _ranged(float, "a number of seconds", 1.0, 60.0, " s")

    p = subparsers.add_parser(
        "calibrate",
        help="measure the room and the athlete's quiet and normal landings: the baseline scores are made against",
        description=textwrap.fill(
            "Make a calibration profile: the baseline each landing's score is measured against. A guided screen "
            "takes you through four steps: (1) a few seconds of room silence (the noise floor), (2) a few normal "
            "hops to check the microphone's headroom, (3) five of your quietest landings and (4) five normal "
            "ones, one hop at a time about 2 s apart; then it asks where the microphone is. Calibrate with the "
            "laptop where it will stand during training: the scores only mean something with the same athlete "
            "and the same set-up. With --from, the profile is made from an existing recording of landings "
            "instead (quiet anchor: its five quietest landings; normal anchor: the median of its other landings). The profile "
            "is a TOML file; 'quietland live' uses the one named 'default' by itself, other commands take --profile.",
            HELP_WIDTH,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--from", dest="from_path", metavar="RECORDING",
                   help="make the profile from this recording of landings, with no screen and no microphone")
    p.add_argument("--device", type=device_argument, metavar="ID|NAME",
                   help="the input device, as 'quietland devices' lists it (default: the system's default input)")
    p.add_argument("--sample-rate", type=_sample_rate, metavar="HZ",
                   help=f"capture at HZ ({MIN_LIVE_RATE_HZ}-{MAX_LIVE_RATE_HZ}; default: the device's own rate)")
    p.add_argument("--name", type=profile_name, metavar="NAME",
                   help=f"the athlete's (or set-up's) name for the profile: {PROFILE_NAME_TEXT}; 'live --athlete "
                   f"NAME' scores against it by itself (default: with --output, its file's name when that is a "
                   f"profile name; else {DEFAULT_PROFILE_NAME})")
    p.add_argument("--output", metavar="PATH",
                   help="where to save the profile, a file name ending in .toml (default: profiles/NAME.toml in "
                   "quietland's data directory; an existing profile there is kept as NAME.previous.toml)")
    p.add_argument("--drill", choices=DRILLS, default=None, metavar="NAME",
                   help=f"how the calibration landings are counted (default: {DEFAULT_DRILL}, one hop at a time). The "
                   "guided steps take a discrete drill (single, squat-jumps, box-jumps, ...: take-off and settling "
                   "are not landings); with --from, any drill: the one the recording is of (default: for a "
                   "recording quietland made, its session's drill)")
    p.add_argument("--distance", type=distance, metavar="M", help="distance from the microphone to the landing spot, metres")
    p.add_argument("--surface", default="", metavar="TEXT", help="the floor surface, e.g. wood, concrete, gym mat")
    p.add_argument("--note", default="", metavar="TEXT", help="anything else about where the microphone is")
    p.add_argument("--silence", type=silence, metavar="S",
                   help=f"seconds of room silence measured in step 1 (default: {DEFAULT_SILENCE_S:g}; not with --from)")
    p.add_argument("--headless", action="store_true",
                   help="no screen: the steps start at once and are announced on stderr; where the microphone is "
                   "comes from --distance, --surface and --note")
    p.set_defaults(func=cmd_calibrate)


def add_profiles_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``quietland profiles`` to the command line's ``subparsers``."""
    from .cli import HELP_WIDTH

    p = subparsers.add_parser(
        "profiles",
        help="list the saved calibration profiles: whose, when, with which microphone, and their anchors",
        description=textwrap.fill(
            "List the calibration profiles saved by name in quietland's data directory (profiles/, as "
            "'quietland calibrate --name NAME' saves them): for each, when it was calibrated, the input device, "
            "the quiet and normal anchors and the room's floor, and how many warnings the calibration raised. "
            "A profile that cannot be read is named with the reason. 'quietland live --athlete NAME' scores "
            "against NAME's profile by itself; 'live' with no athlete uses the one named 'default'. A profile "
            "saved elsewhere with --output is not listed: give it to --profile by its path.",
            HELP_WIDTH,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true",
                   help="print one JSON document instead: {\"folder\": ..., \"profiles\": [...], \"unreadable\": [...], "
                   "\"earlier_copies\": [...]}, each profile as its TOML holds it with its \"path\"")
    p.set_defaults(func=cmd_profiles)


def cmd_profiles(args: argparse.Namespace) -> int:
    """``quietland profiles``: the saved profiles, as a table or JSON."""
    import json
    import shlex
    from datetime import datetime

    from .calibration import (
        DEFAULT_PROFILE_NAME, PREVIOUS_SUFFIX, ProfileError, same_profile_name, load_profile, profile_to_dict,
        profiles_dir,
    )
    from .cli import EXIT_FILE, EXIT_OK, HELP_WIDTH, CommandError, command_text
    from .names import columns, cut, fit, sort_key, wrap

    folder = profiles_dir()
    for there in (folder.parent, folder):  # (the data directory, then its profiles/)
        if there.exists() and not there.is_dir():
            raise CommandError(f"'{there}' is a file, not a folder, so no profile can be saved or read there: move it "
                               "aside, or set QUIETLAND_HOME to the folder quietland should keep its data in.", EXIT_FILE)
    files = sorted(folder.glob("*.toml"), key=lambda f: sort_key(f.stem)) if folder.is_dir() else []
    earlier = [f for f in files if f.stem.endswith(PREVIOUS_SUFFIX)]
    profiles, unreadable = [], []
    for f in files:
        if f in earlier:
            continue
        try:
            profiles.append((f, load_profile(f)))
        except ProfileError as exc:
            unreadable.append((f, str(exc)))
    if args.json:
        doc = {
            "folder": str(folder),
            "profiles": [{**profile_to_dict(prof), "path": str(f)} for f, prof in profiles],
            "unreadable": [{"path": str(f), "error": why} for f, why in unreadable],
            "earlier_copies": [str(f) for f in earlier],
        }
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return EXIT_OK

    def fill(text: str) -> str:
        return wrap(text, HELP_WIDTH, break_on_hyphens=False)

    def when(created: str) -> str:
        try:
            return datetime.fromisoformat(created).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return created

    if profiles:
        print(f"Calibration profiles in '{folder}':")
        name_w = max(4, *(columns(cut(f.stem, NAME_COLUMN)) for f, _ in profiles))
        print(f"  {'name':<{name_w}}  {'calibrated':<16}  quiet dB  normal dB  floor dBFS")
        for f, prof in profiles:
            print(f"  {fit(f.stem, name_w)}  {when(prof.created):<16}  {prof.quiet_db:>8.1f}  "
                  f"{prof.normal_db:>9.1f}  {prof.floor_dbfs:>10.1f}")
            about = [f"{prof.device} (recording)" if prof.source.startswith("recording:") else prof.device]
            if prof.warnings:
                about.append(f"{len(prof.warnings)} warning{'s' if len(prof.warnings) != 1 else ''}")
            if not prof.calibrated:
                about.append("not calibrated")
            if f.stem == DEFAULT_PROFILE_NAME:
                about.append("live's default")
            if not same_profile_name(f.stem, prof.name):
                about.append(f"saved as '{prof.name}'")
            where = prof.placement  # (the set-up a profile belongs to, as given when it was saved; last: cut first)
            placed = [f"{where.distance_m:g} m away" if where.distance_m is not None else "", where.surface, where.note]
            if any(placed):
                about.append(", ".join(" ".join(x.split()) for x in placed if x))
            print("    " + cut("; ".join(about), HELP_WIDTH - 4))
    else:
        print(fill(f"No calibration profile is saved yet (in '{folder}'). 'quietland calibrate' makes one; "
                   "'--name NAME' makes one for an athlete."))
    for f, why in unreadable:
        print(f"  Cannot be read: {why}")  # (unwrapped: the path is copied whole)
    if earlier:
        print(fill(f"Earlier copies kept ({len(earlier)}): " + ", ".join(f.name for f in earlier)
                   + f" (a profile calibrated again keeps the one it replaced as NAME{PREVIOUS_SUFFIX}.toml)."))
    if profiles:
        print()
        some = command_text(f"quietland live --athlete {shlex.quote(profiles[0][0].stem)}")
        print(fill(f"Under each profile: its device (or the recording it was made from), where the microphone was, and notes. The anchors are "
                   f"what each landing is scored against. {some} scores against that athlete's profile; 'quietland "
                   "calibrate --name NAME' makes or renews one. The warnings in full: 'quietland profiles --json'."))
    return EXIT_OK


def _calibration_output(args: argparse.Namespace) -> Path:
    """Where the profile goes: ``--output``, else ``profiles/NAME.toml`` in the data directory. With no ``--name``,
    ``args.name`` becomes the ``--output`` file's name when it is a profile name (``out/eve.toml``: ``eve``; a
    profile saved as ``default`` there was taken for the set-up's default), else the default name."""
    from .calibration import (
        DEFAULT_PROFILE_NAME, PROFILE_NAME_TEXT, is_profile_name, name_clash, profile_name, profile_path,
        saved_profile,
    )
    from .cli import EXIT_USAGE, CommandError

    if args.name is None:
        stem = profile_name(Path(args.output).stem) if args.output else ""
        args.name = stem if is_profile_name(stem) else DEFAULT_PROFILE_NAME
    if not is_profile_name(args.name) and (args.output is not None or saved_profile(args.name) is None):
        # (with --output too: the name is saved in the profile; a profile saved under older rules may be renewed)
        raise CommandError(f"--name {args.name!r} is not a profile name; use {PROFILE_NAME_TEXT}.", EXIT_USAGE)
    if args.output is not None:
        out = Path(args.output).expanduser()
        if out.suffix.lower() != ".toml" or out.is_dir() or not args.output.strip():
            raise CommandError(
                f"--output {args.output!r} is not a place for a profile: give a file name that ends in .toml.", EXIT_USAGE
            )
        return out
    if (clash := name_clash(args.name)) is not None:  # (which one to renew: else a third would be made)
        raise CommandError(f"--name {args.name!r}: {clash} which to renew; give one as it is spelled.", EXIT_USAGE)
    path = profile_path(args.name)
    args.name = path.stem  # (a name found in another case or spacing renews that profile under its own spelling,
    return path            # as an athlete keeps the spelling stored first: file and name never disagree)


def _check_destination(path: Path) -> None:
    """Refuse, before anything is measured, a profile destination that cannot be written, or a file there that is
    not a quietland profile (a TOML of another program's, which the save would replace): the athlete would do
    every step for nothing, or lose that file. A damaged profile there may be replaced (kept as .previous)."""
    import errno
    import os
    import tempfile
    import tomllib

    from .cli import EXIT_FILE, CommandError

    # the save writes through a symbolic link, into the folder of the file it points to; an earlier profile is kept
    # beside the link: both folders must take a file
    folders = dict.fromkeys([path.parent, Path(os.path.realpath(path)).parent])
    try:
        for there in folders:
            while not there.exists() and there != there.parent:  # (the folders the save would make: the nearest one)
                there = there.parent
            if not there.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, f"{os.strerror(errno.ENOTDIR)}: '{there}' is a file")
            with tempfile.NamedTemporaryFile(dir=there, prefix=".quietland-check-"):  # (removed at once)
                pass
    except OSError as exc:
        raise CommandError(f"the profile cannot be saved to '{path}' ({exc.strerror or exc}), so nothing was "
                           "measured: give --output a place you can write to.", EXIT_FILE) from None
    if path.is_file():
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return  # (a damaged profile, most likely: recalibrating is its cure, and it is kept as .previous)
        if doc and not ({"schema_version", "anchors", "device", "floor"} & doc.keys()):
            raise CommandError(f"'{path}' is a TOML file but not a quietland profile, so nothing was measured: give "
                               "--output another file name (a profile is saved whole over the file there).", EXIT_FILE)


def _save_new_profile(profile: Profile, path: Path) -> None:
    """Save ``profile`` to ``path``; a profile already there is kept as ``NAME.previous.toml``."""
    from .calibration import ProfileError, save_new_profile
    from .cli import EXIT_FILE, CommandError

    try:
        previous = save_new_profile(profile, path)
        if previous is not None:
            print(f"quietland: the earlier profile is kept as {previous}", file=sys.stderr)
    except ProfileError as exc:
        raise CommandError(str(exc), EXIT_FILE) from None
    except OSError as exc:
        raise CommandError(f"the profile cannot be saved to '{path}': {exc.strerror or exc}.", EXIT_FILE) from None


def _silence_s(args: argparse.Namespace) -> float:
    return DEFAULT_SILENCE_S if args.silence is None else args.silence


def _print_profile(profile: Profile, path: Path) -> None:
    print(
        f"quietland: saved profile {path}: floor {profile.floor_dbfs:.1f} dBFS, quiet landings {profile.quiet_db:.1f} dB "
        f"(median of {len(profile.quiet_landings_db)}), normal landings {profile.normal_db:.1f} dB "
        f"(median of {len(profile.normal_landings_db)}), {profile.normal_db - profile.quiet_db:.1f} dB apart.",
        file=sys.stderr,
    )
    for warning in profile.warnings:
        print(f"quietland: warning: {warning}", file=sys.stderr)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``quietland calibrate``: the guided flow (screen or headless), or ``--from RECORDING``."""
    from .calibration import Placement
    from .cli import EXIT_FILE, EXIT_USAGE, CommandError

    output = _calibration_output(args)
    placement = Placement(distance_m=args.distance, surface=args.surface, note=args.note)
    _check_destination(output)
    if args.from_path:
        if args.device or args.sample_rate or args.headless or args.silence is not None:
            raise CommandError(
                "--from reads a recording: it takes no --device, --sample-rate, --silence or --headless.", EXIT_USAGE
            )
        args.drill = _from_drill(args.from_path, args.drill)
        return _calibrate_from(args, output, placement)
    from .calibrate import step_drill_problem

    args.drill = args.drill or DEFAULT_DRILL
    if (problem := step_drill_problem(args.drill)) is not None:
        raise CommandError(f"--drill {args.drill}: {problem}", EXIT_USAGE)
    if not args.headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CommandError(
            "'quietland calibrate' needs an interactive terminal for its screen; use --headless, or --from RECORDING.",
            EXIT_USAGE,
        )
    from .capture import CaptureError, MicrophoneSource

    try:
        source = MicrophoneSource(args.device, args.sample_rate)
    except CaptureError as exc:
        raise CommandError(str(exc), EXIT_FILE) from None
    try:
        if args.headless:
            return _calibrate_headless(args, source, output, placement)
        from .ui.calibrate import run_calibration_app

        return run_calibration_app(
            source, name=args.name, output_path=output, device_label=source.description, placement=placement,
            drill=args.drill, silence_s=_silence_s(args),
        )
    finally:
        source.close()


def _from_drill(recording: str, given: str | None) -> str:
    """The drill a recording's landings are counted by: ``given`` (``--drill``), else the drill of the session
    quietland recorded in it (its results JSON), else :data:`DEFAULT_DRILL`. A drill given that is not the
    session's is warned about (its take-off or rope sounds may be taken for landings, or its landings missed)."""
    from .cli import _warning_to
    from .recorder import saved_session

    session = saved_session(recording, _warning_to(None))
    own = session.drill if session is not None else None
    if given is None:
        if own is not None:
            print(f"quietland: note: counting the landings as the session did, by drill {own!r} (from "
                  f"'{session.results_path.name}'); --drill NAME counts them otherwise.", file=sys.stderr)
        return own or DEFAULT_DRILL
    if own is not None and own != given:
        print(f"quietland: warning: the session in '{Path(recording).name}' was of drill {own!r}; its landings are "
              f"counted as {given!r}, as --drill says.", file=sys.stderr)
    return given


def _calibrate_from(args: argparse.Namespace, output: Path, placement) -> int:
    """``--from RECORDING``: the profile from a recording of landings, with no screen and no microphone."""
    from .audiofile import AudioFileError, FileSource
    from .calibrate import profile_from_audio
    from .cli import DEFAULT_BLOCK_SIZE, EXIT_FILE, EXIT_OK, CommandError

    try:
        source = FileSource(args.from_path)
        profile = profile_from_audio(
            source.blocks(DEFAULT_BLOCK_SIZE), source.sample_rate, name=args.name,
            source=f"recording:{source.path.name}", device=source.path.name, drill=args.drill, placement=placement,
            on_warning=lambda warning: print(f"quietland: warning: {source.name}: {warning}", file=sys.stderr),
        )
    except AudioFileError as exc:
        raise CommandError(str(exc), EXIT_FILE) from None
    except ValueError as exc:
        raise CommandError(f"'{args.from_path}': {exc}.", EXIT_FILE) from None
    for warning in source.warnings:
        print(f"quietland: warning: {warning}", file=sys.stderr)
    _save_new_profile(profile, output)
    _print_profile(profile, output)
    return EXIT_OK


def _calibrate_headless(args: argparse.Namespace, source, output: Path, placement) -> int:
    """The guided steps with no screen: each instruction and landing on stderr; Ctrl-C, SIGTERM or SIGHUP abandons
    (nothing saved, the device closed)."""
    import signal

    from .calibrate import STEP_NAMES, STEP_TEXT, STEPS, CalibrationSteps
    from .capture import CaptureError
    from .cli import EXIT_FILE, EXIT_INTERRUPTED, EXIT_OK, CommandError
    from .session import ENDING_SIGNALS

    steps = CalibrationSteps(source.sample_rate, drill=args.drill, silence_s=_silence_s(args))
    told: set[str] = set()
    stop: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: (stop.append(signum), source.stop()))
                for sig in (signal.SIGINT, *ENDING_SIGNALS)}  # (SIGHUP: the terminal or SSH connection is gone)
    print(f"quietland: calibrating with {source.description} at {source.sample_rate} Hz, for the profile "
          f"'{args.name}' ({output}). Step 1 of 4: {STEP_TEXT['silence']}", file=sys.stderr, flush=True)
    try:
        for block in source.blocks():
            for progress in steps.feed(block):
                for warning in progress.warnings:
                    if warning not in told:
                        told.add(warning)
                        print(f"quietland: warning: {warning}", file=sys.stderr, flush=True)
                if progress.landing_db is not None:
                    print(f"quietland: {progress.step} landing {progress.done} of {progress.needed}: "
                          f"{progress.landing_db:.1f} dB", file=sys.stderr, flush=True)
                elif progress.done == 0 and progress.step not in ("silence", "done"):
                    number = STEPS.index(progress.step) + 1
                    print(f"quietland: Step {number} of 4: {STEP_TEXT[progress.step]}", file=sys.stderr, flush=True)
            if steps.step == "done" or stop:
                break
    except CaptureError as exc:
        raise CommandError(f"{exc} Nothing was saved.", EXIT_FILE) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if steps.step != "done":
        raise CommandError(f"calibration stopped in step {STEPS.index(steps.step) + 1} of 4 ({STEP_NAMES[steps.step]}) "
                           "before it was finished; nothing was saved.",
                           EXIT_INTERRUPTED if signal.SIGINT in stop else EXIT_FILE)
    profile = steps.profile(name=args.name, device=source.description, placement=placement)
    _save_new_profile(profile, output)
    _print_profile(profile, output)
    return EXIT_OK
