"""Small helpers shared by the store modules: dialect-aware INSERT .. ON CONFLICT, chunking, SQLite's
write turns."""

from __future__ import annotations

import fcntl
import gc
import os
import threading
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
    """An exclusive `flock` on `path` (no-op for None), held for one `with` block by one thread at a time.

    The file is opened on first use (after gunicorn forks: a descriptor inherited across a fork
    would share its lock with the parent) and kept open; the kernel drops the lock if the process dies.
    An `flock` belongs to the open file, not to a thread: two threads sharing the descriptor would both
    get it at once, and the first to leave would unlock it under the other (or, opening the file
    twice on first use, leave it locked for good: four workers in one process hung that way). So a
    thread lock comes first: between this process's threads the `with` block is a mutex too.
    """

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._fd: int | None = None
        self._threads = threading.Lock()

    def __enter__(self) -> None:
        if self._path is None:
            return
        self._threads.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        if self._path is None:
            return
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def driver_rows(session: Session, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of one query run on the DBAPI cursor of the session's connection (its transaction), as the
    driver's own tuples: for the bulk reads of re-derivation and preview, where SQLAlchemy's result rows
    cost more than the query. `sql` uses `?` placeholders (`placeholders` rewrites them)."""
    cursor = session.connection().connection.cursor()
    collecting = gc.isenabled()
    gc.disable()  # a fetch creates one tuple per row and no cycles: no collector passes over them
    try:
        cursor.execute(_paramstyle(session, sql), tuple(params))
        return list(cursor.fetchall())
    finally:
        if collecting:
            gc.enable()
        cursor.close()


def _paramstyle(session: Session, sql: str) -> str:
    """`?` placeholders for SQLite's driver, `%s` for psycopg's (the SQL of `driver_rows` and
    `driver_insert` is written without `%` or `?` in literals)."""
    return sql if dialect_name(session) == "sqlite" else sql.replace("?", "%s")


def driver_insert(
    session: Session, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert `rows` (driver-ready values: str, int, float, bool, None; datetimes as the dialect stores
    them) into `table` in the session's transaction: one `executemany` on SQLite, `COPY ... FROM STDIN`
    on PostgreSQL. No SQLAlchemy type processing runs: the caller has converted the values."""
    if not rows:
        return
    names = ", ".join(columns)
    if dialect_name(session) == "postgresql":
        driver = session.connection().connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    cursor = session.connection().connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})", rows)
    finally:
        cursor.close()
