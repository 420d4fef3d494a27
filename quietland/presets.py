"""Drill presets: the drills coaches name, each with its level, counting rule, rate and default structure.

Why it exists: a counting rule (:mod:`quietland.reps`) says what a rep is; a
preset says which rule a named drill is counted by, how fast its contacts
come, and how it is usually set (3 x 10, 3 rounds of 30 s, ...). Every preset
name is also a drill name for ``--drill`` (reps.py turns each preset into a
rule), and ``quietland drills`` lists them. Rates and structures come from
published coaching figures; each is cited where it is set.

Pure Python, no imports from the rest of quietland: rule names are plain
strings here and a test checks that each names a rule in reps.py.
"""
from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("beginner", "intermediate", "advanced")
"""Preset levels, easiest first."""
TARGET_CADENCE_RANGE = (10.0, 600.0)
"""Cadence targets rhythm may be scored against, contacts per minute (``--target-cadence``, and a recorded
session's target read back): every preset's rate lies well inside."""


@dataclass(frozen=True)
class SetPlan:
    """A default structure: ``sets`` sets of ``reps`` reps, or ``sets`` timed rounds of ``round_s`` s.

    Exactly one of ``reps`` and ``round_s`` is given.
    """

    sets: int
    """Number of sets (or rounds)."""
    reps: int | None = None
    """Target reps per set; None for a timed round."""
    round_s: float | None = None
    """Length of a timed round, s; None for a set of ``reps`` reps."""
    rest_s: float = 60.0
    """Rest between sets (rounds), s."""

    def __post_init__(self) -> None:
        if self.sets < 1:
            raise ValueError(f"sets must be at least 1, got {self.sets}")
        if (self.reps is None) == (self.round_s is None):
            raise ValueError("give exactly one of reps and round_s")
        if (self.reps is not None and self.reps < 1) or (self.round_s is not None and self.round_s <= 0):
            raise ValueError("reps and round_s must be positive")
        if self.rest_s < 0:
            raise ValueError(f"rest_s must not be negative, got {self.rest_s}")

    def reps_per_set(self, contacts_per_min: float) -> int:
        """Reps in one set: ``reps``, or for a timed round the contacts of ``round_s`` at ``contacts_per_min``."""
        if self.reps is not None:
            return self.reps
        assert self.round_s is not None
        return max(1, round(self.round_s * contacts_per_min / 60.0))

    def describe(self) -> str:
        """As a coach writes it: ``3 x 10, rest 60 s`` or ``3 x 30 s, rest 60 s``."""
        work = f"{self.reps}" if self.reps is not None else f"{_num(self.round_s)} s"
        return f"{self.sets} x {work}" + (f", rest {_num(self.rest_s)} s" if self.sets > 1 else "")


@dataclass(frozen=True)
class DrillPreset:
    """One named drill as coaches set it."""

    name: str
    """Drill name as typed after ``--drill`` (kebab-case)."""
    title: str
    """The drill's name as coaches say it, e.g. ``Lateral skater jumps``."""
    level: str
    """One of :data:`LEVELS`."""
    rule: str
    """Name of the counting rule in ``quietland.reps.DRILL_RULES`` that counts this drill."""
    contacts_per_min: tuple[float, float]
    """Expected (low, high) reps per minute within a set: contacts, except double-unders (jumps) and
    depth jumps (a drop landing and its rebound's landing are one rep)."""
    structure: SetPlan
    """Default structure: sets, reps or round length, rest."""
    note: str
    """One line of coaching: what the drill is and what counts as a rep."""
    one_foot: bool = False
    """Landings are on one foot: the rule's two-foot double-contact check does not apply."""
    min_interval_s: float | None = None
    """Shortest time between two reps, s, when the drill needs a longer one than its rule's (None: the rule's)."""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"{self.name}: level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        low, high = self.contacts_per_min
        if not 0 < low <= high:
            raise ValueError(f"{self.name}: contacts_per_min must be (low, high) with 0 < low <= high")

    @property
    def fastest_interval_s(self) -> float:
        """Mean time between contacts at the top of the rate range, s."""
        return 60.0 / self.contacts_per_min[1]

    @property
    def slowest_interval_s(self) -> float:
        """Mean time between contacts at the bottom of the rate range, s."""
        return 60.0 / self.contacts_per_min[0]

    @property
    def rate_text(self) -> str:
        """The rate range as ``90-180``."""
        low, high = self.contacts_per_min
        return f"{_num(low)}-{_num(high)}"


def _num(x: float | None) -> str:
    """A figure as people write it: 30, 7.5."""
    assert x is not None
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# Figures cited below (published coaching and jump-rope figures): jump rope beginners ~80 turns/min, "medium" 160-180/min, "fast"
# 180-220/min, speed record ~456/min (alternate feet); double-unders 0.25-0.31 s per jump cycle;
# two-foot hopping 1.5-3.0 Hz (90-180/min), span 1.2-3.6 Hz (72-216/min); pogo 10/5 test: contact
# 180 ms + flight 444 ms (~96/min); beginners ~8 reps per exercise; hard jumps sets of 4-6 reps,
# 3-4 sets; easy two-foot drills 30-60+ contacts; jump rope rounds of 30 s, 2-3 rounds; quick-feet
# bursts of 8-15 s inside easy runs; jump-school lanes over 7-8 m.
_ROPE_ROUNDS = SetPlan(sets=3, round_s=30.0, rest_s=60.0)  # rope rounds of 30 s, 2-3 rounds
_HOP_ROUNDS = SetPlan(sets=3, round_s=30.0, rest_s=60.0)  # easy two-foot drill: 45-90 contacts a round at 90-180/min

PRESETS: dict[str, DrillPreset] = {
    p.name: p
    for p in (
        DrillPreset(
            "jump-rope", "Jump rope, single bounce", "beginner", "jump-rope",
            (80, 180),  # beginners ~80 turns/min up to "medium" 160-180/min
            _ROPE_ROUNDS,
            "Two-foot single bounce, one jump per rope pass; each landing is a rep, the rope's slap is not.",
        ),
        DrillPreset(
            "jump-rope-alternate", "Jump rope, alternate foot", "intermediate", "jump-rope-alternate",
            (160, 220),  # one rope pass per foot contact: "medium" 160-180/min to "fast" 180-220/min
            _ROPE_ROUNDS,
            "Alternate-foot speed step, one rope pass per foot contact; every contact is a rep.",
        ),
        DrillPreset(
            "jump-rope-double-under", "Double-unders", "advanced", "jump-rope-double-under",
            (190, 240),  # 0.25-0.31 s per jump cycle = 194-240 jumps/min
            _ROPE_ROUNDS,
            "The rope passes twice per jump; one rep per jump, the extra rope click is not counted.",
        ),
        DrillPreset(
            "line-hops-forward-back", "Line hops, forward and back", "beginner", "line-hops",
            (90, 180),  # two-foot hopping 90-180/min
            _HOP_ROUNDS,
            "Quick two-foot hops forward and back over a line; every landing is a rep.",
        ),
        DrillPreset(
            "line-hops-side-to-side", "Line hops, side to side", "beginner", "line-hops",
            (90, 180),  # two-foot hopping 90-180/min
            _HOP_ROUNDS,
            "Quick two-foot hops sideways over a line; every landing is a rep.",
        ),
        DrillPreset(
            "pogo", "Pogo hops", "beginner", "pogo",
            (90, 180),  # two-foot hopping 90-180/min; the pogo 10/5 test runs ~96/min (180 ms + 444 ms)
            SetPlan(sets=3, reps=10, rest_s=60.0),  # easy two-foot drill, 30 contacts
            "Stiff-ankled two-foot hops on the spot with short contacts; every landing is a rep.",
        ),
        DrillPreset(
            "bounding", "Bounding", "intermediate", "generic",
            # exaggerated running strides: ~0.2 s contact + ~0.5 s flight; the slow end of the
            # hopping span (1.2 Hz = 72/min) and below
            (60, 100),
            SetPlan(sets=3, reps=10, rest_s=90.0),
            "Long springy running strides, one foot to the other; every foot contact is a rep.",
            one_foot=True,
        ),
        DrillPreset(
            "squat-jumps", "Squat jumps", "beginner", "single",
            (12, 40),  # one jump at a time (a reset of up to 5 s) to continuous (1.5 s per rep)
            SetPlan(sets=3, reps=8, rest_s=60.0),  # beginners ~8 reps per exercise
            "Squat, jump straight up, land soft; one rep per landing, take-off and settling sounds are not.",
        ),
        DrillPreset(
            "skater-jumps", "Lateral skater jumps", "intermediate", "single",
            (20, 50),  # side to side, landing held for 0.5-2 s
            SetPlan(sets=3, reps=10, rest_s=60.0),  # 5 a side
            "Jump sideways from one leg to the other and stick the landing; one rep per landing.",
            one_foot=True,
        ),
        DrillPreset(
            "broad-jumps", "Broad jumps", "intermediate", "single",
            (6, 30),  # a reset of up to 10 s to jumps in series (2 s per rep)
            SetPlan(sets=3, reps=5, rest_s=90.0),  # hard jumps: sets of 4-6 reps, 3-4 sets
            "Two-foot standing long jump, land and hold; one rep per landing.",
        ),
        DrillPreset(
            "box-jumps", "Box jumps", "intermediate", "single",
            (4, 12),  # jump up, step down, reset: 5-15 s per rep
            SetPlan(sets=4, reps=5, rest_s=90.0),  # hard jumps: sets of 4-6 reps, 3-4 sets
            "Two-foot jump onto a box; one rep per landing on the box. Step down softly: a loud step is heard "
            "as a landing.",
        ),
        DrillPreset(
            "depth-jumps", "Depth jumps", "advanced", "single",
            (3, 8),  # step off the box, land, rebound, climb back up: 7.5-20 s per rep
            SetPlan(sets=3, reps=5, rest_s=120.0),  # hard jumps: sets of 4-6 reps, 3-4 sets
            "Step off a box, land and rebound at once into a jump; the drop landing and the rebound's landing "
            "are one rep.",
            # The rebound's landing comes ~0.5-1.2 s after the drop landing (~0.2 s contact plus
            # ~0.5 s flight) and its settling up to ~0.9 s after that; the single rule's 0.8 s would
            # count them as reps. Inside 2.5 s they are the same rep (rejected as settle, or the
            # drop landing as the rebound's take-off). Reps are >= 7.5 s apart, so 2.5 s is safe.
            min_interval_s=2.5,
        ),
        DrillPreset(
            "single-leg-hops", "Single-leg hops", "intermediate", "generic",
            (80, 150),  # hopping span 1.2-3.6 Hz (72-216/min); one leg is slower than two
            SetPlan(sets=4, reps=10, rest_s=60.0),  # two sets a leg
            "Continuous hops on one leg, alternate legs set by set; every landing is a rep.",
            one_foot=True,
        ),
        DrillPreset(
            "lunge-jumps", "Alternating lunge jumps", "intermediate", "single",
            (30, 60),  # continuous switch lunges, 1-2 s per rep
            SetPlan(sets=3, reps=10, rest_s=60.0),  # 5 a leg
            "From a lunge, jump and switch legs in the air, landing both feet together; one rep per landing.",
        ),
        DrillPreset(
            "quick-feet", "Quick-feet bursts", "beginner", "generic",
            (240, 360),  # fast light steps, 4-6 contacts/s (rope speed steppers reach ~456/min)
            SetPlan(sets=6, round_s=10.0, rest_s=60.0),  # bursts of 8-15 s inside easy runs
            "Fast, light steps on the spot, 8-15 s inside an easy run; every foot contact is a rep.",
            one_foot=True,
        ),
        DrillPreset(
            "jump-school", "Jump-school lanes", "beginner", "line-hops",
            (90, 150),  # two-foot hopping 90-180/min, travelling a little slower than on the spot
            # one lane each: forwards, backwards, sideways, zig-zag; 7-8 m at ~0.7 m a hop; walk back
            SetPlan(sets=4, reps=10, rest_s=30.0),
            "Two-foot hops along a 7-8 m lane: forwards, backwards, sideways, zig-zag; every landing is a rep.",
        ),
    )
}
"""Every drill coaches name for runners' plyometrics, by ``--drill`` name, in the order they are usually listed."""
