"""glibc's dynamic loader, modelled: the only place that knows its rules.

* :mod:`~autopatchelf.ldso.machines`: the machines it serves (loader names, ``$PLATFORM``,
  ``$LIB``, Nix systems) and which objects can share a process;
* :mod:`~autopatchelf.ldso.pathstring`: search path strings (splitting, dynamic string
  tokens, writing one ld.so reads back);
* :mod:`~autopatchelf.ldso.search`: where it looks for a name (DT_RPATH/DT_RUNPATH
  precedence and inheritance, the library path, NODEFLIB, names with a slash, default
  directories);
* :mod:`~autopatchelf.ldso.load`: what it maps, in order (breadth first, soname reuse),
  and what it makes of a file (:class:`~autopatchelf.ldso.load.LoadRole`);
* :mod:`~autopatchelf.ldso.glibc`: what belongs to one glibc build.

Every layer above :mod:`autopatchelf.elf` (index, problem, solution, check, patch) asks
these modules; none repeats a rule. Nothing is imported here eagerly: ``run`` with a lock
uses :mod:`~autopatchelf.ldso.pathstring` alone.
"""
