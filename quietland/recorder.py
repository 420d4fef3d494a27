"""Saving a live session: its audio as a WAV and its results as JSON beside it.

Why it exists: a session is worth keeping (to replay it, to compare it with
the next one), and a crash, Ctrl-C, SIGTERM or a full disk must not lose what
was captured. :class:`SessionRecorder` owns one pair of files:

- ``quietland-YYYYmmdd-HHMMSS[-N].wav``: the samples exactly as the session
  analysed them (mono 32-bit float), written by a thread fed from a queue.
  The header is brought up to date about once a second, so even a killed
  process leaves a WAV that reads back to its last update. A name in use is
  never reused (the WAV is created with O_EXCL).
- the same name with ``.json``: the session's results (the ``analyze --json``
  document plus configuration, athlete, times and user actions), replaced
  atomically (temporary file + ``os.replace``, fsynced) whenever the session
  asks (every few seconds while reps come, at each set end and at the end), so
  it is always a whole document. A thread of its own writes it, so a slow disk's
  fsync never holds the audio back, and only the newest document waiting is
  written: one the disk was too slow to take is passed over for the next. Between saves each rep is converted to text
  once (:class:`~quietland.report.EntryTexts`) and the document is written
  piece by piece, so saving often costs little time (a few ms at thousands of
  reps) and leaves no memory behind.

A write that fails (disk full) stops the recording, not the session: the
WAV keeps what was written, a sentence goes into :attr:`SessionRecorder.warnings`
and measuring goes on.

A session that never closes (SIGKILL, a power cut) must not go unnoticed: while
it is open, a hidden marker ``.quietland-...open`` beside its WAV is held under
an exclusive ``flock``, which the system lets go of with the process. The marker
is removed once the session is closed and in the training history
(:meth:`SessionRecorder.release`); a marker nobody holds is a session that did
not close, and :func:`unfinished_sessions` finds it for the next ``live``. numpy
and the standard library only.
"""
from __future__ import annotations

import errno
import json
import os
import queue
import struct
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    import fcntl
except ImportError:  # (not on Windows: there, a session that does not close is not looked for)
    fcntl = None  # type: ignore[assignment]

from .atomic import write_atomically
from .calibration import Profile, ProfileError, profile_from_dict, profile_to_dict
from .presets import TARGET_CADENCE_RANGE

if TYPE_CHECKING:
    from collections.abc import Callable

    from .pipeline import Analysis, ScriptedAction

FLUSH_INTERVAL_S = 1.0
"""How often the WAV header is brought up to date while recording, s (at most this much audio is lost to a kill)."""
FILE_PREFIX = "quietland-"
"""Recording names are ``quietland-YYYYmmdd-HHMMSS[-N]``."""
RECORDINGS_FOLDER = "recordings"
"""Folder under :func:`data_dir` where sessions are saved by default."""
MARKER_SUFFIX = ".open"
"""The open-session marker of ``quietland-X.wav`` is ``.quietland-X.open`` beside it."""
_MARKER_TEXT = (
    "quietland is recording {wav} (process {pid}). This file is removed when the session closes; one left behind "
    "marks a session that did not close, which the next 'quietland live' recording here reports.\n"
)
_WAV_FORMAT_IEEE_FLOAT = 3
_WAV_HEADER_BYTES = 58  # RIFF + fmt (18) + fact (4) + data headers, for IEEE float
_WAV_MAX_DATA_BYTES = 0xFFFFFFFF - _WAV_HEADER_BYTES


@dataclass(frozen=True)
class SavedSession:
    """What a recorded session's results JSON says about how to analyse its WAV again."""

    results_path: Path
    """The results JSON it was read from."""
    drill: str | None
    """The drill the session started with; None when the JSON does not name a known drill and its actions."""
    script: tuple[ScriptedAction, ...]
    """Its new sets and drill changes, to replay at their samples (pauses need nothing: paused audio was not recorded)."""
    target_cadence_per_min: float | None
    """Its cadence target, contacts per minute; None without one."""
    profile_doc: Any
    """The calibration profile it was scored against, as stored; None when it stored none."""
    plan_text: str | None = None
    """The plan its screen showed (``config.plan``: as ``SetPlan.describe`` writes it, or ``none``); None when the
    results do not say (made before plans were saved, or not on a screen)."""
    started_at: str | None = None
    """When it started, as its results say (``started_at``): which session it is, for the history."""
    athlete: str | None = None
    """Its athlete (``--athlete``), or None."""

    def profile(self) -> Profile | None:
        """That profile; raises :class:`~quietland.calibration.ProfileError` when it is damaged."""
        if self.profile_doc is None:
            return None
        if not isinstance(self.profile_doc, dict):
            raise ProfileError(f"The results '{self.results_path}' have a bad 'profile': it is not a table of a profile's fields.")
        return profile_from_dict(self.profile_doc, self.results_path)


def saved_session(wav_path: str | Path, on_problem: Callable[[str], None] | None = None) -> SavedSession | None:
    """The session recorded in ``wav_path``, from the results JSON beside it (read once).

    None when there is no such JSON, or it is not the results of a session quietland recorded (those carry
    ``started_at`` and ``actions``): an ``analyze --json`` document saved beside a recording is the output of one
    analysis, and its settings (a cadence target) are not the recording's. A cadence target outside the command
    line's 10-600/min is left out. None too, said to ``on_problem`` in one sentence, when the JSON there cannot be
    read (the session's drill, profile and athlete would be dropped without a word) or is the finished results of
    another recording: audio of another length (more than :data:`SAME_LENGTH_S` apart; a session that did not
    finish saved its results before its audio ended, and is not compared).
    """
    from .pipeline import ScriptedAction
    from .reps import DRILLS

    def problem(sentence: str) -> None:
        if on_problem is not None:
            on_problem(sentence)

    path = Path(wav_path).with_suffix(".json")
    try:
        text = path.read_text()
    except OSError:
        return None  # (none there: a plain recording)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        problem(f"the results '{path}' beside the recording cannot be read (not a JSON document of results), so "
                "the recording is analysed as a plain one: its session's drill, profile and athlete are not known")
        return None
    if not isinstance(doc.get("started_at"), str) or not isinstance(doc.get("actions"), list):
        return None
    summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    theirs = summary.get("duration_s")
    if doc.get("complete") is True and isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        ours = _audio_seconds(Path(wav_path))
        if ours is not None and abs(ours - theirs) > SAME_LENGTH_S:
            problem(f"the results '{path}' beside the recording are of another recording ({theirs:.1f} s of audio; "
                    f"this one has {ours:.1f} s), so the recording is analysed as a plain one")
            return None
    drill, script = None, ()
    if doc.get("drill") in DRILLS:
        drill = doc["drill"]
        script = tuple(
            ScriptedAction(int(a["sample"]), a["action"], a.get("drill"))
            for a in doc["actions"]
            if isinstance(a, dict) and a.get("action") in ("new-set", "change-drill") and isinstance(a.get("sample"), int)
            and (a["action"] == "new-set" or a.get("drill") in DRILLS)
        )
    target = doc.get("target_cadence_per_min")
    low, high = TARGET_CADENCE_RANGE
    target_ok = isinstance(target, (int, float)) and not isinstance(target, bool) and low <= target <= high
    profile = doc.get("profile")
    config = doc.get("config")
    plan = config.get("plan") if isinstance(config, dict) else None
    if isinstance(config, dict) and "plan" in config and plan is None:
        plan = "none"  # (a session with no screen, so no plan: its sets are split at its rests alone)
    return SavedSession(
        results_path=path,
        drill=drill,
        script=script,
        target_cadence_per_min=float(target) if target_ok else None,
        profile_doc=profile,
        plan_text=plan if isinstance(plan, str) else None,
        started_at=doc["started_at"],
        athlete=doc.get("athlete") if isinstance(doc.get("athlete"), str) else None,
    )


SAME_LENGTH_S = 1.0
"""How far apart a recording's length and its finished results' ``duration_s`` may be and still be one session, s
(they agree to the sample when nothing was edited)."""


def _audio_seconds(wav: Path) -> float | None:
    """The length of the readable audio in ``wav``, s (as :class:`~quietland.audiofile.FileSource` reads it); None
    when it cannot be read."""
    from .audiofile import AudioFileError, FileSource

    try:
        return FileSource(wav).duration_s
    except AudioFileError:
        return None


class RecordingError(Exception):
    """The recording cannot be started; the message is one sentence for the user."""


def data_dir() -> Path:
    """quietland's data directory: ``$QUIETLAND_HOME``, else ``$XDG_DATA_HOME/quietland``, else ``~/.local/share/quietland``."""
    home = os.environ.get("QUIETLAND_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg:
        return Path(xdg).expanduser() / "quietland"
    return Path.home() / ".local" / "share" / "quietland"


def default_recordings_dir() -> Path:
    """Where sessions are saved unless ``--recordings-dir`` says otherwise."""
    return data_dir() / RECORDINGS_FOLDER


class StreamingWav:
    """A mono or multichannel 32-bit float WAV written block by block to an open binary file.

    The header is written first with a length of zero and rewritten in place
    by :meth:`update_header` (``fact`` frames, ``data`` and ``RIFF`` sizes), so
    the file is a valid WAV of everything written up to the last update.
    ``fh`` needs ``write``, ``seek`` and ``tell``; an ``OSError`` from it
    propagates.
    """

    def __init__(self, fh, sample_rate: int, channels: int) -> None:
        self.fh = fh
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.frames = 0
        """Frames written completely."""
        self._frame_bytes = 4 * self.channels
        block_align = self._frame_bytes
        header = (
            b"RIFF" + struct.pack("<I", _WAV_HEADER_BYTES - 8) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHHH", 18, _WAV_FORMAT_IEEE_FLOAT, self.channels, self.sample_rate,
                                    self.sample_rate * block_align, block_align, 32, 0)
            + b"fact" + struct.pack("<II", 4, 0)
            + b"data" + struct.pack("<I", 0)
        )
        assert len(header) == _WAV_HEADER_BYTES
        _write_all(self.fh.write, header)

    @property
    def full(self) -> bool:
        """True when one more second would not fit in a WAV (4 GiB)."""
        return (self.frames + self.sample_rate) * self._frame_bytes > _WAV_MAX_DATA_BYTES

    def write(self, block: np.ndarray) -> None:
        """Append ``block``, shape ``(n,)`` (mono) or ``(n, channels)``."""
        data = np.ascontiguousarray(block, dtype="<f4")
        _write_all(self.fh.write, data.tobytes())
        self.frames += data.shape[0]

    def update_header(self) -> None:
        """Rewrite the lengths in the header for the frames written so far; leave the file position at the end."""
        data_bytes = self.frames * self._frame_bytes
        end = _WAV_HEADER_BYTES + data_bytes
        for offset, value in ((4, _WAV_HEADER_BYTES - 8 + data_bytes), (46, self.frames), (54, data_bytes)):
            self.fh.seek(offset)
            _write_all(self.fh.write, struct.pack("<I", value))
        self.fh.seek(end)


def recorded_seconds(wav: Path) -> float | None:
    """Seconds of audio in a WAV :class:`StreamingWav` wrote, by the file's size (its header lags the audio by up
    to :data:`FLUSH_INTERVAL_S` in a session that did not close); None when it is gone or not such a WAV."""
    try:
        with open(wav, "rb") as fh:
            head = fh.read(_WAV_HEADER_BYTES)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    if len(head) < _WAV_HEADER_BYTES or head[:4] != b"RIFF" or head[8:16] != b"WAVEfmt ":
        return None
    channels, rate = struct.unpack_from("<HI", head, 22)
    if channels < 1 or rate < 1:
        return None
    return (size - _WAV_HEADER_BYTES) // (4 * channels) / rate


def _write_all(write: Callable[[memoryview], int | None], data: bytes) -> None:
    """Write every byte through ``write`` (an unbuffered file's ``write``, or ``os.write`` on a descriptor: either
    may take a part at a time)."""
    view = memoryview(data)
    while view:
        n = write(view)
        if n is None or n <= 0:
            raise OSError(errno.EIO, "the file accepted no data")
        view = view[n:]


def _reserve_name(folder: Path, stamp: str) -> tuple[Path, object]:
    """Create ``quietland-<stamp>[-N].wav`` exclusively (never an existing name, nor one whose .json exists)."""
    n = 1
    while True:
        stem = f"{FILE_PREFIX}{stamp}" + (f"-{n}" if n > 1 else "")
        wav = folder / f"{stem}.wav"
        if not wav.with_suffix(".json").exists():
            try:
                return wav, open(wav, "xb", buffering=0)
            except FileExistsError:
                pass
        n += 1


_CLOSE = object()


class SessionRecorder:
    """The WAV and results JSON of one session; see the module docstring.

    Creating it creates the folder (if needed) and the WAV, and starts the
    writer thread; raises :class:`RecordingError` when the folder cannot be
    written. :meth:`write` and :meth:`save_results` only queue work; they are
    meant for one producer thread (the session's). :meth:`close` finishes
    everything and is idempotent.
    """

    def __init__(
        self,
        folder: str | Path,
        sample_rate: int,
        *,
        channels: int = 1,
        athlete: str | None = None,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        started_at: datetime | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.athlete = athlete
        """Who performed the session (``--athlete``), or None."""
        self.started_at = (started_at or datetime.now()).astimezone()
        """When the session started (local time, with its UTC offset)."""
        self.flush_interval_s = float(flush_interval_s)
        if self.folder.exists() and not self.folder.is_dir():
            raise RecordingError(f"Cannot record to '{self.folder}': it is a file, not a folder; give another "
                                 "--recordings-dir, or --no-record.")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.wav_path, fh = _reserve_name(self.folder, self.started_at.strftime("%Y%m%d-%H%M%S"))
        except OSError as exc:
            raise RecordingError(f"Cannot record to '{self.folder}': {exc.strerror or exc}.") from None
        self.results_path = self.wav_path.with_suffix(".json")
        """The results JSON, beside the WAV."""
        self._marker = _hold_marker(self.wav_path)
        try:
            self._start(fh)
        except BaseException as exc:  # (a full disk; Ctrl-C as it starts): no empty WAV left behind
            fh.close()
            self.wav_path.unlink(missing_ok=True)
            self.release()
            if isinstance(exc, OSError):
                raise RecordingError(f"Cannot record to '{self.wav_path}': {exc.strerror or exc}.") from None
            raise

    def _start(self, fh) -> None:
        """Write the WAV's header to ``fh`` and start the writer threads (the rest of :meth:`__init__`)."""
        self._fh = fh
        self._wav: StreamingWav | None = StreamingWav(fh, self.sample_rate, self.channels)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._warnings: list[str] = []
        self._lock = threading.Lock()
        self._closed = False
        self.final_results: dict[str, Any] | None = None
        """The final results document once :meth:`close` was given the analysis (whether or not it was written)."""
        self.results_saved = False
        """Whether the last results document queued reached the disk (after :meth:`close`: the final one)."""
        self.results_size = 0
        """Characters (bytes: the JSON is ASCII) of the last results document queued before the final one."""
        self._used = False
        from . import report

        to_dict = {
            "reps": report.rep_to_dict,
            "rejected": report.rejected_to_dict,
            "cues": lambda cue: report.cue_to_dict(cue, self.sample_rate),  # (the analysis' rate)
        }
        self._entry_texts = {key: report.EntryTexts(to_dict[key]) for key in report.ENTRY_LISTS}
        self._results: dict[str, Any] | _Pieces | Exception | None = None  # the newest document not yet written
        self._results_closing = False
        self._results_ready = threading.Condition()
        self._thread = threading.Thread(target=self._writer, name="quietland-recorder", daemon=True)
        self._results_thread = threading.Thread(target=self._results_writer, name="quietland-results", daemon=True)
        self._thread.start()
        self._results_thread.start()

    # ------------------------------------------------------------ producer
    @property
    def recording(self) -> bool:
        """False once writing audio has failed (disk full) or the recorder is closed."""
        return self._wav is not None and not self._closed

    @property
    def warnings(self) -> list[str]:
        """Sentences about the recording (it stopped, results could not be saved), oldest first."""
        with self._lock:
            return list(self._warnings)

    @property
    def used(self) -> bool:
        """True once a session has handed over audio or results (from then on it closes the recorder)."""
        return self._used

    def write(self, block: np.ndarray) -> None:
        """Queue one block of samples for the WAV (dropped once recording has stopped)."""
        self._used = True
        if self.recording:
            self._queue.put(block)

    def save_results(
        self, analysis: Analysis, *, config: dict[str, Any], actions: list[dict[str, Any]], block_size: int,
        final: bool = False,
    ) -> None:
        """Queue the results document for ``analysis`` (written atomically by the writer thread).

        The final document is kept whole (:attr:`final_results`); the others go as text pieces
        (:func:`~quietland.report.json_pieces`), each rep's text made once.
        """
        from . import report

        self._used = True
        if self._closed:
            return
        if final:
            doc = self.results_document(analysis, config=config, actions=actions, block_size=block_size, final=True)
            self.final_results = doc
            self._post_results(doc)
            return
        try:
            head = self.results_document(analysis, config=config, actions=actions, block_size=block_size, entries=False)
            texts = {key: self._entry_texts[key].update(getattr(analysis, key)) for key in report.ENTRY_LISTS}
            pieces = _Pieces(report.json_pieces(head, texts))
            self.results_size = sum(map(len, pieces))
            self._post_results(pieces)
        except (TypeError, ValueError) as exc:  # a value JSON cannot hold: the writer says so, as for a failed write
            self._post_results(exc)

    def _post_results(self, item: dict[str, Any] | _Pieces | Exception) -> None:
        """Hand a results document to the results thread, in place of any it has not begun to write."""
        with self._results_ready:
            self._results = item
            self._results_ready.notify()

    def results_document(
        self, analysis: Analysis, *, config: dict[str, Any], actions: list[dict[str, Any]], block_size: int,
        final: bool = False, entries: bool = True,
    ) -> dict[str, Any]:
        """The results JSON: the ``analyze --json`` document of ``analysis`` plus the session's metadata
        (``entries=False``: with the reps, rejected and cues lists left empty)."""
        from . import report

        doc = report.analysis_to_dict(analysis, file=self.wav_path.name, block_size=block_size, entries=entries)
        doc.update(
            athlete=self.athlete,
            started_at=self.started_at.isoformat(timespec="milliseconds"),  # (which session it is, for the history)
            ended_at=datetime.now().astimezone().isoformat(timespec="seconds") if final else None,
            complete=final,
            config=config,
            profile=profile_to_dict(analysis.profile),
            actions=actions,
        )
        return doc

    def close(
        self, analysis: Analysis | None = None, *, config: dict[str, Any] | None = None,
        actions: list[dict[str, Any]] | None = None, block_size: int = 0,
    ) -> None:
        """Write what is queued, the final header and (given ``analysis``) the final results; stop the thread.

        Idempotent; blocks until the files are complete.
        """
        if self._closed:
            return
        if analysis is not None:
            self.save_results(analysis, config=config or {}, actions=actions or [], block_size=block_size, final=True)
        self._closed = True
        try:
            with self._results_ready:
                self._results_closing = True
                self._results_ready.notify()
            self._results_thread.join()  # (the results first: an empty session's files are then both there to remove)
        finally:  # (a second Ctrl-C while a slow disk takes the results: the WAV is still finished)
            self._queue.put(_CLOSE)
            self._thread.join()
            if not self.wav_path.exists() and not self.results_path.exists():
                self.release()  # (a session that never started: nothing is left, not even its marker)

    def release(self) -> None:
        """Remove the open-session marker (see the module docstring): the session is closed, and in the training
        history if it is to be. Idempotent; call it after :meth:`close`."""
        marker, self._marker = self._marker, None
        if marker is not None:
            _remove_marker(marker_path(self.wav_path), marker)

    # -------------------------------------------------------------- writer
    def _writer(self) -> None:
        last_update = time.monotonic()
        try:
            while True:
                item = self._queue.get()
                if item is _CLOSE:
                    return
                if self._wav is None:
                    continue
                try:
                    if self._wav.full:
                        self._stop_recording("the WAV has reached its 4 GiB limit")
                        continue
                    self._wav.write(item)
                    if time.monotonic() - last_update >= self.flush_interval_s:
                        self._wav.update_header()
                        last_update = time.monotonic()
                except OSError as exc:
                    self._stop_recording(_reason(exc))
                except Exception as exc:  # noqa: BLE001 - a block that cannot be written must not end the session
                    self._stop_recording(f"a block could not be written ({exc})")
        finally:
            self._finish_wav()

    def _results_writer(self) -> None:
        """Write the newest results document handed over, until closed with none waiting."""
        while True:
            with self._results_ready:
                while self._results is None and not self._results_closing:
                    self._results_ready.wait()
                item, self._results = self._results, None
            if item is None:
                return
            self._write_results(item)

    def _stop_recording(self, reason: str) -> None:
        """Stop writing audio after a failure; keep the WAV valid up to the last whole block."""
        wav, self._wav = self._wav, None
        assert wav is not None
        try:
            wav.update_header()  # overwrites bytes already there: works on a full disk
        except OSError:
            pass
        self._warn(
            f"Recording stopped at {wav.frames / self.sample_rate:.1f} s because {reason}; measuring goes on, "
            f"and '{self.wav_path}' keeps the audio up to that point."
        )

    def _finish_wav(self) -> None:
        wav, self._wav = self._wav, None
        try:
            if wav is not None:
                wav.update_header()
                os.fsync(self._fh.fileno())
            if os.fstat(self._fh.fileno()).st_nlink == 0:  # (its folder or the file itself removed meanwhile)
                self._warn(f"The recording '{self.wav_path}' was deleted while it was being written: its audio is "
                           "lost (the results were measured as it was heard).")
        except OSError as exc:
            self._warn(f"The end of the recording '{self.wav_path}' could not be written: {_reason(exc)}.")
        finally:
            self._fh.close()
        if wav is not None and wav.frames == 0 and not self.results_path.exists():
            self.wav_path.unlink(missing_ok=True)  # a session that never started leaves nothing behind

    def _write_results(self, doc: dict[str, Any] | _Pieces | Exception) -> None:
        """Replace the results JSON atomically; on failure keep the previous one and warn once."""
        try:
            if isinstance(doc, Exception):
                raise doc
            # a value JSON cannot hold fails here, not mid-file
            pieces = doc if isinstance(doc, _Pieces) else (json.dumps(doc, indent=2, allow_nan=False) + "\n",)
            write_atomically(self.results_path, lambda fh: fh.writelines(pieces))
            self.results_saved = True
        except (OSError, TypeError, ValueError) as exc:
            self.results_saved = False
            self._warn(f"The results could not be saved to '{self.results_path}': {_reason(exc)}.")

    def _warn(self, sentence: str) -> None:
        with self._lock:
            if sentence not in self._warnings:
                self._warnings.append(sentence)


def marker_path(wav: Path) -> Path:
    """The open-session marker of the recording ``wav`` (see the module docstring)."""
    return wav.with_name(f".{wav.stem}{MARKER_SUFFIX}")


def _hold_marker(wav: Path) -> int | None:
    """Create the open-session marker of ``wav`` and hold it locked; its descriptor, or None where there can be
    none (no ``flock``; a folder or disk refusing it: the session records all the same).

    The marker is made and locked under a name no one looks for, then renamed into place: a ``live`` starting at
    the same moment never finds it unlocked (and takes a session going on for one that did not close)."""
    if fcntl is None:
        return None
    path = marker_path(wav)
    making = path.with_name(path.name + ".new")
    try:
        fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _write_all(lambda view: os.write(fd, view), _MARKER_TEXT.format(wav=wav.name, pid=os.getpid()).encode())
        os.rename(making, path)
    except OSError:
        _remove_marker(making, fd)
        return None
    return fd


def _remove_marker(path: Path, fd: int) -> None:
    """Remove a marker this process holds (while it still holds it: no one else takes it meanwhile), then let go."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class UnfinishedSession:
    """A session recorded here that did not close (see :func:`unfinished_sessions`); its marker is held until
    :meth:`settle`."""

    wav_path: Path
    """Its recording (which may be gone, or hold no audio)."""
    _fd: int | None

    def settle(self) -> None:
        """Remove its marker: it has been dealt with, and is not reported again. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            _remove_marker(marker_path(self.wav_path), fd)

    def let_go(self) -> None:
        """Let go of its marker, leaving it: it is found again next time. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def unfinished_sessions(folder: str | Path) -> list[UnfinishedSession]:
    """The sessions recorded in ``folder`` that did not close (their process was killed, or the power went), oldest
    first, each held until it is settled: a marker no process holds. A session going on in another process is not
    one. Never raises; none where markers cannot be locked (no ``flock``)."""
    if fcntl is None:
        return []
    found = []
    try:
        markers = sorted(Path(folder).glob(f".{FILE_PREFIX}*{MARKER_SUFFIX}"))
    except OSError:
        return []
    for path in markers:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # (gone: another process settled it)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:  # (settled by another process between listing and lock)
                raise OSError("settled")
        except OSError:  # (held: its session is going on; or gone)
            os.close(fd)
            continue
        stem = path.name[1:-len(MARKER_SUFFIX)]
        found.append(UnfinishedSession(path.with_name(stem + ".wav"), fd))
    return found


class _Pieces(list):
    """A results document as text pieces (see :func:`quietland.report.json_pieces`)."""


def _reason(exc: Exception) -> str:
    """An error as a clause: 'the disk is full' for ENOSPC, else its text."""
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).rstrip(".")
