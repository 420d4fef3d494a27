"""The guided calibration screen, driven headless with ``App.run_test()`` on a synthetic calibration recording.

What is checked: nothing is read before Enter; the four steps show in order
with their counts and the landings the profile is made of; a full run (stereo,
mixed down) ends in the placement form, and Save writes a profile that loads
back equal, keeps the placement and has the anchors ``calibrate --from`` finds
in the same audio; r starts again from step 1 on the same stream; q quits with
a non-zero code, stops the source and writes nothing; a recording that ends
early says what is missing (and r reads it again); a bad distance is refused
until fixed; clipping in the headroom step is a warning on screen; a source
that raises is one sentence on screen, not a crash; ``run_calibration_app``
says where it saved, or why it failed, on stderr.
"""
from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from textual.app import App

from quietland.calibrate import profile_from_audio
from quietland.calibration import Placement, load_profile
from quietland.capture import CaptureError
from quietland.synth import PRESETS, synthesize
from quietland.ui.calibrate import CalibrationApp, failure_sentence, parse_distance_m, run_calibration_app
from quietland.ui.widgets import LevelMeter
from ui_support import wait_until

SIZE = (110, 44)
BLOCK = 4096


@pytest.fixture(scope="module")
def recording():
    """5 s+ of room, then 3 normal, 5 quiet and 5 normal single jumps at 44.1 kHz."""
    return synthesize(PRESETS["calibration"])


class SynthSource:
    """The recording in :data:`BLOCK`-sample blocks, optionally paced, cut short, failing or stereo."""

    description = "synthetic calibration"

    def __init__(self, rec, *, delay_s: float = 0.0005, end_s: float | None = None, fail_at_s: float | None = None,
                 channels: int = 1, gain: float = 1.0, wait_at_s: float | None = None) -> None:
        audio = rec.audio if gain == 1.0 else np.clip(rec.audio * np.float32(gain), -1.0, 1.0)
        self.audio = audio if channels == 1 else np.repeat(audio[:, None], channels, axis=1)
        self.sample_rate = rec.sample_rate
        self.delay_s = delay_s
        self.end = len(self.audio) if end_s is None else int(end_s * self.sample_rate)
        self.fail_at = None if fail_at_s is None else int(fail_at_s * self.sample_rate)
        self.blocks_read = 0
        self.reads = 0
        self.stopped = threading.Event()
        self.wait_at = None if wait_at_s is None else int(wait_at_s * self.sample_rate)
        self.go = threading.Event()  # (a device that delivers nothing from wait_at_s on until this is set)

    def blocks(self):
        self.reads += 1
        for start in range(0, self.end, BLOCK):
            if self.wait_at is not None and start >= self.wait_at:
                while not (self.go.is_set() or self.stopped.is_set()):
                    time.sleep(0.005)
            if self.stopped.is_set():
                return
            if self.fail_at is not None and start >= self.fail_at:
                raise RuntimeError("device unplugged")
            self.blocks_read += 1
            yield self.audio[start : min(start + BLOCK, self.end)]
            time.sleep(self.delay_s)

    def stop(self) -> None:
        self.stopped.set()


def make_app(source, tmp_path, placement=Placement(1.0, "concrete", "")) -> CalibrationApp:
    return CalibrationApp(source, name="ana", output_path=tmp_path / "ana.toml", device_label="synthetic mic",
                          placement=placement)


def text(app: CalibrationApp, selector: str) -> str:
    """What the widget ``selector`` shows, as plain text."""
    return str(app.query_one(selector).render())


def listed_landings(app: CalibrationApp) -> dict[str, list[float]]:
    """The landings the screen lists: step name -> levels, dB."""
    lines = [line.split(" dB")[0] for line in text(app, "#landings").splitlines() if line.strip()]
    return {re.sub(r"[-\d. ]+$", "", line): [float(v) for v in re.findall(r"-?\d+\.\d", line)] for line in lines}


async def click_save(pilot) -> None:
    """Click the Save button once the form is laid out."""
    button = pilot.app.query_one("#save")
    await wait_until(pilot, lambda: button.region.height > 0, what="the Save button on screen")
    assert await pilot.click("#save")


def record_screens(monkeypatch) -> list[tuple[str, str]]:
    """(title, progress line) after every redraw of the calibration screen."""
    seen: list[tuple[str, str]] = []
    show = CalibrationApp._show

    def recording_show(self):
        show(self)
        seen.append((text(self, "#title"), text(self, "#progress")))

    monkeypatch.setattr(CalibrationApp, "_show", recording_show)
    return seen


@pytest.mark.asyncio
async def test_full_calibration_saves_the_profile_calibrate_from_finds(recording, tmp_path, monkeypatch):
    seen = record_screens(monkeypatch)
    source = SynthSource(recording, channels=2)  # stereo: the screen mixes it down
    app = make_app(source, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert source.reads == 0 and source.blocks_read == 0 and app.phase == "ready"
        assert "press enter when ready" in text(app, "#instruction").lower()
        assert all(name in text(app, "#instruction") for name in ("room silence", "headroom", "quiet", "normal"))

        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "placing", what="the placement form")
        assert source.stopped.is_set()
        titles = [t for t, _ in seen]
        steps_shown = [t for i, t in enumerate(titles) if t.startswith("Step") and (i == 0 or titles[i - 1] != t)]
        assert steps_shown == ["Step 1 of 4: room silence", "Step 2 of 4: headroom check",
                               "Step 3 of 4: quiet landings", "Step 4 of 4: normal landings"]
        progress = [p for _, p in seen]
        for line in ("room silence 3 / 5 s", "headroom check 2 / 3", "quiet landings 3 / 5", "normal landings 4 / 5"):
            assert line in progress
        landings = listed_landings(app)
        assert app.query_one(LevelMeter).floor_dbfs == app.steps.floor_dbfs
        assert [str(app.query_one(f"#{i}").value) for i in ("distance", "surface", "note")] == ["1", "concrete", ""]
        assert app.focused is app.query_one("#distance")

        app.query_one("#distance").value = "1.5"
        app.query_one("#surface").value = "wood"
        app.query_one("#note").value = "laptop on a chair"
        await click_save(pilot)
        await wait_until(pilot, lambda: app.saved_profile is not None, what="the save")
        path = tmp_path / "ana.toml"
        assert app.saved_path == path and path.is_file()
        saved = app.saved_profile
        # the landings listed are those the profile is made of
        assert landings["quiet landings"] == pytest.approx(saved.quiet_landings_db, abs=0.051)
        assert landings["normal landings"] == pytest.approx(saved.normal_landings_db, abs=0.051)
        assert len(landings["headroom check"]) == 3
        result = text(app, "#result")
        assert str(path) in result and f"{saved.quiet_db:.1f} dB" in result and f"{saved.floor_dbfs:.1f} dBFS" in result
        await pilot.press("x")  # any key leaves
    assert app.return_code == 0

    assert load_profile(path) == saved
    assert saved.placement == Placement(1.5, "wood", "laptop on a chair")
    assert (saved.name, saved.device, saved.source) == ("ana", "synthetic mic", "live")
    blocks = [recording.audio[i : i + BLOCK] for i in range(0, len(recording.audio), BLOCK)]
    offline = profile_from_audio(blocks, recording.sample_rate, name="ana", source="recording:x", device="synthetic mic")
    assert saved.quiet_db == pytest.approx(offline.quiet_db, abs=1.5)
    assert saved.normal_db == pytest.approx(offline.normal_db, abs=1.5)
    assert saved.floor_dbfs == pytest.approx(offline.floor_dbfs, abs=1.0)
    assert saved.quiet_db < saved.normal_db - 4


@pytest.mark.asyncio
async def test_r_starts_again_and_q_quits_writing_nothing(recording, tmp_path):
    source = SynthSource(recording, delay_s=0.04)  # 18 s for the whole recording (452 blocks)
    app = make_app(source, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.steps.step != "silence", what="the end of the silence")
        assert app.phase == "measuring"
        old = app.steps
        await pilot.press("r")  # start again: a new CalibrationSteps fed from the next block
        assert app.steps is not old and app.phase == "measuring"
        assert text(app, "#title") == "Step 1 of 4: room silence" and text(app, "#landings").strip() == ""
        await wait_until(pilot, lambda: re.fullmatch(r"room silence [1-4] / 5 s", text(app, "#progress")),
                         what="a second of new silence")
        assert source.reads == 1  # the same stream, read on
        await pilot.press("q")
    assert app.return_code == 1
    assert source.stopped.is_set()
    read = source.blocks_read
    time.sleep(0.1)
    assert source.blocks_read == read < len(recording.audio) // BLOCK  # the reader has stopped
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_a_recording_that_ends_early_says_what_is_missing(recording, tmp_path):
    source = SynthSource(recording, end_s=20.0, delay_s=0.0)
    app = make_app(source, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "ended", what="the end of the recording")
        found = re.search(r"only (\d) of 5 quiet landings were heard", text(app, "#instruction"))
        assert found and int(found[1]) == len(app.steps.landings["quiet"]) < 5
        assert text(app, "#title") == "Step 3 of 4: quiet landings"
        first = found[0]

        await pilot.press("r")  # start again: the recording is read again from its start
        await wait_until(pilot, lambda: source.reads == 2 and app.phase == "ended", what="the second read")
        assert first in text(app, "#instruction")
        await pilot.press("q")
    assert app.return_code == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_normal_landings_no_louder_than_the_quiet_ones_ask_to_start_again(tmp_path):
    """Quiet and normal steps landed the wrong way round: no placement form and nothing saved (the profile could
    anchor no score, and every command would refuse it); r starts again, q leaves."""
    from dataclasses import replace

    swapped = synthesize(replace(PRESETS["calibration"], set_force_ranges=((0.9, 1.1), (0.9, 1.1), (0.3, 0.4))))
    twice = replace(swapped, audio=np.concatenate([swapped.audio, swapped.audio]))  # (the athlete does it again)
    source = SynthSource(twice, delay_s=0.0, wait_at_s=len(swapped.audio) / swapped.sample_rate)
    app = make_app(source, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "ended", what="the end of the steps")
        assert "were no louder than the quiet ones" in text(app, "#instruction")
        assert "Press r to start again" in text(app, "#instruction")
        assert not app.query_one("#placement").has_class("shown")
        # r starts again on the same stream, which a microphone must be: one stopped at the end of the steps gave
        # only "No audio came from ..." (review)
        assert not source.stopped.is_set()
        await pilot.press("r")
        source.go.set()  # (the athlete lands again)
        await wait_until(pilot, lambda: app.phase == "ended", what="the end of the second steps")
        assert "were no louder than the quiet ones" in text(app, "#instruction")
        assert source.reads == 1
        await pilot.press("q")
    assert app.return_code == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_an_inverted_channel_is_warned_about_while_measuring(recording, tmp_path):
    source = SynthSource(recording, channels=2, end_s=8.0, delay_s=0.0)
    source.audio[:, 1] *= -1.0  # one channel the other inverted: its plain mean would be silence
    app = make_app(source, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "ended", what="the end of the recording")
        warnings = app.query_one("#warnings")
        assert warnings.has_class("shown") and "Channel 2 of 2 carries channel 1 inverted" in text(app, "#warnings")
        assert app.steps.floor_dbfs is not None and app.steps.floor_dbfs > -90.0  # the room, not a cancelled silence
        await pilot.press("q")
    assert app.return_code == 1 and list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_a_bad_distance_is_refused_until_fixed(recording, tmp_path):
    app = make_app(SynthSource(recording, delay_s=0.0), tmp_path)
    path = tmp_path / "ana.toml"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "placing", what="the placement form")
        for bad in ("abc", "25", "0"):
            app.query_one("#distance").value = bad
            app.query_one("#note").focus()
            await pilot.press("enter")  # Enter in the last field saves
            await pilot.pause(0.05)
            assert "distance must be a number of metres from 0.1 to 20" in text(app, "#form-error")
            assert app.phase == "placing" and app.saved_profile is None and not path.exists()
        app.query_one("#distance").value = "2,5"
        app.query_one("#note").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.saved_profile is not None, what="the save")
        assert load_profile(path).placement.distance_m == 2.5
        await pilot.press("q")
    assert app.return_code == 0


def test_distance_parsing():
    assert parse_distance_m("") is None and parse_distance_m("  ") is None
    assert parse_distance_m("0.1") == 0.1 and parse_distance_m("20") == 20.0 and parse_distance_m("1.234") == 1.23
    for bad in ("nan", "inf", "-1", "20.5", "1.5 m"):
        with pytest.raises(ValueError):
            parse_distance_m(bad)


def test_failure_sentences():
    assert failure_sentence(RuntimeError("device unplugged")) == "The audio input stopped: device unplugged."
    assert failure_sentence(OSError()) == "The audio input stopped: OSError."
    gone = "The input device 'USB mic' stopped delivering audio (unplugged, taken by another program, or its sound server stopped answering); the session ended there."
    assert failure_sentence(CaptureError(gone)) == gone


@pytest.mark.asyncio
async def test_a_source_that_fails_is_one_sentence_not_a_crash(recording, tmp_path):
    source = SynthSource(recording, fail_at_s=10.0, delay_s=0.0)
    app = make_app(source, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "failed", what="the failure")
        assert app.error == "The audio input stopped: device unplugged."
        assert app.error in text(app, "#instruction")
        assert "once the device works" in text(app, "#instruction") and "Press r" not in text(app, "#instruction")
        await pilot.pause(0.1)
        assert app.is_running
        await pilot.press("r")  # (not offered: the device is closed)
        await pilot.pause(0.1)
        assert app.phase == "failed" and source.reads == 1
        await pilot.press("q")
    assert app.return_code == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_clipping_in_the_headroom_step_is_a_prominent_warning(recording, tmp_path):
    source = SynthSource(recording, gain=8.0, end_s=14.0, delay_s=0.0)  # +18 dB: landings hit full scale
    app = make_app(source, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "ended", what="the end of the recording")
        warnings = app.query_one("#warnings")
        assert warnings.has_class("shown") and warnings.display
        assert "Landings reach full scale" in text(app, "#warnings") and "lower the input gain" in text(app, "#warnings")
        assert "only 0 of 5 quiet landings were heard" in text(app, "#instruction")
        await pilot.press("escape")
    assert app.return_code == 1 and list(tmp_path.iterdir()) == []


def test_run_calibration_app_saves_and_says_where(recording, tmp_path, monkeypatch, capsys):
    async def drive(pilot):
        app = pilot.app
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "placing", what="the placement form")
        await click_save(pilot)
        await wait_until(pilot, lambda: app.saved_profile is not None, what="the save")
        await pilot.press("space")

    monkeypatch.setattr(CalibrationApp, "run", lambda self: App.run(self, headless=True, size=SIZE, auto_pilot=drive))
    path = tmp_path / "p.toml"
    code = run_calibration_app(SynthSource(recording, delay_s=0.0), name="ana", output_path=path,
                               device_label="synthetic mic", placement=Placement(2.0, "mat", ""))
    assert code == 0 and load_profile(path).placement == Placement(2.0, "mat", "")
    err = capsys.readouterr().err
    assert f"quietland: saved profile {path}" in err and "earlier profile" not in err
    first = path.read_bytes()
    shown = []

    async def again(pilot):  # a second calibration over the first: where the first went is on the screen too
        await drive(pilot)
        shown.append(text(pilot.app, "#result"))

    monkeypatch.setattr(CalibrationApp, "run", lambda self: App.run(self, headless=True, size=SIZE, auto_pilot=again))
    code = run_calibration_app(SynthSource(recording, delay_s=0.0), name="ana", output_path=path,
                               device_label="synthetic mic", placement=Placement(1.0, "mat", ""))
    kept = tmp_path / "p.previous.toml"
    assert code == 0 and kept.read_bytes() == first and load_profile(path).placement.distance_m == 1.0
    assert f"The earlier profile is kept as {kept}" in " ".join(shown[0].split())
    assert f"quietland: the earlier profile is kept as {kept}\nquietland: saved profile {path}" in capsys.readouterr().err


def test_run_calibration_app_reports_a_failure(recording, tmp_path, monkeypatch, capsys):
    async def drive(pilot):
        await wait_until(pilot, lambda: pilot.app.phase == "failed", what="the failure")
        await pilot.press("q")

    monkeypatch.setattr(CalibrationApp, "run", lambda self: App.run(self, headless=True, size=SIZE, auto_pilot=drive))
    code = run_calibration_app(SynthSource(recording, fail_at_s=1.0, delay_s=0.0), name="ana",
                               output_path=tmp_path / "p.toml", device_label="mic", placement=Placement(),
                               autostart=True)
    assert code == 1 and list(tmp_path.iterdir()) == []
    assert "quietland: error: The audio input stopped: device unplugged." in capsys.readouterr().err


def test_run_calibration_app_left_without_saving_says_nothing_was_saved(recording, tmp_path, monkeypatch, capsys):
    """q before the save exited 1 with not a word on the terminal (review)."""
    async def drive(pilot):
        await pilot.press("q")

    monkeypatch.setattr(CalibrationApp, "run", lambda self: App.run(self, headless=True, size=SIZE, auto_pilot=drive))
    path = tmp_path / "p.toml"
    for there in (False, True):
        if there:
            path.write_text("earlier")
        code = run_calibration_app(SynthSource(recording, delay_s=0.0), name="ana", output_path=path,
                                   device_label="mic", placement=Placement())
        assert code == 1
        assert capsys.readouterr().err == ("quietland: calibration left before its profile was saved: nothing was saved"
                                           + (" (the profile there is as it was)" if there else "") + ".\n")
    assert path.read_text() == "earlier"


@pytest.mark.asyncio
async def test_the_placement_form_fits_a_terminal_of_80_by_24(recording, tmp_path):
    """With a border each field took three lines: at 80x24 the form scrolled, and its keys line went below the fold
    (review)."""
    app = make_app(SynthSource(recording, delay_s=0.0), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.phase == "placing", what="the placement form")
        await pilot.pause(0.1)
        assert app.screen.max_scroll_y == 0
        status = app.query_one("#status")
        assert app.query_one("#save").region.bottom <= 24 and status.region.bottom <= 24 and status.size.height == 1
        await pilot.press("escape")
