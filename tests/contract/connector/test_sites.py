"""Sites and credentials: environment and sites-table resolution, errors that name the variable, redaction."""

from __future__ import annotations

import pytest

from baton.connector.sites import SiteConfigError, resolve_site, site_from_env, sites_from_env


def test_cloud_basic_from_env_is_redacted() -> None:
    env = {
        "BATON_JIRA_URL": "https://acme.atlassian.net/",
        "BATON_JIRA_EMAIL": "ops@acme.test",
        "BATON_JIRA_TOKEN": "tok-123456",
    }
    site = site_from_env("default", env)
    assert (site.url, site.flavour, site.auth) == ("https://acme.atlassian.net", "cloud", "basic")
    assert (
        "tok-123456" not in repr(site)
        and "tok-123456" not in str(site)
        and "tok-123456" not in site.describe()
    )
    assert site.client_kwargs()["password"] == "tok-123456"
    assert (
        site.redact("Authorization: Basic b3BzOnRvay0xMjM0NTY= and tok-123456")
        == "Authorization: Basic *** and ***"
    )


def test_oauth_and_data_center_and_named_sites() -> None:
    env = {
        "BATON_JIRA_URL": "https://acme.atlassian.net",
        "BATON_JIRA_OAUTH_TOKEN": "oauth-abcdef",
        "BATON_JIRA_SITES": "onprem",
        "BATON_JIRA_ONPREM_URL": "https://jira.acme.test",
        "BATON_JIRA_ONPREM_PAT": "pat-abcdef",
    }
    sites = sites_from_env(env)
    assert sites["default"].auth == "oauth" and sites["default"].client_kwargs()["token"] == "oauth-abcdef"
    assert (sites["onprem"].flavour, sites["onprem"].auth) == ("datacenter", "pat")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "BATON_JIRA_URL"),
        ({"BATON_JIRA_URL": "https://a.atlassian.net", "BATON_JIRA_EMAIL": "x@y"}, "BATON_JIRA_TOKEN"),
        ({"BATON_JIRA_URL": "https://jira.x", "BATON_JIRA_FLAVOUR": "datacenter"}, "BATON_JIRA_PAT"),
        ({"BATON_JIRA_URL": "ftp://nope"}, "not an http"),
    ],
)
def test_missing_settings_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SiteConfigError, match=names):
        resolve_site("default", env)


def test_sites_table_row_with_secret_from_env() -> None:
    rows = [{"name": "acme", "url": "https://acme.atlassian.net"}]
    env = {"BATON_JIRA_ACME_EMAIL": "ops@acme.test", "BATON_JIRA_ACME_TOKEN": "tok-987654"}
    site = resolve_site("acme", env, rows)
    assert site.url == "https://acme.atlassian.net" and site.auth == "basic" and site.email == "ops@acme.test"
    with pytest.raises(SiteConfigError, match="BATON_JIRA_OTHER_URL"):
        resolve_site("other", env, rows)
