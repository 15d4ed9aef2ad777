"""Every `BATON_*` setting, read once from the environment into one typed `Settings` value.

Nothing else in the package reads the environment for a `BATON_*` name (a test checks): the app factory,
the worker, gunicorn's configuration and each CLI command build `Settings` once and pass it, the `Clock`
built from it and the PMO configuration loaded with it down to what needs them.

| variable | meaning | default |
|---|---|---|
| `BATON_DATABASE_URL` | database | `sqlite:///baton.db` in the working directory |
| `BATON_CONFIG` | PMO configuration YAML: the default of sites with no published version | none (deliveries are stored, not processed) |
| `BATON_CONFIG_AS_CODE` | the file is the truth for every site; published versions are not applied and the admin page is read-only (`baton serve --config FILE` sets it) | off |
| `BATON_WEBHOOK_SECRET` | HMAC secret of the default site's Jira webhook | none |
| `BATON_WEBHOOK_TOKEN` | URL token (`?token=`) of the default site, for Jira DC without a secret | none |
| `BATON_ADMIN_TOKEN` | bearer token for `/api/inbox` and the PMO's admin page (`/admin`, `/api/v1/admin/...`) | none (both disabled) |
| `BATON_MODE` | `embedded` (the server processes too, in a process of its own) or `production` (`baton worker` processes) | `embedded` |
| `BATON_MAX_BODY_BYTES` | largest accepted delivery | 5 MiB |
| `BATON_WORKER_BATCH_BYTES` | body bytes claimed per processing batch (embedded drainer, `baton worker`) | 64 MiB |
| `BATON_BENCH_NOOP` | enable `/bench/noop` (benchmark ceiling) | off |
| `BATON_DEMO` | demo mode: loopback requests read without a credential | off |
| `BATON_NOW` | pin the clock (ISO 8601; demos and tests) | the system clock |
| `BATON_SECRET_KEY` | HMAC key of share links | a random key per process |
| `BATON_FORGE_APP_ID`, `BATON_FORGE_JWKS_URL`, `BATON_FORGE_SITES` | Forge Remote calls | off, Atlassian's JWKS, none |
| `BATON_FRAME_ANCESTORS` | extra origins allowed to frame the gadget pages | none |
| `BATON_PLUGIN_DIST` | a gadget bundle to serve instead of the packaged one | the packaged bundle |
| `BATON_RECONCILE_INTERVAL` | reconcile with Jira every `15m`, `1h`... | off |
| `BATON_JIRA_*` | Jira sites and credentials (docs/jira-connector.md) | none |
| `BATON_ALERT_*` | alert targets' secret URLs and signing keys, named by the YAML's `url_env`/`secret_env` | none |
| `BATON_MEMBERSHIP_TTL` | how long a user's Jira groups are cached for verdict permissions (seconds) | 300 |
| `BATON_ADMIN_CHECK_TTL` | how long Jira's answer "is this account a Jira administrator" is cached for the Forge admin page (seconds) | 60 |
| `BATON_ADMIN_TOKEN_LIMIT` | wrong admin tokens accepted per client address (sign-in form, admin API, inbox API) before 429 | `10 per minute` |
| `BATON_RATE_LIMIT_STORAGE` | where those counts live: `memory://` (per process) or a shared store such as `redis://127.0.0.1:6379` (one count for every worker and host) | `memory://` |
| `BATON_RATE_LIMIT_PREFIX` | prefix of the counts' keys in a shared store (services sharing one Redis) | `baton` |
| `BATON_PROXY_HOPS` | reverse proxies in front of the service whose `X-Forwarded-For` gives the client address | 0 |
| `BATON_LOG_LEVEL` | log level | `info` |
| `BATON_BIND`, `BATON_WORKERS`, `BATON_WORKER_CLASS`, `BATON_THREADS`, `BATON_WORKER_CONNECTIONS`, `BATON_TIMEOUT`, `BATON_ACCESS_LOG` | gunicorn (`webhooks/http/gunicorn_conf.py`) | see docs/operations.md |

Secrets are `SecretStr`: their values never appear in a repr, a log line or `safe_summary`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import SecretStr

from baton.connector.forge import DEFAULT_JWKS_URL, parse_site_map
from baton.connector.reconcile import parse_interval
from baton.store.inbox import DEFAULT_BATCH_BYTES

Mode = Literal["embedded", "production"]
Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime; built once from the settings and passed down."""

DEFAULT_SITE = "default"
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_THREADS = 8
DEFAULT_WORKER_CONNECTIONS = 1000
DEFAULT_TIMEOUT_S = 30
DEFAULT_ADMIN_TOKEN_LIMIT = "10 per minute"
DEFAULT_RATE_LIMIT_STORAGE = "memory://"
RATE_LIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
"""The stores `BATON_RATE_LIMIT_STORAGE` may name: in memory, or Redis (its client is a dependency)."""
JIRA_PREFIX = "BATON_JIRA_"
ALERT_PREFIX = "BATON_ALERT_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class SettingsError(ValueError):
    """A `BATON_*` variable has a value Baton cannot use. The message names it and says what to set."""

    def __init__(self, variable: str, problem: str, hint: str) -> None:
        super().__init__(f"{variable}: {problem}; {hint}")
        self.variable = variable
        self.hint = hint


class JiraEnvironment(Mapping[str, str]):
    """The `BATON_JIRA_*` variables (site names are part of the variable names, so they cannot be
    fields). A mapping for `baton.connector.sites`; its repr never shows a value."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = {k: v for k, v in values.items() if k.startswith(JIRA_PREFIX)}

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"JiraEnvironment({sorted(self._values)})"


class AlertEnvironment(Mapping[str, str]):
    """The `BATON_ALERT_*` variables: alert targets' secret URLs and signing keys, which the PMO
    configuration names (`url_env`, `secret_env`) but never holds. Its repr never shows a value."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = {k: v for k, v in values.items() if k.startswith(ALERT_PREFIX) and v.strip()}

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"AlertEnvironment({sorted(self._values)})"


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _secret(value: str | SecretStr | None) -> SecretStr | None:
    if isinstance(value, SecretStr):
        return value if value.get_secret_value() else None
    text = _optional(value)
    return SecretStr(text) if text else None


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (env.get(name) or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(name, f"{value!r} is not on or off", "set 1 (on) or 0 (off), or unset it")


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise SettingsError(
            name, f"{text!r} is not a whole number >= {minimum}", f"set e.g. {name}={default}"
        )
    return value


def _optional_integer(env: Mapping[str, str], name: str, example: int) -> int | None:
    """A whole number >= 1, or None when unset (the default is computed where it is used)."""
    return _integer(env, name, example) if (env.get(name) or "").strip() else None


def _timestamp(env: Mapping[str, str], name: str) -> datetime | None:
    text = (env.get(name) or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise SettingsError(
            name,
            f"{text!r} is not an ISO 8601 time",
            f"set e.g. {name}=2026-03-02T09:00:00+00:00, or unset it",
        ) from error
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _mode(env: Mapping[str, str]) -> Mode:
    mode = (env.get("BATON_MODE") or "embedded").strip().lower()
    if mode == "embedded":
        return "embedded"
    if mode == "production":
        return "production"
    raise SettingsError("BATON_MODE", f"{mode!r} is not a mode", "set embedded (default) or production")


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse

    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        parse(text)
    except ValueError as error:
        raise SettingsError(
            name, f"{text!r} is not a rate limit", f"set e.g. {name}='{default}' (or 10/minute, 50/hour)"
        ) from error
    return text


def _rate_limit_storage(env: Mapping[str, str]) -> str:
    name = "BATON_RATE_LIMIT_STORAGE"
    text = (env.get(name) or "").strip()
    if not text:
        return DEFAULT_RATE_LIMIT_STORAGE
    scheme, sep, _ = text.partition("://")
    if not sep or scheme not in RATE_LIMIT_SCHEMES:
        shown = text.partition("@")[2] or scheme or text  # never a password of the URL
        raise SettingsError(
            name,
            f"{shown!r} is not a rate-limit store",
            "set memory:// (one process) or redis://HOST:6379 (shared by every worker)",
        )
    return text


def _checked(name: str, parse: Callable[[str], Any], text: str, hint: str) -> None:
    try:
        parse(text)
    except ValueError as error:
        raise SettingsError(name, str(error), hint) from error


def system_clock() -> datetime:
    return datetime.now(UTC)


def pinned_clock(at: datetime) -> Clock:
    """A clock that always answers `at` (BATON_NOW: demos and tests)."""
    fixed = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    return lambda: fixed


@dataclass(frozen=True)
class ServingSettings:
    """gunicorn's knobs (`baton.webhooks.http.gunicorn_conf`)."""

    bind: str = DEFAULT_BIND
    workers: int = field(default_factory=lambda: 2 * (os.cpu_count() or 1) + 1)
    worker_class: str | None = None
    """None: gevent in production mode, gthread in embedded mode (see `Settings.worker_class`)."""
    threads: int = DEFAULT_THREADS
    worker_connections: int = DEFAULT_WORKER_CONNECTIONS
    timeout: int = DEFAULT_TIMEOUT_S
    access_log: str | None = None


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    """None: `baton.store.db.resolve_database_url` picks the default SQLite file."""
    config_path: str | None = None
    config_as_code: bool = False
    """Configuration as code: `config_path` rules every site, published versions are stored but not
    applied, and the admin page is read-only (docs/configuration.md, "Precedence")."""
    webhook_secret: SecretStr | None = None
    webhook_token: SecretStr | None = None
    admin_token: SecretStr | None = None
    mode: Mode = "embedded"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    preview_workers: int | None = None
    """Processes one preview of a draft configuration spreads a site over (None: one per core,
    `baton.store.preview.preview_workers`)."""
    worker_batch_bytes: int = DEFAULT_BATCH_BYTES
    """A processing batch is loaded and parsed at once: this bounds a worker's memory (a batch always
    takes at least one delivery, whatever its size)."""
    bench_noop: bool = False
    background_processing: bool = True
    """Embedded mode only: drain the inbox in a background thread after each commit. Tests switch
    it off and drain explicitly."""
    demo: bool = False
    now: datetime | None = None
    """BATON_NOW: the pinned time of `clock()`; None = the system clock."""
    secret_key: SecretStr | None = None
    forge_app_id: str | None = None
    forge_jwks_url: str = DEFAULT_JWKS_URL
    forge_sites: Mapping[str, str] = field(default_factory=dict)
    frame_ancestors: tuple[str, ...] = ()
    plugin_dist: str | None = None
    reconcile_interval_s: float = 0.0
    jira: JiraEnvironment = field(default_factory=lambda: JiraEnvironment({}))
    alerts: AlertEnvironment = field(default_factory=lambda: AlertEnvironment({}))
    membership_ttl_s: int = 300
    """How long a user's Jira groups are cached when checking who may give a team's verdict."""
    admin_check_ttl_s: int = 60
    """How long Jira's answer to "is this account a Jira administrator" is cached (Forge admin page)."""
    admin_token_limit: str = DEFAULT_ADMIN_TOKEN_LIMIT
    """Wrong admin tokens accepted per client address and window (`limits` notation) before 429."""
    rate_limit_storage: str = field(default=DEFAULT_RATE_LIMIT_STORAGE, repr=False)
    """Where the rate limits count: `memory://` (per process) or a shared store (`redis://...`; may hold
    the store's password, so it is not in the repr)."""
    rate_limit_prefix: str = "baton"
    proxy_hops: int = 0
    """Reverse proxies in front whose `X-Forwarded-For` is trusted for the client address."""
    log_level: str = "INFO"
    serving: ServingSettings = field(default_factory=ServingSettings)

    def __post_init__(self) -> None:
        # Callers (tests, `baton inbox`) may pass plain strings; they are kept as secrets all the same.
        for name in ("webhook_secret", "webhook_token", "admin_token", "secret_key"):
            object.__setattr__(self, name, _secret(getattr(self, name)))

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @property
    def worker_class(self) -> str:
        """gevent in production mode (receive only: pure I/O), gthread in embedded mode (it also
        re-derives in process); `BATON_WORKER_CLASS` overrides both."""
        return self.serving.worker_class or ("gthread" if self.embedded else "gevent")

    def clock(self) -> Clock:
        """The process's clock: pinned by BATON_NOW, else the system clock."""
        return pinned_clock(self.now) if self.now is not None else system_clock

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every `BATON_*` variable; SettingsError names the first one that is invalid."""
        env = os.environ if environ is None else environ
        forge_sites = env.get("BATON_FORGE_SITES", "")
        _checked("BATON_FORGE_SITES", parse_site_map, forge_sites, "set '<cloudId>=<site>,...' or unset it")
        interval = env.get("BATON_RECONCILE_INTERVAL", "")
        _checked("BATON_RECONCILE_INTERVAL", parse_interval, interval, "set e.g. 15m or 1h, or 0 for off")
        settings = cls(
            database_url=_optional(env.get("BATON_DATABASE_URL")),
            config_path=_optional(env.get("BATON_CONFIG")),
            config_as_code=_flag(env, "BATON_CONFIG_AS_CODE"),
            webhook_secret=_secret(env.get("BATON_WEBHOOK_SECRET")),
            webhook_token=_secret(env.get("BATON_WEBHOOK_TOKEN")),
            admin_token=_secret(env.get("BATON_ADMIN_TOKEN")),
            mode=_mode(env),
            max_body_bytes=_integer(env, "BATON_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            worker_batch_bytes=_integer(env, "BATON_WORKER_BATCH_BYTES", DEFAULT_BATCH_BYTES),
            preview_workers=_optional_integer(env, "BATON_PREVIEW_WORKERS", example=2),
            bench_noop=_flag(env, "BATON_BENCH_NOOP"),
            demo=_flag(env, "BATON_DEMO"),
            now=_timestamp(env, "BATON_NOW"),
            secret_key=_secret(env.get("BATON_SECRET_KEY")),
            forge_app_id=_optional(env.get("BATON_FORGE_APP_ID")),
            forge_jwks_url=_optional(env.get("BATON_FORGE_JWKS_URL")) or DEFAULT_JWKS_URL,
            forge_sites=parse_site_map(forge_sites),
            frame_ancestors=tuple((env.get("BATON_FRAME_ANCESTORS") or "").split()),
            plugin_dist=_optional(env.get("BATON_PLUGIN_DIST")),
            reconcile_interval_s=parse_interval(interval),
            jira=JiraEnvironment(env),
            alerts=AlertEnvironment(env),
            membership_ttl_s=_integer(env, "BATON_MEMBERSHIP_TTL", 300),
            admin_check_ttl_s=_integer(env, "BATON_ADMIN_CHECK_TTL", 60),
            admin_token_limit=_rate_limit(env, "BATON_ADMIN_TOKEN_LIMIT", DEFAULT_ADMIN_TOKEN_LIMIT),
            rate_limit_storage=_rate_limit_storage(env),
            rate_limit_prefix=_optional(env.get("BATON_RATE_LIMIT_PREFIX")) or "baton",
            proxy_hops=_integer(env, "BATON_PROXY_HOPS", 0, minimum=0),
            log_level=(_optional(env.get("BATON_LOG_LEVEL")) or "INFO").upper(),
            serving=ServingSettings(
                bind=_optional(env.get("BATON_BIND")) or DEFAULT_BIND,
                workers=_integer(env, "BATON_WORKERS", 2 * (os.cpu_count() or 1) + 1),
                worker_class=_optional(env.get("BATON_WORKER_CLASS")),
                threads=_integer(env, "BATON_THREADS", DEFAULT_THREADS),
                worker_connections=_integer(env, "BATON_WORKER_CONNECTIONS", DEFAULT_WORKER_CONNECTIONS),
                timeout=_integer(env, "BATON_TIMEOUT", DEFAULT_TIMEOUT_S),
                access_log=_optional(env.get("BATON_ACCESS_LOG")),
            ),
        )
        return replace(settings, **overrides) if overrides else settings

    def secret(self, name: str) -> str | None:
        """The plain value of secret field `name`, for the one place that must compare or sign with it."""
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else None

    def safe_summary(self) -> dict[str, Any]:
        """What may be logged: which credentials are set, never their values."""
        return {
            "mode": self.mode,
            "config": self.config_path,
            "config_as_code": self.config_as_code,
            "default_site_auth": "signature"
            if self.webhook_secret
            else "url"
            if self.webhook_token
            else "none",
            "inbox_api_enabled": bool(self.admin_token),
            "admin_page": "token" if self.admin_token else "forge only" if self.forge_app_id else "off",
            "max_body_bytes": self.max_body_bytes,
            "rate_limit_storage": self.rate_limit_storage.partition("://")[0],
            "clock": "pinned" if self.now is not None else "system",
        }
