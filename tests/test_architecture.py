"""The dependency direction of docs/architecture.md: plants/ and controllers/ never import
hil nor each other, so the controllers run unchanged on every rig."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: package -> the top-level packages it must never import
FORBIDDEN = {
    "plants": {"hil", "controllers"},
    "controllers": {"hil", "plants"},
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a file, wherever it is."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) in ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def test_the_check_sees_every_kind_of_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import hil.bus\nfrom plants import x\n"
                      "def f():\n    import importlib\n"
                      "    importlib.import_module('controllers.safety')\n"
                      "from . import sibling\n")
    assert imported_packages(sample) == [(1, "hil"), (2, "plants"), (4, "importlib"),
                                         (5, "controllers")]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_neither_hil_nor_the_other(package):
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    offences = [f"{path.relative_to(REPO)}:{line}: imports {name}"
                for path in files for line, name in imported_packages(path)
                if name in FORBIDDEN[package]]
    assert not offences, "\n".join(offences)
