"""The NARs read for facts, kept as a file:// binary cache (``index/nar_mirror.py``)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from autopatchelf.errors import IntegrityError
from autopatchelf.index.nar_mirror import NarMirror, TeeReader

NARINFO = (
    b"StorePath: /nix/store/0123456789abcdfghijklmnpqrsvwxyz-libfoo-1.0\n"
    b"URL: nar/1afw.nar.xz?from=elsewhere\nCompression: xz\nFileSize: 6\n"
    b"Sig: test-1:AAAA\n"
)
HASH = "0123456789abcdfghijklmnpqrsvwxyz"


def test_a_verified_nar_is_kept_with_its_narinfo_pointing_at_it() -> None:
    mirror = NarMirror("/nix/store")
    assert mirror.url is None
    with mirror.keeping(HASH, NARINFO, "nar/1afw.nar.xz?from=elsewhere") as sink:
        tee = TeeReader(io.BytesIO(b"abcdef"), sink)
        assert tee.read(4) + tee.read() == b"abcdef"
    assert mirror.url is not None and mirror.kept == 1
    root = Path(mirror.url.removeprefix("file://"))
    try:
        assert (root / "nar/1afw.nar.xz").read_bytes() == b"abcdef"
        assert (root / f"{HASH}.narinfo").read_bytes() == NARINFO.replace(
            b"URL: nar/1afw.nar.xz?from=elsewhere", b"URL: nar/1afw.nar.xz"
        )
        assert b"StoreDir: /nix/store\n" in (root / "nix-cache-info").read_bytes()
        assert sorted(os.listdir(root / "nar")) == ["1afw.nar.xz"]
    finally:
        mirror.close()
    assert not root.exists() and mirror.url is None


def test_a_nar_that_fails_its_check_is_not_kept() -> None:
    mirror = NarMirror("/nix/store")

    def read_bad_nar() -> None:
        with mirror.keeping(HASH, NARINFO, "nar/x.nar.xz") as sink:
            sink.write(b"half")
            raise IntegrityError("NarHash mismatch")

    try:
        with pytest.raises(IntegrityError, match="NarHash mismatch"):
            read_bad_nar()
        assert mirror.url is None and mirror.kept == 0
    finally:
        mirror.close()
