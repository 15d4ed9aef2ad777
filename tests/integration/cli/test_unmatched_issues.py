"""Nothing is dropped without a word (issue 16, item 3): issues that match no process are stored, and the
replay summary, `baton handoffs` and the read commands say so, counted per project and issue type with
example keys. Real SQLite and PostgreSQL; DevLake's recorded issues (projects EE and K5), one of them as
exported without `fields.project`. On the old code every command printed nothing about them and exit 0."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest

from tests.integration.cli.conftest import baton, baton_json
from tests.recorded import DEVLAKE_EE_CONFIG, devlake_search_response

# Only four EE issue types are measured: EE's "Test Execution" falls outside, K5 is no process's project.
CONFIG = DEVLAKE_EE_CONFIG.replace(
    "match: {projects: [EE]}", "match: {projects: [EE], issue_types: [故事, 任务, 子任务, 缺陷]}"
)
STRIPPED = "EE-1"  # exported without fields.project

EXPECTED_ROWS = [
    {"project": "K5", "issue_type": "Story", "reason": "project", "count": 2, "examples": ["K5-2", "K5-3"]},
    {"project": "EE", "issue_type": "Test Execution", "reason": "issue_type", "count": 1, "examples": ["EE-37"]},
    {"project": "K5", "issue_type": "Epic", "reason": "project", "count": 1, "examples": ["K5-4"]},
    {"project": None, "issue_type": "故事", "reason": "no_project", "count": 1, "examples": ["EE-1"]},
]  # fmt: skip
EXPECTED = {"total": 5, "rows": EXPECTED_ROWS}
WARNING = (
    "warning: 5 stored issues match no process on site 'default', so no request is derived from them: "
    "K5/Story 2; EE/Test Execution 1; K5/Epic 1; 1 more"
)


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> tuple[str, Path, dict[str, object]]:
    config = tmp_path / "devlake.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    search = devlake_search_response()
    search["issues"] = copy.deepcopy(search["issues"])
    for issue in search["issues"]:
        if issue["key"] == STRIPPED:
            del issue["fields"]["project"]
    export = tmp_path / "search.json"
    export.write_text(json.dumps(search), encoding="utf-8")
    report = baton_json("replay", str(export), "--db", db_url, "--config", str(config), "--format", "json")
    return db_url, config, report


def test_replay_summary_counts_issues_matching_no_process(
    loaded: tuple[str, Path, dict[str, object]], tmp_path: Path
) -> None:
    db_url, config, report = loaded
    assert report["issues"] == 33
    assert report["unmatched_issues"] == EXPECTED
    # the table summary says it too, with the examples
    export = tmp_path / "search.json"
    table = baton("replay", str(export), "--db", db_url, "--config", str(config), "--quiet")
    assert table.exit_code == 0, table.output
    assert (
        "matching no process (no requests)" in table.stdout
        and "issues matching no process (5)" in table.stdout
    )
    assert "no process lists the project" in table.stdout and "K5-2 K5-3" in table.stdout


def test_read_commands_warn_on_stderr(loaded: tuple[str, Path, dict[str, object]]) -> None:
    db_url, config, _ = loaded
    for command in ("requests", "score"):
        result = baton(command, "--db", db_url, "--config", str(config), "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)  # EE's measured issues still give requests and scores
        assert result.stderr.splitlines() == [WARNING + "; `baton handoffs --report unmatched` lists them"], (
            result.stderr
        )


def test_handoffs_report_issues_matching_no_process(loaded: tuple[str, Path, dict[str, object]]) -> None:
    db_url, config, _ = loaded
    common = ("--db", db_url, "--config", str(config))
    both = baton_json("handoffs", *common, "--format", "json")
    assert set(both) == {"matrix", "unmapped", "unmatched_issues"}
    assert both["unmatched_issues"] == EXPECTED
    assert baton_json("handoffs", *common, "--format", "json", "--report", "unmatched") == EXPECTED_ROWS

    as_csv = baton("handoffs", *common, "--format", "csv", "--report", "unmatched")
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["project", "issue_type", "reason", "count", "examples"]
    assert rows[1:] == [
        ["K5", "Story", "project", "2", "K5-2 K5-3"],
        ["EE", "Test Execution", "issue_type", "1", "EE-37"],
        ["K5", "Epic", "project", "1", "K5-4"],
        ["", "故事", "no_project", "1", "EE-1"],
    ]

    table = baton("handoffs", *common)
    assert table.exit_code == 0, table.output
    assert "issues matching no process (4)" in table.stdout  # four groups, five issues
    for text in ("Test Execution", "issue_type", "EE-37", "no_project"):
        assert text in table.stdout


def test_nothing_unmatched_means_no_warning_and_no_table(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "devlake.yaml"
    config.write_text(DEVLAKE_EE_CONFIG.replace("projects: [EE]", "projects: [EE, K5]"), encoding="utf-8")
    export = tmp_path / "search.json"
    export.write_text(json.dumps(devlake_search_response()), encoding="utf-8")
    report = baton_json("replay", str(export), "--db", db_url, "--config", str(config), "--format", "json")
    assert report["unmatched_issues"] == {"total": 0, "rows": []}
    result = baton("score", "--db", db_url, "--config", str(config))
    assert result.exit_code == 0 and result.stderr == ""
    handoffs = baton("handoffs", "--db", db_url, "--config", str(config))
    assert "matching no process" not in handoffs.stdout
