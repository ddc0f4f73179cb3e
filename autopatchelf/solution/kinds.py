"""The kinds of problem a binary can have, as stable strings, and what each means."""

from __future__ import annotations

import enum

import attrs

from autopatchelf.frozen import Record


class ProblemKind(enum.Enum):
    """Why a binary would not run on NixOS (or cannot be checked). Stable strings: JSON
    values, SARIF rule ids and baseline keys."""

    MISSING_LIBRARY = "missing-library"
    GLIBC_TOO_NEW = "glibc-too-new"
    MISSING_VERSION = "missing-version"
    MISSING_SYMBOL = "missing-symbol"
    DIAMOND = "diamond"
    GLIBC_CONFLICT = "glibc-conflict"
    WRONG_ARCHITECTURE = "wrong-architecture"
    NO_LOADER = "no-loader"
    #: ``check`` only: each program of an app resolves alone, not together.
    APP_CONFLICT = "app-conflict"
    UNSOLVABLE = "unsolvable"
    #: ``check`` only: a file starting like ELF that cannot be read.
    UNREADABLE_ELF = "unreadable-elf"
    #: ``check`` only: an error inside autopatchelf stopped the check of a binary.
    RESOLVER_ERROR = "resolver-error"


@attrs.frozen(repr=False)
class KindInfo(Record):
    """What a kind means, for people (docs, ``check``'s advice, SARIF's rule catalogue)."""

    #: A CamelCase name (SARIF ``reportingDescriptor.name``).
    name: str
    short: str
    full: str
    #: What to do about it: the hint of a solve that fails this way.
    help: str


KIND_INFO: dict[ProblemKind, KindInfo] = {
    ProblemKind.MISSING_LIBRARY: KindInfo(
        "MissingLibrary",
        "A needed library is in no store path",
        "The binary needs a shared library (DT_NEEDED soname) that no file in the store "
        "(or the --within closures) provides.",
        "add a package providing it to the store or --within, look in binary caches "
        "(--nix-index, --remote-paths), bundle it, or accept it "
        "with --allow-missing NAME if the program never loads it",
    ),
    ProblemKind.GLIBC_TOO_NEW: KindInfo(
        "GlibcTooNew",
        "Needs a newer glibc than the store has",
        "The binary requires a GLIBC_x.y symbol version that every glibc in the store "
        "lacks: it was built against a newer glibc (`version GLIBC_x.y not found`).",
        "use a build made against an older glibc (manylinux, an older distribution), or "
        "add a newer glibc to the store or --within, or take one from a binary cache "
        "(--nix-index, --remote-paths)",
    ),
    ProblemKind.MISSING_VERSION: KindInfo(
        "MissingVersion",
        "No candidate defines a needed symbol version",
        "The binary requires a symbol version (DT_VERNEED) of a library that no "
        "candidate in the store defines.",
        "add a newer build that provides it to the store (or --within): the library "
        "version the binary was built against",
    ),
    ProblemKind.MISSING_SYMBOL: KindInfo(
        "MissingSymbol",
        "No candidate exports a needed versioned symbol",
        "The binary imports a versioned symbol that no candidate library exports.",
        "add a newer build that provides it to the store (or --within): the library "
        "version the binary was built against",
    ),
    ProblemKind.DIAMOND: KindInfo(
        "Diamond",
        "Two copies of one library would be loaded",
        "The only providers of the libraries the binary needs bring different files for "
        "one soname through their closures; ld.so loads only one (a diamond).",
        "pin a consistent set with --prefer, or add builds of these libraries that share "
        "the dependency, or bundle one",
    ),
    ProblemKind.GLIBC_CONFLICT: KindInfo(
        "GlibcConflict",
        "No single glibc fits every library",
        "The libraries the binary needs come from closures built against different "
        "glibcs; a process loads exactly one.",
        "try --glibc compatible, or add builds of these libraries against one glibc",
    ),
    ProblemKind.WRONG_ARCHITECTURE: KindInfo(
        "WrongArchitecture",
        "No library in the store is for this architecture",
        "The binary is for a machine or ELF class (e.g. 32-bit i386) the store has no "
        "libraries for.",
        "add libraries for that architecture (e.g. pkgsi686Linux for i386 programs) to the "
        "store or --within, or use a build for the store's architecture",
    ),
    ProblemKind.NO_LOADER: KindInfo(
        "NoLoader",
        "The glibc ships no loader for this machine",
        "Every glibc that could serve the binary lacks the dynamic loader for its machine.",
        "add a complete glibc for this machine",
    ),
    ProblemKind.APP_CONFLICT: KindInfo(
        "AppConflict",
        "The programs of one app cannot share one solution",
        "Each program resolves alone, but the programs that share bundled libraries "
        "cannot all be served by one choice of providers.",
        "check the app's bundled libraries; try --glibc compatible",
    ),
    ProblemKind.UNSOLVABLE: KindInfo(
        "Unsolvable",
        "The needed libraries cannot all be loaded together",
        "No choice of store providers satisfies every requirement of the binary.",
        "read the explanation: it names the requirements that conflict",
    ),
    ProblemKind.UNREADABLE_ELF: KindInfo(
        "UnreadableElf",
        "A malformed or truncated ELF file",
        "The file starts with the ELF magic but cannot be read as an ELF object.",
        "re-fetch or rebuild the file; remove it if it is not meant to be shipped",
    ),
    ProblemKind.RESOLVER_ERROR: KindInfo(
        "ResolverError",
        "The resolver could not check this binary",
        "An error inside autopatchelf or the store stopped the check of this binary.",
        "please report it, with the binary if you can share it",
    ),
}
