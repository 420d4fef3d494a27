"""The widgets of quietland's screen; each shows state it is handed and decides nothing.

- :class:`CountPanel`: a large number with a caption (reps in the set, in the session).
- :class:`ScoreCard`: the last rep, large and coloured (a score once calibration exists).
- :class:`LevelMeter`: input level, noise floor and a held clipping warning.
- :class:`PlanBar`: the session plan's line (set and reps, round or rest countdown) and a progress bar.
- :class:`MetronomeBar`: the beat of a cadence target and the last interval's deviation from it.
- :class:`RhythmStrip`: one bar per interval of the current set, height and colour by rhythm deviation.
- :class:`RepTable`: the latest reps and rejected sounds; holds at most :data:`MAX_TABLE_ROWS` rows.
- :class:`SummaryCard`: the last set's (or the session's) summary.
- :class:`StatusLine`: source, sample rate, latency, overflows, recording path, state.

The app feeds them from the session's typed messages; none of them sees audio.
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Digits, Static

from ..events import Rejected, Rep, RepScore
from ..training import DONE, REST, Metronome, PlanState
from .formatting import TABLE_COLUMNS, LastRepCard, fmt, rejected_cells, rep_cells

MAX_TABLE_ROWS = 200
"""Rows the rep table keeps; older ones scroll away (the session keeps every rep)."""
METER_MIN_DBFS = -80.0
"""Level at the left end of the meter, dBFS."""
METER_WARN_DBFS = -12.0
"""The meter turns yellow above this level, dBFS."""
METER_HOT_DBFS = -3.0
"""The meter turns red above this level, dBFS."""
CLIP_HOLD_S = 2.0
"""How long the clipping warning stays up after the last clipped block, s."""
CLIP_WARNINGS = ("CLIPPING: lower the input gain or move the microphone away", "CLIPPING: lower the input gain",
                 "CLIPPING")
"""The clipping warning, longest first: the meter shows the longest that fits beside the levels."""
RHYTHM_FULL_SCALE_PCT = 25.0
"""Rhythm deviation that fills a rhythm bar (or empties it), %."""
RHYTHM_STEADY_PCT = 5.0
"""Deviation up to which a rhythm bar is green, %."""
RHYTHM_LOOSE_PCT = 15.0
"""Deviation up to which a rhythm bar is yellow (red beyond), %."""
RHYTHM_BARS = 240
"""Intervals the rhythm strip remembers (it shows as many as fit)."""
_BAR_CHARS = "▁▂▃▄▅▆▇█"
PLAN_BAR_CELLS = 20
"""Width of the plan's progress bar, characters."""
METRONOME_DOTS = 4
"""Beats the metronome shows in a row (one lit at a time)."""
METRONOME_FLASH = 0.3
"""The lit beat flashes (reverse video) for this fraction of the beat after it falls."""


def _rhythm_style(deviation_pct: float) -> str:
    """Colour of a rhythm deviation, %: green within :data:`RHYTHM_STEADY_PCT`,
    yellow within :data:`RHYTHM_LOOSE_PCT`, red beyond."""
    size = abs(deviation_pct)
    return "green" if size <= RHYTHM_STEADY_PCT else "yellow" if size <= RHYTHM_LOOSE_PCT else "red"


class CountPanel(Vertical):
    """A large number, its caption in the border."""

    DEFAULT_CSS = """
    CountPanel { width: auto; min-width: 16; height: 5; padding: 0 1; border: round $primary; border-title-color: $text-muted; }
    CountPanel > Digits { width: auto; color: $text; text-style: bold; }
    """

    def __init__(self, caption: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = caption

    def compose(self) -> ComposeResult:
        yield Digits("0")

    def show(self, value: int, caption: str | None = None) -> None:
        """Show ``value`` (and a new caption, if given)."""
        digits = self.query_one(Digits)
        if digits.value != str(value):
            digits.update(str(value))
        if caption is not None:
            self.border_title = caption


class ScoreCard(Vertical):
    """The last rep, large: its score when calibrated, else its loudness with an "uncalibrated" label.

    The rep number is in the top border, the detail line in the bottom border.
    CSS classes select the colour: ``uncalibrated`` (neutral, also for a score against the default profile) or ``band-<band>``
    (``band-good``, ``band-fair``, ``band-poor``) once a :class:`LastRepCard` carries a score.
    """

    DEFAULT_CSS = """
    ScoreCard {
        width: 1fr; min-width: 30; height: 5; padding: 0 1; border: round $primary;
        border-title-color: $text-muted; border-subtitle-color: $text-muted; border-subtitle-align: left;
    }
    ScoreCard > Digits { width: auto; text-style: bold; }
    ScoreCard.uncalibrated > Digits { color: $text; }
    ScoreCard.band-good > Digits { color: $success; }
    ScoreCard.band-fair > Digits { color: $warning; }
    ScoreCard.band-poor > Digits { color: $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "last rep"
        self.border_subtitle = "none yet"

    def compose(self) -> ComposeResult:
        yield Digits("")

    def show(self, card: LastRepCard) -> None:
        """Show ``card``."""
        self.border_title = card.title
        self.border_subtitle = card.detail
        self.query_one(Digits).update(card.big_text)
        self.set_class(not card.calibrated, "uncalibrated")  # neutral: no colour says good or bad without a baseline
        for band in ("good", "fair", "poor"):
            self.set_class(card.calibrated and card.band == band, f"band-{band}")


class LevelMeter(Widget):
    """Input level as a bar from :data:`METER_MIN_DBFS` to 0 dBFS, the noise floor as a marker, a clipping warning.

    :meth:`show` is called at the session's level rate (coalesced upstream to
    ~25 Hz); each call repaints this widget only.
    """

    DEFAULT_CSS = """
    LevelMeter { height: 2; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.level_dbfs: float | None = None
        self.floor_dbfs: float | None = None
        self._clip_until = 0.0
        self._clip_timer: Timer | None = None

    def show(self, level_dbfs: float | None, floor_dbfs: float | None, clipped: bool = False) -> None:
        """Show a new level and floor (dBFS; None: no input); ``clipped`` raises the warning for :data:`CLIP_HOLD_S`."""
        self.level_dbfs = level_dbfs
        self.floor_dbfs = floor_dbfs
        if clipped:
            self._clip_until = time.monotonic() + CLIP_HOLD_S
            if self._clip_timer is None and self.is_mounted:
                self._clip_timer = self.set_timer(CLIP_HOLD_S, self._clip_over)
        self.refresh()

    def _clip_over(self) -> None:
        """Take the warning down once it is due, even when no level comes any more (a session ended, paused)."""
        left = self._clip_until - time.monotonic()
        self._clip_timer = self.set_timer(left, self._clip_over) if left > 0 else None
        self.refresh()

    @property
    def clipping(self) -> bool:
        """True while the clipping warning is up."""
        return time.monotonic() < self._clip_until

    def _x(self, dbfs: float, width: int) -> int:
        frac = (min(0.0, max(METER_MIN_DBFS, dbfs)) - METER_MIN_DBFS) / -METER_MIN_DBFS
        return int(round(frac * width))

    def render(self) -> Text:
        width = max(10, self.size.width)
        level, floor = self.level_dbfs, self.floor_dbfs
        has_level = level is not None and math.isfinite(level)
        has_floor = floor is not None and math.isfinite(floor)
        head = Text("input ", style="dim")
        head.append(f"{level:6.1f} dBFS" if has_level else "     — dBFS", style="bold")
        head.append("   floor ", style="dim")
        head.append(f"{floor:6.1f} dBFS" if has_floor else "— dBFS")
        if self.clipping:  # the longest text that fits on the line: wrapped, it hid the bar
            room = width - len(head.plain) - 3
            warning = next((w for w in CLIP_WARNINGS if len(w) <= room), CLIP_WARNINGS[-1])
            head.append("   ")
            head.append(warning, style="bold reverse red")
            head.truncate(width)
        filled = self._x(level, width) if has_level else 0
        marker = self._x(floor, width) if has_floor else -1
        warn, hot = self._x(METER_WARN_DBFS, width), self._x(METER_HOT_DBFS, width)
        chars = ["█"] * filled + ["░"] * (width - filled)
        if 0 <= marker < width:
            chars[marker] = "│"
        bar = Text("".join(chars))
        # a few styled runs, not a style per character: this is redrawn ~20 times a second
        bar.stylize("green", 0, min(filled, warn))
        bar.stylize("yellow", warn, min(filled, hot))
        bar.stylize("red", hot, filled)
        bar.stylize("dim", filled, width)
        if 0 <= marker < width:
            bar.stylize("bold not dim", marker, marker + 1)
        return Text("\n").join([head, bar])


class PlanBar(Widget):
    """The session plan: one line of text from a :class:`~quietland.training.PlanState` and a progress bar.

    Redrawn only when what it shows changes (a rep, a new whole second of a
    countdown), and never with a layout pass: its height is fixed.
    """

    DEFAULT_CSS = """
    PlanBar { height: 1; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: PlanState | None = None
        """The state shown (None: none yet)."""
        self._shown: tuple[str, str, int] | None = None

    def show(self, state: PlanState) -> None:
        """Show ``state``."""
        self.state = state
        cells = -1 if state.progress is None else int(round(state.progress * PLAN_BAR_CELLS))
        shown = (state.text, state.phase, cells)
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    @property
    def text(self) -> str:
        """The plan's line as shown (empty before the first state)."""
        return "" if self.state is None else self.state.text

    def render(self) -> Text:
        if self._shown is None:
            return Text("plan", style="dim")
        text, phase, cells = self._shown
        line = Text()
        line.append("" if text.startswith("plan") else "plan ", style="dim")
        style = "bold yellow" if phase == REST else "bold green" if phase == DONE else "bold"
        line.append(text, style=style)
        if cells >= 0:
            line.append("  ")
            line.append("█" * cells, style="yellow" if phase == REST else "green")
            line.append("░" * (PLAN_BAR_CELLS - cells), style="dim")
        line.truncate(max(1, self.size.width))
        return line


class MetronomeBar(Widget):
    """A cadence target's beat as a row of dots, the lit one moving each beat, and the last interval against it.

    Hidden until :meth:`set_target` gives it a target. :meth:`show_beat` comes
    with the session's level messages (at most ~12 a second) and repaints only
    when the lit dot or its flash changes; never a layout pass.
    """

    DEFAULT_CSS = """
    MetronomeBar { height: 1; padding: 0 1; display: none; }
    MetronomeBar.on { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.target_per_min: float | None = None
        """The cadence target, contacts per minute (None: no target)."""
        self.beat_index: int | None = None
        """The lit beat, counted from the anchor (None before the first)."""
        self._flash = False
        self.interval_ms: float | None = None
        """The last interval, ms."""
        self.deviation_pct: float | None = None
        """The last interval's deviation from the target interval, % (positive: slower)."""

    def set_target(self, target_per_min: float | None) -> None:
        """Show the metronome for ``target_per_min`` (None: hide it)."""
        self.target_per_min = target_per_min
        self.set_class(target_per_min is not None, "on")

    def show_beat(self, index: int, phase: float) -> None:
        """Light beat ``index`` (``phase`` 0-1 into it)."""
        flash = phase < METRONOME_FLASH
        if (index, flash) != (self.beat_index, self._flash):
            self.beat_index, self._flash = index, flash
            self.refresh()

    def show_interval(self, interval_ms: float | None, deviation_pct: float | None) -> None:
        """Show the last interval and its deviation from the target."""
        if (interval_ms, deviation_pct) != (self.interval_ms, self.deviation_pct):
            self.interval_ms, self.deviation_pct = interval_ms, deviation_pct
            self.refresh()

    def render(self) -> Text:
        target = self.target_per_min
        line = Text()
        line.append("beat ", style="dim")
        if target is None:
            return line
        line.append(f"{target:.0f}/min ", style="bold")
        line.append(f"({60000.0 / target:.0f} ms)  ", style="dim")
        lit = None if self.beat_index is None else self.beat_index % METRONOME_DOTS
        for i in range(METRONOME_DOTS):
            if i == lit:
                line.append("●", style="bold reverse" if self._flash else "bold")
            else:
                line.append("○", style="dim")
            line.append(" ")
        line.append("  last ", style="dim")
        line.append(fmt(self.interval_ms, ".0f", "ms"))
        dev = self.deviation_pct
        if dev is not None:
            line.append(" ")
            shown = round(dev, 1) + 0.0  # as printed: on target reads "+0.0 %", never "-0.0 % fast"
            line.append(f"{shown:+.1f} %", style=f"bold {_rhythm_style(dev)}")
            line.append(" slow" if shown > 0 else " fast" if shown < 0 else "", style="dim")
        line.truncate(max(1, self.size.width))
        return line


class RhythmStrip(Widget):
    """The current set's intervals, one bar each, newest on the right.

    A bar's height is the rep's rhythm deviation from the set's running median
    interval, as the session computed it, or with a cadence target
    (:meth:`set_target`) from the target interval (half height = on the median
    or the target; full or empty = :data:`RHYTHM_FULL_SCALE_PCT` long or short);
    green within :data:`RHYTHM_STEADY_PCT`, yellow within :data:`RHYTHM_LOOSE_PCT`, red beyond.
    """

    DEFAULT_CSS = """
    RhythmStrip { height: 2; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._set_number: int | None = None
        self._devs: deque[float | None] = deque(maxlen=RHYTHM_BARS)
        self._last: Rep | None = None
        self._last_dev: float | None = None
        self._metronome: Metronome | None = None

    def set_target(self, metronome: Metronome | None) -> None:
        """Measure deviations from ``metronome``'s interval from the next rep on (None: from the running median)."""
        self._metronome = metronome

    def _deviation(self, rep: Rep) -> float | None:
        return rep.rhythm_dev_pct if self._metronome is None else self._metronome.deviation_pct(rep.interval_ms)

    def add_reps(self, reps: Sequence[Rep]) -> None:
        """Take the newest reps (in order); a rep of a new set clears the strip."""
        for rep in reps:
            if rep.set_number != self._set_number:
                self._set_number = rep.set_number
                self._devs.clear()
            dev = self._deviation(rep)
            if rep.interval_ms is not None:
                self._devs.append(dev)
            self._last, self._last_dev = rep, dev
        if reps:
            self.refresh()

    def render(self) -> Text:
        head = Text("rhythm", style="dim")
        last = self._last
        if last is None:
            head.append("  no reps yet", style="dim")
        else:
            head.append(f"  set {last.set_number}", style="bold")
            if last.interval_ms is not None:
                dev = "" if self._last_dev is None else f", {self._last_dev:+.1f} %"
                if self._last_dev is not None and self._metronome is not None:
                    dev += f" vs {self._metronome.target_per_min:.0f}"
                head.append(f"  last interval {last.interval_ms:.0f} ms ({last.cadence_per_min:.0f}/min{dev})")
        bars = Text()
        width = max(1, self.size.width)
        for dev in list(self._devs)[-width:]:
            if dev is None:
                bars.append(_BAR_CHARS[3], style="dim")
                continue
            level = 3 + round(4 * dev / RHYTHM_FULL_SCALE_PCT)  # 3 (▄, half height): on the median
            bars.append(_BAR_CHARS[min(7, max(0, level))], style=_rhythm_style(dev))
        return Text("\n").join([head, bars])


class RepTable(Widget, can_focus=True):
    """Reps and rejected sounds, newest at the top; rejected rows greyed with their reason.

    Keeps the newest :data:`MAX_TABLE_ROWS` rows (the session keeps every rep),
    so a long session costs the screen nothing more. It draws only the rows
    that fit, and a new batch repaints this widget alone (no layout pass), so
    it stays cheap at any rate. Up/Down, Page Up/Page Down, the mouse wheel
    and Home scroll back through the kept rows.
    """

    BINDINGS = [
        Binding("down", "scroll_rows(1)", "Older", show=False),
        Binding("up", "scroll_rows(-1)", "Newer", show=False),
        Binding("pagedown", "scroll_rows(10)", "Older", show=False),
        Binding("pageup", "scroll_rows(-10)", "Newer", show=False),
        Binding("home", "scroll_rows(-1000000)", "Newest", show=False),
    ]
    DEFAULT_CSS = """
    RepTable { height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: deque[tuple[tuple[str, ...], bool]] = deque()  # (cells, rejected), oldest first
        self._samples: deque[int] = deque()  # each row's sample: rows stay in time order
        self._reps: dict[int, Rep] = {}  # rep number -> rep, for the reps still in the table
        self.scrolled_back = 0
        """Rows scrolled back from the newest (0: the newest row is at the top)."""

    @property
    def row_count(self) -> int:
        """Rows kept (at most :data:`MAX_TABLE_ROWS`)."""
        return len(self._rows)

    def rows(self) -> list[tuple[tuple[str, ...], bool]]:
        """The kept rows, newest first: (cells in :data:`TABLE_COLUMNS` order, rejected?)."""
        return list(reversed(self._rows))

    def add_items(self, items: Sequence[Rep | Rejected | RepScore]) -> None:
        """Add rows for reps and rejections (each in its place in time) and fill in scores, in one batch.

        A scrolled-back view keeps showing the same rows.
        """
        added = 0
        for item in items:
            if isinstance(item, RepScore):
                self._fill_score(item)
                continue
            if len(self._rows) == MAX_TABLE_ROWS:
                cells, rejected = self._rows.popleft()
                self._samples.popleft()
                if not rejected:
                    self._reps.pop(int(cells[0]), None)
            if isinstance(item, Rep):
                self._insert((rep_cells(item), False), item.sample)
                self._reps[item.number] = item
            else:
                self._insert((rejected_cells(item), True), item.event.sample)
            added += 1
        if self.scrolled_back and added:
            self.scrolled_back = min(self.scrolled_back + added, len(self._rows) - 1)
        self.refresh()

    def _insert(self, row: tuple[tuple[str, ...], bool], sample: int) -> None:
        """Add ``row`` in time order: an inferred rope beat is decided after sounds that came later than it."""
        i = len(self._samples)
        while i > 0 and self._samples[i - 1] > sample:
            i -= 1
        self._rows.insert(i, row)
        self._samples.insert(i, sample)

    def _fill_score(self, score: RepScore) -> None:
        rep = self._reps.get(score.number)
        if rep is None:
            return  # its row has left the table
        cells = rep_cells(rep)
        for i in range(len(self._rows) - 1, -1, -1):  # scores come soon after their rep: search from the newest
            if self._rows[i] == (cells, False):
                self._rows[i] = (rep_cells(rep, score), False)
                return

    def action_scroll_rows(self, delta: int) -> None:
        self.scrolled_back = max(0, min(self.scrolled_back + delta, len(self._rows) - 1))
        self.refresh()

    def on_mouse_scroll_down(self, event) -> None:
        self.action_scroll_rows(3)

    def on_mouse_scroll_up(self, event) -> None:
        self.action_scroll_rows(-3)

    def render(self) -> Text:
        width = self.size.width
        sep = 2 if width >= WIDE_TABLE else 1
        header = Text(_table_line([h for _, h in TABLE_COLUMNS], sep), style="bold")
        if self.scrolled_back:  # the longer hint where it fits (it was cut to '(Home: newes' at 80 columns)
            hint = f"  ↓{self.scrolled_back} (Home: newest)"
            if len(header.plain) + len(hint) > width:
                hint = f"  ↓{self.scrolled_back} (Home)"
            header.append(hint, style="reverse")
        lines = [header]
        visible = max(0, self.size.height - 1)
        newest = len(self._rows) - 1 - self.scrolled_back
        for i in range(newest, max(-1, newest - visible), -1):
            cells, rejected = self._rows[i]
            lines.append(Text(_table_line(cells, sep), style="dim" if rejected else ""))
        for line in lines:
            line.truncate(width)
        return Text("\n", no_wrap=True, overflow="crop").join(lines)


_COLUMN_WIDTHS = (4, 3, 7, 11, 4, 6, 8, 5)
"""Widths of the table's columns but the last (the note, which takes the rest), characters."""
WIDE_TABLE = 90
"""From this width on, table columns are two spaces apart (else one)."""


def _table_line(cells: Sequence[str], sep: int) -> str:
    """One table line: figures right-aligned in :data:`_COLUMN_WIDTHS`, ``sep`` spaces apart, then the note."""
    return (" " * sep).join([*(f"{cell:>{w}}" for cell, w in zip(cells, _COLUMN_WIDTHS)), *cells[len(_COLUMN_WIDTHS) :]])


class SummaryCard(Static):
    """The summary of the set that just ended, or of the finished session; hidden until there is one."""

    DEFAULT_CSS = """
    SummaryCard { height: auto; padding: 0 1; border: round $accent; display: none; }
    SummaryCard.shown { display: block; }
    """

    def show(self, text: str, title: str) -> None:
        """Show ``text`` under ``title``."""
        self.border_title = title
        self.update(text)
        self.add_class("shown")


class StatusLine(Static):
    """One line: source, sample rate, latency, overflows, recording path, drill and state."""

    DEFAULT_CSS = """
    StatusLine { height: auto; max-height: 2; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def show(self, text: str) -> None:
        """Show ``text``; the same text again costs nothing (the status comes every second)."""
        if text != getattr(self, "_text", None):
            self._text = text
            self.update(text)
