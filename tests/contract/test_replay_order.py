"""The same recorded documents, in any order, give identical transitions and requests.

Documents: real DevLake issues with their changelogs, the same issues as a search without
`expand=changelog` returns them (no changelog), and Mattermost's recorded webhooks for TES-41. They go
through `iter_documents` into a `MemoryLedger`, which keeps the first copy of a change id as the store
does, and the engine derives requests from what was kept.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.config.loader import load_config_text
from baton.connector.ledger import Checkpoint, MemoryLedger
from baton.scoring.engine import derive_requests
from baton.scoring.extract import iter_documents
from baton.scoring.model import ISSUE_COLUMNS, TRANSITION_COLUMNS
from tests.recorded import DEVLAKE_EE_CONFIG, WEBHOOKS, devlake_issues

CONFIG = load_config_text(DEVLAKE_EE_CONFIG)
# EE-1 (triaged in Inbox), EE-14 (a return Resolved -> To Do), EE-23 (nine changes, two "To Do" ids)
# and K5-4 (a history that never touched the status).
KEYS = ("EE-1", "EE-14", "EE-23", "K5-4")
MATTERMOST = [
    "webhook-issue-created.json",
    "webhook-issue-updated-started-working.json",
    "webhook-issue-updated-resolved.json",
    "webhook-issue-updated-reopened.json",
    "webhook-issue-updated-assigned.json",  # no status change
]


def _documents() -> list[Any]:
    with_changelog = [i for i in devlake_issues() if i["key"] in KEYS]
    without_changelog = [{k: v for k, v in i.items() if k != "changelog"} for i in with_changelog]
    webhooks = [
        json.loads((WEBHOOKS / "mattermost-plugin-jira" / name).read_text(encoding="utf-8"))
        for name in MATTERMOST
    ]
    return with_changelog + without_changelog + webhooks


DOCUMENTS = _documents()


def _replay(order: list[int]) -> tuple[dict[Any, Any], pd.DataFrame]:
    ledger = MemoryLedger()
    for index in order:
        ledger.commit_page("site", "replay", list(iter_documents(DOCUMENTS[index])), Checkpoint())
    transitions = pd.DataFrame(
        [{c: getattr(t, c) for c in TRANSITION_COLUMNS} for t in ledger.transitions.values()]
    )
    transitions["at"] = pd.to_datetime(transitions["at"], utc=True)
    issues = pd.DataFrame([{c: getattr(f, c) for c in ISSUE_COLUMNS} for f in ledger.issues.values()])
    requests = derive_requests(transitions, issues, CONFIG)
    requests = requests.sort_values(["issue_id", "seq"]).reset_index(drop=True)
    return dict(ledger.transitions), requests


REFERENCE_TRANSITIONS, REFERENCE_REQUESTS = _replay(list(range(len(DOCUMENTS))))


def test_the_reference_replay_holds_the_real_histories() -> None:
    firsts = {t.issue_key: t.to_name for t in REFERENCE_TRANSITIONS.values() if t.change_id == "created"}
    assert firsts == {"EE-1": "Inbox", "EE-14": "To Do", "EE-23": "Open", "K5-4": "To Do", "TES-41": "To Do"}
    assert len(REFERENCE_TRANSITIONS) == 6 + 7 + 10 + 1 + 4  # creations included
    assert sorted(REFERENCE_REQUESTS["issue_id"].unique()) == ["10063", "10076", "10085"]


@settings(max_examples=40, deadline=None)
@given(st.permutations(list(range(len(DOCUMENTS)))))
def test_same_documents_in_any_order_give_identical_transitions_and_requests(order: list[int]) -> None:
    transitions, requests = _replay(order)
    assert transitions == REFERENCE_TRANSITIONS
    pd.testing.assert_frame_equal(requests, REFERENCE_REQUESTS)


def test_documents_without_changelog_first_change_nothing() -> None:
    """The case that went wrong: every issue's search copy (no changelog) replayed before its history."""
    half = len(KEYS)
    order = [*range(half, 2 * half), *range(half), *range(2 * half, len(DOCUMENTS))]
    transitions, requests = _replay(order)
    assert transitions == REFERENCE_TRANSITIONS
    pd.testing.assert_frame_equal(requests, REFERENCE_REQUESTS)
