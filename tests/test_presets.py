"""Drill presets: one for every drill FIELD.md names, each counted right over its default structure."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from quietland.cli import build_parser, main
from quietland.pipeline import SessionPipeline
from quietland.presets import LEVELS, PRESETS, DrillPreset, SetPlan
from quietland.reps import DRILL_RULES, DRILLS, CounterConfig, RepCounter
from quietland.synth import SessionSpec, SyntheticSession, synthesize

FIELD_DRILLS = {
    "jump rope (single bounce)": "jump-rope",
    "jump rope (alternate foot)": "jump-rope-alternate",
    "double-unders": "jump-rope-double-under",
    "line hops, forward/back": "line-hops-forward-back",
    "line hops, side to side": "line-hops-side-to-side",
    "pogo hops": "pogo",
    "bounding": "bounding",
    "squat jumps": "squat-jumps",
    "lateral skater jumps": "skater-jumps",
    "broad jumps": "broad-jumps",
    "box jumps": "box-jumps",
    "depth jumps": "depth-jumps",
    "single-leg hops": "single-leg-hops",
    "alternating lunge jumps": "lunge-jumps",
    "quick-feet bursts": "quick-feet",
    "jump-school lanes": "jump-school",
}
"""The drills coaches name in FIELD.md, and the preset of each."""
RULES = ("generic", "single", "line-hops", "pogo", "jump-rope", "jump-rope-alternate", "jump-rope-double-under")
"""The counting rules in reps.py a preset may name."""
ROPE_KIND = {"jump-rope": "rope", "jump-rope-alternate": "rope-alternate", "jump-rope-double-under": "double-under"}
"""Synthetic session kind of each rope rule."""


def test_every_field_drill_has_a_preset():
    assert list(PRESETS) == list(FIELD_DRILLS.values())
    assert all(name == preset.name for name, preset in PRESETS.items())


def test_levels_all_used():
    assert {p.level for p in PRESETS.values()} == set(LEVELS)


@pytest.mark.parametrize("name", PRESETS)
def test_rule_exists_and_accepts_the_preset_rate(name):
    preset = PRESETS[name]
    assert DRILLS[: len(RULES)] == RULES
    assert preset.rule in RULES
    base, rule = DRILL_RULES[preset.rule], DRILL_RULES[name]
    assert rule.name == name
    assert rule.kind == base.kind
    assert rule.max_interval_s == base.max_interval_s
    if name in RULES:
        assert preset.rule == name and rule is base  # a preset named like a rule is counted by that rule unchanged
        assert not preset.one_foot and preset.min_interval_s is None
    else:
        assert rule.summary == preset.note
        assert rule.two_foot == (base.two_foot and not preset.one_foot)
    if rule.kind == "rope":
        # The rope tracker follows a period kept in [min, max]; each beat may be beat_tolerance off it.
        assert rule.min_interval_s <= preset.fastest_interval_s
        assert preset.slowest_interval_s * (1 + CounterConfig().beat_tolerance) <= rule.max_interval_s
    else:
        # Every interval is judged alone: a quick one (0.8 x the fastest mean) is still a contact.
        assert rule.min_interval_s <= 0.8 * preset.fastest_interval_s
        assert 1.25 * preset.slowest_interval_s <= rule.max_interval_s
    # The rest between sets is long enough to end a set.
    gap = RepCounter(name, 16000).max_gap_in_set_s
    assert preset.structure.sets == 1 or preset.structure.rest_s > gap


def test_bad_presets_and_plans_are_refused():
    with pytest.raises(ValueError):
        DrillPreset("x", "X", "expert", "pogo", (90, 180), SetPlan(3, reps=10), "x")
    with pytest.raises(ValueError):
        SetPlan(3, reps=10, round_s=30.0)
    with pytest.raises(ValueError):
        SetPlan(3)


@pytest.mark.parametrize(
    "plan, text",
    [
        (SetPlan(3, reps=10, rest_s=60.0), "3 x 10, rest 60 s"),
        (SetPlan(3, round_s=30.0, rest_s=60.0), "3 x 30 s, rest 60 s"),
        (SetPlan(6, round_s=7.5, rest_s=45.0), "6 x 7.5 s, rest 45 s"),
        (SetPlan(1, reps=50), "1 x 50"),
    ],
)
def test_structure_is_written_as_coaches_write_it(plan, text):
    assert plan.describe() == text


@pytest.mark.parametrize("name", PRESETS)
def test_drill_option_takes_every_preset(name):
    parser = build_parser()
    for argv in (["analyze", "x.wav"], ["replay", "x.wav"], ["live"], ["calibrate"]):
        assert parser.parse_args([*argv, "--drill", name]).drill == name
    assert RepCounter(name, 44100).rule.name == name


# ------------------------------------------------------------- synthetic sessions

def session_kind(preset: DrillPreset) -> str:
    """The synthetic session kind that sounds like the preset's drill."""
    if preset.rule in ROPE_KIND:
        return ROPE_KIND[preset.rule]
    return "single" if DRILL_RULES[preset.rule].kind == "discrete" else "landings"


def structure_spec(preset: DrillPreset, cadence: float, seed: int = 5) -> SessionSpec:
    """A session of the preset's default structure at ``cadence`` reps/min.

    Rests are cut to 20 s (the silence adds nothing) unless the rule needs longer to end a set.
    """
    plan = preset.structure
    gap = RepCounter(preset.name, 16000).max_gap_in_set_s
    return SessionSpec(
        sample_rate=16000 if plan.round_s is not None else 44100,  # timed rounds are long
        kind=session_kind(preset),
        sets=(plan.reps_per_set(cadence),) * plan.sets,
        cadence_per_min=cadence,
        rest_s=min(plan.rest_s, max(20.0, gap + 5.0)),
        snr_db=35.0,
        seed=seed,
    )


def analyse(audio: np.ndarray, sample_rate: int, drill: str, block: int = 4096):
    pipe = SessionPipeline(sample_rate, drill)
    for i in range(0, audio.size, block):
        pipe.process(audio[i : i + block])
    return pipe.finish()[1]


def hits_within(landings: np.ndarray, analysis, window_s: float) -> int:
    """Reps matched one-to-one to true landings (samples) within ``window_s``."""
    truth = list(landings)
    hits = 0
    for rep in analysis.reps:
        d = np.abs(np.asarray(truth) - rep.sample) if truth else np.array([np.inf])
        j = int(np.argmin(d))
        if d[j] <= window_s * analysis.sample_rate:
            truth.pop(j)
            hits += 1
    return hits


ROPE_EXTRA_PER_SET = 1 + CounterConfig().beat_max_missing
"""Rope rules: reps a set may gain at its start. A stray sound up to ``beat_max_missing`` beats before
the first contact can start the beat, and the beats between are inferred; for double-unders the first
jump's mid-air click can be the first beat (see the strict xfail in test_reps_synthetic.py)."""


def check_structure(preset: DrillPreset, spec: SessionSpec, session: SyntheticSession, analysis,
                    check_timing: bool = True) -> None:
    """Sets as planned, reps per set as rendered, and the reps are the landings.

    Tolerances are those of test_reps_synthetic.py: impact and discrete rules exact (every rep within
    30 ms of its landing); rope rules within max(1, 2%) over the session, each set within
    :data:`ROPE_EXTRA_PER_SET` above its truth, and 95% of reps within 50 ms of a landing (double-unders:
    of a landing or a rope click; see the strict xfail in test_reps_synthetic.py).
    """
    truth = list(spec.sets)
    counted = [s.reps for s in analysis.sets]
    assert analysis.drill == preset.name
    assert len(counted) == preset.structure.sets, counted
    if DRILL_RULES[preset.name].kind == "rope":
        assert abs(analysis.summary.reps - session.count) <= max(1, round(0.02 * session.count)), (counted, truth)
        assert all(0 <= c - t <= ROPE_EXTRA_PER_SET for c, t in zip(counted, truth)), (counted, truth)
        sounds = session.landing_samples
        if preset.rule == "jump-rope-double-under":
            # Known limit: a set's beat often locks onto the mid-air rope click, half a jump before
            # the landing (one rep per jump all the same); a rep must be one of its jump's sounds.
            sounds = np.sort(np.concatenate([sounds, session.samples_of("rope")]))
        assert hits_within(sounds, analysis, 0.05) >= 0.95 * session.count
    else:
        assert counted == truth
        assert analysis.summary.reps == session.count
        if check_timing:
            assert hits_within(session.landing_samples, analysis, 0.03) == session.count


@pytest.mark.parametrize("name", PRESETS)
def test_default_structure_counted_at_middle_rate(name):
    preset = PRESETS[name]
    spec = structure_spec(preset, sum(preset.contacts_per_min) / 2)
    session = synthesize(spec)
    analysis = analyse(session.audio, session.sample_rate, name)
    check_structure(preset, spec, session, analysis)


@pytest.mark.parametrize(
    "name, end",
    [
        ("jump-rope", 0), ("jump-rope", 1), ("jump-rope-alternate", 1), ("jump-rope-double-under", 1),
        ("pogo", 1), ("quick-feet", 1), ("lunge-jumps", 1), ("box-jumps", 0), ("depth-jumps", 0), ("bounding", 0),
    ],
)
def test_default_structure_counted_at_rate_ends(name, end):
    preset = PRESETS[name]
    spec = structure_spec(preset, preset.contacts_per_min[end], seed=11)
    session = synthesize(spec)
    analysis = analyse(session.audio, session.sample_rate, name)
    check_structure(preset, spec, session, analysis)


def depth_jump_audio(rebound_s: float, rebound_db: float) -> tuple[SessionSpec, SyntheticSession, np.ndarray]:
    """Depth jumps at the preset's middle rate: each drop landing followed ``rebound_s`` later by the
    rebound's landing, ``rebound_db`` louder (a second, dry session of the same rhythm laid over it)."""
    preset = PRESETS["depth-jumps"]
    spec = replace(structure_spec(preset, sum(preset.contacts_per_min) / 2), rhythm_jitter=0.0)
    drops = synthesize(spec)
    rebounds = synthesize(replace(spec, seed=spec.seed + 1, lead_in_s=spec.lead_in_s + 2.0, snr_db=None,
                                  level_dbfs=spec.level_dbfs + rebound_db))
    # no jitter: both sessions' landings are equally spaced, so one shift lines every rebound up
    cut = int(rebounds.landing_samples[0] - drops.landing_samples[0] - round(rebound_s * spec.sample_rate))
    assert cut >= 0
    rebound_audio = rebounds.audio[cut:]
    lag = rebounds.landing_samples - cut - drops.landing_samples
    assert np.abs(lag - round(rebound_s * spec.sample_rate)).max() <= 1  # times are rounded to samples
    audio = np.zeros(max(drops.audio.size, rebound_audio.size), dtype=np.float32)
    audio[: drops.audio.size] += drops.audio
    audio[: rebound_audio.size] += rebound_audio
    return spec, drops, audio


@pytest.mark.parametrize("rebound_s, rebound_db", [(0.6, 3.0), (0.9, 0.0), (1.2, -2.0), (1.2, 3.0)])
def test_depth_jump_drop_and_rebound_are_one_rep(rebound_s, rebound_db):
    spec, drops, audio = depth_jump_audio(rebound_s, rebound_db)
    analysis = analyse(audio, spec.sample_rate, "depth-jumps")
    check_structure(PRESETS["depth-jumps"], spec, drops, analysis, check_timing=False)
    rebound_n = round(rebound_s * spec.sample_rate)
    either = np.concatenate([drops.landing_samples, drops.landing_samples + rebound_n])
    assert hits_within(either, analysis, 0.03) == drops.count  # each rep is its drop or its rebound landing


def test_single_rule_alone_would_count_a_late_rebound_twice():
    spec, drops, audio = depth_jump_audio(1.2, 0.0)
    assert analyse(audio, spec.sample_rate, "single").summary.reps > drops.count


# ------------------------------------------------------------------ quietland drills

def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["drills", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_drills_lists_every_preset_within_80_columns(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert max(len(line) for line in out.splitlines()) <= 80
    for preset in PRESETS.values():
        row = next(line for line in out.splitlines() if line.startswith(f"  {preset.name} "))
        assert row.split() == [preset.name, preset.rule, preset.rate_text, *preset.structure.describe().split()]
    for level in LEVELS:
        assert f"\n{level}:\n" in out


def test_drills_level_filter(capsys):
    code, out, _ = run(capsys, "--level", "advanced")
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("  ") and not line.startswith("  name")}
    assert listed == {p.name for p in PRESETS.values() if p.level == "advanced"}
    assert "beginner:" not in out


def test_drills_json(capsys):
    code, out, _ = run(capsys, "--json")
    assert code == 0
    doc = json.loads(out)
    assert [p["name"] for p in doc["presets"]] == list(PRESETS)
    pogo = next(p for p in doc["presets"] if p["name"] == "pogo")
    assert pogo["level"] == "beginner" and pogo["rule"] == "pogo"
    assert pogo["contacts_per_min"] == list(PRESETS["pogo"].contacts_per_min)
    assert pogo["structure"] == {"sets": 3, "reps": 10, "round_s": None, "rest_s": 60.0}
    assert pogo["structure_text"] == "3 x 10, rest 60 s"
    code, out, _ = run(capsys, "--json", "--level", "intermediate")
    assert {p["level"] for p in json.loads(out)["presets"]} == {"intermediate"}


def test_drills_name_shows_one_preset(capsys):
    code, out, _ = run(capsys, "depth-jumps")
    assert code == 0
    assert out.startswith("depth-jumps: Depth jumps (advanced)\n")
    assert "single:" in out and "3 x 5, rest 120 s" in out and "2.5 s" in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("rule", ["generic", "single", "line-hops"])
def test_drills_name_of_a_counting_rule_shows_the_rule_and_its_presets(capsys, rule):
    counted = [p.name for p in PRESETS.values() if p.rule == rule]
    code, out, err = run(capsys, rule)
    assert code == 0 and err == ""
    assert out.startswith(f"{rule}: a counting rule") and DRILL_RULES[rule].summary.split()[0] in out
    assert all(name in " ".join(out.split()) for name in counted) and f"quietland live --drill {rule}" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    code, out, _ = run(capsys, rule, "--json")
    assert code == 0 and [p["name"] for p in json.loads(out)["presets"]] == counted


@pytest.mark.parametrize("args", [["--level", "expert"], ["hopscotch"], ["pogo", "--level", "beginner"]])
def test_drills_bad_command_line(capsys, args):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("quietland: error: ") and len(err.strip().splitlines()) == 1
