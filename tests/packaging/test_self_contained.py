"""A clone with nothing beside it is complete: no file points outside the repository, and the
recorded third-party data in tests/fixtures/ is exactly what tests/fixtures/SOURCES.md describes."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# Files that lived outside the repository once; the specification is docs/semantics.md and
# docs/configuration.md, the Jira facts are in docs/, and the recorded data is in tests/fixtures/.
# Spelled in pieces, so that this file holds none of them and is checked like every other.
OUTSIDE = tuple(
    "".join(parts)
    for parts in (
        ("DESIGN", ".md"),
        ("..", "/shared"),
        ("JIRA", "-FACTS"),
        ("BATON_SHARED", "_DIR"),
        ("STYLE", ".md"),
    )
)
NOT_DATA = {"SOURCES.md", "NOTICE", "LICENSE-Apache-2.0.txt"}


def _repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    paths = [ROOT / name for name in listed]
    return [p for p in paths if p.is_file() and not p.is_symlink() and FIXTURES not in p.parents]


def test_no_file_refers_to_anything_outside_the_repository() -> None:
    found = []
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images and other binaries
        for number, line in enumerate(text.splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{number}: {name}" for name in OUTSIDE if name in line]
    assert found == []


def _listed_checksums() -> dict[str, str]:
    text = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    block = text.split("## SHA-256 of every copied file", 1)[1]
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", block, re.MULTILINE)}


def test_every_fixture_is_listed_with_its_checksum_and_unmodified() -> None:
    present = {
        str(p.relative_to(FIXTURES)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.name not in NOT_DATA
    }
    assert len(present) == 76  # zulip 12, mattermost 55, DevLake 8, the OpenAPI description 1
    assert present == _listed_checksums()


def test_the_licence_and_notices_travel_with_the_data() -> None:
    licence = (FIXTURES / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    notice = (FIXTURES / "NOTICE").read_text(encoding="utf-8")
    for holder in ("Kandra Labs", "Mattermost, Inc.", "The Apache Software Foundation", "Apache 2.0"):
        assert holder in notice
