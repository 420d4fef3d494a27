"""Files written whole or not at all.

Why it exists: a profile, a results JSON and a history export must never be
left half-written by a crash, a full disk or a kill: a reader sees the old
file or the new one. :func:`write_atomically` writes a temporary file beside
the target, fsyncs it and renames it over the target (``os.replace`` is atomic
on POSIX and Windows). Standard library only.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[str]], None], *, newline: str | None = None) -> Path:
    """Write the text ``write(file)`` produces to ``path`` whole or not at all; returns the path.

    The folder must exist. On any error the temporary file is removed, the
    old ``path`` (if any) is left as it was, and the error is raised again.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
