"""Graphics/GPU driver libraries come from a driver dir, never from the store (in-memory
store; the real loader judges it in tests/test_dlopen_run.py)."""

from __future__ import annotations

import fnmatch

import pytest
from memstore import MemStore, make_facts

from autopatchelf.errors import Unsatisfiable
from autopatchelf.ldso.drivers import DRIVER_SONAMES, is_driver_soname

TOOL = "/app/bin/game"
DRIVERS = "/run/opengl-driver/lib"


def store_with_a_store_libgl() -> MemStore:
    store = MemStore()
    store.glibc("glibc-2.36")
    store.library("mesa-24.0", "libGL.so.1", needs=("libc.so.6",), refs=("glibc-2.36",))
    return store


def driver(store: MemStore, name: str = "libGL.so.1", **kw: object) -> None:
    store.files.add(
        make_facts(f"{DRIVERS}/{name}", soname=name, needs=("libc.so.6", "libX11.so.6"), **kw)  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("name", "is_driver"),
    [
        ("libGL.so.1", True),
        ("libEGL_mesa.so.0", True),
        ("libnvidia-glcore.so.550.54", True),
        ("libvulkan.so.1", True),
        ("libcuda.so.1", True),
        ("libdrm.so.2", False),
        ("libGLU.so.1", False),
        ("libX11.so.6", False),
    ],
)
def test_driver_sonames(name: str, is_driver: bool) -> None:
    assert is_driver_soname(name) is is_driver


def test_the_driver_soname_test_is_each_pattern_s_fnmatch() -> None:
    # One compiled expression for the table: the same verdict as fnmatch, pattern by pattern.
    names = [p.replace("*", "x") for p in DRIVER_SONAMES] + [
        p.replace("*", "") for p in DRIVER_SONAMES
    ]
    names += [n + ".1" for n in names] + ["x" + n for n in names] + ["libGL.so.1\n", "libGL.so"]
    for name in names:
        expected = any(fnmatch.fnmatchcase(name, p) for p in DRIVER_SONAMES)
        assert is_driver_soname(name) is expected, name


def test_the_driver_dirs_copy_wins_over_the_stores() -> None:
    store = store_with_a_store_libgl()
    driver(store)
    app = store.program(TOOL, needs=("libGL.so.1", "libc.so.6"))
    solution = store.solve([app], driver_dirs=(DRIVERS,))
    assert solution.choices["libGL.so.1"] == f"{DRIVERS}/libGL.so.1"
    lib = solution.root(TOOL).mapping()
    assert lib["libGL.so.1"] == f"{DRIVERS}/libGL.so.1"
    gl = next(x for x in solution.root(TOOL).libraries if x.name == "libGL.so.1")
    assert gl.driver and gl.store_path is None
    assert solution.library_path[0] == DRIVERS
    assert solution.driver_dirs == (DRIVERS,)
    assert store.path("mesa-24.0") not in solution.store_paths
    # Its own needs (libX11) are its own business: not solved for.
    assert "libX11.so.6" not in solution.choices


def test_without_a_driver_dir_it_is_a_warning_not_a_store_pick() -> None:
    store = store_with_a_store_libgl()
    app = store.program(TOOL, needs=("libGL.so.1", "libc.so.6"))
    solution = store.solve([app], driver_dirs=())
    assert "libGL.so.1" not in solution.choices
    assert store.path("mesa-24.0") not in solution.store_paths
    said = [w for w in solution.warnings if w.startswith("libGL.so.1 is a graphics/GPU driver")]
    assert len(said) == 1 and "never from the store" in said[0] and "none here" in said[0]


def test_a_driver_needing_a_newer_glibc_than_the_chosen_one_is_no_solution() -> None:
    store = store_with_a_store_libgl()
    driver(store, version_needs={"libc.so.6": ("GLIBC_2.38",)})
    app = store.program(TOOL, needs=("libGL.so.1", "libc.so.6"))
    with pytest.raises(Unsatisfiable) as raised:
        store.solve([app], driver_dirs=(DRIVERS,))
    assert "GLIBC_2.38" in "\n".join(raised.value.explanation.lines)
