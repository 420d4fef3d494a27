"""The readiness rule: is an athlete ready to move up a level in a drill?

Why it exists: progression is the whole method of runners' plyometrics: the
athlete moves up when landings stay quiet and the rhythm holds. This module
turns one athlete's stored sessions of one drill into that verdict, as one
sentence a coach can read. Pure Python: it reads
:class:`~quietland.history.SessionRow` values and touches no database.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .history import SessionRow


@dataclass(frozen=True)
class Readiness:
    """Whether an athlete is ready to move up a level in one drill."""

    ready: bool
    """True when the rule in :func:`readiness` holds."""
    sentence: str
    """The verdict and its reasons, in one sentence."""
    short: str = ""
    """The verdict in a few words, for a line of a table: ``ready to move up``, ``needs 2 more sessions``, or
    ``not yet:`` and what fails (``uncalibrated``, ``another's baseline``, ``drift cue``, ``few reps``,
    ``score < 70``, ``CV > 6%``, ``double contacts``, ``louder``, ``level unknown``)."""


@dataclass(frozen=True)
class Progress:
    """One athlete's sessions of one drill, oldest first, and the readiness verdict on them."""

    athlete: str
    """The athlete."""
    drill: str
    """The drill."""
    sessions: tuple[SessionRow, ...]
    """The sessions, oldest first."""
    readiness: Readiness
    """The verdict of :func:`readiness` on ``sessions``."""


# ------------------------------------------------------------------ readiness (pure)
READY_SESSIONS = 3
"""Sessions of a drill the verdict looks at: the latest this many."""
READY_MIN_REPS = 8
"""Reps a session needs to count (in repeated pogo jumps, about 7 reps before averages settle)."""
READY_MIN_SCORE = 70.0
"""Median score each of those sessions needs, 0-100."""
READY_MAX_CV = 0.06
"""Highest interval CV allowed in each, ratio (the rhythm holds: 6%)."""
READY_MAX_DOUBLE_SHARE = 0.10
"""Highest share of double contacts allowed in each, ratio."""
READY_MAX_RISE_DB = 1.0
"""How much louder than the first of them (against baseline) the last may be and still count as 'not rising', dB."""


def _day(row: SessionRow, among: Sequence[SessionRow] = ()) -> str:
    """A session's start as people read it: ``2026-11-23 10:05``; to the second (``10:05:31``) when another of
    ``among`` started in the same minute (the sentence would name two sessions alike)."""
    minute = row.started_at[:16]
    alike = any(other is not row and other.started_at[:16] == minute for other in among)
    return row.started_at[: 19 if alike else 16].replace("T", " ")


def _the_sessions(rows: Sequence[SessionRow], among: Sequence[SessionRow] = ()) -> str:
    """``the session of DAY``, or ``the sessions of DAY, DAY and DAY`` (see :func:`_day` for ``among``)."""
    days = [_day(r, among) for r in rows]
    if len(days) == 1:
        return f"the session of {days[0]}"
    return f"the sessions of {', '.join(days[:-1])} and {days[-1]}"


def _against(value: float, limit: float, decimals: int = 0) -> str:
    """``value`` with the fewest decimals (from ``decimals``, up to 3) that keep it apart from ``limit``:
    a median score of 69.6 against 70 reads "69.6", not "70"."""
    for d in range(decimals, 4):
        text = f"{value:.{d}f}"
        if float(text) != round(limit, d):
            return text
    return text


def score_text(score: float) -> str:
    """A median score as the history shows it: whole numbers, but a score under :data:`READY_MIN_SCORE` with
    as many decimals as keep it under (69.96 reads "69.96", never "70", which would pass)."""
    return _against(score, READY_MIN_SCORE) if score < READY_MIN_SCORE else f"{score:.0f}"


def _span(values: Sequence[float], decimals: int) -> str:
    """``low-high``, or one number when they are equal at this precision."""
    low, high = f"{min(values):.{decimals}f}", f"{max(values):.{decimals}f}"
    return low if low == high else f"{low}-{high}"


def readiness(rows: Sequence[SessionRow]) -> Readiness:
    """Is the athlete ready to move up a level in this drill? ``rows``: one athlete's sessions of one drill, oldest first.

    The coaching rule: an athlete moves up when landings stay quiet and the rhythm
    holds. The rule, on the latest :data:`READY_SESSIONS` (3) sessions:

    1. each is **calibrated** against the athlete's own baseline (a generic
       baseline, or another athlete's profile, says nothing about this athlete:
       :attr:`~quietland.history.SessionRow.own_baseline`) and raised no
       calibration drift cue (its own cue said the set-up had changed);
    2. each has at least :data:`READY_MIN_REPS` (8) reps;
    3. each has a **median score >= 70** (:data:`READY_MIN_SCORE`);
    4. each has an **interval CV <= 0.06** (:data:`READY_MAX_CV`; unknown CV fails);
    5. in each, **double contacts are at most 10%** of the reps (:data:`READY_MAX_DOUBLE_SHARE`);
    6. landings are **not getting louder**: the last session's median impact
       level against its baseline (``median_impact_db - normal_db``) is at most
       :data:`READY_MAX_RISE_DB` (1 dB) above the first's. Against the baseline,
       so a re-calibration between sessions does not break the comparison.

    Fewer than 3 sessions: not yet, saying how many more are needed. The
    sentence names every condition that fails, with the session's date.
    Raises ValueError when ``rows`` mixes athletes or drills.
    """
    if len({(r.athlete.casefold(), r.drill) for r in rows}) > 1:
        raise ValueError("readiness() takes the sessions of one athlete and one drill")
    if len(rows) < READY_SESSIONS:
        drill = rows[0].drill if rows else "this drill"
        more = READY_SESSIONS - len(rows)
        done = f"{len(rows)} {drill} session{'s' if len(rows) != 1 else ''} so far"
        return Readiness(False, f"Not ready to judge yet: {done}; {more} more {'is' if more == 1 else 'are'} needed "
                         f"(the verdict looks at the last {READY_SESSIONS}).",
                         f"needs {more} more session{'s' if more != 1 else ''}")
    last = list(rows[-READY_SESSIONS:])
    drill = last[0].drill

    def day(row: SessionRow) -> str:
        return _day(row, last)

    reasons: list[str] = []
    tags: list[str] = []  # (the reasons in a few words, for Readiness.short)
    uncalibrated = [r for r in last if not r.calibrated]
    if uncalibrated:  # one reason for them all: the same remedy
        tags.append("uncalibrated")
        reasons.append(f"{_the_sessions(uncalibrated, last)} {'was' if len(uncalibrated) == 1 else 'were'} scored "
                       "uncalibrated ('quietland calibrate' makes a profile; 'quietland analyze RECORDING --profile "
                       "NAME' scores a recording against it)")
    others = [r for r in last if r.calibrated and not r.own_baseline]
    if others:  # another's calibration (live says so: the athlete had no profile of their own)
        names = ", ".join(dict.fromkeys(f"'{r.profile_name}'" for r in others))
        tags.append("another's baseline")
        reasons.append(f"{_the_sessions(others, last)} {'was' if len(others) == 1 else 'were'} scored against the "
                       f"profile {names}, not {last[0].athlete}'s own ('quietland calibrate --name NAME' makes one "
                       "under the athlete's name)")
    drifted = [r for r in last if r.own_baseline and r.drift_cues]
    if drifted:  # calibrated, but its own cue said the set-up had changed: its scores are not against this baseline
        tags.append("drift cue")
        reasons.append(f"{_the_sessions(drifted, last)} raised a calibration drift cue (the microphone, room or gain had "
                       "changed since calibrating, so the scores are not against this set-up's baseline: calibrate "
                       "again)")
    for r in last:
        if not r.own_baseline or r.drift_cues:
            continue
        if r.reps < READY_MIN_REPS:
            tags.append("few reps")
            reasons.append(f"the session of {day(r)} had only {r.reps} reps ({READY_MIN_REPS} needed)")
        if r.median_score is None or r.median_score < READY_MIN_SCORE:
            got = "no score" if r.median_score is None else f"a median score of {_against(r.median_score, READY_MIN_SCORE)}"
            tags.append(f"score < {READY_MIN_SCORE:.0f}")
            reasons.append(f"{day(r)} had {got} ({READY_MIN_SCORE:.0f} needed)")
        if r.interval_cv is None or r.interval_cv > READY_MAX_CV:
            got = ("no measurable rhythm" if r.interval_cv is None
                   else f"an interval CV of {_against(100 * r.interval_cv, 100 * READY_MAX_CV, 1)}%")
            tags.append(f"CV > {100 * READY_MAX_CV:.0f}%")
            reasons.append(f"{day(r)} had {got} ({100 * READY_MAX_CV:.0f}% at most)")
        share = r.double_contact_share
        if share is not None and share > READY_MAX_DOUBLE_SHARE:
            shown = _against(100 * share, 100 * READY_MAX_DOUBLE_SHARE)
            tags.append("double contacts")
            reasons.append(f"{day(r)} had {shown}% double contacts ({100 * READY_MAX_DOUBLE_SHARE:.0f}% at most)")
    first_db, last_db = last[0].vs_baseline_db, last[-1].vs_baseline_db
    rise = None if first_db is None or last_db is None else last_db - first_db
    if all(r.own_baseline for r in last):
        if rise is None:
            tags.append("level unknown")
            reasons.append("the impact level of the first or last of these sessions is unknown")
        elif rise > READY_MAX_RISE_DB:
            tags.append("louder")
            reasons.append(f"landings got louder: the median impact level rose {_against(rise, READY_MAX_RISE_DB, 1)} dB "
                           f"against baseline from {day(last[0])} to {day(last[-1])} ({READY_MAX_RISE_DB:.0f} dB "
                           "allowed)")
    if reasons:
        return Readiness(False, f"Not ready to move up in {drill} yet: " + "; ".join(reasons) + ".",
                         "not yet: " + ", ".join(dict.fromkeys(tags)))
    scores = [r.median_score for r in last]
    cvs = [100 * r.interval_cv for r in last]
    doubles = max(100 * (r.double_contact_share or 0.0) for r in last)
    return Readiness(
        True,
        f"Ready to move up from {drill}: the last {READY_SESSIONS} sessions were calibrated, scored a median "
        f"{_span(scores, 0)}, kept the interval CV at {_span(cvs, 1)}% with "
        + ("no double contacts" if doubles == 0 else f"at most {doubles:.0f}% double contacts")
        + f", and landings did not get louder (the median impact level against baseline changed {rise:+.1f} dB "
        f"from {day(last[0])} to {day(last[-1])}).",
        "ready to move up",
    )


def progress_by_group(rows: Sequence[SessionRow]) -> list[Progress]:
    """One :class:`Progress` per (athlete, drill) among ``rows`` (oldest first), in order of first appearance."""
    groups: dict[tuple[str, str], list[SessionRow]] = {}
    for row in rows:
        groups.setdefault((row.athlete, row.drill), []).append(row)
    return [Progress(athlete, drill, tuple(group), readiness(group)) for (athlete, drill), group in groups.items()]
