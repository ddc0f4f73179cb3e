"""Can a lock be trusted for a binary now? :func:`verify` says what is wrong, if anything.

A lock names files ld.so will load and a loader ``run`` will execute, so a lock found
beside a binary is input like any other: nothing in it is taken on trust.

* **Store paths** must be canonical (no ``..``, ``.``, ``//``), direct children of a store
  the caller trusts (Nix's own, by default) named like store paths, present, and valid in
  Nix's database when it can be read.
* **Every file and directory** handed to the loader must be canonical and lie inside one
  of those store paths (and, symlinks resolved, still inside the store), or in the
  binary's own tree (``$ORIGIN/...``).
* The **interpreter** must be inside the chosen glibc's store path and carry the loader's
  name for the binary's system.
* :func:`verify_claims` (the deep check, which reads ELF files) checks that the
  interpreter really is a glibc loader and that every mapped store file answers to the
  soname it is mapped for. The lock policy runs it once per lock content and remembers the
  verdict (:mod:`~autopatchelf.actions.locks.locking`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from autopatchelf.actions.locks.hashing import elf_digest, file_sha256
from autopatchelf.actions.locks.lock import ORIGIN, Lock, under_any
from autopatchelf.errors import AutopatchelfError
from autopatchelf.ldso.drivers import DRIVER_DIR_32, DRIVER_DIR_64
from autopatchelf.nix.dirs import nix_store_dir
from autopatchelf.nix.names import is_store_basename
from autopatchelf.options import Delivery

#: Loader file names by Nix system (the per-arch names glibc installs).
_LOADERS = {
    "x86_64-linux": "ld-linux-x86-64.so.2",
    "i686-linux": "ld-linux.so.2",
    "aarch64-linux": "ld-linux-aarch64.so.1",
    "armv7l-linux": "ld-linux-armhf.so.3",
    "riscv64-linux": "ld-linux-riscv64-lp64d.so.1",
}


def verify(
    lock: Lock,
    binary: str,
    *,
    sha256: str | None = None,
    check_validity: bool = True,
    delivery: Delivery | str | None = None,
    stores: Sequence[str] | None = None,
) -> list[str]:
    """What is wrong with trusting ``lock`` for ``binary`` now: one line per problem.

    Empty when the lock is valid: the binary's hash matches, every store path it names is
    a present (and, where Nix can tell, valid) path of a trusted store (``stores``,
    default Nix's own), and every file and directory it hands to the loader is canonical,
    lies inside those store paths or the binary's own tree, and exists. ``sha256``
    spares hashing the binary again when the caller already did; ``delivery`` is the
    delivery the caller needs the prediction made for.
    """
    problems: list[str] = []
    wanted = Delivery(delivery) if delivery is not None else None
    if wanted is not None and lock.delivery is not wanted:
        problems.append(f"it was made for {lock.delivery.value} delivery, not {wanted.value}")
    actual = sha256 or file_sha256(binary)
    if actual != lock.sha256:
        problems.append(_changed_binary(lock, binary, actual))
    trusted = tuple(os.path.normpath(s) for s in (stores or (nix_store_dir(),)))
    problems.extend(_shape_problems(lock, trusted))
    if problems:
        return problems
    store_problems = _store_problems(lock.store_paths, check_validity)
    problems.extend(store_problems)
    if not store_problems:  # a missing store path explains its missing files
        problems.extend(_file_problems(lock, binary, trusted))
    return problems


def _changed_binary(lock: Lock, binary: str, actual: str) -> str:
    message = (
        f"the binary changed since the lock was written "
        f"(sha256 {actual[:12]}..., locked {lock.sha256[:12]}...)"
    )
    try:
        from autopatchelf.elf.facts import ElfFacts

        same = elf_digest(ElfFacts.read(os.path.abspath(binary))) == lock.elf_digest
    except AutopatchelfError:
        return message + "; it is no longer a readable ELF file"
    return message + ("; it needs the same libraries" if same else "; its needs changed")


def _loader_files(lock: Lock) -> Iterator[str]:
    """Every file and directory the loader is handed (the interpreter first), once."""
    paths = [*([lock.interpreter] if lock.interpreter else []), *lock.library_path]
    paths += [*lock.runpath, *lock.choices.values(), *(lib.path for lib in lock.libraries)]
    yield from dict.fromkeys(paths)


def _is_origin(path: str) -> bool:
    return path == ORIGIN or path.startswith(ORIGIN + "/")


def _canonical(path: str) -> bool:
    return os.path.isabs(path) and os.path.normpath(path) == path and "//" not in path


def _shape_problems(lock: Lock, stores: tuple[str, ...]) -> list[str]:
    """What the lock's own text gets wrong, before anything is looked at on disk."""
    problems: list[str] = []
    # Files outside the store are trusted only in NixOS's own driver dirs.
    drivers = [d for d in lock.driver_dirs if d in (DRIVER_DIR_64, DRIVER_DIR_32)]
    problems.extend(
        f"driver dir {d} is not one of NixOS's" for d in lock.driver_dirs if d not in drivers
    )
    for path in lock.store_paths:
        if not _canonical(path):
            problems.append(f"store path {path!r} is not a canonical path")
        elif os.path.dirname(path) not in stores or not is_store_basename(os.path.basename(path)):
            problems.append(f"{path} is not a path of a trusted store ({', '.join(stores)})")
    outside = []
    for path in _loader_files(lock):
        if _is_origin(path):
            parts = path[len(ORIGIN) :].split("/")[1:]
            if any(part in ("", ".") for part in parts):
                outside.append(path)  # not canonical: a trailing /, // or /./
            continue
        if not _canonical(path) or not under_any(path, (*lock.store_paths, *drivers)):
            outside.append(path)
    if lock.glibc and lock.glibc not in lock.store_paths:
        outside.insert(0, lock.glibc)
    if outside:
        problems.append(
            f"{outside[0]} lies outside the locked store paths" + _more(len(outside) - 1)
        )
    if lock.interpreter and not outside:
        problems.extend(_interpreter_problems(lock))
    return problems


def _interpreter_problems(lock: Lock) -> list[str]:
    interpreter = lock.interpreter or ""
    if not lock.glibc or not under_any(interpreter, (lock.glibc,)):
        return [f"the interpreter {interpreter} is not in the chosen glibc {lock.glibc}"]
    loader = _LOADERS.get(lock.system or "")
    if loader is not None and os.path.basename(interpreter) != loader:
        return [f"the interpreter {interpreter} is not {loader}, the loader of {lock.system}"]
    return []


def _store_problems(store_paths: tuple[str, ...], check_validity: bool) -> list[str]:
    if check_validity:
        from autopatchelf.actions.locks.storecheck import invalid_store_paths

        invalid = invalid_store_paths(store_paths)
    else:
        invalid = {p: "does not exist" for p in store_paths if not os.path.lexists(p)}
    return [f"store path {path} {reason}" for path, reason in invalid.items()]


def _file_problems(lock: Lock, binary: str, stores: tuple[str, ...]) -> list[str]:
    """Files that are gone, or whose symlinks lead out of the store."""
    missing: list[str] = []
    escaping: list[str] = []
    real_stores = tuple(os.path.realpath(s) for s in stores)
    for path in _loader_files(lock):
        real = lock.expand(path, binary)
        if not os.path.exists(real):
            missing.append(real)
        elif not _is_origin(path) and not under_any(os.path.realpath(real), real_stores):
            escaping.append(path)
    problems = []
    if escaping:
        problems.append(
            f"{escaping[0]} leads out of the store (a symlink)" + _more(len(escaping) - 1)
        )
    if missing:
        problems.append(f"{missing[0]} no longer exists" + _more(len(missing) - 1))
    return problems


def watched_paths(lock: Lock, binary: str) -> tuple[str, ...]:
    """What :func:`verify`'s answer for ``binary`` depends on besides the binary: the
    lock's store paths, and every file the loader is handed that lies outside them (in the
    binary's own tree or a driver dir). Files inside a store path change only with it."""
    outside = [
        lock.expand(path, binary)
        for path in _loader_files(lock)
        if _is_origin(path) or not under_any(path, lock.store_paths)
    ]
    return tuple(dict.fromkeys([*lock.store_paths, *outside]))


def verify_claims(lock: Lock) -> list[str]:
    """The deep check: read the ELF files the lock maps and check they are what it says
    (the interpreter a glibc loader, each store file answering to its soname)."""
    from autopatchelf.elf.facts import ElfFacts

    problems: list[str] = []
    if lock.interpreter:
        try:
            loader = ElfFacts.read(lock.interpreter)
        except AutopatchelfError as exc:
            return [f"the interpreter cannot be read: {exc.reason}"]
        if not (loader.soname or "").startswith("ld-"):
            problems.append(f"the interpreter {lock.interpreter} is not a glibc loader")
    for name, path in sorted(lock.choices.items()):
        if _is_origin(path) or "/" in name:
            continue
        try:
            facts = ElfFacts.read(path)
        except AutopatchelfError as exc:
            problems.append(f"{path} (for {name}) cannot be read: {exc.reason}")
            continue
        expected = lock.substitutions.get(name, name)
        if expected not in (os.path.basename(path), facts.soname):
            problems.append(f"{path} does not answer to {expected} (its soname: {facts.soname})")
    return problems


def _more(count: int) -> str:
    return f" (and {count} more)" if count > 0 else ""


def describe_problems(problems: list[str]) -> str:
    """One line for a list of problems: the first, and how many more."""
    if not problems:
        return "valid"
    others = len(problems) - 1
    return problems[0] + (f"; {others} more problem{'s' * (others != 1)}" if others else "")
