"""Calibration profiles: the athlete's own loudness scale, with the microphone where it was.

Why it exists: a landing's loudness in dB says nothing between people or
microphone set-ups; within one athlete and one set-up, quieter landings mean
lower force (Phan et al., J Sports Sci 2016; McNair et al. 2000). A :class:`Profile` records that set-up:
the room's noise floor, the athlete's quiet and normal landing levels (the
two anchors of the softness score), the headroom seen and where the
microphone stood. It is saved as a readable TOML file (format documented in
``calibration/README.md``); :func:`load_profile` reads it back and refuses a
damaged or newer file with a :class:`ProfileError` that names the file.

The math here is numpy only: :func:`room_floor_dbfs` and
:func:`floor_spectrum_db` measure a stretch of room audio, and
:func:`anchors_from_levels` turns landing levels into anchors. The guided
flow that collects them live is :mod:`quietland.calibrate`.
"""
from __future__ import annotations

import math
import os
import shutil
import statistics
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_atomically
from .names import JOINERS, NAME_MAX, name_key, sort_key, tidy_name, too_long

SCHEMA_VERSION = 1
"""Version of the profile format this quietland writes and reads."""
FLOOR_FRAME_MS = 12.0
"""Frame length of the room-floor measure, ms (the detector's analysis window)."""
FLOOR_HOP_MS = 4.0
"""Hop between those frames, ms (the detector's hop)."""
FLOOR_PERCENTILE = 10.0
"""The room floor is this percentile of the frame levels (as the detector's running floor)."""
SPECTRUM_BANDS_HZ = (63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)
"""Centre frequencies of the octave bands of the floor spectrum, Hz."""
ANCHOR_LANDINGS = 5
"""Landings that make each anchor (five quietest, five normal)."""
MIN_SPAN_DB = 3.0
"""Quiet and normal anchors closer than this make a weak scale; calibration warns, scoring widens it to this."""
CLIP_PEAK_DBFS = -0.5
"""A landing peaking at or above this has clipped (or nearly): headroom warning."""
MIN_HEADROOM_ABOVE_FLOOR_DB = 15.0
"""A normal landing less than this far above the room floor is too close to it: headroom warning."""
MIN_QUIET_ABOVE_FLOOR_DB = 6.0
"""A quiet anchor less than this far above the room floor is suspect: the counting may have taken room sounds for
landings (a rope drill's rule on single hops put it 2-4 dB over the floor; single hops' own rule, 30 dB)."""
_SILENCE_DB = -120.0


class ProfileError(Exception):
    """A profile cannot be used; the message is one sentence naming the file."""


@dataclass(frozen=True)
class Placement:
    """Where the microphone was during calibration (as the athlete described it)."""

    distance_m: float | None = None
    """Distance from the microphone to where the athlete lands, metres (None: not given)."""
    surface: str = ""
    """Floor surface, e.g. ``wood``, ``concrete``, ``gym mat``."""
    note: str = ""
    """Free text, e.g. "laptop on a chair, facing the mat"."""


@dataclass(frozen=True)
class Profile:
    """One athlete's calibration with one microphone set-up."""

    name: str
    """Athlete or set-up name."""
    calibrated: bool
    """False for the built-in default: its anchors are generic, so scores are labelled uncalibrated."""
    created: str
    """When it was made, ISO 8601 with time zone."""
    source: str
    """How it was made: ``default``, ``live`` (the guided flow) or ``recording:<file name>``."""
    device: str
    """Input device used (or the recording's file name)."""
    sample_rate: int
    """Sample rate of the calibration audio, Hz."""
    floor_dbfs: float
    """Room noise floor: 10th percentile of 12 ms frame RMS levels, dBFS."""
    quiet_db: float
    """Quiet anchor: median impact level of the athlete's quietest landings, dB (the detector's ``impact_db``)."""
    normal_db: float
    """Normal anchor: median impact level of the athlete's normal landings, dB."""
    peak_dbfs: float | None = None
    """Highest peak among the calibration landings, dBFS (None: unknown)."""
    quiet_landings_db: tuple[float, ...] = ()
    """Impact level of each landing behind the quiet anchor, dB."""
    normal_landings_db: tuple[float, ...] = ()
    """Impact level of each landing behind the normal anchor, dB."""
    floor_spectrum_db: tuple[float, ...] = ()
    """Room noise level in each octave band of :data:`SPECTRUM_BANDS_HZ` below Nyquist, dB re full scale."""
    warnings: tuple[str, ...] = ()
    """Sentences the calibration raised (clipping, landings close to the floor, a narrow scale)."""
    placement: Placement = field(default_factory=Placement)
    """Where the microphone was."""

    @property
    def span_db(self) -> float:
        """Normal anchor minus quiet anchor, dB, at least :data:`MIN_SPAN_DB`."""
        return max(MIN_SPAN_DB, self.normal_db - self.quiet_db)


DEFAULT_PROFILE = Profile(
    name="default",
    calibrated=False,
    created="2026-11-23T00:00:00+00:00",
    source="default",
    device="any",
    sample_rate=48000,
    floor_dbfs=-60.0,
    quiet_db=-38.0,
    normal_db=-26.0,
    placement=Placement(distance_m=1.5, surface="", note="generic laptop microphone about 1.5 m from the landing spot"),
)
"""The profile used when the athlete has none (``calibration/default.toml`` holds the same values)."""


PROFILES_FOLDER = "profiles"
"""Folder under quietland's data directory where ``calibrate`` saves profiles by name."""
DEFAULT_PROFILE_NAME = "default"
"""The profile name ``calibrate`` uses unless told otherwise, and the one ``live`` picks up by itself."""


def profiles_dir() -> Path:
    """Where profiles are saved by name: ``profiles/`` in quietland's data directory (``$QUIETLAND_HOME`` ...)."""
    from .recorder import data_dir

    return data_dir() / PROFILES_FOLDER


PREVIOUS_SUFFIX = ".previous"
"""Added to a saved profile's name for the copy of the profile a new one replaced (``ann.previous.toml``)."""


PROFILE_NAME_TEXT = (f"letters (with their accents and marks), digits, '-', '_' and apostrophes, and spaces between "
                     f"words, starting with a letter or digit, at most {NAME_MAX} characters")
"""What a profile's name may hold, as help and errors say it."""


def profile_name(name: str) -> str:
    """``name`` as profiles are named and looked up, as athletes' names are (:func:`~quietland.names.tidy_name`):
    runs of spaces one, none at either end, accents composed (NFC: a keyboard that types 'ë' as 'e' and a
    combining diaeresis means the same name)."""
    return tidy_name(name) or ""


def same_profile_name(a: str, b: str) -> bool:
    """Whether two file or profile names are one, ignoring case, spacing, how an accent was typed and the width of
    the letters (:func:`quietland.names.name_key`: 'Ｍａｒｙ' is 'Mary', '王 芳' is '王芳')."""
    return name_key(a) == name_key(b)


def is_profile_name(name: str) -> bool:
    """Whether ``name`` may name a profile (once tidied, :func:`profile_name`): words of letters (any alphabet, with
    their accents and vowel signs: 'Zoë', 'प्रिया'), digits, ``-``, ``_`` and apostrophes ('O'Brien'), each starting
    with a letter or digit, spaces between them (an athlete's name: 'Mary Jane'), at most
    :data:`~quietland.names.NAME_MAX` characters. No '.' (``ann.previous`` is an earlier copy, ``x.toml`` a path) and
    no '/'."""
    tidy = profile_name(name)
    if not tidy or too_long(tidy) is not None:
        return False
    return all(word and word[0].isalnum() and all(c.isalnum() or c in "-_'\u2019" or c in JOINERS
                                                  or unicodedata.category(c)[0] == "M" for c in word)
               for word in tidy.split(" "))


def profile_path(name_or_path: str) -> Path:
    """A profile's file: ``name_or_path`` itself when it looks like a path (has a ``/`` or ends in ``.toml``, in any
    case), else ``<name>.toml`` in :func:`profiles_dir` (the name's accents composed, :func:`profile_name`); when no
    file has that name, the one saved profile whose name differs from it only in case or in how an accent was typed
    (as athlete names do: ``Ann`` finds ``ann``)."""
    if _looks_like_path(name_or_path):
        return Path(name_or_path).expanduser()
    path = _spelled_as(name_or_path)
    if not os.path.lexists(path):
        alike = alike_profiles(name_or_path)
        if len(alike) == 1:
            return alike[0]
    return path


def _spelled_as(name: str) -> Path:
    """The file in :func:`profiles_dir` of a profile spelled as ``name`` is (:func:`profile_name`), there or not."""
    return profiles_dir() / f"{profile_name(name)}.toml"


def _looks_like_path(text: str) -> bool:
    """Whether a ``--profile`` (or an athlete's name) is a file's path rather than a name: a ``/`` in it, or
    ``.toml`` at its end, in any case."""
    return "/" in text or os.sep in text or text.lower().endswith(".toml")


def saved_profile(name: str) -> Path | None:
    """The saved profile ``name`` finds in :func:`profiles_dir` (:func:`profile_path`), when there is something there,
    even a name made before today's rules for names (``Mary -Jane``, a name past 60 characters): what is saved
    stays usable and renewable; None for a name that looks like a path, or finds nothing."""
    tidy = profile_name(name)
    if not tidy or _looks_like_path(tidy):
        return None
    path = profile_path(tidy)
    return path if os.path.lexists(path) else None


def alike_profiles(name: str) -> list[Path]:
    """The files in :func:`profiles_dir` whose names are ``name``'s but for case, spacing, how an accent was typed or
    the letters' width (:func:`same_profile_name`), sorted; more than one (``ann.toml`` and ``ANN.toml`` saved with ``--output``) and
    none of them spelled as ``name`` is, and a name cannot choose."""
    folder = profiles_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if same_profile_name(p.stem, name))


def name_clash(name: str) -> str | None:
    """When ``name`` (not a path) finds no profile spelled as it is and several saved ones alike but for case or
    spacing (``ann.toml`` and ``ANN.toml``, made with ``--output``), the clause that says so, for a sentence to go
    on from ("...so the name cannot choose"); else None."""
    if _looks_like_path(name) or os.path.lexists(_spelled_as(name)):
        return None
    alike = alike_profiles(name)
    if len(alike) < 2:
        return None
    names = " and ".join(f"'{p.stem}'" for p in alike)
    return f"the saved profiles {names} differ only in case, spacing or character width, so the name cannot choose"


def saved_profiles() -> list[str]:
    """The names of the profiles saved in :func:`profiles_dir`, sorted (the earlier copies
    :func:`save_new_profile` keeps left out)."""
    return sorted((p.stem for p in profiles_dir().glob("*.toml") if not p.stem.endswith(PREVIOUS_SUFFIX)), key=sort_key)


# ------------------------------------------------------------------ measures
def frame_levels_dbfs(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """RMS level of each :data:`FLOOR_FRAME_MS` frame, :data:`FLOOR_HOP_MS` apart, dBFS; shape ``(frames,)``.

    Digital silence reads :data:`_SILENCE_DB`. Audio shorter than one frame gives one frame of all of it.
    """
    meter = FloorMeter(sample_rate, spectrum=False)
    meter.feed(audio)
    return meter.levels_dbfs()


def room_floor_dbfs(audio: np.ndarray, sample_rate: int) -> float:
    """Room noise floor of ``audio``: the :data:`FLOOR_PERCENTILE` th percentile of its frame levels, dBFS.

    Landings fill only a small share of frames, so a recording with landings
    in it gives about the floor of its quiet stretches. Frames of digital
    silence (a muted input, a stream not started yet) say nothing about the
    room and are left out; all silence reads -120 dBFS.
    """
    meter = FloorMeter(sample_rate, spectrum=False)
    meter.feed(audio)
    return meter.floor_dbfs()


def floor_spectrum_db(audio: np.ndarray, sample_rate: int) -> tuple[float, ...]:
    """Mean power of ``audio`` in each octave band of :data:`SPECTRUM_BANDS_HZ` below Nyquist, dB re full scale.

    Averaged over Hann-windowed :data:`SPECTRUM_FRAME` frames (half overlap); a band's
    level is the mean power per bin times its number of bins, so bands add
    up to the total level.
    """
    meter = FloorMeter(sample_rate)
    meter.feed(audio)
    return meter.spectrum_db()


SPECTRUM_FRAME = 4096
"""Samples in a frame of the floor spectrum (frames overlap by half)."""


class FloorMeter:
    """The room's floor and octave spectrum measured block by block, in memory that does not grow with the audio
    (a few numbers per 4 ms): what :func:`room_floor_dbfs`, :func:`frame_levels_dbfs` and
    :func:`floor_spectrum_db` give for the whole stream, and the spectrum of its quietest frames (a recording
    with landings in it: ``calibrate --from``). ``spectrum=False``: the levels only (no FFTs)."""

    def __init__(self, sample_rate: int, *, spectrum: bool = True) -> None:
        self.sample_rate = int(sample_rate)
        self._spectrum = spectrum
        self._n = max(1, int(round(FLOOR_FRAME_MS * sample_rate / 1000.0)))
        self._hop = max(1, int(round(FLOOR_HOP_MS * sample_rate / 1000.0)))
        self._levels: list[np.ndarray] = []
        self._carry = np.zeros(0)  # samples from the next level frame's start on
        self._spec_carry = np.zeros(0)  # samples from the next spectrum frame's start on
        self._powers: list[float] = []  # each spectrum frame's mean square
        self._bands: list[np.ndarray] = []  # each spectrum frame's power in each band
        self._window = np.hanning(SPECTRUM_FRAME)
        freqs = np.fft.rfftfreq(SPECTRUM_FRAME, 1.0 / self.sample_rate)
        self._band_masks = [
            (freqs >= c / math.sqrt(2.0)) & (freqs < c * math.sqrt(2.0))
            for c in SPECTRUM_BANDS_HZ if c / math.sqrt(2.0) < self.sample_rate / 2.0
        ]
        self._fed = 0

    def feed(self, block: np.ndarray) -> None:
        """Take the next mono block of samples."""
        x = np.asarray(block, dtype=np.float64).reshape(-1)
        self._fed += x.size
        buf = np.concatenate([self._carry, x])
        if buf.size >= self._n:
            csum = np.concatenate([[0.0], np.cumsum(buf * buf)])
            starts = np.arange(0, buf.size - self._n + 1, self._hop)
            self._levels.append(_power_db((csum[starts + self._n] - csum[starts]) / self._n))
            buf = buf[starts[-1] + self._hop :]
        self._carry = buf
        if not self._spectrum:
            return
        buf = np.concatenate([self._spec_carry, x])
        while buf.size >= SPECTRUM_FRAME:
            self._spectrum_frame(buf[:SPECTRUM_FRAME])
            buf = buf[SPECTRUM_FRAME // 2 :]
        self._spec_carry = buf

    def levels_dbfs(self) -> np.ndarray:
        """Every level frame's RMS level so far, dBFS (a stream shorter than a frame: one frame of all of it)."""
        if self._levels:
            return np.concatenate(self._levels)
        if self._carry.size:
            return _power_db(np.array([np.mean(self._carry**2)]))
        return np.array([_SILENCE_DB])

    def floor_dbfs(self) -> float:
        """As :func:`room_floor_dbfs` of everything fed."""
        levels = self.levels_dbfs()
        levels = levels[levels > _SILENCE_DB + 1.0]
        return float(np.percentile(levels, FLOOR_PERCENTILE)) if levels.size else _SILENCE_DB

    def spectrum_db(self, quietest: float = 1.0) -> tuple[float, ...]:
        """The octave spectrum of the ``quietest`` share of the spectrum frames (1: of all of them, as
        :func:`floor_spectrum_db`; all of them when there are fewer than 5; a stream shorter than a frame is one
        frame padded with zeros). Raises RuntimeError for a meter made with ``spectrum=False``."""
        if not self._spectrum:
            raise RuntimeError("this FloorMeter measures no spectrum")
        powers, bands = self._powers, self._bands
        if not bands:
            padded = np.pad(self._spec_carry, (0, SPECTRUM_FRAME - self._spec_carry.size))
            powers, bands = [float(np.mean(padded**2))], [self._band_power(padded)]
        count = len(powers) if len(powers) < 5 else max(1, int(len(powers) * quietest))
        keep = np.argsort(np.asarray(powers), kind="stable")[:count]
        mean = np.mean(np.asarray(bands)[keep], axis=0)
        return tuple(round(10.0 * math.log10(p), 2) if p > 0 else _SILENCE_DB for p in mean)

    def _spectrum_frame(self, frame: np.ndarray) -> None:
        self._powers.append(float(np.mean(frame * frame)))
        self._bands.append(self._band_power(frame))

    def _band_power(self, frame: np.ndarray) -> np.ndarray:
        spec = np.abs(np.fft.rfft(frame * self._window)) ** 2 / (np.sum(self._window**2) * SPECTRUM_FRAME / 2.0)
        return np.array([float(spec[m].sum()) for m in self._band_masks])


def _power_db(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(_SILENCE_DB, 10.0 * np.log10(np.maximum(power, 0.0)))


def anchors_from_levels(levels_db: list[float]) -> tuple[float, float, tuple[float, ...], tuple[float, ...]]:
    """Anchors from the impact levels of a recording's landings: (quiet, normal, quiet landings, normal landings).

    Quiet anchor: median of the :data:`ANCHOR_LANDINGS` quietest landings.
    Normal anchor: median of all the others (the typical landing; leaving the
    quiet ones out means a recording of the guided steps, 3 + 5 normal and 5
    quiet landings, gives anchors near the steps': the steps' normal anchor is
    the median of the last 5 only). Raises ValueError with
    fewer than :data:`ANCHOR_LANDINGS` + 1 landings.
    """
    levels = sorted(float(v) for v in levels_db if math.isfinite(v))
    if len(levels) < ANCHOR_LANDINGS + 1:
        raise ValueError(
            f"{len(levels)} landing{'s' if len(levels) != 1 else ''} found; calibration needs at least "
            f"{ANCHOR_LANDINGS + 1} (five of the quietest and some normal ones)"
        )
    quiet, others = levels[:ANCHOR_LANDINGS], levels[ANCHOR_LANDINGS:]
    return statistics.median(quiet), statistics.median(others), tuple(quiet), tuple(others)


def clipping_warning(peak_dbfs: float | None) -> str | None:
    """The warning for landings peaking at ``peak_dbfs``, or None when they leave headroom."""
    if peak_dbfs is None or peak_dbfs < CLIP_PEAK_DBFS:
        return None
    return f"Landings reach full scale (peak {peak_dbfs:.1f} dBFS): move the laptop further away or lower the input gain."


def floor_warning(landing_db: float, floor_dbfs: float) -> str | None:
    """The warning for typical landings at ``landing_db`` over a floor at ``floor_dbfs``, or None when well clear."""
    if landing_db - floor_dbfs >= MIN_HEADROOM_ABOVE_FLOOR_DB:
        return None
    return (
        f"Normal landings are only {landing_db - floor_dbfs:.1f} dB above the room's noise: move the laptop closer "
        "or raise the input gain."
    )


MIN_NORMAL_LANDINGS = 3
"""A normal anchor from fewer landings than this rests on one or two hops: calibration warns (a recording's
landings past the five quietest make it; the guided steps ask for five)."""


def calibration_warnings(
    floor_dbfs: float, quiet_db: float, normal_db: float, peak_dbfs: float | None, normal_count: int | None = None,
) -> tuple[str, ...]:
    """The sentences a calibration with these figures should tell the athlete (empty when all is well);
    ``normal_count``: the landings the normal anchor is the median of (None: not known)."""
    out = [clipping_warning(peak_dbfs), floor_warning(normal_db, floor_dbfs)]
    if normal_count is not None and normal_count < MIN_NORMAL_LANDINGS:
        out.append(
            f"The normal anchor rests on only {normal_count} landing{'s' if normal_count != 1 else ''} (the "
            f"{ANCHOR_LANDINGS} quietest make the quiet one): calibrate again with at least {MIN_NORMAL_LANDINGS} "
            "normal landings besides the quiet ones."
        )
    if floor_dbfs <= _SILENCE_DB + 1.0:
        out.append("The input was digital silence between landings: is the microphone muted or the wrong device?")
    if quiet_db - floor_dbfs < MIN_QUIET_ABOVE_FLOOR_DB:
        out.append(
            f"Quiet landings are only {quiet_db - floor_dbfs:.1f} dB above the room's noise: some may be room sounds "
            "counted as landings (is the drill the one performed?); calibrate again with quiet landings the "
            "microphone still hears clearly."
        )
    if normal_db - quiet_db < MIN_SPAN_DB:
        out.append(
            f"Quiet and normal landings differ by only {normal_db - quiet_db:.1f} dB: scores will not tell them apart well; "
            "calibrate again with your very quietest landings."
        )
    return tuple(w for w in out if w)


def make_profile(
    *,
    name: str,
    source: str,
    device: str,
    sample_rate: int,
    floor_dbfs: float,
    quiet_landings_db: tuple[float, ...],
    normal_landings_db: tuple[float, ...],
    peak_dbfs: float | None,
    floor_spectrum: tuple[float, ...] = (),
    placement: Placement = Placement(),
    created: str | None = None,
) -> Profile:
    """A calibrated profile from measured figures; anchors are the medians of the two landing lists."""
    quiet_db = float(statistics.median(quiet_landings_db))
    normal_db = float(statistics.median(normal_landings_db))
    return Profile(
        name=name,
        calibrated=True,
        created=created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        source=source,
        device=device,
        sample_rate=int(sample_rate),
        floor_dbfs=round(float(floor_dbfs), 2),
        quiet_db=round(quiet_db, 2),
        normal_db=round(normal_db, 2),
        peak_dbfs=None if peak_dbfs is None else round(float(peak_dbfs), 2),
        quiet_landings_db=tuple(round(float(v), 2) for v in quiet_landings_db),
        normal_landings_db=tuple(round(float(v), 2) for v in normal_landings_db),
        floor_spectrum_db=tuple(floor_spectrum),
        warnings=calibration_warnings(floor_dbfs, quiet_db, normal_db, peak_dbfs, len(normal_landings_db)),
        placement=replace(
            placement, distance_m=None if placement.distance_m is None else round(float(placement.distance_m), 2)
        ),
    )


# ------------------------------------------------------------------ TOML
def _toml_str(text: str) -> str:
    """A TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    for ch, esc in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = escaped.replace(ch, esc)
    escaped = "".join(c if ord(c) >= 0x20 and ord(c) != 0x7F else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 2))
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """The profile as the nested dict its TOML holds (optional values left out when unknown)."""
    anchors: dict[str, Any] = {
        "quiet_db": profile.quiet_db,
        "normal_db": profile.normal_db,
        "quiet_landings_db": list(profile.quiet_landings_db),
        "normal_landings_db": list(profile.normal_landings_db),
    }
    if profile.peak_dbfs is not None:
        anchors["peak_dbfs"] = profile.peak_dbfs
    placement: dict[str, Any] = {"surface": profile.placement.surface, "note": profile.placement.note}
    if profile.placement.distance_m is not None:
        placement["distance_m"] = profile.placement.distance_m
    return {
        "schema_version": SCHEMA_VERSION,
        "name": profile.name,
        "calibrated": profile.calibrated,
        "created": profile.created,
        "source": profile.source,
        "warnings": list(profile.warnings),
        "device": {"name": profile.device, "sample_rate": profile.sample_rate},
        "floor": {
            "level_dbfs": profile.floor_dbfs,
            "spectrum_bands_hz": list(SPECTRUM_BANDS_HZ[: len(profile.floor_spectrum_db)]),
            "spectrum_db": list(profile.floor_spectrum_db),
        },
        "anchors": anchors,
        "placement": placement,
    }


def profile_to_toml(profile: Profile) -> str:
    """The profile as a TOML document (readable; one value per line; comments say the units)."""
    doc = profile_to_dict(profile)
    lines = [
        "# quietland calibration profile (format: calibration/README.md in the quietland repository)",
        "# Levels are dB re full scale, measured by quietland with the microphone where it was.",
    ]
    for key, value in doc.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in doc.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> Path:
    """Write ``profile`` to ``path`` atomically (a temporary file renamed over it); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, lambda fh: fh.write(profile_to_toml(profile)))


def save_new_profile(profile: Profile, path: str | os.PathLike[str]) -> Path | None:
    """Save a newly made profile to ``path``; a profile already there is kept as ``<name>.previous.toml``.

    Returns where the earlier profile was kept (None when there was none). Raises OSError, and ProfileError for
    a profile that :func:`load_profile` would refuse (normal landings no louder than the quiet ones): nothing is
    written then, and an earlier profile stays where it was.
    """
    if profile.normal_db <= profile.quiet_db:
        raise ProfileError(
            f"The normal landings ({profile.normal_db:.1f} dB) were no louder than the quiet ones ({profile.quiet_db:.1f} dB), "
            "so they cannot anchor a score and nothing was saved: calibrate again, landing as softly as you can in "
            "the quiet step and as you usually land in the normal one."
        )
    path = Path(path)
    if path.suffix.lower() != ".toml" or path.is_dir():
        raise ProfileError(
            f"'{path}' is not a place for a profile: a profile is a file whose name ends in .toml; nothing was saved."
        )
    previous = None
    if path.exists():
        # copied, not moved: should the new profile fail to save, the old one is still where it was
        previous = path.with_name(path.stem + PREVIOUS_SUFFIX + path.suffix)
        shutil.copy2(path, previous)
    save_profile(profile, path)
    return previous


def _named(path: Path) -> str:
    """How a message names the profile at ``path``: its own TOML file, or the one saved in a results JSON."""
    return f"The profile '{path}'" if path.suffix.lower() == ".toml" else f"The profile in '{path}'"


def _get(doc: dict[str, Any], dotted: str, kinds: tuple[type, ...], path: Path, required: bool = True) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            if required:
                raise ProfileError(f"{_named(path)} is missing '{dotted}'.")
            return None
        node = node[part]
    if kinds == (float,) and isinstance(node, int) and not isinstance(node, bool):
        node = _float(node, dotted, path)
    if not isinstance(node, kinds) or (isinstance(node, bool) and bool not in kinds):
        raise ProfileError(f"{_named(path)} has a bad '{dotted}': {node!r}.")
    if isinstance(node, float) and not math.isfinite(node):
        raise ProfileError(f"{_named(path)} has a bad '{dotted}': {node!r}.")
    return node


def _floats(values: Any, dotted: str, path: Path) -> tuple[float, ...]:
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ProfileError(f"{_named(path)} has a bad '{dotted}': it must be a list of numbers.")
    out = tuple(_float(v, dotted, path) for v in values)
    if not all(math.isfinite(v) for v in out):
        raise ProfileError(f"{_named(path)} has a bad '{dotted}': it must be a list of finite numbers.")
    return out


def _float(value: int | float, dotted: str, path: Path) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ProfileError(f"{_named(path)} has a bad '{dotted}': a number too large for a profile.") from None


def profile_from_dict(doc: dict[str, Any], path: Path) -> Profile:
    """A profile from its TOML dict; raises :class:`ProfileError` naming ``path`` for anything wrong."""
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProfileError(f"{_named(path)} has no valid 'schema_version'; it is not a quietland profile.")
    if version > SCHEMA_VERSION:
        raise ProfileError(
            f"{_named(path)} uses format version {version}, newer than this quietland reads ({SCHEMA_VERSION}); "
            "upgrade quietland or calibrate again."
        )
    if version < 1:
        raise ProfileError(f"{_named(path)} has an invalid 'schema_version' {version}.")
    quiet = _get(doc, "anchors.quiet_db", (float,), path)
    normal = _get(doc, "anchors.normal_db", (float,), path)
    if normal <= quiet:
        raise ProfileError(f"{_named(path)} has its normal anchor ({normal} dB) at or below its quiet anchor ({quiet} dB).")
    rate = _get(doc, "device.sample_rate", (int,), path)
    if not 1000 <= rate <= 384000:
        raise ProfileError(f"{_named(path)} has a bad 'device.sample_rate': {rate}.")
    distance = _get(doc, "placement.distance_m", (float,), path, required=False)
    warnings = doc.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise ProfileError(f"{_named(path)} has a bad 'warnings': it must be a list of sentences.")
    return Profile(
        name=_get(doc, "name", (str,), path),
        calibrated=_get(doc, "calibrated", (bool,), path),
        created=str(_get(doc, "created", (str,), path)),
        source=_get(doc, "source", (str,), path),
        device=_get(doc, "device.name", (str,), path),
        sample_rate=rate,
        floor_dbfs=_get(doc, "floor.level_dbfs", (float,), path),
        quiet_db=quiet,
        normal_db=normal,
        peak_dbfs=_get(doc, "anchors.peak_dbfs", (float,), path, required=False),
        quiet_landings_db=_floats(doc.get("anchors", {}).get("quiet_landings_db"), "anchors.quiet_landings_db", path),
        normal_landings_db=_floats(doc.get("anchors", {}).get("normal_landings_db"), "anchors.normal_landings_db", path),
        floor_spectrum_db=_floats(doc.get("floor", {}).get("spectrum_db"), "floor.spectrum_db", path),
        warnings=tuple(warnings),
        placement=Placement(
            distance_m=distance,
            surface=_get(doc, "placement.surface", (str,), path, required=False) or "",
            note=_get(doc, "placement.note", (str,), path, required=False) or "",
        ),
    )


def load_profile(path: str | os.PathLike[str]) -> Profile:
    """Read a profile; raises :class:`ProfileError` (one sentence naming the file) for anything unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # (an editor's byte-order mark is not TOML)
    except FileNotFoundError:
        raise ProfileError(f"{_named(path)} does not exist.") from None
    except IsADirectoryError:
        raise ProfileError(f"{_named(path)} is a folder, not a file.") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{_named(path)} is not a text file.") from None
    except OSError as exc:
        raise ProfileError(f"{_named(path)} cannot be read: {exc.strerror or exc}.") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{_named(path)} is not valid TOML ({exc}).") from None
    return profile_from_dict(doc, path)
