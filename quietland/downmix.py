"""Several channels to one, with each channel's polarity matched to the first's.

Many laptops' internal microphones deliver two channels of which one is the
other inverted (a digital microphone pair read as a difference, or one channel
wired the other way round: "one of the more common problems on laptop machines",
alsa-devel, 2012-02-28, "[RFC PATCH] Inverted internal mic"). Their mean is
close to nothing: the thud of a landing, which both channels carry alike,
cancels. So the mixdown first looks at the stream's opening ``decide_s`` of
sound: a channel whose correlation with the first channel below about 500 Hz
is below ``-flip_below`` is inverted before the mean. In that band the room's
rumble and a landing's thud reach every capsule alike, while each capsule's own
noise, white, has little of its power (a quiet room's first half second may be
mostly that noise over the whole band). For any other input the result is the
channels' plain mean, and a mono stream is passed on as it is.

The decision waits for that much sound (the zeros before it are passed on at
once), so the mixdown hands out those samples when it has them all, together,
and :meth:`Downmix.flush` hands out what is held when a stream ends sooner. It
depends on the samples only, not on how the stream was cut into blocks.

Pure numpy.
"""
from __future__ import annotations

import numpy as np

DECIDE_S = 0.5
"""Sound the polarity is judged on, s: enough room noise and sound to correlate, early enough to be the warm-up."""
LOW_HZ = 500.0
"""The channels are correlated below about this, Hz (as means over 1 ms)."""
FLIP_BELOW = 0.5
"""A channel is inverted when its correlation with the first is below minus this (the two channels' mean
would then be at least 4.8 dB quieter than their difference, for channels of equal level)."""


class Downmix:
    """Float32 blocks of shape ``(n,)`` or ``(n, channels)`` in, mono float32 blocks out (see the module docstring).

    The output has as many samples as the input over the whole stream; a single call may return fewer (while
    deciding) or more (when the decision is made). Call :meth:`flush` at the end of the stream.
    """

    def __init__(self, sample_rate: int, decide_s: float = DECIDE_S, flip_below: float = FLIP_BELOW) -> None:
        self.sample_rate = int(sample_rate)
        self.decide_n = max(1, int(round(decide_s * sample_rate)))
        self.flip_below = float(flip_below)
        self.signs: np.ndarray | None = None
        """Each channel's sign once decided (None before, and for mono blocks, which pass through)."""
        self._held: list[np.ndarray] = []  # blocks of sound waiting for the decision
        self._held_n = 0

    @property
    def inverted(self) -> list[int]:
        """The channels (numbered from 0) found inverted."""
        return [] if self.signs is None else [int(c) for c in np.flatnonzero(self.signs < 0)]

    @property
    def warning(self) -> str | None:
        """A sentence for the user when a channel was found inverted, else None."""
        if not self.inverted:
            return None
        names = " and ".join(str(c + 1) for c in self.inverted)
        plural = "s" if len(self.inverted) > 1 else ""
        return (
            f"Channel{plural} {names} of {self.signs.size} carr{'y' if plural else 'ies'} channel 1 inverted (a fault of some "
            f"laptop microphones and cables); quietland turned {'them' if plural else 'it'} back before mixing the channels to mono."
        )

    def __call__(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1:
            return block
        if block.shape[1] == 1:
            return np.ascontiguousarray(block[:, 0])
        if self.signs is not None:
            return self._mix(block)
        lead = np.zeros(0, dtype=np.float32)
        if not self._held:
            # zeros before the first sound are the same in any polarity: pass them on
            sound = np.flatnonzero(np.any(block != 0.0, axis=1))
            if sound.size == 0:
                return np.zeros(block.shape[0], dtype=np.float32)
            lead = np.zeros(int(sound[0]), dtype=np.float32)
            block = block[sound[0] :]
        take = min(block.shape[0], self.decide_n - self._held_n)
        self._held.append(block[:take].copy())
        self._held_n += take
        if self._held_n < self.decide_n:
            return lead
        return np.concatenate([lead, self._decide(), self._mix(block[take:])])

    def flush(self) -> np.ndarray:
        """The held samples, mixed with the polarity their sound shows (the stream ended before ``decide_s``)."""
        if self.signs is not None or not self._held:
            return np.zeros(0, dtype=np.float32)
        return self._decide()

    def _decide(self) -> np.ndarray:
        # compared below LOW_HZ: means over 1 / (2 * LOW_HZ) s, one channel at a time (no copy of the whole)
        m = max(1, int(self.sample_rate / (2.0 * LOW_HZ)))
        if self._held_n < 8 * m:  # too short a stream for the means: the samples themselves
            m = 1
        n = self._held_n // m * m

        def low(c: int) -> np.ndarray:
            x = np.concatenate([b[:, c] for b in self._held])[:n].reshape(-1, m).mean(axis=1, dtype=np.float64)
            return x - x.mean()

        first = low(0)
        p0 = float(first @ first)
        signs = np.ones(self._held[0].shape[1], dtype=np.float32)
        for c in range(1, signs.size):
            other = low(c)
            pc = float(other @ other)
            if p0 > 0 and pc > 0 and float(other @ first) / np.sqrt(p0 * pc) < -self.flip_below:
                signs[c] = -1.0
        self.signs = signs
        out = np.concatenate([self._mix(b) for b in self._held])
        self._held, self._held_n = [], 0
        return out

    def _mix(self, block: np.ndarray) -> np.ndarray:
        assert self.signs is not None
        if block.shape[1] != self.signs.size:
            raise ValueError(f"a block of {block.shape[1]} channels in a stream of {self.signs.size}")
        if np.all(self.signs > 0):
            return _channel_mean(block)
        return _channel_mean(block * self.signs)


def _channel_mean(block: np.ndarray) -> np.ndarray:
    """``block.mean(axis=1, dtype=np.float32)`` of a float32 ``(n, channels)`` block, bit for bit, a column at a time.

    numpy's mean over a row of a few channels costs several times the arithmetic. Under 8 channels its sum is
    the channels added in order to 0.0 (so that -0.0 sums to 0.0), then divided by their count (an integer
    scalar: in float64, rounded to float32), as here; from 8 on it sums in pairs, and numpy's own mean is used."""
    channels = block.shape[1]
    if channels >= 8:
        return block.mean(axis=1, dtype=np.float32)
    total = np.zeros(block.shape[0], dtype=np.float32)
    for c in range(channels):
        total += block[:, c]
    return np.true_divide(total, np.intp(channels), out=total, casting="unsafe")
