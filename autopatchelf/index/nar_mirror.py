"""The NARs read for facts, kept as a ``file://`` binary cache that Nix realises from.

To know a candidate's libraries, its NAR is fetched and read; when the solve then chooses
that store path, Nix would fetch the very same file again. So while a solve runs, every
NAR fetched from a cache that is not on this machine is also written to a private
directory laid out as a binary cache: ``nix-cache-info``, ``<hash>.narinfo`` (the cache's
own narinfo, signed fields untouched; only its ``URL`` names the local file) and
``nar/<file>``. The realisation names that directory first: Nix checks its signatures and
hashes as it would for any cache, and downloads only what is not there. The directory is
removed when the remote index closes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from typing import IO

from autopatchelf.remote.readers import Readable

__all__ = ["NarMirror", "TeeReader"]


class TeeReader:
    """Reads from ``raw`` and writes every byte read to ``sink``."""

    def __init__(self, raw: Readable, sink: IO[bytes]) -> None:
        self._raw = raw
        self._sink = sink

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        if data:
            self._sink.write(data)
        return data


class NarMirror:
    """A temporary binary cache of the NARs a solve fetched (made on first use)."""

    def __init__(self, store_dir: str) -> None:
        self._store_dir = store_dir
        self._dir: str | None = None
        self._lock = threading.Lock()
        self.kept = 0

    @property
    def url(self) -> str | None:
        """``file://DIR`` once a NAR is kept, else ``None``."""
        return None if self._dir is None or not self.kept else f"file://{self._dir}"

    def _directory(self) -> str:
        with self._lock:
            if self._dir is None:
                made = tempfile.mkdtemp(prefix="autopatchelf-nars-")
                os.mkdir(os.path.join(made, "nar"))
                with open(os.path.join(made, "nix-cache-info"), "w", encoding="utf-8") as info:
                    # Priority 0 (the highest, as a cache that names none), listed first:
                    # Nix keeps the given order among equals, so it tries this one first.
                    info.write(f"StoreDir: {self._store_dir}\nWantMassQuery: 0\nPriority: 0\n")
                self._dir = made
            return self._dir

    @contextlib.contextmanager
    def keeping(self, hash_part: str, narinfo: bytes, nar_url: str) -> Iterator[IO[bytes]]:
        """A file to write the compressed NAR of ``hash_part`` to while it is read; kept
        (with ``narinfo``, its ``URL`` pointing at it) only if the block ends normally,
        i.e. once the NAR was verified."""
        directory = self._directory()
        name = os.path.basename(nar_url.split("?", 1)[0]) or f"{hash_part}.nar"
        sink = tempfile.NamedTemporaryFile(  # noqa: SIM115 (kept or removed below)
            dir=os.path.join(directory, "nar"), prefix=".part-", delete=False
        )
        try:
            with sink:
                yield sink
            os.replace(sink.name, os.path.join(directory, "nar", name))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(sink.name)
            raise
        text = _with_url(narinfo, f"nar/{name}")
        partial = os.path.join(directory, f".{hash_part}.narinfo")
        with open(partial, "wb") as out:
            out.write(text)
        os.replace(partial, os.path.join(directory, f"{hash_part}.narinfo"))
        with self._lock:
            self.kept += 1

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
            self.kept = 0


def _with_url(narinfo: bytes, url: str) -> bytes:
    """``narinfo`` with its ``URL`` field replaced (the signature does not cover it)."""
    lines = [
        f"URL: {url}".encode() if line.startswith(b"URL:") else line
        for line in narinfo.split(b"\n")
    ]
    return b"\n".join(lines)
