"""Engines and sessions, with the SQLite settings that make it safe to share.

SQLite is the embedded default, so it must behave under concurrent writers:
WAL lets readers work while one writer writes, ``busy_timeout`` makes a second
writer wait instead of failing, and every transaction starts with ``BEGIN
IMMEDIATE`` so a writer takes its lock up front instead of failing half-way
with "database is locked" when it upgrades a read lock.  PostgreSQL needs none
of this and goes through the same code.

Writers also queue at a lock file beside the database (``<database>-writers``,
empty) before ``BEGIN IMMEDIATE``: see :class:`QueuedConnection`.
"""

from __future__ import annotations

import gc
import io
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from lms_core.errors import DatabaseError

SQLITE_BUSY_TIMEOUT_MS = 10_000
WRITERS_SUFFIX = "-writers"
"""Name of the writers' lock file: the database file's name plus this."""
QUEUE_POLL_SECONDS = (0.0001, 0.001)
"""First and longest pause between two tries of the writers' lock."""


class QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions first queue at a lock file.

    Why: SQLite lets one writer in at a time, and a writer that finds the
    lock taken sleeps in SQLite's busy handler for 1, 2, 5, 10 … 100 ms
    before it looks again; nothing wakes it when the lock frees.  Under
    load (``lms serve`` with several workers) the lock then often sits free
    while every waiter sleeps, and those sleeps were the p99 of the load
    benchmark.  Here a writer takes an ``flock`` on ``<database>-writers``
    first: one cheap system call per try (no SQLite work, no GIL held while
    it sleeps), retried every 0.1 ms at first and at most every 1 ms, so the
    next writer goes in within a fraction of a millisecond of the commit.

    The queue lock is held from just before ``BEGIN IMMEDIATE`` to just
    after ``COMMIT`` or ``ROLLBACK`` (or close), and the kernel drops it if
    the process dies.  A writer that cannot get it within the busy timeout
    goes on without it, to SQLite's own lock and busy handler, so the
    queue never waits longer than SQLite alone would.  Writers that do not
    use this class (the ``sqlite3`` shell, another program) simply do not
    queue: SQLite's lock still keeps them apart.  Where there is no
    ``fcntl`` (Windows), or the lock file cannot be opened (a read-only
    folder, an in-memory database), nothing queues.
    """

    _queue: io.FileIO | None = None
    """The lock file, open for reading (a file object: closed with this connection, or
    when it is collected without a close)."""
    _queued = False

    def open_queue(self, database: str) -> None:
        """Use ``database + WRITERS_SUFFIX`` as the queue (silently none if impossible)."""
        if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
            return
        try:
            fd = os.open(database + WRITERS_SUFFIX, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return
        self._queue = io.FileIO(fd, "r")

    def join_writers(self, *, timeout: float) -> bool:
        """Wait for the queue's lock (at most ``timeout`` seconds); whether it is held."""
        if self._queue is None or self._queued:
            return self._queued
        pause, longest = QUEUE_POLL_SECONDS
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._queue.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 1.5, longest)
            except OSError:
                return False  # not a lock this file system supports: SQLite alone
            else:
                self._queued = True
                return True

    def leave_writers(self) -> None:
        if self._queued and self._queue is not None:
            self._queued = False
            fcntl.flock(self._queue.fileno(), fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_writers()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_writers()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_writers()
            if self._queue is not None:
                self._queue.close()  # closing the file drops its lock too
                self._queue = None


def redact_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def _install_sqlite_hooks(engine: Engine) -> None:
    database = engine.url.database or ""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, QueuedConnection):
            dbapi_connection.open_queue(database)
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode loses at most the last transactions on power loss,
        # never corrupts; FULL costs an fsync per commit.  Records are precious:
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode == "NONE":  # each statement on its own (a single read)
            return
        raw = connection.connection.dbapi_connection
        queued = isinstance(raw, QueuedConnection) and mode in ("IMMEDIATE", "EXCLUSIVE")
        if queued:
            raw.join_writers(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            if queued:
                raw.leave_writers()
            raise


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` with the project's settings.

    Raises :class:`DatabaseError` for a malformed URL or a missing driver;
    reachability is checked by :func:`check_connection`.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database_url {url!r} is not a valid URL "
            "(examples: sqlite:///lms.db, postgresql+psycopg://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(f"unsupported database {backend!r}: use sqlite or postgresql")
    kwargs: dict[str, Any] = {"echo": echo}
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "postgresql":
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 10}
        # lms serve answers up to ~40 requests at once per process (the
        # threadpool); SQLAlchemy's default 5 + 10 made the rest open and close
        # connections under load.  10 kept + 30 at peaks per process: two
        # workers stay below PostgreSQL's default of 100 connections.
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 30
    if backend == "sqlite" and parsed.get_driver_name() == "pysqlite":
        kwargs["connect_args"] = {"factory": QueuedConnection}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError):
        raise DatabaseError(
            f"no driver for {parsed.drivername}: install the extra with "
            "'pip install \"taphuan[postgres]\"'"
        ) from None
    if backend == "sqlite":
        _install_sqlite_hooks(engine)
    return engine


def check_connection(engine: Engine) -> None:
    """Connect once, turning driver errors into a readable :class:`DatabaseError`."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"cannot open the database {redact_url(str(engine.url))}: {reason} "
            "(check database_url in lms.toml, and that the server is running)"
        ) from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory; callers own transactions (``with factory.begin() as s:``)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def read_only(engine: Engine) -> Iterator[Session]:
    """A session for reads only: on SQLite it begins DEFERRED so it never blocks writers."""
    ro = engine.execution_options(sqlite_begin="DEFERRED")
    with Session(ro) as session, session.begin():
        yield session


def execute_many(
    session: Session, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Execute an INSERT or UPDATE once per row, as fast as the driver allows.

    For rows of plain values (str, int, None; no types needing conversion),
    and constants in ``.values()`` that are plain too or SQL expressions
    (see :func:`lms_core.models.sql_timestamp`).
    On SQLite the statement is compiled once and handed to the driver's
    ``executemany`` directly: SQLAlchemy's per-row parameter processing cost
    more than the insert itself on 100,000-row imports (benchmarks/).  Other
    engines take the ordinary Core path, which batches rows into multi-row
    statements.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        connection.execute(statement, list(rows))
        return
    compiled = statement.compile(dialect=connection.dialect, column_keys=list(rows[0]))
    keys = compiled.positiontup or []
    constants = compiled.params  # plain values given in .values(), same for every row
    connection.exec_driver_sql(
        compiled.string,
        [tuple(row[k] if k in row else constants[k] for k in keys) for row in rows],
    )


@contextmanager
def bulk_work() -> Iterator[None]:
    """Pause the cyclic garbage collector during a bulk import.

    An import keeps every row alive until it commits, so each automatic
    collection rescans a growing heap for cycles that are not there; pausing
    it cut a 100,000-row staff import by a third (benchmarks/).  Reference
    counting still frees memory as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
