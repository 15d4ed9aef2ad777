"""`baton share-link` prints a link the server accepts for exactly one site."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from baton.webhooks.cli import main
from baton.webhooks.http.auth import verify_share_token


def test_prints_a_link_for_one_site(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_SECRET_KEY", "k" * 32)
    result = CliRunner().invoke(
        main,
        ["share-link", "--site", "acme", "--base-url", "https://baton.example.com/", "--gadget", "matrix"],
    )
    assert result.exit_code == 0, result.output
    url = urlparse(result.output.strip())
    assert (url.scheme, url.netloc, url.path) == ("https", "baton.example.com", "/gadgets/matrix")
    token = parse_qs(url.query)["share"][0]
    assert verify_share_token(b"k" * 32, token) == "acme"


def test_needs_the_servers_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATON_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["share-link", "--token-only"])
    assert result.exit_code == 2
    assert "BATON_SECRET_KEY" in result.output
