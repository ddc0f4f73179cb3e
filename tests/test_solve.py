"""The resolver against the real fixture store, judged by the real dynamic loader.

Every satisfiable scenario is solved, checked against the providers the scenario allows,
then *run* through the solution; the files ld.so reports loading must be exactly the
predicted ones, all inside the store (no host library leaking in).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures import SCENARIOS, FixtureStore, Scenario
from ldcheck import predicted, run_through, static_load_set
from runhelp import within_args

import autopatchelf
import autopatchelf.elf.symbols as symbols_module
from autopatchelf.actions.linkdir import write_link_dir
from autopatchelf.errors import Unsatisfiable
from autopatchelf.index import StoreIndex
from autopatchelf.index.view import IndexView
from autopatchelf.problem.from_index import IndexSource
from autopatchelf.solution.greedy import greedy_first_match
from autopatchelf.solution.model import Solution

pytestmark = pytest.mark.nix

SATISFIABLE = [s for s in SCENARIOS.values() if s.satisfiable]
UNSATISFIABLE = [s for s in SCENARIOS.values() if not s.satisfiable]


def key_of(fx: FixtureStore, path: str) -> str:
    """The fixture provider key owning ``path``."""
    for key in fx.provider_keys():
        if path.startswith(str(fx.path(key)) + "/"):
            return key
    raise AssertionError(f"{path} belongs to no fixture provider")


def solve(fx: FixtureStore, index: StoreIndex, app: str, **kwargs: object) -> Solution:
    kwargs.setdefault("system", [])
    return autopatchelf.solve([str(fx.apps[app])], autopatchelf.SolveOptions(**kwargs), index=index)  # type: ignore[arg-type]


def assert_loader_agrees(solution: Solution, root: str, scenario: Scenario) -> None:
    want = predicted(solution, root)
    assert want, "the prediction names no library at all"
    assert all(p.startswith("/nix/store/") for p in want)
    listed, missing = static_load_set(solution, root)
    assert not missing, f"ld.so --list finds no file for {missing}"
    leaks = sorted(p for p in listed if not p.startswith("/nix/store/"))
    assert not leaks, f"host libraries leak into the process: {leaks}"
    assert listed == want, f"ld.so --list maps {sorted(listed ^ want)} differently"
    if scenario.library:
        return
    ran = run_through(solution, root, scenario.args)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert scenario.prints.split(":")[0] in ran.stdout
    assert ran.loaded == want, f"ld.so loaded {sorted(ran.loaded ^ want)} differently"
    # Plugins dlopen()ed from hard-coded host paths (libsasl2's) are not ours to resolve.
    assert all("/sasl2/" in p or p.startswith("/nix/store/") or "libdb" in p for p in ran.dlopened)


@pytest.mark.parametrize("scenario", SATISFIABLE, ids=lambda s: s.app)
def test_scenario_is_solved_and_runs_as_predicted(
    fixture_store: FixtureStore, index: StoreIndex, scenario: Scenario
) -> None:
    fx = fixture_store
    root = str(fx.apps[scenario.app])
    solution = solve(fx, index, scenario.app)
    chosen = solution.choices
    for soname, allowed in scenario.acceptable.items():
        assert soname in chosen, f"{soname} not chosen"
        assert key_of(fx, chosen[soname]) in allowed, f"{soname}: {chosen[soname]}"
    if scenario.release is not None:
        # Debian roots: everything from one release (the one of the chosen glibc).
        release = key_of(fx, chosen["libc.so.6"]).split("/")[0]
        mixed = {
            n: key_of(fx, p) for n, p in chosen.items() if key_of(fx, p).split("/")[0] != release
        }
        assert not mixed, f"a mix of releases: {mixed}"
    # One glibc: the loader and every glibc name from the chosen glibc store path.
    assert solution.glibc is not None and solution.interpreter is not None
    assert solution.interpreter.startswith(solution.glibc + "/")
    assert chosen["libc.so.6"].startswith(solution.glibc + "/")
    assert_loader_agrees(solution, root, scenario)
    example = {n: key_of(fx, p) for n, p in chosen.items() if n in scenario.example}
    if example == dict(scenario.example) and not scenario.library:
        assert scenario.prints in run_through(solution, root, scenario.args).stdout


def test_trixie_program_needing_glibc_2_38_gets_trixie_glibc(
    fixture_store: FixtureStore, index: StoreIndex
) -> None:
    solution = solve(fixture_store, index, "new-glibc")
    assert key_of(fixture_store, solution.glibc + "/x") == "trixie/libc6"


def test_bundled_library_stays_bundled(fixture_store: FixtureStore, index: StoreIndex) -> None:
    fx = fixture_store
    solution = solve(fx, index, "bundled")
    (root,) = solution.roots
    by_name = {lib.name: lib for lib in root.libraries}
    bundled = by_name["libbundled.so.1"]
    assert bundled.store_path is None
    assert bundled.path == os.path.realpath(fx.paths["bundled-app"] / "lib" / "libbundled.so.1")
    # The patched RUNPATH serves the root's own needs; the bundled dir is not one of them.
    assert all(not d.startswith(str(fx.paths["bundled-app"])) for d in solution.runpath)
    assert key_of(fx, by_name["libfoo.so.1"].path) == "libfoo-2.0"


def test_greedy_first_match_gets_the_diamond_wrong_and_it_fails(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    fx = fixture_store
    app = str(fx.apps["diamond"])
    greedy = greedy_first_match([app], IndexSource(index))
    assert key_of(fx, greedy["liba.so.1"]) == "liba-2.0"  # the newest: wrong here
    solution = solve(fx, index, "diamond")
    assert key_of(fx, solution.choices["liba.so.1"]) == "liba-1.0"
    # Run the greedy choice for real through a link dir holding exactly its files.
    links = tmp_path / "greedy-links"
    links.mkdir()
    for name, path in greedy.items():
        (links / name).symlink_to(path)
    loader = solution.interpreter
    assert loader is not None
    done = subprocess.run(
        [loader, "--library-path", str(links), app],
        capture_output=True,
        text=True,
        env={"LD_BIND_NOW": "1"},
        check=False,
    )
    assert done.returncode != 0
    assert "DEP_1.0" in done.stderr


def test_unsatisfiable_foo_names_the_version_and_the_closest_match(
    fixture_store: FixtureStore, index: StoreIndex
) -> None:
    with pytest.raises(Unsatisfiable) as caught:
        solve(fixture_store, index, "foo-unsat")
    text = caught.value.explanation.text()
    assert "libfoo.so.1 with FOO_3.0" in text
    assert "libfoo-1.0 lacks FOO_3.0" in text and "libfoo-2.0 lacks FOO_3.0" in text
    assert "libfoo-3.0 defines FOO_3.0, but as libfoo.so.2" in text


def test_unsatisfiable_glibc_names_both_glibcs(
    fixture_store: FixtureStore, index: StoreIndex
) -> None:
    with pytest.raises(Unsatisfiable) as caught:
        solve(fixture_store, index, "glibc-unsat")
    expl = caught.value.explanation
    last = expl.lines[-1]
    assert last.startswith("So no single glibc fits")
    assert "libnew-1.0" in last and "libold-1.0" in last
    assert "libc6-2.41" in last and "glibc-2.36-host" in last
    # The explanation is data too: a minimal core (removing any fact makes it solvable).
    kinds = sorted({type(f).__name__ for f in expl.facts})
    assert kinds == ["ClosureProvides", "Needs", "OneProvider"]


def test_compatible_glibc_policy_solves_what_strict_cannot(
    fixture_store: FixtureStore, index: StoreIndex
) -> None:
    fx = fixture_store
    solution = solve(fx, index, "glibc-unsat", glibc="compatible")
    assert key_of(fx, solution.glibc + "/x") == "trixie/libc6"
    scenario = Scenario(
        app="glibc-unsat",
        needed=None,
        acceptable={},
        example={},
        prints="glibc-unsat",
        why="compatible: libold runs on the newer glibc",
    )
    assert_loader_agrees(solution, str(fx.apps["glibc-unsat"]), scenario)


def test_trixie_curl_with_only_bookworm_libcurl_names_the_missing_symbol(
    fixture_store: FixtureStore, index_cache: str
) -> None:
    fx = fixture_store
    bookworm = [str(fx.path(k)) for k in fx.provider_keys() if k.startswith("bookworm/")]
    with pytest.raises(Unsatisfiable) as caught:
        autopatchelf.solve(
            [str(fx.apps["curl-trixie"])],
            autopatchelf.SolveOptions(within=bookworm, cache_dir=index_cache, system=[]),
        )
    expl = caught.value.explanation
    text = expl.text()
    assert "needs libcurl.so.4 with curl_global_trace@CURL_OPENSSL_4" in text, text
    assert "libcurl4-7.88" in text
    assert expl.lines[-1] == (
        "So no libcurl.so.4 in the store has curl_global_trace@CURL_OPENSSL_4: "
        "a newer build of it is needed."
    )
    assert caught.value.hint is not None


def test_glibc_too_new_names_the_version_and_the_newest_glibc(
    fixture_store: FixtureStore, index_cache: str
) -> None:
    fx = fixture_store
    within = [
        str(fx.path(k))
        for k in fx.provider_keys()
        if not k.startswith("trixie/") and k not in ("libnew-1.0", "libbar-1.0-trixie")
    ]
    with pytest.raises(Unsatisfiable) as caught:
        autopatchelf.solve(
            [str(fx.apps["new-glibc"])],
            autopatchelf.SolveOptions(within=within, cache_dir=index_cache, system=[]),
        )
    expl = caught.value.explanation
    assert "glibc-2.36-host lacks GLIBC_2.38" in expl.text()
    assert expl.lines[-1] == (
        "So no glibc in the store is new enough: GLIBC_2.38 is needed, "
        "the newest glibc has GLIBC_2.36."
    )


def test_missing_soname_lists_closest_and_allow_missing_turns_it_into_a_warning(
    fixture_store: FixtureStore, index_cache: str
) -> None:
    fx = fixture_store
    within = [str(fx.path("libfoo-3.0")), str(fx.path("glibc-host"))]
    app = str(fx.apps["foo-v1"])
    with pytest.raises(Unsatisfiable) as caught:
        autopatchelf.solve(
            [app], autopatchelf.SolveOptions(within=within, cache_dir=index_cache, system=[])
        )
    expl = caught.value.explanation
    assert expl.missing == {"libfoo.so.1": ("libfoo.so.2",)}
    assert "closest names that exist: libfoo.so.2" in expl.text()
    solution = autopatchelf.solve(
        [app],
        autopatchelf.SolveOptions(
            within=within, cache_dir=index_cache, system=[], allow_missing=["libfoo.so.*"]
        ),
    )
    assert "libfoo.so.1" not in solution.choices
    assert any("libfoo.so.1 is missing" in w for w in solution.warnings)


def test_prefer_and_avoid_pin_a_provider(fixture_store: FixtureStore, index: StoreIndex) -> None:
    fx = fixture_store
    default = solve(fx, index, "foo-v1")
    assert key_of(fx, default.choices["libfoo.so.1"]) == "libfoo-2.0"  # newest
    pinned = solve(fx, index, "foo-v1", prefer=["libfoo-1.0"])
    assert key_of(fx, pinned.choices["libfoo.so.1"]) == "libfoo-1.0"
    avoided = solve(fx, index, "foo-v1", avoid=[str(fx.path("libfoo-2.0"))])
    assert key_of(fx, avoided.choices["libfoo.so.1"]) == "libfoo-1.0"
    # A pin never breaks a hard constraint: foo-v2 needs FOO_2.0.
    forced = solve(fx, index, "foo-v2", prefer=["libfoo-1.0"])
    assert key_of(fx, forced.choices["libfoo.so.1"]) == "libfoo-2.0"


def test_locked_choice_wins_over_newest(fixture_store: FixtureStore, index: StoreIndex) -> None:
    fx = fixture_store
    old = str(fx.path("libfoo-1.0") / "lib" / "libfoo.so.1")
    solution = solve(fx, index, "foo-v1", locked={"libfoo.so.1": os.path.realpath(old)})
    assert key_of(fx, solution.choices["libfoo.so.1"]) == "libfoo-1.0"


def test_system_closure_is_preferred_over_newest(
    fixture_store: FixtureStore, index: StoreIndex
) -> None:
    fx = fixture_store
    solution = solve(
        fx,
        index,
        "curl-bookworm",
        system=[str(fx.path("bookworm/curl"))],
    )
    assert key_of(fx, solution.choices["libcurl.so.4"]) == "bookworm/libcurl4"
    newest = solve(fx, index, "curl-bookworm")
    assert key_of(fx, newest.choices["libcurl.so.4"]) == "trixie/libcurl4t64"


def test_ld_so_needed_as_dt_needed_comes_from_the_same_glibc(
    fixture_store: FixtureStore, index: StoreIndex
) -> None:
    solution = solve(fixture_store, index, "needs-loader")
    loader = solution.choices["ld-linux-x86-64.so.2"]
    assert solution.interpreter is not None
    assert os.path.realpath(loader) == os.path.realpath(solution.interpreter)


def test_link_dir_delivery_runs_too(
    fixture_store: FixtureStore, index: StoreIndex, tmp_path: Path
) -> None:
    fx = fixture_store
    scenario = SCENARIOS["curl-trixie"]
    solution = solve(fx, index, scenario.app)
    links = write_link_dir(solution, str(tmp_path / "links"))
    assert sorted(os.listdir(links)) == sorted(solution.choices)
    ran = run_through(solution, str(fx.apps[scenario.app]), ("--version",), link_dir=links)
    assert ran.returncode == 0 and "curl 8." in ran.stdout
    assert ran.loaded == predicted(solution, str(fx.apps[scenario.app]))


def test_same_answer_every_run_and_every_hash_seed(
    fixture_store: FixtureStore, index_cache: str
) -> None:
    fx = fixture_store
    outputs = []
    for seed in ("0", "1", "12345"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "autopatchelf",
                "solve",
                str(fx.apps["curl-bookworm"]),
                "--format",
                "json",
                "--cache-dir",
                index_cache,
                "--system",
                str(fx.path("glibc-host")),
                *within_args(fx),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    doc = json.loads(outputs[0])
    assert doc["schema"] == "autopatchelf.solution/1"
    assert doc["roots"][0]["libraries"], "no library in the JSON document"


def test_cli_solve_exit_codes_and_formats(
    fixture_store: FixtureStore, index_cache: str, tmp_path: Path
) -> None:
    fx = fixture_store
    base = [
        sys.executable,
        "-m",
        "autopatchelf",
        "solve",
        "--cache-dir",
        index_cache,
        "--system",
        str(fx.path("glibc-host")),
        *within_args(fx),
    ]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], capture_output=True, text=True, check=False)

    env = cli(str(fx.apps["foo-v2"]), "--format", "env")
    assert env.returncode == 0, env.stderr
    values = dict(line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines())
    assert set(values) == {
        "NIX_LD",
        "NIX_LD_LIBRARY_PATH",
        "NIX_LD_x86_64_linux",
        "NIX_LD_LIBRARY_PATH_x86_64_linux",
    }
    assert values["NIX_LD"].endswith("/ld-linux-x86-64.so.2")
    # The variables really run the program (nix-ld is not here; the loader reads the same).
    run = subprocess.run(
        [values["NIX_LD"], "--library-path", values["NIX_LD_LIBRARY_PATH"], str(fx.apps["foo-v2"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and "foo-v2: libfoo 2.0" in run.stdout

    unsat = cli(str(fx.apps["foo-unsat"]), "--format", "json")
    assert unsat.returncode == 1
    doc = json.loads(unsat.stdout)
    assert doc["schema"] == "autopatchelf.unsatisfiable/1"
    assert any(f["kind"] == "Excluded" for f in doc["facts"])

    text = tmp_path / "notes.txt"
    text.write_text("not an ELF file\n")
    bad = cli(str(text))
    assert bad.returncode == 2
    assert bad.stderr.startswith("autopatchelf: error:") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    missing = cli(str(tmp_path / "nope"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def curl_within(fx: FixtureStore) -> tuple[list[str], str]:
    """Every provider of the fixture store, and trixie's curl."""
    return [str(fx.path(k)) for k in fx.provider_keys()], str(fx.apps["curl-trixie"])


def test_a_warm_solve_reads_its_version_verdicts_back_and_decodes_no_export_table(
    fixture_store: FixtureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    within, app = curl_within(fixture_store)
    options = autopatchelf.SolveOptions(within=within, cache_dir=str(tmp_path), system=[])
    first = autopatchelf.solve([app], options)
    cache = next(tmp_path.glob("index-*.sqlite"))
    with sqlite3.connect(cache) as conn:
        kept = conn.execute("SELECT count(*), count(kind) FROM verdicts").fetchone()
    assert kept[0] > 100 and kept[1] >= 1  # every pair judged, the undefined-import set too

    def no_decoding(*_: object) -> None:
        raise AssertionError("a warm solve decoded an export table")

    monkeypatch.setattr(symbols_module, "decode_columns", no_decoding)
    second = autopatchelf.solve([app], options)
    assert second == first
    scenario = SCENARIOS["curl-trixie"]
    assert_loader_agrees(second, app, scenario)


_SOLVE_AND_LIST_PYSAT = """
import json, sys
from autopatchelf.cli import main
code = main(sys.argv[1:])
sys.stderr.write(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "pysat")))
sys.exit(code)
"""


def test_a_warm_solve_of_a_problem_solved_before_reads_its_optimum_and_imports_no_sat_solver(
    fixture_store: FixtureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    within, app = curl_within(fixture_store)
    argv = [
        sys.executable, "-c", _SOLVE_AND_LIST_PYSAT, "solve", "--cache-dir", str(tmp_path),
        *(a for p in within for a in ("--within", p)), "--format", "json", app,
    ]  # fmt: skip

    def solve() -> tuple[str, list[str]]:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout, json.loads(done.stderr)

    first, imported = solve()
    assert "pysat.examples.rc2" in imported  # optimised, and the optimum kept
    cache = next(tmp_path.glob("index-*.sqlite"))
    with sqlite3.connect(cache) as conn:
        kept = conn.execute("SELECT count(*) FROM verdicts WHERE kind = 'optimum'").fetchone()
    assert kept == (1,)
    second, imported = solve()
    assert (second, imported) == (first, [])

    def no_counting(*_: object) -> None:
        raise AssertionError("a solve counted the whole index")

    monkeypatch.setattr(IndexView, "counts", no_counting)  # (its stats are never needed)
    options = autopatchelf.SolveOptions(within=within, cache_dir=str(tmp_path), system=[])
    solution = autopatchelf.solve([app], options)
    assert json.loads(first)["choices"] == dict(solution.choices)
    assert_loader_agrees(solution, app, SCENARIOS["curl-trixie"])
