"""autopatchelf.actions.observe: glibc's loader trace, parsed from recorded text and
observed on real runs on this host (Debian 12, glibc 2.36)."""

from __future__ import annotations

import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopatchelf.actions.observe import (
    FailedLoad,
    Observation,
    Opened,
    parse_trace,
    run_observed,
)
from autopatchelf.errors import RunError

# -- recorded traces -------------------------------------------------------------------------
#
# Verbatim output of ``LD_DEBUG=libs,files LD_DEBUG_OUTPUT=...`` on Debian 12 (glibc 2.36).
# SQLITE is a whole trace. The others are excerpts, in order: left out are blank lines,
# ``dynamic:``/``entry:`` lines, tries of the glibc-hwcaps, tls and x86_64 subdirectories
# of /lib and /usr/lib, over-long search-path lines, and (FAIL, EXEC, EXECFAIL, REEXEC)
# python3's libm, libz and libexpat, (PRELOAD) an unsearched libnopre.so.
#
#   SQLITE    python3 -c 'import ctypes; ctypes.CDLL("libsqlite3.so.0")'
#   FAIL      python3, ctypes.CDLL of libdoesnotexist.so.7, /nonexist/libq.so, /etc/passwd
#             (all fail), /usr/lib/x86_64-linux-gnu/libz.so.1, then libz.so.1
#   MISSING   ./m: NEEDED libmiss.so.1, absent; RUNPATH /tmp/ldx/nonexist
#   LOADER    /lib64/ld-linux-x86-64.so.2 /usr/bin/true
#   DEP       ./d dlopens /tmp/ldx/libdep.so.1 (NEEDED libmiss.so.1, absent), libz.so.1,
#             then dlmopen(LM_ID_NEWLM, "libbz2.so.1.0")
#   ALIAS     ./alias/main: NEEDED libfoo.so.1, libbar.so.1; libbar.so.1 NEEDED
#             libfoo.so.1.0, a symbolic link to libfoo.so.1
#   CTOR      ./d dlopens /tmp/ldx/libctor.so, whose constructor dlopens libbz2.so.1.0 and
#             libnotthere.so.3 (absent)
#   VERSION   ./d dlopens /tmp/ldx/ver/libuser.so.1 (needs version V1 of libv.so.1, which
#             defines V2), then libbz2.so.1.0
#   EXEC      sh -c 'exec /usr/bin/python3 -c "...ctypes.CDLL(\"libbz2.so.1.0\")"'
#   EXECFAIL  python3: a failing ctypes.CDLL("libdoesnotexist.so.7"), then
#             os.execv("/bin/true", ["true"])
#   REEXEC    python3: the same failing dlopen, then os.execv of python3 itself, which
#             dlopens libbz2.so.1.0
#   ORIGIN    ./d dlopens '$ORIGIN/libpre.so', './libpre.so', '$ORIGIN/nope.so' (absent)
#   PRELOAD   LD_PRELOAD="libnopre.so /tmp/ldx/libpre.so libnopre2.so /tmp/ldx/nonexist.so"
#             /usr/bin/true (the two absent ones ignored by ld.so with a warning)

SQLITE = """\
      4826:\t
      4826:\tfile=libm.so.6 [0];  needed by /usr/bin/python3 [0]
      4826:\tfind library=libm.so.6 [0]; searching
      4826:\t search cache=/etc/ld.so.cache
      4826:\t  trying file=/lib/x86_64-linux-gnu/libm.so.6
      4826:\t
      4826:\tfile=libm.so.6 [0];  generating link map
      4826:\t  dynamic: 0x00007f5eae999d48  base: 0x00007f5eae8bb000   size: 0x00000000000df110
      4826:\t    entry: 0x00007f5eae8bb000  phdr: 0x00007f5eae8bb040  phnum:                 11
      4826:\t
      4826:\t
      4826:\tfile=libz.so.1 [0];  needed by /usr/bin/python3 [0]
      4826:\tfind library=libz.so.1 [0]; searching
      4826:\t search cache=/etc/ld.so.cache
      4826:\t  trying file=/lib/x86_64-linux-gnu/libz.so.1
      4826:\t
      4826:\tfile=libz.so.1 [0];  generating link map
      4826:\t  dynamic: 0x00007f5eae8b9dd0  base: 0x00007f5eae89c000   size: 0x000000000001e190
      4826:\t    entry: 0x00007f5eae89c000  phdr: 0x00007f5eae89c040  phnum:                  9
      4826:\t
      4826:\t
      4826:\tfile=libexpat.so.1 [0];  needed by /usr/bin/python3 [0]
      4826:\tfind library=libexpat.so.1 [0]; searching
      4826:\t search cache=/etc/ld.so.cache
      4826:\t  trying file=/lib/x86_64-linux-gnu/libexpat.so.1
      4826:\t
      4826:\tfile=libexpat.so.1 [0];  generating link map
      4826:\t  dynamic: 0x00007f5eae89adc0  base: 0x00007f5eae871000   size: 0x000000000002a080
      4826:\t    entry: 0x00007f5eae871000  phdr: 0x00007f5eae871040  phnum:                  9
      4826:\t
      4826:\t
      4826:\tfile=libc.so.6 [0];  needed by /usr/bin/python3 [0]
      4826:\tfind library=libc.so.6 [0]; searching
      4826:\t search cache=/etc/ld.so.cache
      4826:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4826:\t
      4826:\tfile=libc.so.6 [0];  generating link map
      4826:\t  dynamic: 0x00007f5eae861b60  base: 0x00007f5eae68f000   size: 0x00000000001e1f50
      4826:\t    entry: 0x00007f5eae6b6410  phdr: 0x00007f5eae68f040  phnum:                 14
      4826:\t
      4826:\t
      4826:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4826:\t
      4826:\t
      4826:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4826:\t
      4826:\t
      4826:\tcalling init: /lib/x86_64-linux-gnu/libexpat.so.1
      4826:\t
      4826:\t
      4826:\tcalling init: /lib/x86_64-linux-gnu/libz.so.1
      4826:\t
      4826:\t
      4826:\tcalling init: /lib/x86_64-linux-gnu/libm.so.6
      4826:\t
      4826:\t
      4826:\tinitialize program: /usr/bin/python3
      4826:\t
      4826:\t
      4826:\ttransferring control: /usr/bin/python3
      4826:\t
      4826:\t
      4826:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  dynamically loaded by /usr/bin/python3 [0]
      4826:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  generating link map
      4826:\t  dynamic: 0x00007f5eae3cbce8  base: 0x00007f5eae3ae000   size: 0x0000000000021a80
      4826:\t    entry: 0x00007f5eae3ae000  phdr: 0x00007f5eae3ae040  phnum:                  9
      4826:\t
      4826:\t
      4826:\tfile=libffi.so.8 [0];  needed by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4826:\tfind library=libffi.so.8 [0]; searching
      4826:\t search cache=/etc/ld.so.cache
      4826:\t  trying file=/lib/x86_64-linux-gnu/libffi.so.8
      4826:\t
      4826:\tfile=libffi.so.8 [0];  generating link map
      4826:\t  dynamic: 0x00007f5eae3a2db8  base: 0x00007f5eae398000   size: 0x000000000000b668
      4826:\t    entry: 0x00007f5eae398000  phdr: 0x00007f5eae398040  phnum:                  9
      4826:\t
      4826:\t
      4826:\tcalling init: /lib/x86_64-linux-gnu/libffi.so.8
      4826:\t
      4826:\t
      4826:\tcalling init: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so
      4826:\t
      4826:\topening file=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]; direct_opencount=1
      4826:\t
      4826:\topening file= [0]; direct_opencount=2
      4826:\t
      4826:\t
      4826:\tfile=libsqlite3.so.0 [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4826:\tfind library=libsqlite3.so.0 [0]; searching
      4826:\t search cache=/etc/ld.so.cache
      4826:\t  trying file=/lib/x86_64-linux-gnu/libsqlite3.so.0
      4826:\t
      4826:\tfile=libsqlite3.so.0 [0];  generating link map
      4826:\t  dynamic: 0x00007f5eae391598  base: 0x00007f5eae239000   size: 0x000000000015ef58
      4826:\t    entry: 0x00007f5eae239000  phdr: 0x00007f5eae239040  phnum:                  9
      4826:\t
      4826:\t
      4826:\tcalling init: /lib/x86_64-linux-gnu/libsqlite3.so.0
      4826:\t
      4826:\topening file=/lib/x86_64-linux-gnu/libsqlite3.so.0 [0]; direct_opencount=1
      4826:\t
      4826:\t
      4826:\tcalling fini:  [0]
      4826:\t
      4826:\t
      4826:\tcalling fini: /lib/x86_64-linux-gnu/libz.so.1 [0]
      4826:\t
      4826:\t
      4826:\tcalling fini: /lib/x86_64-linux-gnu/libexpat.so.1 [0]
      4826:\t
      4826:\t
      4826:\tcalling fini: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4826:\t
      4826:\t
      4826:\tcalling fini: /lib/x86_64-linux-gnu/libffi.so.8 [0]
      4826:\t
      4826:\t
      4826:\tcalling fini: /lib/x86_64-linux-gnu/libsqlite3.so.0 [0]
      4826:\t
      4826:\t
      4826:\tcalling fini: /lib/x86_64-linux-gnu/libm.so.6 [0]
      4826:\t
      4826:\t
      4826:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4826:\t
      4826:\t
      4826:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
      4826:\t
"""  # noqa: E501

FAIL = """\
      4827:\tfile=libc.so.6 [0];  needed by /usr/bin/python3 [0]
      4827:\tfind library=libc.so.6 [0]; searching
      4827:\t search cache=/etc/ld.so.cache
      4827:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4827:\tfile=libc.so.6 [0];  generating link map
      4827:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4827:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4827:\tcalling init: /lib/x86_64-linux-gnu/libexpat.so.1
      4827:\tcalling init: /lib/x86_64-linux-gnu/libz.so.1
      4827:\tcalling init: /lib/x86_64-linux-gnu/libm.so.6
      4827:\tinitialize program: /usr/bin/python3
      4827:\ttransferring control: /usr/bin/python3
      4827:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  dynamically loaded by /usr/bin/python3 [0]
      4827:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  generating link map
      4827:\tfile=libffi.so.8 [0];  needed by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4827:\tfind library=libffi.so.8 [0]; searching
      4827:\t search cache=/etc/ld.so.cache
      4827:\t  trying file=/lib/x86_64-linux-gnu/libffi.so.8
      4827:\tfile=libffi.so.8 [0];  generating link map
      4827:\tcalling init: /lib/x86_64-linux-gnu/libffi.so.8
      4827:\tcalling init: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so
      4827:\topening file=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]; direct_opencount=1
      4827:\topening file= [0]; direct_opencount=2
      4827:\tfile=libdoesnotexist.so.7 [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4827:\tfind library=libdoesnotexist.so.7 [0]; searching
      4827:\t search cache=/etc/ld.so.cache
      4827:\t  trying file=/lib/x86_64-linux-gnu/libdoesnotexist.so.7
      4827:\t  trying file=/usr/lib/x86_64-linux-gnu/libdoesnotexist.so.7
      4827:\t  trying file=/lib/libdoesnotexist.so.7
      4827:\t  trying file=/usr/lib/libdoesnotexist.so.7
      4827:\tfile=/nonexist/libq.so [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4827:\tfile=/etc/passwd [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4827:\tfile=/usr/lib/x86_64-linux-gnu/libz.so.1 [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4827:\topening file=/lib/x86_64-linux-gnu/libz.so.1 [0]; direct_opencount=1
      4827:\topening file=/lib/x86_64-linux-gnu/libz.so.1 [0]; direct_opencount=2
      4827:\tcalling fini:  [0]
      4827:\tcalling fini: /lib/x86_64-linux-gnu/libm.so.6 [0]
      4827:\tcalling fini: /lib/x86_64-linux-gnu/libz.so.1 [0]
      4827:\tcalling fini: /lib/x86_64-linux-gnu/libexpat.so.1 [0]
      4827:\tcalling fini: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4827:\tcalling fini: /lib/x86_64-linux-gnu/libffi.so.8 [0]
      4827:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4827:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""  # noqa: E501

MISSING = """\
      4828:\tfile=libmiss.so.1 [0];  needed by ./m [0]
      4828:\tfind library=libmiss.so.1 [0]; searching
      4828:\t search path=/tmp/ldx/nonexist/glibc-hwcaps/x86-64-v3:/tmp/ldx/nonexist/glibc-hwcaps/x86-64-v2:/tmp/ldx/nonexist/tls/x86_64/x86_64:/tmp/ldx/nonexist/tls/x86_64:/tmp/ldx/nonexist/tls/x86_64:/tmp/ldx/nonexist/tls:/tmp/ldx/nonexist/x86_64/x86_64:/tmp/ldx/nonexist/x86_64:/tmp/ldx/nonexist/x86_64:/tmp/ldx/nonexist\t\t(RUNPATH from file ./m)
      4828:\t  trying file=/tmp/ldx/nonexist/glibc-hwcaps/x86-64-v3/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/glibc-hwcaps/x86-64-v2/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/tls/x86_64/x86_64/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/tls/x86_64/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/tls/x86_64/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/tls/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/x86_64/x86_64/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/x86_64/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/x86_64/libmiss.so.1
      4828:\t  trying file=/tmp/ldx/nonexist/libmiss.so.1
      4828:\t search cache=/etc/ld.so.cache
      4828:\t  trying file=/lib/x86_64-linux-gnu/libmiss.so.1
      4828:\t  trying file=/usr/lib/x86_64-linux-gnu/libmiss.so.1
      4828:\t  trying file=/lib/libmiss.so.1
      4828:\t  trying file=/usr/lib/libmiss.so.1
"""  # noqa: E501

LOADER = """\
      4829:\tfile=/usr/bin/true [0];  generating link map
      4829:\tfile=libc.so.6 [0];  needed by /usr/bin/true [0]
      4829:\tfind library=libc.so.6 [0]; searching
      4829:\t search cache=/etc/ld.so.cache
      4829:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4829:\tfile=libc.so.6 [0];  generating link map
      4829:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4829:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4829:\tinitialize program: /usr/bin/true
      4829:\ttransferring control: /usr/bin/true
      4829:\tcalling fini:  [0]
      4829:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4829:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""

DEP = """\
      4830:\tfile=libc.so.6 [0];  needed by ./d [0]
      4830:\tfind library=libc.so.6 [0]; searching
      4830:\t search cache=/etc/ld.so.cache
      4830:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4830:\tfile=libc.so.6 [0];  generating link map
      4830:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4830:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4830:\tinitialize program: ./d
      4830:\ttransferring control: ./d
      4830:\tfile=/tmp/ldx/libdep.so.1 [0];  dynamically loaded by ./d [0]
      4830:\tfile=/tmp/ldx/libdep.so.1 [0];  generating link map
      4830:\tfile=libmiss.so.1 [0];  needed by /tmp/ldx/libdep.so.1 [0]
      4830:\tfind library=libmiss.so.1 [0]; searching
      4830:\t search cache=/etc/ld.so.cache
      4830:\t  trying file=/lib/x86_64-linux-gnu/libmiss.so.1
      4830:\t  trying file=/usr/lib/x86_64-linux-gnu/libmiss.so.1
      4830:\t  trying file=/lib/libmiss.so.1
      4830:\t  trying file=/usr/lib/libmiss.so.1
      4830:\tfile=/tmp/ldx/libdep.so.1 [0];  destroying link map
      4830:\tfile=libz.so.1 [0];  dynamically loaded by ./d [0]
      4830:\tfind library=libz.so.1 [0]; searching
      4830:\t search cache=/etc/ld.so.cache
      4830:\t  trying file=/lib/x86_64-linux-gnu/libz.so.1
      4830:\tfile=libz.so.1 [0];  generating link map
      4830:\tcalling init: /lib/x86_64-linux-gnu/libz.so.1
      4830:\topening file=/lib/x86_64-linux-gnu/libz.so.1 [0]; direct_opencount=1
      4830:\tfile=libbz2.so.1.0 [1];  dynamically loaded by ./d [0]
      4830:\tfind library=libbz2.so.1.0 [1]; searching
      4830:\t search cache=/etc/ld.so.cache
      4830:\t  trying file=/lib/x86_64-linux-gnu/libbz2.so.1.0
      4830:\tfile=libbz2.so.1.0 [1];  generating link map
      4830:\tfile=libc.so.6 [1];  needed by /lib/x86_64-linux-gnu/libbz2.so.1.0 [1]
      4830:\tfind library=libc.so.6 [1]; searching
      4830:\t search cache=/etc/ld.so.cache
      4830:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4830:\tfile=libc.so.6 [1];  generating link map
      4830:\tfile=ld-linux-x86-64.so.2 [1];  needed by /lib/x86_64-linux-gnu/libc.so.6 [1]
      4830:\tfind library=ld-linux-x86-64.so.2 [1]; searching
      4830:\t search cache=/etc/ld.so.cache
      4830:\t  trying file=/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
      4830:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4830:\tcalling init: /lib/x86_64-linux-gnu/libbz2.so.1.0
      4830:\topening file=/lib/x86_64-linux-gnu/libbz2.so.1.0 [1]; direct_opencount=1
      4830:\tcalling fini: /lib/x86_64-linux-gnu/libbz2.so.1.0 [1]
      4830:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [1]
      4830:\tcalling fini:  [0]
      4830:\tcalling fini: /lib/x86_64-linux-gnu/libz.so.1 [0]
      4830:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4830:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""

ALIAS = """\
      4831:\tfile=libfoo.so.1 [0];  needed by ./alias/main [0]
      4831:\tfind library=libfoo.so.1 [0]; searching
      4831:\t search path=/tmp/ldx/alias/glibc-hwcaps/x86-64-v3:/tmp/ldx/alias/glibc-hwcaps/x86-64-v2:/tmp/ldx/alias/tls/x86_64/x86_64:/tmp/ldx/alias/tls/x86_64:/tmp/ldx/alias/tls/x86_64:/tmp/ldx/alias/tls:/tmp/ldx/alias/x86_64/x86_64:/tmp/ldx/alias/x86_64:/tmp/ldx/alias/x86_64:/tmp/ldx/alias\t\t(RUNPATH from file ./alias/main)
      4831:\t  trying file=/tmp/ldx/alias/glibc-hwcaps/x86-64-v3/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/glibc-hwcaps/x86-64-v2/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/tls/x86_64/x86_64/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/tls/x86_64/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/tls/x86_64/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/tls/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/x86_64/x86_64/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/x86_64/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/x86_64/libfoo.so.1
      4831:\t  trying file=/tmp/ldx/alias/libfoo.so.1
      4831:\tfile=libfoo.so.1 [0];  generating link map
      4831:\tfile=libbar.so.1 [0];  needed by ./alias/main [0]
      4831:\tfind library=libbar.so.1 [0]; searching
      4831:\t search path=/tmp/ldx/alias\t\t(RUNPATH from file ./alias/main)
      4831:\t  trying file=/tmp/ldx/alias/libbar.so.1
      4831:\tfile=libbar.so.1 [0];  generating link map
      4831:\tfile=libc.so.6 [0];  needed by ./alias/main [0]
      4831:\tfind library=libc.so.6 [0]; searching
      4831:\t search path=/tmp/ldx/alias\t\t(RUNPATH from file ./alias/main)
      4831:\t  trying file=/tmp/ldx/alias/libc.so.6
      4831:\t search cache=/etc/ld.so.cache
      4831:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4831:\tfile=libc.so.6 [0];  generating link map
      4831:\tfile=libfoo.so.1.0 [0];  needed by /tmp/ldx/alias/libbar.so.1 [0]
      4831:\tfind library=libfoo.so.1.0 [0]; searching
      4831:\t search path=/tmp/ldx/alias\t\t(RUNPATH from file ./alias/main)
      4831:\t  trying file=/tmp/ldx/alias/libfoo.so.1.0
      4831:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4831:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4831:\tcalling init: /tmp/ldx/alias/libfoo.so.1
      4831:\tcalling init: /tmp/ldx/alias/libbar.so.1
      4831:\tinitialize program: ./alias/main
      4831:\ttransferring control: ./alias/main
      4831:\tcalling fini:  [0]
      4831:\tcalling fini: /tmp/ldx/alias/libbar.so.1 [0]
      4831:\tcalling fini: /tmp/ldx/alias/libfoo.so.1 [0]
      4831:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4831:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""  # noqa: E501

CTOR = """\
      4833:\tfile=libc.so.6 [0];  needed by ./d [0]
      4833:\tfind library=libc.so.6 [0]; searching
      4833:\t search cache=/etc/ld.so.cache
      4833:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4833:\tfile=libc.so.6 [0];  generating link map
      4833:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4833:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4833:\tinitialize program: ./d
      4833:\ttransferring control: ./d
      4833:\tfile=/tmp/ldx/libctor.so [0];  dynamically loaded by ./d [0]
      4833:\tfile=/tmp/ldx/libctor.so [0];  generating link map
      4833:\tcalling init: /tmp/ldx/libctor.so
      4833:\tfile=libbz2.so.1.0 [0];  dynamically loaded by /tmp/ldx/libctor.so [0]
      4833:\tfind library=libbz2.so.1.0 [0]; searching
      4833:\t search cache=/etc/ld.so.cache
      4833:\t  trying file=/lib/x86_64-linux-gnu/libbz2.so.1.0
      4833:\tfile=libbz2.so.1.0 [0];  generating link map
      4833:\tcalling init: /lib/x86_64-linux-gnu/libbz2.so.1.0
      4833:\topening file=/lib/x86_64-linux-gnu/libbz2.so.1.0 [0]; direct_opencount=1
      4833:\tfile=libnotthere.so.3 [0];  dynamically loaded by /tmp/ldx/libctor.so [0]
      4833:\tfind library=libnotthere.so.3 [0]; searching
      4833:\t search cache=/etc/ld.so.cache
      4833:\t  trying file=/lib/x86_64-linux-gnu/libnotthere.so.3
      4833:\t  trying file=/usr/lib/x86_64-linux-gnu/libnotthere.so.3
      4833:\t  trying file=/lib/libnotthere.so.3
      4833:\t  trying file=/usr/lib/libnotthere.so.3
      4833:\topening file=/tmp/ldx/libctor.so [0]; direct_opencount=1
      4833:\tcalling fini:  [0]
      4833:\tcalling fini: /tmp/ldx/libctor.so [0]
      4833:\tcalling fini: /lib/x86_64-linux-gnu/libbz2.so.1.0 [0]
      4833:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4833:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""

VERSION = """\
      4834:\tfile=libc.so.6 [0];  needed by ./d [0]
      4834:\tfind library=libc.so.6 [0]; searching
      4834:\t search cache=/etc/ld.so.cache
      4834:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4834:\tfile=libc.so.6 [0];  generating link map
      4834:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4834:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4834:\tinitialize program: ./d
      4834:\ttransferring control: ./d
      4834:\tfile=/tmp/ldx/ver/libuser.so.1 [0];  dynamically loaded by ./d [0]
      4834:\tfile=/tmp/ldx/ver/libuser.so.1 [0];  generating link map
      4834:\tfile=libv.so.1 [0];  needed by /tmp/ldx/ver/libuser.so.1 [0]
      4834:\tfind library=libv.so.1 [0]; searching
      4834:\t search path=/tmp/ldx/ver/glibc-hwcaps/x86-64-v3:/tmp/ldx/ver/glibc-hwcaps/x86-64-v2:/tmp/ldx/ver/tls/x86_64/x86_64:/tmp/ldx/ver/tls/x86_64:/tmp/ldx/ver/tls/x86_64:/tmp/ldx/ver/tls:/tmp/ldx/ver/x86_64/x86_64:/tmp/ldx/ver/x86_64:/tmp/ldx/ver/x86_64:/tmp/ldx/ver\t\t(RUNPATH from file /tmp/ldx/ver/libuser.so.1)
      4834:\t  trying file=/tmp/ldx/ver/glibc-hwcaps/x86-64-v3/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/glibc-hwcaps/x86-64-v2/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/tls/x86_64/x86_64/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/tls/x86_64/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/tls/x86_64/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/tls/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/x86_64/x86_64/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/x86_64/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/x86_64/libv.so.1
      4834:\t  trying file=/tmp/ldx/ver/libv.so.1
      4834:\tfile=libv.so.1 [0];  generating link map
      4834:\t/tmp/ldx/ver/libv.so.1: error: version lookup error: version `V1' not found (required by /tmp/ldx/ver/libuser.so.1) (fatal)
      4834:\tfile=/tmp/ldx/ver/libuser.so.1 [0];  destroying link map
      4834:\tfile=/tmp/ldx/ver/libv.so.1 [0];  destroying link map
      4834:\tfile=libbz2.so.1.0 [0];  dynamically loaded by ./d [0]
      4834:\tfind library=libbz2.so.1.0 [0]; searching
      4834:\t search cache=/etc/ld.so.cache
      4834:\t  trying file=/lib/x86_64-linux-gnu/libbz2.so.1.0
      4834:\tfile=libbz2.so.1.0 [0];  generating link map
      4834:\tcalling init: /lib/x86_64-linux-gnu/libbz2.so.1.0
      4834:\topening file=/lib/x86_64-linux-gnu/libbz2.so.1.0 [0]; direct_opencount=1
      4834:\tcalling fini:  [0]
      4834:\tcalling fini: /lib/x86_64-linux-gnu/libbz2.so.1.0 [0]
      4834:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4834:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""  # noqa: E501

EXEC = """\
      4835:\tfile=libc.so.6 [0];  needed by sh [0]
      4835:\tfind library=libc.so.6 [0]; searching
      4835:\t search cache=/etc/ld.so.cache
      4835:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4835:\tfile=libc.so.6 [0];  generating link map
      4835:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4835:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4835:\tinitialize program: sh
      4835:\ttransferring control: sh
      4835:\tfile=libc.so.6 [0];  needed by /usr/bin/python3 [0]
      4835:\tfind library=libc.so.6 [0]; searching
      4835:\t search cache=/etc/ld.so.cache
      4835:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4835:\tfile=libc.so.6 [0];  generating link map
      4835:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4835:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4835:\tcalling init: /lib/x86_64-linux-gnu/libexpat.so.1
      4835:\tcalling init: /lib/x86_64-linux-gnu/libz.so.1
      4835:\tcalling init: /lib/x86_64-linux-gnu/libm.so.6
      4835:\tinitialize program: /usr/bin/python3
      4835:\ttransferring control: /usr/bin/python3
      4835:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  dynamically loaded by /usr/bin/python3 [0]
      4835:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  generating link map
      4835:\tfile=libffi.so.8 [0];  needed by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4835:\tfind library=libffi.so.8 [0]; searching
      4835:\t search cache=/etc/ld.so.cache
      4835:\t  trying file=/lib/x86_64-linux-gnu/libffi.so.8
      4835:\tfile=libffi.so.8 [0];  generating link map
      4835:\tcalling init: /lib/x86_64-linux-gnu/libffi.so.8
      4835:\tcalling init: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so
      4835:\topening file=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]; direct_opencount=1
      4835:\topening file= [0]; direct_opencount=2
      4835:\tfile=libbz2.so.1.0 [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4835:\tfind library=libbz2.so.1.0 [0]; searching
      4835:\t search cache=/etc/ld.so.cache
      4835:\t  trying file=/lib/x86_64-linux-gnu/libbz2.so.1.0
      4835:\tfile=libbz2.so.1.0 [0];  generating link map
      4835:\tcalling init: /lib/x86_64-linux-gnu/libbz2.so.1.0
      4835:\topening file=/lib/x86_64-linux-gnu/libbz2.so.1.0 [0]; direct_opencount=1
      4835:\tcalling fini:  [0]
      4835:\tcalling fini: /lib/x86_64-linux-gnu/libm.so.6 [0]
      4835:\tcalling fini: /lib/x86_64-linux-gnu/libz.so.1 [0]
      4835:\tcalling fini: /lib/x86_64-linux-gnu/libexpat.so.1 [0]
      4835:\tcalling fini: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4835:\tcalling fini: /lib/x86_64-linux-gnu/libffi.so.8 [0]
      4835:\tcalling fini: /lib/x86_64-linux-gnu/libbz2.so.1.0 [0]
      4835:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4835:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""  # noqa: E501

EXECFAIL = """\
      4836:\tfile=libc.so.6 [0];  needed by /usr/bin/python3 [0]
      4836:\tfind library=libc.so.6 [0]; searching
      4836:\t search cache=/etc/ld.so.cache
      4836:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4836:\tfile=libc.so.6 [0];  generating link map
      4836:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4836:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4836:\tcalling init: /lib/x86_64-linux-gnu/libexpat.so.1
      4836:\tcalling init: /lib/x86_64-linux-gnu/libz.so.1
      4836:\tcalling init: /lib/x86_64-linux-gnu/libm.so.6
      4836:\tinitialize program: /usr/bin/python3
      4836:\ttransferring control: /usr/bin/python3
      4836:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  dynamically loaded by /usr/bin/python3 [0]
      4836:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  generating link map
      4836:\tfile=libffi.so.8 [0];  needed by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4836:\tfind library=libffi.so.8 [0]; searching
      4836:\t search cache=/etc/ld.so.cache
      4836:\t  trying file=/lib/x86_64-linux-gnu/libffi.so.8
      4836:\tfile=libffi.so.8 [0];  generating link map
      4836:\tcalling init: /lib/x86_64-linux-gnu/libffi.so.8
      4836:\tcalling init: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so
      4836:\topening file=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]; direct_opencount=1
      4836:\topening file= [0]; direct_opencount=2
      4836:\tfile=libdoesnotexist.so.7 [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      4836:\tfind library=libdoesnotexist.so.7 [0]; searching
      4836:\t search cache=/etc/ld.so.cache
      4836:\t  trying file=/lib/x86_64-linux-gnu/libdoesnotexist.so.7
      4836:\t  trying file=/usr/lib/x86_64-linux-gnu/libdoesnotexist.so.7
      4836:\t  trying file=/lib/libdoesnotexist.so.7
      4836:\t  trying file=/usr/lib/libdoesnotexist.so.7
      4836:\tfile=libc.so.6 [0];  needed by true [0]
      4836:\tfind library=libc.so.6 [0]; searching
      4836:\t search cache=/etc/ld.so.cache
      4836:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4836:\tfile=libc.so.6 [0];  generating link map
      4836:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4836:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4836:\tinitialize program: true
      4836:\ttransferring control: true
      4836:\tcalling fini:  [0]
      4836:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4836:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""  # noqa: E501

REEXEC = """\
      7274:\tfile=libc.so.6 [0];  needed by /usr/bin/python3 [0]
      7274:\tfind library=libc.so.6 [0]; searching
      7274:\t search cache=/etc/ld.so.cache
      7274:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      7274:\tfile=libc.so.6 [0];  generating link map
      7274:\tcalling init: /lib64/ld-linux-x86-64.so.2
      7274:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      7274:\tcalling init: /lib/x86_64-linux-gnu/libexpat.so.1
      7274:\tcalling init: /lib/x86_64-linux-gnu/libz.so.1
      7274:\tcalling init: /lib/x86_64-linux-gnu/libm.so.6
      7274:\tinitialize program: /usr/bin/python3
      7274:\ttransferring control: /usr/bin/python3
      7274:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  dynamically loaded by /usr/bin/python3 [0]
      7274:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  generating link map
      7274:\tfile=libffi.so.8 [0];  needed by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      7274:\tfind library=libffi.so.8 [0]; searching
      7274:\t search cache=/etc/ld.so.cache
      7274:\t  trying file=/lib/x86_64-linux-gnu/libffi.so.8
      7274:\tfile=libffi.so.8 [0];  generating link map
      7274:\tcalling init: /lib/x86_64-linux-gnu/libffi.so.8
      7274:\tcalling init: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so
      7274:\topening file=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]; direct_opencount=1
      7274:\topening file= [0]; direct_opencount=2
      7274:\tfile=libdoesnotexist.so.7 [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      7274:\tfind library=libdoesnotexist.so.7 [0]; searching
      7274:\t search cache=/etc/ld.so.cache
      7274:\t  trying file=/lib/x86_64-linux-gnu/libdoesnotexist.so.7
      7274:\t  trying file=/usr/lib/x86_64-linux-gnu/libdoesnotexist.so.7
      7274:\t  trying file=/lib/libdoesnotexist.so.7
      7274:\t  trying file=/usr/lib/libdoesnotexist.so.7
      7274:\tfile=libc.so.6 [0];  needed by /usr/bin/python3 [0]
      7274:\tfind library=libc.so.6 [0]; searching
      7274:\t search cache=/etc/ld.so.cache
      7274:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      7274:\tfile=libc.so.6 [0];  generating link map
      7274:\tcalling init: /lib64/ld-linux-x86-64.so.2
      7274:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      7274:\tcalling init: /lib/x86_64-linux-gnu/libexpat.so.1
      7274:\tcalling init: /lib/x86_64-linux-gnu/libz.so.1
      7274:\tcalling init: /lib/x86_64-linux-gnu/libm.so.6
      7274:\tinitialize program: /usr/bin/python3
      7274:\ttransferring control: /usr/bin/python3
      7274:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  dynamically loaded by /usr/bin/python3 [0]
      7274:\tfile=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0];  generating link map
      7274:\tfile=libffi.so.8 [0];  needed by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      7274:\tfind library=libffi.so.8 [0]; searching
      7274:\t search cache=/etc/ld.so.cache
      7274:\t  trying file=/lib/x86_64-linux-gnu/libffi.so.8
      7274:\tfile=libffi.so.8 [0];  generating link map
      7274:\tcalling init: /lib/x86_64-linux-gnu/libffi.so.8
      7274:\tcalling init: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so
      7274:\topening file=/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]; direct_opencount=1
      7274:\topening file= [0]; direct_opencount=2
      7274:\tfile=libbz2.so.1.0 [0];  dynamically loaded by /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      7274:\tfind library=libbz2.so.1.0 [0]; searching
      7274:\t search cache=/etc/ld.so.cache
      7274:\t  trying file=/lib/x86_64-linux-gnu/libbz2.so.1.0
      7274:\tfile=libbz2.so.1.0 [0];  generating link map
      7274:\tcalling init: /lib/x86_64-linux-gnu/libbz2.so.1.0
      7274:\topening file=/lib/x86_64-linux-gnu/libbz2.so.1.0 [0]; direct_opencount=1
      7274:\tcalling fini:  [0]
      7274:\tcalling fini: /lib/x86_64-linux-gnu/libm.so.6 [0]
      7274:\tcalling fini: /lib/x86_64-linux-gnu/libz.so.1 [0]
      7274:\tcalling fini: /lib/x86_64-linux-gnu/libexpat.so.1 [0]
      7274:\tcalling fini: /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so [0]
      7274:\tcalling fini: /lib/x86_64-linux-gnu/libffi.so.8 [0]
      7274:\tcalling fini: /lib/x86_64-linux-gnu/libbz2.so.1.0 [0]
      7274:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      7274:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""  # noqa: E501

ORIGIN = """\
      4837:\tfile=libc.so.6 [0];  needed by ./d [0]
      4837:\tfind library=libc.so.6 [0]; searching
      4837:\t search cache=/etc/ld.so.cache
      4837:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      4837:\tfile=libc.so.6 [0];  generating link map
      4837:\tcalling init: /lib64/ld-linux-x86-64.so.2
      4837:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      4837:\tinitialize program: ./d
      4837:\ttransferring control: ./d
      4837:\tfile=$ORIGIN/libpre.so [0];  dynamically loaded by ./d [0]
      4837:\tfile=$ORIGIN/libpre.so [0];  generating link map
      4837:\tcalling init: /tmp/ldx/libpre.so
      4837:\topening file=/tmp/ldx/libpre.so [0]; direct_opencount=1
      4837:\tfile=./libpre.so [0];  dynamically loaded by ./d [0]
      4837:\topening file=/tmp/ldx/libpre.so [0]; direct_opencount=2
      4837:\tfile=$ORIGIN/nope.so [0];  dynamically loaded by ./d [0]
      4837:\tcalling fini:  [0]
      4837:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      4837:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
      4837:\tcalling fini: /tmp/ldx/libpre.so [0]
"""

PRELOAD = """\
      5130:\tfile=/tmp/ldx/libpre.so [0];  needed by /usr/bin/true [0]
      5130:\tfile=/tmp/ldx/libpre.so [0];  generating link map
      5130:\tfile=libnopre2.so [0];  needed by /usr/bin/true [0]
      5130:\tfind library=libnopre2.so [0]; searching
      5130:\t search cache=/etc/ld.so.cache
      5130:\t search path=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:/usr/lib\t\t(system search path)
      5130:\t  trying file=/lib/x86_64-linux-gnu/libnopre2.so
      5130:\t  trying file=/usr/lib/x86_64-linux-gnu/libnopre2.so
      5130:\t  trying file=/lib/libnopre2.so
      5130:\t  trying file=/usr/lib/libnopre2.so
      5130:\tfile=/tmp/ldx/nonexist.so [0];  needed by /usr/bin/true [0]
      5130:\tfile=libc.so.6 [0];  needed by /usr/bin/true [0]
      5130:\tfind library=libc.so.6 [0]; searching
      5130:\t search cache=/etc/ld.so.cache
      5130:\t  trying file=/lib/x86_64-linux-gnu/libc.so.6
      5130:\tfile=libc.so.6 [0];  generating link map
      5130:\tcalling init: /lib64/ld-linux-x86-64.so.2
      5130:\tcalling init: /lib/x86_64-linux-gnu/libc.so.6
      5130:\tcalling init: /tmp/ldx/libpre.so
      5130:\tinitialize program: /usr/bin/true
      5130:\ttransferring control: /usr/bin/true
      5130:\tcalling fini:  [0]
      5130:\tcalling fini: /tmp/ldx/libpre.so [0]
      5130:\tcalling fini: /lib/x86_64-linux-gnu/libc.so.6 [0]
      5130:\tcalling fini: /lib64/ld-linux-x86-64.so.2 [0]
"""  # noqa: E501

CTYPES = "/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so"
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
RECORDED = (
    SQLITE,
    FAIL,
    MISSING,
    LOADER,
    DEP,
    ALIAS,
    CTOR,
    VERSION,
    EXEC,
    EXECFAIL,
    REEXEC,
    ORIGIN,
    PRELOAD,
)


def needed(name: str, path: str, requester: str, *, startup: bool = True, ns: int = 0) -> Opened:
    return Opened(name, path, requester, namespace=ns, at_startup=startup, how="needed")


def dlopened(name: str, path: str, requester: str, *, ns: int = 0) -> Opened:
    return Opened(name, path, requester, namespace=ns, at_startup=False, how="dlopen")


# -- parsing recorded traces -------------------------------------------------------------------


def test_startup_then_dlopen() -> None:
    """NEEDED libraries before ``transferring control:``, dlopen'd ones (and what they
    need) after; the program and ld.so are never entries; noise lines are skipped."""
    opened, failed = parse_trace(SQLITE)
    assert opened == (
        needed("libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6", "/usr/bin/python3"),
        needed("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", "/usr/bin/python3"),
        needed("libexpat.so.1", "/lib/x86_64-linux-gnu/libexpat.so.1", "/usr/bin/python3"),
        needed("libc.so.6", LIBC, "/usr/bin/python3"),
        dlopened(CTYPES, CTYPES, "/usr/bin/python3"),
        needed("libffi.so.8", "/lib/x86_64-linux-gnu/libffi.so.8", CTYPES, startup=False),
        dlopened("libsqlite3.so.0", "/lib/x86_64-linux-gnu/libsqlite3.so.0", CTYPES),
    )
    assert failed == ()


def test_failed_dlopens() -> None:
    """A name searched for in vain, a path that does not exist, a file that is no ELF
    object: each a request without a link map and without ``opening file=``."""
    opened, failed = parse_trace(FAIL)
    assert [(f.name, f.requester, f.at_startup, f.how) for f in failed] == [
        ("libdoesnotexist.so.7", CTYPES, False, "dlopen"),
        ("/nonexist/libq.so", CTYPES, False, "dlopen"),
        ("/etc/passwd", CTYPES, False, "dlopen"),
    ]
    assert failed[0].tried == (
        "/lib/x86_64-linux-gnu/libdoesnotexist.so.7",
        "/usr/lib/x86_64-linux-gnu/libdoesnotexist.so.7",
        "/lib/libdoesnotexist.so.7",
        "/usr/lib/libdoesnotexist.so.7",
    )
    assert failed[1].tried == () and failed[1].reason is None
    # The same file under another path: no link map, but ``opening file=`` names it.
    assert opened[-1] == dlopened(
        "/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", CTYPES
    )
    # dlopen("libz.so.1") again matched the loaded object by name: no request at all.
    assert [o.name for o in opened].count("libz.so.1") == 0


def test_missing_needed_at_startup() -> None:
    """ld.so stops at the first NEEDED it cannot find: the trace just ends."""
    opened, failed = parse_trace(MISSING)
    assert opened == ()
    (missing,) = failed
    assert (missing.name, missing.requester, missing.at_startup, missing.how) == (
        "libmiss.so.1",
        "./m",
        True,
        "needed",
    )
    assert missing.tried[0] == "/tmp/ldx/nonexist/glibc-hwcaps/x86-64-v3/libmiss.so.1"
    assert missing.tried[-1] == "/usr/lib/libmiss.so.1"
    assert len(missing.tried) == 14


def test_loader_run_as_a_command_maps_the_program_without_a_request() -> None:
    opened, failed = parse_trace(LOADER)
    assert opened == (needed("libc.so.6", LIBC, "/usr/bin/true"),)
    assert failed == ()


def test_dlopen_with_a_missing_dependency_and_another_namespace() -> None:
    """The dependency fails (the dlopen'd object was mapped, then unwound); the next
    dlopen succeeds; dlmopen's namespace 1 loads its own libc, and its request for ld.so
    resolves to the one loader every namespace shares, which is no entry."""
    opened, failed = parse_trace(DEP)
    bz2 = "/lib/x86_64-linux-gnu/libbz2.so.1.0"
    assert opened == (
        needed("libc.so.6", LIBC, "./d"),
        dlopened("/tmp/ldx/libdep.so.1", "/tmp/ldx/libdep.so.1", "./d"),
        dlopened("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", "./d"),
        dlopened("libbz2.so.1.0", bz2, "./d", ns=1),
        needed("libc.so.6", LIBC, bz2, startup=False, ns=1),
    )
    assert failed == (
        FailedLoad(
            name="libmiss.so.1",
            requester="/tmp/ldx/libdep.so.1",
            namespace=0,
            at_startup=False,
            how="needed",
            tried=(
                "/lib/x86_64-linux-gnu/libmiss.so.1",
                "/usr/lib/x86_64-linux-gnu/libmiss.so.1",
                "/lib/libmiss.so.1",
                "/usr/lib/libmiss.so.1",
            ),
            reason=None,
        ),
    )


def test_a_file_already_loaded_under_another_name_is_opened_not_failed() -> None:
    """glibc finds libfoo.so.1.0, sees it is the libfoo.so.1 it has, and says nothing."""
    opened, failed = parse_trace(ALIAS)
    assert opened[-1] == needed(
        "libfoo.so.1.0", "/tmp/ldx/alias/libfoo.so.1.0", "/tmp/ldx/alias/libbar.so.1"
    )
    assert failed == ()


def test_ignored_preloads_fail_without_stopping_startup() -> None:
    opened, failed = parse_trace(PRELOAD)
    assert opened == (
        needed("/tmp/ldx/libpre.so", "/tmp/ldx/libpre.so", "/usr/bin/true"),
        needed("libc.so.6", LIBC, "/usr/bin/true"),
    )
    assert [(f.name, f.at_startup, len(f.tried)) for f in failed] == [
        ("libnopre2.so", True, 4),
        ("/tmp/ldx/nonexist.so", True, 0),
    ]


def test_dlopen_from_a_constructor_nests() -> None:
    opened, failed = parse_trace(CTOR)
    assert opened[1:] == (
        dlopened("/tmp/ldx/libctor.so", "/tmp/ldx/libctor.so", "./d"),
        dlopened("libbz2.so.1.0", "/lib/x86_64-linux-gnu/libbz2.so.1.0", "/tmp/ldx/libctor.so"),
    )
    assert [(f.name, f.requester) for f in failed] == [("libnotthere.so.3", "/tmp/ldx/libctor.so")]


def test_a_dlopen_failing_after_mapping_everything_reports_the_error() -> None:
    opened, failed = parse_trace(VERSION)
    assert [o.name for o in opened] == [
        "libc.so.6",
        "/tmp/ldx/ver/libuser.so.1",
        "libv.so.1",
        "libbz2.so.1.0",
    ]
    (version,) = failed
    assert (version.name, version.requester, version.how) == (
        "/tmp/ldx/ver/libuser.so.1",
        "./d",
        "dlopen",
    )
    assert version.reason == (
        "/tmp/ldx/ver/libv.so.1: version lookup error: version `V1' not found "
        "(required by /tmp/ldx/ver/libuser.so.1)"
    )


def test_exec_appends_a_new_program_to_the_same_file() -> None:
    opened, failed = parse_trace(EXEC)
    assert opened[:2] == (
        needed("libc.so.6", LIBC, "sh"),
        needed("libc.so.6", LIBC, "/usr/bin/python3"),
    )
    assert opened[-1] == dlopened("libbz2.so.1.0", "/lib/x86_64-linux-gnu/libbz2.so.1.0", CTYPES)
    assert failed == ()


def test_exec_after_a_failed_dlopen() -> None:
    """The failed dlopen is still pending when ``true``'s start-up begins: its request
    comes from an object this process never loaded."""
    opened, failed = parse_trace(EXECFAIL)
    assert opened[-1] == needed("libc.so.6", LIBC, "true")
    assert [(f.name, f.at_startup) for f in failed] == [("libdoesnotexist.so.7", False)]


def test_a_program_reexecuting_itself_after_a_failed_dlopen() -> None:
    """Its new start-up's requests name objects the pending dlopen did not map."""
    opened, failed = parse_trace(REEXEC)
    assert [(f.name, f.at_startup) for f in failed] == [("libdoesnotexist.so.7", False)]
    assert "libdoesnotexist.so.7" not in [o.name for o in opened]
    assert opened[-1] == dlopened("libbz2.so.1.0", "/lib/x86_64-linux-gnu/libbz2.so.1.0", CTYPES)
    assert opened[0] == needed("libc.so.6", LIBC, "/usr/bin/python3")


def test_origin_and_relative_dlopen() -> None:
    opened, failed = parse_trace(ORIGIN)
    assert opened[1:] == (
        dlopened("$ORIGIN/libpre.so", "/tmp/ldx/libpre.so", "./d"),
        dlopened("./libpre.so", "/tmp/ldx/libpre.so", "./d"),
    )
    assert [f.name for f in failed] == ["$ORIGIN/nope.so"]


@pytest.mark.parametrize("text", RECORDED)
def test_lines_without_the_pid_prefix(text: str) -> None:
    bare = "\n".join(line.split(":\t", 1)[-1] for line in text.split("\n"))
    assert parse_trace(bare) == parse_trace(text)


@pytest.mark.parametrize("text", [t for t in RECORDED if t is not MISSING])
def test_a_trace_repeated_counts_once(text: str) -> None:
    """The same program run again in a reused process id appends the same trace. (Not
    after a failed start-up, MISSING: nothing in the trace then tells the next process's
    start-up from more of the same.)"""
    assert parse_trace(text + text) == parse_trace(text)


def test_another_pid_is_another_process() -> None:
    """A reused process id's file holds two processes: the first's pending work ends."""
    opened, failed = parse_trace(MISSING + LOADER)
    assert opened == parse_trace(LOADER)[0]
    assert failed == parse_trace(MISSING)[1]


@pytest.mark.parametrize("text", RECORDED)
def test_truncated_traces_never_raise(text: str) -> None:
    for end in range(0, len(text), 97):
        opened, failed = parse_trace(text[:end])
        assert all(isinstance(o, Opened) for o in opened)
        assert all(isinstance(f, FailedLoad) for f in failed)


ODD_LINES = [
    "",
    "\x00\x01\ufffd",
    "     1:\t",
    "1:\tfile=",
    "file= [0];  needed by ",
    "file=x [99999999999999999999999];  needed by y [0]",
    "file=x [0];  dynamically loaded by",
    "file=x [0];  generating link map",
    "opening file= [0]; direct_opencount=1",
    "opening file=/a [0]; direct_opencount=",
    " search path=\t\t()",
    " search path=/a:/b",
    "  trying file=",
    "transferring control: ",
    "calling init: ",
    ": error:  (fatal)",
    "file=x [0];  destroying link map",
    "\udcff\udcfe: error: x (continued)",
]


@pytest.mark.parametrize("line", ODD_LINES)
def test_odd_lines_never_raise(line: str) -> None:
    parse_trace(line)
    parse_trace(line + "\n" + SQLITE)
    parse_trace(SQLITE + line + "\n" + LOADER)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_parses(text: str) -> None:
    parse_trace(text)


@settings(max_examples=100, deadline=None)
@given(st.permutations(DEP.split("\n") + CTOR.split("\n") + ODD_LINES))
def test_shuffled_real_lines_parse(lines: list[str]) -> None:
    opened, failed = parse_trace("\n".join(lines))
    assert len(set(opened)) == len(opened) and len(set(failed)) == len(failed)


# -- real runs -----------------------------------------------------------------------------------

PY = sys.executable
SQLITE3 = "libsqlite3.so.0"
needs_sqlite = pytest.mark.skipif(
    ctypes.util.find_library("sqlite3") is None, reason="needs libsqlite3.so.0 on the host"
)


def observe(
    *argv: str,
    timeout: float | None = 30.0,
    stdin: int = subprocess.DEVNULL,
    cwd: Path | None = None,
) -> Observation:
    return run_observed(argv, dict(os.environ), timeout=timeout, stdin=stdin, cwd=cwd)


def python(code: str, *, timeout: float | None = 30.0) -> Observation:
    return observe(PY, "-c", code, timeout=timeout)


def named(observation: Observation, name: str) -> Opened:
    (found,) = [o for o in observation.opened if o.name == name]
    return found


@needs_sqlite
def test_run_sees_a_dlopen() -> None:
    seen = python(f"import ctypes; ctypes.CDLL({SQLITE3!r})")
    assert (seen.returncode, seen.timed_out, seen.processes) == (0, False, 1)
    sqlite = named(seen, SQLITE3)
    assert (sqlite.how, sqlite.at_startup, sqlite.namespace) == ("dlopen", False, 0)
    assert os.path.basename(sqlite.path) == SQLITE3 and os.path.isfile(sqlite.path)
    assert sqlite.requester is not None and "_ctypes" in sqlite.requester
    libc = named(seen, "libc.so.6")
    assert (libc.how, libc.at_startup) == ("needed", True)
    assert not any(o.path in (PY, os.path.realpath(PY)) for o in seen.opened)
    assert not any(os.path.basename(o.path).startswith("ld-linux") for o in seen.opened)
    assert seen.failed == ()


def test_run_sees_a_failed_dlopen() -> None:
    seen = python(
        "import ctypes\n"
        "try:\n"
        "    ctypes.CDLL('libdoesnotexist.so.7')\n"
        "except OSError as e:\n"
        "    print(e)\n"
    )
    assert seen.returncode == 0
    assert "libdoesnotexist.so.7: cannot open shared object file" in seen.stdout_tail
    (failed,) = seen.failed
    assert (failed.name, failed.how, failed.at_startup) == ("libdoesnotexist.so.7", "dlopen", False)
    assert failed.tried and all(t.endswith("/libdoesnotexist.so.7") for t in failed.tried)
    assert "libdoesnotexist.so.7" not in [o.name for o in seen.opened]


@needs_sqlite
def test_a_failing_program_still_reports_what_it_opened() -> None:
    seen = python(f"import ctypes, sys; ctypes.CDLL({SQLITE3!r}); sys.exit(1)")
    assert (seen.returncode, seen.timed_out) == (1, False)
    assert named(seen, SQLITE3).how == "dlopen"


def test_timeout_kills_and_keeps_what_was_opened() -> None:
    code = (
        "import ctypes, time; ctypes.CDLL('libz.so.1'); print('ready', flush=True); "
        "time.sleep(1000)"
    )
    start = time.monotonic()
    seen = python(code, timeout=2)
    elapsed = time.monotonic() - start
    assert seen.timed_out
    assert seen.returncode == -signal.SIGTERM
    assert 2 <= elapsed < 3.5
    assert seen.stdout_tail == "ready\n"
    assert "libz.so.1" in [o.name for o in seen.opened]


def test_timeout_kills_the_whole_group_sigkill_after_grace() -> None:
    """sh dies of SIGTERM; its child ignores SIGTERM, keeps the output open, and is
    killed with the group 2 s later."""
    code = (
        "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(os.getpid(), flush=True); time.sleep(1000)"
    )
    start = time.monotonic()
    seen = observe("/bin/sh", "-c", '"$0" -c "$1"; true', PY, code, timeout=1.5)
    elapsed = time.monotonic() - start
    assert seen.timed_out and seen.returncode == -signal.SIGTERM
    assert 3.5 <= elapsed < 5
    child = Path(f"/proc/{int(seen.stdout_tail)}/stat")
    assert not child.exists() or child.read_text().split(") ", 1)[1].startswith("Z")
    assert seen.processes == 2


@needs_sqlite
def test_child_processes_are_traced() -> None:
    code = f"import ctypes; ctypes.CDLL({SQLITE3!r})"
    seen = observe("/bin/sh", "-c", '"$0" -c "$1"; exit 3', PY, code)
    assert seen.returncode == 3
    assert seen.processes >= 2
    assert named(seen, SQLITE3).how == "dlopen"
    shell = [o for o in seen.opened if o.requester == "/bin/sh"]
    assert [(o.name, o.at_startup, o.how) for o in shell] == [("libc.so.6", True, "needed")]


@needs_sqlite
def test_exec_is_one_process() -> None:
    code = f"import ctypes; ctypes.CDLL({SQLITE3!r})"
    seen = observe("/bin/sh", "-c", 'exec "$0" -c "$1"', PY, code)
    assert (seen.returncode, seen.processes) == (0, 1)
    assert named(seen, SQLITE3).at_startup is False
    assert [o.requester for o in seen.opened if o.name == "libc.so.6"] == ["/bin/sh", PY]


def test_output_is_bounded_and_input_is_empty() -> None:
    code = (
        "import sys\n"
        "data = sys.stdin.read()\n"
        "sys.stdout.write('x' * 200_000 + repr(data))\n"
        "sys.stderr.write('y' * 100_000 + 'end')\n"
    )
    seen = python(code, timeout=10)
    assert not seen.timed_out and seen.returncode == 0
    assert len(seen.stdout_tail) == 64 * 1024 and seen.stdout_tail.endswith("x''")
    assert len(seen.stderr_tail) == 64 * 1024 and seen.stderr_tail.endswith("yend")


def test_stdin_pipe_is_closed() -> None:
    seen = observe(PY, "-c", "import sys; print(len(sys.stdin.read()))", stdin=subprocess.PIPE)
    assert (seen.returncode, seen.stdout_tail) == (0, "0\n")


def test_cwd_and_a_relative_dlopen(tmp_path: Path) -> None:
    code = "import ctypes\ntry:\n    ctypes.CDLL('./nothere.so')\nexcept OSError:\n    pass\n"
    seen = observe(PY, "-c", code, cwd=tmp_path)
    assert [(f.name, f.tried) for f in seen.failed] == [("./nothere.so", ())]


@pytest.fixture(scope="module")
def missing_needed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A program that needs libz.so.1, then libgone.so.1, which is gone."""
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    d = tmp_path_factory.mktemp("missing-needed")
    (d / "gone.c").write_text("int gone(void) { return 0; }\n")
    (d / "main.c").write_text("int gone(void);\nint main(void) { return gone(); }\n")
    gone = d / "libgone.so.1"
    gcc = [
        "gcc",
        "-shared",
        "-fPIC",
        "-Wl,-soname,libgone.so.1",
        "-o",
        str(gone),
        str(d / "gone.c"),
    ]
    subprocess.run(gcc, check=True)
    prog = d / "prog"
    link = ["-Wl,--no-as-needed", "-l:libz.so.1", f"-L{d}", "-l:libgone.so.1"]
    subprocess.run(["gcc", "-o", str(prog), str(d / "main.c"), *link], check=True)
    gone.unlink()
    return prog


def test_a_missing_needed_stops_startup(missing_needed: Path) -> None:
    prog = str(missing_needed)
    seen = observe(prog)
    assert seen.returncode == 127
    assert "libgone.so.1: cannot open shared object file" in seen.stderr_tail
    zlib = named(seen, "libz.so.1")
    assert (zlib.requester, zlib.at_startup, zlib.how) == (prog, True, "needed")
    (gone,) = seen.failed
    assert (gone.name, gone.requester, gone.at_startup, gone.how) == (
        "libgone.so.1",
        prog,
        True,
        "needed",
    )
    assert gone.tried and gone.reason is None
    assert prog not in [o.path for o in seen.opened]


def test_the_trace_directory_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = python("import os; os.system('true')")
    assert seen.processes >= 2
    assert list(tmp_path.iterdir()) == []


def test_the_callers_ld_debug_is_replaced(tmp_path: Path) -> None:
    env = {**os.environ, "LD_DEBUG": "all", "LD_DEBUG_OUTPUT": str(tmp_path / "elsewhere")}
    seen = run_observed([PY, "-c", "pass"], env, timeout=30)
    assert seen.processes == 1 and seen.opened
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [[], ["/nonexistent/program"]])
def test_what_cannot_start_is_a_run_error(argv: list[str]) -> None:
    with pytest.raises(RunError):
        run_observed(argv, dict(os.environ), timeout=5)
