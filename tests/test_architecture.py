"""The architecture holds: layers import downward, modules stay small, ARCHITECTURE.md names them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sid"

# Lowest first. A module may import its own layer and the layers below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("sid.errors", "sid.resources", "sid.yamlio", "sid.formatting", "sid.linalg", "sid.codes",
     "sid.parallel"),
    ("sid.io",),
    ("sid.expr", "sid.codebook", "sid.harmonise", "sid.synthetic"),
    ("sid.origin", "sid.validation"),
    ("sid.design", "sid.design_args", "sid.variance", "sid.variance_cells"),
    ("sid.estimation", "sid.model", "sid.weighting"),
    ("sid.tables", "sid.plan"),
    ("sid.export",),
    ("sid.cli",),
)
MAX_LINES = 650


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "data" not in p.relative_to(PACKAGE).parts)


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int | None:
    for level, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return level
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sid."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sid":
                found.update(f"sid.{a.name}" for a in node.names)
            elif node.module.startswith("sid."):
                found.add(node.module)
    return found


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_module_has_a_layer_and_imports_only_downward(path: Path) -> None:
    name = _name(path)
    if name == "sid":
        return  # the package facade re-exports lazily from every layer
    own = _layer(name)
    assert own is not None, f"{name} is in no layer: add it to LAYERS and ARCHITECTURE.md"
    upward = sorted(m for m in _imports(path)
                    if m != "sid.__version__" and (_layer(m) or 0) > own)
    assert not upward, f"{name} (layer {own}) imports upward: {upward}"


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_module_stays_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines: split it by concern"


def test_architecture_md_names_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [str(p.relative_to(ROOT)) for p in _modules()
               if p.name != "__init__.py" and str(p.relative_to(ROOT)) not in text]
    assert not missing, f"ARCHITECTURE.md does not name: {missing}"
