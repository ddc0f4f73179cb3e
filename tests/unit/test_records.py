"""Every attrs class of the package is a :class:`~autopatchelf.frozen.Record`: its repr is
the shared one, written as attrs would write it (verdict keys hash some reprs)."""

from __future__ import annotations

import importlib
import pkgutil

import attrs
import pytest

import autopatchelf
from autopatchelf.elf.records import VersionNeed
from autopatchelf.frozen import Record


def _pairs() -> list[tuple[object, object]]:
    """(attrs' own repr, ours) of classes alike but for that."""

    def make(base: type) -> list[type]:
        extra: dict[str, object] = {} if base is object else {"repr": False}

        @attrs.frozen(**extra)
        class Plain(base):
            name: str
            count: int = 0
            hidden: bytes = attrs.field(default=b"x", repr=False)
            shown: tuple[int, ...] = attrs.field(default=(1, 2), repr=lambda v: f"<{len(v)}>")
            _private: str = "p"

        @attrs.frozen(**extra)
        class Sub(Plain):
            more: frozenset[str] = frozenset({"a"})

        @attrs.frozen(**extra)
        class Empty(base):
            pass

        return [Plain, Sub, Empty]

    theirs, ours = make(object), make(Record)
    values = [("n", 3, b"y", (4,), "q"), ("café\udc80", -1)]
    pairs: list[tuple[object, object]] = []
    for args in values:
        pairs.append((theirs[0](*args), ours[0](*args)))
        pairs.append((theirs[1](*args), ours[1](*args)))
    pairs.append((theirs[2](), ours[2]()))
    return pairs


@pytest.mark.parametrize(("theirs", "ours"), _pairs())
def test_the_shared_repr_is_attrs_own(theirs: object, ours: object) -> None:
    assert repr(ours) == repr(theirs)
    assert type(ours).__repr__ is Record.__repr__


def test_a_records_repr_names_its_fields() -> None:
    need = VersionNeed("libc.so.6", ())
    assert repr(need) == "VersionNeed(file='libc.so.6', versions=())"


def _attrs_classes() -> list[type]:
    found: list[type] = []
    for info in pkgutil.walk_packages(autopatchelf.__path__, "autopatchelf."):
        module = importlib.import_module(info.name)
        found.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type) and attrs.has(value) and value.__module__ == module.__name__
        )
    return found


def test_every_attrs_class_is_a_record_without_a_generated_repr() -> None:
    classes = _attrs_classes()
    assert len(classes) > 100
    generated = [
        c.__qualname__
        for c in classes
        if not issubclass(c, Record)
        or "<attrs generated" in getattr(getattr(c.__repr__, "__code__", None), "co_filename", "")
    ]
    assert generated == []
