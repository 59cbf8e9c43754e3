"""fakegears is a package of its own: it imports only the standard library and
itself, function-level imports included (its tests may use test libraries)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_fakegears_imports_only_the_standard_library_and_itself() -> None:
    modules = sorted(path for path in PACKAGE.rglob("*.py") if "tests" not in path.relative_to(PACKAGE).parts)
    assert PACKAGE / "faults.py" in modules
    foreign = {
        str(path.relative_to(PACKAGE)): sorted(roots)
        for path in modules
        if (roots := imported_roots(path) - set(sys.stdlib_module_names) - {"fakegears", "__future__"})
    }
    assert foreign == {}


def test_the_check_sees_a_function_level_import_of_the_site(tmp_path: Path) -> None:
    source = tmp_path / "late.py"
    source.write_text("def late():\n    from devices.models import Device\n", encoding="utf-8")
    assert imported_roots(source) == {"devices"}
