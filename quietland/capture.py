"""The microphone as a block source, for ``live`` and ``devices``.

Why it exists: it is the only module that touches audio hardware, and the
only one that imports ``sounddevice`` (inside functions, so ``analyze`` and
``replay`` work on a machine without PortAudio). :class:`MicrophoneSource`
opens a PortAudio input stream whose callback does two things only: it copies
each block onto a queue and counts input overflows. :meth:`MicrophoneSource.blocks`
hands those blocks to the session in order, none dropped.

Everything a user can get wrong or run into (no PortAudio, no input device,
a name that matches nothing, a busy device, a sample rate the device refuses,
a device unplugged mid-session) raises :class:`CaptureError` with one
sentence. A device that goes away mid-stream first yields every block it
delivered, then raises, so nothing captured is lost.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

PORTAUDIO_MISSING = (
    "PortAudio is not installed: install the Debian package libportaudio2 (or your system's PortAudio)."
)
FALLBACK_SAMPLE_RATE_HZ = 48000
"""Used when a device's default sample rate is outside what quietland analyses."""
BLOCK_DURATION_S = 0.02
"""Audio per callback block: short, so a landing reaches the detector soon after it is captured,
and long enough that per-block work stays small (10 ms blocks cost the live screen ~18% of a core)."""
STREAM_LATENCY = "high"
"""PortAudio's suggested input latency: ``high`` gives the most buffering; input blocks still arrive
as soon as they are captured."""
POLL_S = 0.05
"""How often :meth:`MicrophoneSource.blocks` checks for a stop request or a dead stream while no block arrives."""
STALL_TIMEOUT_S = 3.0
"""No block for this long from a running stream means the device has gone away. Only the time this process was
running counts: of a longer gap between two checks (the process stopped by Ctrl-Z, a laptop asleep: the device's
thread was stopped with it), no more than twice :data:`POLL_S`."""
ANSWER_TIMEOUT_S = 10.0
"""Longest wait for PortAudio to start, or to open or start a stream, s (see :func:`_answered`)."""
RELEASE_TIMEOUT_S = 2.0
"""Longest wait for the device to stop or close, s. A sound server that stopped answering (suspended, hung) blocks
PortAudio's stop and close for as long as it does; the session is saved without waiting for them."""

# PortAudio's PaErrorCode values (portaudio.h); stable across versions.
PA_UNANTICIPATED_HOST_ERROR = -9999
PA_INVALID_CHANNEL_COUNT = -9998
PA_INVALID_SAMPLE_RATE = -9997
PA_INVALID_DEVICE = -9996
PA_DEVICE_UNAVAILABLE = -9985
_BUSY_HOST_ERRORS = (-16, 16)  # ALSA/OSS EBUSY
_GONE_HOST_ERRORS = (-19, 19, -2, 2, -6, 6)  # ENODEV, ENOENT, ENXIO


NO_INPUT_DEVICE = "No audio input device was found: connect or enable a microphone and try again."
"""What ``live``, ``calibrate`` and ``devices`` say when the system has no input device at all."""


def device_argument(text: str) -> str:
    """``--device``: an id or (part of) a name, stripped; an empty one is a bad command line (argparse's
    ``ArgumentTypeError``), not a name that every device contains."""
    import argparse

    if not text.strip():
        raise argparse.ArgumentTypeError("give a device id or (part of) its name, as 'quietland devices' lists them")
    return text.strip()


class CaptureError(Exception):
    """The microphone cannot be used or stopped working; the message is one sentence for the user."""


@dataclass(frozen=True)
class InputDevice:
    """One audio input device as PortAudio lists it."""

    id: int
    """PortAudio's device index (what ``--device`` takes)."""
    name: str
    """Device name."""
    host_api: str
    """The audio system it is reached through (ALSA, PulseAudio, Core Audio, WASAPI, ...)."""
    channels: int
    """Most input channels it offers."""
    default_sample_rate_hz: float
    """Its default sample rate, Hz."""
    is_default: bool
    """True for the system's default input device."""


def _sounddevice():
    """Import sounddevice (which starts PortAudio), turning a missing PortAudio into :class:`CaptureError`."""
    def load():
        import sounddevice

        return sounddevice

    try:
        return _answered(load, "starting")
    except OSError:
        raise CaptureError(PORTAUDIO_MISSING) from None


T = TypeVar("T")


class _NoAnswer(CaptureError):
    """PortAudio did not return in time (see :func:`_answered`)."""


def _answered(call: Callable[[], T], doing: str, timeout_s: float | None = None) -> T:
    """``call()``, run on a helper thread and waited for at most ``timeout_s`` (default :data:`ANSWER_TIMEOUT_S`):
    PortAudio's start-up, its opening, starting, stopping and closing of a stream ask the sound server, and wait as
    long as a hung one does (a minute or more, deaf to Ctrl-C). When it does not return in time, or Ctrl-C comes
    meanwhile, the process is marked to end without waiting for PortAudio (:func:`device_hung`); the timeout is a
    :class:`_NoAnswer` saying so."""
    timeout_s = ANSWER_TIMEOUT_S if timeout_s is None else timeout_s
    done = threading.Event()
    result: list = []

    def run() -> None:
        try:
            result.append((True, call()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result.append((False, exc))
        finally:
            done.set()

    # sounddevice points stderr at /dev/null while PortAudio starts (ALSA's chatter): a start that hangs would take
    # every sentence said after it along
    try:
        stderr = os.dup(2)
    except OSError:
        stderr = None
    threading.Thread(target=run, name="quietland-portaudio", daemon=True).start()
    try:
        answered = done.wait(timeout_s)
        if not answered:
            _hung.append(f"({doing})")
    except BaseException:
        _hung.append(f"({doing})")
        answered = False
        raise
    finally:
        if stderr is not None:
            if not answered:
                os.dup2(stderr, 2)
            os.close(stderr)
    if not answered:
        raise _NoAnswer(
            f"The sound system did not answer within {timeout_s:g} s while {doing} the audio input (its sound "
            "server is not answering: restart it, or log out and in again)."
        )
    ok, value = result[0]
    if not ok:
        raise value
    return value


def list_devices() -> list[InputDevice]:
    """Every device with at least one input channel, in PortAudio's order."""
    sd = _sounddevice()
    try:
        default_in = sd.default.device[0]
        host_apis = [h["name"] for h in sd.query_hostapis()]
        devices = sd.query_devices()
    except sd.PortAudioError as exc:
        raise CaptureError(f"Could not list the audio devices: {_pa_text(exc)}.") from None
    return [
        InputDevice(
            id=int(d["index"]),
            name=str(d["name"]),
            host_api=host_apis[d["hostapi"]] if 0 <= d["hostapi"] < len(host_apis) else "?",
            channels=int(d["max_input_channels"]),
            default_sample_rate_hz=float(d["default_samplerate"]),
            is_default=int(d["index"]) == default_in,
        )
        for d in devices
        if d["max_input_channels"] > 0
    ]


def find_device(device: int | str | None) -> InputDevice:
    """The input device for ``--device``: None (the default), an id, or a name or part of one.

    A name matches a device whose name equals it (ignoring case) or, failing
    that, the only device whose name contains it.
    """
    devices = list_devices()
    if not devices:
        raise CaptureError(NO_INPUT_DEVICE)
    if device is None:
        for d in devices:
            if d.is_default:
                return d
        return devices[0]
    if isinstance(device, int) or str(device).strip().isdigit():
        wanted = int(device)
        for d in devices:
            if d.id == wanted:
                return d
        raise CaptureError(f"There is no input device with id {wanted}; 'quietland devices' lists them.")
    text = str(device).strip().lower()
    exact = [d for d in devices if d.name.lower() == text]
    if exact:
        return exact[0]
    partial = [d for d in devices if text in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise CaptureError(f"No input device is called {device!r}; 'quietland devices' lists them.")
    names = ", ".join(f"{d.id}: {d.name}" for d in partial)
    raise CaptureError(f"{device!r} matches several input devices ({names}); give its id instead.")


_hung: list[str] = []  # what this process stopped waiting for PortAudio to do (starting, opening, stopping)


def device_hung() -> bool:
    """True once PortAudio did not answer this process in time: starting, opening a device, or stopping or closing
    one (:attr:`MicrophoneSource.hung`; :func:`_answered`)."""
    return bool(_hung)


class MicrophoneSource:
    """Blocks from an audio input device, as float32 arrays of shape ``(n, channels)``.

    Opening checks the device and creates the stream; :meth:`blocks` starts
    it. ``sample_rate`` defaults to the device's own default (or
    :data:`FALLBACK_SAMPLE_RATE_HZ` when that is outside 8-96 kHz). The stream
    takes two channels when the device has them (mono when it cannot give two),
    and the session mixes them down itself (:mod:`quietland.downmix`): a laptop's
    microphone pair often carries one channel inverted, which a mono stream from
    the sound server would have summed to almost nothing. Raises :class:`CaptureError`.
    """

    def __init__(
        self,
        device: int | str | None = None,
        sample_rate: int | None = None,
        *,
        block_size: int | None = None,
        latency: str | float = STREAM_LATENCY,
    ) -> None:
        from .audiofile import MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ

        sd = self._sd = _sounddevice()
        info = find_device(device)
        self.device = info
        """The device in use."""
        if sample_rate is None:
            sample_rate = int(round(info.default_sample_rate_hz))
            if not MIN_SAMPLE_RATE_HZ <= sample_rate <= MAX_SAMPLE_RATE_HZ:
                sample_rate = FALLBACK_SAMPLE_RATE_HZ
        elif not MIN_SAMPLE_RATE_HZ <= sample_rate <= MAX_SAMPLE_RATE_HZ:
            raise CaptureError(
                f"A sample rate of {sample_rate} Hz is not supported; quietland analyses "
                f"{MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz."
            )
        self.sample_rate: int = int(sample_rate)
        """Sample rate of the stream, Hz."""
        self.block_size: int = int(block_size or max(16, round(BLOCK_DURATION_S * self.sample_rate)))
        """Samples per callback block."""
        self.overflows = 0
        """Input overflows PortAudio reported (audio lost because blocks were not taken in time)."""
        self._queue: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        self._stop_requested = False
        self._stream = None
        self.warnings: list[str] = []
        """Sentences about the device for the session's results (it could not be released)."""
        self.hung = False
        """True when stopping or closing the stream did not return within :data:`RELEASE_TIMEOUT_S` (see
        :meth:`_release`): PortAudio is stuck in the sound server, and the process should end without the
        interpreter's clean-up (``os._exit``), which would wait for it too (:func:`device_hung`)."""
        last_error = None
        for channels in (2, 1) if info.channels > 1 else (1,):
            try:
                self._stream = _answered(lambda channels=channels: sd.InputStream(
                    device=info.id,
                    samplerate=self.sample_rate,
                    channels=channels,
                    dtype="float32",
                    blocksize=self.block_size,
                    latency=latency,
                    callback=self._callback,
                ), "opening")
                break
            except sd.PortAudioError as exc:
                last_error = exc
                if _pa_code(exc) != PA_INVALID_CHANNEL_COUNT:
                    break
        if self._stream is None:
            raise CaptureError(self._open_error(last_error)) from None
        self.channels: int = int(self._stream.channels)
        """Channels the stream delivers (2 when the device has them, else 1)."""
        self.latency_s: float = float(self._stream.latency)
        """PortAudio's estimate of the input latency (capture to callback), s."""
        self.description = f"{info.name} (device {info.id}, {info.host_api})"
        """What is listening, for the status line and the results."""

    # ------------------------------------------------------------ the callback
    def _callback(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        """PortAudio's thread: copy the block onto the queue and count overflows; nothing else."""
        if status.input_overflow:
            self.overflows += 1
        self._queue.put(indata.copy())

    # -------------------------------------------------------------- consumer
    def blocks(self) -> Iterator[np.ndarray]:
        """Start the stream and yield its blocks in order until :meth:`stop`.

        After a stop, the blocks already captured are still yielded. If the
        device stops delivering (unplugged, taken away), the blocks it did
        deliver are yielded and then :class:`CaptureError` is raised.
        """
        sd = self._sd
        stream = self._stream
        if stream is None or self._stop_requested:
            self.close()
            return
        try:
            _answered(stream.start, "starting")
        except sd.PortAudioError as exc:
            self.close()
            raise CaptureError(self._open_error(exc)) from None
        except BaseException:
            self.hung = True  # (nothing more is asked of it: a hung server would hold the close too)
            raise
        silent_s = 0.0
        last_check = time.monotonic()
        try:
            while not self._stop_requested:
                try:
                    block = self._queue.get(timeout=POLL_S)
                except queue.Empty:
                    now = time.monotonic()
                    silent_s += min(now - last_check, 2 * POLL_S)
                    last_check = now
                    if not stream.active or silent_s > STALL_TIMEOUT_S:
                        yield from self._drain()
                        raise CaptureError(
                            f"The input device {self.device.name!r} stopped delivering audio (unplugged, taken by "
                            "another program, or its sound server stopped answering); the session ended there."
                        ) from None
                    continue
                silent_s, last_check = 0.0, time.monotonic()
                # blocks that queued up while the consumer was busy go on together (results do not
                # depend on block size; fewer, larger blocks cost less)
                waiting = list(self._drain())
                yield np.concatenate([block, *waiting]) if waiting else block
            self._halt()
            yield from self._drain()
        finally:
            self.close()

    def _drain(self) -> Iterator[np.ndarray]:
        while True:
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return

    def stop(self) -> None:
        """Ask :meth:`blocks` to end (within :data:`POLL_S`). Only sets a flag: safe from a signal handler or any thread."""
        self._stop_requested = True

    def _halt(self) -> None:
        """Stop the stream so no more blocks arrive (the callback's last block is on the queue when this returns)."""
        if self._stream is not None:
            self._release(self._stream.stop)

    def close(self) -> None:
        """Stop and release the device. Idempotent; returns within :data:`RELEASE_TIMEOUT_S` even when the sound
        server does not answer."""
        stream, self._stream = self._stream, None
        if stream is None:
            return

        def abort_and_close() -> None:
            if stream.active:
                stream.abort()
            stream.close()

        self._release(abort_and_close)

    def _release(self, call) -> None:
        """Run ``call`` (stopping or closing the stream) through :func:`_answered`, waiting for it at most
        :data:`RELEASE_TIMEOUT_S`; errors are ignored (a device that is gone has stopped). When it does not return,
        the device is :attr:`hung`: later calls are skipped and a warning goes with the results."""
        if self.hung:
            return
        try:
            _answered(call, "stopping", RELEASE_TIMEOUT_S)
        except _NoAnswer:
            self.hung = True
            self.warnings.append(
                f"The input device {self.device.name!r} did not stop within {RELEASE_TIMEOUT_S:g} s (the sound "
                "server is not answering); the session was saved without waiting for it."
            )
        except Exception:  # noqa: BLE001 - stopping or closing a device that is gone
            pass

    # --------------------------------------------------------------- errors
    def _open_error(self, exc) -> str:
        """One sentence for a PortAudio error raised while opening or starting the stream."""
        name = self.device.name
        code = _pa_code(exc)
        host = _host_error(exc)
        if code == PA_INVALID_SAMPLE_RATE:
            other = int(round(self.device.default_sample_rate_hz))
            if other == self.sample_rate or not 8000 <= other <= 96000:
                other = 48000 if self.sample_rate != 48000 else 44100
            return (
                f"The input device {name!r} does not support a sample rate of {self.sample_rate} Hz; "
                f"try --sample-rate {other} or another device."
            )
        if code == PA_DEVICE_UNAVAILABLE or host in _BUSY_HOST_ERRORS:
            return f"The input device {name!r} is busy: another program is using it; close that program or choose another device."
        if code == PA_INVALID_DEVICE or host in _GONE_HOST_ERRORS:
            return f"The input device {name!r} is not available any more (unplugged?); 'quietland devices' lists the devices there are."
        return f"The input device {name!r} could not be opened: {_pa_text(exc)}."


def _pa_code(exc) -> int | None:
    """The PaErrorCode in a PortAudioError, if any."""
    args = getattr(exc, "args", ())
    return args[1] if len(args) > 1 and isinstance(args[1], int) else None


def _host_error(exc) -> int | None:
    """The host API's own error code (e.g. ALSA's -16 for busy), if any."""
    args = getattr(exc, "args", ())
    if len(args) > 2 and isinstance(args[2], tuple) and len(args[2]) > 1:
        return args[2][1]
    return None


def _pa_text(exc) -> str:
    """PortAudio's explanation as a clause."""
    args = getattr(exc, "args", ())
    text = str(args[0]) if args else str(exc)
    if len(args) > 2 and isinstance(args[2], tuple) and len(args[2]) > 2 and args[2][2]:
        text = f"{text} ({args[2][2]})"
    return text.strip().rstrip(".") or type(exc).__name__
