"""Sharing what many solves against one unchanging store ask again (``check``'s hundreds).

:class:`MemoSource` answers each :class:`~autopatchelf.problem.source.LibrarySource`
question once per run; :class:`ProblemMemo` keeps the last problems built, so a solve
repeated with only the encoding's options changed (``--allow-missing``) builds none,
and the version checks of the (requester, candidate) pairs problems share are done once.
Both assume the store does not change while they are in use (one run).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Sequence

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.options import GlibcPolicy
from autopatchelf.problem.build import PairVerdicts
from autopatchelf.problem.model import DlopenPolicy, Problem
from autopatchelf.problem.source import ForeignFiles, LibrarySource, StoreFile
from autopatchelf.problem.verdicts import VerdictStore
from autopatchelf.store.substitute import Substitute


class MemoSource:
    """A :class:`LibrarySource` that asks the one it wraps each question once."""

    def __init__(self, inner: LibrarySource) -> None:
        self.inner = inner
        self._candidates: dict[str, tuple[StoreFile, ...]] = {}
        self._lookups: dict[tuple[str, str], StoreFile | None] = {}
        self._entries: dict[str, tuple[str, ...]] = {}
        self._resolved: dict[tuple[str, str], StoreFile | None] = {}
        self._closures: dict[str, frozenset[str]] = {}
        self._in_store: dict[str, bool] = {}
        self._names: tuple[str, ...] | None = None
        self._versions: dict[str, tuple[object, ...]] = {}
        self._labels: dict[str, str] = {}
        self._substitutes: dict[str, Substitute | None] = {}
        self._rejected: dict[str, tuple[tuple[str, str], ...]] = {}
        self._verdicts: VerdictStore | None = None
        self._verdicts_asked = False

    def candidates(self, name: str) -> Sequence[StoreFile]:
        found = self._candidates.get(name)
        if found is None:
            found = self._candidates[name] = tuple(self.inner.candidates(name))
        return found

    def lookup(self, directory: str, name: str) -> StoreFile | None:
        key = (directory, name)
        if key not in self._lookups:
            self._lookups[key] = self.inner.lookup(directory, name)
        return self._lookups[key]

    def entry_names(self, directory: str) -> Sequence[str]:
        found = self._entries.get(directory)
        if found is None:
            found = self._entries[directory] = tuple(self.inner.entry_names(directory))
        return found

    def resolve_needed(self, file: StoreFile, name: str) -> StoreFile | None:
        key = (file.path, name)
        if key not in self._resolved:
            self._resolved[key] = self.inner.resolve_needed(file, name)
        return self._resolved[key]

    def closure(self, store_path: str) -> frozenset[str]:
        found = self._closures.get(store_path)
        if found is None:
            found = self._closures[store_path] = self.inner.closure(store_path)
        return found

    def is_store_path(self, path: str) -> bool:
        found = self._in_store.get(path)
        if found is None:
            found = self._in_store[path] = self.inner.is_store_path(path)
        return found

    def names(self) -> Sequence[str]:
        if self._names is None:
            self._names = tuple(self.inner.names())
        return self._names

    def version_of(self, store_path: str) -> tuple[object, ...]:
        found = self._versions.get(store_path)
        if found is None:
            found = self._versions[store_path] = self.inner.version_of(store_path)
        return found

    def label(self, store_path: str) -> str:
        found = self._labels.get(store_path)
        if found is None:
            found = self._labels[store_path] = self.inner.label(store_path)
        return found

    def substitute(self, store_path: str) -> Substitute | None:
        if store_path not in self._substitutes:
            self._substitutes[store_path] = self.inner.substitute(store_path)
        return self._substitutes[store_path]

    def verdicts(self) -> VerdictStore | None:
        if not self._verdicts_asked:
            self._verdicts = self.inner.verdicts()
            self._verdicts_asked = True
        return self._verdicts

    def rejected(self, name: str) -> Sequence[tuple[str, str]]:
        found = self._rejected.get(name)
        if found is None:
            found = self._rejected[name] = tuple(self.inner.rejected(name))
        return found


#: What a problem is built from, besides its source and files (see :func:`build_problem`).
ProblemKey = tuple[tuple[str, ...], bool, GlibcPolicy, DlopenPolicy | None, tuple[str, ...]]

#: :func:`~autopatchelf.problem.build.build_problem`'s signature.
Builder = Callable[..., Problem]


class ProblemMemo:
    """The last ``size`` problems built, by everything they are built from.

    The source and the foreign files are part of the key by identity (and kept alive by
    it), so a memo never hands out a problem built from other ones."""

    def __init__(self, build: Builder, size: int = 4) -> None:
        self._build = build
        self._size = size
        self._built: OrderedDict[tuple[object, object, ProblemKey], Problem] = OrderedDict()
        #: Version-check verdicts, per (source, files).
        self._pairs: dict[tuple[object, object], PairVerdicts] = {}
        #: How many problems were built, and how many were handed out again.
        self.builds = 0
        self.hits = 0

    def build(
        self,
        roots: Sequence[str | ElfFacts],
        source: LibrarySource,
        *,
        allow_substitution: bool = False,
        files: ForeignFiles | None = None,
        glibc_policy: GlibcPolicy = GlibcPolicy.STRICT,
        dlopen: DlopenPolicy | None = None,
        driver_dirs: Sequence[str] = (),
    ) -> Problem:
        paths = tuple(r.path if isinstance(r, ElfFacts) else os.path.abspath(r) for r in roots)
        made: ProblemKey = (paths, allow_substitution, glibc_policy, dlopen, tuple(driver_dirs))
        key: tuple[object, object, ProblemKey] = (source, files, made)
        problem = self._built.get(key)
        if problem is not None:
            self._built.move_to_end(key)
            self.hits += 1
            return problem
        problem = self._build(
            roots,
            source,
            allow_substitution=allow_substitution,
            files=files,
            glibc_policy=glibc_policy,
            dlopen=dlopen,
            driver_dirs=driver_dirs,
            pairs=self._pairs.setdefault((source, files), {}),
        )
        self.builds += 1
        self._built[key] = problem
        while len(self._built) > self._size:
            self._built.popitem(last=False)
        return problem
