"""Replace a file's content atomically, keeping its metadata.

:func:`stage` writes the new content to a temporary file beside the original (same
directory, so the final rename cannot cross file systems), gives it the original's owner,
permission bits (never setuid/setgid/sticky: a process killed before the rename must not
leave a hidden privileged copy), extended attributes and access/modification times, and
syncs it: its data goes to the disk on another thread while it is checked (reading a big
file back is CPU work, the disk's write is not), its metadata after. :func:`commit`
renames it over the original (keeping the original as ``FILE.orig`` when asked, as a
hard link to the untouched old inode), then sets the special bits on the file in its
place, and syncs the directory. Until the rename the
original is untouched; a failure while staging removes the temporary file, and the temps
a killed run left behind are removed by the next one (:func:`clean_stale`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator

from autopatchelf.errors import PatchError

#: Suffix of the temporary files (``.NAME.XXXXXXXX.autopatchelf``).
TEMP_SUFFIX = ".autopatchelf"
BACKUP_SUFFIX = ".orig"
_SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX


def stage(
    path: str,
    data: bytes,
    original: os.stat_result,
    check: Callable[[str], None] | None = None,
) -> str:
    """Write ``data`` to a new temporary file beside ``path`` with ``original``'s metadata;
    return its path. ``check(temp)`` runs once the data is written (before the times are
    set, so reading the file back does not change its access time); it raises to reject it.
    """
    return stage_with(path, lambda fd: _write_data(fd, data), original, check)


def stage_with(
    path: str,
    write: Callable[[int], None],
    original: os.stat_result,
    check: Callable[[str], None] | None = None,
) -> str:
    """:func:`stage`, the content written by ``write(fd)`` into the new empty file."""
    directory, name = os.path.split(path)
    clean_stale(path)
    try:
        fd, temp = tempfile.mkstemp(
            prefix=f".{name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=directory
        )
    except OSError as exc:
        raise PatchError(f"{path}: cannot create a file beside it ({exc.strerror})") from None
    try:
        try:
            write(fd)
            with _data_synced(fd):
                if check is not None:
                    check(temp)
                _copy_metadata(fd, path, original)
            os.fsync(fd)  # the metadata (the data is on the disk already)
        finally:
            os.close(fd)
    except BaseException as exc:
        discard(temp)
        if isinstance(exc, OSError):
            raise PatchError(f"{path}: cannot write the patched file ({exc})") from None
        raise
    return temp


@contextlib.contextmanager
def _data_synced(fd: int) -> Iterator[None]:
    """Write ``fd``'s data to the disk (``fdatasync``) on another thread while the body
    runs; raise its error, if it failed, once the body is done."""
    import threading

    failed: list[OSError] = []

    def sync() -> None:
        try:
            os.fdatasync(fd)
        except OSError as exc:
            failed.append(exc)

    thread = threading.Thread(target=sync, name="autopatchelf-datasync", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed:
        raise failed[0]


def _write_data(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_at(fd: int, data: bytes, offset: int) -> None:
    """Write all of ``data`` at ``offset`` of ``fd``."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def copy_file(source: int, fd: int, size: int) -> None:
    """Copy the first ``size`` bytes of ``source`` to the start of ``fd`` (both file
    descriptors) inside the kernel where it can (no user-space copy, a reflink on file
    systems that have them), else through a small buffer."""
    done = 0
    try:
        while done < size:
            copied = os.copy_file_range(source, fd, size - done, done, done)
            if copied == 0:
                break
            done += copied
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    while done < size:
        chunk = os.pread(source, min(1 << 20, size - done), done)
        if not chunk:
            raise OSError(errno.EIO, "the file shrank while it was copied")
        write_at(fd, chunk, done)
        done += len(chunk)


def _copy_metadata(fd: int, path: str, original: os.stat_result) -> None:
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (original.st_uid, original.st_gid):
        try:
            os.fchown(fd, original.st_uid, original.st_gid)
        except PermissionError:
            raise PatchError(
                f"{path}: cannot keep its owner {original.st_uid}:{original.st_gid}",
                hint="patch it as its owner or as root",
            ) from None
    _copy_xattrs(fd, path)
    # Never a setuid/setgid copy under a hidden name: those bits come with the rename.
    os.fchmod(fd, stat.S_IMODE(original.st_mode) & ~_SPECIAL_BITS)
    os.utime(fd, ns=(original.st_atime_ns, original.st_mtime_ns))


def _copy_xattrs(fd: int, path: str) -> None:
    try:
        names = os.listxattr(path)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return
        raise
    for name in names:
        try:
            os.setxattr(fd, name, os.getxattr(path, name))
        except OSError as exc:
            raise PatchError(
                f"{path}: cannot keep its extended attribute {name} ({exc.strerror})",
                hint="patch it as root",
            ) from None


def commit(temp: str, path: str, *, backup: bool = False) -> str | None:
    """Rename ``temp`` over ``path``; return the backup's path if one was made now. The
    original's setuid/setgid/sticky bits are set only now, on the file in its place (a
    kill before leaves no special copy behind)."""
    made = None
    if backup:
        made = _backup(path)
    try:
        mode = os.stat(path).st_mode
        os.replace(temp, path)
    except OSError as exc:
        if made is not None:
            with contextlib.suppress(OSError):
                os.unlink(made)
        raise PatchError(f"{path}: cannot replace it ({exc.strerror})") from None
    if mode & _SPECIAL_BITS:
        os.chmod(path, stat.S_IMODE(mode))
    _sync_directory(os.path.dirname(path))
    return made


def is_temp(name: str) -> bool:
    """Whether a file name is one of our temporary files (``.NAME.PID.XXXX.autopatchelf``)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def clean_stale(path: str) -> list[str]:
    """Remove the temporary files an interrupted patch of ``path`` left (their process is
    gone); return what was removed."""
    directory, name = os.path.split(path)
    prefix = f".{name}."
    removed: list[str] = []
    try:
        entries = os.listdir(directory or ".")
    except OSError:
        return removed
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(TEMP_SUFFIX)):
            continue
        pid = entry[len(prefix) :].partition(".")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, entry))
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _backup(path: str) -> str | None:
    """Keep the original as ``path.orig`` (an existing backup is the older original: it is
    kept as it is)."""
    target = path + BACKUP_SUFFIX
    if os.path.lexists(target):
        return None
    try:
        os.link(path, target)
    except OSError:
        try:
            shutil.copy2(path, target)
        except OSError as exc:
            raise PatchError(f"{path}: cannot make the backup {target} ({exc})") from None
    return target


def discard(temp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)


def _sync_directory(directory: str) -> None:
    try:
        fd = os.open(directory or ".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
