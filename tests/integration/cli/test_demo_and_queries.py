"""`baton demo load` (idempotent) and the query commands' JSON fields, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

from baton.webhooks.serialize import REQUEST_FIELDS, SCORE_FIELDS
from tests.integration.cli.conftest import DEMO_CONFIG, baton, baton_json

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")
STATES = {"met", "breached", "at_risk", "running", "none"}


def test_demo_load_is_idempotent_and_queries_have_design_fields(db_url: str) -> None:
    common = ("--db", db_url, "--site", "demo")
    first = baton_json("demo", "load", *common, "--issues", "40", "--weeks", "4", "--format", "json")
    assert first["errors"] == []
    assert first["accepted"] == first["deliveries"] > 40  # one creation per issue + status changes
    assert first["transitions"] == first["deliveries"]
    assert first["issues"] == 40

    second = baton_json("demo", "load", *common, "--issues", "40", "--weeks", "4", "--format", "json")
    assert second["accepted"] == 0 and second["transitions"] == 0
    assert second["duplicate_deliveries"] == first["deliveries"]

    query = (*common, "--config", str(DEMO_CONFIG))
    requests = baton_json("requests", *query, "--format", "json")
    assert len(requests) > 40
    for record in requests:
        assert tuple(record) == REQUEST_FIELDS
        assert record["site"] == "demo"
        assert record["kind"] in {"new", "rework", "unmapped"}
        assert ISO.match(record["opened_at"])
        assert (record["resolved_at"] is None) == (record["outcome"] is None)
        if record["resolved_at"] is not None:
            assert ISO.match(record["resolved_at"])
            assert datetime.fromisoformat(record["resolved_at"]) >= datetime.fromisoformat(
                record["opened_at"]
            )
            assert record["outcome"] in {"delivered", "returned", "handed_off", "released"}
        assert isinstance(record["rejected"], bool)
        for name in ("response_elapsed_s", "resolution_elapsed_s", "response_goal_s", "resolution_goal_s"):
            assert record[name] is None or isinstance(record[name], int)
        assert record["response_state"] in STATES and record["resolution_state"] in STATES
        if record["resolution_goal_s"] is None:
            assert record["resolution_state"] == "none"
    assert {r["process"] for r in requests} == {"delivery", "support"}

    open_qa = baton_json("requests", *query, "--format", "json", "--team", "qa", "--open")
    assert all(r["provider"] == "qa" and r["resolved_at"] is None for r in open_qa)

    weekly = baton_json("score", *query, "--period", "week", "--format", "json")
    assert weekly
    for row in weekly:
        assert tuple(row) == SCORE_FIELDS
        assert re.match(r"^\d{4}-W\d{2}$", row["period"])
        assert row["score"] is None or (0 <= row["score"] <= 100 and round(row["score"], 1) == row["score"])
        for name in ("timeliness", "response_timeliness", "quality", "ratio_p50", "ratio_p90"):
            assert row[name] is None or round(row[name], 4) == row[name]
        for name in ("resolved", "delivered", "rejected", "open_at_risk", "open_breached"):
            assert isinstance(row[name], int)

    monthly = baton_json("score", *query, "--period", "month", "--by", "process", "--format", "json")
    assert monthly and all(re.match(r"^\d{4}-\d{2}$", r["period"]) for r in monthly)
    assert all(tuple(r)[:3] == ("period", "team", "process") for r in monthly)
    dev_processes = {r["process"] for r in monthly if r["team"] == "dev"}
    assert dev_processes == {"delivery", "support"}  # dev serves both processes

    handoffs = baton_json("handoffs", *query, "--format", "json")
    assert set(handoffs) == {"matrix", "unmapped", "unmatched_issues"}
    assert handoffs["unmatched_issues"] == {"total": 0, "rows": []}  # the demo's issues all match
    assert all({"requester", "provider"} <= set(r) for r in handoffs["matrix"])

    csv_out = baton("score", *query, "--period", "week", "--format", "csv")
    assert csv_out.exit_code == 0
    assert csv_out.stdout.splitlines()[0] == ",".join(SCORE_FIELDS)


def test_handoffs_csv_is_one_table_per_file(tmp_path: Path) -> None:
    common = ("--db", f"sqlite:///{tmp_path / 'demo.db'}", "--site", "demo")
    baton_json("demo", "load", *common, "--issues", "20", "--weeks", "2", "--format", "json")
    query = (*common, "--config", str(DEMO_CONFIG), "--format", "csv")
    both = baton("handoffs", *query)
    assert both.exit_code == 2
    assert (
        "a CSV file holds one table: add --report matrix, --report unmapped or --report unmatched"
        in both.output
    )
    for report, first_columns in (
        ("matrix", ["requester", "provider"]),
        ("unmapped", ["requester", "provider"]),
    ):
        result = baton("handoffs", *query, "--report", report)
        assert result.exit_code == 0, result.output
        rows = list(csv.reader(io.StringIO(result.stdout)))
        assert rows[0][:2] == first_columns
        assert all(len(row) == len(rows[0]) for row in rows)  # one table: every row has the header's width
