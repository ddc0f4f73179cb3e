"""Benchmark ``autopatchelf run`` with a warm lock against starting the program directly.

    python benchmarks/bench_run.py [--app foo-v2] [--runs 30] [--json OUT]

Uses the fixture store (``tests/fixtures``: built on first use, needs Nix and root). Times,
over ``--runs`` runs each (interleaved, after one untimed warm-up), wall-clock from spawn
to exit of:

* ``host``: a plain host binary (``true``): the floor of spawning any process;
* ``direct``: the fixture app through its loader, ``<loader> --library-path P app``;
* ``python``: ``python -c pass``, the floor of anything written in Python here;
* ``patched``: a patched copy of the app (PT_INTERP and RUNPATH set): the floor for
  starting it at all;
* ``wrapper``: the ``solve --format wrapper`` script of the app (``/bin/sh`` then the
  loader; goal: at most 5 ms over ``patched``);
* ``run-locked``: ``python -m autopatchelf run app`` with the lock cached (nothing solved;
  after the warm-up, a recorded launch: :mod:`autopatchelf.actions.launchmemo`);
* ``run-verifying``: the same with ``--lock FILE`` and a new record path each time, so the
  lock is read and verified on every start (the full path);
* ``run-solving``: the same with ``--no-lock-cache`` (index warm, solved every time);
* ``python-installed`` and ``run-locked-installed``: ``python -c pass`` and ``run-locked``
  in a virtual environment that sees the package as a regular install does (a ``.pth``
  line naming the source tree and this environment's site-packages), without the
  development install's import hook, which alone costs ~20 ms of every start here.

Reports medians; the overhead of ``run-locked`` over ``patched`` (goal: <= 40 ms), split
into the interpreter's own start and the rest; and, measured inside a fresh interpreter,
the time autopatchelf itself takes from "interpreter ready" to its ``execve`` call (imports
included). Then, for one ``run-locked`` start under
``-X importtime``, the slowest imports and whether the SAT stack (``pysat``, ``networkx``,
``autopatchelf.sat``) or the index was imported at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

HEAVY = ("pysat", "networkx", "autopatchelf.sat", "autopatchelf.index", "autopatchelf._api")


def timed(argv: list[str], env: dict[str, str], before: Callable[[], None] | None = None) -> float:
    if before is not None:
        before()
    started = time.perf_counter()
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        command = " ".join(argv)[:300]
        raise SystemExit(f"{command} failed ({done.returncode}): {done.stderr[-2000:]!r}")
    return elapsed


#: Runs in a fresh interpreter: the time from "interpreter ready" to the ``execve`` call.
_TO_EXECVE = """
import os, sys, time
started = time.perf_counter()
def execve(path, argv, env):
    print(f"{(time.perf_counter() - started) * 1000:.3f}")
    os._exit(0)
os.execve = execve
sys.argv = ["autopatchelf", "run", *sys.argv[1:]]
from autopatchelf.__main__ import main
main()
"""


def to_execve(app: str, app_args: list[str], env: dict[str, str]) -> float:
    """Milliseconds autopatchelf itself spends, imports included, before it execs."""
    done = subprocess.run(
        [sys.executable, "-c", _TO_EXECVE, app, "--", *app_args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def import_profile(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Cumulative import times (ms) of one start, from ``-X importtime``."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    cumulative: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = (part.strip() for part in line.split("|"))
        if cum.isdigit():
            cumulative[name.strip()] = int(cum) / 1000
    slowest = sorted(cumulative.items(), key=lambda item: -item[1])[:8]
    heavy = sorted(h for h in HEAVY if any(n == h or n.startswith(h + ".") for n in cumulative))
    return {
        "autopatchelf_package_ms": cumulative.get("autopatchelf", 0.0),
        "slowest_ms": dict(slowest),
        "heavy_modules_imported": heavy,
    }


def _patched_copy(app: str, within: list[str], cache: str, env: dict[str, str]) -> str:
    """A copy of the app patched by ``autopatchelf patch`` (in ``cache``)."""
    copy = os.path.join(cache, "patched")
    shutil.copy2(app, copy)
    os.chmod(copy, 0o755)
    argv = [sys.executable, "-m", "autopatchelf", "patch", copy, "--cache-dir", cache]
    argv += [a for p in within for a in ("--within", p)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"patch failed: {done.stderr[-2000:]}")
    return copy


def _installed_python(directory: str) -> str:
    """A virtual environment in ``directory`` that sees this source tree and this
    environment's packages as a regular install does: path lines in a ``.pth`` file (no
    import hook); its interpreter."""
    import sysconfig

    venv = os.path.join(directory, "installed")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = dict.fromkeys(
        [str(REPO), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    )
    Path(site, "autopatchelf-bench.pth").write_text("".join(f"{p}\n" for p in ours))
    return python


def _forget_launch(binary: str, cache: str) -> None:
    from autopatchelf.actions.locks.locations import launch_record_path

    st = os.stat(binary)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(launch_record_path(st.st_dev, st.st_ino, cache))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--app", default="foo-v2", help="fixture app, run with its scenario's args (foo-v2)"
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args = parser.parse_args()

    from fixtures import SCENARIOS, build_fixture_store

    import autopatchelf
    from autopatchelf.actions.launch import loader_command
    from autopatchelf.actions.locks.locations import cached_path
    from autopatchelf.actions.locks.lock import Lock
    from autopatchelf.actions.locks.lockfile import write_lock
    from autopatchelf.actions.wrapper import render_wrapper

    fx = build_fixture_store()
    app = str(fx.apps[args.app])
    app_args = list(SCENARIOS[args.app].args) if args.app in SCENARIOS else []
    within = [str(p) for p in fx.providers()]
    cache = tempfile.mkdtemp(prefix="bench-run-")
    try:
        env = {**os.environ, "AUTOPATCHELF_CACHE_DIR": cache, "PYTHONPATH": str(REPO)}
        # As on a user's machine: byte code is cached (the warm-up writes it), not compiled
        # on every start (some CI machines set PYTHONDONTWRITEBYTECODE).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        solution = autopatchelf.solve(
            [app], autopatchelf.SolveOptions(within=within, cache_dir=cache, system=[])
        )
        lock = Lock.from_solution(solution, app)
        write_lock(lock, cached_path(lock.sha256, cache))
        wrapper = os.path.join(cache, "wrapper")
        with open(wrapper, "wb") as out:
            out.write(render_wrapper(solution, app))
        os.chmod(wrapper, 0o755)
        patched = _patched_copy(app, within, cache, env={**os.environ, "PYTHONPATH": str(REPO)})
        within_args = [a for p in within for a in ("--within", p)]
        python = [sys.executable]
        installed = _installed_python(cache)
        # A copy (another inode, the same bytes: the cached lock fits it) whose launch
        # record is removed before each start, so that each one verifies the lock.
        verifying = os.path.join(cache, "verifying")
        shutil.copy2(app, verifying)
        forget = {"run-verifying": lambda: _forget_launch(verifying, cache)}
        commands = {
            "host": [shutil.which("true") or "/bin/true"],
            "direct": loader_command(solution, app, app_args),
            "patched": [patched, *app_args],
            "wrapper": [wrapper, *app_args],
            "python": [*python, "-c", "pass"],
            "run-locked": [*python, "-m", "autopatchelf", "run", app, "--", *app_args],
            "run-verifying": [*python, "-m", "autopatchelf", "run", verifying, "--", *app_args],
            "python-installed": [installed, "-c", "pass"],
            "run-locked-installed": [installed, "-m", "autopatchelf", "run", app, "--", *app_args],
            "run-solving": [
                *python,
                "-m",
                "autopatchelf",
                "run",
                "--no-lock-cache",
                *within_args,
                app,
                "--",
                *app_args,
            ],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        plain = {k: v for k, v in env.items() if k != "PYTHONPATH"}  # the .pth has it
        envs = {name: plain if name.endswith("-installed") else env for name in commands}
        for name, argv in commands.items():
            timed(argv, envs[name])  # warm-up: page cache, index cache, launch record
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(timed(argv, envs[name], forget.get(name)))
        medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
        minima = {name: min(values) * 1000 for name, values in samples.items()}
        in_process = statistics.median(to_execve(app, app_args, env) for _ in range(args.runs))
        profile = import_profile(commands["run-locked"], env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    overhead = medians["run-locked"] - medians["direct"]
    python_floor = medians["python"] - medians["host"]
    result = {
        "app": args.app,
        "runs": args.runs,
        "median_ms": {k: round(v, 2) for k, v in medians.items()},
        "min_ms": {k: round(v, 2) for k, v in minima.items()},
        "run_locked_overhead_ms": round(overhead, 2),
        "run_locked_over_direct_ratio": round(medians["run-locked"] / medians["direct"], 2),
        "python_start_ms": round(python_floor, 2),
        "overhead_beyond_python_start_ms": round(overhead - python_floor, 2),
        "autopatchelf_until_execve_ms": round(in_process, 2),
        "goal_ms": 50,
        "run_locked_over_patched_ms": round(medians["run-locked"] - medians["patched"], 2),
        "installed_run_locked_over_patched_ms": round(
            medians["run-locked-installed"] - medians["patched"], 2
        ),
        "installed_python_start_ms": round(medians["python-installed"] - medians["host"], 2),
        "run_verifying_over_patched_ms": round(medians["run-verifying"] - medians["patched"], 2),
        "over_patched_goal_ms": 40,
        "wrapper_over_patched_ms": round(medians["wrapper"] - medians["patched"], 2),
        "wrapper_goal_ms": 5,
        "import_profile": profile,
    }
    print(f"app {args.app}, {args.runs} runs each: median (min)")
    for name, value in medians.items():
        print(f"  {name:12} {value:8.1f} ms ({minima[name]:.1f})")
    print(
        f"run-locked - direct = {overhead:.1f} ms (x{result['run_locked_over_direct_ratio']}); "
        f"goal < 50 ms: {'met' if overhead < 50 else 'NOT met'}"
    )
    for label, key in (("dev install", ""), ("installed", "installed_")):
        ms = result[f"{key}run_locked_over_patched_ms"]
        met = "met" if ms <= 40 else "NOT met"
        print(f"run-locked - patched ({label}) = {ms:.1f} ms; goal <= 40 ms: {met}")
    print(f"run-verifying - patched = {result['run_verifying_over_patched_ms']:.1f} ms")
    over = result["wrapper_over_patched_ms"]
    print(f"wrapper - patched = {over:.1f} ms; goal <= 5 ms: {'met' if over <= 5 else 'NOT met'}")
    print(f"  of which the Python interpreter's own start: {python_floor:.1f} ms")
    print(f"  autopatchelf's own time until execve (imports included): {in_process:.1f} ms")
    package = profile["autopatchelf_package_ms"]
    print(f"  of which importing the autopatchelf package: {package:.1f} ms")
    heavy = profile["heavy_modules_imported"]
    print(f"heavy modules imported on the locked run path: {', '.join(heavy) or 'none'}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
