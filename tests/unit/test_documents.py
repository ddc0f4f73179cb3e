"""The one JSON codec: every document round-trips, and a bad one gets one line naming the
field. Frozen records are really immutable and hashable."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import attrs
import pytest

import autopatchelf
from autopatchelf.actions.checks.check_baseline import BASELINE_DOCUMENT, BaselineFile
from autopatchelf.actions.checks.check_document import (
    CHECK_DOCUMENT,
    BaselineInfo,
    BinaryEntry,
    CheckDocument,
    RootInfo,
    Summary,
    ToolInfo,
)
from autopatchelf.actions.checks.check_model import BaselineKey, CheckProblem, Role, Status
from autopatchelf.actions.locks.lock import LOCK_DOCUMENT, Lock, LockedLibrary
from autopatchelf.frozen import FrozenMap
from autopatchelf.options import Delivery, GlibcPolicy, SolveOptions
from autopatchelf.schema import MAX_DEPTH, Document, SchemaError, parse_json
from autopatchelf.solution.diagnosis import ProblemKind
from autopatchelf.solution.model import (
    SOLUTION_DOCUMENT,
    Alternative,
    LoadedLibrary,
    RootSolution,
    Solution,
)

GLIBC = "/nix/store/00000000000000000000000000000000-glibc-2.40"
FOO = "/nix/store/11111111111111111111111111111111-libfoo-2.0"


def solution() -> Solution:
    return Solution(
        glibc=GLIBC,
        glibc_policy=GlibcPolicy.COMPATIBLE,
        interpreter=f"{GLIBC}/lib/ld-linux-x86-64.so.2",
        store_paths=(GLIBC, FOO),
        library_path=(f"{FOO}/lib", f"{GLIBC}/lib"),
        needs_link_dir=False,
        runpath=(),
        choices={"libfoo.so.1": f"{FOO}/lib/libfoo.so.1", "libc.so.6": f"{GLIBC}/lib/libc.so.6"},
        substitutions={"libfoo.so.0": "libfoo.so.1"},
        delivery=Delivery.RUNPATH,
        roots=(
            RootSolution(
                "/app/bin/tool",
                f"{GLIBC}/lib/ld-linux-x86-64.so.2",
                (
                    LoadedLibrary("libfoo.so.1", f"{FOO}/lib/libfoo.so.1", FOO, "/app/bin/tool"),
                    LoadedLibrary("libown.so.1", "/app/lib/libown.so.1", None, "/app/bin/tool"),
                ),
            ),
        ),
        alternatives=(Alternative("libfoo.so.1", f"{FOO}/lib/libfoo.so.1", ("/x/libfoo.so.1",)),),
        warnings=("a warning",),
    )


def lock() -> Lock:
    return Lock(
        tool_version="1.0",
        binary="tool",
        sha256="ab" * 32,
        elf_digest="cd" * 32,
        system="x86_64-linux",
        interpreter=f"{GLIBC}/lib/ld-linux-x86-64.so.2",
        glibc=GLIBC,
        glibc_policy="strict",
        delivery="library-path",
        library_path=("$ORIGIN/../lib", f"{GLIBC}/lib"),
        needs_link_dir=False,
        runpath=(),
        store_paths=(GLIBC,),
        choices={"libown.so.1": "$ORIGIN/../lib/libown.so.1"},
        libraries=(LockedLibrary("libown.so.1", "$ORIGIN/../lib/libown.so.1", None, "$BINARY"),),
    )


def check_document() -> CheckDocument:
    problem = CheckProblem(ProblemKind.DIAMOND, "libdep.so.1", "two copies", ("So...",), "lib/x")
    return CheckDocument(
        tool=ToolInfo("autopatchelf", "1.0"),
        passed=False,
        store="/nix/store",
        roots=(RootInfo("vendor", "/src/vendor"),),
        summary=Summary(1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0),
        binaries=(
            BinaryEntry(
                "vendor",
                "bin/x",
                Role.EXECUTABLE,
                Status.FAILED,
                None,
                None,
                None,
                (),
                (),
                None,
                (problem,),
            ),
        ),
        baseline=BaselineInfo("b.json", (BaselineKey("bin/y", "missing-library", "libz.so.1"),)),
    )


@pytest.mark.parametrize(
    ("document", "record"),
    [
        (SOLUTION_DOCUMENT, solution()),
        (LOCK_DOCUMENT, lock()),
        (CHECK_DOCUMENT, check_document()),
        (BASELINE_DOCUMENT, BaselineFile((BaselineKey("a", "diamond", "x"),))),
    ],
    ids=["solution", "lock", "check", "baseline"],
)
def test_every_document_round_trips(document: Document[object], record: object) -> None:
    text = document.dumps(record)
    data = json.loads(text)
    assert next(iter(data)) == "schema"
    assert data["schema"] == document.schema
    again = document.loads(text)
    assert again == record
    assert document.dumps(again) == text  # stable


def test_enums_are_written_by_value_and_read_back_as_enums() -> None:
    data = SOLUTION_DOCUMENT.dump(solution())
    assert (data["glibc_policy"], data["delivery"]) == ("compatible", "runpath")
    back = SOLUTION_DOCUMENT.load(data)
    assert back.glibc_policy is GlibcPolicy.COMPATIBLE and back.delivery is Delivery.RUNPATH
    data["delivery"] = "teleport"
    with pytest.raises(SchemaError, match="field 'delivery' of the document is not one of"):
        SOLUTION_DOCUMENT.load(data)


def test_grouped_and_renamed_keys() -> None:
    data = LOCK_DOCUMENT.dump(lock())
    assert data["binary"] == {
        "name": "tool",
        "sha256": "ab" * 32,
        "elf_digest": "cd" * 32,
        "system": "x86_64-linux",
    }
    problem = CHECK_DOCUMENT.dump(check_document())["binaries"][0]["problems"][0]
    assert problem["explanation"] == ["So..."] and "details" not in problem


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("interpreter"), "lacks the field 'interpreter'"),
        (lambda d: d.pop("binary"), "lacks the field 'binary'"),
        (lambda d: d["binary"].pop("sha256"), "lacks the field 'sha256'"),
        (lambda d: d.__setitem__("binary", []), "field 'binary' of the document is not a JSON"),
        (lambda d: d.__setitem__("needs_link_dir", 1), "is not true or false"),
        (lambda d: d["library_path"].append(3), r"library_path\[3\] is not a string"),
        (lambda d: d["choices"].__setitem__("x", None), r"choices\['x'\] is not a string"),
        (
            lambda d: d["libraries"][0].__setitem__("store_path", 3),
            r"field 'store_path' of libraries\[1\] is not a string or null",
        ),
        (lambda d: d.__setitem__("schema", "autopatchelf.lock/9"), "has schema"),
    ],
)
def test_bad_documents_name_the_field(mutate: object, message: str) -> None:
    data = LOCK_DOCUMENT.dump(lock())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(SchemaError, match=message) as caught:
        LOCK_DOCUMENT.load(data)
    assert "\n" not in str(caught.value)


def test_hostile_json_is_refused_with_one_line() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(SchemaError, match="nested too deeply"):
        parse_json(deep)
    nested: object = "x"
    for _ in range(MAX_DEPTH + 5):
        nested = [nested]
    data = LOCK_DOCUMENT.dump(lock())
    data["library_path"] = nested
    with pytest.raises(SchemaError):
        LOCK_DOCUMENT.load(data)
    with pytest.raises(SchemaError, match="not valid JSON"):
        parse_json('{"schema": ')


def test_older_documents_with_absent_defaults_still_load() -> None:
    data = LOCK_DOCUMENT.dump(lock())
    for key in ("substitutions", "warnings", "tool_version"):
        del data[key]
    loaded = LOCK_DOCUMENT.load(data)
    assert loaded.substitutions == {} and loaded.warnings == () and loaded.tool_version == ""


def test_frozen_map_is_immutable_hashable_and_equal_to_a_dict() -> None:
    fm = FrozenMap({"a": 1, "b": 2})
    assert fm == {"b": 2, "a": 1} and hash(fm) == hash(FrozenMap([("b", 2), ("a", 1)]))
    assert list(fm) == ["a", "b"] and fm.get("c") is None and fm.get("c", 3) == 3
    with pytest.raises(TypeError):
        fm["a"] = 3  # type: ignore[index]
    assert not hasattr(fm, "update")


def test_solve_options_convert_and_refuse() -> None:
    options = SolveOptions(within=["/run/current-system"], glibc="compatible", locked={"a": "b"})
    assert options.within == ("/run/current-system",)
    assert options.glibc is GlibcPolicy.COMPATIBLE
    assert isinstance(options.locked, FrozenMap)
    hash(options)
    with pytest.raises(TypeError, match="the string"):
        SolveOptions(within="/run/current-system")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"lenient"):
        SolveOptions(glibc="lenient")  # type: ignore[arg-type]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.glibc = GlibcPolicy.STRICT  # type: ignore[misc]


def _frozen_classes() -> list[type]:
    found: list[type] = []
    for info in pkgutil.walk_packages(autopatchelf.__path__, "autopatchelf."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == module.__name__ and attrs.has(obj):
                params = getattr(obj, "__attrs_attrs__", ())
                if params and obj.__setattr__ is not object.__setattr__:
                    found.append(obj)
    return found


def test_frozen_records_hold_no_mutable_containers() -> None:
    import typing

    offenders = []
    for cls in _frozen_classes():
        try:
            hints = typing.get_type_hints(cls)
        except NameError:
            continue
        for field in attrs.fields(cls):
            text = str(hints.get(field.name, field.type))
            if text.startswith(("dict[", "list[", "set[")) or "typing.Dict" in text:
                offenders.append(f"{cls.__module__}.{cls.__name__}.{field.name}: {text}")
    assert not offenders, offenders
