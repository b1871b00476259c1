"""The engine imports no framework, database, queue or translation library (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "app" / "engine"
FORBIDDEN = {"flask", "sqlalchemy", "redis", "rq", "africastalking", "babel", "werkzeug",
             "requests", "psycopg"}
ALLOWED_APP = "app.engine"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_engine_imports_nothing_impure():
    files = sorted(ENGINE.glob("*.py"))
    assert files
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {module}"
            if top == "app":
                assert module.startswith(ALLOWED_APP), f"{path.name} imports {module}"


def test_importing_the_engine_loads_no_framework():
    import subprocess
    import sys

    code = ("import sys, app.engine; bad = sorted(m for m in sys.modules "
            f"if m.split('.')[0] in {sorted(FORBIDDEN)!r}); print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ENGINE.parents[1])
    assert out.stdout.strip() == ""
