"""``solve --interactive``: a real terminal (tmux) picks among tied optima."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from extra_store import build_libfoo
from fixtures import FixtureStore
from prerequisites import need

pytestmark = pytest.mark.nix


def _tied_store(fx: FixtureStore, tmp_path: Path) -> tuple[list[str], str, str]:
    first = build_libfoo(fx, tmp_path, "libfoo-5.0", "libfoo.so.1", "one")
    second = build_libfoo(fx, tmp_path, "libfoo-5.0", "libfoo.so.1", "two")
    args = ["--within", first, "--within", second, "--within", str(fx.path("glibc-host"))]
    args += ["--cache-dir", str(tmp_path / "cache"), "--system", str(fx.path("glibc-host"))]
    return args, first, second


def _solve_json(args: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "autopatchelf", "solve", "--format", "json", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return document


def test_non_tty_never_prompts(fixture_store: FixtureStore, tmp_path: Path) -> None:
    args, _, _ = _tied_store(fixture_store, tmp_path)
    app = str(fixture_store.apps["foo-v2"])
    plain = _solve_json([app, *args])
    asked = _solve_json([app, "--interactive", *args])
    assert asked["choices"] == plain["choices"]
    assert plain["alternatives"], "the store was meant to hold a tie"


def test_tmux_user_picks_the_other_provider(fixture_store: FixtureStore, tmp_path: Path) -> None:
    need("tmux")
    args, _, _ = _tied_store(fixture_store, tmp_path)
    app = str(fixture_store.apps["foo-v2"])
    plain = _solve_json([app, *args])
    (alternative,) = plain["alternatives"]  # type: ignore[misc]
    out = tmp_path / "out.json"
    done = tmp_path / "done"
    command = " ".join(
        [
            sys.executable,
            "-m",
            "autopatchelf",
            "solve",
            "--interactive",
            "--format",
            "json",
            app,
            *args,
            ">",
            str(out),
            ";",
            "echo",
            "$?",
            ">",
            str(done),
        ]
    )
    session = f"apf-{os.getpid()}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "40", command],
        check=True,
    )
    try:
        screen = _wait_for(session, "equally good providers")
        assert "libfoo-5.0" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "Down"], check=True)
        time.sleep(0.3)
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    assert done.read_text().strip() == "0"
    picked = json.loads(out.read_text())
    # Down + Enter picked the second option: the one the solver did not choose.
    assert picked["choices"]["libfoo.so.1"] == alternative["others"][0]
    assert picked["choices"]["libfoo.so.1"] != plain["choices"]["libfoo.so.1"]  # type: ignore[index]
    assert picked["alternatives"] == []


def _wait_for(session: str, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"no prompt within {timeout}s; screen:\n{screen}")
