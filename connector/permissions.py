"""Whether a Jira account is a Jira administrator of its site: `POST /rest/api/3/permissions/check`
(Atlassian's "Get bulk permissions") with `{"accountId": ..., "globalPermissions": ["ADMINISTER"]}`,
answered per (site, account) from a short-lived cache.

The admin page's Forge calls use it (`webhooks/http/admin.py`): Jira shows the `jira:adminPage` module
to Jira administrators only, and the service checks again that the Forge Invocation Token's account
holds the *Administer Jira* global permission before it lets the call read or publish anything.

Jira answers this question about *another* account only to a caller that holds Administer Jira itself:
the site's `BATON_JIRA_*` account must be a Jira administrator, else Jira answers 403
(`JiraPermissionError`). An account id Jira does not know is answered 400 (`JiraBadRequest`): such an
account is no administrator. docs/plugin.md ("The admin page") and docs/jira-connector.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tenacity import RetryCallState

from baton.connector.client import JiraBadRequest, JiraClient, RetryPolicy
from baton.connector.membership import AccountCache
from baton.connector.sites import SiteConfigError, env_key

log = logging.getLogger("baton.connector.permissions")

PERMISSIONS_PATH = "/rest/api/3/permissions/check"
ADMINISTER = "ADMINISTER"
"""Jira's global permission *Administer Jira* (Jira's *System administrator* implies it)."""
CHECK_TIMEOUT_S = 10
"""A permission check runs inside a request to the service: it waits this long for Jira, not a minute."""


@dataclass(frozen=True)
class InteractiveRetry(RetryPolicy):
    """One retry at most, after at most `maximum` seconds (a `Retry-After` longer than that is not
    waited out: the caller answers 503 with its own `Retry-After` instead)."""

    attempts: int = 2
    initial: float = 0.5
    maximum: float = 2.0
    jitter: float = 0.25

    def wait(self, state: RetryCallState) -> float:
        return min(self.maximum, super().wait(state))


class AdminCache(AccountCache[bool]):
    """Whether an account is a Jira administrator, per (site, account), for `ttl_s` seconds."""


def is_jira_admin(client: JiraClient, account: str) -> bool:
    """Whether `account` holds Administer Jira on the client's site (Jira Cloud only).

    Raises `SiteConfigError` for a Data Center site (its REST API has no bulk permission check for
    another user), and the client's `JiraError`s but `JiraBadRequest` (an account Jira does not know),
    which is answered False."""
    if not client.site.is_cloud:
        raise SiteConfigError(
            f"site '{client.site.name}' is Jira Data Center: only a Jira Cloud site (Forge) can confirm "
            f"a Jira administrator (set {env_key(client.site.name, 'URL')} to the Cloud site's URL)"
        )
    try:
        answer = client.request(
            "POST", PERMISSIONS_PATH, json={"accountId": account, "globalPermissions": [ADMINISTER]}
        )
    except JiraBadRequest as error:
        log.warning(
            "Jira refused the permission check of an account: taken as no administrator (%s)",
            error,
            extra={"event": "jira_admin_check_refused", "site": client.site.name},
        )
        return False
    granted = answer.get("globalPermissions") if isinstance(answer, dict) else None
    return isinstance(granted, list) and ADMINISTER in granted
