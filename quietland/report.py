"""Results at the edge: the JSON document, the CSV rows and the plain-text table.

The pipeline hands over an :class:`~quietland.pipeline.Analysis` of frozen
dataclasses; this module is the one place they become dicts, text and
rounded numbers. Every figure is rounded here and only here, and a value
that is not a finite number (``None``, ``-inf`` for digital silence) becomes
``null`` / an empty cell / ``-``, so the JSON is always valid JSON.
The README documents every field this module writes.
"""
from __future__ import annotations

import csv
import json
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from . import __version__
from .calibration import Profile
from .events import Cue, OnsetEvent, Rejected, Rep, RepScore
from .names import columns, wrap

if TYPE_CHECKING:
    from .pipeline import Analysis

TIME_DECIMALS = 4
"""Seconds are rounded to 0.1 ms."""
DB_DECIMALS = 2
"""Decibels are rounded to 0.01 dB."""
MS_DECIMALS = 1
"""Milliseconds are rounded to 0.1 ms."""

CSV_COLUMNS = (
    "status", "rep", "set", "rep_in_set", "t_s", "sample", "interval_ms", "cadence_per_min",
    "loudness_db", "impact_db", "peak_dbfs", "low_db", "high_db", "rhythm_dev_pct", "ramp_in", "inferred",
    "detect_delay_ms", "score", "softness", "rhythm_score", "double_contact", "double_gap_ms",
)
"""CSV header, in order; ``status`` is ``rep`` or ``rejected:<reason>``."""


def _num(value: float | None, decimals: int) -> float | None:
    """``value`` rounded, or None when it is None or not finite."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), decimals)


def _event_fields(ev: OnsetEvent) -> dict[str, Any]:
    """Fields every event has, rep or rejected."""
    return {
        "t_s": _num(ev.t_s, TIME_DECIMALS),
        "sample": ev.sample,
        "loudness_db": _num(ev.loudness_db, DB_DECIMALS),
        "impact_db": _num(ev.impact_db, DB_DECIMALS),
        "peak_dbfs": _num(ev.peak_dbfs, DB_DECIMALS),
        "low_db": _num(ev.low_db, DB_DECIMALS),
        "high_db": _num(ev.high_db, DB_DECIMALS),
        "detect_delay_ms": _num(ev.detect_delay_ms, MS_DECIMALS),
    }


def rep_to_dict(rep: Rep) -> dict[str, Any]:
    """One counted rep as the JSON ``reps`` entry."""
    ev = _event_fields(rep.event)
    return {
        "rep": rep.number,
        "set": rep.set_number,
        "rep_in_set": rep.rep_in_set,
        "t_s": ev["t_s"],
        "sample": ev["sample"],
        "interval_ms": _num(rep.interval_ms, MS_DECIMALS),
        "cadence_per_min": _num(rep.cadence_per_min, 1),
        "loudness_db": ev["loudness_db"],
        "impact_db": ev["impact_db"],
        "peak_dbfs": ev["peak_dbfs"],
        "low_db": ev["low_db"],
        "high_db": ev["high_db"],
        "rhythm_dev_pct": _num(rep.rhythm_dev_pct, 1),
        "ramp_in": rep.ramp_in,
        "inferred": rep.inferred,
        "detect_delay_ms": None if rep.inferred else ev["detect_delay_ms"],  # no sound was heard
        **score_fields(rep.score),
    }


def score_fields(score: RepScore | None) -> dict[str, Any]:
    """A rep's score fields (all null, ``double_contact`` false, while it has no score)."""
    return {
        "score": None if score is None else _num(score.score, 1),
        "softness": None if score is None else _num(score.softness, 3),
        "rhythm_score": None if score is None else _num(score.rhythm, 3),
        "double_contact": bool(score is not None and score.double_contact),
        "double_gap_ms": None if score is None else _num(score.double_gap_ms, MS_DECIMALS),
    }


def cue_to_dict(cue: Cue, sample_rate: int) -> dict[str, Any]:
    """One cue as the JSON ``cues`` entry."""
    return {
        "t_s": _num(cue.sample / sample_rate, TIME_DECIMALS),
        "sample": cue.sample,
        "kind": cue.kind,
        "message": cue.message,
        "set": cue.set_number,
        "rep": cue.rep_number,
    }


def calibration_to_dict(profile: Profile) -> dict[str, Any]:
    """The JSON ``calibration`` block: which profile the reps were scored against, and its anchors."""
    return {
        "calibrated": profile.calibrated,
        "name": profile.name,
        "created": profile.created,
        "quiet_db": profile.quiet_db,
        "normal_db": profile.normal_db,
        "floor_dbfs": profile.floor_dbfs,
    }


def _by_reason(rejected: Sequence[Rejected]) -> str:
    """`` (too-quiet 44, echo 6)``: how many sounds each reason rejected, most first; empty with none."""
    ranked = sorted(Counter(r.reason for r in rejected).items(), key=lambda kv: (-kv[1], kv[0]))
    return f" ({', '.join(f'{reason} {n}' for reason, n in ranked)})" if ranked else ""


def rejected_to_dict(rej: Rejected) -> dict[str, Any]:
    """One rejected event as the JSON ``rejected`` entry."""
    ev = _event_fields(rej.event)
    return {
        "t_s": ev["t_s"],
        "sample": ev["sample"],
        "reason": rej.reason,
        "loudness_db": ev["loudness_db"],
        "impact_db": ev["impact_db"],
        "peak_dbfs": ev["peak_dbfs"],
        "low_db": ev["low_db"],
        "high_db": ev["high_db"],
        "detect_delay_ms": ev["detect_delay_ms"],
    }


def median_detect_delay_ms(analysis: Analysis) -> float | None:
    """Median detection delay over the counted reps that were heard (not inferred), ms (None without any)."""
    delays = [rep.event.detect_delay_ms for rep in analysis.reps if not rep.inferred]
    return statistics.median(delays) if delays else None


def double_contacts(analysis: Analysis) -> int:
    """Reps flagged as double contacts."""
    return sum(1 for r in analysis.reps if r.score is not None and r.score.double_contact)


def median_score(analysis: Analysis) -> float | None:
    """Median score over the scored reps (None without any)."""
    scores = [r.score.score for r in analysis.reps if r.score is not None and r.score.score is not None]
    return statistics.median(scores) if scores else None


ENTRY_LISTS = ("reps", "rejected", "cues")
"""The document's lists with an entry per event, each an :class:`Analysis` field of the same name (they grow with
the session; see :class:`EntryTexts`)."""


def analysis_to_dict(analysis: Analysis, *, file: str, block_size: int, entries: bool = True) -> dict[str, Any]:
    """The ``analyze --json`` document for ``analysis`` of ``file`` fed in blocks of ``block_size``.

    ``entries=False`` leaves the lists in :data:`ENTRY_LISTS` empty (for :func:`json_pieces`).
    """
    s = analysis.summary
    return {
        "file": file,
        "quietland_version": __version__,
        "drill": analysis.drill,
        "drill_changes": [
            {"t_s": _num(sample / analysis.sample_rate, TIME_DECIMALS), "sample": sample, "drill": drill}
            for sample, drill in analysis.drill_changes
        ],
        "sample_rate": analysis.sample_rate,
        "duration_s": _num(analysis.n_samples / analysis.sample_rate, TIME_DECIMALS),
        "block_size": block_size,
        "reps": [rep_to_dict(r) for r in analysis.reps] if entries else [],
        "rejected": [rejected_to_dict(r) for r in analysis.rejected] if entries else [],
        "sets": [
            {
                "number": st.number,
                "reps": st.reps,
                "start_s": _num(st.start_s, TIME_DECIMALS),
                "end_s": _num(st.end_s, TIME_DECIMALS),
                "cadence_per_min": _num(st.cadence_per_min, 1),
                "interval_cv": _num(st.interval_cv, 4),
                "median_loudness_db": _num(st.median_loudness_db, DB_DECIMALS),
            }
            for st in analysis.sets
        ],
        "summary": {
            "reps": s.reps,
            "sets": s.sets,
            "rejected": s.rejected,
            "duration_s": _num(s.duration_s, TIME_DECIMALS),
            "active_s": _num(s.active_s, TIME_DECIMALS),
            "cadence_per_min": _num(s.cadence_per_min, 1),
            "interval_cv": _num(s.interval_cv, 4),
            "median_loudness_db": _num(s.median_loudness_db, DB_DECIMALS),
            "loudest_loudness_db": _num(s.loudest_loudness_db, DB_DECIMALS),
            "median_detect_delay_ms": _num(median_detect_delay_ms(analysis), MS_DECIMALS),
            "median_score": _num(median_score(analysis), 1),
            "double_contacts": double_contacts(analysis),
        },
        "calibration": calibration_to_dict(analysis.profile),
        "target_cadence_per_min": analysis.target_cadence_per_min,
        "cues": [cue_to_dict(c, analysis.sample_rate) for c in analysis.cues] if entries else [],
        "warnings": list(analysis.warnings),
    }


class EntryTexts:
    """The JSON text of each entry of one of a session's growing lists (reps, rejected, cues), made once per entry.

    :meth:`update` takes the list as it is now and returns each entry's text as
    ``json.dumps(doc, indent=2)`` writes it inside the document's list. An entry's
    text is kept while the list holds the same object at its place: the pipeline's
    entries are frozen, and a rep that gains its score is a new object. A session
    saved every few seconds thus converts each entry about once, instead of the
    whole document each time (an hour's document is several MB).
    """

    def __init__(self, to_dict) -> None:
        self._to_dict = to_dict
        self._entries: list[Any] = []
        self._texts: list[str] = []

    def update(self, entries: Sequence[Any]) -> list[str]:
        del self._entries[len(entries):], self._texts[len(entries):]
        for i, entry in enumerate(entries):
            if i < len(self._entries):
                if self._entries[i] is entry:
                    continue
                text = self._text(entry)  # (first: an entry JSON cannot hold leaves the cache as it was)
                self._entries[i], self._texts[i] = entry, text
            else:
                text = self._text(entry)
                self._entries.append(entry)
                self._texts.append(text)
        return list(self._texts)

    def _text(self, entry: Any) -> str:
        return "    " + json.dumps(self._to_dict(entry), indent=2, allow_nan=False).replace("\n", "\n    ")


def json_pieces(doc: dict[str, Any], entries: dict[str, list[str]]) -> list[str]:
    """``json.dumps(doc, indent=2) + "\n"`` in pieces, with ``entries[key]`` (texts from :class:`EntryTexts`) as the
    list under each such key. Written piece by piece, a long session's document is never one string in memory."""
    out = ["{"]
    for i, (key, value) in enumerate(doc.items()):
        out.append(("," if i else "") + "\n  " + json.dumps(key) + ": ")
        texts = entries.get(key)
        if texts:
            out.append("[\n")
            out.extend(piece for text in texts for piece in (text, ",\n"))
            out[-1] = "\n  ]"
        else:
            out.append(json.dumps(value, indent=2, allow_nan=False).replace("\n", "\n  "))
    out.append("\n}\n")
    return out


def _events_in_time_order(analysis: Analysis) -> list[Rep | Rejected]:
    """Reps and rejections merged by sample index (a rep before a rejection at the same sample)."""
    items: list[Rep | Rejected] = [*analysis.reps, *analysis.rejected]
    items.sort(key=lambda item: (item.event.sample, isinstance(item, Rejected)))
    return items


def write_csv(analysis: Analysis, stream: IO[str]) -> None:
    """Write one row per event, reps and rejections in time order, under :data:`CSV_COLUMNS`.

    Cells a rejected event does not have (rep numbers, interval, ...) are
    empty, as are values that are not finite.
    """
    writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in _events_in_time_order(analysis):
        if isinstance(item, Rep):
            row = {"status": "rep", **rep_to_dict(item)}
            row["ramp_in"] = int(item.ramp_in)
            row["inferred"] = int(item.inferred)
            row["double_contact"] = int(row["double_contact"])
        else:
            row = {"status": f"rejected:{item.reason}", **_event_fields(item.event)}
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, fmt)


def _quantity(value: float | None, fmt: str, unit: str) -> str:
    """``value`` with its unit, or a bare "-" when it is unknown (a one-rep set has no cadence)."""
    cell = _cell(value, fmt)
    return cell if cell == "-" else f"{cell} {unit}"


def _median_impact(analysis: Analysis) -> float | None:
    """The median impact level of the reps heard (inferred rope beats have none), dB."""
    levels = [r.impact_db for r in analysis.reps if not r.inferred]
    return statistics.median(levels) if levels else None


def _scored_against(analysis: Analysis, saved_profiles: Sequence[str]) -> str:
    """What the scores rest on: the profile's name, or that they are uncalibrated and how to change that."""
    if analysis.profile.calibrated:
        made = analysis.profile.created[:10]
        return f"profile '{analysis.profile.name}'" + (f", made {made}" if made else "")
    if saved_profiles:
        shown = ", ".join(saved_profiles[:4]) + (", ..." if len(saved_profiles) > 4 else "")
        return f"uncalibrated: '--profile NAME' scores against a saved profile ({shown})"
    return "uncalibrated: 'quietland calibrate' makes a profile"


def format_table(analysis: Analysis, saved_profiles: Sequence[str] = ()) -> str:
    """A plain-text table of reps and rejections in time order, then a summary block. ``saved_profiles``: the
    names of the calibration profiles saved, for the remedy an uncalibrated summary gives."""
    # 80 columns: a unit line under the names, and the notes (at most "ramp-in, double contact") from column 56
    cols = ((4, "rep", ""), (3, "set", ""), (8, "time", "s"), (8, "interval", "ms"), (7, "cadence", "/min"),
            (8, "loudness", "dB"), (6, "rhythm", "dev %"), (5, "score", ""))
    lines = [
        " ".join(f"{name:>{w}}" for w, name, _ in cols) + " notes",
        " ".join(f"{unit:>{w}}" for w, _, unit in cols).rstrip(),
        "-" * 80,
    ]
    for item in _events_in_time_order(analysis):
        if isinstance(item, Rep):
            notes = [
                *(["ramp-in"] if item.ramp_in else []),
                *(["inferred"] if item.inferred else []),
                *(["double contact"] if item.score is not None and item.score.double_contact else []),
            ]
            lines.append((
                f"{item.number:>4} {item.set_number:>3} {item.t_s:>8.3f} {_cell(item.interval_ms, '.1f'):>8} "
                f"{_cell(item.cadence_per_min, '.1f'):>7} {_cell(item.loudness_db, '.1f'):>8} "
                f"{_cell(item.rhythm_dev_pct, '+.1f'):>6} {_cell(item.score and item.score.score, '.0f'):>5}"
                + (f" {', '.join(notes)}" if notes else "")
            ))
        else:
            lines.append(
                f"{'-':>4} {'-':>3} {item.t_s:>8.3f} {'':>8} {'':>7} {_cell(item.event.loudness_db, '.1f'):>8} "
                f"{'':>6} {'':>5} rejected: {item.reason}"
            )
    if not analysis.reps and not analysis.rejected:
        lines.append("(no landings found)")
    elif not analysis.reps:
        lines.append(
            "(no reps: each sound heard was rejected, for the reason beside it. The drill decides what counts; "
            "'quietland drills' lists them."
            + (" Under generic, a jump rope's sounds come too close together to be impacts: --drill jump-rope, "
               "jump-rope-alternate or jump-rope-double-under counts them." if analysis.drill == "generic" else "")
            + ")"
        )
    s = analysis.summary
    delay = median_detect_delay_ms(analysis)
    lines += [
        "",
        f"drill               {analysis.drill}",
        f"reps                {s.reps} in {s.sets} set{'s' if s.sets != 1 else ''}"
        + (f" ({inferred} inferred: rope beats with no sound heard)" if (inferred := sum(r.inferred for r in analysis.reps)) else ""),
        f"rejected            {s.rejected}{_by_reason(analysis.rejected)}",
        f"duration            {s.duration_s:.1f} s (active {s.active_s:.1f} s)",
        f"cadence             {_quantity(s.cadence_per_min, '.1f', '/min')}"
        + (f" (rhythm scored against a target of {analysis.target_cadence_per_min:g}/min)"
           if analysis.target_cadence_per_min else ""),
        f"interval CV         {_quantity(None if s.interval_cv is None else 100 * s.interval_cv, '.1f', '%')}",
        f"median loudness     {_quantity(s.median_loudness_db, '.1f', 'dB')}",
        f"loudest             {_quantity(s.loudest_loudness_db, '.1f', 'dB')}",
        f"median impact       {_quantity(_median_impact(analysis), '.1f', 'dB')} (the level of scores, calibration "
        "and history)",
        f"median detect delay {_quantity(delay, '.1f', 'ms')}",
        f"median score        {_cell(median_score(analysis), '.0f')} ({_scored_against(analysis, saved_profiles)})",
        f"double contacts     {double_contacts(analysis)}",
    ]
    for st in analysis.sets:
        lines.append(
            f"  set {st.number}: {st.reps} rep{'s' if st.reps != 1 else ''}, "
            f"{f'at {st.start_s:.2f} s' if st.reps == 1 else f'{st.start_s:.2f}-{st.end_s:.2f} s'}, "
            f"cadence {_quantity(st.cadence_per_min, '.1f', '/min')}, CV "
            f"{_quantity(None if st.interval_cv is None else 100 * st.interval_cv, '.1f', '%')}, "
            f"loudness {_quantity(st.median_loudness_db, '.1f', 'dB')}"
        )
    for cue in analysis.cues:
        lines.append(f"cue at {cue.sample / analysis.sample_rate:.1f} s: {cue.message}")
    # (a summary line longer than 80 columns goes on under its value; a cue's, indented; a note's, inside its
    # parenthesis)
    return "\n".join(
        wrap(line, 80, subsequent_indent=" " * (4 if line.startswith("cue at") else 1 if line.startswith("(") else 20),
             break_on_hyphens=False)
        if columns(line) > 80 else line for line in lines
    ) + "\n"
