"""The repository's five folders are importable only as `baton.<name>` (docs/architecture.md,
"One import package"): no module imports them by their bare names, which a user's own `config.py`
or `store/` would shadow."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("config", "scoring", "store", "connector", "webhooks")


def _python_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed if not name.startswith("baton/")]


def _bare_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
            for name in names
            if name.split(".")[0] in FOLDERS
        ]
    return found


def test_no_module_imports_a_folder_by_its_bare_name() -> None:
    offenders = [line for path in _python_files() for line in _bare_imports(path)]
    assert offenders == [], "import these as baton.<name>:\n" + "\n".join(offenders)


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_folder_is_linked_into_the_package(folder: str) -> None:
    link = ROOT / "baton" / folder
    assert link.is_symlink() and link.resolve() == (ROOT / folder).resolve()


def test_the_gadget_bundle_is_linked_into_the_http_package() -> None:
    link = ROOT / "webhooks" / "http" / "static" / "dist"
    assert link.is_symlink() and link.resolve() == (ROOT / "plugin" / "dist").resolve()
