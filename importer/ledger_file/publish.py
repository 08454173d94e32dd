"""Files written whole: a complete file under a temporary name (``<final>.new-<pid>``), fsynced,
then given its name by a hard link, which never replaces a file (``_publish``); the temporary
files of a killed process are tidied away (``_remove_stale``). Used for a new ledger, a recovered
copy and a backup before a migration."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path


def _temp_name(final: Path) -> Path:
    return final.with_name(f"{final.name}.new-{os.getpid()}")


def _write_new(tmp: Path, data: bytes) -> None:
    tmp.unlink(missing_ok=True)  # a dead process's, that had our pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path) -> bool:
    """Give the complete file ``tmp`` the name ``final`` unless that name is taken; fsync the
    folder. ``False`` if it was taken (the file there is left as it is)."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        return False
    except OSError as exc:  # a file system without hard links: copy into a new file instead (a kill
        # mid-copy leaves a short file there, which the next run refuses as empty or damaged)
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        try:
            fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            return False
        try:
            with tmp.open("rb") as src, os.fdopen(os.dup(fd), "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            os.close(fd)
            final.unlink(missing_ok=True)
            raise
        os.close(fd)
    _fsync_folder(final.parent)
    return True


def _fsync_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return
    _fsync_path(folder)


def _fsync_path(path: Path) -> None:
    """Flush a file (or folder) written by someone else -- SQLite's copy -- to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale(final: Path) -> None:
    """Delete ``<final>.new-<pid>`` files whose process is gone (killed while making ``final``)."""
    if sys.platform == "win32":
        return
    prefix = f"{final.name}.new-"
    with contextlib.suppress(OSError), os.scandir(final.parent) as entries:
        for entry in entries:
            pid = entry.name[len(prefix) :]
            if entry.name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
