"""The processing pipeline on real databases with real recorded Jira deliveries.

Payloads: tests/fixtures/jira-webhooks/mattermost-plugin-jira (issue TES-41 is created into
"To Do", started ("In Progress"), resolved ("Done") and reopened ("To Do"), then commented and
re-prioritised). Config: triage owns "To Do" (queue), dev owns "In Progress" (active).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from baton.config.loader import fingerprint, load_config
from baton.config.schema import BatonConfig
from baton.scoring.model import CREATION_CHANGE_ID, Extraction, IssueFacts, Transition
from baton.store import inbox, pipeline
from baton.store.models import Delivery, Site, TransitionRow
from baton.store.requests import load_requests_frame
from baton.store.transitions import load_transitions_frame
from tests.recorded import WEBHOOKS

REPO = Path(__file__).resolve().parents[3]
MATTERMOST = WEBHOOKS / "mattermost-plugin-jira"
ZULIP = WEBHOOKS / "zulip"
LIFECYCLE = [
    "webhook-issue-created.json",
    "webhook-issue-updated-started-working.json",
    "webhook-issue-updated-resolved.json",
    "webhook-issue-updated-reopened.json",
]


def _config(dev_resolution: str = "4h") -> BatonConfig:
    return BatonConfig.model_validate(
        {
            "calendars": {"always": "24x7"},
            "teams": {
                "triage": {"calendar": "always", "statuses": {"queue": ["To Do"]}},
                "dev": {"calendar": "always", "statuses": {"active": ["In Progress"]}},
            },
            "processes": {
                "support": {
                    "match": {"projects": ["TES"]},
                    "stages": ["triage", "dev"],
                    "done": ["Done"],
                    "sla": [{"provider": "dev", "response": "1h", "resolution": dev_resolution}],
                }
            },
        }
    )


def _accept_file(session: Session, site: str, path: Path, key: str | None = None) -> int:
    body = path.read_bytes()
    return inbox.accept_delivery(
        session,
        site,
        body=body,
        headers={"Content-Type": "application/json"},
        idempotency_key=key or path.name,
    ).delivery_id


def _signature(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    cols = [
        "issue_id",
        "seq",
        "provider",
        "requester",
        "kind",
        "outcome",
        "rejected",
        "opened_at",
        "resolved_at",
    ]
    return [tuple(row) for row in frame[cols].itertuples(index=False, name=None)]


def test_recorded_lifecycle_through_the_inbox(engine: Engine, session: Session, site: str) -> None:
    ids = [_accept_file(session, site, MATTERMOST / name) for name in LIFECYCLE]
    summary = pipeline.process_pending(engine, _config(), worker_id="t")
    assert (summary.claimed, summary.done, summary.ignored, summary.failed) == (4, 4, 0, 0)
    states = {d.id: d.state for d in inbox.list_deliveries(session)}
    assert states == dict.fromkeys(ids, "done")
    log = load_transitions_frame(session, site)
    assert list(log["change_id"]) == [CREATION_CHANGE_ID, "10227", "10228", "10229"]
    assert list(log["to_name"]) == ["To Do", "In Progress", "Done", "To Do"]
    stored = session.execute(
        select(TransitionRow.change_id, TransitionRow.delivery_id).order_by(TransitionRow.at)
    )
    assert [d for _, d in stored] == ids  # every transition remembers the delivery that brought it
    requests = load_requests_frame(session, site)
    assert [(r[2], r[3], r[4], r[5], r[6]) for r in _signature(requests)] == [
        ("triage", None, "new", "delivered", True),  # intake; rejected when the issue was reopened
        ("dev", "triage", "new", "delivered", False),
        ("triage", "done", "rework", None, False),  # reopened from Done: rework, still open
    ]
    assert requests.loc[1, "resolution_goal_s"] == 4 * 3600
    assert requests.loc[1, "resolved_at"] == pd.Timestamp("2019-02-16T03:15:40.507Z")


def test_out_of_order_and_duplicate_deliveries_converge(engine: Engine, session: Session, site: str) -> None:
    in_order = "in-order"
    for name in LIFECYCLE:
        _accept_file(session, in_order, MATTERMOST / name)
    for name in reversed(LIFECYCLE):
        _accept_file(session, site, MATTERMOST / name)
    # Jira retries a delivery (same identifier: stored once) and a proxy replays one under a new id.
    assert inbox.accept_delivery(session, site, body=b"{}", idempotency_key=LIFECYCLE[1]).duplicate
    replayed = _accept_file(session, site, MATTERMOST / LIFECYCLE[2], key="another-id")
    summary = pipeline.process_pending(engine, _config(), batch_size=3)
    assert summary.claimed == 9 and summary.failed == 0
    again = session.execute(select(Delivery.state).where(Delivery.id == replayed)).scalar_one()
    assert again == "done"
    assert (
        session.execute(
            select(func.count()).select_from(TransitionRow).where(TransitionRow.site_id == site)
        ).scalar()
        == 4
    )
    expected = _signature(load_requests_frame(session, in_order))
    assert _signature(load_requests_frame(session, site)) == expected


def test_event_without_status_change_is_ignored_but_updates_facts(
    engine: Engine, session: Session, site: str
) -> None:
    for name in LIFECYCLE:
        _accept_file(session, site, MATTERMOST / name)
    comment = _accept_file(session, site, MATTERMOST / "webhook-cloud-comment-created.json")
    priority = _accept_file(session, site, MATTERMOST / "webhook-issue-updated-lowered-priority.json")
    summary = pipeline.process_pending(engine, _config())
    assert (summary.done, summary.ignored, summary.failed) == (4, 2, 0)
    row = inbox.get_delivery(session, comment)
    assert row is not None and row.state == "ignored" and "comment_created" in (row.error or "")
    assert inbox.get_delivery(session, priority).state == "ignored"
    # the priority change re-derived the issue's requests although no status changed
    assert set(load_requests_frame(session, site)["priority"]) == {"Low"}


def test_unparseable_deliveries_fail_with_their_error_and_lose_nothing(
    engine: Engine, session: Session, site: str
) -> None:
    broken = inbox.accept_delivery(
        session, site, body=b'{"webhookEvent": ', idempotency_key="broken"
    ).delivery_id
    alien = _accept_file(session, site, ZULIP / "example_anomalous_payload.json")
    summary = pipeline.process_pending(engine, _config())
    assert (summary.claimed, summary.failed) == (2, 2)
    failed = {d.id: d for d in inbox.list_deliveries(session, "failed")}
    assert failed[broken].error.startswith("JSONDecodeError")
    assert failed[alien].error.startswith("UnsupportedPayload")
    assert failed[broken].body == b'{"webhookEvent": '  # the raw bytes are kept for inspection
    assert load_transitions_frame(session, site).empty


def test_a_failed_derivation_fails_the_delivery_and_its_retry_derives_the_recorded_log(
    engine: Engine, session: Session, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log is recorded in a transaction of its own (derivation runs outside the write lock), so
    a derivation that fails leaves the transitions recorded, no request, and the delivery `failed`;
    its retry finds nothing new in the log and must still derive the issue."""
    delivery = _accept_file(session, site, MATTERMOST / LIFECYCLE[0])

    def explode(*args: object, **kwargs: object) -> pd.DataFrame:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(pipeline, "_derive", explode)
    outcome = pipeline.process_delivery(session, delivery, _config())
    assert outcome.state == "failed" and outcome.error == "RuntimeError: engine exploded"
    assert len(load_transitions_frame(session, site)) == 1  # a fact from Jira, kept
    assert load_requests_frame(session, site).empty
    row = inbox.get_delivery(session, delivery)
    assert row is not None and row.state == "failed" and row.attempts == 1

    monkeypatch.undo()
    assert inbox.retry(session, all_failed=True) == [delivery]
    session.commit()
    assert pipeline.process_pending(engine, _config()).done == 1
    assert len(load_transitions_frame(session, site)) == 1
    assert len(load_requests_frame(session, site)) == 1


def test_processing_a_done_delivery_again_changes_nothing(
    engine: Engine, session: Session, site: str
) -> None:
    delivery = _accept_file(session, site, MATTERMOST / LIFECYCLE[0])
    assert pipeline.process_delivery(session, delivery, _config()).state == "done"
    again = pipeline.process_delivery(session, delivery, _config())
    assert again.state == "done" and again.inserted == 0
    with pytest.raises(LookupError):
        pipeline.process_delivery(session, 999_999, _config())


def test_without_config_the_log_is_kept_and_derived_later(
    engine: Engine, session: Session, site: str
) -> None:
    for name in LIFECYCLE:
        _accept_file(session, site, MATTERMOST / name)
    assert pipeline.process_pending(engine, None).done == 4
    assert len(load_transitions_frame(session, site)) == 4
    assert load_requests_frame(session, site).empty
    assert pipeline.stale_sites(session, _config()) == [site]
    assert pipeline.sync_config(session, _config()) == [site]
    assert len(load_requests_frame(session, site)) == 3
    stored = session.execute(select(Site.config_fingerprint).where(Site.id == site)).scalar_one()
    assert stored == fingerprint(_config())
    assert pipeline.sync_config(session, _config()) == []  # up to date: nothing to do


def test_a_config_change_rederives_the_site(engine: Engine, session: Session, site: str) -> None:
    for name in LIFECYCLE:
        _accept_file(session, site, MATTERMOST / name)
    pipeline.process_pending(engine, _config("4h"))
    pipeline.sync_config(session, _config("4h"))
    new = _config("8h")
    assert pipeline.stale_sites(session, new) == [site]
    result = pipeline.rederive_site(session, site, new, chunk_size=1, commit=True)
    assert (result.issues, result.requests) == (1, 3)
    dev = load_requests_frame(session, site, provider="dev")
    assert list(dev["resolution_goal_s"]) == [8 * 3600]
    assert pipeline.stale_sites(session, new) == []


def _worked_example() -> list[Extraction]:
    """PROJ-1 of the worked example (docs/semantics.md) (Europe/Berlin = UTC+1 in March 2026), as backfill would see it."""
    steps = [
        ("2026-03-02T10:00", "To Do", "In Development"),
        ("2026-03-02T11:00", "In Development", "Ready for QA"),
        ("2026-03-02T16:00", "Ready for QA", "In QA"),
        ("2026-03-03T11:00", "In QA", "In Development"),
        ("2026-03-03T16:00", "In Development", "Ready for QA"),
        ("2026-03-04T09:30", "Ready for QA", "In QA"),
        ("2026-03-04T12:00", "In QA", "Ready to Deploy"),
        ("2026-03-06T10:00", "Ready to Deploy", "Deploying"),
        ("2026-03-06T11:00", "Deploying", "Done"),
    ]
    berlin = datetime.fromisoformat
    transitions = tuple(
        Transition(
            issue_id="10001",
            at=(berlin(at) - timedelta(hours=1)).replace(tzinfo=UTC),
            from_id=None,
            from_name=frm,
            to_id=None,
            to_name=to,
            change_id=str(1000 + n),
            issue_key="PROJ-1",
        )
        for n, (at, frm, to) in enumerate(steps)
    )
    facts = IssueFacts("10001", "PROJ-1", "PROJ", "Story", "Medium")
    # a backfill page may split an issue's history: two extractions, one overlapping the other
    return [
        Extraction("backfill", transitions[:5], facts),
        Extraction("backfill", transitions[3:], facts),
    ]


def test_backfill_ingest_of_the_worked_example(session: Session) -> None:
    config = load_config(REPO / "config" / "examples" / "delivery.yaml")
    result = pipeline.ingest_extractions(session, "worked", _worked_example(), "backfill", config)
    session.commit()
    assert (result.inserted, result.duplicates, result.rederived) == (9, 2, ("10001",))
    requests = load_requests_frame(session, "worked")
    got = [(r.provider, r.kind, r.outcome, bool(r.rejected)) for r in requests.itertuples()]
    assert got == [
        ("dev", "new", "delivered", True),  # D1, rejected by QA's return
        ("qa", "new", "returned", False),  # Q1
        ("dev", "rework", "delivered", False),  # D2
        ("qa", "new", "delivered", False),  # Q2
        ("ops", "new", "delivered", False),  # O1
    ]
    hours = requests["resolution_elapsed_s"] / 3600
    assert list(hours[requests["provider"] == "qa"]) == [8.0, 4.0]
    assert list(hours[requests["provider"] == "ops"]) == [15.0]
    assert result.requests == 5
    again = pipeline.ingest_extractions(session, "worked", _worked_example(), "replay", config)
    assert (again.inserted, again.rederived) == (0, ())


def test_a_bad_delivery_in_a_batch_does_not_hold_up_the_others(
    engine: Engine, session: Session, site: str
) -> None:
    good = [_accept_file(session, site, MATTERMOST / name) for name in LIFECYCLE[:2]]
    bad = inbox.accept_delivery(session, site, body=b"[1, 2", idempotency_key="bad").delivery_id
    outcomes = pipeline.process_deliveries(session, [*good, bad], _config())
    assert [o.state for o in outcomes] == ["done", "done", "failed"]
    assert outcomes[0].inserted == 1 and outcomes[2].error.startswith("JSONDecodeError")
    assert len(load_transitions_frame(session, site)) == 2


def test_a_failing_batch_falls_back_to_one_transaction_per_delivery(
    engine: Engine, session: Session, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [_accept_file(session, site, MATTERMOST / name) for name in LIFECYCLE]
    real = pipeline.record_many

    def only_alone(session: Session, site_id: str, items):  # type: ignore[no-untyped-def]
        if len(items) > 1:
            raise RuntimeError("batch trouble")
        return real(session, site_id, items)

    monkeypatch.setattr(pipeline, "record_many", only_alone)
    summary = pipeline.process_pending(engine, _config(), batch_size=10)
    assert (summary.claimed, summary.done, summary.failed) == (4, 4, 0)
    assert [d.state for d in inbox.list_deliveries(session)] == ["done"] * len(ids)
    assert len(load_requests_frame(session, site)) == 3


def test_batches_and_single_transactions_agree(engine: Engine, session: Session) -> None:
    names = [*LIFECYCLE, "webhook-cloud-comment-created.json", "webhook-issue-updated-lowered-priority.json"]
    for name in names:
        _accept_file(session, "batched", MATTERMOST / name)
        _accept_file(session, "single", MATTERMOST / name)
    pipeline.process_pending(engine, _config(), site_id="batched", batch_size=50)
    pipeline.process_pending(engine, _config(), site_id="single", batch_size=1)
    batched = load_requests_frame(session, "batched").drop(columns="site_id")
    single = load_requests_frame(session, "single").drop(columns="site_id")
    pd.testing.assert_frame_equal(batched, single)


def test_rederiving_a_stale_site_logs_its_progress(
    engine: Engine, session: Session, site: str, caplog: pytest.LogCaptureFixture
) -> None:
    for name in LIFECYCLE:
        _accept_file(session, site, MATTERMOST / name)
    pipeline.process_pending(engine, _config("4h"))
    pipeline.sync_config(session, _config("4h"))
    with caplog.at_level("INFO", logger=pipeline.log.name):
        assert pipeline.sync_config(session, _config("8h")) == [site]
    progress = [(r.issues_done, r.issues) for r in caplog.records if r.getMessage() == "re-deriving site"]
    assert progress and set(progress) == {(1, 1)}  # one chunk of one issue (a handler may repeat it)
    assert any(r.getMessage().startswith("re-deriving site: its requests") for r in caplog.records)
