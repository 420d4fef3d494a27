"""Text for the screen: how reps, rejections, sets and the status read.

Why it exists: the widgets only lay text out; what a figure looks like
(decimals, units, a dash for an unknown value) is decided here, once, so the
table, the cards and the tests agree. Plain Python (no Textual); no detection logic:
every figure comes ready-made from the session's reps and summaries.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..events import Rejected, Rep, RepScore, SessionSummary, SetSummary, drill_sequence
from ..scoring import target_deviation_pct
from ..training import LandingFigures, SessionReport, SetReport

DASH = "—"
"""Shown for a value that is not known (yet)."""

TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rep", "rep"),
    ("set", "set"),
    ("time", "time s"),
    ("interval", "interval ms"),
    ("cadence", "/min"),
    ("loudness", "dB"),
    ("rhythm", "rhythm %"),
    ("score", "score"),
    ("note", "note"),
)
"""The rep table's columns: (key, header)."""


def fmt(value: float | None, spec: str, unit: str = "") -> str:
    """``value`` formatted with ``spec`` (and `` unit``), or :data:`DASH` when None or not finite."""
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value:{spec}}{' ' + unit if unit else ''}"


def rep_cells(rep: Rep, score: RepScore | None = None) -> tuple[str, ...]:
    """One table row for a counted rep (with its score once known), in :data:`TABLE_COLUMNS` order."""
    notes = [note for note, on in (("ramp-in", rep.ramp_in), ("inferred", rep.inferred),
                                   ("double contact", score is not None and score.double_contact)) if on]
    return (
        str(rep.number),
        str(rep.set_number),
        f"{rep.t_s:.2f}",
        fmt(rep.interval_ms, ".0f"),
        fmt(rep.cadence_per_min, ".0f"),
        fmt(rep.loudness_db, ".1f"),
        fmt(rep.rhythm_dev_pct, "+.1f"),
        fmt(None if score is None else score.score, ".0f"),
        ", ".join(notes),
    )


def rejected_cells(item: Rejected) -> tuple[str, ...]:
    """One table row for a sound that was not counted, in :data:`TABLE_COLUMNS` order."""
    return ("·", "", f"{item.t_s:.2f}", "", "", fmt(item.event.loudness_db, ".1f"), "", "", f"rejected: {item.reason}")


SCORE_BANDS: tuple[tuple[float, str], ...] = ((70.0, "good"), (40.0, "fair"), (0.0, "poor"))
"""Colour band of a score: the first whose lower bound it reaches."""


def score_band(score: float | None) -> str | None:
    """``good``, ``fair`` or ``poor`` for a 0-100 score; None without one."""
    if score is None or not math.isfinite(score):
        return None
    return next(band for low, band in SCORE_BANDS if score >= low)


@dataclass(frozen=True)
class LastRepCard:
    """What the score card shows for the latest rep.

    Until its score is known (about 70 ms after the rep), and for an inferred
    rope beat that has none, the card shows the rep's loudness. A score
    against the built-in default profile is labelled "uncalibrated".
    """

    rep: int
    """1-based rep number in the session."""
    loudness_db: float
    """The rep's loudness, dB re full scale."""
    rhythm_dev_pct: float | None
    """Interval deviation from the running median (or from a cadence target's interval), %; None until known."""
    score: float | None = None
    """0-100 score; None until scored (or for an inferred beat)."""
    calibrated: bool = False
    """True when the score is against the athlete's own calibration."""
    double_contact: bool = False
    """True when the feet did not land together."""

    @classmethod
    def of(cls, rep: Rep, score: RepScore | None = None, target_per_min: float | None = None) -> LastRepCard:
        """The card for ``rep`` and, once known, its score; with ``target_per_min`` (a cadence target,
        contacts per minute) its rhythm is the deviation from the target interval, as the score's is."""
        rhythm = rep.rhythm_dev_pct if target_per_min is None else target_deviation_pct(rep.interval_ms, target_per_min)
        return cls(
            rep=rep.number,
            loudness_db=rep.loudness_db,
            rhythm_dev_pct=rhythm,
            score=None if score is None else score.score,
            calibrated=score is not None and score.calibrated,
            double_contact=score is not None and score.double_contact,
        )

    @property
    def band(self) -> str | None:
        """Colour band of the score; None without one."""
        return score_band(self.score)

    @property
    def big_text(self) -> str:
        """The large figure: the score once known, else the loudness in dB."""
        if self.score is not None:
            return f"{self.score:3.0f}"  # always 3 wide: a new score never changes the card's layout
        return fmt(self.loudness_db, ".1f")

    @property
    def detail(self) -> str:
        """The line under the large figure."""
        rhythm = f"rhythm {fmt(self.rhythm_dev_pct, '+.1f', '%')}"
        if self.score is None:
            return f"dB · {rhythm}"
        parts = [fmt(self.loudness_db, ".1f", "dB"), rhythm]
        if self.double_contact:
            parts.append("double contact")
        return " · ".join(parts)

    @property
    def title(self) -> str:
        """The line over the large figure: the rep, and "uncalibrated" (here, not under it: at 80 columns a
        double contact's detail line had no room left for it)."""
        return f"last rep: #{self.rep}" + ("" if self.calibrated else " · uncalibrated")


def set_summary_text(summary: SetSummary) -> str:
    """The card shown when a set ends (its title names the set)."""
    cv = None if summary.interval_cv is None else 100.0 * summary.interval_cv
    return (
        f"{summary.reps} rep{'s' if summary.reps != 1 else ''} "
        f"in {summary.end_s - summary.start_s:.1f} s · {fmt(summary.cadence_per_min, '.0f', '/min')} · "
        f"interval CV {fmt(cv, '.1f', '%')} · median {fmt(summary.median_loudness_db, '.1f', 'dB')}"
    )


TREND_STEADY_DB_PER_REP = 0.1
"""A loudness trend within this many dB per rep either way reads "steady" (0.1 dB/rep: 2 dB over 20 reps)."""


def trend_text(slope_db_per_rep: float | None) -> str:
    """A loudness trend as ``+0.12 dB/rep, getting louder`` (or ``steady``, ``getting quieter``)."""
    if slope_db_per_rep is None or not math.isfinite(slope_db_per_rep):
        return f"trend {DASH}"
    if slope_db_per_rep > TREND_STEADY_DB_PER_REP:
        word = "getting louder"
    elif slope_db_per_rep < -TREND_STEADY_DB_PER_REP:
        word = "getting quieter"
    else:
        word = "steady"
    shown = round(slope_db_per_rep, 2) + 0.0  # (+ 0.0: a slope that rounds to zero is +0.00, never -0.00)
    return f"{shown:+.2f} dB/rep, {word}"


def best5_text(intervals_ms: tuple[float, ...]) -> str:
    """The best intervals as ``best 5: 380 385 390 392 395 ms`` (``best 2: ...`` when fewer)."""
    if not intervals_ms:
        return f"best 5: {DASH}"
    return f"best {len(intervals_ms)}: " + " ".join(f"{x:.0f}" for x in intervals_ms) + " ms"


def _pace_line(figures: LandingFigures) -> str:
    cv = None if figures.interval_cv is None else 100.0 * figures.interval_cv
    return (f"{fmt(figures.cadence_per_min, '.0f')}/min · CV {fmt(cv, '.1f', '%')} · "
            f"{best5_text(figures.best5_intervals_ms)}")


def _loudness_line(figures: LandingFigures) -> str:
    baseline = ("uncalibrated" if figures.vs_baseline_db is None
                else f"{figures.vs_baseline_db:+.1f} dB vs normal")
    return (f"impact {fmt(figures.median_impact_db, '.1f', 'dB')} ({baseline}) · "
            f"{trend_text(figures.trend_db_per_rep)}")


def _form_line(figures: LandingFigures) -> str:
    doubles = f"{figures.double_contacts} double contact{'s' if figures.double_contacts != 1 else ''}"
    fades = figures.form_fade_reps
    fade = "no form fade" if not fades else "form fade at rep " + ", ".join(f"#{n}" for n in fades)
    return f"median score {fmt(figures.median_score, '.0f')} · {doubles} · {fade}"


CARD_WIDTH = 76
"""Columns a card's line may take at 80x24 (the card's border and padding take the rest)."""


def _fit(line: str, width: int = CARD_WIDTH) -> str:
    """``line`` broken at its `` · `` separators into lines within ``width`` (a part longer than that stays whole):
    the card then wraps between figures, not inside one (four-digit intervals of jumps 5 s apart made a session's
    pace line 80 columns)."""
    lines: list[str] = []
    for part in line.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "\n".join(lines)


def set_report_text(report: SetReport) -> str:
    """The card shown when a set ends (its title names the set): three lines, each broken to fit 76 columns."""
    head = f"{report.reps} rep{'s' if report.reps != 1 else ''} in {report.duration_s:.1f} s · "
    return "\n".join(_fit(line) for line in (head + _pace_line(report), _loudness_line(report), _form_line(report)))


def drills_text(first: str, changes: Sequence[tuple[int, str]] = ()) -> str:
    """A session's drills in order: ``line-hops``, or ``line-hops, then pogo`` after a drill change."""
    return ", then ".join(drill_sequence(first, (d for _, d in changes)))


def session_head(summary: SessionSummary, drill: str) -> str:
    """The session card's first line, also printed once the screen has closed."""
    return (
        f"Session finished ({drill}): {summary.reps} rep{'s' if summary.reps != 1 else ''} in "
        f"{summary.sets} set{'s' if summary.sets != 1 else ''}, {summary.rejected} rejected"
    )


def session_report_text(summary: SessionSummary, report: SessionReport, drill: str) -> str:
    """The card shown when the session has finished: the counts, then the reps pooled over its sets."""
    head = session_head(summary, drill)
    if len(head) > CARD_WIDTH:  # (the drills of a session whose drill changed)
        head = head.replace("): ", "):\n", 1)
    pace = f"{summary.duration_s:.1f} s, active {summary.active_s:.1f} s · " + _pace_line(report)
    return "\n".join([head, *(_fit(line) for line in (pace, _loudness_line(report), _form_line(report)))])


def recording_text(wav_path: Path | None, results_path: Path | None) -> str:
    """Where the session is being saved, for the status line."""
    if wav_path is None and results_path is None:
        return "not recording"
    paths = [str(p) for p in (wav_path, results_path) if p is not None]
    return "recording to " + " + ".join(paths)


def latency_text(latency_ms: float | None) -> str:
    """Measured input latency for the status line."""
    return f"latency {fmt(latency_ms, '.0f', 'ms')}"
