"""Small helpers shared by the store modules: dialect-aware INSERT .. ON CONFLICT, chunking."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

T = TypeVar("T")

CHUNK = 500
"""Rows or bound parameters per statement, well below SQLite's and PostgreSQL's limits."""


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_for(session: Session, model: Any) -> Any:
    """`INSERT` for the session's dialect, with `.on_conflict_do_nothing()` / `.on_conflict_do_update()`."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def unique(items: Iterable[T]) -> list[T]:
    """Items without repeats, first occurrence order kept."""
    return list(dict.fromkeys(items))


def as_list(items: Sequence[T] | Iterable[T] | None) -> list[T] | None:
    return None if items is None else list(items)
