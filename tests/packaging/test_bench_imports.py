"""The benchmarks import Baton inside their functions and are not type-checked, so a renamed function
would only show when someone runs them: every `from baton... import name` under bench/ must resolve."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _baton_imports() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted((ROOT / "bench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("baton")
            ):
                found += [
                    (str(path.relative_to(ROOT)), node.lineno, node.module or "", a.name) for a in node.names
                ]
    return found


def test_every_baton_name_the_benchmarks_import_exists() -> None:
    imports = _baton_imports()
    assert len(imports) > 10
    missing = []
    for path, line, module, name in imports:
        loaded = importlib.import_module(module)
        if not hasattr(loaded, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{path}:{line}: from {module} import {name}")
    assert missing == []
