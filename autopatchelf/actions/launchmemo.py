"""Start a binary again exactly as the last verified ``run`` of the same command did.

``run`` with a valid lock spends nearly all its time loading the Python code that reads and
verifies the lock. Its answer changes only when one of its inputs does, so after a clean
start from a verified lock ``run`` leaves a *launch record* in the cache
(``<cache>/locks/launch/<device>-<inode>`` of the binary), and the next start of the same
command compares stamps instead of verifying again. A record holds:

* **the key:** the command's words up to the program's own arguments, the working
  directory, the cache dir, and Nix's store and state dirs;
* **stamps** (device, inode, size, mtime and ctime, or "absent") of the binary; of every
  place a lock was looked for, so that a lock appearing where there was none is a change
  too; of every store path the lock names (a store path's contents never change while its
  directory is the same inode: one deleted and realised again is a new inode); and of every
  file outside those store paths that the loader is handed (the binary's own tree,
  NixOS's driver dirs);
* **the launch:** the loader and its arguments up to the program's.

Any difference, any doubt (an unreadable record, a program argument that could be one of
ours), and ``run`` takes its full path: it verifies the lock (Nix's database included) and
writes a new record. The record is as trusted as the rest of the cache, like the markers of
locks that passed the deep check.

Records end with a CRC-32 of their content: a damaged one is no record. Reading one
imports nothing beyond ``os`` and ``zlib`` (and the two tiny path modules), so that
``python -m autopatchelf run`` with a recorded launch costs little more than the interpreter's
own start.
"""

from __future__ import annotations

import os
import zlib

from autopatchelf.actions.locks.locations import launch_record_path
from autopatchelf.cachedir import cache_dir as resolve_cache_dir
from autopatchelf.nix.dirs import nix_state_dir, nix_store_dir

# Not ``typing.TYPE_CHECKING``: importing typing (and what it pulls in) would double the
# cost of a recorded start. Type checkers read the block; the interpreter skips it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: The first field of every record; a record of another version is ignored.
VERSION = "autopatchelf-launch/1"

#: The stamp of a path that cannot be stat'ed.
ABSENT = "-"

#: The option naming the cache dir (the record lives there).
_CACHE_OPTION = "--cache-dir"


def stamp(path: str) -> str:
    """What changes when ``path`` does: device, inode, size, mtime and ctime (``-`` when
    there is nothing to stat)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return ABSENT
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def stamps(paths: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``(path, stamp)`` for each of ``paths``, once each, in order."""
    return tuple((path, stamp(path)) for path in dict.fromkeys(paths))


def key(command: Sequence[str], cache_dir: str) -> tuple[str, ...]:
    """What must be equal for a record to apply: the command and where it runs."""
    return (VERSION, os.getcwd(), cache_dir, nix_store_dir(), nix_state_dir(), *command)


def recorded_launch(words: Sequence[str]) -> tuple[str, list[str]] | None:
    """The executable and argv the last verified ``run`` of ``words`` (the CLI's words,
    ``run`` first) started, with this start's program arguments; None when the full
    ``run`` must decide."""
    if len(words) < 2 or words[0] != "run":
        return None
    cache = resolve_cache_dir(_cache_dir_option(words))
    for at in range(1, len(words)):
        word = words[at]
        if word == "--":
            return None  # BINARY comes before the first --
        if word.startswith("-"):
            continue
        try:
            st = os.stat(word)
        except (OSError, ValueError):
            continue
        record = read_record(launch_record_path(st.st_dev, st.st_ino, cache))
        if record is None:
            continue
        record_key, watched, launch = record
        command = list(record_key[5:])
        if record_key != key(command, cache) or list(words[: len(command)]) != command:
            continue
        rest = list(words[len(command) :])
        if command[-1] != "--" and any(w.startswith("-") for w in rest):
            return None  # maybe one of our options: only the full parser may say
        if any(stamp(path) != was for path, was in watched):
            return None
        return launch[0], [*launch, *rest]
    return None


def relaunch(words: Sequence[str]) -> None:
    """Exec the recorded launch of ``words``, if there is a valid one; else return (and
    the full ``run`` decides, and reports any error)."""
    launch = recorded_launch(words)
    if launch is None:
        return
    try:
        os.execve(launch[0], launch[1], os.environ)
    except OSError:
        return


def _cache_dir_option(words: Sequence[str]) -> str | None:
    for at, word in enumerate(words):
        if word == "--":
            break
        if word == _CACHE_OPTION and at + 1 < len(words):
            return words[at + 1]
        if word.startswith(_CACHE_OPTION + "="):
            return word.partition("=")[2]
    return None


def write_record(
    path: str,
    record_key: Sequence[str],
    watched: Sequence[tuple[str, str]],
    launch: Sequence[str],
) -> bool:
    """Write a record atomically (best effort: False when it cannot be written)."""
    if not launch:
        return False
    fields = [VERSION, str(len(record_key)), *record_key, str(len(watched))]
    for watched_path, was in watched:
        fields += [watched_path, was]
    fields += [str(len(launch)), *launch]
    data = b"\0".join(os.fsencode(field) for field in fields)
    data += b"\0" + b"%08x" % zlib.crc32(data)  # a damaged record is no record
    partial = f"{path}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(partial, "wb") as stream:
            stream.write(data)
        os.replace(partial, path)
    except OSError:
        import contextlib  # the writing side only: reading must stay cheap

        with contextlib.suppress(OSError):
            os.unlink(partial)
        return False
    return True


def read_record(
    path: str,
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...]] | None:
    """``(key, watched stamps, launch)`` of the record at ``path``; None when there is
    none, or it is not one this version wrote."""
    try:
        with open(path, "rb") as stream:
            data, _, checksum = stream.read().rpartition(b"\0")
        if checksum != b"%08x" % zlib.crc32(data):
            return None
        fields = [os.fsdecode(field) for field in data.split(b"\0")]
    except (OSError, ValueError):
        return None
    try:
        if fields[0] != VERSION:
            return None
        at = 1
        count = int(fields[at])
        record_key = tuple(fields[at + 1 : at + 1 + count])
        at += 1 + count
        pairs = int(fields[at])
        flat = fields[at + 1 : at + 1 + 2 * pairs]
        watched = tuple(zip(flat[0::2], flat[1::2], strict=True))
        at += 1 + 2 * pairs
        count = int(fields[at])
        launch = tuple(fields[at + 1 : at + 1 + count])
        at += 1 + count
    except (IndexError, ValueError):
        return None
    complete = len(record_key) >= 5 and len(watched) == pairs and len(launch) == count
    if at != len(fields) or not complete or not launch:
        return None
    return record_key, watched, launch
