"""The connector over real HTTP, through Prism validating against Atlassian's OpenAPI file.

Prism (`@stoplight/prism-cli`, installed by this test into a cache directory with npm) runs as a
*validation proxy*: every request the connector sends is checked against the spec (a violation is a 422,
which the connector turns into an error and the test into a failure), then forwarded to the loopback
Jira stand-in, whose responses are checked against the spec too (openapi-core, a mismatch is a 500).
Prism is given the spec with the one documented correction (`DashboardGadgetPosition`, see
tests/contract/connector/contract.py); otherwise it rejects the `{"column", "row"}` position the real
API takes.

No npm on PATH: the test fails when CI=true, skips otherwise. Installs go through tests.npm_install (locked, retried).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.config.loader import load_config
from baton.connector.backfill import Backfill, BackfillOptions
from baton.connector.client import JiraClient, RetryPolicy
from baton.connector.dashboard import GADGETS, provision
from baton.connector.ledger import MemoryLedger
from baton.connector.sites import Site
from tests.contract.connector.contract import patched_spec, shared_contract
from tests.contract.connector.standin import JiraStandIn, generate_issues
from tests.contract.connector.standin_http import serving
from tests.npm_install import npm_install, npm_or_skip

PRISM_VERSION = "5"
CONFIG = load_config("config/examples/delivery.yaml")


def _cache_dir() -> Path:
    base = os.environ.get("BATON_PRISM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "baton", "prism"
    )
    return Path(base)


def _prism_binary() -> Path:
    npm = npm_or_skip("cannot install Prism (@stoplight/prism-cli)")
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    binary = cache / "node_modules" / ".bin" / "prism"
    npm_install(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(cache),
            f"@stoplight/prism-cli@{PRISM_VERSION}",
        ],
        cwd=cache,
        node_modules=cache / "node_modules",
        installed=binary,
        what="npm install @stoplight/prism-cli",
    )
    return binary


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def prism_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, JiraStandIn, object]]:
    binary = _prism_binary()
    spec_file = tmp_path_factory.mktemp("prism") / "jira-platform-v3.openapi.json"
    spec_file.write_text(json.dumps(patched_spec()))
    standin = JiraStandIn()
    with serving(standin) as upstream:
        upstream.contract = shared_contract((upstream.url,))
        port = _free_port()
        log_path = spec_file.parent / "prism.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [
                    str(binary),
                    "proxy",
                    str(spec_file),
                    upstream.url,
                    "--errors",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 180
            while "Prism is listening" not in log_path.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Prism did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield f"http://127.0.0.1:{port}", standin, upstream
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        assert not upstream.violations, "stand-in responses violated the contract:\n" + "\n".join(
            upstream.violations
        )


@pytest.mark.slow
def test_backfill_and_dashboard_through_prism(prism_proxy: tuple[str, JiraStandIn, object]) -> None:
    url, standin, upstream = prism_proxy
    issues = generate_issues(150, seed=21)
    standin.add_issues(issues)
    standin.rate_limit_every = 7  # a 429 with Retry-After now and then, honoured by the client
    site = Site("acme", url, "cloud", "basic", "ops@example.org", "api-token-not-logged")
    client = JiraClient(site, retry=RetryPolicy(attempts=6, initial=0.05, jitter=0.05))
    ledger = MemoryLedger()

    report = Backfill(client, ledger, CONFIG, BackfillOptions(page_size=40, concurrency=2)).run()
    assert report.issues == 150
    assert len(ledger.transitions) == sum(len(i.histories) + 1 for i in issues)
    assert report.retries > 0

    standin.rate_limit_every = None
    standin.forge_installed = False
    first = provision(client, CONFIG, snapshots=lambda key: {"rows": [{"team": "qa", "score": 100.0}]})
    second = provision(client, CONFIG, snapshots=lambda key: {"rows": [{"team": "qa", "score": 100.0}]})
    assert first.dashboard_id == second.dashboard_id
    assert second.gadget_ids == first.gadget_ids
    assert len(standin.dashboards) == 1 and len(standin.gadgets[first.dashboard_id or ""]) == len(GADGETS)
    assert upstream.violations == []  # type: ignore[attr-defined]
