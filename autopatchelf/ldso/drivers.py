"""Graphics and GPU driver libraries: which sonames they are, and where NixOS puts them.

On NixOS the driver libraries (Mesa's or NVIDIA's libGL, libEGL, libvulkan, libcuda...)
are not taken from a package's closure: they come from ``/run/opengl-driver/lib`` (and
``/run/opengl-driver-32/lib`` for i686 programs), which the system points at the drivers
matched to its kernel and GPU. A copy from the store would be the wrong driver (or none
for the hardware), so these sonames are served from a driver dir or not at all.

This table is the one place that knows which sonames are drivers.
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Final

#: fnmatch patterns of driver sonames (libdrm is an ordinary library: not here).
DRIVER_SONAMES: Final = (
    "libGL.so.1",
    "libGLX.so.0",
    "libGLX_*.so.0",
    "libEGL.so.1",
    "libEGL_*.so.0",
    "libGLESv1_CM.so.1",
    "libGLESv2.so.2",
    "libOpenGL.so.0",
    "libGLdispatch.so.0",
    "libvulkan.so.1",
    "libgbm.so.1",
    "libcuda.so.1",
    "libnvcuvid.so.1",
    "libnvoptix.so.1",
    "libnvidia-*.so*",
)

#: NixOS's driver dirs for 64-bit programs and for 32-bit (i686) ones.
DRIVER_DIR_64: Final = "/run/opengl-driver/lib"
DRIVER_DIR_32: Final = "/run/opengl-driver-32/lib"


#: :data:`DRIVER_SONAMES` as one expression: a problem asks about every soname it meets.
_DRIVER_SONAME: Final = re.compile("|".join(fnmatch.translate(p) for p in DRIVER_SONAMES))


def is_driver_soname(name: str) -> bool:
    """Whether ``name`` is a driver library's soname (see :data:`DRIVER_SONAMES`)."""
    return _DRIVER_SONAME.match(name) is not None


def default_driver_dirs(*, bits32: bool) -> tuple[str, ...]:
    """The NixOS driver dir for 64-bit programs (or, ``bits32``, 32-bit ones), if this
    machine has it. (No ELF import here: a locked ``run`` reads this module.)"""
    directory = DRIVER_DIR_32 if bits32 else DRIVER_DIR_64
    return (directory,) if os.path.isdir(directory) else ()
