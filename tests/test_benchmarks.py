"""Every benchmark script runs, in a quick mode, and writes the JSON fields others read, so
none can rot unnoticed (as bench_solve.py once did when the library source grew). No
timing is asserted: the machines are shared and noisy."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from prerequisites import need

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

#: script -> (quick arguments, JSON fields that must be there, needs the Nix fixture).
QUICK = {
    "bench_elf.py": (["--files", "20", "--repeat", "1"], ["files"], False),
    "bench_solve.py": (["--sizes", "20", "--no-scenarios"], ["scaling"], False),
    "bench_remote.py": (["--paths", "40"], ["cold_over_floor", "cold", "warm"], False),
    "bench_index.py": (
        ["--files", "200", "--runs", "2"],
        [
            "cold_over_read_only",
            "cold_runs_seconds",
            "baseline_runs_seconds",
            "files_per_s",
            "cold_peak_rss_mb",
            "warm_peak_rss_mb",
            "warm_open_ms",
            "warm_lookup_ms",
            "lookup_sonames",
        ],
        False,
    ),
    "bench_run.py": (["--runs", "2"], ["median_ms", "wrapper_over_patched_ms"], True),
    "bench_check.py": (
        [
            "--copies",
            "1",
            "--real-copies",
            "0",
            "--no-wheels",
            "--usr-lib",
            "--usr-lib-files",
            "20",
        ],
        ["same_verdicts", "runs", "usr_lib"],
        True,
    ),
    "bench_warm.py": (
        ["--runs", "1"],
        [
            "median_ms",
            "solve_over_floor",
            "solve_optimising_over_floor",
            "floor_walk",
            "budget_left_ms",
        ],
        True,
    ),
    "bench_patch.py": (
        ["--quick"],
        ["ours_s", "patchelf_s", "ratio", "peak_rss_mib", "file_mib", "rss_over_file"],
        False,
    ),
}
#: script -> the tools it runs besides Python.
TOOLS = {"bench_patch.py": ("patchelf",)}


@pytest.mark.parametrize("script", sorted(QUICK))
def test_benchmark_runs_in_quick_mode(
    script: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    args, fields, nix = QUICK[script]
    if nix:
        request.getfixturevalue("fixture_store")
    need(*TOOLS.get(script, ()))
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    document = json.loads(out.read_text())
    missing = [f for f in fields if f not in document]
    assert not missing, f"{script}: JSON lacks {missing}: {sorted(document)}"
    if script == "bench_index.py":  # every cold build and baseline pass, the median kept
        assert document["runs"] == len(document["cold_runs_seconds"]) == 2
        median = statistics.median(document["cold_runs_seconds"])
        assert abs(document["cold_seconds"] - median) <= 0.001


def test_the_summary_table_reads_results_and_says_what_is_missing(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    import summary

    row = {
        "sonames": 1500, "candidates": 5, "solve_s": 0.9, "greedy_s": 0.3,
        "solver_consistent": True, "peak_rss_mib": 120.0, "optimise_s": 0.5,
        "whole_rc2_s": 7.0, "same_optimum": True, "parts_solved": 1, "parts_reused": 149,
        "solve_distinct_s": 1.3,
    }  # fmt: skip
    slow = {**row, "sonames": 5000, "solve_s": 6.0, "whole_rc2_s": None}
    (tmp_path / "bench_solve.json").write_text(json.dumps({"scaling": [row, slow]}))
    (tmp_path / "bench_warm.json").write_text(json.dumps({"app": "x"}))
    text = summary.table(tmp_path)
    lines = text.splitlines()
    solved = lines.index("   * - solve 1,500 sonames x 5")
    assert lines[solved + 5] == "     - yes"
    assert "149 of 150 parts of a shape met before; every part solved: 1.30 s" in text
    slower = lines.index("   * - solve 5,000 sonames x 5")
    assert lines[slower + 5] == "     - **no**"
    assert "   * - bench_patch.py" in lines and "     - not run" in lines
    assert "result lacks" in text  # bench_warm.json without its fields


def test_the_check_row_needs_300_files_per_second_and_more_jobs_never_slower(
    tmp_path: Path,
) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    import summary

    def verdict(speeds: dict[int, float], same: bool = True) -> str:
        runs = [{"jobs": j, "files": 895, "files_per_s": s} for j, s in speeds.items()]
        usr_lib = {"dir": "/usr/lib", "same_verdicts": same, "runs": runs}
        result = {"same_verdicts": True, "runs": runs, "usr_lib": usr_lib}
        (tmp_path / "bench_check.json").write_text(json.dumps(result))
        lines = summary.table(tmp_path).splitlines()
        return lines[lines.index("   * - check /usr/lib (895 files)") + 5]

    assert verdict({1: 200, 2: 310}) == "     - yes"
    assert verdict({1: 200, 2: 290}) == "     - **no**"
    assert verdict({1: 320, 2: 310}) == "     - **no**"  # more jobs were slower
    assert verdict({1: 200, 2: 310}, same=False) == "     - **no**"
