"""``.ls`` listings: parsing, bounds, symlink resolution within the listing, lib dirs."""

from __future__ import annotations

import json
import lzma

import pytest

from autopatchelf.remote import EntryKind, Listing, ListingError
from autopatchelf.remote.listing import ListingLimits

SP = "/nix/store/5nwcs54gk9n0vsahc57bm0kakpfv7zjf-zlib-1.3"
OTHER = "/nix/store/c21cdmcx0qnzcvjyzdi4pi647cbqnzsw-libc6-2.41"


def reg(size: int = 10, offset: int = 400, executable: bool = False) -> dict[str, object]:
    node: dict[str, object] = {"type": "regular", "size": size, "narOffset": offset}
    if executable:
        node["executable"] = True
    return node


def link(target: str) -> dict[str, object]:
    return {"type": "symlink", "target": target}


def directory(**entries: object) -> dict[str, object]:
    return {"type": "directory", "entries": entries}


ROOT = directory(
    lib=directory(
        **{
            "libz.so.1.3": reg(executable=True),
            "libz.so.1": link("libz.so.1.3"),
            "libz.so": link(f"{SP}/lib/libz.so.1"),
            "libc.so.6": link(f"{OTHER}/lib/libc.so.6"),
            "dangling.so": link("nothere.so"),
            "loop.so": link("loop.so"),
            "dir.so": link("sub"),
            "sub": directory(),
            "up.so": link("../../../etc/passwd"),
        }
    ),
    lib64=link("lib"),
    usr=directory(lib=link("../lib")),
    share=directory(doc=directory(readme=reg(3))),
)


def listing(root: object = ROOT) -> Listing:
    return Listing.parse(json.dumps({"version": 1, "root": root}).encode(), source="x.ls")


def test_flattened_in_nar_order() -> None:
    paths = [e.path for e in listing().entries]
    assert paths[:3] == ["", "lib", "lib/dangling.so"]
    assert paths == sorted(paths) or paths[0] == ""
    entry = listing().get("lib/libz.so.1.3")
    assert entry is not None and entry.executable and entry.size == 10 and entry.nar_offset == 400


def test_resolve() -> None:
    parsed = listing()
    assert parsed.resolve("lib/libz.so", store_path=SP).path == "lib/libz.so.1.3"
    assert parsed.resolve("lib64/libz.so.1", store_path=SP).path == "lib/libz.so.1.3"
    assert parsed.resolve("usr/lib/libz.so.1", store_path=SP).path == "lib/libz.so.1.3"
    external = parsed.resolve("lib/libc.so.6", store_path=SP)
    assert external.external == f"{OTHER}/lib/libc.so.6" and external.external_store_path == OTHER
    assert "dangling" in str(parsed.resolve("lib/dangling.so", store_path=SP).problem)
    assert "too many levels" in str(parsed.resolve("lib/loop.so", store_path=SP).problem)
    assert "out of the store path" in str(parsed.resolve("lib/up.so", store_path=SP).problem)
    assert "not a directory" in str(parsed.resolve("lib/libz.so.1.3/x", store_path=SP).problem)


def test_lib_dirs() -> None:
    dirs = listing().lib_dirs(["lib", "lib64", "usr/lib", "usr/lib64"], store_path=SP)
    assert [(d.lib_dir, d.directory) for d in dirs] == [
        ("lib", "lib"),
        ("lib64", "lib"),
        ("usr/lib", "lib"),
    ]
    by_name = {e.name: e for e in dirs[0].entries}
    assert {n for n, e in by_name.items() if e.found} == {"libz.so", "libz.so.1", "libz.so.1.3"}
    assert all(e.resolved == "lib/libz.so.1.3" for e in by_name.values() if e.found)
    assert by_name["libc.so.6"].external_store_path == OTHER and not by_name["libc.so.6"].found
    assert by_name["sub"].kind is EntryKind.DIRECTORY and by_name["sub"].resolved is None
    assert "leads to a directory" in str(by_name["dir.so"].problem)


def test_external_lib_dir() -> None:
    parsed = listing(directory(lib=link(f"{OTHER}/lib")))
    (only,) = parsed.lib_dirs(["lib"], store_path=SP)
    assert only.external == f"{OTHER}/lib" and only.entries == ()


def test_compressed_listing_is_sniffed() -> None:
    raw = json.dumps({"version": 1, "root": ROOT}).encode()
    assert Listing.parse(lzma.compress(raw), source="x.ls") == listing()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not a JSON object"),
        (b"[]", "not a JSON object"),
        (b'{"version": 2, "root": {}}', "version is 2"),
        (b'{"version": true, "root": {}}', "version is True"),
        (b'{"version": 1}', "no 'root'"),
        (b'{"version": 1, "root": {"type": "fifo"}}', "unknown type"),
        (b'{"version": 1, "root": {"type": "regular", "size": -1}}', "invalid size"),
        (b'{"version": 1, "root": {"type": "regular", "size": 1.5}}', "invalid size"),
        (b'{"version": 1, "root": {"type": "regular", "size": true}}', "invalid size"),
        (b'{"version": 1, "root": {"type": "regular", "size": 1, "executable": 1}}', "non-boolean"),
        (b'{"version": 1, "root": {"type": "symlink"}}', "invalid target"),
        (b'{"version": 1, "root": {"type": "directory", "entries": []}}', "non-object"),
        (
            b'{"version": 1, "root": {"type": "directory", "entries": {"a/b": {"type": "x"}}}}',
            "contains '/'",
        ),
        (
            b'{"version": 1, "root": {"type": "directory", "entries": {"..": {"type": "x"}}}}',
            "entry name '..'",
        ),
        (b'{"version": 1, "root": 5}', "not an object"),
        (
            b'{"version": 1, "root": {"type": "regular", "size": 1' + b"0" * 5000 + b"}}",
            "not valid JSON",
        ),
    ],
)
def test_bad_listings(data: bytes, message: str) -> None:
    with pytest.raises(ListingError, match=message) as caught:
        Listing.parse(data, source="https://c/x.ls")
    assert str(caught.value).startswith("https://c/x.ls: ")


def test_bounds() -> None:
    deep: dict[str, object] = reg()
    for _ in range(20):
        deep = directory(d=deep)
    with pytest.raises(ListingError, match="nested deeper than 10"):
        Listing.parse(
            json.dumps({"version": 1, "root": deep}), source="x", limits=_limits(max_depth=10)
        )
    wide = directory(**{str(i): reg() for i in range(50)})
    with pytest.raises(ListingError, match="more than 10 entries"):
        Listing.parse(
            json.dumps({"version": 1, "root": wide}), source="x", limits=_limits(max_entries=10)
        )
    with pytest.raises(ListingError, match="more than 100"):
        Listing.parse(b" " * 101, source="x", limits=_limits(max_document=100))


def _limits(**kwargs: int) -> ListingLimits:
    return ListingLimits(**kwargs)
