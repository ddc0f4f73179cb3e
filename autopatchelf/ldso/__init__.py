"""glibc's dynamic loader, modelled: the only place that knows its rules.

* :mod:`~autopatchelf.ldso.machines`: the machines it serves (loader names, ``$PLATFORM``,
  ``$LIB``, Nix systems) and which objects can share a process;
* :mod:`~autopatchelf.ldso.search`: where it looks for a name (DT_RPATH/DT_RUNPATH
  precedence and inheritance, the library path, dynamic string tokens, NODEFLIB, names
  with a slash, default directories) and how to write search paths it reads back;
* :mod:`~autopatchelf.ldso.load`: what it maps, in order (breadth first, soname reuse);
* :mod:`~autopatchelf.ldso.glibc`: what belongs to one glibc build.

Every layer above :mod:`autopatchelf.elf` (index, problem, solution, check, patch) asks
these modules; none repeats a rule.
"""

from autopatchelf.ldso.glibc import GLIBC_SONAMES, glibc_version, is_glibc_name
from autopatchelf.ldso.machines import (
    MACHINES,
    Machine,
    arch_label,
    compatible,
    incompatibility,
    loader_name,
    machine_of,
    nix_system,
)

__all__ = [
    "GLIBC_SONAMES",
    "MACHINES",
    "Machine",
    "arch_label",
    "compatible",
    "glibc_version",
    "incompatibility",
    "is_glibc_name",
    "loader_name",
    "machine_of",
    "nix_system",
]
