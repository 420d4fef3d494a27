"""The detector in a second process, for ``analyze`` on a machine of two cores or more.

Why it exists: analysing a recording is two jobs of about the same size. The
detector (frames, spectra, onset strength, peaks: numpy) and the rest of the
pipeline (rep logic, beat trackers, scoring: mostly Python) each take about
half of the time, one after the other, on one core. A thread cannot share them
out (Python runs one thread at a time), a second process can.

:class:`DetectorProcess` stands in for the pipeline's
:class:`~quietland.detector.LandingDetector`: the same detector runs in a child
process and gets the same pieces of audio, in the same order
(:meth:`quietland.pipeline.SessionPipeline.cut` tells them in advance), so what
it makes of each piece is the same, bit for bit. The caller sends a block's
pieces (:meth:`DetectorProcess.send`, one message) as soon as the block is read;
the child analyses them (:meth:`~quietland.detector.LandingDetector.process_pieces`) while the parent
is still counting the blocks before (:data:`BLOCKS_AHEAD`), and answers for all of them in one message,
which :meth:`DetectorProcess.process_pieces` hands back when the pipeline gets
there. Pieces not sent ahead are sent then, and waited for.

How the messages travel matters as much as the work they share. The pieces go
down a pipe written by the parent's own thread, widened to hold a whole block
(:func:`_widen`): a :class:`multiprocessing.Queue` writes from a thread of its
own, which waits for its turn at the interpreter while the parent counts, and
the child sat idle for that long at every block (1.9 s of 7.6 s for 10 minutes
of line hops). The answers come back on a queue, so that the child never waits
for the parent to read them before going on. (A message for each piece, some
2800 each way for 10 minutes of audio, cost more still.)

A change of threshold (a drill changed mid-stream) cannot be sent ahead of the
pieces it follows: a recording whose script changes the drill is analysed in
one process (:func:`usable`).
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import sys
from collections import deque
from typing import Any

import numpy as np

from .detector import LandingDetector, PieceResult
from .events import OnsetEvent

MIN_DURATION_S = 20.0
"""Recordings shorter than this are analysed in one process: starting the second costs more than it saves."""
MIN_BLOCK = 32768
"""Nor when read in blocks smaller than this: each block is a message each way, and smaller blocks cost more in
messages than the second process saves (10 minutes of line hops on the project's machine, in turn: blocks of
4096 samples 13.7 and 15.3 s in two processes against 11.7 and 12.4 s in one; 8192, 9.0 and 14.1 s against 8.3
and 9.5 s)."""
BLOCKS_AHEAD = 3
"""How many blocks the detector may be sent before the parent counts the first of them. The rep logic's share of
a block varies (a rope set's start searches for its rhythm), and a child one block ahead waited on the slow ones:
10 minutes of looped rope (jumprope-alternate-03, in turn, four runs each) took 5.58-6.00 s one block ahead,
4.58-5.27 s three blocks ahead; the wall time less the busier process's CPU time went from 1.04-1.22 s to
0.44-0.76 s. Line hops, whose child is the busier, are the same (3.36-3.96 s and 3.06-3.92 s). Three blocks of
the default size stay within :data:`PIPE_BYTES` while the child works on a fourth."""
PIPE_BYTES = 1 << 20
"""The pipe that takes pieces to the child is asked to hold this much (Linux's default is 64 KiB; a block of
the default 65536 samples is 256 KiB as float32)."""
POLL_S = 0.5
"""How often a wait for the child checks that it is still running, s."""


def usable(duration_s: float, block_size: int, drill_changes: bool) -> bool:
    """Whether analysing a recording of ``duration_s`` read in blocks of ``block_size`` gains from a second
    process: it is long enough, the blocks are big enough, no scripted drill change resets the detector's
    threshold mid-stream, this is Linux (where a process can be forked, with the detector already made) and
    there is a second core to run it on."""
    if duration_s < MIN_DURATION_S or block_size < MIN_BLOCK or drill_changes:
        return False
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return False
    return len(os.sched_getaffinity(0)) >= 2


class DetectorProcess:
    """A :class:`~quietland.detector.LandingDetector` run in a child process (see the module docstring).

    Use as a context manager, or call :meth:`close`: the child is stopped however the analysis ends.
    """

    def __init__(self, detector: LandingDetector) -> None:
        context = multiprocessing.get_context("fork")
        # pieces go down a pipe, written by the caller's own thread; answers come back on a queue, whose thread in
        # the child writes them while the child goes on to the next message (see the module docstring)
        inbox, self._inbox = context.Pipe(duplex=False)
        self._outbox: Any = context.Queue()
        self._child = context.Process(target=_serve, args=(detector, inbox, self._inbox, self._outbox), daemon=True)
        self._child.start()
        inbox.close()  # (the child's end: with the child gone, a send fails instead of filling the pipe and waiting)
        _widen(self._inbox.fileno())
        self._sent: deque[int] = deque()  # the length of each piece sent and not yet taken, oldest first
        self._answers: deque[PieceResult] = deque()  # answers come, not yet taken

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._child.pid

    def send(self, pieces: list[np.ndarray]) -> None:
        """Give the child the next pieces of the stream (a block's), in one message, to analyse now;
        :meth:`process_pieces` takes what it made of them later."""
        if pieces:
            self._put(pieces)
            self._sent.extend(piece.shape[0] for piece in pieces)

    def process_pieces(self, pieces: list[np.ndarray]) -> list[PieceResult]:
        """As :meth:`LandingDetector.process_pieces`, for the oldest pieces sent (``pieces`` are they; sent now
        when nothing is waiting). They need not be one message's: the child's answers are taken a piece at a time."""
        if not self._sent:
            self.send(pieces)
        results: list[PieceResult] = []
        for piece in pieces:
            n = self._sent.popleft()
            if n != piece.shape[0]:
                raise RuntimeError(
                    f"the detector's process was sent a piece of {n} samples, then asked for one of {piece.shape[0]}"
                )
            if not self._answers:
                self._answers.extend(self._answer())
            results.append(self._answers.popleft())
        return results

    def flush(self) -> list[OnsetEvent]:
        """End of stream (as :meth:`LandingDetector.flush`); the child then stops."""
        if self._sent:
            raise RuntimeError("the detector's process was flushed with pieces still unanswered")
        self._put(None)
        ((events, _, _),) = self._answer()
        self.close()
        return events

    def set_threshold(self, k_mad: float, candidate_k_mad: float | None = None, thud_k_mad: float | None = None) -> None:
        raise RuntimeError("a drill change mid-stream is analysed in one process (quietland.ahead.usable)")

    def close(self) -> None:
        """Stop the child (at once, if it is still working) and free the queues."""
        if self._child.is_alive():
            self._child.kill()
        self._child.join()
        self._inbox.close()
        self._outbox.close()
        self._outbox.cancel_join_thread()  # (answers never read are dropped, not waited on)

    def __enter__(self) -> DetectorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _put(self, message: list[np.ndarray] | None) -> None:
        """Send the child a message: at once while the pipe has room for it, else once the child has read enough."""
        try:
            self._inbox.send(message)
        except (BrokenPipeError, ConnectionResetError):
            self._child.join()
            raise RuntimeError(f"the detector's process stopped (exit code {self._child.exitcode})") from None

    def _answer(self) -> list[PieceResult]:
        """The child's next message: the answers to the oldest message sent and not yet answered."""
        while True:
            try:
                answer = self._outbox.get(timeout=POLL_S)
            except queue.Empty:
                if not self._child.is_alive():
                    raise RuntimeError(f"the detector's process stopped (exit code {self._child.exitcode})") from None
                continue
            if isinstance(answer, BaseException):
                raise answer
            return answer


def _widen(fd: int) -> None:
    """Let the pipe ``fd`` writes to hold a whole block's message (:data:`PIPE_BYTES`), so that a send returns
    at once while the child is busy, rather than a 64 KiB piece at a time as the child reads. Where the system
    refuses, the pipe stays as it is: sends wait longer, the analysis is the same."""
    try:
        import fcntl  # (here, not at the top: Windows has none, and analyze runs in one process there)

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _serve(detector: LandingDetector, inbox: Any, parents_end: Any, outbox: Any) -> None:
    """The child: analyse each message's pieces as they come; answer with one message, for each piece its events
    and the detector's clock and floor after it. ``None`` ends the stream (answered as one piece). An error is sent
    back, to be raised in the parent. A parent that is gone (killed: it never said the stream ended) ends the child
    too: its end of the pipe is closed."""
    parents_end.close()  # (the parent's end, inherited: kept open here, the pipe would never tell that the parent is gone)
    try:
        while True:
            try:
                pieces = inbox.recv()
            except EOFError:
                return
            if pieces is None:
                answers = [PieceResult(detector.flush(), detector.complete_through, detector.noise_floor_dbfs)]
            else:
                answers = detector.process_pieces(pieces)
            outbox.put(answers)
            if pieces is None:
                break
    except BaseException as exc:  # (the parent raises it; KeyboardInterrupt too: the parent has one of its own)
        outbox.put(exc)
    finally:
        outbox.close()
        outbox.join_thread()  # (the last answer is written before the child exits)
