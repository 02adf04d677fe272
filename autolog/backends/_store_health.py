"""What went wrong with the local store, and where it can go instead.

A failed write is either about one record (a value SQLite cannot bind, an artifact path that
cannot be a file): that record is set aside and every other one written. Or it is about the
store itself (a file that is not a database, a directory that cannot be written, a full disk,
another process holding the lock): then nothing of the write is lost, it is retried, and the
store may be moved aside (corrupt) or to a per-user temporary directory (unwritable).
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import stat
import tempfile
import time
from pathlib import Path

# SQLite's primary result codes (extended codes carry them in the low byte).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 8, 11, 26
_CORRUPT_MESSAGES = ("file is not a database", "database disk image is malformed")
#: OS errors that say the disk or the directory cannot take a file, not that a name is bad.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EIO, errno.ENOMEM, errno.EFBIG})


class StoreError(Exception):
    """The store could not be written at all (the records are fine); ``cause`` says why."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.cause = cause


def is_store_level(error: BaseException) -> bool:
    """Whether a failure inside a write is the store's rather than one record's."""
    if isinstance(error, StoreError):
        return True
    if type(error) in (sqlite3.DatabaseError, sqlite3.OperationalError, sqlite3.InternalError,
                       sqlite3.NotSupportedError):
        return True
    if isinstance(error, sqlite3.ProgrammingError) and "closed" in str(error):
        return True
    if isinstance(error, OSError):
        return error.errno in _DISK_ERRNOS or error.errno is None
    return isinstance(error, MemoryError)


def _code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    return None if code is None else code & 0xFF


def is_corrupt(error: BaseException) -> bool:
    """The file is not an SQLite database, or a damaged one."""
    error = getattr(error, "cause", error)
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = _code(error)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    return any(message in str(error) for message in _CORRUPT_MESSAGES)


def is_contention(error: BaseException) -> bool:
    """Another process holds the database's lock: waiting helps, moving does not."""
    error = getattr(error, "cause", error)
    code = _code(error)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "database is locked" in str(error) or "database table is locked" in str(error)


def is_read_only(error: BaseException) -> bool:
    """The database or its directory cannot be written (a read-only mount, permissions)."""
    code = _code(error)
    if code is not None:
        return code == _SQLITE_READONLY
    return "readonly database" in str(error)


def move_aside(database: Path) -> Path:
    """Rename a damaged database (and its ``-wal`` / ``-shm`` files) beside itself; never
    deletes anything. Returns the new name of the database file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = database.with_name(f"{database.name}.corrupt-{stamp}")
    suffix = 1
    while target.exists():
        suffix += 1
        target = database.with_name(f"{database.name}.corrupt-{stamp}-{suffix}")
    os.replace(database, target)
    for extra in ("-wal", "-shm"):
        companion = database.with_name(database.name + extra)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + extra))
    return target


def fallback_directory(original: Path) -> Path:
    """A per-user directory under the system's temporary directory for a store that cannot
    live in ``original``: ``<tmp>/autolog-<uid>/<name>-<hash of original>``, private to the
    user (a directory someone else made there is never used)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    base = Path(tempfile.gettempdir()) / f"autolog-{uid}"
    private_directory(base, owned=True)
    digest = hashlib.sha1(str(original).encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return base / f"{original.name or 'store'}-{digest}"


def private_directory(path: Path, *, owned: bool = False) -> None:
    """``mkdir -p`` whose new directories are 0700 (the umask is process-wide: not touched).

    ``owned``: an existing ``path`` must be a directory of this user that only it can use
    (for directories in shared places such as /tmp)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
    if owned:
        info = os.lstat(path)
        uid = os.getuid() if hasattr(os, "getuid") else info.st_uid
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
            raise PermissionError(errno.EACCES, "not a private directory of this user", str(path))


def private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 if it does not exist (SQLite gives its -wal and -shm
    files the database file's permissions)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)
