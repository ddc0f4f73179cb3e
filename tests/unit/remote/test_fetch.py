"""Fetching from file:// and from a real HTTP server (python -m http.server) on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autopatchelf.remote import (
    CacheClient,
    DocumentKind,
    FetchError,
    NotFoundError,
    TrustedKeys,
    extract_verified,
    is_elf,
    verify,
)

from ._nix import RealCache


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def http_cache(zstd_cache: RealCache) -> Iterator[str]:
    """``python -m http.server`` serving the real cache dir on 127.0.0.1."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=zstd_cache.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("http.server did not start")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_fetch_and_count(scheme: str, http_cache: str, zstd_cache: RealCache) -> None:
    client = CacheClient(http_cache if scheme == "http" else zstd_cache.url, timeout=5)
    assert client.cache_info().store_dir == "/nix/store"
    hashes = [p.name[:32] for p in zstd_cache.paths] + ["0" * 32]
    results = client.fetch_narinfos(hashes, max_workers=2)
    assert [r.hash_part for r in results] == hashes
    assert results[-1].narinfo is None and results[-1].error is None  # absent, not an error
    keys = TrustedKeys.parse(zstd_cache.public_key)
    nar_bytes = 0
    for result in results[:-1]:
        assert result.narinfo is not None and verify(result.narinfo, keys)
        with client.open_nar(result.narinfo) as stream:
            contents = extract_verified(stream, result.narinfo, want=lambda e: True, head=is_elf)
        assert contents.files
        nar_bytes += result.narinfo.file_size or 0
    stats = client.stats()
    assert stats.requests_of(DocumentKind.NARINFO) == len(hashes)
    assert stats.requests_of(DocumentKind.NAR) == len(hashes) - 1
    assert stats.bytes_of(DocumentKind.NAR) == nar_bytes
    assert stats.requests_of(DocumentKind.OTHER) == 1  # nix-cache-info
    assert client.fetch_listing(hashes[0]) is not None
    assert client.stats().requests_of(DocumentKind.LISTING) == 1
    with pytest.raises(NotFoundError):
        client.get("nar/missing.nar.zst")


def test_document_cap(http_cache: str, zstd_cache: RealCache) -> None:
    for url in (http_cache, zstd_cache.url):
        with pytest.raises(FetchError, match="larger than 10"):
            CacheClient(url, max_document=10).get("nix-cache-info")


def test_file_cache_refuses_escapes(tmp_path: Path, zstd_cache: RealCache) -> None:
    client = CacheClient(zstd_cache.url)
    for bad in ("../etc/passwd", "/etc/passwd", "nar/../../x", "file:///etc/passwd", "https://x/y"):
        with pytest.raises(FetchError, match=r"escapes|refused"):
            client.get(bad)
    root = tmp_path / "cache"
    root.mkdir()
    (root / "out.narinfo").symlink_to("/etc/hostname")
    with pytest.raises(FetchError, match="through a symlink"):
        CacheClient(f"file://{root}").get("out.narinfo")


def test_connection_refused_is_fast() -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match="cannot connect") as caught:
        CacheClient(f"http://127.0.0.1:{_free_port()}", timeout=2).get("nix-cache-info")
    assert time.monotonic() - start < 2
    assert "127.0.0.1" in str(caught.value)


def test_silent_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # and never answer
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            CacheClient(f"http://127.0.0.1:{port}", timeout=0.5).get("nix-cache-info")
        assert time.monotonic() - start < 1.5
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in accepted:
            sock.close()
        listener.close()


def test_bad_cache_urls() -> None:
    for url in ("ftp://x", "s3://bucket", "file://host/x", "relative/dir"):
        with pytest.raises(FetchError):
            CacheClient(url)


def test_http_errors(http_cache: str) -> None:
    client = CacheClient(http_cache, timeout=5)
    assert client.fetch_narinfo("1" * 32) is None
    with pytest.raises(NotFoundError) as caught:
        client.get("nope")
    assert caught.value.status == 404
