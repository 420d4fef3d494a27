"""Helpers shared by the tests that feed audio through the whole pipeline."""
from __future__ import annotations

import numpy as np

from quietland.pipeline import Analysis, SessionPipeline


def analyse_audio(audio: np.ndarray, sample_rate: int, drill: str, block: int = 65536) -> Analysis:
    """The pipeline's analysis of ``audio`` (shape ``(n,)`` or ``(n, channels)``) fed in ``block``-sample blocks."""
    pipe = SessionPipeline(sample_rate, drill)
    for i in range(0, len(audio), block):
        pipe.process(audio[i : i + block])
    return pipe.finish()[1]
