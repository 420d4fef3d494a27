"""SessionRecorder: never overwrites, a readable WAV even after SIGKILL, a full disk stops recording not measuring, atomic JSON."""
from __future__ import annotations

import errno
import json
import os
import signal
import struct
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import quietland
import quietland.recorder as recorder_module
from quietland.audiofile import FileSource
from quietland.recorder import RecordingError, SessionRecorder, data_dir, default_recordings_dir
from quietland.session import SessionRunner, Status
from quietland.synth import SessionSpec, synthesize

PACKAGE_ROOT = str(Path(quietland.__file__).resolve().parent.parent)
WHEN = datetime(2026, 11, 23, 7, 30, 5)


def declared_frames(path: Path) -> int:
    """Frames the WAV header's data chunk declares (32-bit float mono)."""
    data = path.read_bytes()
    i = data.index(b"data")
    return struct.unpack("<I", data[i + 4 : i + 8])[0] // 4


@pytest.fixture(scope="module")
def session():
    spec = SessionSpec(sample_rate=16000, kind="landings", sets=(12,), cadence_per_min=150, snr_db=35.0, seed=5)
    return synthesize(spec)


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "home"
    assert default_recordings_dir() == tmp_path / "home" / "recordings"
    monkeypatch.delenv("QUIETLAND_HOME")
    assert data_dir() == tmp_path / "xdg" / "quietland"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == tmp_path / ".local" / "share" / "quietland"


def test_never_overwrites_an_existing_recording(tmp_path):
    (tmp_path / "quietland-20261123-073005.wav").write_bytes(b"somebody's audio")
    (tmp_path / "quietland-20261123-073005-2.json").write_text("somebody's results")
    rec = SessionRecorder(tmp_path, 16000, started_at=WHEN)
    rec.write(np.zeros(1600, np.float32))
    rec.close()
    assert rec.wav_path.name == "quietland-20261123-073005-3.wav"
    assert rec.results_path == rec.wav_path.with_suffix(".json")
    assert (tmp_path / "quietland-20261123-073005.wav").read_bytes() == b"somebody's audio"
    assert (tmp_path / "quietland-20261123-073005-2.json").read_text() == "somebody's results"
    assert not (tmp_path / "quietland-20261123-073005-2.wav").exists()
    again = SessionRecorder(tmp_path, 16000, started_at=WHEN)
    again.close()
    assert again.wav_path.name == "quietland-20261123-073005-4.wav"


def test_a_folder_that_cannot_be_written_is_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RecordingError, match=r"^Cannot record to '.*file/sub': .*\.$"):
        SessionRecorder(blocker / "sub", 16000)
    with pytest.raises(RecordingError, match=r"^Cannot record to '.*file': it is a file, not a folder; give another "
                                             r"--recordings-dir, or --no-record\.$"):
        SessionRecorder(blocker, 16000)
    assert blocker.read_text() == "not a folder"


def test_the_wav_holds_exactly_the_samples_written(tmp_path):
    rng = np.random.default_rng(1)
    blocks = [rng.uniform(-1, 1, n).astype(np.float32) for n in (1, 100, 4096, 7)]
    rec = SessionRecorder(tmp_path, 22050)
    for b in blocks:
        rec.write(b)
    rec.close()
    data, rate = sf.read(rec.wav_path, dtype="float32")
    assert rate == 22050 and np.array_equal(data, np.concatenate(blocks))
    source = FileSource(rec.wav_path)
    assert source.subtype == "FLOAT" and source.warnings == []
    assert declared_frames(rec.wav_path) == data.size


WRITER_SCRIPT = """
import sys, time
import numpy as np
from quietland.recorder import SessionRecorder
rec = SessionRecorder(sys.argv[1], 8000, flush_interval_s=0.1)
print(rec.wav_path, flush=True)
i = 0
while True:
    rec.write(np.full(80, (i % 1000) / 1000.0, dtype=np.float32))  # block i: 10 ms of the value i/1000
    i += 1
    time.sleep(0.002)
"""


def test_a_killed_session_leaves_a_readable_wav_up_to_the_last_header_update(tmp_path):
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    p = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        wav = Path(p.stdout.readline().strip())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not wav.exists() or wav.stat().st_size < 58 + 4 * 8000 or declared_frames(wav) == 0):
            time.sleep(0.05)
        time.sleep(0.13)  # somewhere between two header updates
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    declared = declared_frames(wav)
    assert declared >= 8000, "at least a second of audio was declared before the kill"
    assert wav.stat().st_size >= 58 + 4 * declared
    data, rate = sf.read(wav, dtype="float32")
    assert rate == 8000 and data.size == declared
    assert declared % 80 == 0, "the header is only updated between whole blocks"
    expected = np.repeat((np.arange(declared // 80) % 1000) / 1000.0, 80).astype(np.float32)
    assert np.array_equal(data, expected)
    # quietland reads the audio written after the last header update too, and says so: nothing is lost
    src = FileSource(wav)
    present = (wav.stat().st_size - 58) // 4  # (float32 mono after a 58-byte header)
    assert src.frames == present >= declared
    if present > declared:
        assert len(src.warnings) == 1 and "all of it is analysed" in src.warnings[0]
    every = np.concatenate(list(src.blocks(1000)))
    assert every.size == present and np.array_equal(every[:declared], expected)
    assert np.array_equal(every, np.repeat((np.arange(-(-present // 80)) % 1000) / 1000.0, 80)[:present].astype(np.float32))
    doc = json.loads(wav.with_suffix(".json").read_text()) if wav.with_suffix(".json").exists() else None
    assert doc is None  # this writer never asked for results: no half-written JSON either


class FullDisk:
    """A file that takes ``room`` bytes, then fails with ENOSPC (possibly part-way through a write)."""

    def __init__(self, fh, room: int) -> None:
        self.fh = fh
        self.room = room
        self.pos = 0

    def write(self, data) -> int:
        data = bytes(data)
        end = self.fh.tell() + len(data)
        if end > self.room and self.fh.tell() >= self.pos:  # growing the file past the room left
            fits = max(0, self.room - self.fh.tell())
            if fits == 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            data = data[:fits]
        n = self.fh.write(data)
        self.pos = max(self.pos, self.fh.tell())
        return n

    def __getattr__(self, name):
        return getattr(self.fh, name)


def test_a_full_disk_stops_the_recording_and_measuring_goes_on(tmp_path, monkeypatch, session):
    room = 58 + 4 * 16000 * 3 + 10  # three seconds of audio fit, and a bit of a block
    real_reserve = recorder_module._reserve_name

    def reserve_on_a_small_disk(folder, stamp):
        path, fh = real_reserve(folder, stamp)
        return path, FullDisk(fh, room)

    monkeypatch.setattr(recorder_module, "_reserve_name", reserve_on_a_small_disk)
    rec = SessionRecorder(tmp_path, 16000, flush_interval_s=0.01)

    class Blocks:
        sample_rate = 16000
        description = "synthetic"

        def blocks(self):
            for i in range(0, session.audio.size, 1600):
                yield session.audio[i : i + 1600].astype(np.float32)
                time.sleep(0.002)  # give the writer thread time to fail while the session runs

    updates = []
    analysis = SessionRunner(Blocks(), "line-hops", rec, updates.append).run()
    assert analysis.summary.reps == 12, "every landing is still counted"
    assert analysis.n_samples == session.audio.size
    stopped = [w for w in analysis.warnings if w.startswith("Recording stopped at 3.0 s because the disk is full")]
    assert stopped and "measuring goes on" in stopped[0]
    assert any(isinstance(u, Status) and stopped[0] in u.warnings for u in updates), "said as it happened"
    assert updates[-1].warnings == analysis.warnings
    data, _ = sf.read(rec.wav_path, dtype="float32")
    assert data.size == 3 * 16000
    assert np.array_equal(data, session.audio[: data.size].astype(np.float32))
    doc = json.loads(rec.results_path.read_text())
    assert doc["summary"]["reps"] == 12 and stopped[0] in doc["warnings"]


def _blocks_of(audio: np.ndarray, sample_rate: int, block: int = 4000):
    """A session source handing ``audio`` over in blocks of ``block`` samples."""

    class Blocks:
        description = "synthetic"

        def blocks(self):
            yield from (audio[i : i + block] for i in range(0, audio.size, block))

    Blocks.sample_rate = sample_rate
    return Blocks()


def test_results_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch, session):
    rec = SessionRecorder(tmp_path, 16000)
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(recorder_module.os, "replace", lambda a, b: (replaced.append((Path(a), Path(b))), real_replace(a, b)))

    runner = SessionRunner(_blocks_of(session.audio, 16000), "line-hops", rec, lambda u: None)
    first = runner.analysis_so_far()
    rec.save_results(first, config=runner.config, actions=[], block_size=4000)
    deadline = time.monotonic() + 10
    while not rec.results_path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    before = rec.results_path.read_text()
    assert json.loads(before)["complete"] is False

    real_write = recorder_module.write_atomically

    def disk_full_halfway(path, write, **kwargs):
        def half_then_full(fh):
            fh.write("{\n  \"file\": ")  # part of the document reaches the temporary file, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return real_write(path, half_then_full, **kwargs)

    monkeypatch.setattr(recorder_module, "write_atomically", disk_full_halfway)
    runner.run()
    assert rec.results_path.read_text() == before, "a failed save keeps the previous document"
    assert any(w.startswith("The results could not be saved") and "disk is full" in w for w in rec.warnings)
    assert replaced and all(a.parent == b.parent == tmp_path and b == rec.results_path for a, b in replaced)
    rec.release()  # (the open-session marker, which 'live' removes once the session is in the history)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([rec.wav_path.name, rec.results_path.name]), "no temporary files left"
    # what the session ended with is still at hand (the history stores it: the copy on disk had 0 reps)
    assert not rec.results_saved and rec.final_results is not None and rec.final_results["complete"] is True
    assert rec.final_results["summary"]["reps"] == runner.analysis.summary.reps > 0


def test_a_session_that_never_started_leaves_nothing_behind(tmp_path):
    rec = SessionRecorder(tmp_path, 16000)
    assert rec.wav_path.exists() and not rec.used
    rec.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("failure", [KeyboardInterrupt(), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))])
def test_a_recorder_that_fails_to_start_leaves_no_empty_wav(tmp_path, monkeypatch, failure):
    """Ctrl-C while the recorder started, or a disk already full, left an empty WAV that 'analyze' refuses."""
    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setattr(recorder_module, "StreamingWav", fail)
    with pytest.raises(KeyboardInterrupt if isinstance(failure, KeyboardInterrupt) else RecordingError):
        SessionRecorder(tmp_path, 16000)
    assert list(tmp_path.iterdir()) == []


def test_a_slow_disk_holds_neither_the_audio_nor_the_newest_results_back(tmp_path, monkeypatch, session):
    """One thread wrote the audio and every results save, each fsynced: with a disk taking 1.5 s an fsync, a
    SIGKILL after 30 s found 20 s of audio and 19 s of results on disk, and Ctrl-C took 15 s to save the backlog.
    Now the audio goes on while results are written, and of the documents waiting only the newest is."""
    import threading

    real_write = recorder_module.write_atomically
    release, writing, written = threading.Event(), threading.Event(), []

    def slow_write(path, write, **kwargs):
        writing.set()
        release.wait(10)  # (the disk, stuck until the test lets it go)
        written.append(1)
        return real_write(path, write, **kwargs)

    monkeypatch.setattr(recorder_module, "write_atomically", slow_write)
    rec = SessionRecorder(tmp_path, 16000, flush_interval_s=0.0)
    runner = SessionRunner(_blocks_of(session.audio, 16000), "line-hops", rec, lambda u: None)
    analysis = runner.analysis_so_far()
    rec.save_results(analysis, config=runner.config, actions=[], block_size=4000)
    assert writing.wait(10)
    blocks = [session.audio[i : i + 1600] for i in range(0, 16000 * 5, 1600)]
    for block in blocks:  # 5 s of audio and a save each 1 s, while the first save is stuck
        rec.write(block)
        rec.save_results(analysis, config=runner.config, actions=[], block_size=4000)
    deadline = time.monotonic() + 10
    while declared_frames(rec.wav_path) < 16000 * 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert declared_frames(rec.wav_path) == 16000 * 5  # every block reached the WAV, its header says so
    release.set()
    while len(written) < 2 and time.monotonic() < deadline + 10:
        time.sleep(0.01)
    time.sleep(0.2)  # (time for any other that waited to be written, were it)
    assert len(written) == 2  # the stuck one, then the newest of the 50 that waited behind it
    rec.close(analysis, config=runner.config, actions=[], block_size=4000)
    assert len(written) == 3 and json.loads(rec.results_path.read_text())["complete"] is True


def _saved_text(rec: SessionRecorder, analysis, runner) -> str:
    """Save ``analysis`` as a session does between sets, wait for the writer and read the file back."""
    before = rec.results_path.stat().st_mtime_ns if rec.results_path.exists() else None
    rec.save_results(analysis, config=runner.config, actions=[], block_size=4000)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if rec.results_path.exists() and rec.results_path.stat().st_mtime_ns != before:
            break
        time.sleep(0.01)
    time.sleep(0.05)  # (os.replace is atomic: the file read is one document or the other)
    return rec.results_path.read_text()


def test_a_save_between_sets_writes_the_document_json_would_write(tmp_path, session):
    """Saves between sets make each entry's text once and write the document in pieces; the file is, to the byte,
    what json.dumps(indent=2) makes of the whole document, also once reps gain their scores and entries are added."""
    import dataclasses

    from quietland.events import Cue

    runner = SessionRunner(_blocks_of(session.audio, session.sample_rate), "line-hops", None, lambda u: None)
    full = runner.run()
    assert full.reps and full.rejected is not None and all(r.score is not None for r in full.reps)
    cues = (Cue(full.reps[3].sample, "form-fade", "Form fading: end the set.", set_number=1, rep_number=4),)
    unscored = tuple(dataclasses.replace(r, score=None) for r in full.reps[:8])
    early = dataclasses.replace(full, reps=unscored, rejected=full.rejected[:2], cues=())
    later = dataclasses.replace(full, reps=(*full.reps[:6], *unscored[6:]), cues=cues)
    rec = SessionRecorder(tmp_path, 16000, started_at=WHEN)
    for analysis in (early, later, full):
        text = _saved_text(rec, analysis, runner)
        whole = rec.results_document(analysis, config=runner.config, actions=[], block_size=4000)
        assert text == json.dumps(whole, indent=2) + "\n"
    doc = json.loads(text)
    assert doc["complete"] is False and len(doc["reps"]) == len(full.reps) and doc["reps"][0]["score"] is not None
    rec.close()


def test_the_results_on_disk_follow_a_set_as_it_goes(tmp_path):
    """A session killed mid-set (power cut, SIGKILL) keeps in its JSON the reps up to about a second before the end:
    the results are saved every SAVE_INTERVAL_S while reps come, not only at set ends. With saves every 5 s, a kill
    in a session's first 5 s kept no rep at all."""
    from quietland.session import SAVE_INTERVAL_S, Level

    spec = SessionSpec(sample_rate=16000, kind="landings", sets=(60,), cadence_per_min=150, snr_db=35.0, seed=7,
                       lead_in_s=1.0)
    long_set = synthesize(spec)
    rec = SessionRecorder(tmp_path, 16000, started_at=WHEN)
    seen: dict[float, dict] = {}
    checks_s = [3.0, 15.0]  # early in the set (its first reps), and well into it

    def look(update):  # the runner waits while this looks: the newest save is at most SAVE_INTERVAL_S old
        if isinstance(update, Level) and checks_s and update.sample >= checks_s[0] * 16000:
            check_s = checks_s.pop(0)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                doc = json.loads(rec.results_path.read_text())
                if doc["duration_s"] >= check_s - SAVE_INTERVAL_S - 0.1:
                    seen[check_s] = doc
                    return
                time.sleep(0.01)

    SessionRunner(_blocks_of(long_set.audio, 16000, 320), "line-hops", rec, look).run()
    assert sorted(seen) == [3.0, 15.0], "a results document at most one save interval old was written"
    for check_s, least in ((3.0, 2), (15.0, 30)):
        doc = seen[check_s]
        landings = [t for t in long_set.landing_times_s if t < doc["duration_s"] - 0.5]
        assert doc["complete"] is False
        assert len(doc["reps"]) >= len(landings) >= least, check_s
    final = json.loads(rec.results_path.read_text())
    assert final["complete"] is True and final["summary"]["reps"] == 60


def test_an_entry_json_cannot_hold_is_never_left_out_later():
    """A text that failed to be made left the cache one entry out of step, and the next save went without it."""
    from quietland.report import EntryTexts

    texts = EntryTexts(lambda value: {"v": value})
    with pytest.raises(ValueError):
        texts.update([1.0, float("nan")])
    with pytest.raises(ValueError):
        texts.update([1.0, float("nan"), 3.0])
    assert texts.update([1.0, 2.0, 3.0]) == ['    {\n      "v": 1.0\n    }', '    {\n      "v": 2.0\n    }',
                                              '    {\n      "v": 3.0\n    }']


def test_a_drill_change_with_no_rep_after_it_is_saved_within_the_interval(tmp_path):
    """Saves between sets came only when something new was decided: a drill changed in a rest was saved at the
    end only."""
    from quietland.session import SAVE_INTERVAL_S, Level

    spec = SessionSpec(sample_rate=16000, kind="landings", sets=(10,), cadence_per_min=150, snr_db=35.0, seed=3,
                       lead_in_s=1.0)
    short = synthesize(spec)
    audio = np.concatenate([short.audio, np.zeros(int(4 * SAVE_INTERVAL_S * 16000), np.float32)])
    change_at = short.audio.size + int(0.5 * SAVE_INTERVAL_S * 16000)  # the set is over, its end saved
    look_at = change_at + int(2.2 * SAVE_INTERVAL_S * 16000)
    rec = SessionRecorder(tmp_path, 16000, started_at=WHEN)
    seen: list[dict] = []
    looked = []
    runner = None

    def on_update(update):
        if not isinstance(update, Level):
            return
        if update.sample >= change_at and not runner.actions:
            runner.change_drill("pogo")
        if update.sample >= look_at and not looked:
            looked.append(True)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not seen:
                doc = json.loads(rec.results_path.read_text())
                if doc["actions"]:
                    seen.append(doc)
                time.sleep(0.01)

    runner = SessionRunner(_blocks_of(audio, 16000, 320), "line-hops", rec, on_update)
    runner.run()
    assert seen and seen[0]["complete"] is False
    assert [a["action"] for a in seen[0]["actions"]] == ["change-drill"] and seen[0]["summary"]["reps"] == 10


def test_the_json_saved_during_a_long_set_adds_up_to_no_more_than_its_audio(tmp_path):
    """Each save rewrites the whole document: every 5 s, a long busy set wrote more JSON than audio (a 20-minute
    rope session of 3,900 reps: 428 MB of JSON for a 208 MB WAV). Once the document is larger than 5 s of the WAV,
    the saves come as far apart as the document is large."""
    from quietland.recorder import _Pieces

    spec = SessionSpec(sample_rate=8000, kind="landings", sets=(500,), cadence_per_min=240, snr_db=35.0, seed=9,
                       lead_in_s=1.0)
    long_set = synthesize(spec)
    rec = SessionRecorder(tmp_path, 8000, started_at=WHEN)
    sizes: list[int] = []
    write = rec._write_results

    def measured(doc):
        write(doc)
        if isinstance(doc, _Pieces):
            sizes.append(rec.results_path.stat().st_size)

    rec._write_results = measured
    SessionRunner(_blocks_of(long_set.audio, 8000, 800), "line-hops", rec, lambda u: None).run()
    wav_bytes = 4 * long_set.audio.size
    assert sizes[-1] > 4 * 5 * 8000, "the document outgrew 5 s of audio (else this test shows nothing)"
    assert sum(sizes) <= wav_bytes, (len(sizes), sum(sizes), wav_bytes)
    assert json.loads(rec.results_path.read_text())["summary"]["reps"] == 500


def test_a_recording_deleted_while_it_is_written_is_said_to_be_lost(tmp_path):
    """'rm -rf' of the recordings folder mid-session: the audio went on into a deleted file, and only the results
    save said anything (that it failed)."""
    import shutil

    folder = tmp_path / "rec"
    rec = SessionRecorder(folder, 16000)
    rec.write(np.zeros(16000, np.float32))
    shutil.rmtree(folder)
    rec.write(np.zeros(16000, np.float32))
    rec.close()
    assert any(w.startswith(f"The recording '{rec.wav_path}' was deleted while it was being written: its audio is "
                            "lost") for w in rec.warnings)


def test_an_interrupted_close_still_finishes_the_wav(tmp_path, monkeypatch):
    """A second Ctrl-C while a slow disk took the final results left the audio thread running and the WAV's header
    unwritten (its frames declared 0), and a second close() did nothing."""
    import threading

    release = threading.Event()
    real_write = recorder_module.write_atomically
    monkeypatch.setattr(recorder_module, "write_atomically",
                        lambda path, write, **kw: (release.wait(10), real_write(path, write, **kw))[1])
    rec = SessionRecorder(tmp_path, 16000, flush_interval_s=3600.0)  # (no header update before the end)
    rec.write(np.zeros(16000, np.float32))
    rec.save_results(_analysis_of_nothing(), config={}, actions=[], block_size=4000)
    join = threading.Thread.join

    def interrupted(thread, timeout=None):
        if thread is rec._results_thread:
            raise KeyboardInterrupt
        return join(thread, timeout)

    monkeypatch.setattr(threading.Thread, "join", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rec.close()
    monkeypatch.setattr(threading.Thread, "join", join)
    assert declared_frames(rec.wav_path) == 16000
    release.set()


def _analysis_of_nothing():
    from quietland.pipeline import SessionPipeline

    return SessionPipeline(16000, "generic").analysis_so_far(())


KILLED_SESSION_SCRIPT = """
import json, sys, time
import numpy as np
from quietland.recorder import SessionRecorder
from quietland.session import SessionRunner
from quietland.synth import SessionSpec, synthesize

audio = synthesize(SessionSpec(sample_rate=16000, kind="landings", sets=(20,), cadence_per_min=150, snr_db=35.0,
                               seed=7, lead_in_s=1.0)).audio
rec = SessionRecorder(sys.argv[1], 16000, athlete="Kim")

class Source:
    sample_rate = 16000
    description = "synthetic"

    def blocks(self):
        for i in range(0, audio.size, 1600):
            yield audio[i : i + 1600]
        for _ in range(100):  # 10 s of quiet, in which the set ends and is saved: the WAV goes on past the results
            yield np.zeros(1600, np.float32)
        while True:  # wait for a save that holds the landings, then hang on as a session does
            try:
                if len(json.loads(rec.results_path.read_text())["reps"]) >= 15:
                    print(rec.wav_path, flush=True)
                    time.sleep(3600)
            except (OSError, ValueError, KeyError):
                pass
            yield np.zeros(1600, np.float32)
            time.sleep(0.05)

SessionRunner(Source(), "line-hops", rec, lambda update: None).run()
"""


def test_a_session_that_did_not_close_is_found_once_and_put_in_the_history(tmp_path, monkeypatch):
    """A session killed outright (SIGKILL, a power cut) was not in the training history until imported by hand, and
    nothing said so. Its marker, which its process held locked, is found by the next 'live' once the process is gone
    (never while it runs), its saved reps are stored, and one sentence says what is where."""
    from quietland.cli import _unfinished_notes
    from quietland.history import HistoryStore
    from quietland.recorder import marker_path, unfinished_sessions

    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))
    folder = tmp_path / "rec"
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    p = subprocess.Popen([sys.executable, "-c", KILLED_SESSION_SCRIPT, str(folder)], stdout=subprocess.PIPE, text=True,
                         env=env)
    try:
        wav = Path(p.stdout.readline().strip())
        assert wav.name.startswith("quietland-"), "the session saved its reps"
        assert marker_path(wav).exists()
        assert unfinished_sessions(folder) == [], "a session going on is not one that did not close"
        assert _unfinished_notes(folder) == []
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    doc = json.loads(wav.with_suffix(".json").read_text())
    assert doc["complete"] is False and len(doc["reps"]) >= 15
    time.sleep(0.2)  # (the writer thread was killed with it: the WAV holds more than the results)

    notes = _unfinished_notes(folder)
    assert len(notes) == 1 and notes[0][0] == "note"
    note = notes[0][1]
    assert note.startswith(f"The session started {doc['started_at'][:19].replace('T', ' ')} did not close (quietland "
                           "was killed, or the power went): the results it saved of its first ")
    assert f" s, {len(doc['reps'])} reps, are now in the training history. Its recording holds " in note
    whole = wav.with_name(wav.stem + "-whole.json")
    assert note.endswith(f"; to put all of it in the history: quietland analyze {wav} --json > {whole} && "
                         f"quietland import {whole}")
    with HistoryStore.open() as store:
        stored = store.sessions()
    assert [(s.athlete, s.reps, s.complete) for s in stored] == [("Kim", len(doc["reps"]), False)]
    assert not marker_path(wav).exists()
    assert _unfinished_notes(folder) == [], "said once"
    assert wav.exists() and wav.with_suffix(".json").exists(), "its files are left as they were"


def test_a_session_that_closes_leaves_no_marker_and_one_killed_before_any_audio_leaves_no_file(tmp_path, monkeypatch):
    from quietland.cli import _unfinished_notes
    from quietland.recorder import marker_path

    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path / "home"))
    rec = SessionRecorder(tmp_path, 16000, started_at=WHEN)
    rec.write(np.zeros(1600, np.float32))
    rec.close()
    assert marker_path(rec.wav_path).exists(), "held until the session is in the history too"
    rec.release()
    rec.release()
    assert not marker_path(rec.wav_path).exists() and rec.wav_path.exists()
    assert _unfinished_notes(tmp_path) == []

    # a process gone before its first block: its marker let go of, a WAV of a header only
    rec = SessionRecorder(tmp_path, 16000, started_at=WHEN)
    os.close(rec._marker)  # what the system does to a killed process' descriptors
    rec._marker = None
    assert _unfinished_notes(tmp_path) == []
    assert not rec.wav_path.exists() and not marker_path(rec.wav_path).exists()
    rec.close()


def test_a_marker_is_never_found_unlocked_while_it_is_made(tmp_path, monkeypatch):
    """A 'live' starting while another made its marker could lock the new marker in the moment between its creation
    and its lock, take the session going on for one that did not close, and remove its WAV (review)."""
    from quietland.recorder import marker_path, unfinished_sessions

    real_rename = os.rename
    seen = []

    def look_then_rename(src, dst):  # the moment between the lock and the marker in place
        seen.append(unfinished_sessions(tmp_path))
        real_rename(src, dst)

    monkeypatch.setattr(recorder_module.os, "rename", look_then_rename)
    rec = SessionRecorder(tmp_path, 16000, started_at=WHEN)
    assert seen == [[]] and marker_path(rec.wav_path).exists()
    assert unfinished_sessions(tmp_path) == []
    rec.close()
    rec.release()


def test_a_session_that_cannot_be_stored_now_is_kept_for_next_time_and_one_unreadable_is_said(tmp_path, monkeypatch):
    """The marker was removed whatever happened: with the history held by another process (or Ctrl-C while waiting
    for it) the session was never stored and never mentioned again; a damaged JSON got advice to import it."""
    import sqlite3

    from quietland.cli import _unfinished_notes
    from quietland.history import HistoryStore, history_path
    from quietland.recorder import marker_path

    monkeypatch.setattr("quietland.cli.SETTLE_WAIT_S", 0.2)
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    wavs = []
    for _ in range(2):
        p = subprocess.Popen([sys.executable, "-c", KILLED_SESSION_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE,
                             text=True, env=env)
        try:
            wavs.append(Path(p.stdout.readline().strip()))
        finally:
            p.kill()
            p.wait(timeout=10)
    damaged, kept = wavs
    damaged.with_suffix(".json").write_text(damaged.with_suffix(".json").read_text()[:500])
    HistoryStore.open().close()
    holder = sqlite3.connect(history_path())
    holder.execute("BEGIN EXCLUSIVE")  # another process writing the history
    try:
        notes = _unfinished_notes(tmp_path)
    finally:
        holder.rollback()
        holder.close()
    assert [level for level, _ in notes] == ["warning", "warning"]
    notes.sort(key=lambda note: "cannot be read" not in note[1])  # (the damaged one first)
    assert "its results cannot be read (" in notes[0][1] and "is not valid JSON" in notes[0][1]
    assert notes[0][1].endswith(f"To measure its recording and add it to the history: quietland analyze {damaged} "
                                f"--json > {damaged.with_name(damaged.stem + '-whole.json')} && quietland import "
                                f"{damaged.with_name(damaged.stem + '-whole.json')}")
    assert "could not be added to the training history now (" in notes[1][1]
    assert notes[1][1].endswith("; the next 'live' tries again.")
    assert not marker_path(damaged).exists() and marker_path(kept).exists()
    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr("quietland.history.HistoryStore.open", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
        _unfinished_notes(tmp_path)  # Ctrl-C while it is stored
    assert marker_path(kept).exists()
    notes = _unfinished_notes(tmp_path)
    assert [level for level, _ in notes] == ["note"] and "are now in the training history" in notes[0][1]
    assert not marker_path(kept).exists()

