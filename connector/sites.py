"""Jira sites and how Baton authenticates to each one.

A *site* is one Jira tenant Baton talks to: Jira Cloud (`https://<name>.atlassian.net`) or a Jira
Data Center base URL. Several sites can be configured at once; every row Baton stores carries its site
name. Credentials come from the environment (documented in docs/jira-connector.md) or from rows of the
sites table; they are never logged: `repr()`, `str()` and every error message redact them.

Environment, for the site called `default`:

    BATON_JIRA_URL          base URL, e.g. https://acme.atlassian.net or https://jira.acme.example
    BATON_JIRA_EMAIL        Cloud: the account's e-mail  } basic auth with an API token
    BATON_JIRA_TOKEN        Cloud: the API token         }
    BATON_JIRA_OAUTH_TOKEN  Cloud: an OAuth 2.0 (3LO) access token, sent as a bearer token
    BATON_JIRA_PAT          Data Center: a personal access token, sent as a bearer token
    BATON_JIRA_FLAVOUR      optional: `cloud` or `datacenter` (default: datacenter when a PAT is set,
                            cloud otherwise)

and for any other site `S`, the same names with the site inserted: `BATON_JIRA_<S>_URL`,
`BATON_JIRA_<S>_EMAIL`, ... (`S` upper-cased, anything but letters and digits turned into `_`).
`BATON_JIRA_SITES=a,b` lists extra site names to load from the environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

Flavour = Literal["cloud", "datacenter"]
AuthKind = Literal["basic", "oauth", "pat"]

DEFAULT_SITE = "default"
ENV_PREFIX = "BATON_JIRA"
REDACTED = "***"


class SiteConfigError(ValueError):
    """A site is missing settings or has inconsistent ones. The message says which variable to set."""


@dataclass(frozen=True)
class Site:
    """One Jira tenant and its credentials. `secret` never appears in repr/str."""

    name: str
    url: str
    flavour: Flavour
    auth: AuthKind
    email: str | None = None
    secret: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", self.url.rstrip("/"))

    @property
    def is_cloud(self) -> bool:
        return self.flavour == "cloud"

    def __repr__(self) -> str:
        who = f", email={self.email!r}" if self.email else ""
        return f"Site(name={self.name!r}, url={self.url!r}, flavour={self.flavour}, auth={self.auth}{who}, secret={REDACTED})"

    __str__ = __repr__

    def describe(self) -> str:
        """One line for humans: where and how, never the secret."""
        how = {
            "basic": f"API token of {self.email}",
            "oauth": "OAuth bearer token",
            "pat": "personal access token",
        }
        return (
            f"{self.name}: {self.url} (Jira {'Cloud' if self.is_cloud else 'Data Center'}, {how[self.auth]})"
        )

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `atlassian.Jira` (holds the secret: never log the result)."""
        kwargs: dict[str, Any] = {"url": self.url, "cloud": self.is_cloud}
        if self.auth == "basic":
            kwargs.update(username=self.email, password=self.secret)
        else:
            kwargs["token"] = self.secret
        return kwargs

    def redact(self, text: str) -> str:
        """`text` with this site's secret (and its basic-auth encoding) replaced by ***."""
        return redact_secrets(text, [self.secret])


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    # Basic-auth and bearer headers, whatever secret they carry.
    text = re.sub(r"(?i)(authorization\s*[:=]\s*['\"]?)(basic|bearer)\s+[^\s'\"]+", r"\1\2 " + REDACTED, text)
    return text


def _env_key(site: str, suffix: str) -> str:
    if site == DEFAULT_SITE:
        return f"{ENV_PREFIX}_{suffix}"
    return f"{ENV_PREFIX}_{re.sub(r'[^A-Za-z0-9]', '_', site).upper()}_{suffix}"


def env_key(site: str, suffix: str) -> str:
    """The environment variable of `site`'s setting `suffix` (`URL`, `EMAIL`, `TOKEN`, ...)."""
    return _env_key(site, suffix)


def _infer_flavour(url: str, explicit: str | None, has_pat: bool) -> Flavour:
    if explicit:
        value = explicit.strip().lower().replace(" ", "").replace("-", "")
        if value in {"cloud"}:
            return "cloud"
        if value in {"datacenter", "dc", "server"}:
            return "datacenter"
        raise SiteConfigError(f"flavour '{explicit}' is neither 'cloud' nor 'datacenter'")
    if has_pat:
        return "datacenter"
    return "cloud"


def build_site(
    name: str,
    url: str | None,
    *,
    email: str | None = None,
    token: str | None = None,
    oauth_token: str | None = None,
    pat: str | None = None,
    flavour: str | None = None,
    source: str = "settings",
) -> Site:
    """Validate one site's settings; errors name the setting to fix (`source` says where it came from)."""
    if not url:
        raise SiteConfigError(f"site '{name}': no Jira URL ({source}: set {_env_key(name, 'URL')})")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SiteConfigError(f"site '{name}': '{url}' is not an http(s) URL")
    kind = _infer_flavour(url, flavour, bool(pat))
    if kind == "datacenter":
        if not pat:
            raise SiteConfigError(
                f"site '{name}': Jira Data Center needs a personal access token ({source}: set {_env_key(name, 'PAT')})"
            )
        return Site(name, url, "datacenter", "pat", None, pat)
    if oauth_token:
        return Site(name, url, "cloud", "oauth", None, oauth_token)
    if email and token:
        return Site(name, url, "cloud", "basic", email, token)
    missing = _env_key(name, "EMAIL") if token else _env_key(name, "TOKEN")
    raise SiteConfigError(
        f"site '{name}': Jira Cloud needs an e-mail and API token, or an OAuth token "
        f"({source}: set {missing}{'' if token or email else ' and ' + _env_key(name, 'EMAIL')}, "
        f"or {_env_key(name, 'OAUTH_TOKEN')})"
    )


def site_from_env(name: str, env: Mapping[str, str]) -> Site:
    def get(suffix: str) -> str | None:
        value = env.get(_env_key(name, suffix), "").strip()
        return value or None

    return build_site(
        name,
        get("URL"),
        email=get("EMAIL"),
        token=get("TOKEN"),
        oauth_token=get("OAUTH_TOKEN"),
        pat=get("PAT"),
        flavour=get("FLAVOUR"),
        source="environment",
    )


def site_from_row(row: Mapping[str, Any] | Any, env: Mapping[str, str] | None = None) -> Site:
    """A site from a row of the sites table (a mapping or an ORM object).

    Recognised columns: `name`, `url` (or `base_url`/`jira_url`), `flavour`, `email`, and the secret either
    inline (`token`, `oauth_token`, `pat`) or in a JSON column `credentials` with those keys. A secret whose
    value is `env:NAME` is read from the environment variable NAME, so the database need not hold it.
    """

    def col(*names: str) -> Any:
        for key in names:
            value = row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)
            if value not in (None, ""):
                return value
        return None

    creds = col("credentials") or {}
    if isinstance(creds, str):
        creds = json.loads(creds)
    env = env or {}

    def secret(key: str) -> str | None:
        value = col(key) or creds.get(key)
        if isinstance(value, str) and value.startswith("env:"):
            return env.get(value[4:]) or None
        return value

    name = str(col("name", "site", "site_id") or DEFAULT_SITE)
    return build_site(
        name,
        col("url", "base_url", "jira_url"),
        email=col("email") or creds.get("email"),
        token=secret("token"),
        oauth_token=secret("oauth_token"),
        pat=secret("pat"),
        flavour=col("flavour", "flavor", "deployment"),
        source="sites table",
    )


def sites_from_env(env: Mapping[str, str]) -> dict[str, Site]:
    """Every site configured in the environment (the default one only if BATON_JIRA_URL is set)."""
    sites: dict[str, Site] = {}
    if env.get(_env_key(DEFAULT_SITE, "URL")):
        sites[DEFAULT_SITE] = site_from_env(DEFAULT_SITE, env)
    for name in filter(None, (n.strip() for n in env.get(f"{ENV_PREFIX}_SITES", "").split(","))):
        sites[name] = site_from_env(name, env)
    return sites


def resolve_site(name: str, env: Mapping[str, str], rows: Iterable[Any] = ()) -> Site:
    """The site called `name`: from the environment first, then from the sites table rows.

    A row may carry only the URL (`base_url`); its credentials then come from the environment variables
    of that site (`BATON_JIRA_<S>_TOKEN`...), so the database never needs to hold a secret."""
    if env.get(_env_key(name, "URL")):
        return site_from_env(name, env)
    for row in rows:
        row_name = row.get("name") if isinstance(row, Mapping) else getattr(row, "name", None)
        if row_name == name:
            merged = (
                dict(row)
                if isinstance(row, Mapping)
                else {"name": name, "url": getattr(row, "base_url", None)}
            )
            for suffix, key in (
                ("EMAIL", "email"),
                ("TOKEN", "token"),
                ("OAUTH_TOKEN", "oauth_token"),
                ("PAT", "pat"),
                ("FLAVOUR", "flavour"),
            ):
                if not merged.get(key) and env.get(_env_key(name, suffix)):
                    merged[key] = env[_env_key(name, suffix)]
            return site_from_row(merged, env)
    raise SiteConfigError(
        f"site '{name}' is not configured: set {_env_key(name, 'URL')} and its credentials "
        "(see docs/jira-connector.md), or add it to the sites table"
    )
