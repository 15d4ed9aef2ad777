"""A Jira Cloud stand-in for the benchmark that generates issues on demand (nothing held in memory).

Issue n (0-based) is generated from its own seed, so a page of search results or a bulkfetch call costs
the same at issue 100 as at issue 100,000, and the server process stays small. Payload shapes are the
contract-checked ones of tests/contract/connector/standin.py.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.contract.connector.standin import JiraStandIn, StandInIssue, _offset, _token

FIRST_ID = 100000
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def issue_at(n: int, project: str = "PROJ") -> StandInIssue:
    rng = random.Random(n * 7919 + 17)
    issue = StandInIssue(
        id=str(FIRST_ID + n),
        key=f"{project}-{n + 1}",
        project=project,
        issue_type=rng.choice(["Story", "Bug", "Task"]),
        priority=rng.choice(["High", "Medium", "Low"]),
        created=START + timedelta(seconds=37 * n),
    )
    path = ["10001", "10002", "10003"]
    if rng.random() < 0.25:
        path += ["10001", "10002", "10003"]
    path += ["10004", "10005", "10006"]
    stop = len(path) if rng.random() < 0.7 else rng.randint(1, len(path) - 1)
    at = issue.created
    for k, to_id in enumerate(path[:stop]):
        at += timedelta(hours=rng.randint(1, 30), minutes=rng.randint(0, 59))
        issue.move(to_id, at, str(10 * (FIRST_ID + n) + k))
    return issue


class LazyStandIn(JiraStandIn):
    def __init__(self, count: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.count = count

    def search_jql(self, query: Any, body: Any) -> tuple[int, dict[str, str], Any]:
        start = _offset(body["nextPageToken"]) if body.get("nextPageToken") else 0
        fields = list(body.get("fields") or ["id"])
        size = min(int(body.get("maxResults") or 50), self.search_page_cap)
        end = min(self.count, start + size)
        issues = [issue_at(n) for n in range(start, end)]
        out: dict[str, Any] = {
            "issues": [
                {
                    "id": i.id,
                    "key": i.key,
                    "self": f"{self.base}/rest/api/3/issue/{i.id}",
                    "fields": i.fields(fields, self.base),
                }
                for i in issues
            ],
            "isLast": end >= self.count,
        }
        if end < self.count:
            out["nextPageToken"] = _token(end)
        return 200, {}, out

    def approximate_count(self, query: Any, body: Any) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"count": self.count}

    def lookup(self, ref: str) -> StandInIssue | None:
        # bulkfetch (inherited: the contract stand-in's ordering and paging) on issues generated
        # for this call only
        n = int(ref) - FIRST_ID
        return issue_at(n) if 0 <= n < self.count else None


def serve_standin(
    count: int, latency: float, every: int, retry_after: str, page_cap: int, port_q: Any
) -> None:
    from tests.contract.connector.standin_http import StandInServer

    standin = LazyStandIn(
        count,
        latency=latency,
        rate_limit_every=every or None,
        retry_after=retry_after,
        search_page_cap=page_cap,
        keep_log=False,
    )
    server = StandInServer(standin)
    standin.base = server.url
    port_q.put(server.url)
    server.serve_forever()
