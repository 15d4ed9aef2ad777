"""Helpers for the webhook tests: signed posts, recorded fixtures, a generated history, DB reads.

Fixtures are files: the recorded Jira payloads in tests/fixtures/jira-webhooks, and the worked example
configuration in config/examples/delivery.yaml.
"""

from __future__ import annotations

import json
import os
import random
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from baton.connector.signatures import sign
from tests.recorded import WEBHOOKS

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "examples" / "delivery.yaml"
SECRET = "It's a Secret to Everybody"
JSON = "application/json; charset=UTF-8"


def webhook_fixtures() -> list[tuple[str, bytes]]:
    """(relative path, raw bytes) of every recorded webhook delivery (REST responses excluded)."""
    files = sorted(WEBHOOKS.rglob("*.json"))
    return [(str(p.relative_to(WEBHOOKS)), p.read_bytes()) for p in files]


def signed_headers(body: bytes, secret: str | None = SECRET, **extra: str) -> dict[str, str]:
    headers = {"Content-Type": JSON}
    if secret is not None:
        headers["X-Hub-Signature"] = sign(secret, body)
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- reading the database -----------------------------------------------------------------------


def delivery_rows(engine: Engine) -> list[Any]:
    from baton.store.models import Delivery

    with Session(engine) as session:
        return list(session.execute(select(Delivery).order_by(Delivery.id)).scalars())


def delivery_count(engine: Engine, state: str | None = None) -> int:
    from baton.store.models import Delivery

    query = select(func.count(Delivery.id))
    if state is not None:
        query = query.where(Delivery.state == state)
    with Session(engine) as session:
        return int(session.execute(query).scalar_one())


def transition_set(engine: Engine, site: str | None = None) -> set[tuple[Any, ...]]:
    """The transition log as comparable tuples (delivery ids left out: they depend on arrival)."""
    from baton.store.models import TransitionRow as T

    query = select(T.site_id, T.issue_id, T.change_id, T.at, T.from_id, T.from_name, T.to_id, T.to_name)
    if site is not None:
        query = query.where(T.site_id == site)
    with Session(engine) as session:
        return {tuple(r) for r in session.execute(query).all()}


REQUEST_FIELDS = (
    "site_id",
    "issue_id",
    "seq",
    "process",
    "provider",
    "requester",
    "kind",
    "opened_at",
    "first_response_at",
    "resolved_at",
    "outcome",
    "rejected",
    "response_elapsed_s",
    "resolution_elapsed_s",
)


def request_set(engine: Engine) -> set[tuple[Any, ...]]:
    """Derived requests as comparable tuples (elapsed seconds rounded to the second)."""
    from baton.store.models import RequestRow

    with Session(engine) as session:
        rows = session.execute(select(RequestRow)).scalars().all()
        out = set()
        for row in rows:
            values = []
            for name in REQUEST_FIELDS:
                value = getattr(row, name)
                values.append(round(value) if isinstance(value, float) else value)
            out.add(tuple(values))
        return out


# --- a generated history, as Jira Cloud would deliver it ------------------------------------------

PATH = [
    ("10000", "To Do", "new"),
    ("10001", "In Development", "indeterminate"),
    ("10002", "Ready for QA", "indeterminate"),
    ("10003", "In QA", "indeterminate"),
    ("10001", "In Development", "indeterminate"),  # returned by QA
    ("10002", "Ready for QA", "indeterminate"),
    ("10003", "In QA", "indeterminate"),
    ("10004", "Ready to Deploy", "indeterminate"),
    ("10005", "Deploying", "indeterminate"),
    ("10006", "Done", "done"),
]


@dataclass(frozen=True)
class GeneratedDelivery:
    identifier: str
    body: bytes

    def headers(self, secret: str | None = SECRET) -> dict[str, str]:
        return signed_headers(self.body, secret, X_Atlassian_Webhook_Identifier=self.identifier)


def _status(sid: str, name: str, category: str) -> dict[str, Any]:
    return {"id": sid, "name": name, "statusCategory": {"key": category}}


def generated_history(issues: int, seed: int = 7) -> list[GeneratedDelivery]:
    """`issues` PROJ issues walking the worked example's flow (with a return), one delivery per step:
    `jira:issue_created` into To Do, then `jira:issue_updated` with one status item each."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    out: list[GeneratedDelivery] = []
    change = 50_000
    for n in range(issues):
        issue_id = str(20_000 + n)
        key = f"PROJ-{n + 1}"
        at = start + timedelta(minutes=rng.randint(0, 600))
        created = at
        for step, (sid, name, category) in enumerate(PATH):
            fields = {
                "project": {"key": "PROJ", "id": "10000"},
                "issuetype": {"name": "Bug" if n % 3 == 0 else "Story"},
                "priority": {"name": "High"},
                "status": _status(sid, name, category),
                "created": created.isoformat(timespec="milliseconds"),
                "updated": at.isoformat(timespec="milliseconds"),
            }
            payload: dict[str, Any] = {
                "timestamp": int(at.timestamp() * 1000),
                "user": {"accountId": f"user-{n % 5}", "displayName": f"User {n % 5}"},
                "issue": {"id": issue_id, "key": key, "fields": fields},
            }
            if step == 0:
                payload.update(webhookEvent="jira:issue_created", issue_event_type_name="issue_created")
            else:
                change += 1
                prev = PATH[step - 1]
                payload.update(
                    webhookEvent="jira:issue_updated",
                    issue_event_type_name="issue_generic",
                    changelog={
                        "id": str(change),
                        "items": [
                            {
                                "field": "status",
                                "fieldtype": "jira",
                                "fieldId": "status",
                                "from": prev[0],
                                "fromString": prev[1],
                                "to": sid,
                                "toString": name,
                            }
                        ],
                    },
                )
            body = json.dumps(payload, separators=(",", ":")).encode()
            out.append(GeneratedDelivery(identifier=f"gen-{issue_id}-{step}", body=body))
            at += timedelta(hours=rng.randint(1, 30), minutes=rng.randint(0, 59))
    return out


def shuffled(items: Iterable[GeneratedDelivery], seed: int) -> list[GeneratedDelivery]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


# --- a real gunicorn server on loopback ----------------------------------------------------------


class GunicornServer:
    """`gunicorn -c python:baton.webhooks.http.gunicorn_conf 'baton.webhooks.http.app:create_app()'` on a free loopback port,
    in its own process group so a test can SIGKILL master and workers at once."""

    def __init__(
        self, db_url: str, tmp: Path, *, mode: str = "embedded", workers: int = 2, **env: str
    ) -> None:
        self.db_url = db_url
        self.tmp = tmp
        self.mode = mode
        self.workers = workers
        self.extra_env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: Any = None

    def start(self, timeout: float = 30.0) -> GunicornServer:
        import subprocess
        import sys
        import time

        import requests

        metrics_dir = self.tmp / f"prom-{self.port}"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "BATON_DATABASE_URL": self.db_url,
            "BATON_CONFIG": str(EXAMPLE_CONFIG),
            "BATON_WEBHOOK_SECRET": SECRET,
            "BATON_MODE": self.mode,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "PYTHONPATH": str(REPO_ROOT),
            "BATON_THREADS": "4",  # each thread keeps a connection: stay well inside max_connections
            **self.extra_env,
        }
        self.log = open(self.tmp / f"gunicorn-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:baton.webhooks.http.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "baton.webhooks.http.app:create_app()",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited: {(self.tmp / f'gunicorn-{self.port}.log').read_text()[-3000:]}"
                )
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("gunicorn did not become healthy")

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, no flushing."""
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if getattr(self, "log", None):
            self.log.close()

    def stop(self) -> None:
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except Exception:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()

    def health(self) -> dict[str, Any]:
        import requests

        return dict(requests.get(self.base + "/healthz", timeout=5).json())

    def wait_processed(self, timeout: float = 120.0) -> dict[str, Any]:
        import time

        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            if health.get("inbox_backlog") == 0 or time.monotonic() > deadline:
                return health
            time.sleep(0.2)
