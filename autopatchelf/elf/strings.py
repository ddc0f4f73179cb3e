"""Sonames written as strings in a program: what it may pass to ``dlopen()``.

People find a program's run-time libraries by hand with ``strings prog | grep '\\.so'``.
This does the same, on the bytes of the file: NUL-terminated strings that look like a
versioned soname (``libGL.so.1``, ``libvulkan.so.1``). A string is no proof of a dlopen()
(it may be a message, or the name of a DT_NEEDED), so callers list them as hints only.
"""

from __future__ import annotations

import mmap
import os
import re
from typing import Final

#: A versioned soname standing alone as a C string.
_SONAME: Final = re.compile(
    rb"(?<![\x21-\x7e])(lib[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,80}\.so(?:\.[0-9]{1,6}){1,4})\x00"
)
#: Files larger than this are not searched (a hint is not worth reading gigabytes).
MAX_BYTES: Final = 512 << 20
#: At most this many names are returned.
MAX_NAMES: Final = 64


def soname_strings(path: str) -> tuple[str, ...]:
    """The versioned sonames written as strings in the file at ``path``, in file order,
    each once (empty when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0 or size > MAX_BYTES:
                return ()
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                found: dict[str, None] = {}
                for match in _SONAME.finditer(data):
                    found.setdefault(match.group(1).decode("ascii"), None)
                    if len(found) >= MAX_NAMES:
                        break
                return tuple(found)
    except (OSError, ValueError):
        return ()
