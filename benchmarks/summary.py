"""The benchmarks' table, from the JSON results of one ``nox -s bench`` run.

    python benchmarks/summary.py [--results benchmarks/results] [--out docs/benchmark-table.inc]

One row per target of issue 12: what we measured, the peer where one is installable here,
the floor or baseline measured in the same run, the goal, and whether it is met. A
benchmark whose result is missing shows as "not run". The table is an RST include of
``docs/benchmarks.rst``.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = tuple[str, str, str, str, str, str]
Results = dict[str, Any]


def _load(results: Path, name: str) -> Results | None:
    path = results / f"{name}.json"
    if not path.exists():
        return None
    loaded: Results = json.loads(path.read_text())
    return loaded


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def elf_rows(r: Results) -> list[Row]:
    res = r["results"]
    ours, lief = res["ours"], res["lief-minimal"]
    return [
        (
            f"ELF facts, {r['files']} files of {r['dir']}",
            f"{ours['files_per_second']:,.0f} files/s",
            f"lief {lief['files_per_second']:,.0f} files/s",
            "",
            "faster than lief",
            _met(ours["files_per_second"] > lief["files_per_second"]),
        )
    ]


def warm_rows(r: Results) -> list[Row]:
    ms = r["median_ms"]
    return [
        (
            f"warm solve of {r['app']} ({r['floor_walk']})",
            f"{ms['solve']:.0f} ms",
            "(auto-patchelf.py not installable here)",
            f"floor {ms['floor']:.0f} ms (python -c pass {ms['python']:.0f} ms; the libraries "
            f"a warm solve needs, imported alone, {ms['libraries']:.0f} ms)",
            f"<= 2x floor (x{r['solve_over_floor']})",
            _met(r["solve_over_floor"] <= 2),
        ),
        (
            "the same solve, optimising (kept optimum deleted)",
            f"{ms['solve_optimising']:.0f} ms",
            "",
            f"with python-sat's RC2 the libraries take {ms['libraries_optimising']:.0f} ms",
            f"(x{r['solve_optimising_over_floor']} the floor)",
            "",
        ),
    ]


def index_rows(r: Results) -> list[Row]:
    files = r["library_files"]
    read_only = r["baseline_files"] / r["baseline_read_only_seconds"]
    rates = sorted(round(files / s) for s in r.get("cold_runs_seconds", ()) if s > 0)
    spread = f" (median of {len(rates)}: {rates[0]:,} to {rates[-1]:,})" if len(rates) > 1 else ""
    return [
        (
            f"cold index, {files:,} library files",
            f"{r['files_per_s']:,} files/s{spread}",
            "",
            f"reading the same files' facts {read_only:,.0f} files/s (x{r['cold_over_read_only']})",
            ">= 10,000 files/s",
            _met(r["files_per_s"] >= 10_000),
        ),
        (
            f"index peak RSS, {files:,} files",
            f"cold {r['cold_peak_rss_mb']:.0f} MB, warm {r['warm_peak_rss_mb']:.0f} MB",
            "",
            "",
            "<= 150 MB",
            _met(max(r["cold_peak_rss_mb"], r["warm_peak_rss_mb"]) <= 150),
        ),
        (
            f"warm re-open and {r['lookup_sonames']} sonames looked up, {files:,} files",
            f"{r['warm_open_ms'] + r['warm_lookup_ms']:.0f} ms (open {r['warm_open_ms']:.0f} ms, "
            f"lookups {r['warm_lookup_ms']:.0f} ms for {r['warm_lookup_candidates']} candidates)",
            "",
            f"cold {r['cold_seconds']:.1f} s",
            "<= 50 ms",
            _met(r["warm_open_ms"] + r["warm_lookup_ms"] <= 50),
        ),
    ]


def solve_rows(r: Results) -> list[Row]:
    goals = {1500: 1.0, 5000: 5.0}
    rows: list[Row] = []
    for row in r["scaling"]:
        n = row["sonames"]
        if n not in goals:
            continue
        whole = row.get("whole_rc2_s")
        baseline = (
            f"optimise {row['optimise_s']:.2f} s vs one whole-formula RC2 {whole:.2f} s "
            f"(same optimum: {row['same_optimum']})"
            if whole is not None
            else f"optimise {row['optimise_s']:.2f} s"
        )
        rows.append(
            (
                f"solve {n:,} sonames x {row['candidates']}",
                f"{row['solve_s']:.2f} s, peak {row['peak_rss_mib']:.0f} MiB ("
                f"{row['parts_reused']} of {row['parts_solved'] + row['parts_reused']} parts "
                f"of a shape met before; every part solved: {row['solve_distinct_s']:.2f} s)",
                f"greedy first-match {row['greedy_s']:.2f} s (wrong answer)",
                baseline,
                f"< {goals[n]:.0f} s",
                _met(row["solve_s"] < goals[n] and row["solver_consistent"]),
            )
        )
    return rows


def run_rows(r: Results) -> list[Row]:
    ms = r["median_ms"]
    rows: list[Row] = []
    if "patched" in ms:
        rows.append(
            (
                f"run --lock ({r['app']}), recorded launch",
                f"{ms['run-locked-installed']:.0f} ms installed, {ms['run-locked']:.0f} ms "
                f"dev install; verifying {ms['run-verifying']:.0f} ms",
                "",
                f"patched binary {ms['patched']:.1f} ms, python -c pass "
                f"{ms['python-installed']:.0f} ms installed, {ms['python']:.0f} ms dev",
                "<= 40 ms over patched",
                _met(ms["run-locked-installed"] - ms["patched"] <= 40),
            )
        )
    if "wrapper_over_patched_ms" in r:
        rows.append(
            (
                f"wrapper script ({r['app']})",
                f"{ms['wrapper']:.1f} ms",
                "",
                f"patched binary {ms['patched']:.1f} ms",
                "<= 5 ms over patched",
                _met(r["wrapper_over_patched_ms"] <= 5),
            )
        )
    return rows


def check_rows(r: Results) -> list[Row]:
    rows: list[Row] = []
    for label, part in (("a vendor tree", r), ("", r.get("usr_lib"))):
        if not part:
            continue
        runs = {run["jobs"]: run for run in part["runs"]}
        first = runs[min(runs)]
        where = label or part["dir"]
        speeds = ", ".join(
            f"--jobs {j}: {run['files_per_s']:.0f}" for j, run in sorted(runs.items())
        )
        rows.append(
            (
                f"check {where} ({first['files']} files)",
                f"{speeds} files/s",
                "",
                f"same verdicts for every --jobs: {part['same_verdicts']}",
                ">= 300 files/s (/usr/lib, the machine's cores used), same verdicts, "
                "--jobs never slower",
                _met(_check_met(runs, part["same_verdicts"])) if not label else "-",
            )
        )
    return rows


def _check_met(runs: dict[int, Any], same_verdicts: bool) -> bool:
    """At least 300 files/s with as many jobs as the machine has cores, the same verdicts
    with every ``--jobs``, and more jobs never slower than fewer."""
    speeds = [runs[jobs]["files_per_s"] for jobs in sorted(runs)]
    never_slower = all(later >= earlier for earlier, later in itertools.pairwise(speeds))
    return same_verdicts and never_slower and speeds[-1] >= 300


def patch_rows(r: Results) -> list[Row]:
    return [
        (
            f"patch {Path(r['program']).name} ({r['file_mib']} MiB)",
            f"{r['ours_s']:.2f} s, peak {r['peak_rss_mib']:.0f} MiB",
            f"patchelf {r['patchelf_s']:.2f} s, peak {r['patchelf_peak_rss_mib']:.0f} MiB",
            "",
            "not slower than patchelf; peak <= 2x the file",
            _met(r["ratio"] <= 1 and r["rss_over_file"] <= 2),
        )
    ]


def remote_rows(r: Results) -> list[Row]:
    return [
        (
            f"binary cache, {r['paths']:,} listings over http",
            f"cold {r['cold']['seconds']:.1f} s, warm {r['warm']['seconds']:.2f} s",
            "",
            f"8-thread urllib {r['floor']['seconds']:.1f} s (x{r['cold_over_floor']})",
            "near the floor",
            _met(r["cold_over_floor"] <= 1.5),
        )
    ]


SECTIONS: tuple[tuple[str, Callable[[Results], list[Row]]], ...] = (
    ("bench_elf", elf_rows),
    ("bench_warm", warm_rows),
    ("bench_index", index_rows),
    ("bench_index-100k", index_rows),
    ("bench_solve", solve_rows),
    ("bench_run", run_rows),
    ("bench_check", check_rows),
    ("bench_patch", patch_rows),
    ("bench_remote", remote_rows),
)
HEADER: Row = ("target", "ours", "peer", "floor / baseline (same run)", "goal", "met")


def table(results: Path) -> str:
    rows: list[Row] = []
    for name, make in SECTIONS:
        loaded = _load(results, name)
        if loaded is None:
            rows.append((f"{name}.py", "not run", "", "", "", ""))
            continue
        try:
            rows.extend(make(loaded))
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            rows.append((f"{name}.py", f"result lacks {exc}", "", "", "", ""))
    return _rst([HEADER, *rows])


def _rst(rows: list[Row]) -> str:
    """A list-table: cells may hold anything, of any width."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        first, *rest = (cell or "-" for cell in row)
        lines.append(f"   * - {first}")
        lines.extend(f"     - {cell}" for cell in rest)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmark-table.inc"))
    args = parser.parse_args()
    text = table(args.results)
    args.out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
