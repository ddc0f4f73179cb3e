"""Keys, narinfo and nix-cache-info parsing, fingerprints and signatures (no Nix needed)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from autopatchelf.remote import (
    CacheInfo,
    Compression,
    NarInfo,
    NarInfoError,
    PublicKey,
    SignatureError,
    TrustedKeys,
    verify,
)
from autopatchelf.store import nixbase32

H1 = "5nwcs54gk9n0vsahc57bm0kakpfv7zjf"
H2 = "c21cdmcx0qnzcvjyzdi4pi647cbqnzsw"
PATH = f"/nix/store/{H1}-zlib1g-1.3"
REF = f"{H2}-libc6-2.41"
NARHASH = "sha256:02q7fnhfkj1nqwhq0zxlf5zq8n2djm9pynq8dplqbpp0nqmi22xi"
URL = f"https://cache.example/{H1}.narinfo"


def make_key(name: str = "k-1") -> tuple[Ed25519PrivateKey, PublicKey]:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, PublicKey.parse(f"{name}:{base64.b64encode(raw).decode()}")


def narinfo_text(*, refs: str = f"{REF} {H1}-zlib1g-1.3", extra: str = "", sig: str = "") -> str:
    text = (
        f"StorePath: {PATH}\nURL: nar/1h39rhrvmsmgyq151x1ap7q0fzs605dg4icrq553l34wifz2v45f.nar.xz\n"
        "Compression: xz\nFileHash: sha256:1h39rhrvmsmgyq151x1ap7q0fzs605dg4icrq553l34wifz2v45f\n"
        f"FileSize: 89716\nNarHash: {NARHASH}\nNarSize: 166384\nReferences: {refs}\n"
        f"Deriver: 5ql0c1qwzgjaclm37gidvkc5ff9d56i4-zlib1g-1.3.drv\n{extra}"
    )
    return text + (f"Sig: {sig}\n" if sig else "")


def signed(private: Ed25519PrivateKey, name: str, text: str) -> str:
    fingerprint = NarInfo.parse(text, url=URL).fingerprint()
    sig = base64.b64encode(private.sign(fingerprint.encode())).decode()
    return text + f"Sig: {name}:{sig}\n"


def test_parse_fields() -> None:
    info = NarInfo.parse(
        narinfo_text(extra="System: x86_64-linux\nCA: fixed:r:sha256:x\n"), url=URL
    )
    assert info.store_path == PATH
    assert info.hash_part == H1
    assert info.compression is Compression.XZ
    assert info.nar_size == 166384 and info.file_size == 89716
    assert str(info.nar_hash) == NARHASH
    assert info.references == (f"{H1}-zlib1g-1.3", REF)  # sorted
    assert info.reference_paths == (f"/nix/store/{H1}-zlib1g-1.3", f"/nix/store/{REF}")
    assert info.deriver == "5ql0c1qwzgjaclm37gidvkc5ff9d56i4-zlib1g-1.3.drv"
    assert info.system == "x86_64-linux" and info.ca == "fixed:r:sha256:x"
    assert info.fingerprint() == (
        f"1;{PATH};{NARHASH};166384;/nix/store/{H1}-zlib1g-1.3,/nix/store/{REF}"
    )


def test_defaults_and_empty_references() -> None:
    text = narinfo_text(refs="").replace("Compression: xz\n", "").replace("FileSize: 89716\n", "")
    info = NarInfo.parse(
        text.replace(
            "Deriver: 5ql0c1qwzgjaclm37gidvkc5ff9d56i4-zlib1g-1.3.drv", "Deriver: unknown-deriver"
        ),
        url=URL,
    )
    assert info.compression is Compression.BZIP2  # Nix's default
    assert info.references == () and info.file_size is None and info.deriver is None
    assert info.fingerprint().endswith(";166384;")


def test_hex_narhash_fingerprint_uses_base32() -> None:
    hex_hash = nixbase32.decode(NARHASH.split(":")[1]).hex()
    info = NarInfo.parse(narinfo_text().replace(NARHASH, f"sha256:{hex_hash}"), url=URL)
    assert f";{NARHASH};" in info.fingerprint()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace(f"StorePath: {PATH}\n", ""), "no StorePath"),
        (
            lambda t: t.replace(PATH, f"/gnu/store/{H1}-zlib1g-1.3"),
            "not a store path in /nix/store",
        ),
        (lambda t: t.replace(PATH, f"/nix/store/{H2}-zlib1g-1.3"), "does not have the hash"),
        (lambda t: t.replace(PATH, f"/nix/store/{H1}-.hidden"), "not a store path"),
        (lambda t: t.replace("NarSize: 166384", "NarSize: 0"), "NarSize is 0"),
        (lambda t: t.replace("NarSize: 166384", "NarSize: -1"), "is not a size"),
        (lambda t: t.replace("NarSize: 166384", "NarSize: 1_000"), "is not a size"),
        (lambda t: t.replace("NarSize: 166384", "NarSize: 99999999999999"), "larger than"),
        (lambda t: t.replace("FileSize: 89716", "FileSize: 12 "), "is not a size"),
        (lambda t: t.replace(NARHASH, "sha256:xyz"), "bad NarHash"),
        (lambda t: t.replace(NARHASH, "md5:" + "0" * 32), "not sha256"),
        (lambda t: t.replace("Compression: xz", "Compression: lzma9"), "unknown Compression"),
        (
            lambda t: t.replace(f"References: {REF}", "References: ../../etc"),
            "not a store basename",
        ),
        (lambda t: t.replace(f"References: {REF}", "References: /nix/store/" + REF), "basename"),
        (lambda t: t.replace("URL: nar/", "URL: ../nar/"), "not a plain relative path"),
        (lambda t: t.replace("URL: nar/", "URL: /etc/"), "not a plain relative path"),
        (lambda t: t.replace("URL: nar/", "URL: file:///etc/"), "not a plain relative path"),
        (lambda t: t.replace("URL: nar/", "URL: nar//"), "not a plain relative path"),
        (lambda t: t + "NarSize: 5\n", "duplicate NarSize"),
        (lambda t: t + "garbage line\n", "not 'Key: value'"),
        (lambda t: t.replace("Deriver: 5ql", "Deriver: x5ql"), "not a .drv"),
        (lambda t: t + "X: " + "a" * 70000 + "\n", "larger than"),
        (lambda t: t + "System: a\x00b\n", "invalid value"),
    ],
)
def test_rejects(change: object, message: str) -> None:
    text = change(narinfo_text())  # type: ignore[operator]
    with pytest.raises(NarInfoError, match=message) as caught:
        NarInfo.parse(text, url=URL)
    assert "\n" not in str(caught.value) and URL in str(caught.value)


def test_rejects_non_utf8() -> None:
    with pytest.raises(NarInfoError, match="not UTF-8"):
        NarInfo.parse(narinfo_text().encode() + b"System: \xff\n", url=URL)


def test_absolute_http_url_is_kept() -> None:
    text = narinfo_text().replace("URL: nar/", "URL: https://cdn.example/nar/")
    assert NarInfo.parse(text, url=URL).nar_url.startswith("https://cdn.example/nar/")


def test_signature_verifies_only_with_trusted_key() -> None:
    private, public = make_key("k-1")
    _, stranger = make_key("k-1")
    text = signed(private, "k-1", narinfo_text())
    info = NarInfo.parse(text, url=URL)
    result = verify(info, TrustedKeys.of([public]))
    assert result and result.key == public and result.reason is None
    wrong = verify(info, TrustedKeys.of([stranger]))
    assert not wrong and wrong.reason == "signature does not verify with trusted keys (k-1)"
    other_name = verify(info, TrustedKeys.of([make_key("other")[1]]))
    assert not other_name and "not signed by a trusted key" in str(other_name.reason)
    unsigned = verify(NarInfo.parse(narinfo_text(), url=URL), TrustedKeys.of([public]))
    assert not unsigned and unsigned.reason == "not signed"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("NarSize: 166384", "NarSize: 166385"),
        (NARHASH, "sha256:12q7fnhfkj1nqwhq0zxlf5zq8n2djm9pynq8dplqbpp0nqmi22xi"),
        (f"References: {REF} ", f"References: {H2}-libc6-2.42 "),
        (f"References: {REF} ", "References: "),
    ],
)
def test_tampering_breaks_signature(old: str, new: str) -> None:
    private, public = make_key()
    text = signed(private, "k-1", narinfo_text())
    assert old in text
    info = NarInfo.parse(text.replace(old, new), url=URL)
    assert not verify(info, TrustedKeys.of([public]))


def test_one_good_signature_among_others() -> None:
    private, public = make_key("good")
    text = signed(private, "good", narinfo_text())
    text += "Sig: junk\nSig: other:" + base64.b64encode(b"x" * 64).decode() + "\n"
    info = NarInfo.parse(text, url=URL)
    assert info.bad_signatures == ("junk",)
    assert verify(info, TrustedKeys.of([public]))


def test_public_keys() -> None:
    _, public = make_key("cache.example.org-1")
    keys = TrustedKeys.parse(f"  {public}\n{public}  ")
    assert keys.names == ("cache.example.org-1",) and len(keys) == 1
    assert PublicKey.parse(str(public)) == public


@pytest.mark.parametrize(
    "text",
    [
        "no-colon",
        ":" + base64.b64encode(b"k" * 32).decode(),
        "name:" + base64.b64encode(b"k" * 31).decode(),
        "name:" + base64.b64encode(b"k" * 32).decode()[:-2] + "!!",
        "name:" + base64.b64encode(b"k" * 64).decode(),  # a secret key is not a public key
    ],
)
def test_bad_keys_are_errors(text: str) -> None:
    with pytest.raises(SignatureError):
        TrustedKeys.parse(f"good:{base64.b64encode(b'g' * 32).decode()} {text}")


def test_conflicting_key_names() -> None:
    a = "n:" + base64.b64encode(b"a" * 32).decode()
    b = "n:" + base64.b64encode(b"b" * 32).decode()
    with pytest.raises(SignatureError, match="two different"):
        TrustedKeys.parse(f"{a} {b}")


def test_cache_info() -> None:
    info = CacheInfo.parse("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n", url="u")
    assert info == CacheInfo("/nix/store", True, 40)
    assert CacheInfo.parse("", url="u") == CacheInfo()
    for bad in (
        "StoreDir: relative\n",
        "WantMassQuery: yes\n",
        "Priority: high\n",
        "StoreDir: /a/../b\n",
    ):
        with pytest.raises(NarInfoError):
            CacheInfo.parse(bad, url="u")


def test_store_dir_from_cache_info() -> None:
    text = narinfo_text().replace("/nix/store", "/gnu/store")
    info = NarInfo.parse(text, url=URL, store_dir="/gnu/store")
    assert info.reference_paths[0].startswith("/gnu/store/")
