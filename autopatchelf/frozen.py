"""The base of frozen records, and an immutable, hashable mapping for their fields
(``dict`` fields are neither)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, TypeVar, overload

from autopatchelf.attrscode import install as install_kept_methods

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class Record:
    """The base of every attrs class here (``@attrs.frozen(repr=False)``, or
    ``@attrs.define(repr=False)`` for the few mutable ones): one ``__repr__`` for all of
    them, written as attrs writes its own (``Name(field=value, ...)``, fields declared
    ``repr=False`` left out; the unit tests compare the two).

    attrs compiles every method it generates from source when a class is made; the repr
    is a third of that (about 0.2 ms a class). A warm ``solve`` makes some 60 classes
    before it can start, so a shared repr spares it 8 to 10 ms. Equality, hashing and
    ``__init__`` stay attrs' own."""

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Made before attrs' decorator runs on it: the compiled methods are kept from then
        # on (autopatchelf.attrscode), and only processes that make a record import attrs.
        super().__init_subclass__(**kwargs)
        install_kept_methods()

    def __repr__(self) -> str:
        fields = getattr(type(self), "__attrs_attrs__", ())
        shown = []
        for field in fields:
            if field.repr is False:
                continue
            value = getattr(self, field.name)
            text = field.repr(value) if callable(field.repr) else repr(value)
            shown.append(f"{field.name}={text}")
        name = type(self).__qualname__.rsplit(">.", 1)[-1]
        return f"{name}({', '.join(shown)})"


class FrozenMap(Mapping[K, V]):
    """A read-only mapping in insertion order; equal to any mapping with the same items,
    hashable when its values are. Build one from a mapping or ``(key, value)`` pairs."""

    __slots__ = ("_hash", "_items")

    @overload
    def __init__(self) -> None: ...

    @overload
    def __init__(self, items: Mapping[K, V]) -> None: ...

    @overload
    def __init__(self, items: Iterable[tuple[K, V]]) -> None: ...

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._items: dict[K, V] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    # Fast paths (the Mapping mixins go through __getitem__ and exceptions).
    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: V | T) -> V | T: ...

    def get(self, key: K, default: Any = None) -> Any:
        """The value of ``key``, else ``default``."""
        return self._items.get(key, default)

    def keys(self) -> KeysView[K]:
        """The keys, in insertion order."""
        return self._items.keys()

    def values(self) -> ValuesView[V]:
        """The values, in insertion order."""
        return self._items.values()

    def items(self) -> ItemsView[K, V]:
        """The ``(key, value)`` pairs, in insertion order."""
        return self._items.items()

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (list(self._items.items()),))

    def to_dict(self) -> dict[K, V]:
        """A new, mutable copy."""
        return dict(self._items)


def frozen_map(items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> FrozenMap[K, V]:
    """``FrozenMap(items)``, also usable as an attrs converter (a FrozenMap is kept)."""
    if isinstance(items, FrozenMap):
        return items
    return FrozenMap(items)


def string_map(items: Mapping[str, str] | Iterable[tuple[str, str]]) -> FrozenMap[str, str]:
    """:func:`frozen_map` for str -> str (an attrs converter mypy can check)."""
    return items if isinstance(items, FrozenMap) else FrozenMap(items)
