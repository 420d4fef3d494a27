"""The quietland screen: a Textual app that shows a running session.

:class:`QuietlandApp` builds a :class:`~quietland.session.SessionRunner`
through the factory it is given, runs it in a thread worker, and shows what
the runner reports (through :class:`~quietland.ui.messages.UpdateBridge`):
rep counts, the input level, the last rep, the rhythm of the current set,
a table of reps and rejected sounds, set summaries and a status line. Keys
only ask the runner to do things (pause, new set, change drill, stop); the
app holds no detection logic and no results of its own. The runner is stopped
whenever the app goes away, by quitting or by crashing, so what it records is
saved.

:func:`run_live_app` runs the app on a terminal for ``live``, ``replay`` and
``demo``; tests build :class:`QuietlandApp` the same way (with
:func:`runner_factory`) and drive it with ``App.run_test()``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from ..events import Cue, Rep, RepScore
from ..session import SessionRunner
from .drill_picker import DrillPicker
from .formatting import LastRepCard, latency_text, recording_text, session_summary_text, set_summary_text
from .messages import (
    LevelChanged,
    RepsDecided,
    SessionFinished,
    SessionStarted,
    SetFinished,
    StatusChanged,
    UpdateBridge,
)
from .widgets import CountPanel, LevelMeter, RepTable, RhythmStrip, ScoreCard, StatusLine, SummaryCard

if TYPE_CHECKING:
    from ..pipeline import Analysis
    from ..recorder import SessionRecorder
    from ..session import Finished, Update

RunnerFactory = Callable[[Callable[["Update"], None]], SessionRunner]
"""Builds the session runner, given the ``on_update`` callback it must call."""

FLUSH_INTERVAL_S = 0.1
"""How often the app collects updates the bridge still holds (e.g. the last reps before a pause), s."""
STOP_WAIT_S = 30.0
"""How long :func:`run_live_app` waits for the session to finish saving after the screen closes, s."""

READY, RUNNING, PAUSED, STOPPING, FINISHED, FAILED = "ready", "running", "paused", "stopping", "finished", "failed"
"""Session states the screen shows."""


def runner_factory(source, drill: str, recorder: SessionRecorder | None = None, **runner_options) -> RunnerFactory:
    """A :data:`RunnerFactory` for ``SessionRunner(source, drill, recorder, on_update, **runner_options)``."""

    def build(on_update: Callable[[Update], None]) -> SessionRunner:
        return SessionRunner(source, drill, recorder, on_update, **runner_options)

    return build


class QuietlandApp(App[int]):
    """Shows one session; keys: space start/pause, n new set, d drill, q quit and save.

    ``autostart``: start the session as soon as the screen is up (else on the
    first space). After :meth:`exit`, :attr:`finished` holds the runner's
    final update (None if it never finished) and :attr:`error` one sentence
    if the session failed.
    """

    TITLE = "quietland"
    CSS = """
    #top { height: 5; }
    """
    BINDINGS = [
        Binding("space", "toggle_pause", "Start/pause", priority=True),
        Binding("n", "new_set", "New set"),
        Binding("d", "pick_drill", "Drill"),
        Binding("q", "quit_and_save", "Quit & save", priority=True),
    ]

    def __init__(self, runner_factory: RunnerFactory, *, drill: str, autostart: bool = True) -> None:
        super().__init__()
        self._runner_factory = runner_factory
        self.drill = drill
        """The drill the session counts (as last asked of the runner)."""
        self.autostart = autostart
        self.runner: SessionRunner | None = None
        self.state = READY
        """One of ``ready``, ``running``, ``paused``, ``stopping``, ``finished``, ``failed``."""
        self.finished: Finished | None = None
        self.cues: list[Cue] = []
        """Cues shown so far, in order."""
        self._last_rep: Rep | None = None
        """The runner's final update, once the session has ended."""
        self.error: str | None = None
        """Why the session failed, as one sentence, or None."""
        self.session_started = False
        """True once the runner's ``run()`` has been started (in its thread)."""
        self.session_done = threading.Event()
        """Set when the runner's ``run()`` has returned (or raised): its recording is saved."""
        self._bridge = UpdateBridge(self.post_message)
        self._quit_requested = False
        self._source_text = "starting…"
        self._rate_text = ""
        self._latency_ms: float | None = None
        self._overflows = 0
        self._recording_text = ""
        self._profile_text = ""
        self._warnings: tuple[str, ...] = ()

    @property
    def analysis(self) -> Analysis | None:
        """The finished session's analysis (None until it has finished)."""
        return None if self.finished is None else self.finished.analysis

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield CountPanel("set", id="set-count")
            yield CountPanel("session", id="session-count")
            yield ScoreCard(id="score")
        yield LevelMeter(id="meter")
        yield RhythmStrip(id="rhythm")
        yield SummaryCard(id="summary")
        yield RepTable(id="table")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(FLUSH_INTERVAL_S, self._bridge.flush)
        try:
            self.runner = self._runner_factory(self._bridge.on_update)
        except Exception as exc:  # noqa: BLE001 - a source or recorder that cannot start: say so on screen
            self._fail(f"The session could not start: {exc}")
            return
        if self.autostart:
            self._start()
        self._show_status()

    def on_unmount(self) -> None:
        self.stop_session()

    # ------------------------------------------------------------------ session
    def _start(self) -> None:
        self.state = RUNNING
        self.session_started = True
        self.run_worker(self._run_session, name="session", thread=True, exit_on_error=False)

    def _run_session(self) -> None:
        """Worker thread: run the session to its end."""
        assert self.runner is not None
        try:
            self.runner.run()
        finally:
            self.session_done.set()

    def stop_session(self) -> None:
        """Ask the runner to stop (it saves what it recorded); safe to call at any time, from any thread."""
        if self.runner is not None and not self.session_done.is_set():
            self.runner.stop()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "session":
            return
        if event.state == WorkerState.ERROR:
            self._fail(f"The session stopped with an error: {event.worker.error}")
        elif event.state == WorkerState.SUCCESS and self.state != FINISHED:
            self.state = FINISHED  # the runner returned without a Finished update
            self._show_status()
        if event.state in (WorkerState.ERROR, WorkerState.SUCCESS) and self._quit_requested:
            self.exit(1 if self.state == FAILED else 0)

    def _fail(self, sentence: str) -> None:
        self.error = sentence
        self.state = FAILED
        self.query_one(SummaryCard).show(sentence, "error")
        self._show_status()

    # ------------------------------------------------------------------ updates
    def on_session_started(self, message: SessionStarted) -> None:
        update = message.update
        self._source_text = update.source_description
        self._rate_text = f"{update.sample_rate} Hz"
        self._recording_text = recording_text(update.wav_path, update.results_path)
        profile = update.profile
        self._profile_text = "uncalibrated" if profile is None or not profile.calibrated else f"profile {profile.name}"
        self.drill = update.drill
        self._show_status()

    def on_level_changed(self, message: LevelChanged) -> None:
        self.query_one(LevelMeter).show(message.level_dbfs, message.floor_dbfs, message.clipped)

    def on_reps_decided(self, message: RepsDecided) -> None:
        items = message.items
        reps = [item for item in items if isinstance(item, Rep)]
        self.query_one(RepTable).add_items([item for item in items if not isinstance(item, Cue)])
        if reps:
            last = reps[-1]
            self._last_rep = last
            self.query_one("#set-count", CountPanel).show(last.rep_in_set, f"set {last.set_number}")
            self.query_one("#session-count", CountPanel).show(last.number)
            self.query_one(ScoreCard).show(LastRepCard.of(last))
            self.query_one(RhythmStrip).add_reps(reps)
        for item in items:
            if isinstance(item, RepScore) and self._last_rep is not None and item.number == self._last_rep.number:
                self.query_one(ScoreCard).show(LastRepCard.of(self._last_rep, item))
            elif isinstance(item, Cue):
                self._show_cue(item)

    def _show_cue(self, cue: Cue) -> None:
        """A cue: form fade on the summary card (until the set ends), drift as a lasting warning."""
        self.cues.append(cue)
        if cue.kind == "form-fade":
            self.query_one(SummaryCard).show(cue.message, f"set {cue.set_number}: form fading")
            self.notify("Form fading: end the set.", title="quietland", severity="warning", timeout=6)
        else:
            self.notify(cue.message, title="quietland: calibration drift", severity="warning", timeout=15)

    def on_set_finished(self, message: SetFinished) -> None:
        self.query_one(SummaryCard).show(set_summary_text(message.summary), f"set {message.summary.number} done")

    def on_status_changed(self, message: StatusChanged) -> None:
        update = message.update
        self._overflows = update.overflows
        self._latency_ms = update.latency_ms
        for warning in update.warnings[len(self._warnings) :]:
            self.notify(warning, title="quietland", severity="warning", timeout=10)
        self._warnings = update.warnings
        self._show_status()

    def on_session_finished(self, message: SessionFinished) -> None:
        update = message.update
        self.finished = update
        if self.state != FAILED:
            self.state = FINISHED
        self.query_one(LevelMeter).show(None, None)
        text = session_summary_text(update.analysis.summary, update.analysis.drill)
        saved = [str(p) for p in (update.wav_path, update.results_path) if p is not None]
        if saved:
            text += "\nSaved " + " and ".join(saved) + "."
        for warning in update.warnings:
            text += f"\nWarning: {warning}"
        self.query_one(SummaryCard).show(text, "session")
        self._recording_text = ("saved to " + " + ".join(saved)) if saved else "not recorded"
        self._show_status()
        if self._quit_requested:
            self.exit(0)

    def _show_status(self) -> None:
        state = {READY: "READY: space to start", STOPPING: "SAVING…"}.get(self.state, self.state.upper())
        parts = [
            state,
            self._source_text,
            self._rate_text,
            latency_text(self._latency_ms),
            f"overflows {self._overflows}",
            f"{len(self._warnings)} warning{'s' if len(self._warnings) != 1 else ''}" if self._warnings else "",
            self._recording_text,
            f"drill {self.drill}",
            self._profile_text,
        ]
        self.query_one(StatusLine).show(" · ".join(p for p in parts if p))

    # ------------------------------------------------------------------ keys
    def action_toggle_pause(self) -> None:
        if self.runner is None:
            return
        if self.state == READY:
            self._start()
        elif self.state == RUNNING:
            (self._pausable_source() or self.runner).pause()
            self.state = PAUSED
        elif self.state == PAUSED:
            (self._pausable_source() or self.runner).resume()
            self.state = RUNNING
        self._show_status()

    def _pausable_source(self):
        """The runner's source if it can hold its blocks back (a replay), else None (a microphone).

        A replay is paused at the source, so no audio is skipped and the results
        stay those of ``analyze``; a microphone keeps capturing while the
        runner is paused, and that audio is neither analysed nor recorded.
        """
        source = getattr(self.runner, "source", None)
        return source if callable(getattr(source, "pause", None)) and callable(getattr(source, "resume", None)) else None

    def action_new_set(self) -> None:
        if self.runner is not None and self.state in (READY, RUNNING, PAUSED):
            self.runner.new_set()

    def action_pick_drill(self) -> None:
        if self.runner is None or self.state not in (READY, RUNNING, PAUSED):
            return
        self.push_screen(DrillPicker(self.drill), self._drill_picked)

    def _drill_picked(self, name: str | None) -> None:
        if name is None or name == self.drill or self.runner is None or self.state not in (READY, RUNNING, PAUSED):
            return
        self.runner.change_drill(name)
        self.drill = name
        self._show_status()

    def action_quit_and_save(self) -> None:
        if self.runner is None or self.session_done.is_set() or self.state == READY:
            self.exit(1 if self.state == FAILED else 0)
        elif self._quit_requested:
            self.exit(0)  # a second q: leave now; the runner still finishes saving in its thread
        else:
            self._quit_requested = True
            self.state = STOPPING
            self.runner.stop()
            self._show_status()


def run_live_app(
    source, drill: str, recorder: SessionRecorder | None = None, *, autostart: bool = True, **runner_options
) -> int:
    """Run the screen on this terminal for a session on ``source``; return the exit status.

    The session is stopped and its recording saved whatever happens to the
    screen; afterwards its saved paths, warnings or error are printed as
    ``quietland: ...`` lines on stderr. 0 when the session ran (quit with q),
    1 when it or the screen failed.
    """
    import sys

    app = QuietlandApp(runner_factory(source, drill, recorder, **runner_options), drill=drill, autostart=autostart)
    try:
        code = app.run()
    finally:
        app.stop_session()
        if app.session_started and not app.session_done.wait(STOP_WAIT_S):
            print("quietland: error: the session did not stop in time; its recording may be incomplete.", file=sys.stderr)
    if app.finished is not None:
        for warning in app.finished.warnings:
            print(f"quietland: warning: {warning}", file=sys.stderr)
        for path in (app.finished.wav_path, app.finished.results_path):
            if path is not None:
                print(f"quietland: saved {path}", file=sys.stderr)
    if app.error:
        print(f"quietland: error: {app.error}", file=sys.stderr)
        return 1
    if app.return_code not in (None, 0):
        return app.return_code
    return 0 if code is None else int(code)


