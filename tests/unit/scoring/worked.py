"""docs/semantics.md's worked example, built from YAML text (independent of config/examples/)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from ruamel.yaml import YAML

from baton.config.schema import BatonConfig
from baton.scoring.model import ISSUE_COLUMNS, TRANSITION_COLUMNS

WORKED_YAML = """
version: 1
calendars:
  berlin:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
teams:
  dev: {calendar: berlin, statuses: {active: ["In Development"]}}
  qa:  {calendar: berlin, statuses: {queue: ["Ready for QA"], active: ["In QA"]}}
  ops: {calendar: berlin, statuses: {queue: ["Ready to Deploy"], active: ["Deploying"]}}
  pm:  {calendar: berlin}
processes:
  delivery:
    match: {projects: [PROJ]}
    stages: [dev, qa, ops]
    pause: ["Blocked"]
    done: ["Done"]
    reopen_window: 14d
    customer: pm
    rejection_reasons: [incomplete, defects, undocumented]
    at_risk: 0.75
    sla:
      - {provider: qa, response: 4h, resolution: 16h}
      - {provider: ops, response: 8h, resolution: 24h}
scoring:
  weights: {timeliness: 0.5, quality: 0.5}
  timezone: UTC
"""

BERLIN = ZoneInfo("Europe/Berlin")


def load_config(text: str) -> BatonConfig:
    data = YAML(typ="safe").load(io.StringIO(text))
    return BatonConfig.model_validate(data)


CONFIG = load_config(WORKED_YAML)


def berlin(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A March 2026 instant given in Berlin time, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


STEPS: list[tuple[datetime, str | None, str]] = [
    (berlin(2, 10), "To Do", "In Development"),
    (berlin(2, 11), "In Development", "Ready for QA"),
    (berlin(2, 16), "Ready for QA", "In QA"),
    (berlin(3, 11), "In QA", "In Development"),
    (berlin(3, 16), "In Development", "Ready for QA"),
    (berlin(4, 9, 30), "Ready for QA", "In QA"),
    (berlin(4, 12), "In QA", "Ready to Deploy"),
    (berlin(6, 10), "Ready to Deploy", "Deploying"),
    (berlin(6, 11), "Deploying", "Done"),
]
REOPEN: tuple[datetime, str | None, str] = (berlin(9, 10), "Done", "In Development")


def transitions(steps: list[tuple[datetime, str | None, str]], issue_id: str = "10001") -> pd.DataFrame:
    rows = [
        {
            "issue_id": issue_id,
            "at": at,
            "change_id": str(100 + i),
            "from_id": None,
            "from_name": frm,
            "to_id": None,
            "to_name": to,
            "author": "alice",
        }
        for i, (at, frm, to) in enumerate(steps)
    ]
    frame = pd.DataFrame(rows, columns=list(TRANSITION_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def issues(issue_ids: list[str] | None = None, project: str = "PROJ") -> pd.DataFrame:
    ids = issue_ids or ["10001"]
    return pd.DataFrame(
        [
            {
                "issue_id": i,
                "issue_key": f"PROJ-{n + 1}",
                "project": project,
                "issue_type": "Story",
                "priority": "Medium",
            }
            for n, i in enumerate(ids)
        ],
        columns=list(ISSUE_COLUMNS),
    )
