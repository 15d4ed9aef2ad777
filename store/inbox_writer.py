"""The request path's inbox writer: raw deliveries committed in group commits, before the 2xx.

Its rows are built by `baton.store.delivery_row` (the one row builder and idempotency-key function,
shared with `baton.store.inbox.accept_delivery`).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError

from baton.store.db import DatabaseUnavailable, unavailable_message
from baton.store.delivery_row import DELIVERY_COLUMNS, delivery_row
from baton.store.inbox import PENDING, QUARANTINED
from baton.store.sqlutil import FileLock, sqlite_write_lock_path

_COLUMNS = ", ".join(DELIVERY_COLUMNS) + ", attempts"
MAX_ROWS_PER_STATEMENT = 100
"""Deliveries stored by one INSERT (9 parameters each, well inside both databases' limits)."""


_RETURNING = "ON CONFLICT (site_id, idempotency_key) DO NOTHING RETURNING id, site_id, idempotency_key"
_POSTGRES_INSERT = (
    # One statement text for every batch size: psycopg prepares it once per connection, where a
    # VALUES list per size would be parsed and planned again and again.
    f"INSERT INTO deliveries ({_COLUMNS}) SELECT site, key, source, event, headers, body, received, state, error, 0 "
    "FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::jsonb[], %b::bytea[], "
    "%b::timestamptz[], %b::text[], %b::text[]) "
    "AS batch(site, key, source, event, headers, body, received, state, error) " + _RETURNING
)


@functools.lru_cache(maxsize=MAX_ROWS_PER_STATEMENT)
def _sqlite_insert(rows: int) -> str:
    values = "(?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
    return f"INSERT INTO deliveries ({_COLUMNS}) VALUES {', '.join([values] * rows)} " + _RETURNING


def _insert_sql(dialect: str, rows: int) -> str:
    return _sqlite_insert(rows) if dialect == "sqlite" else _POSTGRES_INSERT


def _insert(dialect: str, batch: list[_Pending]) -> tuple[str, list[Any]]:
    """One autocommitted statement storing `batch`: duplicates are skipped, new ids returned."""
    sql = _insert_sql(dialect, len(batch))
    if dialect == "sqlite":
        return sql, [value for pending in batch for value in pending.params]
    return sql, [list(column) for column in zip(*(p.params for p in batch), strict=True)]  # arrays


_EXISTING_SQL = {
    "sqlite": "SELECT id FROM deliveries WHERE site_id = ? AND idempotency_key = ?",
    "postgresql": "SELECT id FROM deliveries WHERE site_id = %s AND idempotency_key = %s",
}
_SITE_SQL = {
    "sqlite": "INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
    "postgresql": "INSERT INTO sites (id, name, created_at) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
}


class _Pending:
    """One delivery waiting for a group commit."""

    __slots__ = ("done", "error", "key", "params", "result", "site", "wakeup")

    def __init__(self, site: str, key: str, params: tuple[Any, ...]) -> None:
        self.site, self.key, self.params = site, key, params
        self.wakeup: Any = None
        """Followers only: a held lock, released when the delivery is stored or its thread leads."""
        self.done = False
        self.result: tuple[int, bool] | None = None
        self.error: Exception | None = None


class InboxWriter:
    """Commits raw deliveries to the inbox on the request path, as fast as the database allows.

    Writes exactly the rows `baton.store.inbox.accept_delivery` writes (same table, same unique key, same
    duplicate answer, same value encodings as `baton.store.models`), on one driver connection per process
    kept in autocommit mode: no pool checkout, ping, BEGIN, COMMIT or reset round trips, no ORM or
    Core compilation. A single autocommitted statement is committed when it returns, so the 2xx
    still follows the commit.

    Group commit: deliveries arriving while one request (the leader) is writing wait, and the next
    leader stores them all with ONE statement (one round trip, one commit, one WAL flush; about 20
    deliveries per commit under load). One statement matters more than it seems: in threaded
    workers every call into the driver releases the GIL and getting it back means waiting for the
    other request threads, while on SQLite the leader holds the database's write lock. In gevent
    workers (production) the leader first yields once, so requests already read join its commit.
    The contract tests read every row back through `baton.store.models`, so the two cannot drift.

    On SQLite, writers of all processes take turns through an `flock` on a file beside the database:
    the kernel wakes the next writer the moment the lock is free, where SQLite's busy handler would
    sleep 1-100 ms.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._dialect = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
        self._known_sites: set[str] = set()
        lock_path = sqlite_write_lock_path(engine) if self._dialect == "sqlite" else None
        self._write_lock = FileLock(lock_path)
        self._checkpointer = _WalCheckpointer(engine.url.database) if lock_path is not None else None
        # What the driver stores for the headers and the time, as SQLAlchemy would (baton.store.models).
        self._encode_headers: Any
        self._encode_time: Any
        if self._dialect == "postgresql":  # only PostgreSQL deployments import psycopg
            from psycopg.types.json import Jsonb

            self._encode_headers, self._encode_time = Jsonb, None
        else:
            self._encode_headers, self._encode_time = _sqlite_json, _sqlite_time
        self._cooperative = _in_gevent_worker()
        self._held_lock: Any = _held_thread_lock
        self._let_ready_requests_run: Any = None
        if self._cooperative:  # resolved once here, not on every request
            from gevent import sleep
            from gevent.lock import Semaphore

            # gevent's compiled semaphore, created empty: monkey-patched locks are slower.
            self._held_lock = functools.partial(Semaphore, 0)
            self._let_ready_requests_run = functools.partial(sleep, 0)
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._writing = False
        # One connection per process: only the current leader writes, and leaders take turns.
        self._pooled: Any = None
        self._cursor_: Any = None
        # A writer dropped without close() (an app built in a test) still gives its connection back.
        self._finalizer = weakref.finalize(self, _invalidate_quietly, None)

    def close(self) -> None:
        """Close the writer's connection and lock file (tests, shutdown)."""
        with self._queue_lock:
            self._discard()
            self._write_lock.close()
            if self._checkpointer is not None:
                self._checkpointer.close()

    def _cursor(self) -> Any:
        if self._cursor_ is None:
            pooled = self._engine.raw_connection()  # checked out for the life of the writer
            driver = pooled.driver_connection
            if self._dialect == "sqlite":
                driver.isolation_level = None  # autocommit: each statement is its own transaction
                if self._checkpointer is not None:
                    driver.execute("PRAGMA wal_autocheckpoint = 0")  # see _WalCheckpointer
            else:
                driver.autocommit = True
            self._pooled, self._cursor_ = pooled, driver.cursor()
            # The connection's autocommit setting must never reach the pool's other users: it is
            # closed, never returned, however the writer ends.
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _invalidate_quietly, pooled)
        return self._cursor_

    def accept(
        self,
        site: str,
        body: bytes,
        headers: Mapping[str, str],
        idempotency_key: str,
        event: str | None,
        *,
        quarantine_reason: str | None = None,
    ) -> tuple[int, bool]:
        """Store durably; returns (delivery id, duplicate)."""
        state = PENDING if quarantine_reason is None else QUARANTINED
        params = delivery_row(
            site,
            idempotency_key,
            "webhook",
            event,
            headers,
            body,
            datetime.now(UTC),
            state,
            quarantine_reason,
            self._encode_headers,
            self._encode_time,
        )
        key = params[1]  # as stored (truncated): what the insert's RETURNING answers with
        pending = _Pending(site, key, params)
        # One thread (the leader) stores every delivery queued so far in one statement and wakes
        # their threads; if more arrived meanwhile it hands the lead to the first of them instead
        # of looping, so no request waits behind other requests' writes for more than one round.
        with self._queue_lock:
            leader = not self._writing
            if not leader:
                pending.wakeup = self._held_lock()
            self._queue.append(pending)
            self._writing = True
        if not leader:
            pending.wakeup.acquire()
        if not pending.done:  # leader, or handed the lead
            if self._let_ready_requests_run is not None:
                # A gevent worker: let the requests that are ready reach this queue first, so they
                # share this commit (the write itself blocks the worker's only OS thread).
                self._let_ready_requests_run()
            with self._queue_lock:
                batch, self._queue = self._queue, []
            try:
                self._write(batch)
            finally:
                for other in batch:
                    if not other.done:  # only if _write itself was interrupted
                        other.error, other.done = RuntimeError("inbox write interrupted"), True
                    if other is not pending:
                        other.wakeup.release()
                with self._queue_lock:
                    if self._queue:
                        self._queue[0].wakeup.release()  # not done: it leads the next round
                    else:
                        self._writing = False
            if self._checkpointer is not None:
                self._checkpointer.stored(len(batch), self._cooperative)
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _write(self, batch: list[_Pending]) -> None:
        """Stores `batch` with one statement per `MAX_ROWS_PER_STATEMENT` deliveries."""
        for start in range(0, len(batch), MAX_ROWS_PER_STATEMENT):
            self._write_statement(batch[start : start + MAX_ROWS_PER_STATEMENT])

    def _write_statement(self, batch: list[_Pending]) -> None:
        dialect = self._dialect
        try:
            # Inside the try: a lost database fails here too (a stale pooled connection, a refused
            # reconnect), and every delivery of the batch must get the same typed answer.
            cursor = self._cursor()
            with self._write_lock:
                for site in {p.site for p in batch} - self._known_sites:
                    cursor.execute(_SITE_SQL[dialect], (site, site, batch[0].params[6]))
                cursor.execute(*_insert(dialect, batch))
                stored = {(site, key): int(row_id) for row_id, site, key in cursor.fetchall()}
            # Outside the lock: the same key twice in one batch is stored once (the first is new),
            # and a key stored earlier is a duplicate whose existing id is looked up.
            for pending in batch:
                row_id = stored.pop((pending.site, pending.key), None)
                if row_id is None:
                    cursor.execute(_EXISTING_SQL[dialect], (pending.site, pending.key))
                    pending.result = (int(cursor.fetchone()[0]), True)
                else:
                    pending.result = (row_id, False)
                pending.done = True
        except Exception as error:
            self._discard()
            failure: Exception = error
            if isinstance(error, DBAPIError | self._engine.dialect.loaded_dbapi.Error):
                # the store's typed "unavailable" error (HTTP 503 + Retry-After): nothing was stored
                original = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
                failure = DatabaseUnavailable(unavailable_message(self._engine.url, original))
                failure.__cause__ = error
            for pending in batch:
                if not pending.done:
                    pending.error, pending.done = failure, True
            return
        self._known_sites.update(p.site for p in batch)

    def _discard(self) -> None:
        """Drop the connection (broken, or in an unknown state); the next write reconnects."""
        pooled, self._pooled, self._cursor_ = self._pooled, None, None
        self._finalizer.detach()
        _invalidate_quietly(pooled)


def _sqlite_json(headers: dict[str, str]) -> str:
    return orjson.dumps(headers).decode()


def _sqlite_time(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _held_thread_lock() -> Any:
    """A lock already held: `acquire()` waits for another thread's `release()` (cheaper than an Event)."""
    lock = threading.Lock()
    lock.acquire()
    return lock


def _in_gevent_worker() -> bool:
    """True when threads are gevent greenlets (gunicorn's gevent worker patches threading first)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def _invalidate_quietly(pooled: Any) -> None:
    import warnings

    if pooled is None:
        return
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "already closed": the engine was disposed first
        pooled.invalidate()


class _WalCheckpointer:
    """SQLite: checkpoints the receivers' WAL outside the write lock, from a connection of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses the threshold, while that
    writer holds the write lock, so every writer of every process waited for it (about 10 % of
    SQLite ingest throughput, bench/README.md). Here the inbox writer's connection does not checkpoint; after
    about every `EVERY_ROWS` stored deliveries, the leader that crossed the mark runs a PASSIVE
    checkpoint (it never blocks writers) once its followers have their answers: in a native thread in
    a gevent worker, so the worker keeps serving. Other connections (workers, the embedded drainer)
    keep SQLite's default. A failed checkpoint is logged and retried at the next mark; the deliveries
    are already committed.
    """

    EVERY_ROWS = 1000

    def __init__(self, database: str) -> None:
        self._database = database
        self._rows = 0
        self._running = threading.Lock()
        self._connection: Any = None

    def stored(self, rows: int, cooperative: bool) -> None:
        self._rows += rows
        if self._rows < self.EVERY_ROWS or not self._running.acquire(blocking=False):
            return
        try:
            self._rows = 0
            if cooperative:
                import gevent

                gevent.get_hub().threadpool.apply(self._checkpoint)
            else:
                self._checkpoint()
        finally:
            self._running.release()

    def _checkpoint(self) -> None:
        import sqlite3

        try:
            if self._connection is None:
                from baton.store.db import SQLITE_BUSY_TIMEOUT_MS

                self._connection = sqlite3.connect(
                    self._database,
                    timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:
            import logging

            logging.getLogger("baton.webhooks.inbox").warning(
                "WAL checkpoint failed; retried later",
                extra={"event": "wal_checkpoint_failed", "error": str(error)[:200]},
            )
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
