"""Developer sessions: ``nox -s tests`` (the README's test command), lint, typecheck, docs,
bench, and ``demo`` (the README's main-job command on a machine without NixOS)."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck"]

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _install(session: nox.Session, *groups: str) -> None:
    deps: list[str] = []
    for group in groups:
        deps.extend(nox.project.dependency_groups(PYPROJECT, group))
    session.install("-e", ".", *deps)


def _host_setup(session: nox.Session) -> None:
    """As root on Debian: install the host tools the tests need (tests/prerequisites.py)."""
    session.run("python", "tests/prerequisites.py", "--setup")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test-suite (Nix tests run when Nix is usable; CI requires them)."""
    _host_setup(session)
    _install(session, "test")
    session.run("pytest", *session.posargs, env={"PYTHONHASHSEED": "0"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    _install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    _install(session, "typecheck")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs from docs/ with warnings as errors."""
    _install(session, "docs")
    session.run(
        "sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", "docs/_build/html"
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks; results (ratios against in-run baselines) go to benchmarks/results/,
    and their table to docs/benchmark-table.inc (included by docs/benchmarks.rst)."""
    _host_setup(session)
    _install(session, "bench")
    os.makedirs("benchmarks/results", exist_ok=True)
    for script in sorted(os.listdir("benchmarks")):
        if script.startswith("bench_") and script.endswith(".py"):
            name = script.removesuffix(".py")
            session.run(
                "python",
                f"benchmarks/{script}",
                *BENCH_ARGS.get(script, ()),
                "--json",
                f"benchmarks/results/{name}.json",
            )
    # The index again at 100,000 files: memory and re-open must not grow with the store.
    session.run(
        "python", "benchmarks/bench_index.py", "--files", "100000",
        "--json", "benchmarks/results/bench_index-100k.json",
    )  # fmt: skip
    session.run("python", "benchmarks/summary.py")


#: Extra arguments of some benchmarks under ``nox -s bench``.
BENCH_ARGS = {
    # check a real distribution's library dir too, where the machine has one
    "bench_check.py": ["--usr-lib"] if os.path.isdir("/usr/lib/x86_64-linux-gnu") else [],
    # the store size (the script's own default is 10,000)
    "bench_index.py": ["--files", "20000"],
}


@nox.session
def demo(session: nox.Session) -> None:
    """On a fresh Debian machine: install Nix, build a small real store, show the real thing."""
    _host_setup(session)
    _install(session, "test")
    session.run("python", "tests/fixtures/demo.py", *session.posargs)
