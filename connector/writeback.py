"""Write-back: the issue property `baton.sla` on every issue whose SLA state changed.

`PUT /rest/api/3/issue/{id}/properties/baton.sla` (Data Center: `/rest/api/2/...`) with a small JSON
document (docs/jira-connector.md: <= 32 KB; needs Browse projects + Edit issues). The Forge app indexes its
top-level fields for JQL (`plugin/manifest.yml`: state, provider, requester, process, due, breached,
elapsedRatio, rejections, awaitingVerdict, lastVerdict.verdict), e.g. `batonSlaState = breached`,
`issue.property[baton.sla].state = at_risk` or `batonAwaitingVerdict = qa` (issues awaiting qa's verdict).

"Only when changed": the document holds nothing that moves with the wall clock except through state
changes: the due time is fixed while the clock runs, a running clock's `elapsedRatio` is rounded down
to tenths and capped at 1.0, and `elapsedSeconds` is only given for stopped clocks. Its SHA-256 is kept in
`writeback_state` (target `issue:<id>:baton.sla`) and a write happens only when it differs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from baton.config.schema import BatonConfig
from baton.connector.client import JiraClient, JiraNotFound
from baton.connector.ledger import Ledger
from baton.scoring import engine as scoring_engine
from baton.scoring.engine import evaluate_clocks
from baton.store.requests import load_requests_frame

log = logging.getLogger(__name__)

PROPERTY_KEY = "baton.sla"
MAX_PROPERTY_CHARS = 32768
DOC_VERSION = 1


def target_of(issue_id: str) -> str:
    return f"issue:{issue_id}:{PROPERTY_KEY}"


def content_hash(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


def canonical(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return pd.Timestamp(value).tz_convert("UTC").isoformat().replace("+00:00", "Z")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def due_times(open_requests: pd.DataFrame, config: BatonConfig, now: datetime) -> pd.Series:
    """When each running resolution clock reaches its goal, on the provider's calendar, to the second
    (NaT if paused, without a resolution goal, or already past it). The instant itself comes from
    `baton.scoring.engine.due_times`, the one due-time rule the API and the CLI print."""
    remaining = open_requests["resolution_goal_s"] - open_requests["resolution_elapsed_s"]
    running = ~open_requests["paused"].astype(bool) & (remaining > 0)
    due = scoring_engine.due_times(open_requests, remaining.where(running), config, now)
    rounded: pd.Series = due.dt.round("s")
    return rounded


def sla_documents(requests: pd.DataFrame, config: BatonConfig, now: datetime) -> dict[str, dict[str, Any]]:
    """The `baton.sla` document of every issue that has requests, from the *evaluated* requests frame
    (`baton.scoring.engine.evaluate_clocks`). The current request is the open one, else the latest."""
    if requests.empty:
        return {}
    frame = requests.sort_values(["issue_id", "seq"])
    open_mask = frame["resolved_at"].isna()
    due = due_times(frame[open_mask], config, now)
    rejections = frame.groupby("issue_id")["rejected"].sum()
    awaiting = (
        scoring_engine.awaiting_verdict(frame, now)
        if "verdict_due_at" in frame
        else pd.Series(False, index=frame.index)
    )
    docs: dict[str, dict[str, Any]] = {}
    for issue_id, group in frame.groupby("issue_id", sort=False):
        open_rows = group[group["resolved_at"].isna()]
        row = open_rows.iloc[-1] if len(open_rows) else group.iloc[-1]
        is_open = bool(pd.isna(row["resolved_at"]))
        clocks: dict[str, Any] = {}
        for clock in ("response", "resolution"):
            goal = _num(row[f"{clock}_goal_s"])
            elapsed = _num(row[f"{clock}_elapsed_s"])
            state = _text(row.get(f"{clock}_state")) or "none"
            entry: dict[str, Any] = {"state": state, "goalSeconds": goal}
            # A clock runs until its request is resolved (the response clock until the first response
            # too), whatever its state: with no goal its state is "none" but its elapsed time still grows.
            running = is_open and (clock == "resolution" or pd.isna(row["first_response_at"]))
            if not running and elapsed is not None:
                entry["elapsedSeconds"] = round(elapsed)
            clocks[clock] = entry
        res_goal, res_elapsed = clocks["resolution"]["goalSeconds"], _num(row["resolution_elapsed_s"])
        ratio = None
        if res_goal and res_elapsed is not None:
            ratio = res_elapsed / res_goal
            # Open: tenths up to the goal, then 1.0 (breached says the rest), so a long-breached clock
            # is not rewritten every tenth of its goal.
            ratio = min(math.floor(ratio * 10) / 10, 1.0) if is_open else round(ratio, 3)
        state = (
            clocks["resolution"]["state"]
            if clocks["resolution"]["goalSeconds"]
            else clocks["response"]["state"]
        )
        if not is_open:
            state = "closed" if state in ("none",) else state
        breached = any(c["state"] == "breached" for c in clocks.values())
        docs[str(issue_id)] = {
            "v": DOC_VERSION,
            "state": state,
            "open": is_open,
            "process": _text(row["process"]),
            "provider": _text(row["provider"]),
            "requester": _text(row["requester"]),
            "kind": _text(row["kind"]),
            "due": _iso(due.get(row.name)) if is_open else None,
            "paused": bool(row["paused"]) if is_open else False,
            "breached": "yes" if breached else "no",
            "elapsedRatio": ratio,
            "rejections": int(rejections.get(issue_id, 0)),
            "request": {
                "seq": int(row["seq"]),
                "openedAt": _iso(row["opened_at"]),
                "firstResponseAt": _iso(row["first_response_at"]),
                "resolvedAt": _iso(row["resolved_at"]),
                "outcome": _text(row["outcome"]),
                "fromStatus": _text(row["from_status"]),
                "toStatus": _text(row["to_status"]),
            },
            "clocks": clocks,
            **_verdict_fields(group, awaiting.loc[group.index]),
        }
    return docs


def _verdict_fields(group: pd.DataFrame, awaiting: pd.Series) -> dict[str, Any]:
    """`awaitingVerdict`: the teams (sorted) whose verdict on a delivery of this issue is awaited;
    `lastVerdict`: the latest explicit verdict on the issue (`verdict`, `team`, `provider`, `at`, and
    `rating` or `reason`), or None. Both change only with a verdict, a delivery or a window's end."""
    teams = sorted(
        {str(t) for t in group.loc[awaiting.to_numpy(dtype=bool), "customer"] if isinstance(t, str)}
    )
    last: dict[str, Any] | None = None
    if "verdict_at" in group:
        judged = group[group["verdict_at"].notna()]
        if len(judged):
            latest = int(np.argmax(pd.to_datetime(judged["verdict_at"], utc=True).to_numpy()))
            row = judged.iloc[latest]
            last = {
                "verdict": _text(row["verdict"]),
                "team": _text(row["customer"]),
                "provider": _text(row["provider"]),
                "at": _iso(row["verdict_at"]),
                "rating": None if pd.isna(row["rating"]) else int(row["rating"]),
                "reason": _text(row["verdict_reason"]),
            }
    return {"awaitingVerdict": teams, "lastVerdict": last}


def fit(doc: dict[str, Any]) -> dict[str, Any]:
    """The document, trimmed if needed to stay under Jira's 32 KB property limit."""
    if len(canonical(doc)) < MAX_PROPERTY_CHARS:
        return doc
    slim = {k: v for k, v in doc.items() if k not in ("request", "clocks")}
    if len(canonical(slim)) >= MAX_PROPERTY_CHARS:
        raise ValueError("baton.sla document exceeds 32 KB even without details")
    return slim


@dataclass
class WritebackReport:
    site: str
    considered: int = 0
    written: int = 0
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    requests_sent: int = 0

    def summary(self) -> str:
        text = (
            f"site {self.site}: {self.considered} issues, {self.written} baton.sla properties written, "
            f"{self.unchanged} unchanged"
        )
        if self.failed:
            text += f", {len(self.failed)} failed (e.g. {next(iter(self.failed.values()))})"
        return text


def write_properties(
    client: JiraClient,
    ledger: Ledger,
    docs: Mapping[str, dict[str, Any]],
    *,
    concurrency: int = 4,
    batch: int = 200,
    now: datetime | None = None,
    dry_run: bool = False,
) -> WritebackReport:
    """PUT the documents that changed since the last write, `batch` at a time on `concurrency` threads.

    A hash is saved only after its write succeeded, so a failure is retried on the next run. 404 (the
    issue was deleted or moved out of reach) is recorded and skipped; 401/403 stop the run."""
    site = client.site.name
    report = WritebackReport(site, considered=len(docs))
    sent_before = client.requests_sent
    api = "3" if client.site.is_cloud else "2"
    ids = sorted(docs)
    now = now or datetime.now(UTC)

    def put(issue_id: str, doc: dict[str, Any]) -> tuple[str, str | None]:
        try:
            client.request("PUT", f"/rest/api/{api}/issue/{issue_id}/properties/{PROPERTY_KEY}", json=doc)
            return issue_id, None
        except JiraNotFound as error:
            return issue_id, str(error)

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="baton-writeback") as pool:
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            fitted = {i: fit(docs[i]) for i in chunk}
            hashes = {i: content_hash(d) for i, d in fitted.items()}
            known = ledger.writeback_hashes(site, (target_of(i) for i in chunk))
            changed = [i for i in chunk if known.get(target_of(i)) != hashes[i]]
            report.unchanged += len(chunk) - len(changed)
            if dry_run:
                report.written += len(changed)
                continue
            done: dict[str, str] = {}
            for issue_id, error in pool.map(put, changed, [fitted[i] for i in changed]):
                if error is None:
                    done[target_of(issue_id)] = hashes[issue_id]
                else:
                    report.failed[issue_id] = error
            ledger.save_writeback_hashes(site, done, now)
            report.written += len(done)
    report.requests_sent = client.requests_sent - sent_before
    return report


def writeback(
    client: JiraClient,
    ledger: Ledger,
    config: BatonConfig,
    requests: pd.DataFrame,
    now: datetime,
    *,
    concurrency: int = 4,
    dry_run: bool = False,
) -> WritebackReport:
    """Evaluate the clocks as of `now`, build the documents and write those that changed."""
    evaluated = evaluate_clocks(requests, config, now)
    docs = sla_documents(evaluated, config, now)
    return write_properties(client, ledger, docs, concurrency=concurrency, now=now, dry_run=dry_run)


def load_site_requests(engine: Any, site: str, issue_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The site's derived requests from the store (the frame `writeback` takes)."""
    with Session(engine) as session:
        frame = load_requests_frame(session, site, issue_ids=issue_ids)
    return frame.drop(columns=[c for c in ("site_id",) if c in frame.columns])
