"""The microphone's errors, each one sentence and no traceback, against a stand-in for sounddevice.

The stand-in behaves as PortAudio does in each case (the error codes are
PortAudio's own), so these tests run on any machine; the real capture path
is tested against a virtual microphone in test_capture_pulse.py.
"""
from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
import types

import numpy as np
import pytest
import soundfile as sf

from quietland import capture
from quietland import recorder as recorder_module
from quietland.capture import CaptureError, MicrophoneSource, find_device, list_devices
from quietland.cli import main


class PortAudioError(Exception):
    pass


class FakeStatus:
    def __init__(self, overflow: bool) -> None:
        self.input_overflow = overflow


class FakeStream:
    """Calls the callback from its own thread with ``blocks`` blocks of a ramp, then stops as an unplugged device does."""

    def __init__(self, fake, callback, samplerate, channels, blocksize, **_):
        self.fake = fake
        self.callback = callback
        self.channels = channels
        self.blocksize = blocksize
        self.samplerate = samplerate
        self.latency = 0.02
        self.active = False
        self._stop = threading.Event()

    def start(self):
        self.active = True
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        for i in range(self.fake.blocks):
            if self._stop.is_set():
                return
            if i == self.fake.pause_at:  # (the device's thread, stopped with the process, comes back)
                time.sleep(0.3)
            block = np.full((self.blocksize, self.channels), (i % 100) / 1000.0, dtype=np.float32)
            if self.fake.audio is not None:  # (a recording, heard through the device)
                block = np.repeat(self.fake.audio[i * self.blocksize : (i + 1) * self.blocksize, None], self.channels, 1)
            self.callback(block, self.blocksize, None, FakeStatus(i in self.fake.overflow_at))
            time.sleep(self.blocksize / self.samplerate / self.fake.speed)
        if self.fake.unplug_after:
            self.active = False  # PortAudio's thread ended: the device is gone
        else:
            self._stop.wait()

    def stop(self):
        self._stop.set()
        self.active = False

    def abort(self):
        self.stop()

    def close(self):
        self.stop()


def fake_sounddevice(*, devices=None, open_error=None, blocks=0, unplug_after=False, speed=20.0, overflow_at=(), refuse_channels=(),
                     pause_at=-1, audio=None, open_delay=0.0):
    """A module that looks like sounddevice to quietland.capture."""
    sd = types.ModuleType("sounddevice")
    sd.pause_at = pause_at
    sd.audio = audio
    sd.PortAudioError = PortAudioError
    sd.blocks = blocks
    sd.unplug_after = unplug_after
    sd.speed = speed
    sd.overflow_at = set(overflow_at)
    sd.opened = []
    if devices is None:
        devices = [
            {"index": 0, "name": "HDA Intel PCH: ALC257 Analog (hw:0,0)", "hostapi": 0, "max_input_channels": 2, "default_samplerate": 44100.0},
            {"index": 1, "name": "HDMI 0 (hw:0,3)", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48000.0},
            {"index": 2, "name": "USB Mic: Audio (hw:1,0)", "hostapi": 0, "max_input_channels": 1, "default_samplerate": 48000.0},
            {"index": 3, "name": "pulse", "hostapi": 0, "max_input_channels": 32, "default_samplerate": 44100.0},
        ]
    default_in = 3 if devices else -1
    sd.default = types.SimpleNamespace(device=[default_in, default_in])
    sd.query_devices = lambda: devices
    sd.query_hostapis = lambda: [{"name": "ALSA"}]

    def input_stream(**kwargs):
        time.sleep(open_delay)  # (a sound server that does not answer)
        sd.opened.append(kwargs)
        if open_error is not None:
            raise PortAudioError(*open_error)
        if kwargs["channels"] in refuse_channels:
            raise PortAudioError("Invalid number of channels", capture.PA_INVALID_CHANNEL_COUNT)
        return FakeStream(sd, **kwargs)

    sd.InputStream = input_stream
    return sd


@pytest.fixture
def use_fake(monkeypatch):
    def install(**kwargs):
        sd = fake_sounddevice(**kwargs)
        monkeypatch.setitem(sys.modules, "sounddevice", sd)
        return sd

    return install


class NoPortAudio:
    """An import hook that fails the way `import sounddevice` does without the PortAudio library."""

    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quietland: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("command", [["devices"], ["live", "--headless"]])
def test_portaudio_missing(monkeypatch, capsys, command):
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    assert main(command) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "PortAudio is not installed" in line and "libportaudio2" in line


def test_devices_lists_input_devices_with_ids_channels_and_rates(use_fake, capsys):
    use_fake()
    assert main(["devices"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "name", "system", "inputs", "default", "Hz"]
    rows = {line[2:5].strip(): line for line in out[1:]}
    assert sorted(rows) == ["0", "2", "3"]  # the HDMI output has no input
    assert "USB Mic: Audio (hw:1,0)" in rows["2"] and rows["2"].split()[-2:] == ["1", "48000"]
    assert rows["3"].startswith("*") and not rows["0"].startswith("*")


def test_no_input_device(use_fake, capsys):
    use_fake(devices=[])
    assert list_devices() == []
    with pytest.raises(CaptureError, match="^No audio input device was found"):
        MicrophoneSource()
    assert main(["live", "--headless", "--no-record"]) == 1
    live = one_error_line(capsys.readouterr().err)
    assert "No audio input device was found" in live
    assert main(["devices"]) == 1
    assert one_error_line(capsys.readouterr().err) == live  # the same sentence from every command


@pytest.mark.parametrize(
    "wanted, found",
    [(None, 3), ("2", 2), (0, 0), ("usb", 2), ("PULSE", 3), ("alc257", 0)],
)
def test_find_device_by_id_or_name(use_fake, wanted, found):
    use_fake()
    assert find_device(wanted).id == found


@pytest.mark.parametrize(
    "wanted, message",
    [
        ("7", r"^There is no input device with id 7; 'quietland devices' lists them\.$"),
        ("1", r"^There is no input device with id 1"),  # an output-only device
        ("webcam", r"^No input device is called 'webcam'; 'quietland devices' lists them\.$"),
        ("hw:", r"^'hw:' matches several input devices \(0: HDA .*, 2: USB .*\); give its id instead\.$"),
    ],
)
def test_device_not_found(use_fake, wanted, message):
    use_fake()
    with pytest.raises(CaptureError, match=message):
        MicrophoneSource(wanted)


@pytest.mark.parametrize(
    "error, message",
    [
        (("Device unavailable", capture.PA_DEVICE_UNAVAILABLE), r"is busy: another program is using it"),
        (("Unanticipated host error", capture.PA_UNANTICIPATED_HOST_ERROR, (0, -16, "Device or resource busy")), r"is busy"),
        (("Invalid sample rate", capture.PA_INVALID_SAMPLE_RATE), r"does not support a sample rate of 44100 Hz; try --sample-rate 48000 or"),
        (("Invalid device", capture.PA_INVALID_DEVICE), r"is not available any more \(unplugged\?\)"),
        (("Unanticipated host error", capture.PA_UNANTICIPATED_HOST_ERROR, (0, -19, "No such device")), r"not available any more"),
        (("Internal PortAudio error", -9986), r"could not be opened: Internal PortAudio error\.$"),
    ],
)
def test_device_that_cannot_be_opened(use_fake, capsys, tmp_path, error, message):
    use_fake(open_error=error)
    with pytest.raises(CaptureError, match=message):
        MicrophoneSource("alc257")
    assert main(["live", "--headless", "--device", "alc257", "--recordings-dir", str(tmp_path)]) == 1
    one_error_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == [], "nothing is created for a session that never started"


def test_a_rate_outside_what_quietland_analyses(use_fake, capsys):
    use_fake()
    with pytest.raises(CaptureError, match=r"^A sample rate of 192000 Hz is not supported; quietland analyses 8000 to 96000 Hz\.$"):
        MicrophoneSource("usb", 192000)
    assert main(["live", "--headless", "--sample-rate", "192000"]) == 2  # the command line already refuses it
    assert "from 8000 to 96000 Hz" in one_error_line(capsys.readouterr().err)


def test_the_stream_takes_both_channels_at_the_device_rate_with_short_blocks(use_fake):
    """Two channels, so that the session can turn back an inverted one before mixing (quietland.downmix)."""
    sd = use_fake(blocks=3)
    mic = MicrophoneSource("alc257")
    expected_block = round(capture.BLOCK_DURATION_S * 44100)
    assert (mic.sample_rate, mic.channels, mic.block_size, mic.latency_s) == (44100, 2, expected_block, 0.02)
    assert sd.opened[0]["device"] == 0 and sd.opened[0]["dtype"] == "float32"
    assert mic.description == "HDA Intel PCH: ALC257 Analog (hw:0,0) (device 0, ALSA)"


@pytest.mark.parametrize("device, refused, expected", [("usb", (), 1), ("alc257", (2,), 1), ("pulse", (), 2)])
def test_a_device_that_cannot_give_two_channels_gives_one(use_fake, device, refused, expected):
    sd = use_fake(refuse_channels=refused)
    mic = MicrophoneSource(device)
    assert mic.channels == expected
    assert [o["channels"] for o in sd.opened] == ([2, 1] if refused else [expected])


def test_blocks_in_order_until_stop_and_overflows_counted(use_fake):
    use_fake(blocks=10_000, speed=50.0, overflow_at=(2, 5))
    mic = MicrophoneSource("usb", 16000)
    got = []
    for block in mic.blocks():
        got.append(block)
        if sum(len(b) for b in got) >= 20 * mic.block_size:
            mic.stop()
    values = device_blocks(got, mic.block_size)
    assert len(values) >= 20
    assert values == [np.float32((i % 100) / 1000.0) for i in range(len(values))], "every block, in order"
    assert mic.overflows == 2


def test_a_process_stopped_for_a_while_is_no_dead_device(use_fake, monkeypatch):
    """Ctrl-Z, then 'fg' 6 s later (or a laptop's sleep): the first check after it found no block for 6 s and ended the
    session, saying the device had stopped delivering audio; the device's thread had only been stopped too."""
    use_fake(blocks=60, speed=20.0, pause_at=20)
    jumped = [0.0]
    real = time.monotonic
    monkeypatch.setattr(capture.time, "monotonic", lambda: real() + jumped[0])
    mic = MicrophoneSource("usb", 16000)
    got = []
    for block in mic.blocks():
        got.append(block)
        if sum(len(b) for b in got) >= 20 * mic.block_size and not jumped[0]:
            jumped[0] = 6.0  # the process was not running for 6 s
        if sum(len(b) for b in got) >= 60 * mic.block_size:
            mic.stop()
    assert device_blocks(got, mic.block_size) == [np.float32((i % 100) / 1000.0) for i in range(60)]


def device_blocks(got: list[np.ndarray], size: int) -> list[float]:
    """The fake device's blocks (each a constant) out of what blocks() yielded, which may join queued blocks."""
    x = np.concatenate(got)[:, 0]
    assert x.size % size == 0
    parts = x.reshape(-1, size)
    assert np.all(parts == parts[:, :1]), "a yielded block never splits a device block"
    return [float(v) for v in parts[:, 0]]


def test_an_unplugged_device_hands_over_what_it_captured_then_says_so(use_fake):
    use_fake(blocks=30, unplug_after=True)
    mic = MicrophoneSource("usb")
    got = []
    with pytest.raises(CaptureError, match=r"^The input device 'USB Mic: Audio \(hw:1,0\)' stopped delivering audio"):
        for block in mic.blocks():
            got.append(block)
    assert device_blocks(got, mic.block_size) == [np.float32((i % 100) / 1000.0) for i in range(30)]


def test_live_headless_with_an_unplugged_device_saves_everything_and_exits_1(use_fake, capsys, tmp_path):
    block = round(capture.BLOCK_DURATION_S * 48000)
    n_blocks = round(1.5 * 48000 / block)  # 1.5 s at 48 kHz
    use_fake(blocks=n_blocks, unplug_after=True)
    code = main(["live", "--headless", "--json", "--device", "usb", "--recordings-dir", str(tmp_path), "--athlete", "Sam"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if line.startswith("quietland: error:")]
    assert len(error_lines) == 1 and "stopped delivering audio" in error_lines[0]
    final = json.loads(out.strip().splitlines()[-1])
    assert final["duration_s"] == 1.5 and final["sample_rate"] == 48000
    wav = next(tmp_path.glob("quietland-*.wav"))
    assert f"quietland: saved {wav}" in err and f"quietland: saved {wav.with_suffix('.json')}" in err
    assert sf.info(wav).frames == n_blocks * block
    doc = json.loads(wav.with_suffix(".json").read_text())
    assert doc["complete"] is True and doc["athlete"] == "Sam" and doc["duration_s"] == 1.5
    assert doc["config"]["device"] == "USB Mic: Audio (hw:1,0) (device 2, ALSA)"
    assert any("stopped delivering audio" in w for w in doc["warnings"])
    # the last line says which session it is, as 'analyze --json' of the recording does: importing it replaces the
    # session stored from the recording (it was a second copy, under 'unknown': an audit)
    assert (final["session_started_at"], final["athlete"]) == (doc["started_at"], "Sam") and final["file"] == str(wav)
    # and its recorded_at is the one 'analyze --json' of the recording gives (it was the session's start)
    assert main(["analyze", str(wav), "--json"]) == 0
    assert final["recorded_at"] == json.loads(capsys.readouterr().out)["recorded_at"] is not None


class ClosingPipe(io.StringIO):
    """A stdout whose reader goes away after ``lines`` lines ('| head -3')."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= text.count("\n")
        return super().write(text)


def test_live_headless_whose_output_reader_goes_away_ends_saved_and_says_so(use_fake, capsys, tmp_path, monkeypatch):
    """'quietland live --headless --json | head -3' ended the session with exit 1 and not a word: not where it was
    saved, nor why it ended."""
    from quietland.synth import SessionSpec, synthesize

    s = synthesize(SessionSpec(sample_rate=48000, kind="landings", sets=(20,), cadence_per_min=150.0, seed=2))
    block = round(capture.BLOCK_DURATION_S * 48000)
    use_fake(blocks=len(s.audio) // block, audio=s.audio, speed=20.0)
    pipe = ClosingPipe(3)
    monkeypatch.setattr(sys, "stdout", pipe)
    code = main(["live", "--headless", "--json", "--device", "usb", "--recordings-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert len(pipe.getvalue().splitlines()) == 3
    wav = next(tmp_path.glob("quietland-*.wav"))
    assert f"quietland: saved {wav}" in err and f"quietland: saved {wav.with_suffix('.json')}" in err
    [error] = [line for line in err.splitlines() if line.startswith("quietland: error:")]
    assert error.startswith("quietland: error: the output's reader went away; the session ended there, at ")
    doc = json.loads(wav.with_suffix(".json").read_text())
    assert doc["complete"] is True and 2 <= doc["summary"]["reps"] < 20  # (ended early: 20 were to come)
    assert sf.info(wav).frames < len(s.audio)


def test_a_signal_while_the_device_opens_ends_live_before_anything_is_recorded(use_fake, capsys, tmp_path):
    """SIGTERM's default action killed a live session that was still opening; after the WAV was made, it left an
    empty WAV behind."""
    sd = use_fake(blocks=100)
    opening = sd.InputStream

    def open_and_be_stopped(**kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return opening(**kwargs)

    sd.InputStream = open_and_be_stopped
    code = main(["live", "--headless", "--device", "usb", "--recordings-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0 and out == ""
    assert err == "quietland: SIGTERM came before the session started; nothing was recorded.\n"
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_the_files_are_made_ends_the_session_as_it_starts(use_fake, capsys, tmp_path, monkeypatch, sig):
    use_fake(blocks=100)
    making = recorder_module.SessionRecorder.__init__

    def make_and_be_stopped(self, *args, **kwargs):
        making(self, *args, **kwargs)
        os.kill(os.getpid(), sig)

    monkeypatch.setattr(recorder_module.SessionRecorder, "__init__", make_and_be_stopped)
    code = main(["live", "--headless", "--json", "--device", "usb", "--recordings-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err
    final = json.loads(out.strip().splitlines()[-1])
    wav = next(tmp_path.glob("quietland-*.wav"))
    doc = json.loads(wav.with_suffix(".json").read_text())
    assert doc["complete"] is True and doc["summary"] == final["summary"]
    assert sf.info(wav).frames == round(final["duration_s"] * final["sample_rate"])


def test_a_device_that_does_not_stop_is_left_behind_after_a_wait(use_fake, monkeypatch):
    """A sound server that stops answering blocks PortAudio's stop and close; the source waits RELEASE_TIMEOUT_S."""
    use_fake(blocks=5)
    monkeypatch.setattr(capture, "RELEASE_TIMEOUT_S", 0.2)
    monkeypatch.setattr(capture, "_hung", [])  # (else main() ends the pytest process)
    mic = MicrophoneSource("usb")
    forever = threading.Event()
    mic._stream.abort = mic._stream.stop = lambda: forever.wait()
    blocks = mic.blocks()
    next(blocks)
    mic.stop()
    started = time.monotonic()
    rest = list(blocks)  # stop() blocks, then close()'s abort(): one wait, then the device is left alone
    assert time.monotonic() - started < 1.0 and len(rest) <= 4
    assert mic.hung and capture.device_hung()
    assert mic.warnings == ["The input device 'USB Mic: Audio (hw:1,0)' did not stop within 0.2 s (the sound server "
                            "is not answering); the session was saved without waiting for it."]
    forever.set()


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 1), (signal.SIGHUP, 1), (signal.SIGINT, 130)])
def test_a_signal_abandons_a_headless_calibration_in_one_sentence(use_fake, capsys, tmp_path, sig, code):
    """SIGHUP (an SSH connection dropped) killed a headless calibration; it now abandons it as SIGTERM does."""
    use_fake(blocks=10_000, speed=1.0)
    threading.Timer(0.5, os.kill, (os.getpid(), sig)).start()
    assert main(["calibrate", "--headless", "--device", "usb", "--output", str(tmp_path / "p.toml")]) == code
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith(f"quietland: calibrating with USB Mic: Audio (hw:1,0) (device 2, ALSA) at "
                                          f"48000 Hz, for the profile 'p' ({tmp_path / 'p.toml'}). Step 1 of 4: ")
    assert err.splitlines()[-1] == ("quietland: error: calibration stopped in step 1 of 4 (room silence) before it was "
                                    "finished; nothing was saved.")
    assert list(tmp_path.iterdir()) == []


def test_a_plan_given_to_a_headless_session_is_said_to_be_unused(use_fake, capsys, tmp_path):
    """--plan with --headless was accepted in silence (only the screen follows a plan)."""
    use_fake(blocks=5)
    assert main(["live", "--headless", "--plan", "3x10", "--device", "usb", "--no-record", "--duration", "0.05"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "quietland: note: --plan is not used with --headless: only the screen shows and follows a plan."


def test_live_without_a_terminal_needs_headless(use_fake, capsys, monkeypatch):
    use_fake()
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))
    assert main(["live"]) == 2
    assert "--headless" in one_error_line(capsys.readouterr().err)
    assert main(["live", "--json"]) == 2
    assert "--json needs --headless" in one_error_line(capsys.readouterr().err)



def test_a_second_ctrl_c_while_the_session_closes_says_where_its_recording_is(use_fake, capsys, tmp_path, monkeypatch):
    """A second Ctrl-C stops waiting for the session to close; it said only 'interrupted', not where the recording
    was (an audit). (The second Ctrl-C is raised where the handler raises it: in the session's run.)"""
    from quietland.session import SessionRunner

    run = SessionRunner.run

    def interrupted(self):
        run(self)
        raise KeyboardInterrupt  # (as it closes)

    use_fake(blocks=100)
    monkeypatch.setattr(SessionRunner, "run", interrupted)
    assert main(["live", "--headless", "--device", "usb", "--recordings-dir", str(tmp_path), "--duration", "0.2"]) == 130
    wav = next(tmp_path.glob("quietland-*.wav"))
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"quietland: error: interrupted again while the session was closing; its recording is {wav}")

def test_an_empty_recordings_dir_is_refused(use_fake, capsys, tmp_path):
    """'--recordings-dir "$DIR"' with DIR unset saved in the default folder without a word (an audit)."""
    from quietland.recorder import default_recordings_dir

    use_fake()
    assert main(["live", "--headless", "--device", "usb", "--recordings-dir", " "]) == 2
    assert "argument --recordings-dir: give a folder (it is empty)" in one_error_line(capsys.readouterr().err)
    assert not default_recordings_dir().exists()


def test_opening_nothing_imports_no_audio_library():
    """session, recorder and capture load sounddevice only when a microphone is opened (soundfile: never)."""
    import os
    import subprocess
    from pathlib import Path

    import quietland

    code = (
        "import sys, quietland.capture, quietland.session, quietland.recorder\n"
        "print(sorted(m for m in ('sounddevice', 'soundfile', 'textual') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(quietland.__file__).resolve().parent.parent)}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_recordings_dir_with_a_tilde_is_the_home_folder(use_fake, capsys, tmp_path, monkeypatch):
    """'--recordings-dir=~/rec' (no shell expands a ~ after '=') made a folder named '~' where it ran."""
    block = round(capture.BLOCK_DURATION_S * 48000)
    use_fake(blocks=round(0.5 * 48000 / block), unplug_after=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    main(["live", "--headless", "--device", "usb", "--recordings-dir=~/rec"])
    assert len(list((tmp_path / "home" / "rec").glob("quietland-*.wav"))) == 1
    assert not (tmp_path / "~").exists()


def test_a_sound_server_that_does_not_answer_is_one_sentence_in_seconds(use_fake, monkeypatch):
    """A hung sound server held 'quietland live' for 31-120 s, deaf to Ctrl-C, then blamed the microphone: 'No
    audio input device was found'. Opening the stream now gives up after ANSWER_TIMEOUT_S, says why, and marks the
    process to end without waiting for PortAudio."""
    monkeypatch.setattr(capture, "ANSWER_TIMEOUT_S", 0.3)
    monkeypatch.setattr(capture, "_hung", [])
    use_fake(blocks=10, open_delay=5.0)
    started = time.monotonic()
    with pytest.raises(CaptureError, match=r"^The sound system did not answer within 0.3 s while opening the audio "
                                           r"input \(its sound server is not answering"):
        MicrophoneSource("usb", 16000)
    assert time.monotonic() - started < 2.0 and capture.device_hung()


def test_live_headless_started_with_stdout_closed_ends_saved_and_says_so(use_fake, capsys, tmp_path, monkeypatch):
    """'quietland live --headless >&-': Python's stdout is None, and the first rep was an AttributeError traceback."""
    from quietland.synth import SessionSpec, synthesize

    s = synthesize(SessionSpec(sample_rate=48000, kind="landings", sets=(20,), cadence_per_min=150.0, seed=2))
    block = round(capture.BLOCK_DURATION_S * 48000)
    use_fake(blocks=len(s.audio) // block, audio=s.audio, speed=20.0)
    monkeypatch.setattr(sys, "stdout", None)
    code = main(["live", "--headless", "--device", "usb", "--recordings-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    [error] = [line for line in err.splitlines() if line.startswith("quietland: error:")]
    assert error.startswith("quietland: error: the output could not be written (standard output is closed); the "
                            "session ended there, at ")
    assert len(list(tmp_path.glob("quietland-*.json"))) == 1


def test_live_with_an_athlete_scores_against_their_profile(use_fake, capsys, tmp_path, monkeypatch):
    """'calibrate --name ann', then 'live --athlete ann': the profile named 'default' (or none) was used unless
    --profile ann was given as well."""
    from dataclasses import replace

    from quietland.calibration import DEFAULT_PROFILE, profiles_dir, save_profile

    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))
    profiles_dir().mkdir(parents=True)
    save_profile(replace(DEFAULT_PROFILE, name="ann", calibrated=True, source="recording:cal.wav"),
                 profiles_dir() / "ann.toml")
    block = round(capture.BLOCK_DURATION_S * 48000)
    for athlete, expected in (("Ann", "ann"), ("bo", None), ("Mary Jane", None), ("bo.toml", None)):
        use_fake(blocks=round(0.5 * 48000 / block), unplug_after=True)
        main(["live", "--headless", "--json", "--device", "usb", "--no-record", "--athlete", athlete])
        out, err = capsys.readouterr()
        final = json.loads(out.strip().splitlines()[-1])
        assert (final["calibration"]["name"] if final["calibration"]["calibrated"] else None) == expected
        # an athlete with no profile of their own is told whose the session scores against (review)
        command = {"bo": "'quietland calibrate --name bo'", "Mary Jane": "\"quietland calibrate --name 'Mary Jane'\"",
                   "bo.toml": "'quietland calibrate --name NAME'"}.get(athlete)
        note = (f"quietland: note: {athlete} has no calibration profile of their own, so the session scores against no "
                f"profile (uncalibrated scores); {command} makes one.")
        assert (note in err.splitlines()) == (expected is None), err


def test_live_puts_a_session_that_did_not_close_in_the_history_and_says_so(use_fake, capsys, tmp_path):
    """A session killed outright was not mentioned by the next 'live', nor in the history until imported by hand."""
    from quietland.history import HistoryStore
    from quietland.recorder import SessionRecorder, marker_path
    from quietland.session import SessionRunner
    from quietland.synth import SessionSpec, synthesize

    audio = synthesize(SessionSpec(sample_rate=16000, kind="landings", sets=(12,), cadence_per_min=150, snr_db=35.0,
                                   seed=5)).audio

    class Blocks:
        sample_rate = 16000
        description = "synthetic"

        def blocks(self):
            yield from (audio[i : i + 1600] for i in range(0, audio.size, 1600))

    rec = SessionRecorder(tmp_path, 16000, athlete="Kim")
    runner = SessionRunner(Blocks(), "line-hops", None, lambda update: None)
    runner.run()
    rec.write(audio)
    rec.save_results(runner.analysis, config=runner.config, actions=[], block_size=1600)
    os.close(rec._marker)  # the process dies: the system lets go of its descriptors, the marker's lock with them
    rec._marker = None
    rec.close()  # (no final results: they stay the saved ones, complete: false)
    assert json.loads(rec.results_path.read_text())["complete"] is False and marker_path(rec.wav_path).exists()

    block = round(capture.BLOCK_DURATION_S * 48000)
    use_fake(blocks=round(0.5 * 48000 / block), unplug_after=True)
    main(["live", "--headless", "--device", "usb", "--recordings-dir", str(tmp_path), "--duration", "0.2"])
    err = capsys.readouterr().err
    reps = runner.analysis.summary.reps
    assert err.splitlines()[0] == (
        f"quietland: note: The session started {rec.started_at.isoformat()[:19].replace('T', ' ')} did not close "
        f"(quietland was killed, or the power went): the results it saved of its first {int(audio.size / 16000)} s, "
        f"{reps} reps, are now in the training history."
    )
    with HistoryStore.open() as store:
        assert [(s.athlete, s.reps, s.complete) for s in store.sessions()] == [("Kim", reps, False)]
    assert not marker_path(rec.wav_path).exists()
    use_fake(blocks=round(0.5 * 48000 / block), unplug_after=True)
    main(["live", "--headless", "--device", "usb", "--recordings-dir", str(tmp_path), "--duration", "0.2"])
    assert "did not close" not in capsys.readouterr().err, "said once"


def test_a_session_not_added_to_the_history_as_it_ends_is_added_by_the_next_live(use_fake, capsys, tmp_path, monkeypatch):
    """Its marker was removed although the history did not take it (review): it was never added, nor mentioned."""
    import quietland.history as history
    from quietland.history import HistoryStore
    from quietland.recorder import marker_path
    from quietland.synth import SessionSpec, synthesize

    audio = synthesize(SessionSpec(sample_rate=48000, kind="landings", sets=(8,), cadence_per_min=150, snr_db=35.0,
                                   seed=5)).audio
    block = round(capture.BLOCK_DURATION_S * 48000)
    use_fake(blocks=audio.size // block, unplug_after=True, audio=audio)
    with monkeypatch.context() as m:
        m.setattr(history, "store_session", lambda *a, **k: (None, "the history is held by another process"))
        main(["live", "--headless", "--device", "usb", "--recordings-dir", str(tmp_path), "--drill", "pogo"])
    err = capsys.readouterr().err
    assert "quietland: warning: The session was not added to the training history: the history is held" in err
    wav = next(tmp_path.glob("quietland-*.wav"))
    doc = json.loads(wav.with_suffix(".json").read_text())
    assert doc["complete"] is True and doc["summary"]["reps"] >= 6 and marker_path(wav).exists()
    for fd in os.listdir("/proc/self/fd"):  # the process ends: the system closes its descriptors, the marker's too
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(marker_path(wav)):
                os.close(int(fd))
        except OSError:
            pass

    use_fake(blocks=round(0.2 * 48000 / block), unplug_after=True)
    main(["live", "--headless", "--device", "usb", "--recordings-dir", str(tmp_path), "--duration", "0.1"])
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (f"quietland: note: The session started {doc['started_at'][:19].replace('T', ' ')} "
                                   "ended, but was not added to the training history then; it is there now.")
    assert not list(tmp_path.glob(".quietland-*"))
    with HistoryStore.open() as store:
        assert [(s.reps, s.complete) for s in store.sessions()] == [(doc["summary"]["reps"], True)]
