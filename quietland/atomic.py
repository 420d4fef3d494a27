"""Files written whole or not at all.

Why it exists: a profile, a results JSON and a history export must never be
left half-written by a crash, a full disk or a kill: a reader sees the old
file or the new one. :func:`write_atomically` writes a temporary file beside
the target, fsyncs it and renames it over the target (``os.replace`` is atomic
on POSIX and Windows). Standard library only.
"""
from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[str]], None], *, newline: str | None = None) -> Path:
    """Write the text ``write(file)`` produces to ``path`` whole or not at all; returns the path.

    The folder must exist. A symbolic link is followed: the file it points to is replaced, not the link. An
    existing file keeps its permissions (a new one gets the umask's); anything but a regular file there (a
    device such as ``/dev/null``, a pipe) raises ``OSError`` untouched, since replacing it would destroy it. On
    any error the temporary file is removed, the old ``path`` (if any) is left as it was, and the error is
    raised again.
    """
    path = Path(os.path.realpath(path))
    try:
        old_mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        old_mode = None
    if old_mode is not None and stat.S_ISDIR(old_mode):
        raise OSError("it is a folder, so it is not replaced")
    if old_mode is not None and not stat.S_ISREG(old_mode):
        raise OSError("not a regular file (a device or a pipe), so it is not replaced")
    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        if old_mode is not None:
            os.chmod(tmp, stat.S_IMODE(old_mode))
        else:  # (mkstemp makes it 0600; a new file gets what open() would give it)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
