"""CLI commands (placeholder: filled in by the area that owns them)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Attach this module's commands to the `baton` group."""
