"""`baton.config.checks`: the warnings tier, statuses never seen in the log, statuses a Jira site lacks."""

from __future__ import annotations

from baton.config import load_config_text
from baton.config.checks import (
    SiteStatus,
    config_warnings,
    statuses_missing_on_site,
    unseen_statuses,
)
from baton.config.ownership import keys_of

TEXT = """
version: 1
calendars: {always: 24x7}
teams:
  dev: {calendar: always, statuses: {active: ["In Development"]}}
  qa: {calendar: always, statuses: {queue: ["Ready for QA"], active: ["In QA"]}}
  finance: {calendar: always, statuses: {queue: ["Ready for Paymnet"], active: [{id: "10100"}]}}
processes:
  delivery:
    match: {projects: [PROJ]}
    stages: [dev, qa]
    done: ["Done"]
    sla:
      - {provider: qa, response: 4h}
  billing:
    match: {projects: [BILL]}
    handoffs: [{from: qa, to: finance}]
    pause: ["blocked"]
    sla:
      - {provider: finance, resolution: 8h}
"""
CONFIG = load_config_text(TEXT)


def _line(path: tuple[str | int, ...]) -> int:
    return len(path)  # a stand-in locator: the tests check that paths are handed to it


def test_warnings_team_without_sla_row_and_process_without_done() -> None:
    got = [(p.dotted_path, p.line, p.message) for p in config_warnings(CONFIG, _line)]
    assert got == [
        (
            "processes.delivery.stages[0]",
            4,
            "team 'dev' has no SLA row in process 'delivery': its work there is not clocked against a goal, "
            "only its quality is scored; add `- {provider: dev, response: ..., resolution: ...}` to `sla` if "
            "it should be",
        ),
        (
            "processes.billing.handoffs[0].from",
            5,
            "team 'qa' has no SLA row in process 'billing': its work there is not clocked against a goal, "
            "only its quality is scored; add `- {provider: qa, response: ..., resolution: ...}` to `sla` if "
            "it should be",
        ),
        (
            "processes.billing",
            2,
            "process 'billing' names no `done` status: work is finished only by statuses in Jira's done "
            "category (as stored from Jira); list them in `done: [...]` to be explicit",
        ),
    ]


def test_statuses_never_seen_in_the_log() -> None:
    seen = {k for s in ("In Development", "ready for qa", "In QA", "Done") for k in keys_of(None, s)}
    got = [(p.dotted_path, p.message) for p in unseen_statuses(CONFIG, seen, "acme")]
    assert got == [
        ("teams.finance.statuses.queue[0]", "status 'Ready for Paymnet' was never seen in the stored log of site 'acme'"),
        ("teams.finance.statuses.active[0]", "status id 10100 was never seen in the stored log of site 'acme'"),
        ("processes.billing.pause[0]", "status 'blocked' was never seen in the stored log of site 'acme'"),
    ]  # fmt: skip
    (empty,) = unseen_statuses(CONFIG, set(), "acme")
    assert empty.path == () and "holds no transition" in empty.message


def test_statuses_missing_on_the_site_with_did_you_mean() -> None:
    site = [
        SiteStatus("1", "In Development"),
        SiteStatus("2", "READY FOR QA"),
        SiteStatus("3", "In QA"),
        SiteStatus("4", "Ready for Payment"),
        SiteStatus("10100", "Paying"),
        SiteStatus("6", "Done"),
    ]
    got = [(p.dotted_path, p.message) for p in statuses_missing_on_site(CONFIG, site, "acme")]
    assert got == [
        ("teams.finance.statuses.queue[0]",
         "status 'Ready for Paymnet' does not exist on Jira site 'acme'; did you mean 'Ready for Payment'?"),
        ("processes.billing.pause[0]", "status 'blocked' does not exist on Jira site 'acme'"),
    ]  # fmt: skip
    without_id = [s for s in site if s.status_id != "10100"]
    paths = [p.dotted_path for p in statuses_missing_on_site(CONFIG, without_id, "acme")]
    assert "teams.finance.statuses.active[0]" in paths
