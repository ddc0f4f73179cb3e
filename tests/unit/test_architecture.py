"""The package's layering, checked: each layer imports only the layers before it, and the
CLI only the public API (docs/architecture.rst draws the same picture)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "autopatchelf"

#: Layers in pipeline order: a module may import its own layer and those before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    # cross-cutting values every layer may use
    (
        "frozen",
        "attrscode",
        "errors",
        "options",
        "schema",
        "cachedir",
        "sqlite",
        "progress",
        "gcpause",
    ),
    ("elf",),
    ("ldso",),
    ("nix", "store"),
    ("remote",),
    ("index",),
    ("problem",),
    ("sat",),
    ("solution",),
    ("_api",),
    ("actions",),
    ("cli", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

#: What the CLI may import: the public package and its documented modules.
CLI_ALLOWED = (
    "autopatchelf",
    "autopatchelf.cli",
    "autopatchelf.actions",
    "autopatchelf.errors",
    "autopatchelf.options",
    "autopatchelf.frozen",
    "autopatchelf.cachedir",
    "autopatchelf.progress",
    "autopatchelf.index",
    "autopatchelf.store",
    "autopatchelf.ldso",
)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _rank(module: str) -> int:
    """The layer of an imported module; a name of the public package (``from autopatchelf
    import solve``) ranks as the public API, after the solution layer."""
    layer = _layer(module)
    if layer in RANK:
        return RANK[layer]
    return 0 if layer == "__version__" else RANK["_api"]


def _runtime_imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, module) of every autopatchelf import that runs (not under TYPE_CHECKING)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "autopatchelf":
                yield from ((node.lineno, f"autopatchelf.{a.name}") for a in node.names)
            elif node.module.startswith("autopatchelf."):
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("autopatchelf."):
                    yield node.lineno, alias.name


def _modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        found.append((name, ast.parse(path.read_text(), str(path))))
    return found


def test_every_layer_is_known() -> None:
    layers = {_layer(name) for name, _ in _modules()} - {""}
    assert layers <= set(RANK), f"add {sorted(layers - set(RANK))} to LAYERS"


@pytest.mark.parametrize(
    ("name", "tree"), _modules(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_no_layer_imports_a_later_one(name: str, tree: ast.Module) -> None:
    if name == "autopatchelf":
        return  # the public package re-exports every layer, lazily
    mine = RANK[_layer(name)]
    later = [
        f"line {line}: {module}" for line, module in _runtime_imports(tree) if _rank(module) > mine
    ]
    assert not later, f"{name} imports later layers: {later}"


def test_the_cli_uses_only_the_public_api() -> None:
    def public(module: str) -> bool:
        if _layer(module) not in RANK:
            return True  # a name of the public package (``from autopatchelf import solve``)
        return module in CLI_ALLOWED or module.startswith(
            ("autopatchelf.actions.", "autopatchelf.cli.")
        )

    private = [
        f"{name} line {line}: {module}"
        for name, tree in _modules()
        if name.startswith("autopatchelf.cli")
        for line, module in _runtime_imports(tree)
        if not public(module)
    ]
    assert not private, private
