"""The Jira Cloud OpenAPI contract as a validator: requests the connector sends, responses tests serve.

The spec is Atlassian's own (`tests/fixtures/jira-openapi/jira-platform-v3.openapi.json`, unedited), loaded
once, with exactly two in-memory adjustments:

1. `servers` also lists the test base URLs (the spec only names `https://your-domain.atlassian.net`).
2. `DashboardGadgetPosition` is published with malformed property names ("The column position of the
   gadget.") and `writeOnly`; Atlassian's documented examples show that the real API takes and returns
   `{"column": 1, "row": 0}`. The schema is replaced by that shape (required `column` and `row`,
   no extra keys), which is *stricter* than the published one, not looser.

Checks per request: the operation exists (method + path template), every query parameter is declared by
that operation (openapi-core ignores undeclared ones; we do not), parameter types, and the JSON body
against the operation's request schema. Per response: the body against the operation's schema for
that status code.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import ImmutableMultiDict

from tests.recorded import OPENAPI_SPEC

# The spec's OAuth2/Connect security schemes are not something openapi-core can check; say so once.
warnings.filterwarnings("ignore", message="Unsupported scheme type")


_JIRA_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")


def is_jira_datetime(value: object) -> bool:
    """RFC 3339 date-time, also with Jira's colon-less offset (`2026-03-02T10:00:00.000+0000`).

    The spec says `format: date-time`, and Jira itself (and the spec's own examples) write offsets as
    `+0000`; a strict RFC 3339 check would reject every real Jira timestamp.
    """
    return isinstance(value, str) and bool(_JIRA_DATETIME.match(value))


class ContractViolation(AssertionError):
    """A request the real Jira would reject, or a canned response the real Jira would never send."""


@lru_cache(maxsize=1)
def raw_spec() -> dict[str, Any]:
    return json.loads(OPENAPI_SPEC.read_text(encoding="utf-8"))


def patched_spec(extra_servers: tuple[str, ...] = ()) -> dict[str, Any]:
    spec = copy.deepcopy(raw_spec())
    spec["servers"] = [{"url": u} for u in ("https://your-domain.atlassian.net", *extra_servers)]
    spec["components"]["schemas"]["DashboardGadgetPosition"] = {
        "type": "object",
        "additionalProperties": False,
        "description": "Details of a gadget position (the published property names are malformed).",
        "properties": {
            "column": {"type": "integer", "format": "int32"},
            "row": {"type": "integer", "format": "int32"},
        },
        "required": ["column", "row"],
    }
    return spec


class Contract:
    def __init__(self, extra_servers: tuple[str, ...] = ()) -> None:
        self.spec = patched_spec(extra_servers)
        self.api = OpenAPI.from_dict(
            self.spec,
            config=Config(
                spec_validator_cls=None,
                extra_format_validators={"date-time": is_jira_datetime},
                extra_format_unmarshallers={"date-time": str},
            ),
        )
        self._templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in self.spec["paths"]
        ]
        self.checked_requests = 0
        self.checked_responses = 0

    # Operation lookup ---------------------------------------------------------------------------------

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        candidates = [t for rx, t in self._templates if rx.match(path)]
        # Prefer literal segments over templated ones (e.g. /dashboard/search over /dashboard/{id}).
        candidates.sort(key=lambda t: t.count("{"))
        for template in candidates:
            op = self.spec["paths"][template].get(method.lower())
            if op is not None:
                return template, op
        raise ContractViolation(f"{method} {path}: no such operation in the Jira Cloud OpenAPI spec")

    # Requests ---------------------------------------------------------------------------------------------

    def check_request(
        self, method: str, url: str, body: bytes | str | None, content_type: str | None = None
    ) -> Any:
        parts = urlsplit(url)
        template, op = self.operation(method, parts.path)
        declared = {
            p["name"]
            for p in [*self.spec["paths"][template].get("parameters", []), *op.get("parameters", [])]
            if p.get("in") == "query"
        }
        query = parse_qsl(parts.query, keep_blank_values=True)
        unknown = sorted({k for k, _ in query} - declared)
        if unknown:
            raise ContractViolation(f"{method} {template}: undeclared query parameter(s) {unknown}")
        text = body.decode() if isinstance(body, bytes) else body
        if text and (content_type or "application/json").startswith("application/json"):
            json.loads(text)  # must at least be JSON
        request = MockRequest(
            f"{parts.scheme}://{parts.netloc}",
            method.lower(),
            parts.path,
            data=text.encode() if text else None,
            content_type="application/json",
        )
        request.parameters.query = ImmutableMultiDict(
            query
        )  # keeps repeated parameters (gadgetId=1&gadgetId=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.api.validate_request(request)
            except Exception as error:  # openapi-core raises a family of errors; all are violations here
                raise ContractViolation(f"{method} {parts.path}: {_describe(error)}") from None
        self.checked_requests += 1
        return request

    # Responses ------------------------------------------------------------------------------------------

    def check_response(
        self, request: Any, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        method = request.method.upper()
        template, op = self.operation(method, request.path)
        responses = op.get("responses", {})
        if str(status) not in responses and "default" not in responses:
            if status in (429, 503):
                return  # rate limiting / outage: not described per operation, documented globally
            raise ContractViolation(f"{method} {template}: status {status} is not a documented response")
        data = json.dumps(body) if body is not None else None
        response = MockResponse((data or "").encode(), status_code=status, content_type="application/json")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.api.validate_response(request, response)
            except Exception as error:
                raise ContractViolation(f"{method} {template} -> {status}: {_describe(error)}") from None
        self.checked_responses += 1


def _describe(error: Exception) -> str:
    """The schema errors first (short, e.g. "is too long"), then the exception chain, bounded."""
    reasons: list[str] = []
    chain: list[str] = []
    seen: Exception | None = error
    while seen is not None and len(chain) < 5:
        chain.append(f"{type(seen).__name__}: {str(seen)[:300]}")
        for schema_error in getattr(seen, "schema_errors", None) or ():
            path = "/".join(str(p) for p in getattr(schema_error, "absolute_path", ()))
            message = getattr(schema_error, "message", str(schema_error))
            rule = (
                f"{getattr(schema_error, 'validator', '?')}={getattr(schema_error, 'validator_value', '?')}"
            )
            reasons.append(f"{path or '(body)'} violates {rule[:120]}: {message[-200:]}")
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return "; ".join(reasons[:10] + chain)[:4000]


@lru_cache(maxsize=4)
def shared_contract(extra_servers: tuple[str, ...] = ()) -> Contract:
    return Contract(extra_servers)
