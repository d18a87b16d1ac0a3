"""Shared fixtures: every database test runs on a real SQLite file, and on a real
PostgreSQL server when LMS_TEST_DATABASE_URL is set (CI sets it).

PostgreSQL tests share one database; each test gets its own schema (through
``search_path`` in the URL), dropped afterwards, so tests never see each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from lms_cli import main
from lms_core.config import Project
from lms_core.db import session_factory
from lms_core.project import init_project, open_database

PG_URL = os.environ.get("LMS_TEST_DATABASE_URL", "")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not PG_URL, reason="LMS_TEST_DATABASE_URL is not set (no PostgreSQL server to test)"
        ),
    ),
]


@pytest.fixture(autouse=True)
def _own_key_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing keys made by a test (``lms demo`` makes one) go to the test's own
    folder, never to the home directory of whoever runs the tests."""
    if "LMS_KEY_DIR" not in os.environ:
        monkeypatch.setenv("LMS_KEY_DIR", str(tmp_path / "signing-keys"))


@pytest.fixture
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The issuer's key folder of a test that makes or reads keys (``LMS_KEY_DIR``)."""
    folder = tmp_path / "keys"
    monkeypatch.setenv("LMS_KEY_DIR", str(folder))
    return folder


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'lms.db').as_posix()}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def project(tmp_path: Path, db_url: str) -> Project:
    """An initialised project (lms.toml + migrated database) in tmp_path/proj."""
    return init_project(tmp_path / "proj", database_url=db_url)


@pytest.fixture
def engine(project: Project) -> Iterator[Engine]:
    eng = open_database(project)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside one transaction that the test may commit."""
    with session_factory(engine).begin() as s:
        yield s


class Cli:
    """Runs ``lms`` in-process against the test project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        assert self.project.config_path is not None
        return self.runner.invoke(
            main,
            ["--config", str(self.project.config_path), *args],
            input=input,
            catch_exceptions=False,
        )


@pytest.fixture
def cli(project: Project) -> Cli:
    return Cli(project)


def write(path: Path, text_: str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(text_.encode(encoding))
    return path
