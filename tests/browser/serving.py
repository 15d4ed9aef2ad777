"""Real gunicorn on loopback for every browser test (the session's seeded server in conftest.py, the admin
page's in test_admin.py, the Hand-offs panel's in test_handoffs_panel.py), and a JWKS the servers trust
for Forge Invocation Tokens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import requests

from tests.integration.api.forge_support import APP_ID, SITE_MAP, Jwks, start_jwks
from tests.integration.webhooks.support import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "browser-test-secret-key-0123456789abcdef"
"""The servers' BATON_SECRET_KEY (share links: `baton.webhooks.http.auth.make_share_token`)."""


@contextmanager
def gunicorn(
    tmp: Path,
    url: str,
    config_path: Path,
    now: datetime,
    jwks: Jwks,
    *,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Real gunicorn on a free loopback port over the database `url` and the configuration file
    `config_path`, with a frozen `now`, trusting `jwks` for Forge Invocation Tokens; `env` adds to its
    environment (the outer environment's BATON_DEMO and BATON_CONFIG_AS_CODE are dropped). Yields its
    base URL; its log is `tmp/gunicorn-<port>.log`."""
    port = free_port()
    environment = {
        **os.environ,
        "BATON_DATABASE_URL": url,
        "BATON_CONFIG": str(config_path),
        "BATON_NOW": now.isoformat(),
        "BATON_SECRET_KEY": SECRET,
        "BATON_BIND": f"127.0.0.1:{port}",
        "BATON_WORKERS": str(workers),
        "BATON_LOG_LEVEL": "warning",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"prom-{port}"),
        "BATON_FORGE_APP_ID": APP_ID,
        "BATON_FORGE_JWKS_URL": jwks.url,
        "BATON_FORGE_SITES": SITE_MAP,
        **(env or {}),
    }
    for name in ("BATON_DEMO", "BATON_CONFIG_AS_CODE"):
        environment.pop(name, None)
    (tmp / f"prom-{port}").mkdir()
    log_path = tmp / f"gunicorn-{port}.log"
    log = open(log_path, "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:baton.webhooks.http.gunicorn_conf",
            "baton.webhooks.http.app:create_app()",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@contextmanager
def trusted_jwks() -> Iterator[Jwks]:
    """A JWKS on loopback that the servers trust for Forge Invocation Tokens."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    jwks, stop_jwks = start_jwks(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    try:
        yield jwks
    finally:
        stop_jwks()
