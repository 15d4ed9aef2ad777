"""Baton: internal service levels for Jira hand-offs.

The one import package. Its subpackages are the repository's top-level folders (`config/`,
`scoring/`, `store/`, `connector/`, `webhooks/`), linked in as `baton/<name>`; see
docs/architecture.md, "One import package".
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("baton")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0+unknown"
