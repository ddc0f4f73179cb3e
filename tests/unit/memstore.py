"""An in-memory store: the resolver's declared input, written out by hand.

:class:`MemStore` answers the resolver's :class:`~autopatchelf.problem.source.LibrarySource`
protocol the way the real index does (:mod:`autopatchelf.problem.from_index`,
:mod:`autopatchelf.index.store_index`), and its :attr:`MemStore.files` answers
:class:`~autopatchelf.problem.source.ForeignFiles` for the app's own tree. Nothing is read
from disk: every object is a real :class:`~autopatchelf.elf.facts.ElfFacts` built from a
declarative description (real version tables, real symbol tables), so the resolver sees
exactly what it would read from such files.

The semantics follow the real index:

* store paths are ``/nix/store/<32 chars of nix base32>-<name>``; the hash is derived
  from the name, so ``store.path("libfoo-2.0")`` is the same in every run;
* a library lives in ``<store path>/lib`` (or another dir) under its file name; it answers
  to that name, to the extra link names in its directory, and to its DT_SONAME;
* a store library's own DT_RUNPATH (else DT_RPATH) decides which file its DT_NEEDED gets
  (``resolve_needed``): the first directory of that list holding the name; by default a
  library's RUNPATH is the lib dirs of its references, in order, as a Nix build leaves it;
* a closure is the store path, its references, theirs, and so on;
* every directory holding a file is indexed (the real index indexes a store path's
  standard lib dirs and the directories some RUNPATH names: put libraries there);
* ``version_of`` and ``label`` are the parsed store path's version key and name-version.

Example::

    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("libfoo-2.0", "libfoo.so.1", defines=("FOO_1.0", "FOO_2.0"),
                  exports={"foo_new": "FOO_2.0"}, needs=("libc.so.6",), refs=("glibc-2.36",))
    app = store.program("/app/bin/tool", needs=("libfoo.so.1", "libc.so.6"),
                        version_needs={"libfoo.so.1": ("FOO_2.0",)})
    solution = store.solve([app])
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from autopatchelf.elf.facts import ElfFacts
from autopatchelf.elf.records import (
    DF_1_NODEFLIB,
    DF_1_PIE,
    DefinedSymbol,
    DlopenNote,
    ElfClass,
    ElfType,
    Endian,
    UndefinedSymbol,
    VersionDefinition,
    VersionNeed,
    VersionRequirement,
)
from autopatchelf.elf.symbols import DynamicSymbols
from autopatchelf.options import SolveOptions
from autopatchelf.problem.build import build_problem
from autopatchelf.problem.model import Problem
from autopatchelf.problem.source import StoreFile
from autopatchelf.problem.verdicts import MemoryVerdicts
from autopatchelf.solution.model import Solution
from autopatchelf.solution.solve import solve_problem
from autopatchelf.store.path import is_store_basename, parse_store_path
from autopatchelf.store.substitute import Substitute

STORE_DIR = "/nix/store"
#: Nix's base-32 alphabet (no e, o, t, u).
NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"

#: The GLIBC_x.y versions an x86-64 glibc 2.36 defines, oldest first (read from Debian's
#: bookworm libc.so.6; later releases add one version each).
_GLIBC_VERSIONS_2_36 = (
    "2.2.5", "2.2.6", "2.3", "2.3.2", "2.3.3", "2.3.4", "2.4", "2.5", "2.6", "2.7", "2.8",
    "2.9", "2.10", "2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "2.17", "2.18", "2.22",
    "2.23", "2.24", "2.25", "2.26", "2.27", "2.28", "2.29", "2.30", "2.31", "2.32", "2.33",
    "2.34", "2.35", "2.36",
)  # fmt: skip


@attrs.frozen
class Arch:
    """The identification fields ld.so compares (``open_verify``)."""

    machine: int
    elf_class: ElfClass
    endian: Endian = Endian.LITTLE
    #: The conventional PT_INTERP of programs for it (the host's loader path).
    interpreter: str = ""
    #: The loader's file name.
    loader: str = ""


X86_64 = Arch(
    62, ElfClass.ELF64, Endian.LITTLE, "/lib64/ld-linux-x86-64.so.2", "ld-linux-x86-64.so.2"
)
I386 = Arch(3, ElfClass.ELF32, Endian.LITTLE, "/lib/ld-linux.so.2", "ld-linux.so.2")
AARCH64 = Arch(
    183, ElfClass.ELF64, Endian.LITTLE, "/lib/ld-linux-aarch64.so.1", "ld-linux-aarch64.so.1"
)


def store_hash(name: str) -> str:
    """32 characters of Nix base-32, derived from ``name`` (sha256 bytes onto the alphabet)."""
    digest = hashlib.sha256(name.encode()).digest()
    return "".join(NIX_BASE32[byte % 32] for byte in digest)


def store_path(name: str) -> str:
    """``/nix/store/<hash>-<name>`` for a name-version such as ``libfoo-2.0``."""
    path = f"{STORE_DIR}/{store_hash(name)}-{name}"
    if not is_store_basename(os.path.basename(path)):
        raise ValueError(f"{name!r} is not a valid store path name")
    return path


def elf_hash(name: str) -> int:
    """The SysV ELF hash (``vd_hash``/``vna_hash`` of a version name)."""
    value = 0
    for byte in name.encode():
        value = ((value << 4) + byte) & 0xFFFFFFFF
        high = value & 0xF0000000
        if high:
            value ^= high >> 24
        value &= ~high & 0xFFFFFFFF
    return value


def glibc_versions(newest: str) -> tuple[str, ...]:
    """The ``GLIBC_x.y`` version numbers an x86-64 glibc ``newest`` defines (oldest first)."""
    wanted = tuple(int(p) for p in newest.split("."))
    known = [v for v in _GLIBC_VERSIONS_2_36 if tuple(int(p) for p in v.split(".")) <= wanted]
    known.extend(f"2.{minor}" for minor in range(37, wanted[1] + 1) if wanted[:1] == (2,))
    return tuple(known)


#: An import's version: ``"FOO_2.0"`` (the needed file that lists it in ``version_needs``
#: is found), ``("libfoo.so.1", "FOO_2.0")`` (said explicitly), or None (unversioned).
ImportVersion = str | tuple[str, str] | None


def make_facts(
    path: str,
    *,
    arch: Arch = X86_64,
    type: ElfType = ElfType.SHARED,
    osabi: int = 0,
    interpreter: str | None = None,
    soname: str | None = None,
    needs: Sequence[str] = (),
    runpath: str | None = None,
    rpath: str | None = None,
    nodeflib: bool = False,
    defines: Sequence[str] = (),
    exports: Mapping[str, str | None] | Iterable[DefinedSymbol] = (),
    version_needs: Mapping[str, Sequence[str]] | None = None,
    weak: Iterable[str] = (),
    imports: Mapping[str, ImportVersion] | None = None,
    dlopen: Sequence[DlopenNote] = (),
) -> ElfFacts:
    """The facts of one ELF object, with real version and symbol tables.

    ``defines``: version names it defines (index 2 on; the base definition, index 1, names
    the object). ``exports``: symbol -> version it is defined at (``None``: unversioned),
    or :class:`DefinedSymbol` records (for hidden ``sym@VER`` definitions).
    ``version_needs``: needed file -> versions required from it (``weak``: which of those
    are weak). ``imports``: symbol -> its version (see :data:`ImportVersion`).
    """
    version_needs = dict(version_needs or {})
    for file in version_needs:
        if file not in needs:
            raise ValueError(f"{path}: version needs of {file}, which is not a DT_NEEDED")
    defs: list[VersionDefinition] = []
    if defines:
        base = soname or os.path.basename(path)
        defs.append(VersionDefinition(base, elf_hash(base), 1, base=True))
        defs.extend(
            VersionDefinition(name, elf_hash(name), index, base=False)
            for index, name in enumerate(defines, start=2)
        )
    weak_names = frozenset(weak)
    next_index = max(len(defs) + 1, 2)  # vna_other: unique, past the definitions
    need_records: list[VersionNeed] = []
    for file, versions in version_needs.items():
        requirements = []
        for name in versions:
            requirements.append(
                VersionRequirement(name, elf_hash(name), name in weak_names, next_index)
            )
            next_index += 1
        need_records.append(VersionNeed(file, tuple(requirements)))
    if isinstance(exports, Mapping):
        defined = [DefinedSymbol(name, version) for name, version in exports.items()]
    else:
        defined = list(exports)
    undefined = [
        _import(path, name, version, version_needs) for name, version in (imports or {}).items()
    ]
    flags_1 = (DF_1_NODEFLIB if nodeflib else 0) | (DF_1_PIE if type is ElfType.PIE else 0)
    version_defs = tuple(defs)
    version_need_records = tuple(need_records)
    return ElfFacts(
        path=path,
        elf_class=arch.elf_class,
        endian=arch.endian,
        machine=arch.machine,
        osabi=osabi,
        type=type,
        interpreter=interpreter,
        soname=soname,
        needed=tuple(needs),
        rpath=rpath,
        runpath=runpath,
        flags=0,
        flags_1=flags_1,
        version_needs=version_need_records,
        version_defs=version_defs,
        symbols=DynamicSymbols.build(
            defined,
            undefined,
            version_needs=version_need_records,
            version_defs=version_defs,
            path=path,
        ),
        dlopen=tuple(dlopen),
    )


def _import(
    path: str, name: str, version: ImportVersion, version_needs: Mapping[str, Sequence[str]]
) -> UndefinedSymbol:
    if version is None:
        return UndefinedSymbol(name, None, None)
    if isinstance(version, tuple):
        file, wanted = version
        return UndefinedSymbol(name, wanted, file)
    files = [file for file, versions in version_needs.items() if version in versions]
    if len(files) != 1:
        raise ValueError(f"{path}: import {name}@{version}: {len(files)} needed files list it")
    return UndefinedSymbol(name, version, files[0])


@attrs.frozen
class MemFile:
    """A store library (:class:`~autopatchelf.problem.source.StoreFile`)."""

    path: str
    store_path: str
    facts: ElfFacts = attrs.field(eq=False, repr=False)


@attrs.frozen
class GlibcBuild:
    """The files of one glibc store path."""

    store_path: str
    libc: MemFile
    loader: MemFile | None
    #: soname -> file, for every library it holds (libc and the loader included).
    files: Mapping[str, MemFile] = attrs.field(eq=False)


_DEFAULT = object()
_ORIGIN = re.compile(r"\$(?:\{ORIGIN\}|ORIGIN(?![A-Za-z0-9_]))")
_LIB = re.compile(r"\$(?:\{LIB\}|LIB(?![A-Za-z0-9_]))")


class MemFiles:
    """The app's own files (:class:`~autopatchelf.problem.source.ForeignFiles`): ELF
    objects and symlinks at absolute paths, nothing on disk."""

    def __init__(self) -> None:
        self.objects: dict[str, ElfFacts] = {}
        self.links: dict[str, str] = {}

    def add(self, facts: ElfFacts) -> ElfFacts:
        path = os.path.normpath(facts.path)
        if path != facts.path:
            raise ValueError(f"give foreign files a normal absolute path, not {facts.path!r}")
        if path in self.objects or path in self.links:
            raise ValueError(f"{path} is already there")
        self.objects[path] = facts
        return facts

    def link(self, path: str, target: str) -> None:
        """A symlink at ``path`` to ``target`` (absolute, or relative to its directory)."""
        path = os.path.normpath(path)
        if path in self.objects or path in self.links:
            raise ValueError(f"{path} is already there")
        self.links[path] = target

    # -- ForeignFiles ------------------------------------------------------------------

    def real(self, path: str) -> str:
        path = os.path.normpath(path)
        for _ in range(40):  # ELOOP
            target = self.links.get(path)
            if target is None:
                return path
            path = os.path.normpath(os.path.join(os.path.dirname(path), target))
        raise ValueError(f"{path}: too many levels of symbolic links")

    def facts(self, path: str) -> ElfFacts | None:
        return self.objects.get(self.real(path))

    def names(self, directory: str) -> frozenset[str]:
        directory = os.path.normpath(directory)
        return frozenset(
            os.path.basename(p)
            for p in (*self.objects, *self.links)
            if os.path.dirname(p) == directory
        )


class MemStore:
    """A store of libraries described in memory (:class:`LibrarySource`), plus the app's
    own files (:attr:`files`, a :class:`ForeignFiles`)."""

    def __init__(self, arch: Arch = X86_64) -> None:
        self.arch = arch
        self.files = MemFiles()
        self._files: dict[str, MemFile] = {}
        #: lib dir -> entry name -> the real file it leads to.
        self._dirs: dict[str, dict[str, str]] = {}
        self._refs: dict[str, list[str]] = {}
        #: Store paths not realised: bytes to download each (as a binary cache says).
        self._downloads: dict[str, int] = {}
        self._rejected: dict[str, list[tuple[str, str]]] = {}
        #: Where verdicts are kept between solves (:meth:`keep_verdicts`), as the index does.
        self.verdict_store: MemoryVerdicts | None = None

    def keep_verdicts(self) -> MemoryVerdicts:
        """Keep version-check verdicts from now on, each store file keyed by a digest of
        its facts (as the index keys its files)."""
        keys = {
            path: hashlib.blake2b(file.facts.to_blob(), digest_size=16).digest()
            for path, file in self._files.items()
        }
        self.verdict_store = MemoryVerdicts(keys)
        return self.verdict_store

    # -- describing the store ------------------------------------------------------------

    @staticmethod
    def path(name: str) -> str:
        """The store path of ``name`` (``libfoo-2.0``), declared or not."""
        return store_path(name)

    def lib_dir(self, name: str, lib_dir: str = "lib") -> str:
        return f"{store_path(name)}/{lib_dir}"

    def file(self, path: str) -> MemFile:
        return self._files[path]

    def unrealised(self, name: str, file_size: int) -> None:
        """Store path ``name`` is not in the store: a binary cache has it, ``file_size``
        bytes to download."""
        self._downloads[store_path(name)] = file_size

    def reject(self, soname: str, name: str, why: str) -> None:
        """An unrealised store path ``name`` would provide ``soname`` but may not be used."""
        self._rejected.setdefault(soname, []).append((store_path(name), why))

    def refer(self, name: str, *refs: str) -> None:
        """Record that store path ``name`` refers to ``refs`` (names)."""
        known = self._refs.setdefault(store_path(name), [])
        for ref in refs:
            if store_path(ref) not in known:
                known.append(store_path(ref))

    def library(
        self,
        name: str,
        soname: str | None,
        *,
        file: str | None = None,
        links: Sequence[str] = (),
        lib_dir: str = "lib",
        defines: Sequence[str] = (),
        exports: Mapping[str, str | None] | Iterable[DefinedSymbol] = (),
        needs: Sequence[str] = (),
        version_needs: Mapping[str, Sequence[str]] | None = None,
        weak: Iterable[str] = (),
        imports: Mapping[str, ImportVersion] | None = None,
        refs: Sequence[str] = (),
        runpath: str | object | None = _DEFAULT,
        rpath: str | None = None,
        nodeflib: bool = False,
        arch: Arch | None = None,
        osabi: int = 0,
        dlopen: Sequence[DlopenNote] = (),
    ) -> MemFile:
        """A library file in store path ``name``, at ``<lib_dir>/<file or soname>``.

        ``links``: more names for it in its directory (``libfoo.so.1`` next to
        ``libfoo.so.1.2.3``). ``refs``: the store paths (names) it refers to; its RUNPATH
        is their lib dirs, in order, unless ``runpath`` is given (``None``: none).
        """
        sp = store_path(name)
        filename = file or soname
        if filename is None:
            raise ValueError("a library needs a file name or a soname")
        path = f"{sp}/{lib_dir}/{filename}"
        if runpath is _DEFAULT:
            runpath = ":".join(self.lib_dir(ref) for ref in refs) or None
        assert runpath is None or isinstance(runpath, str)
        facts = make_facts(
            path,
            arch=arch or self.arch,
            osabi=osabi,
            soname=soname,
            needs=needs,
            runpath=runpath,
            rpath=rpath,
            nodeflib=nodeflib,
            defines=defines,
            exports=exports,
            version_needs=version_needs,
            weak=weak,
            imports=imports,
            dlopen=dlopen,
        )
        return self.add_file(name, facts, links=links, refs=refs)

    def add_file(
        self, name: str, facts: ElfFacts, *, links: Sequence[str] = (), refs: Sequence[str] = ()
    ) -> MemFile:
        """Put ready-made facts (their path inside store path ``name``) into the store."""
        sp = store_path(name)
        if not facts.path.startswith(sp + "/"):
            raise ValueError(f"{facts.path} is not inside {sp}")
        if facts.path in self._files:
            raise ValueError(f"{facts.path} is already in the store")
        found = MemFile(facts.path, sp, facts)
        self._files[facts.path] = found
        entries = self._dirs.setdefault(os.path.dirname(facts.path), {})
        for entry in (os.path.basename(facts.path), *links):
            if entry in entries:
                raise ValueError(f"{os.path.dirname(facts.path)}/{entry} is already there")
            entries[entry] = facts.path
        self.refer(name, *refs)
        return found

    def link(self, name: str, entry: str, target: MemFile) -> None:
        """A symlink ``<store path of name>/<entry>`` to ``target`` (a symlink farm, such
        as ``buildEnv``'s); ``name`` then refers to ``target``'s store path."""
        path = f"{store_path(name)}/{entry}"
        entries = self._dirs.setdefault(os.path.dirname(path), {})
        if os.path.basename(path) in entries:
            raise ValueError(f"{path} is already there")
        entries[os.path.basename(path)] = target.path
        known = self._refs.setdefault(store_path(name), [])
        if target.store_path not in known:
            known.append(target.store_path)

    def glibc(
        self,
        name: str = "glibc-2.36",
        versions: Sequence[str] | None = None,
        *,
        loader: bool = True,
        libs: Sequence[str] = (),
        exports: Mapping[str, str | None] | None = None,
        arch: Arch | None = None,
    ) -> GlibcBuild:
        """A glibc store path: ``lib/libc.so.6`` defining ``GLIBC_<v>`` for ``versions``
        (default: those of the release in ``name``) and ``GLIBC_PRIVATE``, the loader (with
        ``loader``), and ``libs`` (``libm.so.6``...) needing libc.so.6, as glibc installs
        them: no RUNPATH (they are found in the loader's default directory).

        libc.so.6 needs the loader (DT_NEEDED and ``GLIBC_PRIVATE``) when it ships one.
        """
        arch = arch or self.arch
        if versions is None:
            parsed = parse_store_path(store_path(name))
            assert parsed is not None and parsed.version is not None, name
            versions = glibc_versions(parsed.version.split("-")[0])
        defined = (*(f"GLIBC_{v}" for v in versions), "GLIBC_PRIVATE")
        sp = store_path(name)
        files: dict[str, MemFile] = {}
        libc_needs = (arch.loader,) if loader else ()
        libc_exports = dict(exports or {})
        libc_exports.setdefault("__libc_start_main", defined[0])
        files["libc.so.6"] = self.add_file(
            name,
            make_facts(
                f"{sp}/lib/libc.so.6",
                arch=arch,
                osabi=3,
                soname="libc.so.6",
                needs=libc_needs,
                defines=defined,
                exports=libc_exports,
                version_needs={arch.loader: ("GLIBC_PRIVATE",)} if loader else None,
            ),
        )
        loader_file = None
        if loader:
            loader_file = files[arch.loader] = self.add_file(
                name,
                make_facts(
                    f"{sp}/lib/{arch.loader}",
                    arch=arch,
                    osabi=3,
                    soname=arch.loader,
                    defines=(f"GLIBC_{versions[0]}", "GLIBC_PRIVATE"),
                    exports={"_dl_find_object": "GLIBC_PRIVATE"},
                ),
            )
        for lib in libs:
            files[lib] = self.add_file(
                name,
                make_facts(
                    f"{sp}/lib/{lib}",
                    arch=arch,
                    osabi=3,
                    soname=lib,
                    needs=("libc.so.6",),
                    defines=(f"GLIBC_{versions[0]}",),
                    version_needs={"libc.so.6": ("GLIBC_PRIVATE",)},
                ),
            )
        self._refs.setdefault(sp, [])
        return GlibcBuild(sp, files["libc.so.6"], loader_file, files)

    # -- describing the app ----------------------------------------------------------------

    def program(
        self,
        path: str,
        *,
        needs: Sequence[str] = (),
        version_needs: Mapping[str, Sequence[str]] | None = None,
        weak: Iterable[str] = (),
        imports: Mapping[str, ImportVersion] | None = None,
        exports: Mapping[str, str | None] | Iterable[DefinedSymbol] = (),
        runpath: str | None = None,
        rpath: str | None = None,
        interpreter: str | object | None = _DEFAULT,
        nodeflib: bool = False,
        arch: Arch | None = None,
        dlopen: Sequence[DlopenNote] = (),
    ) -> ElfFacts:
        """A foreign executable (PIE with an interpreter, the host's loader by default)."""
        arch = arch or self.arch
        if interpreter is _DEFAULT:
            interpreter = arch.interpreter
        assert interpreter is None or isinstance(interpreter, str)
        return self.files.add(
            make_facts(
                path,
                arch=arch,
                type=ElfType.PIE if interpreter else ElfType.EXECUTABLE,
                interpreter=interpreter,
                needs=needs,
                runpath=runpath,
                rpath=rpath,
                nodeflib=nodeflib,
                exports=exports,
                version_needs=version_needs,
                weak=weak,
                imports=imports,
                dlopen=dlopen,
            )
        )

    def bundled(
        self,
        path: str,
        soname: str | None = None,
        *,
        needs: Sequence[str] = (),
        defines: Sequence[str] = (),
        exports: Mapping[str, str | None] | Iterable[DefinedSymbol] = (),
        version_needs: Mapping[str, Sequence[str]] | None = None,
        imports: Mapping[str, ImportVersion] | None = None,
        runpath: str | None = None,
        rpath: str | None = None,
        nodeflib: bool = False,
        arch: Arch | None = None,
    ) -> ElfFacts:
        """A library the app ships in its own tree (its soname: its file name by default)."""
        return self.files.add(
            make_facts(
                path,
                arch=arch or self.arch,
                soname=soname or os.path.basename(path),
                needs=needs,
                defines=defines,
                exports=exports,
                version_needs=version_needs,
                imports=imports,
                runpath=runpath,
                rpath=rpath,
                nodeflib=nodeflib,
            )
        )

    # -- running the resolver ----------------------------------------------------------------

    def problem(self, roots: Sequence[ElfFacts], *, allow_substitution: bool = False) -> Problem:
        return build_problem(roots, self, allow_substitution=allow_substitution, files=self.files)

    def solve(
        self,
        roots: Sequence[ElfFacts],
        *,
        in_use: Iterable[str] = (),
        names: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Solution:
        """:func:`solve_problem` over this store; ``options`` are :class:`SolveOptions`'s."""
        return solve_problem(
            roots,
            self,
            SolveOptions(**options),
            in_use=frozenset(in_use),
            names=names,
            files=self.files,
        )

    # -- LibrarySource -----------------------------------------------------------------------

    def _names_of(self, path: str) -> set[str]:
        names = {
            entry
            for entries in self._dirs.values()
            for entry, target in entries.items()
            if target == path
        }
        soname = self._files[path].facts.soname
        if soname:
            names.add(soname)
        return names

    def candidates(self, name: str) -> Sequence[MemFile]:
        found = [self._files[p] for p in self._files if name in self._names_of(p)]
        return sorted(found, key=lambda f: (_sort_key(f.store_path), f.path))

    def lookup(self, directory: str, name: str) -> MemFile | None:
        path = self._dirs.get(os.path.normpath(directory), {}).get(name)
        return self._files[path] if path is not None else None

    def entry_names(self, directory: str) -> Sequence[str]:
        return tuple(sorted(self._dirs.get(os.path.normpath(directory), {})))

    def resolve_needed(self, file: StoreFile, name: str) -> MemFile | None:
        """The first directory of ``file``'s own RUNPATH (else RPATH) that holds ``name``;
        only directories inside the store count (``$ORIGIN`` is the file's directory)."""
        facts = file.facts
        raw = facts.runpath if facts.runpath is not None else facts.rpath
        origin = os.path.dirname(file.path)
        for element in (raw or "").split(":"):
            directory = _LIB.sub("lib", _ORIGIN.sub(origin, element))
            if not os.path.isabs(directory) or "$" in directory:
                continue
            directory = os.path.normpath(directory)
            if not self.is_store_path(directory):
                continue
            hit = self.lookup(directory, name)
            if hit is not None:
                return hit
        return None

    def closure(self, store_path: str) -> frozenset[str]:
        seen = {store_path}
        todo = [store_path]
        while todo:
            for ref in self._refs.get(todo.pop(), ()):
                if ref not in seen:
                    seen.add(ref)
                    todo.append(ref)
        return frozenset(seen)

    def is_store_path(self, path: str) -> bool:
        if not path.startswith(STORE_DIR + "/"):
            return False
        return is_store_basename(path[len(STORE_DIR) + 1 :].split("/", 1)[0])

    def names(self) -> Sequence[str]:
        return tuple(sorted({n for p in self._files for n in self._names_of(p)}))

    def version_of(self, store_path: str) -> tuple[object, ...]:
        parsed = parse_store_path(store_path)
        return parsed.version_key if parsed is not None else ()

    def label(self, store_path: str) -> str:
        parsed = parse_store_path(store_path)
        return parsed.name_version if parsed is not None else store_path

    def substitute(self, store_path: str) -> Substitute | None:
        size = self._downloads.get(store_path)
        if size is None:
            return None
        return Substitute(store_path, size, size * 3, "https://cache.example.org")

    def rejected(self, name: str) -> Sequence[tuple[str, str]]:
        return tuple(self._rejected.get(name, ()))

    def verdicts(self) -> MemoryVerdicts | None:
        return self.verdict_store


def _sort_key(path: str) -> tuple[object, ...]:
    parsed = parse_store_path(path)
    assert parsed is not None
    return parsed.sort_key
