"""SQLite writers queue at ``<database>-writers`` before ``BEGIN IMMEDIATE`` (lms_core.db).

Each test looks at the real lock file from outside, with its own file
descriptor, the way another process would: the queue is held exactly while
a write transaction is open, and never makes a writer wait longer than
SQLite's own busy timeout would.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from lms_core import db
from lms_core.db import WRITERS_SUFFIX, QueuedConnection, make_engine

fcntl = pytest.importorskip("fcntl", reason="the writers' queue uses flock (not on Windows)")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "q.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    yield engine, path
    engine.dispose()


def _queue_taken(path: Path) -> bool:
    """Whether someone holds the writers' lock (tried without waiting)."""
    fd = os.open(str(path) + WRITERS_SUFFIX, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also drops the lock if it was taken here
    return False


def test_a_write_transaction_holds_the_queue_until_commit(database: tuple[Engine, Path]) -> None:
    engine, path = database
    with engine.connect() as conn:
        assert isinstance(conn.connection.dbapi_connection, QueuedConnection)
        assert not _queue_taken(path)
        with conn.begin():
            conn.execute(text("INSERT INTO t (who) VALUES ('a')"))
            assert _queue_taken(path)
        assert not _queue_taken(path)


def test_rollback_and_errors_release_the_queue(database: tuple[Engine, Path]) -> None:
    engine, path = database
    with pytest.raises(ZeroDivisionError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('a')"))
        assert _queue_taken(path)
        _ = 1 / 0
    assert not _queue_taken(path)
    with engine.begin() as conn:  # and the next writer goes in at once
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_reads_do_not_queue(database: tuple[Engine, Path]) -> None:
    engine, path = database
    with engine.execution_options(sqlite_begin="DEFERRED").begin() as conn:
        conn.execute(text("SELECT count(*) FROM t"))
        assert not _queue_taken(path)
    with engine.execution_options(sqlite_begin="NONE").connect() as conn:
        conn.execute(text("SELECT count(*) FROM t"))
        assert not _queue_taken(path)


def test_a_second_writer_waits_in_the_queue_and_goes_in_after_the_commit(
    database: tuple[Engine, Path],
) -> None:
    engine, path = database
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait()
        with engine.begin() as conn:
            order.append("second begins")
            conn.execute(text("INSERT INTO t (who) VALUES ('second')"))

    thread = threading.Thread(target=second)
    thread.start()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('first')"))
        first_in.set()
        time.sleep(0.3)  # the second writer is waiting meanwhile
        assert _queue_taken(path) and order == []
        order.append("first commits")
    thread.join(10)
    assert order == ["first commits", "second begins"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM t ORDER BY id")).scalars().all() == [
            "first",
            "second",
        ]


def test_a_stuck_queue_never_waits_longer_than_the_busy_timeout(
    database: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone holds the queue but not SQLite's lock: after the timeout the writer goes on."""
    engine, path = database
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    fd = os.open(str(path) + WRITERS_SUFFIX, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (who) VALUES ('past the queue')"))
        waited = time.monotonic() - started
    finally:
        os.close(fd)
    assert waited >= 0.2  # it did wait for the queue, up to the timeout, then went on
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM t")).scalar() == "past the queue"


def test_a_killed_writer_frees_the_queue(database: tuple[Engine, Path]) -> None:
    engine, path = database
    script = textwrap.dedent(
        f"""
        import sys, time
        from sqlalchemy import text
        from lms_core.db import make_engine
        engine = make_engine({f"sqlite:///{path}"!r})
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (who) VALUES ('killed')"))
            print("in", flush=True)
            time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"in"
        assert _queue_taken(path)
    finally:
        child.kill()
        child.wait()
    assert not _queue_taken(path)
    with engine.begin() as conn:  # its transaction is gone, and writing works at once
        conn.execute(text("INSERT INTO t (who) VALUES ('after')"))
        assert conn.execute(text("SELECT who FROM t")).scalars().all() == ["after"]


def test_no_queue_where_there_is_no_file(tmp_path: Path) -> None:
    memory = make_engine("sqlite://")
    with memory.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    memory.dispose()
    # a lock file that cannot be made (here: its folder does not exist): no queue, no wait
    raw = sqlite3.connect(":memory:", factory=QueuedConnection)
    raw.open_queue(str(tmp_path / "missing" / "x.db"))
    started = time.monotonic()
    assert raw.join_writers(timeout=5) is False
    assert time.monotonic() - started < 1
    raw.execute("CREATE TABLE t (x INTEGER)")
    raw.commit()
    raw.close()


def test_a_connection_dropped_without_close_frees_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "gc.db"
    raw = sqlite3.connect(str(path), factory=QueuedConnection)
    raw.open_queue(str(path))
    assert raw.join_writers(timeout=1) is True
    assert _queue_taken(path)
    del raw
    gc.collect()
    assert not _queue_taken(path)
