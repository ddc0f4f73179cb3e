"""The fuzz campaign through the CLI: mutants of real objects given to ``check`` and
``solve`` as processes, against the real store.

Every run must end with a documented exit code (0, 1 no solution, 2 input), no traceback
and no internal error (70), within its timeout (no hang), print machine formats that parse,
and write no file: not beside the mutants, not in the working directory.

Quick mode (the default, in CI): a fixed seed and a few thousand mutants. The long mode is
the same campaign with more mutants and any seed (docs/testing.rst)::

    AUTOPATCHELF_FUZZ_MUTANTS=50000 AUTOPATCHELF_FUZZ_SEED=7 pytest tests/test_cli_fuzz.py
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest
from elfmutate import Mutant, Mutator
from fixtures import FixtureStore
from runhelp import within_args

pytestmark = pytest.mark.nix

MUTANTS = int(os.environ.get("AUTOPATCHELF_FUZZ_MUTANTS", "2400"))
SEED = int(os.environ.get("AUTOPATCHELF_FUZZ_SEED", "20261201"))
#: One in this many mutants also goes through ``solve`` on its own.
SOLVE_EVERY = 10
#: Mutants per ``check`` process.
BATCH = 300
FORMATS = ("json", "text", "sarif", "junit")
SOLVE_FORMATS = ("text", "json", "env")
TIMEOUT = 300


def seeds(fx: FixtureStore) -> list[bytes]:
    """Real objects: programs built here, a bundled app's program and library, a store
    library, and Debian's curl."""
    paths = [fx.apps[a] for a in ("foo-v2", "diamond", "bundled", "needs-loader", "curl-bookworm")]
    paths.append(fx.paths["libfoo-2.0"] / "lib" / "libfoo.so.1")
    paths.append(fx.paths["bundled-app"] / "lib" / "libbundled.so.1")
    return [p.read_bytes() for p in paths]


def write_mutant(mutant: Mutant, path: Path) -> None:
    with path.open("wb") as stream:
        stream.write(mutant.data)
        if mutant.sparse_tail:
            stream.truncate(len(mutant.data) + mutant.sparse_tail)
    path.chmod(0o755)


def snapshot(*directories: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for directory in directories:
        for path in directory.rglob("*"):
            info = path.lstat()
            found[str(path)] = (info.st_size, info.st_mtime_ns)
    return found


def judged(done: subprocess.CompletedProcess[str], what: str) -> None:
    assert done.returncode in (0, 1, 2), f"{what}: exit {done.returncode}: {done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr, f"{what}: {done.stderr[-2000:]}"
    assert "internal error" not in done.stderr, f"{what}: {done.stderr[-2000:]}"


def parsed(fmt: str, text: str, what: str) -> None:
    if fmt in ("json", "sarif"):
        json.loads(text)
    elif fmt == "junit":
        xml.dom.minidom.parseString(text.encode())
    assert "\x1b" not in text, what


def test_mutants_through_check_and_solve(
    fixture_store: FixtureStore, cache: Path, tmp_path: Path, record_property: object
) -> None:
    fx = fixture_store
    images = seeds(fx)
    mutator = Mutator(SEED)
    mutants_dir = tmp_path / "mutants"
    batches: list[Path] = []
    steps: dict[str, tuple[str, ...]] = {}
    for number in range(MUTANTS):
        if number % BATCH == 0:
            batches.append(mutants_dir / f"batch-{len(batches):03d}")
            batches[-1].mkdir(parents=True)
        mutant = mutator.mutate(images[number % len(images)])
        path = batches[-1] / f"m{number:06d}"
        write_mutant(mutant, path)
        steps[str(path)] = mutant.steps
    work = tmp_path / "cwd"
    work.mkdir()
    before = snapshot(mutants_dir, work)
    env = {**os.environ, "AUTOPATCHELF_CACHE_DIR": str(cache), "PYTHONIOENCODING": "utf-8"}
    base = [sys.executable, "-m", "autopatchelf"]

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], cwd=work, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)  # fmt: skip

    jobs: list[tuple[str, str, list[str]]] = []
    for index, batch in enumerate(batches):
        fmt = FORMATS[index % len(FORMATS)]
        jobs.append((f"check {batch.name} --format {fmt}", fmt,
                     ["check", *within_args(fx), str(batch), "--format", fmt]))  # fmt: skip
    solved = sorted(steps)[::SOLVE_EVERY]
    for index, path in enumerate(solved):
        fmt = SOLVE_FORMATS[index % len(SOLVE_FORMATS)]
        jobs.append((f"solve {path} ({'; '.join(steps[path])})", fmt,
                     ["solve", *within_args(fx), path, "--format", fmt]))  # fmt: skip
    outcomes: dict[int, int] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {pool.submit(run, args): (what, fmt) for what, fmt, args in jobs}
        for future in concurrent.futures.as_completed(futures):
            what, fmt = futures[future]
            done = future.result()  # a hang raises TimeoutExpired
            judged(done, what)
            if (done.returncode != 2 or what.startswith("check")) and done.stdout:
                parsed(fmt, done.stdout, what)
            if what.startswith("solve") and fmt == "env" and done.returncode != 0:
                assert done.stdout == "", what  # nothing for eval on failure
            outcomes[done.returncode] = outcomes.get(done.returncode, 0) + 1
    assert snapshot(mutants_dir, work) == before, "a run wrote or changed a file"
    assert not list(tmp_path.rglob("PWNED*"))
    summary = (
        f"{MUTANTS} mutants (seed {SEED}), {len(batches)} check runs, {len(solved)} solve runs"
    )
    record_property("fuzz", f"{summary}; exit codes {dict(sorted(outcomes.items()))}")  # type: ignore[operator]
    print(f"\nfuzz: {summary}; exit codes {dict(sorted(outcomes.items()))}")
