"""baton.sla issue properties: contract-valid PUTs, only for issues whose SLA state changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd

from baton.config.loader import load_config
from baton.connector.backfill import Backfill, BackfillOptions
from baton.connector.ledger import MemoryLedger
from baton.connector.writeback import MAX_PROPERTY_CHARS, PROPERTY_KEY, sla_documents, writeback
from baton.scoring.engine import derive_requests, evaluate_clocks, live_clocks
from baton.scoring.model import ISSUE_COLUMNS, TRANSITION_COLUMNS
from tests.contract.connector.conftest import JiraMock
from tests.contract.connector.standin import generate_issues

CONFIG = load_config("config/examples/delivery.yaml")


def _requests(ledger: MemoryLedger) -> pd.DataFrame:
    transitions = pd.DataFrame(
        [{c: getattr(t, c) for c in TRANSITION_COLUMNS} for t in ledger.transitions.values()],
        columns=list(TRANSITION_COLUMNS),
    )
    transitions["at"] = pd.to_datetime(transitions["at"], utc=True)
    issues = pd.DataFrame(
        [{c: getattr(f, c) for c in ISSUE_COLUMNS} for f in ledger.issues.values()],
        columns=list(ISSUE_COLUMNS),
    )
    return derive_requests(transitions, issues, CONFIG)


def test_writes_only_changed_sla_states(jira: JiraMock) -> None:
    jira.standin.add_issues(generate_issues(40, seed=4))
    ledger = MemoryLedger()
    Backfill(jira.client(), ledger, CONFIG, BackfillOptions(page_size=50)).run()
    requests = _requests(ledger)
    assert not requests.empty
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)

    first = writeback(jira.client(), ledger, CONFIG, requests, now, concurrency=3)
    issues_with_requests = requests["issue_id"].nunique()
    assert first.written == issues_with_requests and not first.failed
    puts = jira.calls("PUT", "/rest/api/3/issue/")
    assert len(puts) == issues_with_requests
    for _, path, body in puts:
        assert path.endswith(f"/properties/{PROPERTY_KEY}")
        assert len(json.dumps(body)) < MAX_PROPERTY_CHARS
        assert body["state"] in {"running", "at_risk", "breached", "met", "none", "closed"}
        assert {"provider", "process", "due", "clocks", "request"} <= set(body)

    # Same instant again: nothing changed, nothing written.
    again = writeback(jira.client(), ledger, CONFIG, requests, now)
    assert again.written == 0 and again.unchanged == issues_with_requests
    assert len(jira.calls("PUT", "/rest/api/3/issue/")) == issues_with_requests

    # A week later open clocks have moved on (at risk, breached): only those issues are written.
    later = writeback(jira.client(), ledger, CONFIG, requests, now + timedelta(days=7))
    open_issues = requests[requests["resolved_at"].isna()]["issue_id"].nunique()
    assert 0 < later.written <= open_issues
    stored = jira.standin.issue_properties
    assert all(key == PROPERTY_KEY for _, key in stored)


def test_document_shape_for_an_open_request(jira: JiraMock) -> None:
    jira.standin.add_issues(generate_issues(12, seed=9))
    ledger = MemoryLedger()
    Backfill(jira.client(), ledger, CONFIG, BackfillOptions(page_size=50)).run()
    requests = _requests(ledger)
    writeback(jira.client(), ledger, CONFIG, requests, datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    docs = [v for (issue, _), v in jira.standin.issue_properties.items()]
    open_docs = [d for d in docs if d["open"]]
    assert open_docs, "some requests are still open on Tuesday morning"
    for doc in open_docs:
        assert doc["provider"] in CONFIG.teams
        if doc["clocks"]["resolution"]["goalSeconds"] and not doc["paused"] and doc["state"] != "breached":
            assert doc["due"] and doc["due"].endswith("Z")
        assert "elapsedSeconds" not in doc["clocks"]["resolution"]  # running clocks carry no moving numbers


def test_due_time_is_the_one_the_api_and_cli_print(jira: JiraMock) -> None:
    """Write-back's `due` is `baton.scoring.engine.live_clocks`' `due_at` (to the second) for every
    running resolution clock: one due-time rule, computed in scoring/."""
    jira.standin.add_issues(generate_issues(12, seed=9))
    ledger = MemoryLedger()
    Backfill(jira.client(), ledger, CONFIG, BackfillOptions(page_size=50)).run()
    now = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    evaluated = evaluate_clocks(_requests(ledger), CONFIG, now)
    docs = sla_documents(evaluated, CONFIG, now)
    live = live_clocks(evaluated, CONFIG, now)
    running = live[
        live["resolved_at"].isna()
        & live["resolution_goal_s"].notna()
        & ~live["paused"].astype(bool)
        & (live["remaining_s"] > 0)
    ]
    assert len(running) > 0
    for _, row in running.iterrows():
        expected = row["due_at"].round("s").isoformat().replace("+00:00", "Z")
        assert docs[str(row["issue_id"])]["due"] == expected


SEARCHABLE = ("state", "provider", "requester", "process", "due", "breached", "elapsedRatio", "rejections")
"""The `baton.sla` fields the Forge app indexes for JQL (plugin/manifest.yml)."""


def test_an_hour_without_transitions_rewrites_only_what_jql_can_tell_apart(jira: JiraMock) -> None:
    """Issue 16 item 9: open clocks without a goal carried a growing elapsedSeconds and long-breached
    clocks a rising elapsedRatio, so documents were rewritten although nothing searchable changed."""
    jira.standin.add_issues(generate_issues(60, seed=11))
    ledger = MemoryLedger()
    Backfill(jira.client(), ledger, CONFIG, BackfillOptions(page_size=50)).run()
    requests = _requests(ledger)
    start = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday: working time passes in Berlin
    writeback(jira.client(), ledger, CONFIG, requests, start)
    before = {issue: dict(doc) for (issue, _), doc in jira.standin.issue_properties.items()}
    puts_before = len(jira.calls("PUT", "/rest/api/3/issue/"))

    later = writeback(jira.client(), ledger, CONFIG, requests, start + timedelta(hours=1))
    after = {issue: doc for (issue, _), doc in jira.standin.issue_properties.items()}
    rewritten = [issue for issue in after if after[issue] != before[issue]]
    assert later.written == len(rewritten) == len(jira.calls("PUT", "/rest/api/3/issue/")) - puts_before
    for issue in rewritten:
        searchable_before = {field: before[issue].get(field) for field in SEARCHABLE}
        searchable_after = {field: after[issue].get(field) for field in SEARCHABLE}
        clock_states = [
            (c, after[issue]["clocks"][c]["state"], before[issue]["clocks"][c]["state"])
            for c in after[issue]["clocks"]
        ]
        assert searchable_after != searchable_before or any(a != b for _, a, b in clock_states), issue

    # and with the clocks standing still (Saturday, no working time): not one PUT
    weekend = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
    writeback(jira.client(), ledger, CONFIG, requests, weekend)
    puts = len(jira.calls("PUT", "/rest/api/3/issue/"))
    quiet = writeback(jira.client(), ledger, CONFIG, requests, weekend + timedelta(hours=1))
    assert quiet.written == 0 and len(jira.calls("PUT", "/rest/api/3/issue/")) == puts


def test_awaiting_verdict_and_last_verdict() -> None:
    """`awaitingVerdict` lists the teams whose verdict is awaited (one JQL filter:
    `batonAwaitingVerdict = ops`); `lastVerdict` is the latest explicit verdict."""
    from tests.unit.oracle.histories import issue_frame, transition_frame
    from tests.unit.oracle.worked_example import ACCEPT_D2, FACTS, REJECT_Q2, TRANSITIONS, berlin

    transitions, issues = transition_frame(TRANSITIONS[:7]), issue_frame([FACTS])  # up to Q2's delivery
    now = berlin(5, 9)
    plain = evaluate_clocks(derive_requests(transitions, issues, CONFIG), CONFIG, now)
    doc = sla_documents(plain, CONFIG, now)[FACTS.issue_id]
    assert (doc["awaitingVerdict"], doc["lastVerdict"]) == (["ops", "qa"], None)  # D2 by qa, Q2 by ops
    judged = derive_requests(transitions, issues, CONFIG, None, [ACCEPT_D2])
    doc = sla_documents(evaluate_clocks(judged, CONFIG, now), CONFIG, now)[FACTS.issue_id]
    assert doc["awaitingVerdict"] == ["ops"]
    assert doc["lastVerdict"] == {
        "verdict": "accepted", "team": "qa", "provider": "dev", "at": "2026-03-04T09:00:00Z", "rating": 4,
        "reason": None,
    }  # fmt: skip
    friday = berlin(6, 10)
    rejected = derive_requests(transitions, issues, CONFIG, None, [ACCEPT_D2, REJECT_Q2])
    doc = sla_documents(evaluate_clocks(rejected, CONFIG, friday), CONFIG, friday)[FACTS.issue_id]
    assert doc["awaitingVerdict"] == []
    assert (doc["lastVerdict"]["verdict"], doc["lastVerdict"]["reason"]) == ("rejected", "incomplete")
    late = berlin(20, 10)  # D2's and Q2's windows have ended
    doc = sla_documents(evaluate_clocks(plain, CONFIG, late), CONFIG, late)[FACTS.issue_id]
    assert doc["awaitingVerdict"] == []
