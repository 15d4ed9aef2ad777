"""The contract harness itself: a request the real Jira would reject, or an impossible response, fails."""

from __future__ import annotations

import json

import pytest

from tests.contract.connector.contract import ContractViolation, shared_contract

BASE = "https://your-domain.atlassian.net"


def check(method: str, path: str, body: object = None) -> object:
    return shared_contract().check_request(
        method, BASE + path, json.dumps(body) if body is not None else None
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "reason"),
    [
        ("GET", "/rest/api/3/no/such/thing", None, "no such operation"),
        ("DELETE", "/rest/api/3/search/jql", None, "no such operation"),
        ("POST", "/rest/api/3/search/jql", {"jql": "project = A", "fields": "status"}, "not of type 'array'"),
        ("POST", "/rest/api/3/search/jql", {"jql": "project = A", "startAt": 0}, "Additional properties"),
        (
            "POST",
            "/rest/api/3/changelog/bulkfetch",
            {"issueIdsOrKeys": [str(i) for i in range(1001)]},
            "maxItems=1000",
        ),
        ("POST", "/rest/api/3/changelog/bulkfetch", {"fieldIds": ["status"]}, "required"),
        ("GET", "/rest/api/3/dashboard/search?dashboardName=x&name=y", None, "undeclared query parameter"),
        ("GET", "/rest/api/3/dashboard/search?maxResults=many", None, "maxResults"),
        (
            "POST",
            "/rest/api/3/dashboard/1/gadget",
            {"title": "t", "uri": "u", "position": {"col": 1, "row": 0}},
            "column",
        ),
        ("POST", "/rest/api/3/dashboard", {"name": "x"}, "required"),
    ],
)
def test_invalid_requests_are_violations(method: str, path: str, body: object, reason: str) -> None:
    with pytest.raises(ContractViolation, match=reason):
        check(method, path, body)


def test_valid_requests_pass() -> None:
    check(
        "POST", "/rest/api/3/search/jql", {"jql": 'project in ("A")', "fields": ["status"], "maxResults": 100}
    )
    check(
        "POST",
        "/rest/api/3/changelog/bulkfetch",
        {"issueIdsOrKeys": ["1"], "fieldIds": ["status"], "maxResults": 1000},
    )
    check("GET", "/rest/api/3/dashboard/10000/gadget?gadgetId=1&gadgetId=2")
    check(
        "POST",
        "/rest/api/3/dashboard/1/gadget",
        {"title": "t", "uri": "u", "position": {"column": 1, "row": 0}},
    )


def test_impossible_responses_are_violations() -> None:
    request = check("POST", "/rest/api/3/search/approximate-count", {"jql": 'project in ("A")'})
    shared_contract().check_response(request, 200, {"count": 3})
    with pytest.raises(ContractViolation):
        shared_contract().check_response(request, 200, {"count": "three"})
    with pytest.raises(ContractViolation, match="not a documented response"):
        shared_contract().check_response(request, 418, {"errorMessages": []})
    bulk = check("POST", "/rest/api/3/changelog/bulkfetch", {"issueIdsOrKeys": ["1"]})
    with pytest.raises(ContractViolation):
        shared_contract().check_response(
            bulk, 200, {"issueChangeLogs": [{"issueId": "1", "changeHistories": [{"created": "yesterday"}]}]}
        )
