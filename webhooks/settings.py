"""The service's settings, read once from the environment and passed into `create_app`.

| variable | meaning | default |
|---|---|---|
| `BATON_DATABASE_URL` | database | `sqlite:///baton.db` in the working directory |
| `BATON_CONFIG` | PMO configuration YAML | none (deliveries are stored, not processed) |
| `BATON_WEBHOOK_SECRET` | HMAC secret of the default site's Jira webhook | none |
| `BATON_WEBHOOK_TOKEN` | URL token (`?token=`) of the default site, for Jira DC without a secret | none |
| `BATON_ADMIN_TOKEN` | bearer token for `/api/inbox` | none (endpoint disabled) |
| `BATON_MODE` | `embedded` (process in the serving process) or `production` (`baton worker` processes) | `embedded` |
| `BATON_MAX_BODY_BYTES` | largest accepted delivery | 5 MiB |
| `BATON_BENCH_NOOP` | enable `/bench/noop` (benchmark ceiling) | off |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

Mode = Literal["embedded", "production"]

DEFAULT_SITE = "default"
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
_TRUE = {"1", "true", "yes", "on"}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    """None: `baton.store.db.resolve_database_url` picks the default SQLite file."""
    config_path: str | None = None
    webhook_secret: str | None = None
    webhook_token: str | None = None
    admin_token: str | None = None
    mode: Mode = "embedded"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    bench_noop: bool = False
    background_processing: bool = True
    """Embedded mode only: drain the inbox in a background thread after each commit. Tests switch
    it off and drain explicitly."""
    demo: bool = False

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        mode = mode_from_env(env)
        limit = env.get("BATON_MAX_BODY_BYTES")
        settings = cls(
            database_url=_optional(env.get("BATON_DATABASE_URL")),
            config_path=_optional(env.get("BATON_CONFIG")),
            webhook_secret=_optional(env.get("BATON_WEBHOOK_SECRET")),
            webhook_token=_optional(env.get("BATON_WEBHOOK_TOKEN")),
            admin_token=_optional(env.get("BATON_ADMIN_TOKEN")),
            mode=mode,  # type: ignore[arg-type]
            max_body_bytes=int(limit) if limit else DEFAULT_MAX_BODY_BYTES,
            bench_noop=_flag(env.get("BATON_BENCH_NOOP")),
            demo=_flag(env.get("BATON_DEMO")),
        )
        return replace(settings, **overrides) if overrides else settings

    def safe_summary(self) -> dict[str, Any]:
        """What may be logged: which credentials are set, never their values."""
        return {
            "mode": self.mode,
            "config": self.config_path,
            "default_site_auth": "signature"
            if self.webhook_secret
            else "url"
            if self.webhook_token
            else "none",
            "inbox_api_enabled": bool(self.admin_token),
            "max_body_bytes": self.max_body_bytes,
        }


def mode_from_env(environ: Mapping[str, str]) -> str:
    """`BATON_MODE`: embedded (default) or production; anything else is refused."""
    mode = (environ.get("BATON_MODE") or "embedded").strip().lower()
    if mode not in ("embedded", "production"):
        raise ValueError(f"BATON_MODE must be 'embedded' or 'production', not '{mode}'")
    return mode


def worker_class_for(environ: Mapping[str, str]) -> str:
    """The gunicorn worker class: gevent in production mode (receive only: pure I/O), gthread in
    embedded mode (it also re-derives in process); `BATON_WORKER_CLASS` overrides both."""
    production = mode_from_env(environ) == "production"
    return environ.get("BATON_WORKER_CLASS") or ("gevent" if production else "gthread")
