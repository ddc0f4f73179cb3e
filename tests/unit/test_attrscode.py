"""attrs' generated methods of our records, kept between runs (autopatchelf.attrscode).

Each check runs a fresh interpreter with ``PYTHONPYCACHEPREFIX`` pointing at a temporary
directory, so that the kept file is the test's own and the package's ``__pycache__`` is
left alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Imports the modules a warm solve makes its records in, uses records, then reports.
_CHILD = """
import json, sys
import autopatchelf.cli, autopatchelf.problem.build, autopatchelf.solution.solve
from autopatchelf import attrscode
from autopatchelf.problem.model import Glibc
from autopatchelf.store.path import StorePath
from autopatchelf.elf.records import VersionNeed
a = VersionNeed(file="libc.so.6", versions=("GLIBC_2.34",))
b = VersionNeed(file="libc.so.6", versions=("GLIBC_2.34",))
c = VersionNeed(file="libc.so.6", versions=("GLIBC_2.2.5",))
try:
    a.file = "changed"
    frozen = False
except Exception:
    frozen = True
print(json.dumps({
    "stats": attrscode.stats(),
    "file": attrscode.cache_file(),
    "equal": a == b and hash(a) == hash(b),
    "differ": a != c,
    "frozen": frozen,
    "repr": repr(a),
    "hash_source": sorted(
        name for name in __import__("linecache").cache if "VersionNeed" in name
    ),
}))
"""


def _child(prefix: Path, *, write: bool = True, code: str = _CHILD) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONPYCACHEPREFIX": str(prefix)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_a_second_run_takes_every_compiled_method_from_the_kept_file(tmp_path: Path) -> None:
    first = _child(tmp_path)
    kept = Path(str(first["file"]))
    assert kept.is_relative_to(tmp_path), "the kept file follows PYTHONPYCACHEPREFIX"
    assert kept.is_file()
    compiled = first["stats"]["compiled"]  # type: ignore[index]
    assert compiled > 30, first["stats"]
    second = _child(tmp_path)
    # every class's methods came from the file, though each process drew its own hash
    # seed (the source attrs writes differs between the two in that line alone)
    assert second["stats"] == {"kept": compiled, "compiled": 0}
    for result in (first, second):
        assert result["equal"] and result["differ"] and result["frozen"]
        assert result["repr"] == "VersionNeed(file='libc.so.6', versions=('GLIBC_2.34',))"
        assert result["hash_source"], "attrs still records the source for tracebacks"


def test_nothing_is_written_where_python_writes_no_byte_code(tmp_path: Path) -> None:
    result = _child(tmp_path, write=False)
    assert result["stats"]["kept"] == 0  # type: ignore[index]
    assert not Path(str(result["file"])).exists()
    assert not any(tmp_path.rglob("attrs-methods.*"))


@pytest.mark.parametrize(
    "content",
    [b"", b"not marshal data", b"\xe3" * 40, None],
    ids=["empty", "garbage", "truncated", "another-layout"],
)
def test_an_unreadable_kept_file_is_compiled_around_and_written_anew(
    tmp_path: Path, content: bytes | None
) -> None:
    kept = Path(str(_child(tmp_path, write=False)["file"]))
    kept.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        import marshal

        content = marshal.dumps((("autopatchelf attrs methods", 0), {"x": 1}))
    kept.write_bytes(content)
    result = _child(tmp_path)
    assert result["stats"]["kept"] == 0 and result["stats"]["compiled"] > 30  # type: ignore[index]
    assert result["equal"] and result["frozen"]
    assert _child(tmp_path)["stats"]["compiled"] == 0  # type: ignore[index]


def test_a_changed_class_is_compiled_again_and_the_rest_kept(tmp_path: Path) -> None:
    """An entry whose source is not what attrs writes now (the class changed) is not
    used: its methods would compare the wrong fields."""
    first = _child(tmp_path)
    kept = Path(str(first["file"]))
    import marshal

    layout, table = marshal.loads(kept.read_bytes())
    name = next(n for n in table if n.endswith("elf.records.VersionNeed>"))
    source, _ = table[name]
    # what an older VersionNeed, compared on its file alone, would have left: if it were
    # taken, a and c (same file, other versions) would be equal
    older = source.replace("self.versions", "self.file").replace("other.versions", "other.file")
    code = compile(older.replace("seed,", "0,"), name, "exec")
    table[name] = (older, code)
    kept.write_bytes(marshal.dumps((layout, table)))
    second = _child(tmp_path)
    assert second["stats"] == {"kept": first["stats"]["compiled"] - 1, "compiled": 1}  # type: ignore[index]
    assert second["differ"], "VersionNeed compares its versions again"
    assert second["equal"]
    _, mended = marshal.loads(kept.read_bytes())
    assert mended[name][0] == source, "the entry was written anew"


def test_classes_of_other_packages_are_compiled_as_attrs_does(tmp_path: Path) -> None:
    code = """
import json
import attrs
import autopatchelf.elf.facts
from autopatchelf import attrscode
before = attrscode.stats()

@attrs.frozen
class Theirs:
    x: int

after = attrscode.stats()
same = hash(Theirs(1)) == hash(Theirs(1))
print(json.dumps({"before": before, "after": after, "hash": same, "file": attrscode.cache_file()}))
"""
    result = _child(tmp_path, code=code)
    assert result["before"] == result["after"] and result["hash"]
    import marshal

    _, table = marshal.loads(Path(str(result["file"])).read_bytes())
    assert all(" autopatchelf." in name for name in table)
    assert not any("Theirs" in name for name in table)
