"""Whether a directory's entries can have changed: its stat, and git's racy rule.

Adding, removing or renaming an entry of a directory sets its mtime and ctime to the
current time, so an unchanged stat (device, inode, mtime, ctime, link count, size) says
its listing is the same as when the stat was read. Unless that stat was *racy*: a
timestamp within the filesystem's granularity of the moment it was read (or in the
future) would be set to the same value again by a change made just after, so such a
stamp is never trusted (the directory is listed again next time), as git does for its
index entries.
"""

from __future__ import annotations

import os
import time

import attrs

from autopatchelf.frozen import Record

#: How close to the moment of reading a timestamp must be to be racy: the kernel's
#: coarse clock (a few ms), FAT's 2 s granularity, and some slack for a file server's
#: clock.
RACY_NS = 2_000_000_000


@attrs.frozen(repr=False)
class DirStamp(Record):
    """A directory's stat, as text, and whether it can be trusted to show a change."""

    text: str
    #: Both timestamps lie more than :data:`RACY_NS` before the stat was read.
    settled: bool


def read_dir_stamp(path: str) -> DirStamp:
    """The stamp of directory ``path`` now (``OSError`` if it cannot be read)."""
    now = time.time_ns()
    st = os.stat(path)
    text = f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_nlink}:{st.st_size}"
    limit = now - RACY_NS
    return DirStamp(text=text, settled=st.st_mtime_ns < limit and st.st_ctime_ns < limit)
