"""One typed settings object: every BATON_* variable, secrets hidden, bad values named, one clock."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baton.webhooks.settings import Settings, SettingsError

PACKAGE = Path(__file__).resolve().parents[3]
SETTINGS_MODULE = PACKAGE / "webhooks" / "settings.py"
SOURCE_DIRS = ("config", "scoring", "store", "connector", "webhooks")


def test_every_variable_is_read_with_its_documented_default() -> None:
    settings = Settings.from_env({})
    assert (settings.database_url, settings.config_path, settings.mode) == (None, None, "embedded")
    assert settings.config_as_code is False
    assert Settings.from_env({"BATON_CONFIG_AS_CODE": "1"}).config_as_code is True
    assert (settings.max_body_bytes, settings.bench_noop, settings.demo) == (5242880, False, False)
    assert (settings.now, settings.secret_key, settings.forge_app_id) == (None, None, None)
    assert settings.forge_jwks_url == "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
    assert (settings.reconcile_interval_s, settings.log_level, dict(settings.jira)) == (0.0, "INFO", {})
    serving = settings.serving
    assert (serving.bind, serving.threads, serving.worker_connections, serving.timeout) == (
        "127.0.0.1:8000",
        8,
        1000,
        30,
    )
    assert (serving.access_log, settings.worker_class) == (None, "gthread")
    assert (settings.membership_ttl_s, settings.admin_check_ttl_s) == (300, 60)
    assert (settings.admin_token_limit, settings.rate_limit_storage) == ("10 per minute", "memory://")
    assert (settings.rate_limit_prefix, settings.proxy_hops) == ("baton", 0)


def test_values_are_parsed_once() -> None:
    settings = Settings.from_env(
        {
            "BATON_MODE": "Production",
            "BATON_MAX_BODY_BYTES": "1024",
            "BATON_NOW": "2026-03-02T10:00:00+01:00",
            "BATON_FORGE_SITES": "cloud-1=acme, cloud-2=globex",
            "BATON_FRAME_ANCESTORS": "https://jira.example.com https://other.example.com",
            "BATON_RECONCILE_INTERVAL": "15m",
            "BATON_JIRA_URL": "https://acme.atlassian.net",
            "BATON_THREADS": "4",
            "BATON_DEMO": "yes",
            "BATON_ADMIN_CHECK_TTL": "30",
            "BATON_ADMIN_TOKEN_LIMIT": "5/minute",
            "BATON_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379",
            "BATON_PROXY_HOPS": "1",
            "UNRELATED": "x",
        }
    )
    assert (settings.mode, settings.worker_class, settings.max_body_bytes) == ("production", "gevent", 1024)
    assert settings.now == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert dict(settings.forge_sites) == {"cloud-1": "acme", "cloud-2": "globex"}
    assert settings.frame_ancestors == ("https://jira.example.com", "https://other.example.com")
    assert (settings.reconcile_interval_s, settings.serving.threads, settings.demo) == (900.0, 4, True)
    assert dict(settings.jira) == {"BATON_JIRA_URL": "https://acme.atlassian.net"}
    assert (settings.admin_check_ttl_s, settings.admin_token_limit) == (30, "5/minute")
    assert (settings.rate_limit_storage, settings.proxy_hops) == ("redis://127.0.0.1:6379", 1)


def test_secrets_are_never_shown() -> None:
    settings = Settings.from_env(
        {
            "BATON_WEBHOOK_SECRET": "hook-secret-1",
            "BATON_ADMIN_TOKEN": "admin-token-2",
            "BATON_SECRET_KEY": "share-key-3",
            "BATON_JIRA_TOKEN": "jira-token-4",
            "BATON_RATE_LIMIT_STORAGE": "redis://:redis-password-5@127.0.0.1:6379",
        }
    )
    shown = repr(settings) + str(settings.safe_summary())
    assert settings.safe_summary()["rate_limit_storage"] == "redis"
    for secret in ("hook-secret-1", "admin-token-2", "share-key-3", "jira-token-4", "redis-password-5"):
        assert secret not in shown
    assert settings.secret("webhook_secret") == "hook-secret-1"
    assert settings.safe_summary()["default_site_auth"] == "signature"
    assert Settings(admin_token="plain").secret("admin_token") == "plain"  # plain strings are wrapped too


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("BATON_MODE", "fast", "set embedded (default) or production"),
        ("BATON_MAX_BODY_BYTES", "5MB", "set e.g. BATON_MAX_BODY_BYTES=5242880"),
        ("BATON_THREADS", "0", "set e.g. BATON_THREADS=8"),
        ("BATON_NOW", "yesterday", "is not an ISO 8601 time"),
        ("BATON_DEMO", "maybe", "set 1 (on) or 0 (off)"),
        ("BATON_FORGE_SITES", "acme", "set '<cloudId>=<site>,...'"),
        ("BATON_RECONCILE_INTERVAL", "often", "set e.g. 15m or 1h"),
        ("BATON_ADMIN_TOKEN_LIMIT", "often", "set e.g. BATON_ADMIN_TOKEN_LIMIT='10 per minute'"),
        (
            "BATON_RATE_LIMIT_STORAGE",
            "memcached://127.0.0.1:11211",
            "set memory:// (one process) or redis://",
        ),
        ("BATON_RATE_LIMIT_STORAGE", "rediz://:pw@127.0.0.1", "'127.0.0.1' is not a rate-limit store;"),
        ("BATON_PROXY_HOPS", "-1", "set e.g. BATON_PROXY_HOPS=0"),
        ("BATON_ADMIN_CHECK_TTL", "0", "set e.g. BATON_ADMIN_CHECK_TTL=60"),
        ("BATON_PREVIEW_WORKERS", "0", "set e.g. BATON_PREVIEW_WORKERS=2"),
    ],
)
def test_an_invalid_value_names_the_variable_and_what_to_do(variable: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert str(caught.value).startswith(f"{variable}: ")
    assert says in str(caught.value)
    assert caught.value.variable == variable


def test_the_clock_is_pinned_by_baton_now_and_read_once() -> None:
    pinned = Settings.from_env({"BATON_NOW": "2026-03-02T09:00:00"}).clock()
    assert pinned() == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    system = Settings.from_env({}).clock()
    before = datetime.now(UTC)
    assert before <= system() and system().tzinfo is UTC


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines that touch os.environ / os.getenv / getenv."""
    lines = []
    for node in ast.walk(tree):
        attribute_of_os = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        if attribute_of_os and node.attr in {"environ", "getenv"} and node.value.id == "os":  # type: ignore[attr-defined]
            lines.append(node.lineno)
        if isinstance(node, ast.Name) and node.id == "getenv":
            lines.append(node.lineno)
        if isinstance(node, ast.keyword) and node.arg == "envvar":
            lines.append(node.lineno)  # click reading the environment for an option
    return sorted(lines)


def test_no_module_but_the_settings_reads_a_baton_variable() -> None:
    """Any environment access outside webhooks/settings.py may not name a BATON_* variable."""
    offenders = []
    for folder in SOURCE_DIRS:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            if path == SETTINGS_MODULE:
                continue
            source = path.read_text()
            lines = source.splitlines()
            for lineno in _environment_reads(ast.parse(source)):
                line = lines[lineno - 1]
                if "BATON_" in line or "_ENV" in line or "envvar" in line:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{lineno}: {line.strip()}")
    assert offenders == []


def test_the_check_above_can_fail() -> None:
    tree = ast.parse('import os\nx = os.environ.get("BATON_NOW")\ny = os.getenv("BATON_MODE")\n')
    assert _environment_reads(tree) == [2, 3]


def test_the_worker_batch_byte_budget_is_a_setting() -> None:
    from baton.store.inbox import DEFAULT_BATCH_BYTES

    assert Settings.from_env({}).worker_batch_bytes == DEFAULT_BATCH_BYTES == 64 * 1024 * 1024
    assert Settings.from_env({"BATON_WORKER_BATCH_BYTES": "1000"}).worker_batch_bytes == 1000
    with pytest.raises(SettingsError, match="BATON_WORKER_BATCH_BYTES"):
        Settings.from_env({"BATON_WORKER_BATCH_BYTES": "abc"})


def test_preview_workers_default_to_the_cores_unless_set() -> None:
    assert Settings.from_env({}).preview_workers is None  # baton.store.preview.preview_workers decides
    assert Settings.from_env({"BATON_PREVIEW_WORKERS": "1"}).preview_workers == 1
    assert Settings.from_env({"BATON_PREVIEW_WORKERS": " 4 "}).preview_workers == 4
