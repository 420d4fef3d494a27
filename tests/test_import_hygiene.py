"""The core imports no sound-file, audio-device, UI or heavy DSP library.

Each check runs in a fresh interpreter, because this test process has long
since imported soundfile (the other tests use it to write test audio).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import quietland

PACKAGE_ROOT = str(Path(quietland.__file__).resolve().parent.parent)
HEAVY = ("soundfile", "sounddevice", "textual", "scipy", "librosa")


def heavy_modules_after(statement: str) -> list[str]:
    """Run ``statement`` in a fresh interpreter; return which of HEAVY it left in sys.modules."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "statement",
    [
        "import quietland",
        "import quietland.detector, quietland.reps, quietland.pipeline, quietland.events, quietland.synth",
        "import quietland.ropebeat, quietland.machinebeat",
        # scoring and calibration math are core too
        "import quietland.calibration, quietland.scoring, quietland.doublecontact, quietland.calibrate",
        # the command line and the report load soundfile only when a file is opened
        "import quietland.cli, quietland.report, quietland.calibrate_cli, quietland.history_cli",
    ],
)
def test_imports_stay_light(statement):
    assert heavy_modules_after(statement) == []


def test_the_check_can_fail():
    assert heavy_modules_after("import quietland.audiofile") == ["soundfile"]
