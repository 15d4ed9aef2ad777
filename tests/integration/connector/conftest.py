"""The connector's integration tests use the same contract-checked Jira mock as its contract tests."""

from tests.contract.connector.conftest import jira, standin

__all__ = ["jira", "standin"]
