"""Sound files as a block source, for ``analyze`` and ``replay``.

:class:`FileSource` opens a WAV, FLAC or any other format libsndfile reads,
checks it is something quietland can analyse, and streams it from disk as
mono float32 blocks, so a long recording never has to fit in memory. It is
the only module that imports ``soundfile``; the detector and rep logic never
see a file, only arrays.

Problems a user can cause (a missing, empty, damaged or unsupported file)
raise :class:`AudioFileError` with one sentence naming the file. A file whose
header promises more audio than it holds is still analysed: what is there is
read and a sentence is added to :attr:`FileSource.warnings`.
"""
from __future__ import annotations

import os
import re
import stat
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from .downmix import Downmix

MIN_SAMPLE_RATE_HZ = 8000
"""Lowest sample rate quietland analyses, Hz."""
MAX_SAMPLE_RATE_HZ = 96000
"""Highest sample rate quietland analyses, Hz."""
READ_FRAMES = 65536
"""Frames decoded at a time, whatever the block size asked for: where decoding fails part-way (a damaged or cut
FLAC), what was read before the failure is then the same at every block size. (8192 before 2026-12-07: a read
costs about as much again in calls as in decoding and mixing down at that size; reading a 10-minute stereo file
took 0.60-0.79 s of CPU, now 0.27-0.30 s, mono 0.21-0.25 s, now 0.11-0.12 s.)"""
SALVAGE_FRAMES = 8192
"""After a read that failed, the frames it was to decode are read again this many at a time, as far as they go:
a failed read loses all it had decoded, and a cut FLAC would lose up to :data:`READ_FRAMES` more of its audio."""
DECODER_SAYS = re.compile(r"^(?:Note|Warning|Error): |^\[src/libmpg123/")
"""A line the MP3 decoder inside libsndfile (libmpg123) prints on stderr: held back from the user's terminal and
read for damage (:class:`_DecoderChatter`)."""
DECODER_DAMAGE = re.compile(r"error|illegal|resync|skipped", re.IGNORECASE)
"""A held-back decoder line that tells of damage (not, say, an inexact seek table in a cut file)."""
SHORT_READ_S = 0.05
"""A file that reads this much shorter than its header says, with no decoding error, is called truncated."""
UNDECLARED_WARN_S = 0.1
"""A WAV in a format quietland does not decode itself (compressed, big-endian) with at least this much audio's
worth of bytes after its declared data (and no chunk there) is said to hold audio its header does not declare.
PCM and float audio there, however little, is read."""


class AudioFileError(Exception):
    """A sound file quietland cannot analyse; the message is one sentence naming the file."""


class FileSource:
    """A sound file read block by block as mono float32 samples.

    Opening checks the file and reads its header only; :meth:`blocks` reopens
    it and streams the samples, so it may be called more than once.
    """

    def __init__(self, path: str | Path, *, hold_decoder_output: bool = True) -> None:
        """``hold_decoder_output``: hold back, while the audio is decoded, what libsndfile's MP3 decoder prints on
        stderr, and read it for damage (:class:`_DecoderChatter`); false where something else draws on stderr
        meanwhile (the screen does), which the holding would hide."""
        self.path = Path(path)
        self.name = f"'{path}'"
        """The path as given, quoted, for messages."""
        self.warnings: list[str] = []
        """Sentences worth telling the user (truncation, damage); :meth:`blocks` may add to it."""
        self._check_readable()
        # (bytes on POSIX: a name that is not valid UTF-8 still opens)
        self._lib_path: str | bytes = str(self.path) if os.name == "nt" else os.fsencode(self.path)
        chatter = _DecoderChatter()  # (a cut MP3's inexact seek table: said below as truncation)
        try:
            with chatter:
                info = soundfile.info(self._lib_path)
        except TypeError:  # (libsndfile takes a .raw name for headerless samples, which need a rate given)
            raise AudioFileError(f"{self.name} is not an audio file quietland can read (headerless raw samples: "
                                 "save them as WAV or FLAC).") from None
        except soundfile.SoundFileError as exc:
            reason = _reason(exc)
            if reason.lower().startswith("format not recognised"):
                raise AudioFileError(f"{self.name} is not an audio file quietland can read.") from None
            raise AudioFileError(f"{self.name} is damaged and cannot be opened ({reason}).") from None
        finally:
            chatter.close()
        self.sample_rate: int = int(info.samplerate)
        """Sample rate, Hz."""
        self.channels: int = int(info.channels)
        """Channels in the file; :meth:`blocks` mixes them down to one."""
        self.frames: int = int(info.frames)
        """Samples per channel that can be read (for a truncated WAV: those present)."""
        self.subtype: str = str(info.subtype)
        """libsndfile's name for the sample encoding, e.g. ``PCM_16``, ``PCM_24``, ``FLOAT``."""
        self._hold = hold_decoder_output and str(info.format) == "MP3"
        if not MIN_SAMPLE_RATE_HZ <= self.sample_rate <= MAX_SAMPLE_RATE_HZ:
            raise AudioFileError(
                f"{self.name} has a sample rate of {self.sample_rate} Hz; quietland supports "
                f"{MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz."
            )
        self._tail: _WavLayout | None = None  # a WAV whose decodable audio goes on after its declared data
        self._check_wav_length()
        if self.frames == 0:
            raise AudioFileError(f"{self.name} contains no audio (0 frames).")

    @property
    def duration_s(self) -> float:
        """Length of the readable audio, seconds."""
        return self.frames / self.sample_rate

    def blocks(self, block_size: int) -> Iterator[np.ndarray]:
        """Yield the file as float32 arrays of shape ``(block_size,)``, the last one shorter.

        Channels are mixed down by :class:`~quietland.downmix.Downmix` (their
        mean, a channel found inverted turned back first). Each block is a new array the
        caller may keep. The file is decoded :data:`READ_FRAMES` at a time. If decoding fails part-way, the
        audio decoded so far stands, a sentence is added to :attr:`warnings` and iteration stops;
        if nothing at all could be decoded, :class:`AudioFileError` is raised. Samples that are not numbers
        (NaN, infinite: a float file written by a faulty program) are read as silence, with a warning.
        """
        if block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {block_size}")
        read = _Progress()
        bad = 0  # samples that were not numbers
        mix = Downmix(self.sample_rate)
        pending = _Rechunk(block_size)  # the mixdown hands out unevenly; the blocks go out even
        for data in self._decoded(read):
            read.done += len(data)
            finite = np.isfinite(data)
            if not finite.all():
                bad += int(data.size - np.count_nonzero(finite))
                data = np.where(finite, data, np.float32(0.0))
            yield from pending.put(mix(data))
        yield from pending.put(mix.flush())
        if read.faults and not read.damaged:
            self.warnings.append(
                f"{self.name} is damaged: the MP3 decoder reported {read.faults} fault{'s' if read.faults != 1 else ''}"
                f" and skipped what it could not decode ({read.done / self.sample_rate:.3f} s of "
                f"{self.duration_s:.3f} s read); analysing the rest."
            )
        elif not read.damaged and self.frames - read.done > SHORT_READ_S * self.sample_rate:  # (a cut MP3)
            self.warnings.append(
                f"{self.name} is truncated: its header promises {self.duration_s:.3f} s of audio but only "
                f"{read.done / self.sample_rate:.3f} s could be read; analysing what is there."
            )
        if bad:
            self.warnings.append(
                f"{self.name} holds {bad} sample{'s that are not numbers' if bad != 1 else ' that is not a number'} "
                "(NaN or infinite), read as silence."
            )
        if mix.warning:
            self.warnings.append(f"{self.name}: {mix.warning}")
        yield from pending.rest()

    def _decoded(self, read: _Progress) -> Iterator[np.ndarray]:
        """The file's frames as float32 ``(frames, channels)`` arrays, :data:`READ_FRAMES` at a time: what the
        audio library decodes, then any audio after a WAV's declared length. Where decoding fails part-way, says
        so and stops (``read.damaged``); where it fails at once, raises :class:`AudioFileError`."""
        chatter = _DecoderChatter(self._hold)
        try:
            with chatter:
                f = soundfile.SoundFile(self._lib_path)
            yield from self._frames(f, chatter, read)
        finally:
            read.faults = sum(1 for line in chatter.close() if DECODER_DAMAGE.search(line))
        if not read.damaged and self._tail is not None:
            yield from self._tail_frames()

    def _frames(self, f: soundfile.SoundFile, chatter: _DecoderChatter, read: _Progress) -> Iterator[np.ndarray]:
        """What the audio library decodes of ``f``, read while ``chatter`` holds the decoder's output back."""
        frames = READ_FRAMES
        try:
            while True:
                try:
                    with chatter:
                        data = f.read(frames, dtype="float32", always_2d=True)
                except soundfile.SoundFileError as exc:
                    # the frames the failed read was to decode, read again a few at a time from a fresh start (every
                    # frame read so far was taken: read.done)
                    if frames == READ_FRAMES and (again := self._reopened_at(chatter, read.done)) is not None:
                        f.close()
                        f, frames = again, SALVAGE_FRAMES
                        continue
                    if read.done == 0:
                        raise AudioFileError(f"{self.name} could not be decoded ({_reason(exc)}).") from None
                    self.warnings.append(
                        f"{self.name} is damaged: decoding stopped at {read.done / self.sample_rate:.3f} s "
                        f"of {self.duration_s:.3f} s; analysing what could be read."
                    )
                    read.damaged = True
                    return
                if len(data) == 0:
                    break
                yield data
        finally:
            f.close()

    def _reopened_at(self, chatter: _DecoderChatter, frame: int) -> soundfile.SoundFile | None:
        """The file opened again and moved to ``frame``; None where it cannot be."""
        try:
            with chatter:
                f = soundfile.SoundFile(self._lib_path)
        except (soundfile.SoundFileError, RuntimeError, OSError):
            return None
        try:
            with chatter:
                if f.seek(frame) == frame:
                    return f
        except (soundfile.SoundFileError, RuntimeError, ValueError):
            pass
        f.close()
        return None

    def _tail_frames(self) -> Iterator[np.ndarray]:
        """The audio after a WAV's declared data (see :meth:`_check_wav_length`), :data:`READ_FRAMES` at a time."""
        layout = self._tail
        assert layout is not None and layout.sample_dtype is not None
        dtype, channels = layout.sample_dtype, layout.channels
        size = _sample_bytes(dtype) * channels
        with open(self.path, "rb") as fh:
            fh.seek(layout.tail_offset)
            left = layout.tail_bytes // size * size  # (whole frames)
            while left > 0:
                raw = fh.read(min(left, READ_FRAMES * size))
                raw = raw[: len(raw) // size * size]
                if not raw:
                    return
                left -= len(raw)
                yield _decode_pcm(raw, dtype, channels)

    def _check_readable(self) -> None:
        """Turn a missing, unreadable or directory path into an :class:`AudioFileError`."""
        if self.path.is_dir():
            raise AudioFileError(f"{self.name} is a directory, not an audio file.")
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                regular = stat.S_ISREG(st.st_mode)
        except FileNotFoundError:
            if str(self.path) == "-":  # (the Unix habit for stdin, which is read more than once here)
                raise AudioFileError("'-' (standard input) cannot be read: quietland reads a recording more than "
                                     "once, so save the audio to a file first.") from None
            raise AudioFileError(f"{self.name} does not exist.") from None
        except OSError as exc:
            raise AudioFileError(f"{self.name} cannot be read: {exc.strerror or exc}.") from None
        if not regular:  # a pipe or a device: it is read more than once (the header, then the audio)
            raise AudioFileError(f"{self.name} is not a file but a pipe or a device; save the audio to a file first.")
        if st.st_size == 0:
            raise AudioFileError(f"{self.name} is empty (0 bytes): it holds no audio.")

    def _check_wav_length(self) -> None:
        """For a RIFF WAV, compare the data length its header declares with the bytes present.

        libsndfile quietly reads what is there; quietland says so: a warning
        when some audio is present, an :class:`AudioFileError` when none is.
        """
        if "ADPCM" in self.subtype:
            return  # (its header's byte rate is an average: the length it gives is not exact)
        layout = _wav_layout(self.path)
        if layout is None:
            return
        declared = layout.declared_s
        beyond = layout.tail_bytes / layout.byte_rate
        frame = _sample_bytes(layout.sample_dtype) * layout.channels if layout.sample_dtype else 0
        said = (f"The header of {self.name} declares {declared:.3f} s of audio, but about {beyond:.1f} s more "
                "follows it: a recording still being written, or one its program never closed")
        if frame and self.frames > round(declared * layout.byte_rate) // frame:
            return  # the audio library read past the header's length itself
        if frame and layout.tail_bytes >= frame:
            # PCM or float, as quietland's own recordings are: the audio after the header's length is read too
            self._tail = layout
            self.frames += layout.tail_bytes // frame
            self.warnings.append(f"{said}; all of it is analysed.")
            return
        if beyond >= UNDECLARED_WARN_S:  # (compressed or big-endian: not decoded here)
            if self.frames == 0:
                raise AudioFileError(f"{said}; quietland reads only what a header declares in this format: try "
                                     "again once the recording is closed.")
            self.warnings.append(f"{said}; analysing the declared {declared:.3f} s only.")
            return
        if declared <= self.duration_s + 1.0 / self.sample_rate:
            return
        if self.frames == 0:
            raise AudioFileError(
                f"{self.name} is truncated: its header promises {declared:.3f} s of audio but the file holds none."
            )
        self.warnings.append(
            f"{self.name} is truncated: its header promises {declared:.3f} s of audio but only "
            f"{self.duration_s:.3f} s is present; analysing what is there."
        )


@dataclass(frozen=True)
class _WavLayout:
    """What a RIFF/RIFX WAV's chunks say (see :func:`_wav_layout`)."""

    declared_s: float
    """Seconds of audio the header declares."""
    tail_offset: int
    """Where the bytes after the declared data that are no chunk start (the file's end when there are none)."""
    tail_bytes: int
    """How many such bytes there are: audio its writer added without updating the header."""
    byte_rate: int
    sample_dtype: str | None
    """numpy's name for the samples (``<i2``, ``<i4``, ``<f4``, ``<f8``, ``<i3`` for 24-bit, ``u1`` for 8-bit), or
    None where quietland does not decode them itself (compressed, big-endian)."""
    channels: int


def _wav_layout(path: Path) -> _WavLayout | None:
    """For a RIFF/RIFX WAV: the seconds of audio its header declares, and where the bytes after the declared data
    that are no chunk lie; None if not a WAV or not knowable.

    Walks the chunk list to the ``fmt `` chunk (for the byte rate and the sample format) and the ``data`` chunk
    (for its declared size), then the chunks after it. A size of 0xFFFFFFFF (a streamed WAV whose length was
    never written) counts as unknown.
    """
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        file_size = fh.tell()
        fh.seek(0)
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        endian = "<" if head[:4] == b"RIFF" else ">"
        fmt = b""
        declared = None
        data_start = data_end = 0
        pos = 12
        while pos + 8 <= file_size:
            fh.seek(pos)
            chunk_id, size = struct.unpack(endian + "4sI", fh.read(8))
            if declared is not None and not (_is_chunk_id(chunk_id) and pos + 8 + size <= file_size):
                break  # not a chunk: bytes written past what the header declares
            if chunk_id == b"fmt ":
                fmt = fh.read(min(size, 40))
            elif chunk_id == b"data" and declared is None:
                if len(fmt) < 16 or size == 0xFFFFFFFF:
                    return None
                tag, channels, _, byte_rate, block_align, bits = struct.unpack(endian + "HHIIHH", fmt[:16])
                if byte_rate <= 0 or channels <= 0 or block_align <= 0:
                    return None
                declared = size / byte_rate
                data_start, data_end = pos + 8, pos + 8 + size + (size & 1)
            pos += 8 + size + (size & 1)
        if declared is None:
            return None
        if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the format is its sub-format's
            tag = struct.unpack(endian + "H", fmt[24:26])[0]
        dtype = {(1, 8): "u1", (1, 16): "<i2", (1, 24): "<i3", (1, 32): "<i4", (3, 32): "<f4", (3, 64): "<f8"}.get(
            (tag, bits)) if endian == "<" else None
        if pos != data_end or pos >= file_size:  # nothing after the data, or chunks (an INFO list): no tail
            return _WavLayout(declared, file_size, 0, byte_rate, dtype, channels)
        # the audio goes on from the last whole frame the header declares (a frame cut by it is the tail's first)
        tail = data_start + (data_end - data_start) // block_align * block_align
        tail = min(tail, data_start + int(round(declared * byte_rate)) // block_align * block_align)
        return _WavLayout(declared, tail, file_size - tail, byte_rate, dtype, channels)


def _sample_bytes(dtype: str) -> int:
    """Bytes of one sample of :attr:`_WavLayout.sample_dtype`."""
    return 3 if dtype == "<i3" else np.dtype(dtype).itemsize


def _decode_pcm(raw: bytes, dtype: str, channels: int) -> np.ndarray:
    """Little-endian PCM or float samples (as :attr:`_WavLayout.sample_dtype` names them) as float32 frames."""
    if dtype == "<i3":  # 24-bit: three bytes a sample, put in the top of an int32
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)).astype(np.float32) / np.float32(2.0**31)
    elif dtype == "u1":
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        x = np.frombuffer(raw, dtype).astype(np.float32)
        if dtype[1] == "i":
            x /= np.float32(2.0 ** (8 * int(dtype[2:]) - 1))
    return x.reshape(-1, channels)


class _DecoderChatter:
    """Holds back what libsndfile's MP3 decoder prints on stderr while the file is opened or read.

    The decoder writes to file descriptor 2 itself, a line for every fault it skips, all over a user's terminal.
    Inside ``with chatter:``, descriptor 2 points at a temporary file; :meth:`close` reads it: the decoder's lines
    (:data:`DECODER_SAYS`) go to :attr:`lines`, any other line (another thread's, say) is written to stderr. With
    ``active`` false, or where descriptor 2 cannot be redirected, nothing is held back."""

    def __init__(self, active: bool = True) -> None:
        self.lines: list[str] = []
        """The decoder's lines, once closed."""
        self._held = self._saved = None
        if active:
            try:
                sys.stderr.flush()
                self._saved = os.dup(2)
                self._held = tempfile.TemporaryFile()
            except (OSError, ValueError, AttributeError):
                self.close()

    def __enter__(self) -> _DecoderChatter:
        if self._held is not None:
            os.dup2(self._held.fileno(), 2)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            os.dup2(self._saved, 2)

    def close(self) -> list[str]:
        """Stop holding; return :attr:`lines`."""
        if self._held is not None:
            self._held.seek(0)
            text = self._held.read().decode("utf-8", "replace").splitlines()
            self._held.close()
            self._held = None
            self.lines += [line for line in text if DECODER_SAYS.search(line)]
            others = [line for line in text if line.strip() and not DECODER_SAYS.search(line)]
            if others:
                print("\n".join(others), file=sys.stderr)
        if self._saved is not None:
            os.close(self._saved)
            self._saved = None
        return self.lines


def _is_chunk_id(chunk_id: bytes) -> bool:
    """Four printable ASCII characters, as every RIFF chunk id is (``LIST``, ``id3 ``, ``cue ``...)."""
    return all(32 <= c < 127 for c in chunk_id)


def _reason(exc: Exception) -> str:
    """libsndfile's explanation as a clause: no trailing period, sentences joined by commas."""
    text = getattr(exc, "error_string", "") or str(exc) or type(exc).__name__
    return text.strip().rstrip(".").replace(". ", ", ")


@dataclass
class _Progress:
    """How far :meth:`FileSource.blocks` has read: frames, and whether decoding failed part-way."""

    done: int = 0
    damaged: bool = False
    faults: int = 0
    """Faults the MP3 decoder reported and skipped past (decoding went on)."""


class _Rechunk:
    """Arrays of any length in, arrays of ``size`` out; :meth:`rest` gives what is left. The arrays put in must
    be the caller's to give away: a block that lies inside one of them is handed out as a view of it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._parts: list[np.ndarray] = []
        self._n = 0

    def put(self, x: np.ndarray) -> Iterator[np.ndarray]:
        start = 0
        while self._n + x.size - start >= self.size:
            take = self.size - self._n
            yield np.concatenate([*self._parts, x[start : start + take]]) if self._parts else x[start : start + take]
            self._parts, self._n = [], 0
            start += take
        if start < x.size:
            self._parts.append(x[start:])
            self._n += x.size - start

    def rest(self) -> Iterator[np.ndarray]:
        if self._n:
            yield np.concatenate(self._parts)
        self._parts, self._n = [], 0
