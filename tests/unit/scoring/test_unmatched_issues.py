"""`engine.unmatched_issues`: which issues match no process, why, counted per project and issue type."""

from __future__ import annotations

import pandas as pd

from baton.config import load_config_text
from baton.scoring import engine

CONFIG = load_config_text(
    """
version: 1
calendars: {always: 24x7}
teams:
  dev: {calendar: always, statuses: {active: ["In Development"]}}
processes:
  bugs:
    match: {projects: [APP], issue_types: [Bug]}
    stages: [dev]
  web:
    match: {projects: [web]}
    stages: [dev]
"""
)


def _issues(rows: list[tuple[str, str | None, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["issue_id", "issue_key", "project", "issue_type"], dtype=object)


def test_reasons_counts_and_examples_oldest_first() -> None:
    issues = _issues(
        [
            ("120", "APP-20", "APP", "Story"),
            ("99", "APP-3", "APP", "Story"),
            ("100", "APP-4", "app", "bug"),  # matches: names compare case-insensitively
            ("101", "WEB-1", "WEB", None),  # web takes every type
            ("102", None, None, "Bug"),  # no key: the id is the example
            ("103", "OPS-1", "OPS", "Bug"),
            ("104", "OPS-2", "OPS", "Bug"),
            ("105", "OPS-3", "OPS", "Bug"),
            ("106", "OPS-4", "OPS", "Bug"),
            ("107", "APP-9", "APP", None),
        ]
    )
    got = engine.unmatched_issues(issues, CONFIG)
    assert got.to_dict("records") == [
        {"project": "OPS", "issue_type": "Bug", "reason": "project", "count": 4,
         "examples": ["OPS-1", "OPS-2", "OPS-3"]},
        {"project": "APP", "issue_type": "Story", "reason": "issue_type", "count": 2,
         "examples": ["APP-3", "APP-20"]},
        {"project": "APP", "issue_type": None, "reason": "issue_type", "count": 1, "examples": ["APP-9"]},
        {"project": None, "issue_type": "Bug", "reason": "no_project", "count": 1, "examples": ["102"]},
    ]  # fmt: skip


def test_grouped_counts_and_empty_frames() -> None:
    grouped = pd.DataFrame(
        {"project": ["OPS", "APP", None], "issue_type": ["Bug", "Bug", "Task"], "count": [7, 5, 2]},
        dtype=object,
    )
    got = engine.unmatched_issues(grouped, CONFIG)
    assert got[["project", "reason", "count"]].values.tolist() == [
        ["OPS", "project", 7],
        [None, "no_project", 2],
    ]
    assert got["examples"].tolist() == [[], []]
    assert engine.unmatched_issues(_issues([]), CONFIG).empty
    assert engine.unmatched_issues(_issues([("1", "APP-1", "APP", "Bug")]), CONFIG).empty
