"""Every test runs with a data directory of its own: none reads the user's profiles or history, or writes to them."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path_factory, monkeypatch):
    """``$QUIETLAND_HOME`` set to an empty folder (a test may set another); subprocesses inherit it."""
    monkeypatch.setenv("QUIETLAND_HOME", str(tmp_path_factory.mktemp("quietland-home")))
