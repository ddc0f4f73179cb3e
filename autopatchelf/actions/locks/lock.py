"""Lock files: a solution frozen for one binary, checked before it is trusted again.

A lock records what a solve chose for one root (its store paths, soname -> file, loader and
library path) together with the binary's sha256, so later runs can start the binary without
indexing or solving. Paths inside the binary's own tree (bundled libraries) are written
relative to its directory (``$ORIGIN/../lib/...``) and the binary itself as ``$BINARY``, so a
lock stays true when the binary and its tree move together: shipped beside the binary as
``<binary>.autopatchelf.lock``, or cached by hash under ``<cache dir>/locks/<sha256>.json``.

This module is on the fast path of ``autopatchelf run``: it imports nothing heavy at module
level (the ELF reader and the solution model load only when a lock is made or expanded).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from autopatchelf.cachedir import default_cache_dir
from autopatchelf.errors import AutopatchelfError

if TYPE_CHECKING:
    from autopatchelf.elf.facts import ElfFacts
    from autopatchelf.solution.model import Solution

#: The ``schema`` field of every lock this version writes (and the only one it reads).
LOCK_SCHEMA = "autopatchelf.lock/1"
#: The name a lock shipped beside ``app`` has: ``app.autopatchelf.lock``.
LOCK_SUFFIX = ".autopatchelf.lock"
#: Stands for the binary's directory in the paths a lock holds.
ORIGIN = "$ORIGIN"
#: Stands for the binary itself (``requested_by`` of the libraries it needs directly).
BINARY = "$BINARY"


class LockFileError(AutopatchelfError):
    """A lock file cannot be read (missing, malformed JSON, wrong schema) or written."""

    def __init__(self, path: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"lock {path}: {reason}", hint=hint)
        self.path = path
        self.short_reason = reason


class LockUsageError(AutopatchelfError):
    """``--lock``/``--frozen`` asked for in a way that cannot work (several files...)."""


class StaleLockError(AutopatchelfError):
    """``--frozen`` was asked for, but no valid lock exists for the binary."""

    def __init__(self, binary: str, reason: str) -> None:
        super().__init__(
            f"{binary}: {reason}",
            hint="run without --frozen to re-solve and rewrite the lock",
        )
        self.binary = binary


@attrs.frozen
class LockedLibrary:
    """One object ld.so maps for the binary, in load order (paths as stored in the lock)."""

    name: str
    path: str
    #: Its store path, or None for a library of the binary's own tree.
    store_path: str | None
    requested_by: str


@attrs.frozen
class Lock:
    """A solution for one binary, with what is needed to trust it later.

    Paths are as stored: ``$ORIGIN/...`` for the binary's own tree, ``$BINARY`` for the
    binary; :meth:`expand` turns them into real paths for a binary's location.
    """

    #: sha256 of the binary's bytes (hex).
    sha256: str
    #: sha256 of what the binary asks of the loader (see :func:`elf_digest`).
    elf_digest: str
    #: The binary's file name when the lock was made (information only).
    binary: str
    #: The Nix system of the binary (``x86_64-linux``), for nix-ld's per-system variables.
    system: str | None
    #: The chosen loader, or None for a root without PT_INTERP (a library).
    interpreter: str | None
    #: The chosen glibc's store path.
    glibc: str | None
    glibc_policy: str
    delivery: str
    #: ``ld.so --library-path`` directories in order; empty when ``needs_link_dir``.
    library_path: tuple[str, ...]
    needs_link_dir: bool
    runpath: tuple[str, ...]
    #: Every store path the binary needs at run time (closures included), sorted.
    store_paths: tuple[str, ...]
    #: soname -> file, for every library of the solution.
    choices: dict[str, str]
    #: What ld.so maps for the binary, in load order.
    libraries: tuple[LockedLibrary, ...]
    substitutions: dict[str, str] = attrs.field(factory=dict)
    warnings: tuple[str, ...] = ()
    #: The autopatchelf version that wrote the lock (information only).
    tool_version: str = ""
    schema: str = LOCK_SCHEMA

    @classmethod
    def from_solution(cls, solution: Solution, root: str) -> Lock:
        """The lock of ``root`` (one of the solution's roots) in ``solution``."""
        from autopatchelf import __version__
        from autopatchelf.elf.facts import ElfFacts
        from autopatchelf.ldso.machines import nix_system

        root = os.path.abspath(root)
        root_solution = solution.root(root)
        facts = ElfFacts.read(root)
        store_paths = tuple(sorted(solution.store_paths))
        rel = _Relativizer(root, store_paths)
        return cls(
            sha256=file_sha256(root),
            elf_digest=elf_digest(facts),
            binary=os.path.basename(root),
            system=nix_system(facts),
            interpreter=root_solution.interpreter,
            glibc=solution.glibc,
            glibc_policy=solution.glibc_policy,
            delivery=solution.delivery,
            library_path=tuple(rel(d) for d in solution.library_path),
            needs_link_dir=solution.needs_link_dir,
            runpath=tuple(rel(d) for d in solution.runpath),
            store_paths=store_paths,
            choices={name: rel(path) for name, path in sorted(solution.choices.items())},
            libraries=tuple(
                LockedLibrary(
                    name=lib.name,
                    path=rel(lib.path),
                    store_path=lib.store_path,
                    requested_by=rel(lib.requested_by),
                )
                for lib in root_solution.libraries
            ),
            substitutions=dict(sorted(solution.substitutions.items())),
            warnings=tuple(solution.warnings),
            tool_version=__version__,
        )

    def expand(self, path: str, binary: str) -> str:
        """A stored path as a real path, for the binary at ``binary``."""
        binary = os.path.abspath(binary)
        if path == BINARY:
            return binary
        if path == ORIGIN or path.startswith(ORIGIN + "/"):
            return os.path.normpath(os.path.dirname(binary) + path[len(ORIGIN) :])
        return path

    def locked_choices(self, binary: str) -> dict[str, str]:
        """soname -> real file, for ``solve(..., locked=...)``."""
        return {name: self.expand(path, binary) for name, path in self.choices.items()}

    def to_solution(self, binary: str) -> Solution:
        """The solution this lock holds, for the binary at ``binary`` (its only root).

        Alternatives are not kept in a lock: the solution comes back with none.
        """
        from autopatchelf.solution.model import LoadedLibrary, RootSolution, Solution

        root = os.path.abspath(binary)

        def real(path: str) -> str:
            return self.expand(path, root)

        libraries = tuple(
            LoadedLibrary(lib.name, real(lib.path), lib.store_path, real(lib.requested_by))
            for lib in self.libraries
        )
        return Solution(
            roots=(RootSolution(root=root, interpreter=self.interpreter, libraries=libraries),),
            glibc=self.glibc,
            interpreter=self.interpreter,
            store_paths=self.store_paths,
            choices={name: real(path) for name, path in self.choices.items()},
            library_path=tuple(real(d) for d in self.library_path),
            needs_link_dir=self.needs_link_dir,
            runpath=tuple(real(d) for d in self.runpath),
            warnings=self.warnings,
            alternatives=(),
            glibc_policy=self.glibc_policy,
            delivery=self.delivery,
            substitutions=dict(self.substitutions),
        )


class _Relativizer:
    """Writes paths of the binary's own tree relative to its directory."""

    def __init__(self, root: str, store_paths: tuple[str, ...]) -> None:
        self.root = root
        self.origin = os.path.dirname(root)
        self.store_paths = store_paths

    def __call__(self, path: str) -> str:
        if path == self.root:
            return BINARY
        if _under_any(path, self.store_paths) or not os.path.isabs(path):
            return path
        if os.path.commonpath([path, self.origin]) == "/":
            return path  # unrelated to the binary's tree: keep it absolute
        return f"{ORIGIN}/{os.path.relpath(path, self.origin)}".removesuffix("/.")


def _under_any(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


# -- hashes ------------------------------------------------------------------------------


def file_sha256(path: str) -> str:
    """The sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def elf_digest(facts: ElfFacts) -> str:
    """sha256 of what an ELF file asks of the loader: class, machine, interpreter, soname,
    DT_NEEDED, RPATH/RUNPATH, flags, version needs and imported symbols.

    Two builds with the same digest need the same libraries, so a lock made for one fits
    the other (a rebuilt binary whose code changed but whose imports did not).
    """
    record = [
        int(facts.elf_class),
        int(facts.endian),
        facts.machine,
        facts.osabi,
        facts.type.value,
        facts.interpreter,
        facts.soname,
        list(facts.needed),
        facts.rpath,
        facts.runpath,
        facts.flags,
        facts.flags_1,
        [[n.file, sorted([v.name, v.weak] for v in n.versions)] for n in facts.version_needs],
        sorted([s.name, s.version or "", s.file or ""] for s in facts.symbols.undefined),
    ]
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


# -- where locks live --------------------------------------------------------------------


def beside_path(binary: str) -> str:
    """The lock shipped beside ``binary``: ``<binary>.autopatchelf.lock``."""
    return os.path.abspath(binary) + LOCK_SUFFIX


def cache_base_dir(cache_dir: str | None = None) -> str:
    """``cache_dir``, else ``$AUTOPATCHELF_CACHE_DIR``, else ``$XDG_CACHE_HOME/autopatchelf``,
    else ``~/.cache/autopatchelf`` (the index cache's rules)."""
    return os.path.abspath(cache_dir) if cache_dir else default_cache_dir()


def cached_path(sha256: str, cache_dir: str | None = None) -> str:
    """The cached lock of the binary whose hash is ``sha256``."""
    return os.path.join(cache_base_dir(cache_dir), "locks", f"{sha256}.json")


# -- reading and writing -----------------------------------------------------------------


def lock_document(lock: Lock) -> dict[str, Any]:
    """The JSON document of a lock (field order fixed, so equal locks are equal files)."""
    return {
        "schema": lock.schema,
        "tool_version": lock.tool_version,
        "binary": {
            "name": lock.binary,
            "sha256": lock.sha256,
            "elf_digest": lock.elf_digest,
            "system": lock.system,
        },
        "interpreter": lock.interpreter,
        "glibc": lock.glibc,
        "glibc_policy": lock.glibc_policy,
        "delivery": lock.delivery,
        "library_path": list(lock.library_path),
        "needs_link_dir": lock.needs_link_dir,
        "runpath": list(lock.runpath),
        "store_paths": list(lock.store_paths),
        "choices": dict(lock.choices),
        "libraries": [
            {
                "name": lib.name,
                "path": lib.path,
                "store_path": lib.store_path,
                "requested_by": lib.requested_by,
            }
            for lib in lock.libraries
        ],
        "substitutions": dict(lock.substitutions),
        "warnings": list(lock.warnings),
    }


def write_lock(lock: Lock, path: str) -> str:
    """Write ``lock`` to ``path`` atomically (a temporary file renamed over it).

    Raises :class:`LockFileError` when the directory cannot be written.
    """
    import contextlib
    import tempfile

    path = os.path.abspath(path)
    text = json.dumps(lock_document(lock), indent=2, ensure_ascii=False) + "\n"
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, staging = tempfile.mkstemp(prefix=".lock-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise LockFileError(path, f"cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(staging, 0o644)
        os.replace(staging, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise LockFileError(path, f"cannot write: {exc.strerror or exc}") from exc
    return path


def read_lock(path: str) -> Lock:
    """Read and parse a lock; raises :class:`LockFileError` saying what is wrong."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError as exc:
        raise LockFileError(path, "does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise LockFileError(path, f"cannot be read: {reason}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockFileError(path, f"is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    return parse_lock(document, path)


class _Malformed(Exception):
    pass


def parse_lock(document: object, source: str = "<document>") -> Lock:
    """A lock from its JSON document; raises :class:`LockFileError` naming ``source``."""
    try:
        return _parse(document)
    except _Malformed as exc:
        raise LockFileError(source, str(exc)) from None


def _parse(document: object) -> Lock:
    doc = _Fields(document, "the document")
    schema = doc.text("schema")
    if schema != LOCK_SCHEMA:
        raise _Malformed(f"has schema {schema!r}, this autopatchelf reads {LOCK_SCHEMA!r}")
    binary = _Fields(doc.get("binary"), "binary")
    libraries = []
    for number, item in enumerate(doc.items("libraries"), 1):
        lib = _Fields(item, f"libraries[{number}]")
        libraries.append(
            LockedLibrary(
                name=lib.text("name"),
                path=lib.text("path"),
                store_path=lib.optional_text("store_path"),
                requested_by=lib.text("requested_by"),
            )
        )
    return Lock(
        schema=schema,
        tool_version=doc.text("tool_version"),
        sha256=binary.text("sha256"),
        elf_digest=binary.text("elf_digest"),
        binary=binary.text("name"),
        system=binary.optional_text("system"),
        interpreter=doc.optional_text("interpreter"),
        glibc=doc.optional_text("glibc"),
        glibc_policy=doc.text("glibc_policy"),
        delivery=doc.text("delivery"),
        library_path=doc.texts("library_path"),
        needs_link_dir=doc.flag("needs_link_dir"),
        runpath=doc.texts("runpath"),
        store_paths=doc.texts("store_paths"),
        choices=doc.text_map("choices"),
        libraries=tuple(libraries),
        substitutions=doc.text_map("substitutions"),
        warnings=doc.texts("warnings"),
    )


class _Fields:
    """Typed access to one JSON object; every mismatch is a :class:`_Malformed`."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise _Malformed(f"{where} is not a JSON object")
        self.value: dict[str, object] = value
        self.where = where

    def get(self, key: str) -> object:
        if key not in self.value:
            raise _Malformed(f"{self.where} lacks the field {key!r}")
        return self.value[key]

    def _bad(self, key: str, kind: str) -> _Malformed:
        return _Malformed(f"field {key!r} of {self.where} is not {kind}")

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.get(key)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string or null")
        return value

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def items(self, key: str) -> list[object]:
        value = self.get(key)
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        items = self.items(key)
        if not all(isinstance(item, str) for item in items):
            raise self._bad(key, "a list of strings")
        return tuple(str(item) for item in items)

    def text_map(self, key: str) -> dict[str, str]:
        value = self.get(key)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._bad(key, "an object of strings")
        return {str(k): str(v) for k, v in value.items()}


# -- verifying ---------------------------------------------------------------------------


def verify(
    lock: Lock,
    binary: str,
    *,
    sha256: str | None = None,
    check_validity: bool = True,
    delivery: str | None = None,
) -> list[str]:
    """What is wrong with trusting ``lock`` for ``binary`` now: one line per problem.

    Empty when the lock is valid: the binary's hash matches, every store path it names
    exists (and, where Nix can tell, is valid), and every file and directory it hands to the
    loader lies inside those store paths or the binary's own tree and exists. ``sha256``
    spares hashing the binary again when the caller already did; ``delivery`` (``runpath``
    or ``library-path``) is the delivery the caller needs the prediction made for.
    """
    problems: list[str] = []
    if lock.schema != LOCK_SCHEMA:
        problems.append(f"schema {lock.schema!r} is not {LOCK_SCHEMA!r}")
    if delivery is not None and lock.delivery != delivery:
        problems.append(f"it was made for {lock.delivery} delivery, not {delivery}")
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
        if not (p.startswith(ORIGIN + "/") or p == ORIGIN or _under_any(p, lock.store_paths))
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
