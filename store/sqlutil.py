"""Small helpers shared by the store modules: dialect-aware INSERT .. ON CONFLICT, chunking, SQLite's
write turns."""

from __future__ import annotations

import fcntl
import os
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


def sqlite_write_lock_path(engine: Any) -> str | None:
    """The file whose `flock` every SQLite writer of Baton takes before writing (None: no file database).

    Writers queued on it are woken by the kernel the moment it is released, where SQLite's busy
    handler sleeps 1-100 ms between tries."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}.write-lock"


class FileLock:
    """An exclusive `flock` on `path` (no-op for None), held for one `with` block.

    The file is opened on first use (after gunicorn forks: a descriptor inherited across a fork
    would share its lock with the parent) and kept open; the kernel drops the lock if the process dies.
    """

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self._path is not None:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
