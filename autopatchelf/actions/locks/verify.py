"""Can a lock be trusted for a binary now? :func:`verify` says what is wrong, if anything."""

from __future__ import annotations

import os
from collections.abc import Iterator

from autopatchelf.actions.locks.hashing import elf_digest, file_sha256
from autopatchelf.actions.locks.lock import ORIGIN, Lock, under_any
from autopatchelf.errors import AutopatchelfError
from autopatchelf.options import Delivery


def verify(
    lock: Lock,
    binary: str,
    *,
    sha256: str | None = None,
    check_validity: bool = True,
    delivery: Delivery | str | None = None,
) -> list[str]:
    """What is wrong with trusting ``lock`` for ``binary`` now: one line per problem.

    Empty when the lock is valid: the binary's hash matches, every store path it names
    exists (and, where Nix can tell, is valid), and every file and directory it hands to the
    loader lies inside those store paths or the binary's own tree and exists. ``sha256``
    spares hashing the binary again when the caller already did; ``delivery`` (``runpath``
    or ``library-path``) is the delivery the caller needs the prediction made for.
    """
    problems: list[str] = []
    wanted = Delivery(delivery) if delivery is not None else None
    if wanted is not None and lock.delivery is not wanted:
        problems.append(f"it was made for {lock.delivery.value} delivery, not {wanted.value}")
    actual = sha256 or file_sha256(binary)
    if actual != lock.sha256:
        problems.append(_changed_binary(lock, binary, actual))
    problems.extend(_foreign_paths(lock))
    store_problems = _store_problems(lock.store_paths, check_validity)
    problems.extend(store_problems)
    if not store_problems:  # a missing store path explains its missing files
        missing = [
            real for p in _loader_files(lock) if not os.path.exists(real := lock.expand(p, binary))
        ]
        if missing:
            problems.append(f"{missing[0]} no longer exists" + _more(len(missing) - 1))
    return problems


def _store_problems(store_paths: tuple[str, ...], check_validity: bool) -> list[str]:
    if check_validity:
        from autopatchelf.actions.locks.storecheck import invalid_store_paths

        invalid = invalid_store_paths(store_paths)
    else:
        invalid = {p: "does not exist" for p in store_paths if not os.path.lexists(p)}
    return [f"store path {path} {reason}" for path, reason in invalid.items()]


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
    if lock.interpreter:
        yield lock.interpreter
    yield from lock.library_path
    yield from lock.choices.values()


def _foreign_paths(lock: Lock) -> list[str]:
    """Tampering: files handed to the loader that lie outside the locked store paths."""
    outside = [
        p
        for p in _loader_files(lock)
        if not (p.startswith(ORIGIN + "/") or p == ORIGIN or under_any(p, lock.store_paths))
    ]
    if lock.glibc and lock.glibc not in lock.store_paths:
        outside.insert(0, lock.glibc)
    if not outside:
        return []
    return [f"{outside[0]} lies outside the locked store paths" + _more(len(outside) - 1)]


def _more(count: int) -> str:
    return f" (and {count} more)" if count > 0 else ""


def describe_problems(problems: list[str]) -> str:
    """One line for a list of problems: the first, and how many more."""
    if not problems:
        return "valid"
    return problems[0] + _more(len(problems) - 1)
