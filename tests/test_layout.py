"""The house's floors: core never reaches up into ui or pages (nor imports streamlit), and no two modules
import each other. Read from the source with ast, so the rule holds for every file, imported or not."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in [*(ROOT / "core").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every module a file imports (`from x import y` counts x and, where y is a module, x.y)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module
            out |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
    return out


def test_core_imports_neither_ui_nor_pages_nor_streamlit():
    for name, path in _modules().items():
        if name.startswith("core"):
            up = {m for m in _imports(name, path) if m.split(".")[0] in ("ui", "pages", "streamlit")}
            assert not up, f"{path.relative_to(ROOT)} imports {sorted(up)}"


def test_no_two_modules_import_each_other():
    modules = _modules()
    edges = {name: _imports(name, path) & set(modules) - {name} for name, path in modules.items()}
    mutual = sorted((a, b) for a in edges for b in edges[a] if a < b and a in edges[b])
    assert not mutual, mutual


def test_the_recipe_imports_nothing_of_the_project():
    assert not {m for m in _imports("core.recipe", ROOT / "core" / "recipe.py") if m.split(".")[0] in ("core", "ui")}
