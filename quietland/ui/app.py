"""The quietland screen: a Textual app that shows a running session.

:class:`QuietlandApp` builds a :class:`~quietland.session.SessionRunner`
through the factory it is given, runs it in a thread worker, and shows what
the runner reports (through :class:`~quietland.ui.messages.UpdateBridge`):
rep counts, the input level, the last rep, the rhythm of the current set,
a table of reps and rejected sounds, a report card after each set and at the
end (:mod:`quietland.training`), and a status line. Given a plan (sets of
reps or timed rounds, with rests) it shows where the plan stands, with
countdowns on the session's sample clock, and ends a set when its target
rep comes or its round's time is up (by asking the runner for a new set);
given a cadence target it shows a metronome. Keys only ask the runner to do
things (pause, new set, change drill, stop); the app holds no detection
logic and no results of its own. The runner is stopped
whenever the app goes away, by quitting or by crashing, so what it records is
saved.

:func:`run_live_app` runs the app on a terminal for ``live``, ``replay`` and
``demo``; tests build :class:`QuietlandApp` the same way (with
:func:`runner_factory`) and drive it with ``App.run_test()``.
"""
from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from ..events import Cue, Rep, RepScore
from ..names import cut
from ..session import ENDING_SIGNALS, SessionRunner
from ..training import Metronome, PlanLike, PlanState, PlanTracker, SetLog, session_report
from .drill_picker import DrillPicker
from .formatting import (
    LastRepCard,
    drills_text,
    latency_text,
    recording_text,
    session_head,
    session_report_text,
    set_report_text,
    set_summary_text,
)
from .messages import (
    LevelChanged,
    RepsDecided,
    SessionFinished,
    SessionStarted,
    SetFinished,
    StatusChanged,
    UpdateBridge,
)
from .widgets import (
    CountPanel,
    LevelMeter,
    MetronomeBar,
    PlanBar,
    RepTable,
    RhythmStrip,
    ScoreCard,
    StatusLine,
    SummaryCard,
)

if TYPE_CHECKING:
    from ..calibration import Profile
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


MIN_SIZE = (80, 24)
"""The smallest terminal (columns, rows) the screen is laid out for; a smaller one is told so."""
PROFILE_NAME_COLUMNS = 20
"""The most of a profile's name the status line shows, columns (cut with an ellipsis)."""


def runner_factory(source, drill: str, recorder: SessionRecorder | None = None, **runner_options) -> RunnerFactory:
    """A :data:`RunnerFactory` for ``SessionRunner(source, drill, recorder, on_update, **runner_options)``."""

    def build(on_update: Callable[[Update], None]) -> SessionRunner:
        return SessionRunner(source, drill, recorder, on_update, **runner_options)

    return build


class QuietlandApp(App[int]):
    """Shows one session; keys: space start/pause, n new set, d drill, q quit and save.

    ``autostart``: start the session as soon as the screen is up (else on the
    first space). ``plan``: a session plan (anything with ``sets``, ``reps``,
    ``round_s``, ``rest_s``, e.g. a preset's :class:`~quietland.presets.SetPlan`),
    shown and followed; None: no plan. ``plan_ends_sets``: the runner ends a set
    when the plan's target rep comes or its round's time is up
    (``SessionRunner.follow_plan``, in the runner's thread, so a fast replay ends
    it at the same rep); False to only show the plan (a replay whose saved actions
    already end its sets). ``target_cadence``: contacts per minute
    for the metronome (None: the runner's ``target_cadence_per_min``, if any).
    After :meth:`exit`, :attr:`finished` holds the runner's final update (None
    if it never finished) and :attr:`error` one sentence if the session failed.
    """

    TITLE = "quietland"
    ENABLE_COMMAND_PALETTE = False  # (Textual's palette offered its own keys list, themes and an immediate quit; the
    # keys panel squeezed the screen to 50 columns: the footer and README list the session's keys)
    CSS = """
    #top { height: 5; }
    """
    BINDINGS = [
        Binding("space", "toggle_pause", "Start/pause", priority=True),
        Binding("n", "new_set", "New set"),
        Binding("d", "pick_drill", "Drill"),
        Binding("q", "quit_and_save", "Quit & save", priority=True),
        Binding("q", "leave", "Quit", priority=True),  # the same, where there is nothing to save (check_action)
        # Ctrl-C (and Textual's own Ctrl-Q, which would leave at once) end the session as q does
        Binding("ctrl+c", "interrupt", "Quit & save", show=False, priority=True),
        Binding("ctrl+q", "interrupt", "Quit & save", show=False, priority=True),
    ]

    def __init__(
        self,
        runner_factory: RunnerFactory,
        *,
        drill: str,
        autostart: bool = True,
        plan: PlanLike | None = None,
        plan_ends_sets: bool = True,
        target_cadence: float | None = None,
        notices: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self._runner_factory = runner_factory
        self.notices = tuple(notices)
        """Sentences said before the screen opened (a profile that could not be used), shown again on it."""
        self.notes = tuple(notes)
        """Information said before the screen opened (a session that did not close, now in the history), shown
        again on it as information, not as a problem."""
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
        self._posting_loop: asyncio.AbstractEventLoop | None = None  # the loop messages are posted through, from mount on
        self.ending_signal: int | None = None
        """A signal that asked the session to end (SIGTERM, SIGHUP; see :func:`run_live_app`), or None."""
        self._bridge = UpdateBridge(self._post_in_order)
        self._quit_requested = False
        self._source_text = "starting…"
        self._rate_text = ""
        self._latency_ms: float | None = None
        self._overflows = 0
        self._recording_text = ""
        self._profile_text = ""
        self._warnings: tuple[str, ...] = ()
        self.plan = plan
        """The session plan followed (None: none)."""
        self.plan_ends_sets = plan_ends_sets
        """True when the plan's target rep or round end asks the runner for a new set."""
        self.target_cadence = target_cadence
        """The cadence target the metronome beats, contacts per minute (None: none); set from the runner at mount."""
        self.plan_state: PlanState | None = None
        """Where the plan stands, as last shown (None without a plan)."""
        self._plan_tracker: PlanTracker | None = None
        self._too_small = False  # whether the terminal was last smaller than MIN_SIZE (told once per shrink)
        self._small_note = ""
        self._footer_state = ""  # the state the footer's keys were last offered for
        self._metronome: Metronome | None = None
        self._beat_anchor = 0  # sample of the current set's first rep: the metronome's beats count from it
        self._sample_rate = 0
        self._profile: Profile | None = None
        self._set_log = SetLog()
        self._card_set: int | None = None  # the set whose report the summary card shows (None: something else)

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
        if self.plan is not None:
            yield PlanBar(id="plan")
        yield MetronomeBar(id="metronome")
        yield RhythmStrip(id="rhythm")
        yield SummaryCard(id="summary")
        yield RepTable(id="table")
        yield StatusLine(id="status")
        yield Footer()

    def _post_in_order(self, message: Message) -> None:
        """Post ``message`` from any thread, in the order of the calls.

        Textual's ``post_message`` queues a message at once when called on the app's
        own thread but through the event loop's callbacks when called from another,
        so a batch the timer flushes could overtake one the session thread posted just
        before (a rep's score before the rep itself). Every post goes through the
        loop's callbacks here, and those run in the order they were scheduled.
        """
        if self._posting_loop is None:
            self.post_message(message)
        else:
            self._posting_loop.call_soon_threadsafe(self.post_message, message)

    def on_mount(self) -> None:
        self._posting_loop = asyncio.get_running_loop()
        self.set_interval(FLUSH_INTERVAL_S, self._bridge.flush)
        for notice in self.notices:
            self.notify(notice, title="quietland", severity="error", timeout=20)
        for note in self.notes:
            self.notify(note, title="quietland", severity="information", timeout=20)
        try:
            self.runner = self._runner_factory(self._bridge.on_update)
            self._sample_rate = self.runner.sample_rate
            if self.plan is not None:
                self._plan_tracker = PlanTracker(self.plan, self._sample_rate)  # (what the plan line shows)
                if self.plan_ends_sets:
                    self.runner.follow_plan(self.plan)  # the set ends themselves: in the runner, as reps are decided
            if self.target_cadence is None:
                self.target_cadence = getattr(getattr(self.runner, "pipeline", None), "target_cadence_per_min", None)
            if self.target_cadence is not None:
                self._metronome = Metronome(self.target_cadence)
        except Exception as exc:  # noqa: BLE001 - a source or recorder that cannot start: say so on screen
            self._fail(f"The session could not start: {exc}")
            return
        if self._plan_tracker is not None:
            self._show_plan(self._plan_tracker.tick(0))
        if self._metronome is not None:
            self.query_one(MetronomeBar).set_target(self._metronome.target_per_min)
            self.query_one(RhythmStrip).set_target(self._metronome)
        if self.autostart:
            self._start()
        self._show_status()
        if self.ending_signal:
            self.action_interrupt()  # a SIGTERM or SIGHUP came while the screen was opening

    def on_unmount(self) -> None:
        self.stop_session()

    def on_resize(self, event: events.Resize) -> None:
        """A terminal smaller than :data:`MIN_SIZE` cuts panels off: say so, once each time it becomes too small."""
        small = event.size.width < MIN_SIZE[0] or event.size.height < MIN_SIZE[1]
        if small and not self._too_small:
            self._small_note = (
                f"This terminal is {event.size.width}x{event.size.height}; the screen needs {MIN_SIZE[0]}x{MIN_SIZE[1]} "
                "and cuts some of it off until the terminal is made larger."
            )
            self.notify(self._small_note, title="quietland", severity="warning", timeout=10)
        elif not small and self._too_small:
            self._withdraw(self._small_note)  # large enough again: it covered the table for the rest of its 10 s
        self._too_small = small

    def _withdraw(self, message: str) -> None:
        """Take a notification still on screen down (Textual has no public call for one notification)."""
        for note in list(getattr(self, "_notifications", ())):
            if note.message == message and callable(getattr(self, "_unnotify", None)):
                self._unnotify(note)

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
        self._show_card(sentence, "error")
        self._show_status()

    def _show_card(self, text: str, title: str, set_number: int | None = None) -> None:
        """The summary card; ``set_number``: the set whose report it is (refreshed when late scores come)."""
        self._card_set = set_number
        self.query_one(SummaryCard).show(text, title)

    # ------------------------------------------------------------------ updates
    def on_session_started(self, message: SessionStarted) -> None:
        update = message.update
        self._source_text = update.source_description
        self._rate_text = f"{update.sample_rate} Hz"
        self._recording_text = recording_text(update.wav_path, update.results_path)
        profile = update.profile
        self._profile = profile
        self._sample_rate = update.sample_rate
        # (a long name, up to 60 characters, cut: the device, latency and recording still fit the status line)
        self._profile_text = ("uncalibrated" if profile is None or not profile.calibrated
                              else f"profile {cut(profile.name, PROFILE_NAME_COLUMNS)}")
        self.drill = update.drill
        self._show_status()

    def on_level_changed(self, message: LevelChanged) -> None:
        self.query_one(LevelMeter).show(message.level_dbfs, message.floor_dbfs, message.clipped)
        if message.sample is not None:
            self._tick(message.sample)

    def _tick(self, sample: int) -> None:
        """The session's sample clock moved on: countdowns and the metronome follow it."""
        if self._plan_tracker is not None:
            self._show_plan(self._plan_tracker.tick(sample))
        if self._metronome is not None and self._sample_rate:
            beat = self._metronome.beat(sample, self._sample_rate, self._beat_anchor)
            self.query_one(MetronomeBar).show_beat(beat.index, beat.phase)

    def _show_plan(self, state: PlanState) -> None:
        """Show the plan's state (the runner ends the sets, see ``SessionRunner.follow_plan``)."""
        self.plan_state = state
        self.query_one(PlanBar).show(state)

    def on_reps_decided(self, message: RepsDecided) -> None:
        items = message.items
        reps = [item for item in items if isinstance(item, Rep)]
        self.query_one(RepTable).add_items([item for item in items if not isinstance(item, Cue)])
        touched = {self._set_log.add(item) for item in items}
        if reps:
            last = reps[-1]
            self._last_rep = last
            self.query_one("#set-count", CountPanel).show(last.rep_in_set, f"set {last.set_number}")
            self.query_one("#session-count", CountPanel).show(last.number)
            # the score card waits for the rep's score (about 70 ms): one redraw per rep, not two
            self.query_one(RhythmStrip).add_reps(reps)
            self._follow_plan(reps)
        for item in items:
            if isinstance(item, RepScore) and self._last_rep is not None and item.number == self._last_rep.number:
                self.query_one(ScoreCard).show(LastRepCard.of(self._last_rep, item, self.target_cadence))
            elif isinstance(item, Cue):
                self._show_cue(item)
        if self._card_set is not None and self._card_set in touched:
            self._show_set_report(self._card_set)  # a late score or rep of the set on the card

    def _follow_plan(self, reps: list[Rep]) -> None:
        """New reps: the plan counts them, and the metronome's beats restart at a set's first rep."""
        if self._plan_tracker is not None:
            for rep in reps:
                state = self._plan_tracker.on_rep(rep)
                if state.ends_set or rep is reps[-1]:
                    self._show_plan(state)
        if self._metronome is not None:
            for rep in reps:
                if rep.rep_in_set == 1:
                    self._beat_anchor = rep.sample
            interval = reps[-1].interval_ms
            self.query_one(MetronomeBar).show_interval(interval, self._metronome.deviation_pct(interval))

    def _show_cue(self, cue: Cue) -> None:
        """A cue: form fade on the summary card (until the set ends), drift as a lasting warning."""
        self.cues.append(cue)
        if cue.kind == "form-fade":
            self._show_card(cue.message, f"set {cue.set_number}: form fading")
            self.notify("Form fading: end the set.", title="quietland", severity="warning", timeout=6)
        else:
            self.notify(cue.message, title="quietland: calibration drift", severity="warning", timeout=15)

    def on_set_finished(self, message: SetFinished) -> None:
        summary = message.summary
        if not self._show_set_report(summary.number):
            self._show_card(set_summary_text(summary), f"set {summary.number} done")
        if self._plan_tracker is not None:
            if message.sample is not None:  # the session's clock first: a round whose time ran out ends there
                self._show_plan(self._plan_tracker.tick(message.sample))
            self._show_plan(self._plan_tracker.on_set_end(summary))

    def _show_set_report(self, set_number: int) -> bool:
        """Show set ``set_number``'s report on the summary card; False when its reps are no longer kept."""
        report = self._set_log.report(set_number, self._profile)
        if report is None:
            return False
        self._show_card(set_report_text(report), f"set {set_number} done", set_number)
        return True

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
        analysis = update.analysis
        if self._plan_tracker is not None:
            self._show_plan(self._plan_tracker.end(analysis.n_samples))
        report = session_report(analysis.reps, analysis.cues, analysis.profile)
        text = session_report_text(analysis.summary, report, drills_text(analysis.drill, analysis.drill_changes))
        saved = [str(p) for p in (update.wav_path, update.results_path) if p is not None]
        if saved:
            text += "\nSaved " + " and ".join(saved) + "."
        for warning in update.warnings:
            text += f"\nWarning: {warning}"
            if warning not in self._warnings:  # found at the end (a clipped recording): counted and shown too
                self.notify(warning, title="quietland", severity="warning", timeout=10)
        self._warnings = tuple(dict.fromkeys([*self._warnings, *update.warnings]))
        self._show_card(text, "session")
        self._recording_text = ("saved to " + " + ".join(saved)) if saved else "not recorded"
        self._show_status()
        if self._quit_requested:
            self.exit(0)

    def _show_status(self) -> None:
        state = {READY: "READY: space to start", STOPPING: "SAVING…"}.get(self.state, self.state.upper())
        # what the athlete acts on first; the recording's path, the longest, last (on a small terminal the
        # line is cut at its second row)
        parts = [
            state,
            f"drill {self.drill}",
            self._profile_text,
            f"{len(self._warnings)} warning{'s' if len(self._warnings) != 1 else ''}" if self._warnings else "",
            self._source_text,
            self._rate_text,
            latency_text(self._latency_ms),
            f"overflows {self._overflows}",
            self._recording_text,
        ]
        self.query_one(StatusLine).show(" · ".join(p for p in parts if p))
        if self.state != self._footer_state:  # the footer follows the state (check_action); redrawing it every
            self._footer_state = self.state   # second kept memory: 6 MiB over 2.5 min of a long session
            self.refresh_bindings()

    # ------------------------------------------------------------------ keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers what the keys still do: once the session is over only q, 'Quit' (nothing left to
        save), as in a replay, which records nothing."""
        if action in ("toggle_pause", "new_set", "pick_drill"):
            return self.state in (READY, RUNNING, PAUSED)
        if action in ("quit_and_save", "leave"):
            to_save = self.state not in (FINISHED, FAILED) and getattr(self.runner, "recorder", None) is not None
            return to_save == (action == "quit_and_save")
        return True

    def _picker_open(self) -> bool:
        """Whether the drill picker is on screen: space and q belong to it then (q keeps the drill)."""
        return isinstance(self.screen, DrillPicker)

    def action_toggle_pause(self) -> None:
        if self.runner is None or self._picker_open():
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

    def action_interrupt(self) -> None:
        """Ctrl-C: close the drill picker if it is open, then end the session as q does."""
        if self._picker_open():
            self.screen.dismiss(None)
        self._end_session()

    def action_quit_and_save(self) -> None:
        if self._picker_open():
            self.screen.dismiss(None)  # q in the picker keeps the current drill, as Escape does
        else:
            self._end_session()

    def action_leave(self) -> None:
        """q where nothing is left to save: as :meth:`action_quit_and_save`, under the footer's plainer name."""
        self.action_quit_and_save()

    def _end_session(self) -> None:
        """Stop the session and save (the first time), or leave now (a second time, or with nothing running)."""
        if self.runner is None or self.session_done.is_set() or self.state == READY:
            self.exit(1 if self.state == FAILED else 0)
        elif self._quit_requested:
            self.exit(0)  # a second q: leave now; the runner still finishes saving in its thread
        else:
            self._quit_requested = True
            self.state = STOPPING
            self.runner.stop()
            self._show_status()


def _ends_session(app: QuietlandApp) -> Callable[[int, object], None]:
    def on_signal(signum: int, frame: object) -> None:
        app.ending_signal = signum
        loop = app._posting_loop
        if loop is not None:  # else the screen is opening: it ends the session once up (on_mount)
            loop.call_soon_threadsafe(app.action_interrupt)

    return on_signal


def run_live_app(
    source,
    drill: str,
    recorder: SessionRecorder | None = None,
    *,
    autostart: bool = True,
    plan: PlanLike | None = None,
    plan_ends_sets: bool = True,
    target_cadence: float | None = None,
    notices: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
    early_signals: list[int] | None = None,
    **runner_options,
) -> int:
    """Run the screen on this terminal for a session on ``source``; return the exit status.

    ``plan``, ``plan_ends_sets``: the session plan to show and follow (None: none), as
    :class:`QuietlandApp` takes them. ``target_cadence``:
    contacts per minute; the session scores rhythm against it (the runner's
    ``target_cadence_per_min``) and the screen shows a metronome. ``notices``:
    sentences said on stderr before the screen opened, shown on it too (``notes``: the same, as information, not
    problems). ``early_signals``: the ending signals
    (:data:`~quietland.session.ENDING_SIGNALS`) that came while the device and files were being opened; the
    list's owner keeps adding to it until this function's handlers are in place, and the first ends the session
    as soon as the screen is up.

    The session is stopped and its recording saved whatever happens to the
    screen; afterwards its saved paths, warnings or error are printed as
    ``quietland: ...`` lines on stderr. 0 when the session ran (quit with q),
    1 when it or the screen failed.
    """
    import sys

    if target_cadence is not None:
        runner_options["target_cadence_per_min"] = target_cadence
    # the plan shown is saved with the results, for a replay to show again ("none": the session had none)
    runner_options.setdefault("plan_text", plan.describe() if plan is not None and hasattr(plan, "describe") else "none")
    app = QuietlandApp(
        runner_factory(source, drill, recorder, **runner_options),
        drill=drill,
        autostart=autostart,
        plan=plan,
        plan_ends_sets=plan_ends_sets,
        target_cadence=target_cadence,
        notices=notices,
        notes=notes,
    )
    previous = {sig: signal.signal(sig, _ends_session(app)) for sig in ENDING_SIGNALS}
    if early_signals:
        app.ending_signal = early_signals[0]  # (on_mount ends the session)
    try:
        code = app.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.stop_session()
        if app.session_started and not app.session_done.wait(STOP_WAIT_S):
            print("quietland: error: the session did not stop in time; its recording may be incomplete.", file=sys.stderr)
    if app.finished is not None:
        analysis = app.finished.analysis  # (the screen has gone: what it ended on, in one line)
        print(f"quietland: {session_head(analysis.summary, drills_text(analysis.drill, analysis.drill_changes))}.",
              file=sys.stderr)
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


