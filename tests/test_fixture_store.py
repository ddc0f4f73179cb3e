"""Facts of the real fixture store (``tests/fixtures``) that later tests rely on.

Each scenario's claimed right answer is run for real, and the wrong answers a naive resolver
would pick fail for real, so the fixtures prove their own descriptions.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from fixtures import (
    RELEASES,
    SCENARIOS,
    FixtureStore,
    Scenario,
    build_fixture_store,
    default_cache_dir,
    upstream_version,
)
from fixtures._debian import DebContents, Stanza, _break_cycles, resolve_closure, store_name
from fixtures._elf import ElfInfo, read_elf
from fixtures.policy import REQUIRE_ENV, nix_unavailable_reason, require

HOST_LOADER = "/lib64/ld-linux-x86-64.so.2"


def nix_store(*args: str) -> set[Path]:
    result = subprocess.run(["nix-store", *args], capture_output=True, text=True, check=True)
    return {Path(line) for line in result.stdout.split()}


def references(path: Path) -> set[Path]:
    """What Nix recorded as ``path``'s references, itself left out."""
    return nix_store("-q", "--references", str(path)) - {path}


def closure(path: Path) -> set[Path]:
    return nix_store("-qR", str(path))


def run(argv: Iterable[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv], capture_output=True, text=True, check=False, timeout=60
    )


def store_root(path: Path) -> Path:
    """``/nix/store/<hash>-<name>`` of a path inside the store."""
    return Path(*path.parts[:4])


def glibc_number(version: str) -> tuple[int, ...]:
    """``GLIBC_2.38`` or ``2.38`` -> ``(2, 38)``."""
    return tuple(int(part) for part in version.removeprefix("GLIBC_").split("."))


def providers_of(fx: FixtureStore, soname: str) -> set[str]:
    """Every provider key with a library of that soname where it keeps its libraries."""
    found = set()
    for key in fx.provider_keys():
        release, slash, package = key.partition("/")
        if slash:
            if soname in fx.packages[release][package].sonames:
                found.add(key)
        elif (fx.paths[key] / "lib" / soname).exists():
            found.add(key)
    return found


def assignment(fx: FixtureStore, scenario: Scenario) -> dict[str, str]:
    """The scenario's example answer, completed from its release for Debian roots."""
    chosen = dict(scenario.example)
    if scenario.release is not None:
        for soname in read_elf(fx.apps[scenario.app]).needed:
            chosen.setdefault(soname, fx.debian_provider(scenario.release, soname))
    return chosen


def loader_and_path(fx: FixtureStore, chosen: dict[str, str]) -> tuple[Path, str]:
    """The loader of the chosen glibc and a --library-path naming every chosen provider."""
    dirs = dict.fromkeys(str(d) for key in chosen.values() for d in fx.lib_dirs(key))
    return fx.loaders[chosen["libc.so.6"]], ":".join(dirs)


# -- synthetic fixtures ---------------------------------------------------------------------

#: The references each synthetic store path must have (provider keys), and nothing else.
SYNTHETIC_REFERENCES: dict[str, set[str]] = {
    "glibc-host": set(),
    "libfoo-1.0": {"glibc-host"},
    "libfoo-2.0": {"glibc-host"},
    "libfoo-3.0": {"glibc-host"},
    "libdep-1.0": {"glibc-host"},
    "libdep-1.1": {"glibc-host"},
    "liba-1.0": {"libdep-1.0", "glibc-host"},
    "liba-2.0": {"libdep-1.1", "glibc-host"},
    "libb-1.0": {"libdep-1.0", "glibc-host"},
    "libold-1.0": {"glibc-host"},
    "libnew-1.0": {"trixie/libc6"},
    "libbar-1.0-host": {"glibc-host"},
    "libbar-1.0-trixie": {"trixie/libc6"},
    "foreign-apps": set(),
    "bundled-app": set(),
}

#: Synthetic libraries: store key -> (soname, version names defined, versions needed).
SYNTHETIC_LIBRARIES: dict[str, tuple[str, set[str], dict[str, set[str]]]] = {
    "libfoo-1.0": ("libfoo.so.1", {"FOO_1.0"}, {}),
    "libfoo-2.0": ("libfoo.so.1", {"FOO_1.0", "FOO_2.0"}, {}),
    "libfoo-3.0": ("libfoo.so.2", {"FOO_3.0"}, {}),
    "libdep-1.0": ("libdep.so.1", {"DEP_1.0"}, {}),
    "libdep-1.1": ("libdep.so.1", {"DEP_1.1"}, {}),
    "liba-1.0": ("liba.so.1", set(), {"libdep.so.1": {"DEP_1.0"}}),
    "liba-2.0": ("liba.so.1", set(), {"libdep.so.1": {"DEP_1.1"}}),
    "libb-1.0": ("libb.so.1", set(), {"libdep.so.1": {"DEP_1.0"}}),
    "libold-1.0": ("libold.so.1", set(), {}),
    "libnew-1.0": ("libnew.so.1", set(), {"libc.so.6": {"GLIBC_2.38"}}),
    "libbar-1.0-host": ("libbar.so.1", set(), {}),
    "libbar-1.0-trixie": ("libbar.so.1", set(), {}),
}


def test_synthetic_references_are_the_intended_graph(fixture_store: FixtureStore) -> None:
    fx = fixture_store
    assert set(fx.paths) == set(SYNTHETIC_REFERENCES)
    for key, expected in SYNTHETIC_REFERENCES.items():
        assert references(fx.paths[key]) == {fx.path(k) for k in expected}, key


@pytest.mark.parametrize("key", sorted(SYNTHETIC_LIBRARIES))
def test_synthetic_library_shape(fixture_store: FixtureStore, key: str) -> None:
    fx = fixture_store
    soname, defined, needs = SYNTHETIC_LIBRARIES[key]
    lib = fx.paths[key] / "lib"
    assert [p.name for p in lib.iterdir()] == [soname]
    info = read_elf(lib / soname)
    assert info.soname == soname
    assert info.needed[-1] == "libc.so.6"
    assert info.version_definitions == defined
    for needed, versions in needs.items():
        assert versions <= info.version_needs[needed]
    # Built like Nix builds libraries: RUNPATH = the lib dirs of exactly its references.
    assert info.runpath is not None
    assert {store_root(Path(d)) for d in info.runpath.split(":")} == references(fx.paths[key])


def test_synthetic_names_are_shared_like_real_rebuilds(fixture_store: FixtureStore) -> None:
    fx = fixture_store
    host, trixie = fx.paths["libbar-1.0-host"], fx.paths["libbar-1.0-trixie"]
    assert host != trixie
    assert host.name.split("-", 1)[1] == trixie.name.split("-", 1)[1] == "libbar-1.0"
    assert fx.paths["glibc-host"].name.endswith(f"-glibc-{fx.glibc_versions['host']}-host")


def test_glibc_host_is_the_hosts_glibc(fixture_store: FixtureStore) -> None:
    fx = fixture_store
    assert fx.glibc_versions["host"] == (os.confstr("CS_GNU_LIBC_VERSION") or "").split()[-1]
    loader = fx.loaders["glibc-host"]
    assert not loader.is_symlink()
    result = run([loader, "--version"])
    assert result.returncode == 0
    assert f"version {fx.glibc_versions['host']}" in result.stdout


def test_glibc_versions_differ_between_releases(fixture_store: FixtureStore) -> None:
    versions = fixture_store.glibc_versions
    assert glibc_number(versions["trixie"]) > glibc_number(versions["bookworm"])
    assert glibc_number(versions["trixie"]) >= (2, 38)  # new-glibc and libnew need 2.38


SYNTHETIC_APPS = [s for s in SCENARIOS.values() if s.needed is not None]


@pytest.mark.parametrize("scenario", SYNTHETIC_APPS, ids=lambda s: s.app)
def test_foreign_app_shape(fixture_store: FixtureStore, scenario: Scenario) -> None:
    info = read_elf(fixture_store.apps[scenario.app])
    assert info.interpreter == HOST_LOADER
    assert info.needed == scenario.needed
    assert info.rpath is None
    assert info.runpath == ("$ORIGIN/../lib" if scenario.app == "bundled" else None)


def test_foreign_apps_need_what_the_scenarios_say(fixture_store: FixtureStore) -> None:
    fx = fixture_store
    needs = {name: read_elf(fx.apps[name]).version_needs for name in SCENARIOS}
    assert needs["foo-v1"]["libfoo.so.1"] == {"FOO_1.0"}
    assert needs["foo-v2"]["libfoo.so.1"] == {"FOO_1.0", "FOO_2.0"}
    assert needs["foo-unsat"]["libfoo.so.1"] == {"FOO_3.0"}
    assert needs["needs-loader"]["ld-linux-x86-64.so.2"] == {"GLIBC_2.2.5"}
    assert "GLIBC_2.38" in needs["new-glibc"]["libc.so.6"]
    bundled = read_elf(fx.paths["bundled-app"] / "lib" / "libbundled.so.1")
    assert (bundled.soname, bundled.runpath) == ("libbundled.so.1", None)
    assert bundled.version_needs["libfoo.so.1"] == {"FOO_2.0"}


def test_unsatisfiable_scenarios_have_no_answer(fixture_store: FixtureStore) -> None:
    fx = fixture_store
    # foo-unsat: no libfoo.so.1 defines FOO_3.0; libfoo.so.2 (libfoo-3.0) does.
    libfoo1 = providers_of(fx, "libfoo.so.1")
    assert libfoo1 == {"libfoo-1.0", "libfoo-2.0"}
    for key in libfoo1:
        assert "FOO_3.0" not in read_elf(fx.paths[key] / "lib" / "libfoo.so.1").version_definitions
    assert providers_of(fx, "libfoo.so.2") == {"libfoo-3.0"}
    # glibc-unsat: one provider each, whose closures hold different glibcs.
    assert providers_of(fx, "libnew.so.1") == {"libnew-1.0"}
    assert providers_of(fx, "libold.so.1") == {"libold-1.0"}
    glibcs = {fx.path(key) for key in fx.loaders}
    assert closure(fx.paths["libnew-1.0"]) & glibcs == {fx.path("trixie/libc6")}
    assert closure(fx.paths["libold-1.0"]) & glibcs == {fx.path("glibc-host")}


def test_diamond_has_one_consistent_answer(fixture_store: FixtureStore) -> None:
    fx = fixture_store
    assert providers_of(fx, "liba.so.1") == {"liba-1.0", "liba-2.0"}
    assert providers_of(fx, "libb.so.1") == {"libb-1.0"}
    assert providers_of(fx, "libdep.so.1") == {"libdep-1.0", "libdep-1.1"}
    libdeps = {fx.paths["libdep-1.0"], fx.paths["libdep-1.1"]}
    assert closure(fx.paths["libb-1.0"]) & libdeps == {fx.paths["libdep-1.0"]}
    assert closure(fx.paths["liba-1.0"]) & libdeps == {fx.paths["libdep-1.0"]}
    assert closure(fx.paths["liba-2.0"]) & libdeps == {fx.paths["libdep-1.1"]}


# -- every scenario's answer, run for real ---------------------------------------------------


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS.values() if s.satisfiable], ids=lambda s: s.app
)
def test_scenario_example_answer_runs(fixture_store: FixtureStore, scenario: Scenario) -> None:
    fx = fixture_store
    chosen = assignment(fx, scenario)
    for soname, key in scenario.example.items():
        assert key in scenario.acceptable[soname]
    loader, library_path = loader_and_path(fx, chosen)
    app = fx.apps[scenario.app]
    if not scenario.library:
        result = run([loader, "--library-path", library_path, app, *scenario.args])
        assert result.returncode == 0, result.stderr
        assert scenario.prints in result.stdout
    # Every library the process loads comes from the chosen providers' closures or the
    # app's own tree: nothing from the host.
    allowed = {store_root(app)} | {p for key in set(chosen.values()) for p in closure(fx.path(key))}
    listing = run([loader, "--library-path", library_path, "--list", app])
    assert listing.returncode == 0, listing.stderr
    loaded = [
        line.split("=>")[1].split("(")[0].strip()
        for line in listing.stdout.splitlines()
        if "=>" in line
    ]
    assert loaded
    for path in loaded:
        assert path.startswith("/nix/store/"), path
        assert store_root(Path(path)) in allowed, path


#: (app, providers, what the loader says): answers a naive resolver might give.
WRONG_ANSWERS = [
    pytest.param(
        "diamond",
        {"liba.so.1": "liba-2.0", "libb.so.1": "libb-1.0", "libc.so.6": "glibc-host"},
        "version `DEP_1.0' not found",
        id="diamond-newest-liba",
    ),
    pytest.param(
        "foo-v2",
        {"libfoo.so.1": "libfoo-1.0", "libc.so.6": "glibc-host"},
        "version `FOO_2.0' not found",
        id="foo-v2-libfoo-1.0",
    ),
    pytest.param(
        "glibc-choice",
        {"libnew.so.1": "libnew-1.0", "libbar.so.1": "libbar-1.0-host", "libc.so.6": "glibc-host"},
        "version `GLIBC_2.38' not found",
        id="glibc-choice-host-glibc",
    ),
    pytest.param(
        "new-glibc",
        {"libc.so.6": "bookworm/libc6"},
        "version `GLIBC_2.38' not found",
        id="new-glibc-bookworm",
    ),
    pytest.param(
        "curl-trixie",
        {
            "libcurl.so.4": "bookworm/libcurl4",
            "libz.so.1": "bookworm/zlib1g",
            "libc.so.6": "bookworm/libc6",
        },
        "undefined symbol",
        id="curl-trixie-bookworm-libs",
    ),
]


@pytest.mark.parametrize(("app", "chosen", "error"), WRONG_ANSWERS)
def test_wrong_answers_fail_at_run_time(
    fixture_store: FixtureStore, app: str, chosen: dict[str, str], error: str
) -> None:
    scenario = SCENARIOS[app]
    assert any(chosen[s] not in scenario.acceptable.get(s, {chosen[s]}) for s in chosen)
    loader, library_path = loader_and_path(fixture_store, chosen)
    result = run([loader, "--library-path", library_path, fixture_store.apps[app], *scenario.args])
    assert result.returncode != 0
    assert error in result.stderr


def test_bookworm_curl_also_runs_on_trixie(fixture_store: FixtureStore) -> None:
    """curl-bookworm's other right answer: the whole trixie closure."""
    fx = fixture_store
    chosen = {
        "libcurl.so.4": "trixie/libcurl4t64",
        "libz.so.1": "trixie/zlib1g",
        "libc.so.6": "trixie/libc6",
    }
    assert all(chosen[s] in SCENARIOS["curl-bookworm"].acceptable[s] for s in chosen)
    loader, library_path = loader_and_path(fx, chosen)
    result = run([loader, "--library-path", library_path, fx.apps["curl-bookworm"], "--version"])
    assert result.returncode == 0, result.stderr
    version = upstream_version(fx.packages["trixie"]["libcurl4t64"].version)
    assert f"libcurl/{version}" in result.stdout


# -- Debian fixtures -------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_debian_references_are_the_dependency_graph(
    fixture_store: FixtureStore, release: str
) -> None:
    fx = fixture_store
    packages = fx.packages[release]
    assert {"curl", "libc6", "zlib1g"} <= set(packages)
    for name, package in packages.items():
        expected = {packages[dep].path for dep in package.deps if packages[dep].lib_dirs}
        if package.programs and name != "libc6":
            expected.add(packages["libc6"].path)
        assert references(package.path) == expected, name
        assert package.path.name.split("-", 1)[1].startswith(f"{name}-")


@pytest.mark.parametrize("release", RELEASES)
def test_debian_closure_has_exactly_its_own_libc6(
    fixture_store: FixtureStore, release: str
) -> None:
    fx = fixture_store
    own = set(fx.debian[release].values())
    for name in fx.debian[release]:
        paths = closure(fx.debian[release][name])
        assert paths <= own, name
        libc6s = {p for p in paths if p.name.split("-", 1)[1].startswith("libc6-")}
        assert libc6s <= {fx.debian[release]["libc6"]}, name
    assert fx.debian[release]["libc6"] in closure(fx.debian[release]["curl"])


@pytest.mark.parametrize("release", RELEASES)
def test_debian_curl_runs_with_its_own_loader(fixture_store: FixtureStore, release: str) -> None:
    fx = fixture_store
    curl = fx.packages[release]["curl"]
    loader = fx.loaders[f"{release}/libc6"]
    assert curl.programs == ("usr/bin/curl",)
    assert read_elf(curl.path / "usr/bin/curl").interpreter == str(loader)
    expected = f"curl {upstream_version(curl.version)} "
    program = curl.path / "usr/bin/curl"
    for prefix in ([loader], []):  # through its loader, and exec'd (its interpreter)
        result = run([*prefix, program, "--version"])
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(expected)


@pytest.mark.parametrize("release", RELEASES)
def test_debian_loader_is_the_real_file_and_lib64_link_is_kept(
    fixture_store: FixtureStore, release: str
) -> None:
    fx = fixture_store
    libc6 = fx.debian[release]["libc6"]
    loader = fx.loaders[f"{release}/libc6"]
    assert loader.is_file()
    assert not loader.is_symlink()
    assert store_root(loader) == libc6
    links = [libc6 / d / "ld-linux-x86-64.so.2" for d in ("lib64", "usr/lib64")]
    kept = [link for link in links if link.is_symlink()]
    assert kept, "libc6 ships a lib64 loader symlink; it must be kept as shipped"
    for link in kept:
        assert os.readlink(link).endswith("x86_64-linux-gnu/ld-linux-x86-64.so.2")
    assert run([loader, "--version"]).stdout.count(f"version {fx.glibc_versions[release]}") == 1


@pytest.mark.parametrize("release", RELEASES)
def test_debian_elfs_resolve_inside_the_store(fixture_store: FixtureStore, release: str) -> None:
    """Every patched ELF loads with its release's loader, each needed library from the
    store (found through the RUNPATHs, not the host's default dirs)."""
    fx = fixture_store
    loader = fx.loaders[f"{release}/libc6"]
    own = {str(p) for p in fx.debian[release].values()}
    checked = 0
    for name, package in fx.packages[release].items():
        for file in package.patched:
            result = run([loader, "--list", package.path / file])
            assert result.returncode == 0, (name, file, result.stderr)
            for line in result.stdout.splitlines():
                if "=>" in line:
                    target = line.split("=>")[1].split("(")[0].strip()
                    assert str(store_root(Path(target))) in own, (name, file, line)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("release", RELEASES)
def test_debian_foreign_roots_are_unpatched(fixture_store: FixtureStore, release: str) -> None:
    fx = fixture_store
    curl, libcurl = fx.apps[f"curl-{release}"], fx.apps[f"libcurl-{release}"]
    for app in (curl, libcurl):
        assert references(store_root(app)) == set()
        info = read_elf(app)
        assert (info.runpath, info.rpath) == (None, None)
    assert read_elf(curl).interpreter == HOST_LOADER
    assert read_elf(libcurl).soname == "libcurl.so.4"
    assert read_elf(curl).needed == ("libcurl.so.4", "libz.so.1", "libc.so.6")


def test_debian_foreign_libcurls_tie_to_their_release(fixture_store: FixtureStore) -> None:
    fx = fixture_store
    # trixie's libcurl needs a glibc version bookworm's glibc lacks...
    trixie_needs = read_elf(fx.apps["libcurl-trixie"]).version_needs["libc.so.6"]
    assert max(map(glibc_number, trixie_needs)) > glibc_number(fx.glibc_versions["bookworm"])
    # ...and bookworm's needs a soname no trixie package provides.
    trixie_sonames = {s for p in fx.packages["trixie"].values() for s in p.sonames}
    assert set(read_elf(fx.apps["libcurl-bookworm"]).needed) - trixie_sonames


def test_warm_build_reuses_everything(fixture_store: FixtureStore) -> None:
    again = build_fixture_store(fixture_store.cache_dir)
    assert (again.stats.downloaded, again.stats.built) == (0, 0)
    assert again.paths == fixture_store.paths
    assert again.debian == fixture_store.debian
    assert again.apps == fixture_store.apps


# -- the builder's own logic (no Nix needed) -------------------------------------------------


def test_require_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    require(None)
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no nix"):
        require("no nix")
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV}=1 but no nix"):
        require("no nix")


def test_nix_unavailable_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda tool: None)
    assert "nix-build" in (nix_unavailable_reason() or "")
    monkeypatch.setattr("shutil.which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert "root" in (nix_unavailable_reason() or "")
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert nix_unavailable_reason() is None


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOPATCHELF_TEST_CACHE", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("AUTOPATCHELF_TEST_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "autopatchelf-tests"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "autopatchelf-tests"


def test_store_names_and_versions() -> None:
    assert store_name("libssl3", "3.0.20-1~deb12u2") == "libssl3-3.0.20-1_deb12u2"
    assert store_name("zlib1g", "1:1.2.13.dfsg-1") == "zlib1g-1.2.13.dfsg-1"
    assert upstream_version("1:1.2.13.dfsg-1") == "1.2.13.dfsg"
    assert upstream_version("8.14.1-2+deb13u7") == "8.14.1"


def test_resolve_closure_alternatives_and_virtuals() -> None:
    def stanza(name: str, depends: tuple[str, ...] = (), provides: tuple[str, ...] = ()) -> Stanza:
        return Stanza(package=name, version="1", depends=depends, provides=provides)

    available = {
        s.package: s
        for s in (
            stanza("app", ("libnew | libold", "virtual-ssl (>= 1)", "libc:any (>= 2.34)")),
            stanza("libold", ("libc",)),
            stanza("libnew", ("libc",)),
            stanza("ssl-b", ("libc",), provides=("virtual-ssl",)),
            stanza("ssl-a", ("libc",), provides=("virtual-ssl",)),
            stanza("libc", ("libgcc",)),
            stanza("libgcc", ("libc",)),
        )
    }
    assert resolve_closure(available, ("app",)) == {
        "app": ("libnew", "ssl-a", "libc"),
        "libnew": ("libc",),
        "ssl-a": ("libc",),
        "libc": ("libgcc",),
        "libgcc": ("libc",),
    }


def test_break_cycles_drops_only_unused_edges() -> None:
    def package(soname: str, *needed: str) -> DebContents:
        info = ElfInfo(
            soname=soname,
            needed=needed,
            runpath=None,
            rpath=None,
            interpreter=None,
            dynamic=True,
            version_definitions=frozenset(),
            version_needs={},
        )
        return DebContents(elfs={f"usr/lib/x86_64-linux-gnu/{soname}": info}, paths=frozenset())

    contents = {
        "libc6": package("libc.so.6"),  # Depends on libgcc-s1, but needs nothing from it
        "libgcc-s1": package("libgcc_s.so.1", "libc.so.6"),
        "curl": package("libcurl.so.4", "libc.so.6", "libgcc_s.so.1"),
    }
    deps = {"libc6": {"libgcc-s1"}, "libgcc-s1": {"libc6"}, "curl": {"libc6", "libgcc-s1"}}
    _break_cycles(deps, contents)
    assert deps == {"libc6": set(), "libgcc-s1": {"libc6"}, "curl": {"libc6", "libgcc-s1"}}
