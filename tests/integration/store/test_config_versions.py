"""Versioned configuration per site, preview and atomic re-derivation (issue 15), on SQLite and PostgreSQL.

The central check: a preview's `after` rows are exactly what `baton score --by process --format json`
prints once the draft is published and applied, on the worked example and on simulated history
(`baton demo load`, scoring/simulate.py); its `before` rows are what it prints before.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from baton.config import ConfigError, fingerprint, load_config_text
from baton.scoring.engine import derivation_plan as engine_plan
from baton.scoring.model import Verdict, VerdictAction
from baton.store import config_versions, pipeline
from baton.store.config_versions import ConfigConflict, ConfigVersionNotFound
from baton.store.live_config import ConfigResolver
from baton.store.models import Base, RequestRow, Site, SiteConfigState, StagedRequestRow
from baton.store.preview import run_preview, stored_under
from baton.store.rederive import apply_pending, apply_version, rederive_staged
from baton.store.requests import load_requests_frame
from baton.store.sqlutil import driver_rows
from baton.store.verdicts import record_verdict
from baton.webhooks.serialize import preview_record
from tests.integration.cli.conftest import baton, baton_json
from tests.integration.store.test_pipeline import _worked_example

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[3]
DELIVERY = (REPO / "config" / "examples" / "delivery.yaml").read_text()
DEMO = (REPO / "config" / "examples" / "demo.yaml").read_text()
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# The worked example without the qa -> ops hand-off: deploying becomes an unmapped hand-off.
DELIVERY_NO_OPS = DELIVERY.replace("stages: [dev, qa, ops]", "handoffs: [{from: dev, to: qa}]").replace(
    "      - {provider: ops, response: 8h, resolution: 24h}\n", ""
)
# The demo with support's dev -> ops hand-off unmapped and a tighter qa goal.
# The worked example with a tighter qa goal (16h -> 8h).
DELIVERY_TIGHT_QA = DELIVERY.replace(
    "{provider: qa, response: 4h, resolution: 16h}", "{provider: qa, response: 4h, resolution: 8h}"
)
DEMO_DRAFT = (
    DEMO.replace("stages: [support, dev, ops]", "stages: [support, dev]")
    .replace("      - {provider: ops, response: 2h, resolution: 8h}\n", "")
    .replace("{provider: qa, response: 4h, resolution: 16h}", "{provider: qa, response: 4h, resolution: 8h}")
)


def _publish(
    session: Session, site: str, text: str, base: int | None, **kw: Any
) -> config_versions.ConfigVersion:
    return config_versions.publish(
        session,
        site,
        text,
        author=kw.get("author", "pmo"),
        comment=kw.get("comment", ""),
        base_version=base,
        now=T0,
    )


def _score(db_url: str, site: str, now: datetime) -> list[dict[str, Any]]:
    """What `baton score --by process --format json` prints for the site (no --config: the site's own)."""
    rows: list[dict[str, Any]] = baton_json(
        "score",
        "--db",
        db_url,
        "--site",
        site,
        "--by",
        "process",
        "--format",
        "json",
        "--now",
        now.isoformat(),
    )
    return rows


def _sides(record: dict[str, Any], side: str) -> list[dict[str, Any]]:
    return [row[side] for row in record["rows"] if row[side] is not None]


def _apply(engine: Engine) -> list[tuple[str, int]]:
    return apply_pending(engine, ConfigResolver(None), worker="test", clock=lambda: T0)


def _cycle(db_url: str, engine: Engine, site: str, live: str, draft: str, now: datetime) -> dict[str, Any]:
    """publish live -> apply -> preview draft -> publish draft -> apply -> rollback -> apply; checks the
    preview against `baton score` at each step and returns the preview."""
    with Session(engine, expire_on_commit=False) as session:
        assert _publish(session, site, live, None).number == 1
    assert _apply(engine) == [(site, 1)]
    before = _score(db_url, site, now)
    with Session(engine, expire_on_commit=False) as session:
        preview = run_preview(
            session, site, live=load_config_text(live), draft=load_config_text(draft), now=now, period="week"
        )
        record = preview_record(preview)
        assert _sides(record, "before") == before
        assert _publish(session, site, draft, 1, comment="draft").number == 2
        assert config_versions.rederive_status(session, site)["state"] == "pending"
    assert _score(db_url, site, now) == before  # nothing moves before the re-derivation swaps
    assert _apply(engine) == [(site, 2)]
    after = _score(db_url, site, now)
    assert _sides(record, "after") == after
    assert after != before
    with Session(engine, expire_on_commit=False) as session:
        assert config_versions.rederive_status(session, site) == {
            "version": 2,
            "state": "done",
            "done_issues": preview.issues,
            "total_issues": preview.issues,
            "error": None,
        }
        back = config_versions.rollback(session, site, 1, author="pmo", now=T0 + timedelta(hours=1))
        assert (back.number, back.yaml_text, back.comment) == (3, live, "rollback to version 1")
    assert _apply(engine) == [(site, 3)]
    assert _score(db_url, site, now) == before
    return record


def test_preview_after_equals_the_published_score_on_the_worked_example(db_url: str, engine: Engine) -> None:
    with Session(engine) as session:
        pipeline.ingest_extractions(
            session, "worked", _worked_example(), "backfill", load_config_text(DELIVERY)
        )
        session.commit()
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    record = _cycle(db_url, engine, "worked", DELIVERY, DELIVERY_NO_OPS, now)
    assert record["handoffs_unmapped"] == [
        {
            "requester": "qa",
            "provider": "ops",
            "from_status": "In QA",
            "to_status": "Ready to Deploy",
            "count": 1,
            "examples": ["PROJ-1"],
        }
    ]
    assert record["handoffs_mapped"] == []
    assert record["changed_requests"] == [
        {  # Q2: what qa hands to ops is no longer a delivery downstream, only a hand-off
            "issue_key": "PROJ-1",
            "issue_id": "10001",
            "opened_at": "2026-03-03T15:00:00+00:00",
            "before": {"kind": "new", "provider": "qa", "requester": "dev", "outcome": "delivered"},
            "after": {"kind": "new", "provider": "qa", "requester": "dev", "outcome": "handed_off"},
        },
        {  # O1 becomes an unmapped hand-off
            "issue_key": "PROJ-1",
            "issue_id": "10001",
            "opened_at": "2026-03-04T11:00:00+00:00",
            "before": {"kind": "new", "provider": "ops", "requester": "qa", "outcome": "delivered"},
            "after": {"kind": "unmapped", "provider": "ops", "requester": "qa", "outcome": "delivered"},
        },
    ]
    assert [(r["team"], r["before"] is not None, r["after"] is not None) for r in record["rows"]] == [
        ("dev", True, True),
        ("ops", True, True),
        ("qa", True, True),
    ]


def test_preview_scores_satisfaction_from_the_ratings_as_baton_score_does(
    db_url: str, engine: Engine
) -> None:
    """Ratings given with accepting verdicts count in the satisfaction of both sides of the preview,
    as in `baton score` before and after publishing."""
    live = load_config_text(DELIVERY)
    with Session(engine) as session:
        pipeline.ingest_extractions(session, "worked", _worked_example(), "backfill", live)
        for team, at, rating in (
            ("qa", datetime(2026, 3, 4, 9, 0, tzinfo=UTC), 4),
            ("ops", datetime(2026, 3, 5, 9, 0, tzinfo=UTC), 5),
        ):
            accepted = Verdict(
                issue_id="10001",
                team=team,
                at=at,
                by=f"{team}-lead",
                action=VerdictAction.ACCEPT,
                rating=rating,
            )
            record_verdict(session, "worked", accepted, ConfigResolver(live), source="cli")
        session.commit()
    record = _cycle(
        db_url, engine, "worked", DELIVERY, DELIVERY_TIGHT_QA, datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    )
    satisfaction = {
        r["team"]: (r["before"]["satisfaction"], r["after"]["satisfaction"]) for r in record["rows"]
    }
    assert satisfaction == {"dev": (0.8, 0.8), "ops": (None, None), "qa": (1.0, 1.0)}


def test_preview_after_equals_the_published_score_on_simulated_history(db_url: str, engine: Engine) -> None:
    baton_json(
        "demo", "load", "--db", db_url, "--site", "demo", "--issues", "60", "--weeks", "4", "--format", "json"
    )
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    record = _cycle(db_url, engine, "demo", DEMO, DEMO_DRAFT, now)
    assert record["handoffs_unmapped"] and not record["handoffs_mapped"]
    assert {(p["requester"], p["provider"]) for p in record["handoffs_unmapped"]} == {
        ("dev", "ops"),
        ("ops", "dev"),
    }
    assert record["changed_total"] > sum(p["count"] for p in record["handoffs_unmapped"])  # + outcomes

    # the way back: previewing the original against the draft maps the same pairs again
    with Session(engine) as session:
        back = preview_record(
            run_preview(
                session, "demo", live=load_config_text(DEMO_DRAFT), draft=load_config_text(DEMO), now=now
            )
        )
    assert [(p["requester"], p["provider"], p["count"]) for p in back["handoffs_mapped"]] == [
        (p["requester"], p["provider"], p["count"]) for p in record["handoffs_unmapped"]
    ]


def test_preview_in_several_processes_equals_one_process(
    db_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    baton_json(
        "demo", "load", "--db", db_url, "--site", "demo", "--issues", "40", "--weeks", "3", "--format", "json"
    )
    live, draft = load_config_text(DEMO), load_config_text(DEMO_DRAFT)
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    records = {}
    with Session(engine) as session, caplog.at_level(logging.INFO, logger="baton.store.preview"):
        for workers, use_stored in ((1, None), (3, None), (3, False), (8, None)):
            caplog.clear()
            result = run_preview(
                session,
                "demo",
                live=live,
                draft=draft,
                now=now,
                chunk_size=7,
                workers=workers,
                use_stored=use_stored,
            )
            records[(workers, use_stored)] = preview_record(result)
            (logged,) = [r for r in caplog.records if r.getMessage() == "previewed a draft configuration"]
            # 40 issues in runs of at least 7: at most 5 processes
            assert logged.__dict__["processes"] == min(workers, 5)
    one = records[(1, None)]
    assert one["changed_total"] > 0 and one["handoffs_unmapped"] and one["issues"] == 40
    for key, record in records.items():
        assert record == one, key


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables
        }


def test_preview_writes_nothing_and_does_not_depend_on_the_chunk_size(db_url: str, engine: Engine) -> None:
    baton_json(
        "demo", "load", "--db", db_url, "--site", "demo", "--issues", "40", "--weeks", "3", "--format", "json"
    )
    live, draft = load_config_text(DEMO), load_config_text(DEMO_DRAFT)
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    stored = _counts(engine)
    with Session(engine) as session:
        whole = run_preview(
            session, "demo", live=live, draft=draft, now=now, period="month", chunk_size=10_000
        )
        small = run_preview(session, "demo", live=live, draft=draft, now=now, period="month", chunk_size=7)
        if engine.dialect.name == "sqlite":  # the reads were memory-mapped; the connection is left as it was
            assert driver_rows(session, "PRAGMA mmap_size") == [(0,)]
    assert _counts(engine) == stored
    assert preview_record(whole) == preview_record(small)
    assert whole.issues == 40 and whole.transitions == stored["transitions"]


def test_two_publishes_from_the_same_base_the_second_conflicts_and_loses_nothing(session: Session) -> None:
    first = _publish(session, "acme", DELIVERY, None)
    mine = DELIVERY.replace("resolution: 16h", "resolution: 12h")
    theirs = DELIVERY.replace("resolution: 16h", "resolution: 20h")
    assert _publish(session, "acme", mine, first.number, author="ann").number == 2
    with pytest.raises(ConfigConflict) as caught:
        _publish(session, "acme", theirs, first.number, author="bob")
    assert (caught.value.latest, caught.value.yaml_text) == (2, theirs)
    assert "version 2 is the latest; nothing was stored" in str(caught.value)
    assert [(v.number, v.author, v.yaml_text) for v in config_versions.history(session, "acme")] == [
        (2, "ann", mine),
        (1, "pmo", DELIVERY),
    ]
    # a first version must say it is one: a stale "no base" is a conflict as well
    with pytest.raises(ConfigConflict):
        _publish(session, "acme", theirs, None)
    # bob retries from the latest and wins
    assert _publish(session, "acme", theirs, 2, author="bob").number == 3


def test_versions_belong_to_one_site(session: Session) -> None:
    _publish(session, "acme", DELIVERY, None)
    _publish(session, "acme", DELIVERY_NO_OPS, 1)
    assert config_versions.latest(session, "other") is None
    with pytest.raises(ConfigVersionNotFound, match="site 'other' has no configuration version 1"):
        config_versions.get(session, "other", 1)
    other = _publish(session, "other", DEMO, None)
    assert other.number == 1 and config_versions.get(session, "acme", 1).yaml_text == DELIVERY
    assert [v.number for v in config_versions.history(session, "acme")] == [2, 1]
    with pytest.raises(ConfigConflict):  # acme's numbering does not let another site's base through
        _publish(session, "other", DEMO, 2)
    with pytest.raises(ConfigVersionNotFound, match=r"it has versions 1-2"):
        config_versions.rollback(session, "acme", 7, author="pmo", now=T0)


def test_an_invalid_configuration_is_refused_with_every_problem_and_not_stored(session: Session) -> None:
    broken = DELIVERY.replace("calendar: berlin", "calendar: nowhere").replace(
        "resolution: 16h", "resolution: 4x"
    )
    with pytest.raises(ConfigError) as caught:
        _publish(session, "acme", broken, None)
    messages = [p.message for p in caught.value.problems]
    teams = DELIVERY.count("calendar: berlin")  # every team's calendar is now unknown
    assert teams == 4 and len(messages) == teams + 1
    assert sum("unknown calendar 'nowhere'" in m for m in messages) == teams
    assert any("'4x' is not a duration" in m for m in messages)
    assert config_versions.history(session, "acme") == []
    with pytest.raises(ConfigError, match="at most 1,000,000 are accepted"):
        _publish(session, "acme", DELIVERY + "#" * 1_000_000, None)


def test_readers_see_the_old_numbers_until_the_swap(db_url: str, engine: Engine) -> None:
    baton_json(
        "demo", "load", "--db", db_url, "--site", "demo", "--issues", "30", "--weeks", "2", "--format", "json"
    )
    old = _frame_rows(engine)
    draft = load_config_text(DEMO_DRAFT)
    seen: list[tuple[int, bool]] = []

    def peek(done: int, total: int) -> None:  # another connection, mid-way through the re-derivation
        with Session(engine) as session:
            staged = int(session.execute(select(func.count()).select_from(StagedRequestRow)).scalar_one())
        seen.append((staged, _frame_rows(engine) == old))

    with Session(engine) as session:
        issues, requests = rederive_staged(session, "demo", draft, chunk_size=7, progress=peek)
    assert issues == 30 and len(seen) == 5  # after each chunk of 7 issues
    assert all(unchanged for _staged, unchanged in seen), seen
    assert 0 < seen[0][0] < seen[-1][0]
    new = _frame_rows(engine)
    assert new != old and len(new) == requests
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(StagedRequestRow)).scalar_one() == 0


def _frame_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        frame = load_requests_frame(session, "demo")
    picked = frame[["issue_id", "seq", "kind", "provider", "resolution_goal_s"]].fillna(
        {"resolution_goal_s": -1.0}
    )
    return [tuple(r) for r in picked.itertuples(index=False)]


WHOLE_HISTORY_WITHOUT_OPS = [
    ("dev", "new"),
    ("qa", "new"),
    ("dev", "rework"),
    ("qa", "new"),
    ("ops", "unmapped"),
]
"""(provider, kind) of the worked example's requests, both issues, under DELIVERY_NO_OPS."""


def _first_issue_stored_second_to_come(engine: Engine) -> list[Any]:
    """Stores the worked example's first issue; returns the second's extraction, to record later."""
    extractions = _worked_example()
    with Session(engine) as session:
        first = [type(extractions[0])("backfill", extractions[0].transitions, extractions[0].issue)]
        pipeline.ingest_extractions(session, "worked", first, "backfill", load_config_text(DELIVERY))
        session.commit()
    return [type(extractions[1])("backfill", extractions[1].transitions, extractions[1].issue)]


def test_transitions_recorded_during_a_rederivation_are_caught_up_in_the_swap(
    db_url: str, engine: Engine
) -> None:
    late = _first_issue_stored_second_to_come(engine)

    def arrive(done: int, total: int) -> None:  # the rest of the history lands after the chunk was derived
        with Session(engine) as other:
            pipeline.ingest_extractions(other, "worked", late, "webhook", load_config_text(DELIVERY))
            other.commit()

    with Session(engine) as session:
        rederive_staged(session, "worked", load_config_text(DELIVERY_NO_OPS), progress=arrive)
        frame = load_requests_frame(session, "worked")
    assert list(zip(frame["provider"], frame["kind"], strict=True)) == WHOLE_HISTORY_WITHOUT_OPS


def test_a_rederivation_waits_for_a_writer_whose_transitions_are_not_yet_committed(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: ids are taken at insert, so a writer still in flight when the re-derivation reads
    its watermark could commit transitions below it (after another writer's higher ids), unseen by
    both the chunks and the catch-up. Writers hold the site lock shared from before their first
    insert, so the re-derivation's exclusive lock waits for them."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: a re-derivation cannot start beside an open writer")
    late = _first_issue_stored_second_to_come(engine)
    inserted, release, derived = threading.Event(), threading.Event(), threading.Event()
    record_many = pipeline.record_many

    def record_then_pause(*args: Any, **kwargs: Any) -> Any:
        result = record_many(*args, **kwargs)
        if threading.current_thread().name == "writer":
            inserted.set()  # the transitions are inserted, not committed
            release.wait(30)
        return result

    monkeypatch.setattr(pipeline, "record_many", record_then_pause)

    def write() -> None:
        with Session(engine) as writer:
            pipeline.ingest_extractions(writer, "worked", late, "webhook", load_config_text(DELIVERY))
            writer.commit()

    def rederive() -> None:
        with Session(engine) as session:
            rederive_staged(
                session, "worked", load_config_text(DELIVERY_NO_OPS), progress=lambda *_: derived.set()
            )

    writer = threading.Thread(target=write, name="writer", daemon=True)
    writer.start()
    assert inserted.wait(30)
    rederiver = threading.Thread(target=rederive, daemon=True)
    rederiver.start()
    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    with engine.connect() as observer:  # until the re-derivation waits on the site lock (or derives)
        for _ in range(200):
            if observer.execute(waiting).scalar_one() or derived.wait(0.05):
                break
    assert not derived.is_set(), "the re-derivation read the log beside an uncommitted writer"
    release.set()
    writer.join(timeout=60)
    rederiver.join(timeout=60)
    assert derived.is_set()
    with Session(engine) as session:
        frame = load_requests_frame(session, "worked")
    assert list(zip(frame["provider"], frame["kind"], strict=True)) == WHOLE_HISTORY_WITHOUT_OPS


def test_a_verdict_recorded_during_a_rederivation_survives_the_swap(db_url: str, engine: Engine) -> None:
    live = load_config_text(DELIVERY)
    with Session(engine) as session:
        pipeline.ingest_extractions(session, "worked", _worked_example(), "backfill", live)
        session.commit()
    sent_back = Verdict(
        issue_id="10001",
        team="ops",
        at=datetime(2026, 3, 6, 8, 0, tzinfo=UTC),
        by="ops-lead",
        action=VerdictAction.REJECT,
        reason="incomplete",
    )

    def judge(done: int, total: int) -> None:  # ops sends Q2 back after its chunk was derived
        with Session(engine) as other:
            record_verdict(other, "worked", sent_back, ConfigResolver(live), source="cli")
            other.commit()

    with Session(engine) as session:
        issues, _requests = rederive_staged(
            session, "worked", load_config_text(DELIVERY_TIGHT_QA), progress=judge
        )
        frame = load_requests_frame(session, "worked")
    assert issues == 1
    rows = frame[["provider", "resolution_goal_s", "verdict", "verdict_reason", "verdict_by", "rejected"]]
    assert [tuple(None if v != v else v for v in r) for r in rows.itertuples(index=False)] == [
        ("dev", None, None, None, None, True),  # D1, rejected by qa's return
        ("qa", 28800.0, None, None, None, False),  # Q1: the draft's 8h goal
        ("dev", None, None, None, None, False),  # D2
        ("qa", 28800.0, "rejected", "incomplete", "ops-lead", True),  # Q2, sent back meanwhile
        ("ops", 86400.0, None, None, None, False),  # O1
    ]


def test_the_resolver_follows_the_applied_version_unless_the_file_is_code(engine: Engine) -> None:
    file_config = load_config_text(DELIVERY)
    with Session(engine, expire_on_commit=False) as session:
        pipeline.ingest_extractions(session, "worked", _worked_example(), "backfill", file_config)
        session.commit()
        resolver = ConfigResolver(file_config)
        assert resolver.resolve(session, "worked").source == "file"
        _publish(session, "worked", DELIVERY_NO_OPS, None)
        assert resolver.resolve(session, "worked").version is None  # published, not applied yet
    code = ConfigResolver(file_config, as_code=True)
    assert apply_pending(engine, code) == []  # configuration as code: versions are not applied
    assert _apply(engine) == [("worked", 1)]
    with Session(engine, expire_on_commit=False) as session:
        resolved = resolver.resolve(session, "worked")
        assert (resolved.version, resolved.source) == (1, "published")
        assert resolved.fingerprint == fingerprint(load_config_text(DELIVERY_NO_OPS))
        assert code.resolve(session, "worked").config is file_config
        # a worker started with the file as code re-derives the site under the file on start
        assert pipeline.sync_config(session, code) == ["worked"]
        assert set(load_requests_frame(session, "worked")["kind"]) == {"new", "rework"}
        state = session.get(SiteConfigState, "worked")
        assert state is not None and state.applied_version == 1


def test_a_failed_rederivation_is_reported_and_the_numbers_stay(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        pipeline.ingest_extractions(
            session, "worked", _worked_example(), "backfill", load_config_text(DELIVERY)
        )
        session.commit()
        _publish(session, "worked", DELIVERY_NO_OPS, None)
        before = int(session.execute(select(func.count()).select_from(RequestRow)).scalar_one())

    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("engine trouble")

    monkeypatch.setattr("baton.store.rederive.scoring_engine.derive_requests", boom)
    assert _apply(engine) == []
    with Session(engine) as session:
        assert config_versions.rederive_status(session, "worked") == {
            "version": 1,
            "state": "failed",
            "done_issues": 0,
            "total_issues": 1,
            "error": "RuntimeError: engine trouble",
        }
        assert session.execute(select(func.count()).select_from(RequestRow)).scalar_one() == before
    with Session(engine) as session, pytest.raises(RuntimeError):
        apply_version(session, "worked", 1, ConfigResolver(None))


def test_the_cli_cycle_publish_preview_rollback_export(db_url: str, tmp_path: Path) -> None:
    common = ("--db", db_url, "--site", "demo")
    baton_json("demo", "load", *common, "--issues", "20", "--weeks", "2", "--format", "json")
    live, draft = tmp_path / "live.yaml", tmp_path / "draft.yaml"
    live.write_text(DEMO)
    draft.write_text(DEMO_DRAFT)
    published = baton(
        "config", "publish", str(live), *common, "--author", "ann", "-m", "start", "--apply", "--quiet"
    )
    assert published.exit_code == 0, published.output
    assert "site 'demo': version 1 published" in published.output
    assert "demo: version 1 applied: 20 issues" in published.output
    preview = baton_json(
        "config", "preview", str(draft), *common, "--format", "json", "--now", "2026-12-03T12:00:00Z"
    )
    assert preview["issues"] == 20 and preview["rows"]
    table = baton("config", "preview", str(draft), *common, "--now", "2026-12-03T12:00:00Z")
    assert table.exit_code == 0 and "Scores before -> after" in table.output
    second = baton("config", "publish", str(draft), *common, "--author", "bob", "--base", "1")
    assert second.exit_code == 0 and "re-derivation pending" in second.output
    stale = baton("config", "publish", str(draft), *common, "--base", "1")
    assert stale.exit_code == 1
    assert "version 2 is the latest; nothing was stored" in stale.stderr
    history = baton_json("config", "history", *common, "--format", "json")
    assert [(v["number"], v["author"], v["applied"]) for v in history["versions"]] == [
        (2, "bob", False),
        (1, "ann", True),
    ]
    assert history["rederive"]["state"] == "pending"
    applied = baton("rederive", "--db", db_url, "--site", "demo", "--quiet")
    assert applied.exit_code == 0 and "demo: version 2 applied: 20 issues" in applied.output
    assert baton("config", "export", "1", *common).stdout == DEMO
    shown = baton("config", "show", "2", *common)
    assert shown.stdout == DEMO_DRAFT and "version 2, published" in shown.stderr
    rolled = baton("config", "rollback", "1", *common, "--apply", "--quiet")
    assert rolled.exit_code == 0 and "version 3 published" in rolled.output
    assert baton("config", "export", *common).stdout == DEMO
    missing = baton("config", "show", "9", *common)
    assert missing.exit_code == 1 and "site 'demo' has no configuration version 9" in missing.stderr


# Only goals change: delivery's qa goal, support's at-risk share (both processes carried, goals looked up again).
DEMO_GOALS = DEMO.replace(
    "{provider: qa, response: 4h, resolution: 16h}", "{provider: qa, response: 4h, resolution: 8h}"
).replace("    at_risk: 0.8\n", "    at_risk: 0.6\n")
# Another calendar time zone: every issue is derived again.
DEMO_PARIS = DEMO.replace("timezone: Europe/Berlin", "timezone: Europe/Paris", 1)


def test_preview_of_a_goals_only_draft_equals_the_published_score(db_url: str, engine: Engine) -> None:
    baton_json(
        "demo", "load", "--db", db_url, "--site", "demo", "--issues", "40", "--weeks", "3", "--format", "json"
    )
    record = _cycle(db_url, engine, "demo", DEMO, DEMO_GOALS, datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    # goals move no request: nothing is derived again, nothing changes kind, provider or outcome
    assert (record["changed_total"], record["handoffs_mapped"], record["handoffs_unmapped"]) == (0, [], [])
    assert record["requests"]["before"] == record["requests"]["after"]


@pytest.mark.parametrize(
    ("draft", "plan"),
    [
        (DEMO_DRAFT, (False, set(), {"delivery"})),
        (DEMO_GOALS, (False, set(), {"delivery", "support"})),
        (DEMO_PARIS, (True, set(), set())),
    ],
    ids=["flow", "goals", "calendar"],
)
def test_before_from_the_stored_requests_equals_before_derived_from_the_log(
    db_url: str, engine: Engine, draft: str, plan: tuple[bool, set[str], set[str]]
) -> None:
    baton_json(
        "demo", "load", "--db", db_url, "--site", "demo", "--issues", "40", "--weeks", "3", "--format", "json"
    )
    with Session(engine, expire_on_commit=False) as session:
        _publish(session, "demo", DEMO, None)
    assert _apply(engine) == [("demo", 1)]
    live, changed = load_config_text(DEMO), load_config_text(draft)
    found = engine_plan(live, changed)
    assert (found.derive_all, set(found.carried), set(found.regoaled)) == plan
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    with Session(engine) as session:
        assert stored_under(session, "demo", live)
        stored = preview_record(run_preview(session, "demo", live=live, draft=changed, now=now))
        logged = preview_record(
            run_preview(session, "demo", live=live, draft=changed, now=now, use_stored=False)
        )
    assert stored == logged
    assert stored["rows"] and stored["issues"] == 40
    with Session(engine) as session:
        requests = int(session.execute(select(func.count()).where(RequestRow.site_id == "demo")).scalar_one())
    assert stored["requests"]["before"] == requests

    # the stored requests are not the live configuration's: `before` is derived from the log, whatever is
    # stored (here: nothing at all)
    with Session(engine) as session:
        session.execute(update(Site).where(Site.id == "demo").values(config_fingerprint="0" * 64))
        session.execute(delete(RequestRow).where(RequestRow.site_id == "demo"))
        session.commit()
        assert not stored_under(session, "demo", live)
        again = preview_record(run_preview(session, "demo", live=live, draft=changed, now=now))
    assert again == logged
