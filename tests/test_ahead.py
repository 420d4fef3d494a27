"""The detector in a second process (quietland.ahead): the same analysis as in one, and a failure is an error."""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from quietland import ahead
from quietland.audiofile import FileSource
from quietland.cli import analyze_source
from quietland.detector import LandingDetector
from quietland.pipeline import ScriptedAction
from quietland.report import analysis_to_dict
from quietland.synth import PRESETS, synthesize

two_processes = pytest.mark.skipif(
    not ahead.usable(60.0, 65536, False), reason="not Linux, or one core: analyze runs in one process here"
)


@pytest.fixture(scope="module")
def rope_wav(tmp_path_factory) -> tuple[str, int]:
    """A 30 s alternate-foot rope session (the drill whose rep logic is busiest), as a 16-bit WAV."""
    session = synthesize(replace(PRESETS["rope-alternate"], seed=5))
    path = tmp_path_factory.mktemp("ahead") / "rope.wav"
    sf.write(path, session.audio, session.sample_rate, subtype="PCM_16")
    return str(path), session.sample_rate


def analyses(path: str, drill: str, block: int, script, monkeypatch) -> tuple[dict, dict, int]:
    """The analysis with the detector in a second process, the same in one, and how many child processes ran."""
    started = []
    real = ahead.DetectorProcess

    def counted(detector):
        started.append(detector)
        return real(detector)

    monkeypatch.setattr(ahead, "DetectorProcess", counted)
    two = analyze_source(FileSource(path), drill, block, script=script)
    monkeypatch.setattr(ahead, "usable", lambda *args: False)
    one = analyze_source(FileSource(path), drill, block, script=script)
    as_dict = lambda a: analysis_to_dict(a, file=path, block_size=block)  # noqa: E731
    return as_dict(two), as_dict(one), len(started)


@two_processes
@pytest.mark.parametrize("block", [65536, 40000, 524288])  # (524288: 3 blocks, all sent before one is counted)
def test_the_detector_in_a_second_process_gives_the_same_analysis(rope_wav, block, monkeypatch):
    path, sr = rope_wav
    script = (ScriptedAction(int(9.3 * sr), "new-set"), ScriptedAction(int(17.0 * sr) + 11, "new-set"))
    two, one, children = analyses(path, "jump-rope-alternate", block, script, monkeypatch)
    assert children == 1
    assert two["summary"]["reps"] > 100 and two["summary"]["sets"] >= 3
    assert two == one


def test_a_drill_change_a_short_recording_or_small_blocks_run_in_one_process():
    assert not ahead.usable(60.0, 65536, True)  # the threshold changes mid-stream
    assert not ahead.usable(ahead.MIN_DURATION_S - 1, 65536, False)
    assert not ahead.usable(60.0, ahead.MIN_BLOCK - 1, False)


class _Breaks(LandingDetector):
    def process_pieces(self, pieces):
        raise ValueError("the detector broke")


@two_processes
def test_an_error_in_the_detector_process_is_raised_in_the_analysis():
    with ahead.DetectorProcess(_Breaks(16000)) as detector:
        with pytest.raises(ValueError, match="the detector broke"):
            detector.process_pieces([np.zeros(4000, dtype=np.float32)])


@two_processes
def test_a_detector_process_that_dies_is_an_error_not_a_wait():
    with ahead.DetectorProcess(LandingDetector(16000)) as detector:
        detector.process_pieces([np.zeros(4000, dtype=np.float32)])
        os.kill(detector.pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match="detector's process stopped"):
            detector.process_pieces([np.zeros(4000, dtype=np.float32)])


def _start_and_wait(report) -> None:
    """A parent that starts a detector process, tells its pid and waits to be killed."""
    with ahead.DetectorProcess(LandingDetector(16000)) as detector:
        report.put(detector.pid)
        time.sleep(60)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process still running (not gone, nor a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@two_processes
def test_a_detector_process_whose_parent_is_killed_ends():
    context = multiprocessing.get_context("fork")
    report = context.Queue()
    parent = context.Process(target=_start_and_wait, args=(report,))
    parent.start()
    child = report.get(timeout=30)
    assert _running(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.join()
    deadline = time.monotonic() + 30
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    still = _running(child)
    if still:
        os.kill(child, signal.SIGKILL)  # (not left behind when the test fails)
    assert not still


def test_analyze_imports_where_there_is_no_fcntl():
    """Windows has no fcntl module: the second process is Linux's only, and analyze must still import there."""
    code = "import sys; sys.modules['fcntl'] = None; import quietland.ahead, quietland.cli; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
