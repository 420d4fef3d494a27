"""A modal list of the drills (:data:`quietland.reps.DRILLS`); dismisses with the chosen name or None."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ..reps import DRILL_RULES, DRILLS


def _row(name: str) -> Table:
    """A drill's name and what counts as a rep, the text wrapped in its own column (at 80 columns it wrapped
    under the names)."""
    row = Table.grid(padding=(0, 1))
    row.add_column(width=NAME_WIDTH, no_wrap=True)
    row.add_column(ratio=1)
    row.add_row(name, DRILL_RULES[name].summary)
    return row


NAME_WIDTH = max(len(name) for name in DRILLS)
"""Width of the names' column."""


class DrillPicker(ModalScreen[str | None]):
    """Pick the drill being performed: Enter chooses, Escape keeps the current one."""

    BINDINGS = [Binding("escape", "cancel", "Keep current drill")]
    DEFAULT_CSS = """
    DrillPicker { align: center middle; }
    DrillPicker > Vertical { width: 90%; max-width: 100; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    DrillPicker OptionList { height: auto; max-height: 16; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Drill (now: {self.current}) — Enter to choose, Escape to keep")
            yield OptionList(*(Option(_row(name), id=name) for name in DRILLS))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = DRILLS.index(self.current) if self.current in DRILLS else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
