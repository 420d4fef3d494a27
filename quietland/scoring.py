"""The per-rep score, form fade and drift: what a rep is worth against the athlete's own baseline.

Why it exists: loudness in dB means nothing until it is placed on the
athlete's own scale (a :class:`~quietland.calibration.Profile`), and a
coach wants one number per rep plus a few cues, not a table of decibels.

Score of a rep, 0-100 (the README repeats it):

- softness ``s = 1 / (1 + 9 ** (p - 1))`` with ``p = (L - quiet) / (normal - quiet)``,
  ``L`` the landing's impact level (``impact_db``: its loudest 5 ms) and ``quiet``/``normal`` the profile's anchors
  (their span at least 3 dB): 0.9 at the quiet anchor, 0.5 at the normal
  one, 0.1 one span louder than normal; it falls steadily with loudness and
  never saturates, so ordering by score keeps the ordering by loudness;
- rhythm ``r = max(0, 1 - |deviation| / 30 %)`` from the rep's deviation from the
  set's running median interval (unknown for a set's first two reps), or, with a
  cadence target, from the target interval ``60 / target`` s (known from a set's
  second rep);
- ``score = 100 * (0.7 s + 0.3 r)``, or ``100 s`` while ``r`` is unknown;
  minus 25 points for a double contact; clamped to 0-100.

Form fade: from a set's 4th heard rep on, when two of its last three reps are
at least ``fade_db`` louder (impact level) than the median of the set's first three, the
athlete is landing harder as they tire: one ``form-fade`` cue per set.

Drift (only with a calibrated profile): the running noise floor more than
``drift_floor_db`` from the profile's floor (after ``drift_settle_s`` of
audio), or the median of the last ``drift_reps`` landings more than
``drift_level_db`` below the quiet anchor or above the normal anchor, means
the microphone, the room or the gain changed: one cue of each kind per
session. numpy-free pure Python; no I/O.
"""
from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

from .calibration import Profile
from .events import Cue, Rep, RepScore


@dataclass(frozen=True)
class ScoreConfig:
    """Weights and limits of the score and cues, in physical units."""

    softness_weight: float = 0.7
    """Share of softness in the score (rhythm has the rest)."""
    rhythm_zero_pct: float = 30.0
    """Deviation from the running interval that scores zero rhythm, percent."""
    double_contact_penalty: float = 25.0
    """Points taken off for a double contact."""
    fade_db: float = 6.0
    """Form fade: a rep this much louder than the set's first three reps (median) is a faded one."""
    fade_base_reps: int = 3
    """Form fade: heard reps at a set's start that make its baseline."""
    drift_floor_db: float = 10.0
    """Drift: running noise floor this far from the profile's floor."""
    drift_settle_s: float = 3.0
    """Drift: audio heard before the floor is compared, s (the running floor needs it to settle)."""
    drift_level_db: float = 10.0
    """Drift: typical landing this far outside the profile's anchors."""
    drift_reps: int = 5
    """Drift: heard reps whose median loudness is the typical landing."""


def softness(impact_db: float, profile: Profile) -> float:
    """Softness 0-1 of a landing with impact level ``impact_db`` on ``profile``'s scale (see the module docstring)."""
    p = (impact_db - profile.quiet_db) / profile.span_db
    exponent = (p - 1.0) * math.log(9.0)
    if exponent > 700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(exponent))


def rhythm(deviation_pct: float | None, config: ScoreConfig = ScoreConfig()) -> float | None:
    """Rhythm 0-1 from the deviation from the running interval (percent), or None when unknown."""
    if deviation_pct is None or not math.isfinite(deviation_pct):
        return None
    return max(0.0, 1.0 - abs(deviation_pct) / config.rhythm_zero_pct)


def target_deviation_pct(interval_ms: float | None, target_per_min: float) -> float | None:
    """(interval - target interval) / target interval in percent, for a cadence target in contacts per minute."""
    if interval_ms is None:
        return None
    target_ms = 60000.0 / target_per_min
    return 100.0 * (interval_ms - target_ms) / target_ms


def rep_score(
    rep: Rep,
    profile: Profile,
    double_gap_ms: float | None,
    config: ScoreConfig = ScoreConfig(),
    target_per_min: float | None = None,
) -> RepScore:
    """The :class:`RepScore` of ``rep`` (``double_gap_ms``: its second impact, None if it had none).

    ``target_per_min``: a cadence target; rhythm is then scored against it instead of the running median.
    """
    if rep.inferred or not math.isfinite(rep.impact_db):
        return RepScore(rep.number, None, None, None, False, None, profile.calibrated)
    s = softness(rep.impact_db, profile)
    deviation = rep.rhythm_dev_pct if target_per_min is None else target_deviation_pct(rep.interval_ms, target_per_min)
    r = rhythm(deviation, config)
    value = 100.0 * s if r is None else 100.0 * (config.softness_weight * s + (1.0 - config.softness_weight) * r)
    double = double_gap_ms is not None
    if double:
        value -= config.double_contact_penalty
    return RepScore(
        number=rep.number,
        score=min(100.0, max(0.0, value)),
        softness=s,
        rhythm=r,
        double_contact=double,
        double_gap_ms=double_gap_ms,
        calibrated=profile.calibrated,
    )


class CueWatch:
    """Watches scored reps and the noise floor for form fade and drift; returns each cue once."""

    def __init__(self, profile: Profile, sample_rate: int, config: ScoreConfig = ScoreConfig()) -> None:
        self.profile = profile
        self.config = config
        self.sample_rate = int(sample_rate)
        self._set = 0
        self._set_levels: list[float] = []
        self._faded_sets: set[int] = set()
        self._recent: deque[float] = deque(maxlen=config.drift_reps)
        self._drifted: set[str] = set()

    def rep(self, rep: Rep) -> list[Cue]:
        """Take a decided rep; return any cue it starts (dated at the rep's sample)."""
        if rep.inferred or not math.isfinite(rep.impact_db):
            return []
        cfg = self.config
        out: list[Cue] = []
        if rep.set_number != self._set:
            self._set = rep.set_number
            self._set_levels = []
        self._set_levels.append(rep.impact_db)
        levels = self._set_levels
        if len(levels) > cfg.fade_base_reps and rep.set_number not in self._faded_sets:
            base = statistics.median(levels[: cfg.fade_base_reps])
            last = levels[cfg.fade_base_reps :][-3:]
            if sum(v >= base + cfg.fade_db for v in last) >= 2:
                self._faded_sets.add(rep.set_number)
                out.append(
                    Cue(
                        rep.sample,
                        "form-fade",
                        "Form fading: end the set (landings are getting louder than at the start of the set).",
                        set_number=rep.set_number,
                        rep_number=rep.number,
                    )
                )
        self._recent.append(rep.impact_db)
        if self.profile.calibrated and "drift-level" not in self._drifted and len(self._recent) == cfg.drift_reps:
            typical = statistics.median(self._recent)
            p = self.profile
            if typical > p.normal_db + cfg.drift_level_db or typical < p.quiet_db - cfg.drift_level_db:
                self._drifted.add("drift-level")
                where = "louder" if typical > p.normal_db else "quieter"
                out.append(
                    Cue(
                        rep.sample,
                        "drift-level",
                        f"Landings are {where} than the calibration allows ({typical:.1f} dB against anchors "
                        f"{p.quiet_db:.1f} to {p.normal_db:.1f} dB): the microphone, room or gain has changed; "
                        "calibrate again for honest scores.",
                        rep_number=rep.number,
                    )
                )
        return out

    def floor(self, floor_dbfs: float, now: int) -> list[Cue]:
        """Take the running noise floor at ``now`` (samples analysed); return a drift cue the first time it is off."""
        cfg = self.config
        if (
            not self.profile.calibrated
            or "drift-floor" in self._drifted
            or now < cfg.drift_settle_s * self.sample_rate
            or not math.isfinite(floor_dbfs)
            or floor_dbfs <= -119.0  # digital silence (a muted input) says nothing about the room
        ):
            return []
        diff = floor_dbfs - self.profile.floor_dbfs
        if abs(diff) <= cfg.drift_floor_db:
            return []
        self._drifted.add("drift-floor")
        return [
            Cue(
                now,
                "drift-floor",
                f"The room's noise floor is {floor_dbfs:.1f} dBFS, {abs(diff):.1f} dB {'above' if diff > 0 else 'below'} "
                f"the calibration's {self.profile.floor_dbfs:.1f} dBFS: the laptop moved, the room or the gain changed; "
                "calibrate again for honest scores.",
            )
        ]
