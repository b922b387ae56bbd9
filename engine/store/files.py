"""Opening the files a user names (corpora, checkpoints, settings): regular files only, bounded.

One mechanism for every read: open without blocking (a FIFO would otherwise wait forever for a
writer), check with `fstat` on the open descriptor that it is a regular file (so `/dev/zero`, a
FIFO or a symlink to either is refused before a byte is read), refuse files over a size limit,
and turn every OSError into one line that names the file. Callers wrap the line in their own
error class (`CorpusError`, `CheckpointError`, ...).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class FileRefused(Exception):
    """A file that cannot or must not be read; `str()` is one line naming the file."""


def describe_os_error(path: str | os.PathLike[str], exc: OSError, doing: str = "cannot read"
                      ) -> str:
    """One line for an OSError about `path`: the ladder every reader and writer shares."""
    if doing == "cannot read":
        if isinstance(exc, FileNotFoundError):
            return f"{path}: no such file"
        if isinstance(exc, PermissionError):
            return f"{path}: permission denied"
        if isinstance(exc, IsADirectoryError):
            return f"{path}: is a directory"
    return f"{path}: {doing} ({exc.strerror or exc})"


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> BinaryIO:
    """Open `path` for reading in binary, refusing anything but a regular file of at most
    `max_bytes`. The caller closes the returned file. Raises FileRefused."""
    if not os.fspath(path):
        raise FileRefused(f"an empty path is not a {what}")
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise FileRefused(describe_os_error(p, exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"{p}: is {kind_of(st.st_mode)}, not a {what}")
        if st.st_size > max_bytes:
            raise FileRefused(f"{p}: {st.st_size:,} bytes is over the limit of "
                              f"{max_bytes:,} for a {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # regular files never block; undo O_NONBLOCK anyway
        return os.fdopen(fd, "rb")
    except FileRefused:
        os.close(fd)
        raise
    except OSError as exc:
        os.close(fd)
        raise FileRefused(describe_os_error(p, exc)) from None


def read_regular(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> bytes:
    """The whole content of a regular file of at most `max_bytes` (see `open_regular`)."""
    with open_regular(path, max_bytes, what) as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise FileRefused(describe_os_error(path, exc)) from None
    if len(data) > max_bytes:  # it grew after the size check
        raise FileRefused(f"{path}: over the limit of {max_bytes:,} bytes for a {what}")
    return data
