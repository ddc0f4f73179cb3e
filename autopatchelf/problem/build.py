"""Turn roots and a library source into a :class:`~autopatchelf.problem.model.Problem`.

Walks what ld.so would walk: the roots' DT_NEEDED, bundled libraries reached through
their own ``$ORIGIN`` RUNPATH/RPATH, and for every store candidate the files its own
RUNPATH finds inside its closure. Version and versioned-symbol checks are done here, once
per (requester, candidate) pair, so the encoding only sees their verdicts.
"""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Iterable, Sequence

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.errors import AutopatchelfError, RootError
from autopatchelf.frozen import FrozenMap
from autopatchelf.ldso.drivers import is_driver_soname
from autopatchelf.ldso.glibc import glibc_version, is_glibc_name
from autopatchelf.ldso.machines import compatible, incompatibility, loader_name
from autopatchelf.ldso.search import has_slash, inherits_rpath, is_host_lib_dir
from autopatchelf.options import DlopenPriority, GlibcPolicy, NeedOrigin
from autopatchelf.problem.foreign import bundled_dirs, main_rpath_dirs
from autopatchelf.problem.model import (
    DlopenNeed,
    DlopenPolicy,
    Exclusion,
    ExclusionKind,
    Glibc,
    Problem,
    Provider,
)
from autopatchelf.problem.source import DiskFiles, ForeignFiles, LibrarySource, StoreFile
from autopatchelf.problem.verdicts import Verdict, VerdictStore, pair_key, tables_key


def closest_names(name: str, known: Iterable[str], limit: int = 5) -> tuple[str, ...]:
    """Names that exist with the same stem and another version (``libfoo.so.2`` for
    ``libfoo.so.1``, ``libfoo-2.so`` for ``libfoo-1.so``): other libraries that merely
    look alike (``libm.so.6`` for ``libX11.so.6``) are not suggested."""
    stem = soname_stem(name)
    same_stem = sorted({n for n in known if n != name and soname_stem(n) == stem})
    return tuple(same_stem[:limit])


@functools.lru_cache(maxsize=1 << 16)
def soname_stem(name: str) -> str:
    """The library a soname names, without its version: ``libfoo`` for ``libfoo.so.1``,
    ``libfoo-2.so`` and ``libfoo.so``."""
    base = name.split(".so", 1)[0]
    return base.rstrip("0123456789.").removesuffix("-") or base


class _Builder:
    def __init__(
        self,
        source: LibrarySource,
        roots: Sequence[ElfFacts],
        files: ForeignFiles,
        dlopen: DlopenPolicy | None = None,
        driver_dirs: Sequence[str] = (),
    ) -> None:
        self.source = source
        self.driver_dirs = tuple(driver_dirs)
        #: Driver libraries taken from the driver dirs, and driver sonames none has.
        self.drivers: list[str] = []
        self.driver_missing: list[str] = []
        self.dlopen_policy = dlopen or DlopenPolicy()
        self.dlopen: list[DlopenNeed] = []
        #: The (requester, name) of every need in ``dlopen``.
        self._dlopen_keys: set[tuple[str, str]] = set()
        self._root_paths = {facts.path for facts in roots}
        self.files = files
        self.root_facts = roots[0]
        self.providers: dict[str, Provider] = {}
        self.candidates: dict[str, list[str]] = {}
        self.fixed: dict[tuple[str, str], str] = {}
        self.free: dict[str, list[str]] = {}
        self.exclusions: list[Exclusion] = []
        self.notes: list[str] = []
        self.foreign: list[Provider] = []
        self.arch_checked: set[str] = set()
        #: store file path -> why it cannot join the process (None: it can).
        self._arch_verdicts: dict[str, str | None] = {}
        self.substitutes: dict[tuple[str, str], str] = {}
        self._seen_names: set[str] = set()
        self._seen_files: set[str] = set()
        #: Store files foreign objects name by path: explored with the store side.
        self._named_store_files: list[StoreFile] = []
        #: The directory foreign files are labelled relative to (the first root's).
        self._base = os.path.dirname(roots[0].path)

    # -- foreign side ---------------------------------------------------------------

    def add_foreign(self, roots: Sequence[ElfFacts]) -> None:
        queue: deque[tuple[Provider, tuple[ElfFacts, ...]]] = deque()
        self._base = os.path.dirname(roots[0].path)
        for facts in roots:
            provider = Provider(facts.path, facts, None, _relative_label(facts.path, self._base))
            self.providers[facts.path] = provider
            self.foreign.append(provider)
            queue.append((provider, ()))
        self._walk_foreign(queue, always=True)

    def _answers_as(self, cand: StoreFile, found_as: str) -> str:
        """The name a patched DT_NEEDED should ask for to get ``cand``: its DT_SONAME when
        its directory has an entry of that name for it (``libjq.so.1``, not the file name
        ``libjq.so.1.0.4`` it was found under), else the name it was found under."""
        soname = cand.facts.soname
        if soname and soname != found_as:
            hit = self.source.lookup(os.path.dirname(cand.path), soname)
            if hit is not None and hit.path == cand.path:
                return soname
        return found_as

    def _walk_foreign(
        self, queue: deque[tuple[Provider, tuple[ElfFacts, ...]]], *, always: bool
    ) -> list[str]:
        """Find what each foreign object bundles, breadth first; returns the names left to
        the store. ``always``: the objects are loaded whatever the choice (the roots and
        what they bundle), else only with the store library that reaches them."""
        free: list[str] = []
        while queue:
            obj, chain = queue.popleft()
            self.free.setdefault(obj.path, [])
            for name in obj.facts.needed:
                if self._store_file_by_path(obj, name):
                    continue
                found = self._find_bundled(obj.facts, chain, name)
                if found is None:
                    self.free[obj.path].append(name)
                    free.append(name)
                    continue
                self.fixed[(obj.path, name)] = found
                if found not in self.providers:
                    bundled = self._bundled_provider(found)
                    if always:
                        self.foreign.append(bundled)
                    queue.append((bundled, (obj.facts, *chain)))
                self._add_candidate(name, found)
            for need in self._dlopen_needs(obj.facts):
                found = self._find_bundled(obj.facts, chain, need.name)
                if found is None:
                    free.append(need.name)
                    continue
                # A bundled copy its own search finds: loaded with it, at dlopen() time.
                self.fixed[(obj.path, need.name)] = found
                if found not in self.providers:
                    bundled = self._bundled_provider(found)
                    if always:
                        self.foreign.append(bundled)
                    queue.append((bundled, (obj.facts, *chain)))
                self._add_candidate(need.name, found)
        return free

    # -- dlopen() ---------------------------------------------------------------------

    def _dlopen_needs(self, facts: ElfFacts) -> list[DlopenNeed]:
        """The libraries ``facts`` dlopen()s that this solve includes: ``--dlopen`` names
        (roots only) and its ``.note.dlopen`` entries the policy takes. A note whose
        alternatives no source provides is left out with a note unless it is required."""
        if not (facts.dlopen or facts.dlopen_problems or facts.path in self._root_paths):
            return []  # most libraries: no note, and no flag applies to them
        policy = self.dlopen_policy
        needs: list[DlopenNeed] = []
        if facts.path in self._root_paths:
            needs.extend(
                DlopenNeed(facts.path, name, NeedOrigin.FLAG, DlopenPriority.REQUIRED)
                for name in policy.flags
                if name not in facts.needed
            )
            for seen in policy.traced:
                if seen in facts.needed or seen in policy.flags:
                    continue
                need = DlopenNeed(facts.path, seen, NeedOrigin.TRACE, DlopenPriority.RECOMMENDED)
                if self._pick_alternative(facts, (seen,)) is None:
                    self._note(f"{os.path.basename(facts.path)}: {need.describe()}; no store "
                               "path provides it: left out")  # fmt: skip
                    continue
                needs.append(need)
        for problem in facts.dlopen_problems:
            self._note(f"{facts.path}: {problem}")
        for note in facts.dlopen:
            if not policy.includes(note.priority, note.feature):
                continue
            name = self._pick_alternative(facts, note.sonames)
            need = DlopenNeed(
                facts.path, name or note.sonames[0], NeedOrigin.NOTE, note.priority,
                note.feature, note.sonames,
            )  # fmt: skip
            if name is None and need.soft:
                self._note(
                    f"{os.path.basename(facts.path)} may dlopen() {need.describe()}; no store "
                    "path provides it: left out"
                )
                continue
            if need.name not in facts.needed:
                needs.append(need)
        needs = [n for n in needs if (n.requester, n.name) not in policy.dropped]
        added = [n for n in needs if (n.requester, n.name) not in self._dlopen_keys]
        self.dlopen.extend(added)
        self._dlopen_keys.update((n.requester, n.name) for n in added)
        return needs

    def _driver_candidates(self, name: str) -> list[str]:
        """The driver dirs' files for driver soname ``name`` (never the store's: NixOS
        serves drivers from its driver dir). Their own libraries are theirs to find at run
        time; only their glibc needs join the solve (the one glibc must have every version
        they need). Returns those glibc names."""
        glibc_needs: list[str] = []
        for directory in self.driver_dirs:
            path = os.path.join(directory, name)
            facts = self.files.facts(path)
            if facts is None or not compatible(self.root_facts, facts):
                continue
            if path not in self.providers:
                label = f"{name} of the driver dir {directory}"
                self.providers[path] = Provider(path, facts, None, label)
                self.drivers.append(path)
                self.free[path] = [n for n in facts.needed if is_glibc_name(n)]
                glibc_needs.extend(self.free[path])
            self._add_candidate(name, path)
        if not self.candidates.get(name):
            self.driver_missing.append(name)
        return glibc_needs

    def _pick_alternative(self, facts: ElfFacts, sonames: Sequence[str]) -> str | None:
        """The first of a note's sonames that some file could provide."""
        for name in sonames:
            if self.candidates.get(name) or any(True for _ in self.source.candidates(name)):
                return name
            if self.files.facts(os.path.join(os.path.dirname(facts.path), name)) is not None:
                return name
        return None

    def _bundled_provider(self, path: str) -> Provider:
        read = self.files.facts(path)
        assert read is not None  # found by reading it
        provider = Provider(path, read, None, _relative_label(path, self._base))
        self.providers[path] = provider
        return provider

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def _store_file_by_path(self, obj: Provider, name: str) -> bool:
        """A DT_NEEDED naming a store file by its absolute path: ld.so opens that very file,
        so it is the provider (fixed), its closure explored like any candidate's."""
        if not (has_slash(name) and os.path.isabs(name) and self.source.is_store_path(name)):
            return False
        hit = self.source.lookup(os.path.dirname(name), os.path.basename(name))
        if hit is None or not self.admit(name, hit):
            return False  # missing (or for another machine): reported as such
        self.fixed[(obj.path, name)] = hit.path
        self._add_candidate(name, hit.path)
        self._named_store_files.append(hit)
        return True

    def _find_bundled(self, facts: ElfFacts, chain: tuple[ElfFacts, ...], name: str) -> str | None:
        if has_slash(name):
            path = name if os.path.isabs(name) else None
            if path and is_host_lib_dir(os.path.dirname(path)):
                self._note(
                    f"{facts.path}: DT_NEEDED {name!r} names a host library by its path; "
                    "it does not exist on NixOS"
                )
                return None
            if path and self.files.facts(path) is not None:
                return self.files.real(path)
            self._note(f"{facts.path}: DT_NEEDED {name!r} is a path; it is not searched")
            return None
        dirs = bundled_dirs(facts, chain, is_store_path=self.source.is_store_path, notes=self.notes)
        for directory in dirs:
            candidate = os.path.join(directory, name)
            other = self.files.facts(candidate)
            if other is not None and compatible(self.root_facts, other):
                return self.files.real(candidate)
        return None

    # -- store side -----------------------------------------------------------------

    def explore_store(self, *, allow_substitution: bool = False) -> None:
        """Gather candidates for every free name, then what their closures bring."""
        names: deque[str] = deque()
        for needed in self.free.values():
            names.extend(needed)
        names.extend(need.name for need in self.dlopen)
        self._explore(names, deque(self._named_store_files))
        if allow_substitution:
            self._explore(deque(), deque(self._substitute()))

    def _substitute(self) -> list[StoreFile]:
        """Offer files of a close soname (libfoo.so.2 for libfoo.so.1) for missing names
        the foreign objects need; the encoding makes choosing one expensive."""
        foreign = {p.path for p in self.foreign}
        wanted = sorted(
            {n for path in foreign for n in self.free.get(path, ()) if not self.candidates.get(n)}
        )
        added: list[StoreFile] = []
        if not wanted:
            return added
        known = list(self.source.names())
        for name in wanted:
            stem = name.split(".so", 1)[0]
            for other in closest_names(name, known):
                if other.split(".so", 1)[0] != stem:
                    continue
                for cand in self.source.candidates(other):
                    if self.admit(other, cand):
                        self._add_candidate(name, cand.path)
                        self.substitutes[(name, cand.path)] = self._answers_as(cand, other)
                        added.append(cand)
        return added

    def _explore(self, names: deque[str], files: deque[StoreFile]) -> None:
        seen_names = self._seen_names
        seen_files = self._seen_files
        candidates, free, fixed = self.candidates, self.free, self.fixed
        admit, add_candidate = self.admit, self._add_candidate
        for cand in files:
            seen_files.add(cand.path)
        while names or files:
            while names:
                name = names.popleft()
                if name in seen_names:
                    continue
                seen_names.add(name)
                candidates.setdefault(name, [])
                if is_driver_soname(name):
                    names.extend(self._driver_candidates(name))
                    continue
                for cand in self.source.candidates(name):
                    if admit(name, cand):
                        add_candidate(name, cand.path)
                        if cand.path not in seen_files:
                            seen_files.add(cand.path)
                            files.append(cand)
            while files:
                cand = files.popleft()
                if cand.path in free:
                    continue
                own: list[str] = []
                free[cand.path] = own
                for dep in cand.facts.needed:
                    found = self._find_in_closure(cand, dep)
                    if found is None and self._bundled_for_store(cand, dep, names):
                        continue
                    if found is None:
                        own.append(dep)
                        names.append(dep)
                        continue
                    fixed[(cand.path, dep)] = found.path
                    if admit(dep, found):
                        add_candidate(dep, found.path)
                    if found.path not in seen_files:
                        seen_files.add(found.path)
                        files.append(found)
                    if dep not in seen_names:  # (a name seen is not looked up again)
                        names.append(dep)
                for need in self._dlopen_needs(cand.facts):
                    found = self._find_in_closure(cand, need.name)
                    if found is not None:
                        fixed[(cand.path, need.name)] = found.path
                        if admit(need.name, found):
                            add_candidate(need.name, found.path)
                        if found.path not in seen_files:
                            seen_files.add(found.path)
                            files.append(found)
                    names.append(need.name)

    def _bundled_for_store(self, cand: StoreFile, name: str, names: deque[str]) -> bool:
        """A store library without DT_RUNPATH that its own search leaves without ``name``
        gets the program's bundled copy when the program's DT_RPATH leads to one (ld.so
        searches the executable's RPATH for every such object). That copy is then loaded
        with the library; what it needs joins the names to find."""
        if not inherits_rpath(cand.facts) or has_slash(name):
            return False
        main = self.root_facts
        for directory in main_rpath_dirs(main, is_store_path=self.source.is_store_path):
            path = os.path.join(directory, name)
            facts = self.files.facts(path)
            if facts is None or not compatible(main, facts):
                continue
            found = self.files.real(path)
            self.fixed[(cand.path, name)] = found
            self._add_candidate(name, found)
            if found not in self.providers:
                bundled = self._bundled_provider(found)
                names.extend(self._walk_foreign(deque([(bundled, (main,))]), always=False))
            return True
        return False

    def admit(self, name: str, cand: StoreFile) -> bool:
        """Register a store file as a provider unless it cannot join the process."""
        if cand.path not in self.providers:
            provider = Provider(
                cand.path, cand.facts, cand.store_path, self.source.label(cand.store_path)
            )
            self.providers[cand.path] = provider
        reason = self._incompatibility(cand)
        if reason is None:
            return True
        if cand.path not in self.arch_checked:
            self.arch_checked.add(cand.path)
            self.exclusions.append(Exclusion("", name, cand.path, ExclusionKind.ARCH, reason))
        return False

    def _find_in_closure(self, cand: StoreFile, name: str) -> StoreFile | None:
        if has_slash(name):
            return self.source.lookup(os.path.dirname(name), os.path.basename(name))
        hit = self.source.resolve_needed(cand, name)
        if hit is not None and self._incompatibility(hit) is None:
            return hit
        return None

    def _incompatibility(self, cand: StoreFile) -> str | None:
        """Why store file ``cand`` cannot join the roots' process (None: it can), judged
        once per file (a library every candidate needs, libc, is asked about by each)."""
        verdicts = self._arch_verdicts
        if cand.path not in verdicts:
            verdicts[cand.path] = incompatibility(self.root_facts, cand.facts)
        return verdicts[cand.path]

    def _add_candidate(self, name: str, path: str) -> None:
        paths = self.candidates.setdefault(name, [])
        if path not in paths:
            paths.append(path)

    # -- checks -----------------------------------------------------------------------

    def check_versions(self, *, any_glibc: bool = False, pairs: PairVerdicts | None = None) -> None:
        """Record every (requester, candidate) pair a version or symbol rules out.

        ``any_glibc`` (the compatible policy): a store library's glibc names may be served
        by any glibc, not only its closure's, so every candidate is checked for them.
        ``pairs``: verdicts of earlier builds over the same source and files, by
        everything a verdict depends on (filled in here). Verdicts the source keeps
        between runs (:mod:`autopatchelf.problem.verdicts`) are read back first, so a
        warm solve decodes no symbol table whose verdicts are known."""
        memo: PairVerdicts = {} if pairs is None else pairs
        saved = self.source.verdicts()
        # A pair's provider deps are part of its key only where verdicts are kept for
        # later: a build keeping none does not look them up.
        checks = self._pairs_to_check(any_glibc, with_deps=pairs is not None or saved is not None)
        keys: dict[tuple[str, str, str, tuple[str | None, ...]], bytes] = {}
        if saved is not None:
            keys = self._saved_keys(saved, [c for c in checks if c not in memo])
        found = saved.load(list(keys.values())) if saved is not None and keys else {}
        new: dict[bytes, Verdict] = {}
        asks: dict[str, _Asks] = {}
        for check in checks:
            req_path, name, option, _ = check
            if check in memo:
                excl = memo[check]
            elif (key := keys.get(check)) is not None and key in found:
                excl = memo[check] = _exclusion(req_path, name, option, found[key])
            else:
                requester = self.providers[req_path]
                if req_path not in asks:
                    asks[req_path] = _asks_of(requester)
                versions, symbols = asks[req_path]
                excl = memo[check] = self._check_pair(
                    requester,
                    name,
                    self.providers[option],
                    versions.get(name, ()),
                    symbols.get(name, ()),
                )
                if key is not None:
                    new[key] = None if excl is None else (excl.kind.value, excl.what)
            if excl is not None:
                self.exclusions.append(excl)
        if new and saved is not None:
            saved.save(new)

    def _pairs_to_check(
        self, any_glibc: bool, *, with_deps: bool = True
    ) -> list[tuple[str, str, str, tuple[str | None, ...]]]:
        """(requester, soname, provider, the provider's own deps) of every pair whose
        verdict may matter, in a deterministic order (``with_deps`` false: no deps, ``()``).
        Only a soname the requester's version table names can ask for a version or a
        versioned symbol."""
        providers, fixed_of, candidates = self.providers, self.fixed, self.candidates
        checks: list[tuple[str, str, str, tuple[str | None, ...]]] = []
        deps_of: dict[str, tuple[str | None, ...]] = {}
        for req_path in sorted(self.free):
            facts = providers[req_path].facts
            asked = {need.file for need in facts.version_needs}
            if not asked:
                continue
            for name in facts.needed:
                if name not in asked:
                    continue
                fixed = fixed_of.get((req_path, name))
                options = [fixed] if fixed else list(candidates.get(name, ()))
                if fixed and any_glibc and is_glibc_name(name):
                    options.extend(c for c in candidates.get(name, ()) if c != fixed)
                for option in options:
                    deps = deps_of.get(option, ()) if with_deps else ()
                    if with_deps and option not in deps_of:
                        deps = deps_of[option] = self._bound_deps(providers[option])
                    checks.append((req_path, name, option, deps))
        return checks

    def _saved_keys(
        self,
        saved: VerdictStore,
        checks: Sequence[tuple[str, str, str, tuple[str | None, ...]]],
    ) -> dict[tuple[str, str, str, tuple[str | None, ...]], bytes]:
        """The keys under which ``saved`` keeps these pairs' verdicts: only pairs whose
        provider and provider's deps it vouches for; a requester it does not vouch for is
        keyed by its raw symbol and version tables."""
        facts_keys: dict[str, bytes | None] = {}

        def facts_key(path: str) -> bytes | None:
            if path not in facts_keys:
                facts_keys[path] = saved.facts_key(path)
            return facts_keys[path]

        keys: dict[tuple[str, str, str, tuple[str | None, ...]], bytes] = {}
        for check in checks:
            req_path, name, option, deps = check
            provider = facts_key(option)
            dep_keys = [None if d is None else facts_key(d) for d in deps]
            if provider is None or any(
                k is None for d, k in zip(deps, dep_keys, strict=True) if d is not None
            ):
                continue
            requester = facts_key(req_path)
            if requester is None:
                requester = facts_keys[req_path] = tables_key(self.providers[req_path].facts)
            keys[check] = pair_key(requester, name, provider, dep_keys)
        return keys

    def _check_pair(
        self,
        requester: Provider,
        name: str,
        provider: Provider,
        versions: Sequence[str],
        symbols: Sequence[tuple[str, str]],
    ) -> Exclusion | None:
        defined = provider.facts.defined_versions
        for version in versions:
            if version not in defined:
                return Exclusion(
                    requester.path, name, provider.path, ExclusionKind.VERSION, version
                )
        for sym, version in symbols:
            if not self._exports(provider, sym, version):
                return Exclusion(
                    requester.path, name, provider.path, ExclusionKind.SYMBOL, f"{sym}@{version}"
                )
        return None

    def _bound_deps(self, provider: Provider) -> tuple[str | None, ...]:
        """The files :meth:`_exports` looks at besides ``provider``, in its order."""
        return tuple(
            self.fixed.get((provider.path, dep)) or self._sibling(provider, dep)
            for dep in provider.facts.needed
        )

    def _exports(self, provider: Provider, sym: str, version: str) -> bool:
        """Does ``sym@version`` get bound once ``provider`` is loaded?

        ld.so binds a versioned reference to any object in scope whose definition carries
        that version, not only to the file the version table names. What ``provider``
        loads itself is in scope with it: glibc 2.34 turned libdl.so.2 and
        libpthread.so.0 into stubs that keep the versions while libc.so.6 holds the
        symbols (``dladdr@GLIBC_2.2.5``)."""
        if _safe_exports(provider, sym, version):
            return True
        for dep in provider.facts.needed:
            dep_path = self.fixed.get((provider.path, dep)) or self._sibling(provider, dep)
            if dep_path is not None and _safe_exports(self.providers[dep_path], sym, version):
                return True
        return False

    def _sibling(self, provider: Provider, name: str) -> str | None:
        """A file answering to ``name`` in ``provider``'s own store path (glibc's libs)."""
        if provider.store_path is None:
            return None
        for path in self.candidates.get(name, ()):
            if self.providers[path].store_path == provider.store_path:
                return path
        return None


#: (requester, name, provider, the provider's own deps) -> the exclusion found for that
#: pair, or ``None``: valid for one source and one set of files.
PairVerdicts = dict[tuple[str, str, str, tuple[str | None, ...]], Exclusion | None]

#: What a requester asks of each soname: versions, and (symbol, version) imports.
_Asks = tuple[dict[str, list[str]], dict[str, list[tuple[str, str]]]]


def _asks_of(requester: Provider) -> _Asks:
    """The versions (weak ones left out) and versioned symbols ``requester`` asks of each
    soname its version table names (decodes its imports)."""
    versions: dict[str, list[str]] = {}
    for need in requester.facts.version_needs:
        versions.setdefault(need.file, []).extend(v.name for v in need.versions if not v.weak)
    symbols: dict[str, list[tuple[str, str]]] = {}
    for file, sym, version in requester.facts.symbols.versioned_imports:
        symbols.setdefault(file, []).append((sym, version))
    return versions, symbols


def _exclusion(requester: str, name: str, provider: str, verdict: Verdict) -> Exclusion | None:
    if verdict is None:
        return None
    kind, what = verdict
    return Exclusion(requester, name, provider, ExclusionKind(kind), what)


def _safe_exports(provider: Provider, sym: str, version: str) -> bool:
    try:
        return provider.facts.symbols.exports(sym, version)
    except AutopatchelfError:
        return False  # an unreadable symbol table exports nothing we can rely on


def _relative_label(path: str, base: str) -> str:
    rel = os.path.relpath(path, base)
    return rel if not rel.startswith("..") else path


def build_problem(
    roots: Sequence[str | ElfFacts],
    source: LibrarySource,
    *,
    allow_substitution: bool = False,
    files: ForeignFiles | None = None,
    glibc_policy: GlibcPolicy = GlibcPolicy.STRICT,
    dlopen: DlopenPolicy | None = None,
    driver_dirs: Sequence[str] = (),
    pairs: PairVerdicts | None = None,
) -> Problem:
    """Read the roots (paths, or facts already read) and gather every candidate and fact
    the encoding needs; ``files`` is where bundled libraries are looked for (the disk);
    ``dlopen`` which dlopen()ed libraries are included; ``driver_dirs`` where driver
    sonames (:mod:`autopatchelf.ldso.drivers`) come from; ``pairs``: version-check
    verdicts shared by the builds over one source and one ``files``."""
    if not roots:
        raise RootError("no file to solve", hint="name at least one ELF file")
    root_facts = [
        r if isinstance(r, ElfFacts) else ElfFacts.read(os.path.abspath(r)) for r in roots
    ]
    first = root_facts[0]
    if loader_name(first) is None:
        raise RootError(
            f"{first.path}: machine {first.machine} ({first.elf_class.name}) is not supported"
        )
    for other in root_facts[1:]:
        reason = incompatibility(first, other)
        if reason is not None:
            raise RootError(
                f"{other.path} cannot share a solve with {first.path}: {reason}",
                hint="solve files of different architectures separately",
            )
    builder = _Builder(source, root_facts, files or DiskFiles(), dlopen, driver_dirs)
    builder.add_foreign(root_facts)
    builder.explore_store(allow_substitution=allow_substitution)
    builder.check_versions(any_glibc=glibc_policy is GlibcPolicy.COMPATIBLE, pairs=pairs)

    glibcs = _find_glibcs(builder, first)
    store_paths = sorted(
        {p.store_path for p in builder.providers.values() if p.store_path is not None}
    )
    closures = {sp: source.closure(sp) for sp in store_paths}
    closure_glibcs = {
        sp: tuple(g for g in glibcs if g in closure)  # (glibcs is sorted)
        for sp, closure in closures.items()
    }
    missing: dict[str, tuple[str, ...]] = {}
    known: list[str] | None = None
    for name in sorted(builder.candidates):
        if builder.candidates[name]:
            continue
        if known is None:
            known = list(source.names())
        missing[name] = closest_names(name, known)
    glibc_names = frozenset(n for n in builder.candidates if is_glibc_name(n))
    hints = _version_hints(builder, known if known is not None else None)
    members = sorted({sp for closure in closures.values() for sp in closure} | set(closures))
    downloads = {sp: s.file_size for sp in members if (s := source.substitute(sp)) is not None}
    rejected = {
        name: tuple(found)
        for name in sorted(builder.candidates)
        if (found := source.rejected(name))
    }
    return Problem(
        roots=tuple(builder.foreign[: len(root_facts)]),
        foreign=tuple(builder.foreign),
        providers=FrozenMap(sorted(builder.providers.items())),
        candidates=FrozenMap(
            (name, tuple(paths)) for name, paths in sorted(builder.candidates.items())
        ),
        fixed=FrozenMap(sorted(builder.fixed.items())),
        free=FrozenMap((path, tuple(names)) for path, names in sorted(builder.free.items())),
        exclusions=tuple(builder.exclusions),
        glibcs=FrozenMap(glibcs),
        glibc_names=glibc_names,
        closure_glibcs=FrozenMap(closure_glibcs),
        closures=FrozenMap(closures),
        missing=FrozenMap(missing),
        notes=tuple(builder.notes),
        hints=hints,
        substitutes=FrozenMap(sorted(builder.substitutes.items())),
        downloads=FrozenMap(downloads),
        rejected=FrozenMap(rejected),
        dlopen=tuple(builder.dlopen),
        drivers=frozenset(builder.drivers),
        driver_missing=tuple(sorted(set(builder.driver_missing))),
    )


def _find_glibcs(builder: _Builder, root: ElfFacts) -> dict[str, Glibc]:
    loader = loader_name(root)
    glibcs: dict[str, Glibc] = {}
    libcs = list(builder.candidates.get("libc.so.6", ()))
    if not libcs and any(f.facts.interpreter for f in builder.foreign):
        # An interpreter but no libc.so.6 among the needs: glibc still supplies the loader.
        libcs = [
            c.path for c in builder.source.candidates("libc.so.6") if builder.admit("libc.so.6", c)
        ]
    for path in libcs:
        libc = builder.providers[path]
        if libc.store_path is None or libc.store_path in glibcs:
            continue
        loader_path = None
        if loader is not None:
            hit = builder.source.lookup(os.path.dirname(path), loader)
            if hit is None:
                for cand in builder.source.candidates(loader):
                    if cand.store_path == libc.store_path:
                        hit = cand
                        break
            loader_path = hit.path if hit is not None else None
        glibcs[libc.store_path] = Glibc(
            libc.store_path, libc.label, glibc_version(libc.facts), loader_path
        )
    return dict(sorted(glibcs.items()))


def _version_hints(builder: _Builder, known: list[str] | None) -> tuple[str, ...]:
    """For versions no candidate defines, name files under a close soname that do."""
    hints: list[str] = []
    foreign = {p.path for p in builder.foreign}
    by_name: dict[str, set[str]] = {}
    for excl in builder.exclusions:
        if excl.requester in foreign and excl.kind is ExclusionKind.VERSION:
            by_name.setdefault(excl.name, set()).add(excl.provider)
    for name, excluded in sorted(by_name.items()):
        if set(builder.candidates.get(name, ())) - excluded:
            continue
        wanted = {e.what for e in builder.exclusions if e.name == name and e.requester in foreign}
        if known is None:
            known = list(builder.source.names())
        for other in closest_names(name, known):
            for cand in builder.source.candidates(other):
                have = sorted(wanted & cand.facts.defined_versions)
                if have:
                    hints.append(
                        f"{builder.source.label(cand.store_path)} defines {', '.join(have)}, "
                        f"but as {other}, not {name}"
                    )
    return tuple(hints)
