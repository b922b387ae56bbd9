"""The folder of live runs' sockets: where a run listens, and which runs are live now.

Each run listens on `<user runtime dir>/charrnn-tui/<run id>.sock`. The folder is the user's
own, mode 0700 (a folder in /tmp that another user made, or one that is a symlink, is refused);
the socket is 0600. A socket that refuses connections was left behind by a run that was
killed (`kill -9`): listing the runs removes it.
"""

from __future__ import annotations

import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from ..paths import runtime_dir

SUFFIX = ".sock"
# sockaddr_un's sun_path holds 108 bytes with the terminating NUL on Linux (104 on BSDs)
MAX_PATH_BYTES = 103


class SocketDirError(Exception):
    """The socket folder cannot be used; one line for the user."""


def socket_folder(directory: Path | None = None, create: bool = True) -> Path:
    """The user's socket folder, made (0700) and checked to be theirs alone."""
    folder = directory if directory is not None else runtime_dir()
    if create:
        try:
            folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise SocketDirError(f"cannot make the socket folder {folder}: "
                                 f"{exc.strerror or exc}") from None
    try:
        st = folder.lstat()
    except FileNotFoundError:
        return folder
    except OSError as exc:
        raise SocketDirError(f"{folder}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise SocketDirError(f"{folder} is not a folder")
    if st.st_uid != os.getuid():
        raise SocketDirError(f"{folder} belongs to another user; set XDG_RUNTIME_DIR to a "
                             "folder of your own")
    if stat.S_IMODE(st.st_mode) & 0o077:
        try:
            os.chmod(folder, 0o700)
        except OSError as exc:
            raise SocketDirError(f"cannot make {folder} private: {exc.strerror}") from None
    return folder


def socket_path(run: str, directory: Path | None = None) -> Path:
    """Where run `run` listens (the folder is made private here)."""
    path = socket_folder(directory) / f"{run}{SUFFIX}"
    if len(os.fsencode(path)) > MAX_PATH_BYTES:
        raise SocketDirError(f"the socket path {path} is too long for a Unix socket; set "
                             "XDG_RUNTIME_DIR to a shorter folder")
    return path


def is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.lstat().st_mode)
    except OSError:
        return False


def remove_stale(path: Path) -> bool:
    """Remove a socket nothing listens on (a run killed with -9); True if it was removed."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(os.fspath(path))
    except ConnectionRefusedError:
        pass
    except OSError:
        return False
    else:
        return False  # something answers: not stale
    finally:
        probe.close()
    try:
        if is_socket(path) and path.lstat().st_uid == os.getuid():
            path.unlink()
            return True
    except OSError:
        pass
    return False


@dataclass(frozen=True)
class Candidate:
    """A socket in the folder, named after its run."""

    run: str
    path: Path


def candidates(directory: Path | None = None) -> list[Candidate]:
    """Every run socket in the folder, newest run first (run ids start with their time)."""
    folder = socket_folder(directory, create=False)
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    found = [Candidate(p.name[:-len(SUFFIX)], p) for p in entries
             if p.name.endswith(SUFFIX) and is_socket(p)]
    return sorted(found, key=lambda c: c.run, reverse=True)
