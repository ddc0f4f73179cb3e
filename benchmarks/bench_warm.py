"""Benchmark a warm ``solve`` against its floor (``benchmarks/floor_solve.py``).

    python benchmarks/bench_warm.py [--app curl-trixie] [--runs 15] [--json OUT]

Uses the fixture store (``tests/fixtures``: built on first use, needs Nix and root) and a
private index cache over its providers, indexed once before timing. Times, over ``--runs``
runs each (interleaved, after one untimed warm-up), wall-clock from spawn to exit of:

* ``python``: ``python -c pass``, the floor of anything written in Python here;
* ``floor``: ``floor_solve.py``: interpreter start, the facts layer, and one SQLite walk
  over every soname reachable from the program (every candidate file's facts decoded);
* ``solve``: ``python -m autopatchelf solve --format json`` of the same program (index
  opened warm, problem built and encoded, its optimum read back from the index cache
  where the warm-up solve kept it, the load order replayed);
* ``solve_optimising``: the same with the kept optimum deleted before each run, so that
  python-sat is imported and the encoding optimised (a warm index, a problem not solved
  before: another ``--prefer``, a store path added);
* ``libraries``: importing the libraries a warm solve needs and nothing of ours (attrs,
  sqlite3, argparse, json, hashlib): how much of the 2x budget they take alone;
  ``libraries_optimising`` adds python-sat's RC2.

Reports medians, ``solve_over_floor`` (goal: at most 2) and the sonames the walk reached.
Byte code is cached (some CI machines set PYTHONDONTWRITEBYTECODE, which would compile
every module on every start). No peer is timed: nixpkgs' ``auto-patchelf.py`` is not
installable here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_run import timed  # noqa: E402 (one timer for every start-up benchmark)

#: The third-party (and stdlib) modules a warm solve cannot do without, imported alone.
LIBRARIES = "import argparse, json, sqlite3, attrs, hashlib"

#: What optimising adds to them.
OPTIMISING = "; import pysat.examples.rc2"


def _forget_optimum(cache_file: str) -> None:
    """Delete the optima a solve kept in the index cache (its version verdicts stay)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(cache_file)) as conn, conn:
        conn.execute("DELETE FROM verdicts WHERE kind = 'optimum'")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="curl-trixie", help="fixture app (curl-trixie)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json")
    args = parser.parse_args()

    from fixtures import build_fixture_store

    from autopatchelf.index import StoreIndex
    from autopatchelf.index.cache import cache_path
    from autopatchelf.nix.dirs import nix_store_dir

    fx = build_fixture_store()
    app = str(fx.apps[args.app])
    within = [str(p) for p in fx.providers()]
    with tempfile.TemporaryDirectory() as cache:
        with StoreIndex.open(within=within, cache_dir=cache):
            pass  # indexed once: every timed run is warm
        cache_file = cache_path(nix_store_dir(), cache)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "python": [sys.executable, "-c", "pass"],
            "floor": [sys.executable, str(REPO / "benchmarks" / "floor_solve.py"), cache_file, app],
            "libraries": [sys.executable, "-c", LIBRARIES],
            "libraries_optimising": [sys.executable, "-c", LIBRARIES + OPTIMISING],
            "solve": [
                sys.executable, "-m", "autopatchelf", "solve", "--cache-dir", cache,
                *(a for p in within for a in ("--within", p)), "--format", "json", app,
            ],
        }  # fmt: skip
        commands["solve_optimising"] = commands["solve"]
        before = {"solve_optimising": lambda: _forget_optimum(cache_file)}
        walked = subprocess.run(
            commands["floor"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():
            timed(argv, env)  # warm-up: page cache, byte code, the kept optimum
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(timed(argv, env, before.get(name)))
    median = {name: round(statistics.median(s) * 1000, 1) for name, s in samples.items()}
    report: dict[str, Any] = {
        "app": args.app,
        "runs": args.runs,
        "floor_walk": walked,
        "median_ms": median,
        "solve_over_floor": round(median["solve"] / median["floor"], 2),
        "solve_optimising_over_floor": round(median["solve_optimising"] / median["floor"], 2),
        "floor_over_python": round(median["floor"] / median["python"], 2),
        #: What is left of twice the floor once the interpreter and those libraries ran.
        "budget_left_ms": round(2 * median["floor"] - median["libraries"], 1),
        "goal_solve_over_floor": 2.0,
    }
    print(
        f"{args.app}: solve {median['solve']} ms, floor {median['floor']} ms ({walked}), "
        f"python -c pass {median['python']} ms, libraries {median['libraries']} ms: "
        f"solve/floor x{report['solve_over_floor']}; optimising: "
        f"{median['solve_optimising']} ms, x{report['solve_optimising_over_floor']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
