"""Whether an account is a Jira administrator (`POST /rest/api/3/permissions/check`, validated against
the OpenAPI contract both ways by this folder's `jira` fixture), and the answer's cache."""

from __future__ import annotations

import pytest

from baton.connector.client import JiraPermissionError, JiraRateLimited, JiraUnavailable
from baton.connector.permissions import PERMISSIONS_PATH, AdminCache, InteractiveRetry, is_jira_admin
from baton.connector.sites import SiteConfigError
from tests.contract.connector.conftest import JiraMock


def test_administer_is_read_from_the_bulk_permission_check(jira: JiraMock) -> None:
    jira.standin.global_permissions.update(
        {"pmo-admin": ["ADMINISTER"], "sysadmin": ["SYSTEM_ADMIN"], "dev-user": ["USER_PICKER"]}
    )
    jira.standin.user_groups["grouped-user"] = ["developers"]
    client = jira.client()
    assert is_jira_admin(client, "pmo-admin") is True
    assert is_jira_admin(client, "sysadmin") is True  # System administrator implies Administer Jira
    assert is_jira_admin(client, "dev-user") is False
    assert is_jira_admin(client, "grouped-user") is False  # a user with no global permission
    assert is_jira_admin(client, "nobody") is False  # Jira answers 400 (invalid account id): no admin
    assert jira.calls("POST", PERMISSIONS_PATH)[0][2] == {
        "accountId": "pmo-admin",
        "globalPermissions": ["ADMINISTER"],
    }
    assert len(jira.calls("POST", PERMISSIONS_PATH)) == 5


def test_a_service_account_that_is_no_admin_cannot_ask(jira: JiraMock) -> None:
    jira.standin.caller_is_admin = False
    jira.standin.global_permissions["pmo-admin"] = ["ADMINISTER"]
    with pytest.raises(JiraPermissionError):
        is_jira_admin(jira.client(), "pmo-admin")


def test_jira_down_raises_after_one_short_retry(jira: JiraMock) -> None:
    jira.standin.global_permissions["pmo-admin"] = ["ADMINISTER"]
    jira.standin.fail_from_request = 0  # every request answered 503
    waits: list[float] = []
    client = jira.client(retry=InteractiveRetry(sleep=waits.append))
    with pytest.raises(JiraUnavailable):
        is_jira_admin(client, "pmo-admin")
    assert len(jira.calls("POST", PERMISSIONS_PATH)) == 2
    assert len(waits) == 1 and 0.5 <= waits[0] <= 0.75


def test_a_long_retry_after_is_not_waited_out(jira: JiraMock) -> None:
    jira.standin.global_permissions["pmo-admin"] = ["ADMINISTER"]
    jira.standin.rate_limit_every, jira.standin.retry_after = 1, "120"
    waits: list[float] = []
    with pytest.raises(JiraRateLimited):
        is_jira_admin(jira.client(retry=InteractiveRetry(sleep=waits.append)), "pmo-admin")
    assert waits == [2.0]


def test_a_data_center_site_cannot_confirm_an_admin(jira: JiraMock) -> None:
    with pytest.raises(SiteConfigError, match="Jira Data Center"):
        is_jira_admin(jira.client(jira.dc_site()), "pmo-admin")
    assert jira.sent == []


def test_the_cache_keeps_the_answer_for_its_ttl() -> None:
    now = [0.0]
    cache = AdminCache(60, clock=lambda: now[0])
    calls: list[str] = []

    def fetch() -> bool:
        calls.append("x")
        return True

    for t in (0.0, 59.0):
        now[0] = t
        assert cache.get("acme", "pmo-admin", fetch) is True
    assert len(calls) == 1
    cache.get("globex", "pmo-admin", fetch)  # per site
    now[0] = 60.0
    cache.get("acme", "pmo-admin", fetch)  # expired
    assert len(calls) == 3

    def down() -> bool:
        raise JiraUnavailable("down")

    with pytest.raises(JiraUnavailable):
        cache.get("acme", "other", down)
    assert cache.get("acme", "other", lambda: False) is False  # a failure was not cached
