"""The guided calibration screen: shows :class:`~quietland.calibrate.CalibrationSteps` as it measures.

Why it exists: calibration asks the athlete to do four things in turn
(silence, a few normal hops, quiet landings, normal landings) and must show,
live, which step they are in, what was heard and what went wrong. The steps'
logic is :class:`~quietland.calibrate.CalibrationSteps`; this screen only
shows it. A thread worker reads the source's blocks, mixes them to mono,
feeds the steps and posts typed messages (:class:`InputLevel`,
:class:`StepsProgressed`, :class:`SourceEnded`, :class:`SourceFailed`); the
app never touches audio and the worker never touches a widget. When the steps
are done the source is stopped, a form asks where the microphone was, and
Save writes the profile with :func:`~quietland.calibration.save_new_profile` (an earlier one is kept).

:func:`run_calibration_app` runs it on a terminal; tests build
:class:`CalibrationApp` with a synthetic source and drive it with
``App.run_test()``.
"""
from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from ..calibrate import STEP_NAMES, STEP_TEXT, STEPS, CalibrationSteps, StepProgress
from ..calibration import Placement, Profile, ProfileError, save_new_profile
from ..capture import CaptureError
from ..pipeline import CLIP_LEVEL
from ..session import SILENCE_DBFS
from .messages import LEVEL_INTERVAL_S
from .widgets import LevelMeter, StatusLine

MISSING_NOUNS = {"silence": "seconds of room silence", "headroom": "hops of the headroom check",
                 "quiet": "quiet landings", "normal": "normal landings"}
"""What a step counts, for the "only N of M ... were heard" sentence."""
DISTANCE_RANGE_M = (0.1, 20.0)
"""Distances from the microphone to the landing spot the form accepts, metres (inclusive)."""

READY, MEASURING, ENDED, FAILED, PLACING, SAVED = "ready", "measuring", "ended", "failed", "placing", "saved"
"""The screen's phases."""


class InputLevel(Message):
    """Input level since the previous message (lossy: a newer one replaces a queued older one)."""

    def __init__(self, level_dbfs: float, clipped: bool) -> None:
        super().__init__()
        self.level_dbfs = level_dbfs
        """RMS level of the samples since the previous message, dBFS (at least :data:`SILENCE_DBFS`)."""
        self.clipped = clipped
        """True if any of those samples reached :data:`~quietland.pipeline.CLIP_LEVEL` (as the live meter)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, InputLevel) and (self.clipped or not message.clipped)


class StepsProgressed(Message):
    """Progress one :class:`CalibrationSteps` made on a block (lossless), in order."""

    def __init__(self, steps: CalibrationSteps, progress: tuple[StepProgress, ...], floor_dbfs: float | None) -> None:
        super().__init__()
        self.steps = steps
        """The steps that made it (messages of steps the screen has restarted away from are ignored)."""
        self.progress = progress
        self.floor_dbfs = floor_dbfs
        """The room floor once measured, dBFS."""


class SourceEnded(Message):
    """The source ran out before the steps were done; ``steps.finish()`` has been called."""

    def __init__(self, steps: CalibrationSteps, blocks_read: int) -> None:
        super().__init__()
        self.steps = steps
        self.blocks_read = blocks_read
        """Blocks the source gave in this read (0: it gave no audio at all)."""


class SourceFailed(Message):
    """The source raised: ``sentence`` says why."""

    def __init__(self, sentence: str) -> None:
        super().__init__()
        self.sentence = sentence


def failure_sentence(exc: BaseException) -> str:
    """One sentence for an exception raised by a source (a :class:`CaptureError`'s own message is one already)."""
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, CaptureError):
        text = f"The audio input stopped: {text}"
    return text if text.endswith((".", "!", "?")) else text + "."


def parse_distance_m(text: str) -> float | None:
    """The form's distance in metres, rounded to the centimetre (None when empty); ValueError when not in range."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    lo, hi = DISTANCE_RANGE_M
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not lo <= value <= hi:
        raise ValueError(f"The distance must be a number of metres from {lo:g} to {hi:g} (or empty), e.g. 1.5.")
    return round(value, 2)


class CalibrationApp(App[int]):
    """The guided calibration; Enter starts, r restarts, q/Escape quits without saving (exit code 1).

    After a save, :attr:`saved_profile` and :attr:`saved_path` hold what was
    written and any key exits with code 0.
    """

    TITLE = "quietland calibrate"
    AUTO_FOCUS = None  # Enter starts: nothing may take it before the form is up
    CSS = """
    #title { text-style: bold; padding: 0 1; }
    #instruction, #progress, #landings, #result { padding: 0 1; }
    #progress { color: $accent; }
    #warnings { border: heavy $error; color: $error; text-style: bold; padding: 0 1; display: none; }
    #warnings.shown { display: block; }
    #placement { height: auto; padding: 0 1; display: none; }
    #placement.shown { display: block; }
    /* one line a field: the form, the landings and the keys fit in 80x24 (with a border each field took three) */
    #placement Input { height: 1; border: none; padding: 0 1; background: $boost; }
    #placement Input:focus { background: $accent 30%; }
    #placement Button { height: 1; border: none; min-width: 16; }
    #form-error { color: $error; text-style: bold; }
    """
    BINDINGS = [
        Binding("enter", "start", "Start"),
        Binding("r", "restart", "Restart"),
        Binding("q", "quit_calibration", "Quit"),
        Binding("escape", "quit_calibration", "Quit", priority=True),
    ]

    def __init__(self, source, *, name: str, output_path: Path, device_label: str, placement: Placement,
                 drill: str = "single", silence_s: float = 5.0, autostart: bool = False) -> None:
        super().__init__()
        self.source = source
        self.profile_name = name
        self.output_path = Path(output_path)
        self.device_label = device_label
        self.placement = placement
        self.drill = drill
        self.silence_s = silence_s
        self.autostart = autostart
        self.phase = READY
        """One of ``ready``, ``measuring``, ``ended``, ``failed``, ``placing``, ``saved``."""
        self.steps = self._new_steps()
        """The steps being measured (replaced by ``r``); the worker feeds whichever is current."""
        self.saved_profile: Profile | None = None
        self.saved_path: Path | None = None
        self.previous_path: Path | None = None
        """Where the profile the save replaced was kept (None when there was none)."""
        self.error: str | None = None
        """Why the source failed, as one sentence, or None."""
        self._reading_stopped = False
        self._reader: Worker | None = None
        self._reset_display()

    def _new_steps(self) -> CalibrationSteps:
        return CalibrationSteps(self.source.sample_rate, drill=self.drill, silence_s=self.silence_s)

    def _reset_display(self) -> None:
        self._progress = StepProgress("silence", 0, self.steps.needed("silence"))
        self._landings: dict[str, list[float]] = {s: [] for s in STEPS[1:4]}
        self._warnings: tuple[str, ...] = ()
        self._floor_dbfs: float | None = None
        self._note = ""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="instruction")
        yield Static(id="progress")
        yield LevelMeter(id="meter")
        yield Static(id="warnings")
        yield Static(id="landings")
        with Vertical(id="placement"):
            distance = self.placement.distance_m
            yield Label("Distance from the microphone to the landing spot, metres (0.1-20, or empty):")
            yield Input("" if distance is None else f"{distance:g}", placeholder="e.g. 1.5", id="distance")
            yield Label("Floor surface:")
            yield Input(self.placement.surface, placeholder="e.g. wood, concrete, gym mat", id="surface")
            yield Label("Note:")
            yield Input(self.placement.note, placeholder="e.g. laptop on a chair, facing the mat", id="note")
            yield Static(id="form-error")
            yield Button("Save profile", id="save", variant="primary")
        yield Static(id="result")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        if self.autostart:
            self.action_start()
        self._show()

    def on_unmount(self) -> None:
        self.stop_reading()

    def stop_reading(self) -> None:
        """Stop reading the source for good (its ``stop()`` too, if it has one); safe from any thread, at any time."""
        self._reading_stopped = True
        self._stop_source()

    # ------------------------------------------------------------------ audio (worker thread)
    @work(thread=True, exit_on_error=False, name="calibration-reader")
    def _read_source(self) -> CalibrationSteps:
        """Worker thread: feed the source's blocks to the current steps, until the screen stops reading.

        Once the steps are done the blocks are read on and dropped until the screen takes the measure (and stops
        the source) or r starts again (the landings could not anchor a score): a microphone stopped there could not
        be read again.

        Blocks of shape ``(n,)`` or ``(n, channels)`` are mixed to mono by the steps
        (:meth:`~quietland.calibrate.CalibrationSteps.mix`, which warns of an inverted channel). The
        level (RMS of the mono samples since the last post) is posted at most every
        :data:`LEVEL_INTERVAL_S`; every progress is posted. Returns the steps fed last.
        """
        steps, read = self.steps, 0
        sum_sq, n, clipped, last_level_t = 0.0, 0, False, -math.inf
        try:
            for block in self.source.blocks():
                if self._reading_stopped:
                    return steps
                steps = self.steps  # a restart (r) takes effect here
                if steps.step == "done":
                    continue  # (measured: held open for r, until the screen leaves)
                mono = steps.mix(block)
                read += 1
                wide = mono.astype(np.float64)
                sum_sq += float(np.dot(wide, wide))
                n += mono.size
                clipped = clipped or bool(np.any(np.abs(mono) >= CLIP_LEVEL))
                now = time.monotonic()
                if n and now - last_level_t >= LEVEL_INTERVAL_S:
                    level = 10.0 * math.log10(sum_sq / n) if sum_sq > 0 else SILENCE_DBFS
                    self.post_message(InputLevel(max(SILENCE_DBFS, level), clipped))
                    sum_sq, n, clipped, last_level_t = 0.0, 0, False, now
                progress = steps.feed(mono)
                if progress:
                    self.post_message(StepsProgressed(steps, tuple(progress), steps.floor_dbfs))
            if self._reading_stopped:
                return steps
            progress = steps.finish()
            if progress:
                self.post_message(StepsProgressed(steps, tuple(progress), steps.floor_dbfs))
            self.post_message(SourceEnded(steps, read))
        except Exception as exc:  # noqa: BLE001 - any source failure becomes one sentence on screen
            self.post_message(SourceFailed(failure_sentence(exc)))
        return steps

    def _stop_source(self) -> None:
        stop = getattr(self.source, "stop", None)
        if callable(stop):
            stop()

    # ------------------------------------------------------------------ messages
    def on_input_level(self, message: InputLevel) -> None:
        if self.phase == MEASURING:
            self.query_one(LevelMeter).show(message.level_dbfs, self._floor_dbfs, message.clipped)

    def on_steps_progressed(self, message: StepsProgressed) -> None:
        if message.steps is not self.steps or self.phase != MEASURING:
            return
        self._floor_dbfs = message.floor_dbfs
        for progress in message.progress:
            self._progress = progress
            self._warnings = progress.warnings
            if progress.landing_db is not None:
                self._landings[progress.step].append(progress.landing_db)
        if self._progress.step == "done":
            quiet, normal = (statistics.median(self._landings[s]) for s in ("quiet", "normal"))
            if normal <= quiet:  # no score can be anchored on them: no form, start again (r) or leave
                self.phase = ENDED
                self._note = (f"The normal landings ({normal:.1f} dB) were no louder than the quiet ones ({quiet:.1f} dB), "
                              "so they cannot anchor a score: land as softly as you can in the quiet step and as "
                              "you usually land in the normal one.")
            else:
                self.phase = PLACING
                self._stop_source()  # (measured for good: the device is let go of)
            self.query_one(LevelMeter).show(None, self._floor_dbfs)
        self._show()
        if self.phase == PLACING:
            self.query_one("#distance", Input).focus()

    def on_source_ended(self, message: SourceEnded) -> None:
        if message.steps is not self.steps or self.phase != MEASURING:
            return
        self.phase = ENDED
        if message.blocks_read == 0:
            self._note = f"No audio came from {self.source.description}."
        else:
            p = self._progress
            self._note = (f"The audio ended before the calibration was finished: only {p.done} of {p.needed} "
                          f"{MISSING_NOUNS[p.step]} were heard.")
        self._show()

    def on_source_failed(self, message: SourceFailed) -> None:
        if self.phase in (MEASURING, ENDED):
            self.phase, self.error, self._note = FAILED, message.sentence, message.sentence
            self._show()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._reader or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if event.state == WorkerState.ERROR:
            self.on_source_failed(SourceFailed(failure_sentence(event.worker.error)))
        elif self.phase == MEASURING and event.worker.result is not self.steps and not self._reading_stopped:
            self._reader = self._read_source()  # restarted as the source ended: read it again

    # ------------------------------------------------------------------ keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer Enter only before the start and r only while measuring or after the steps or the audio ended (not
        after the device failed: it is closed, and cannot be read again)."""
        allowed = {"start": (READY,), "restart": (MEASURING, ENDED)}.get(action)
        return allowed is None or self.phase in allowed

    def action_start(self) -> None:
        if self.phase == READY:
            self.phase = MEASURING
            self._reader = self._read_source()
            self._show()

    def action_restart(self) -> None:
        if self.phase not in (MEASURING, ENDED):
            return
        self.steps = self._new_steps()
        self._reset_display()
        self.error = None
        self.query_one(LevelMeter).show(None, None)
        if self.phase != MEASURING:
            self.phase = MEASURING
            if self._reader.state not in (WorkerState.PENDING, WorkerState.RUNNING):
                self._reader = self._read_source()  # the audio had ended: read the source again
        self._show()

    def action_quit_calibration(self) -> None:
        self.stop_reading()
        self._leave(0 if self.phase == SAVED else 1)

    def on_key(self, event: events.Key) -> None:
        if self.phase == SAVED:
            event.stop()
            self._leave(0)

    def _leave(self, code: int) -> None:
        self.exit(code, return_code=code)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        following = {"distance": "#surface", "surface": "#note"}
        if event.input.id in following:
            self.query_one(following[event.input.id], Input).focus()
        else:
            self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()

    def _save(self) -> None:
        if self.phase != PLACING:
            return
        error = self.query_one("#form-error", Static)
        try:
            distance = parse_distance_m(self.query_one("#distance", Input).value)
        except ValueError as exc:
            error.update(str(exc))
            self.query_one("#distance", Input).focus()
            return
        placement = Placement(distance, self.query_one("#surface", Input).value.strip(),
                              self.query_one("#note", Input).value.strip())
        profile = self.steps.profile(name=self.profile_name, device=self.device_label, placement=placement)
        try:
            self.previous_path = save_new_profile(profile, self.output_path)
            self.saved_path = self.output_path
        except ProfileError as exc:
            error.update(str(exc))
            return
        except OSError as exc:
            error.update(f"The profile could not be written to '{self.output_path}': {exc.strerror or exc}.")
            return
        self.saved_profile, self.phase = profile, SAVED
        self.set_focus(None)
        self._show()

    # ------------------------------------------------------------------ showing
    def _show(self) -> None:
        step = self._progress.step
        if self.phase == READY:
            title = "Calibration in four steps"
            lines = [f"{i}. {STEP_NAMES[s]}: {STEP_TEXT[s]}" for i, s in enumerate(STEPS[:4], 1)]
            instruction = "\n".join(lines + ["Press Enter when ready (q to quit)."])
        elif self.phase == PLACING:
            title, instruction = "Measured: where was the microphone?", STEP_TEXT["done"]
        elif self.phase == SAVED:
            title, instruction = "Profile saved", "Press any key to leave."
        else:
            if step == "done":  # (measured, but the landings cannot make a profile)
                title, instruction = "Measured: the landings cannot anchor a score", ""
            else:
                title = f"Step {STEPS.index(step) + 1} of 4: {STEP_NAMES[step]}"
                instruction = STEP_TEXT[step]
            if self.phase == ENDED:
                instruction = f"{self._note}\nPress r to start again or q to quit."
            elif self.phase == FAILED:
                instruction = (f"{self._note}\nPress q to quit, and start 'quietland calibrate' again once the "
                               "device works.")
        self.query_one("#title", Static).update(title)
        self.query_one("#instruction", Static).update(instruction)
        progress = ""
        if self.phase in (MEASURING, ENDED, FAILED) and step != "done":
            unit = " s" if step == "silence" else ""
            progress = f"{STEP_NAMES[step]} {self._progress.done} / {self._progress.needed}{unit}"
        self.query_one("#progress", Static).update(progress)
        warnings = self.query_one("#warnings", Static)
        warnings.update("\n".join(f"Warning: {w}" for w in self._warnings))
        warnings.set_class(bool(self._warnings) and self.phase != SAVED, "shown")
        landings = Text()
        for s, levels in self._landings.items():
            if levels:
                landings.append(f"{STEP_NAMES[s]:<17}", style="bold")
                landings.append("  ".join(f"{v:.1f}" for v in levels) + " dB\n")
        self.query_one("#landings", Static).update(landings)
        form = self.query_one("#placement")
        form.set_class(self.phase == PLACING, "shown")
        form.disabled = self.phase != PLACING
        self.query_one("#result", Static).update(self._result_text())
        self.query_one(LevelMeter).display = self.phase in (MEASURING, ENDED, FAILED)
        keys = {READY: "Enter: start · q: quit", PLACING: "Enter in Note: save · Esc: quit",
                SAVED: "any key: leave", FAILED: "q: quit"}.get(self.phase, "r: restart · q: quit without saving")
        self.query_one(StatusLine).show(f"{self.source.description} · {self.source.sample_rate} Hz · {keys}")
        self.refresh_bindings()

    def _result_text(self) -> str:
        profile = self.saved_profile
        if profile is None:
            return ""
        lines = [f"Saved {self.saved_path}",
                 *([f"The earlier profile is kept as {self.previous_path}"] if self.previous_path else []),
                 f"quiet {profile.quiet_db:.1f} dB · normal {profile.normal_db:.1f} dB · floor {profile.floor_dbfs:.1f} dBFS"]
        return "\n".join(lines + [f"Warning: {w}" for w in profile.warnings])


def run_calibration_app(source, *, name: str, output_path: Path, device_label: str, placement: Placement,
                        drill: str = "single", silence_s: float = 5.0, autostart: bool = False) -> int:
    """Run the guided calibration on this terminal; return its exit code (0: saved, 1: quit or failed).

    After a save, ``quietland: saved profile PATH`` is printed on stderr (after where an earlier profile there was
    kept); after a failure, the sentence; after leaving without saving, that nothing was saved.
    """
    app = CalibrationApp(source, name=name, output_path=output_path, device_label=device_label,
                         placement=placement, drill=drill, silence_s=silence_s, autostart=autostart)
    try:
        app.run()
    finally:
        app.stop_reading()
    if app.saved_path is not None:
        if app.previous_path is not None:
            print(f"quietland: the earlier profile is kept as {app.previous_path}", file=sys.stderr)
        print(f"quietland: saved profile {app.saved_path}", file=sys.stderr)
        return 0
    if app.error:
        print(f"quietland: error: {app.error}", file=sys.stderr)
    else:
        kept = " (the profile there is as it was)" if output_path.exists() else ""
        print(f"quietland: calibration left before its profile was saved: nothing was saved{kept}.", file=sys.stderr)
    return 1
