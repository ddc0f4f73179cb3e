"""JSON documents from frozen records and back: one codec, driven by the classes' fields.

A document *is* an attrs class: its fields, in order, are the document's keys, and their
types say how each value is written and read (``str``, ``int``, ``bool``, ``None``,
enums by value, ``tuple[X, ...]`` as lists, :class:`~autopatchelf.frozen.FrozenMap` with
string keys as objects, nested attrs classes as objects, ``X | None``). A field with
metadata ``{"json": False}`` is not part of the document (derived, or in-memory only); one
with ``{"key": "explanation"}`` is written under that key; one with
``{"group": ("binary", "name")}`` is written as ``"binary": {"name": ...}``, beside the
other fields of its group, where the group's first field is.

:class:`Document` adds the versioned envelope (``"schema": "autopatchelf.lock/1"``): the
schema id first, then the record. Reading checks the id (a list of ids may be accepted),
refuses anything malformed with one line naming the field (``field 'store_paths' of the
document is not a list``), bounds nesting and size, and fills fields that are absent but
have a default (documents written by older versions still load).
"""

from __future__ import annotations

import enum
import functools
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import attrs

from autopatchelf.frozen import FrozenMap

T = TypeVar("T")

#: Deepest nesting and largest text a document may have (a lock is a few KiB).
MAX_DEPTH = 64
MAX_BYTES = 64 * 1024 * 1024

_SKIP = "json"
_GROUP = "group"
_KEY = "key"


class SchemaError(ValueError):
    """A document does not fit its schema; ``str()`` is one line naming the field."""


def encode(value: Any) -> Any:
    """The JSON value of ``value`` (a record, or anything a record field may hold)."""
    if value is None or isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        for field in attrs.fields(type(value)):
            if not field.metadata.get(_SKIP, True):
                continue
            item = encode(getattr(value, field.name))
            group = field.metadata.get(_GROUP)
            if group is None:
                out[field.metadata.get(_KEY, field.name)] = item
            else:
                out.setdefault(group[0], {})[group[1]] = item
        return out
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset):
        return [encode(v) for v in value]
    raise TypeError(f"cannot encode a {type(value).__name__}")


def decode(cls: type[T], data: object, where: str = "the document") -> T:
    """The record of class ``cls`` that ``data`` (parsed JSON) describes."""
    return typing.cast(T, _record(cls, data, where, 0))


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _record(cls: type, data: object, where: str, depth: int) -> object:
    if not isinstance(data, dict):
        raise SchemaError(f"{where} is not a JSON object")
    hints = _hints(cls)
    values: dict[str, object] = {}
    for field in attrs.fields(cls):
        if not field.metadata.get(_SKIP, True) or not field.init:
            continue
        holder: object = data
        key = field.metadata.get(_KEY, field.name)
        place = f"field {key!r} of {where}"
        group = field.metadata.get(_GROUP)
        if group is not None:
            if group[0] not in data:
                raise SchemaError(f"{where} lacks the field {group[0]!r}")
            holder = data[group[0]]
            key, place = group[1], f"field {group[1]!r} of {group[0]}"
            if not isinstance(holder, dict):
                raise SchemaError(f"field {group[0]!r} of {where} is not a JSON object")
        assert isinstance(holder, dict)
        if key not in holder:
            if field.default is attrs.NOTHING:
                raise SchemaError(f"{where} lacks the field {key!r}")
            continue
        values[field.name] = _value(hints[field.name], holder[key], place, depth + 1, key)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{where} is not valid: {exc}") from None


def _value(kind: Any, data: object, where: str, depth: int, name: str = "") -> object:
    """``where`` names the value in messages; ``name`` is its field's key (list items of a
    field ``libraries`` are ``libraries[1]``...)."""
    if depth > MAX_DEPTH:
        raise SchemaError(f"{where} is nested too deeply")
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if kind is type(None):
        if data is not None:
            raise SchemaError(f"{where} is not null")
        return None
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:
            try:
                return _value(others[0], data, where, depth, name)
            except SchemaError as exc:
                if others[0] in (str, int, bool) and str(exc).startswith(where):
                    raise SchemaError(f"{exc} or null") from None
                raise
        raise TypeError(f"unsupported union {kind!r}")  # pragma: no cover - schema bug
    if kind is bool:
        if not isinstance(data, bool):
            raise SchemaError(f"{where} is not true or false")
        return data
    if kind is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise SchemaError(f"{where} is not an integer")
        return data
    if kind is str:
        if not isinstance(data, str):
            raise SchemaError(f"{where} is not a string")
        return data
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(data)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in kind)
            raise SchemaError(f"{where} is not one of {choices}") from None
    if isinstance(kind, type) and attrs.has(kind):
        return _record(kind, data, where, depth)
    if origin is tuple:
        if not isinstance(data, list):
            raise SchemaError(f"{where} is not a list")
        item = args[0]
        label = f"{name}[{{}}]" if name else f"{where}[{{}}]"
        return tuple(
            _value(item, v, label.format(i + 1), depth + 1, name) for i, v in enumerate(data)
        )
    if origin is FrozenMap or kind is FrozenMap:
        if not isinstance(data, dict):
            raise SchemaError(f"{where} is not a JSON object")
        item = args[1] if len(args) == 2 else Any
        return FrozenMap(
            (
                key,
                data[key]
                if item is Any
                else _value(item, data[key], f"{name or where}[{key!r}]", depth + 1),
            )
            for key in data
        )
    raise TypeError(f"unsupported field type {kind!r}")  # pragma: no cover - schema bug


class Document(Generic[T]):
    """A versioned JSON document whose body is a record of class ``cls``."""

    def __init__(self, schema: str, cls: type[T], *, reads: tuple[str, ...] = ()) -> None:
        self.schema = schema
        self.cls = cls
        #: Every schema id this version reads (``schema`` included).
        self.reads = (schema, *reads)

    def dump(self, record: T) -> dict[str, Any]:
        """The document of ``record``: ``{"schema": ..., <fields in order>}``."""
        body = encode(record)
        body.pop("schema", None)
        return {"schema": self.schema, **body}

    def dumps(self, record: T) -> str:
        return json_text(self.dump(record)) + "\n"

    def load(self, data: object, where: str = "the document") -> T:
        """The record a parsed document holds; :class:`SchemaError` when it does not fit."""
        if not isinstance(data, dict):
            raise SchemaError(f"{where} is not a JSON object")
        schema = data.get("schema")
        if schema not in self.reads:
            raise SchemaError(f"has schema {schema!r}, this autopatchelf reads {self.schema!r}")
        return decode(self.cls, data, where)

    def loads(self, text: str, where: str = "the document") -> T:
        """Parse and load; bad JSON, too deep or too big documents are :class:`SchemaError`."""
        return self.load(parse_json(text), where)


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(document: Any, *, indent: int | None = 2) -> str:
    """The JSON text of ``document``: UTF-8 where it can be, ``\\udcXX`` escapes for the
    bytes of names that were not UTF-8 (``json.loads`` gives back the same strings, and
    the text always encodes)."""
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def parse_json(text: str) -> object:
    """``json.loads`` with the failures of hostile input as :class:`SchemaError`: bad JSON
    (with its line), nesting deep enough to exhaust the parser, a document too big."""
    if len(text) > MAX_BYTES:
        raise SchemaError(f"is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise SchemaError("is nested too deeply to be a document") from None
