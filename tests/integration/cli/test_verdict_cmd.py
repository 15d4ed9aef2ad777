"""`baton verdict` and `baton verdicts --report reasons` on the worked example (docs/semantics.md
"Verdicts in the worked example"), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baton.scoring.model import Extraction
from baton.store.db import create_engine_for
from baton.store.models import VerdictRow
from baton.store.pipeline import ingest_extractions
from baton.webhooks.cli.common import load_config_or_exit
from tests.integration.cli.conftest import REPO_ROOT, baton, baton_json
from tests.unit.oracle.worked_example import FACTS, TRANSITIONS

CONFIG = str(REPO_ROOT / "config" / "examples" / "delivery.yaml")
FRIDAY_NOON = "2026-03-06T11:00:00Z"  # Berlin 12:00


def _seed(db_url: str) -> tuple[str, ...]:
    engine = create_engine_for(db_url)
    try:
        with Session(engine) as session:
            ingest_extractions(
                session, "worked", [Extraction("backfill", tuple(TRANSITIONS), FACTS)], "backfill",
                load_config_or_exit(CONFIG),
            )  # fmt: skip
            session.commit()
    finally:
        engine.dispose()
    return ("--config", CONFIG, "--db", db_url, "--site", "worked")


def _verdict(common: tuple[str, ...], *args: str, exit_code: int = 0) -> Any:
    return baton_json("verdict", "PROJ-1", *args, *common, "--format", "json", exit_code=exit_code)


def _scores(common: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    rows = baton_json("score", *common, "--now", FRIDAY_NOON, "--format", "json")
    return {r["team"]: (r["quality"], r["satisfaction"], r["score"]) for r in rows}


def _requests(common: tuple[str, ...], now: str = FRIDAY_NOON) -> list[dict[str, Any]]:
    return baton_json("requests", *common, "--now", now, "--format", "json")  # type: ignore[no-any-return]


def test_verdicts_before_and_after_a_rejection(db_url: str) -> None:
    common = _seed(db_url)
    assert _scores(common) == {"dev": (0.5, None, 50.0), "qa": (1.0, None, 100.0), "ops": (1.0, None, 100.0)}
    accepted = _verdict(
        common, "--team", "qa", "--by", "qa-lead", "--accept", "--rating", "4", "--at", "2026-03-04T09:00:00Z"
    )
    assert {k: accepted[k] for k in ("issue", "team", "verdict", "provider", "seq", "window_ends_at")} == {
        "issue": "PROJ-1",
        "team": "qa",
        "verdict": "accepted",
        "provider": "dev",
        "seq": 2,
        "window_ends_at": "2026-03-17T15:00:00+00:00",
    }
    _verdict(
        common, "--team", "ops", "--by", "ops-lead", "--accept", "--rating", "5", "--at", "2026-03-05T09:00Z"
    )
    assert _scores(common) == {"dev": (0.5, 0.8, 50.0), "qa": (1.0, 1.0, 100.0), "ops": (1.0, None, 100.0)}

    rejected = _verdict(
        common, "--team", "ops", "--by", "ops-lead", "--reject", "--reason", "incomplete",
        "--comment", "release notes missing", "--at", "2026-03-06T08:00:00Z",
    )  # fmt: skip
    assert (rejected["verdict"], rejected["provider"], rejected["seq"]) == ("rejected", "qa", 3)
    assert _scores(common) == {"dev": (0.5, 0.8, 50.0), "qa": (0.0, None, 50.0), "ops": (1.0, None, 100.0)}

    rows = _requests(common)
    verdicts = [(r["provider"], r["customer"], r["verdict"], r["rating"], r["verdict_reason"]) for r in rows]
    assert verdicts == [
        ("dev", "qa", None, None, None),
        ("qa", None, None, None, None),
        ("dev", "qa", "accepted", 4, None),
        ("qa", "ops", "rejected", None, "incomplete"),
        ("ops", "pm", None, None, None),
    ]
    q2 = rows[3]
    assert (q2["rejected"], q2["verdict_by"], q2["verdict_at"]) == (
        True,
        "ops-lead",
        "2026-03-06T08:00:00+00:00",
    )
    assert q2["verdict_due_at"] == "2026-03-18T11:00:00+00:00"
    late = _requests(common, "2026-03-23T11:00:00Z")
    assert [r["verdict"] for r in late] == [None, None, "accepted", "rejected", "implicit"]

    reasons = baton_json("verdicts", "--report", "reasons", *common, "--format", "json")
    assert reasons == [{"provider": "qa", "reason": "incomplete", "count": 1}]


def test_refusals_record_nothing(db_url: str) -> None:
    common = _seed(db_url)
    _verdict(
        common,
        "--team",
        "ops",
        "--by",
        "o",
        "--reject",
        "--reason",
        "incomplete",
        "--at",
        "2026-03-06T08:00Z",
    )
    cases = [
        (
            ("--team", "ops", "--by", "o", "--accept", "--at", "2026-03-06T08:30:00Z"),
            "error: verdict refused: PROJ-1's delivery by 'qa' was rejected at 2026-03-06T08:00:00Z; an accept "
            "cannot undo a rejection (rework appears when the issue moves back)",
        ),
        (
            ("--team", "qa", "--by", "q", "--accept", "--at", "2026-03-20T09:00:00Z"),
            "error: verdict refused: the acceptance window of PROJ-1's delivery by 'dev' to 'qa' (resolved "
            "2026-03-03T15:00:00Z) ended at 2026-03-17T15:00:00Z; a verdict at 2026-03-20T09:00:00Z is outside "
            "it and was not recorded",
        ),
        (
            ("--team", "qa", "--by", "q", "--reject", "--reason", "ugly", "--at", "2026-03-04T09:00Z"),
            "error: verdict refused: reason 'ugly' is not one of process 'delivery's rejection_reasons: "
            "incomplete, defects, undocumented",
        ),
    ]
    for args, message in cases:
        result = baton("verdict", "PROJ-1", *args, *common)
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == message
    unknown = baton("verdict", "PROJ-9", "--team", "qa", "--by", "q", "--accept", *common)
    assert unknown.exit_code == 1 and "issue PROJ-9 is not known on site 'worked'" in unknown.stderr
    for args in (
        ("--reject",),
        ("--accept", "--reason", "x"),
        ("--reject", "--reason", "x", "--rating", "3"),
        (),
    ):
        usage = baton("verdict", "PROJ-1", "--team", "qa", "--by", "q", *args, *common)
        assert usage.exit_code == 2, usage.output
    engine = create_engine_for(db_url)
    try:
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(VerdictRow)) == 1
    finally:
        engine.dispose()
    # the rejection survives re-deriving the site
    assert baton("rederive", "--config", CONFIG, "--db", db_url, "--quiet").exit_code == 0
    assert _requests(common)[3]["verdict"] == "rejected"
