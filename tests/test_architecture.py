"""The layout's rules, checked on the import graph (static: the ``import`` statements of each module).

* ``analytic/`` (the economics: closed forms, pricing formats) never imports cvxpy or the solver layer;
* ``engine/`` (the screening program) knows nothing about LLMs: no technology, types, settings or app;
* ``settings/`` never imports the app layer; nothing but ``app/`` imports ``app/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "mechdesign"


def imports_of(path: Path) -> set[str]:
    """Absolute names imported by a module (relative imports resolved)."""
    rel = path.relative_to(PKG.parent).with_suffix("")
    return imports_in(path.read_text(), list(rel.parts[:-1]))


def imports_in(source: str, package: list[str]) -> set[str]:
    """Absolute names imported by ``source``, a module of the package ``package`` (e.g. ['mechdesign', 'analytic'])."""
    tree = ast.parse(source)
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def modules(sub: str) -> list[Path]:
    """Every module under ``sub``, subpackages included (``analytic/calibration/``, ``app/commands/``)."""
    return sorted((PKG / sub).rglob("*.py"))


@pytest.mark.parametrize("path", modules("analytic"), ids=lambda p: str(p.relative_to(PKG)))
def test_analytic_never_imports_the_solver_layer(path: Path) -> None:
    bad = {m for m in imports_of(path)
           if m.split(".")[0] == "cvxpy" or m.startswith(("mechdesign.engine", "mechdesign.settings", "mechdesign.app"))}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("engine"), ids=lambda p: p.name)
def test_engine_knows_nothing_about_llms(path: Path) -> None:
    bad = {m for m in imports_of(path) if m.startswith(
        ("mechdesign.technology", "mechdesign.types", "mechdesign.analytic", "mechdesign.settings", "mechdesign.app",
         "mechdesign.validation", "mechdesign.problemfile"))}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", [p for sub in ("analytic", "engine", "settings", "validation") for p in modules(sub)]
                         + [p for p in PKG.glob("*.py")], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_only_the_app_imports_the_app(path: Path) -> None:
    bad = {m for m in imports_of(path) if m.startswith("mechdesign.app")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_the_rule_can_fail() -> None:
    # the checker sees both absolute and relative imports
    found = imports_in("from ..engine import audit\nimport cvxpy as cp\n", ["mechdesign", "analytic"])
    assert "mechdesign.engine" in found and "cvxpy" in found


def test_every_subpackage_ships_in_the_wheel() -> None:
    """pyproject.toml lists packages explicitly: a new subpackage missing there installs without its
    modules (found by CI's wheel check: mechdesign.app.commands was missing)."""
    import tomllib

    ROOT = PKG.parent
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    pkg_root = ROOT / "mechdesign"
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in pkg_root.rglob("__init__.py")}
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"
