from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text

from lms_core.config import Project
from lms_core.db import check_connection, make_engine, session_factory
from lms_core.errors import DatabaseError
from lms_core.models import OrgUnit, utcnow
from lms_core.project import init_project, open_database
from lms_core.schema import current_revision, ensure_current, head_revision, upgrade


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    engine.dispose()


def test_schema_at_head_after_init(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    ensure_current(engine)


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    assert upgrade(engine) == (head_revision(), head_revision())


def test_database_newer_than_code_is_refused(engine: Engine, project: Project) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'zz99_future'"))
    with pytest.raises(DatabaseError, match="newer release"):
        open_database(project)
    with pytest.raises(DatabaseError, match="newer release"):
        open_database(project, migrate=True)


def test_empty_database_asks_for_upgrade(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseError, match="lms db upgrade"):
        ensure_current(engine)
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a valid URL"),
        ("mysql://x@localhost/db", "unsupported database"),
    ],
)
def test_bad_urls(url: str, expected: str) -> None:
    with pytest.raises(DatabaseError, match=expected):
        make_engine(url)


def test_unreachable_server_is_a_clear_error() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseError, match="cannot open the database") as info:
        check_connection(engine)
    assert "lms.toml" in str(info.value)


def test_unopenable_sqlite_path(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="cannot open the database"):
        init_project(tmp_path / "p", database_url=f"sqlite:///{tmp_path}/missing/dir/x.db")


def test_concurrent_writers_do_not_fail_with_locked(engine: Engine) -> None:
    """Eight threads write at once; BEGIN IMMEDIATE + busy_timeout serialise them."""
    factory = session_factory(engine)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                with factory.begin() as s:
                    count = s.scalar(select(text("count(*)")).select_from(OrgUnit)) or 0
                    s.execute(
                        insert(OrgUnit).values(
                            code=f"T{n}-{i}-{count}",
                            name="x",
                            kind="unit",
                            path="/",
                            depth=0,
                            created_at=utcnow(),
                            updated_at=utcnow(),
                        )
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(select(text("count(*)")).select_from(OrgUnit)).scalar() == 40


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    """Every table, column and index the models declare is what the migrations
    make (on both engines), so a model change without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from lms_core.models import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []
