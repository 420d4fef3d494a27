"""A detector event built by hand, for the tests that feed the rep logic, the scores or the screen directly."""
from __future__ import annotations

import dataclasses

from quietland.events import OnsetEvent


def zeroed_event(**figures: float | int | None) -> OnsetEvent:
    """An :class:`OnsetEvent` whose figures are all zero but those given (``sample`` and ``sample_rate`` at
    least); ``thud_db`` is None unless given: the onset strength found it, not the thud band."""
    values = {f.name: 0 if f.type in (int, "int") else 0.0 for f in dataclasses.fields(OnsetEvent) if f.name != "thud_db"}
    return OnsetEvent(**{**values, **figures})
