"""Schema migrations (Alembic, shipped inside the package) and version checks.

A database is usable only at exactly the code's head revision.  Older: the
user runs ``lms db upgrade``.  Newer (made by a later release): we refuse,
because writing with old code into a new schema loses data silently.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from lms_core.db import check_connection
from lms_core.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in the database, or None for an empty database."""
    check_connection(engine)
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _known(revision: str) -> bool:
    script = ScriptDirectory.from_config(_alembic_config())
    return any(rev.revision == revision for rev in script.walk_revisions())


def _newer_error(revision: str) -> DatabaseError:
    return DatabaseError(
        f"the database is at schema revision {revision}, which this version of "
        "taphuan does not know: it was created by a newer release. Upgrade the "
        "software ('pip install -U taphuan') instead of using this one."
    )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the head revision; returns (before, after)."""
    before = current_revision(engine)
    if before is not None and not _known(before):
        raise _newer_error(before)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, head_revision()


def ensure_current(engine: Engine) -> None:
    """Raise a clear :class:`DatabaseError` unless the schema is at head."""
    revision = current_revision(engine)
    head = head_revision()
    if revision == head:
        return
    if revision is None:
        raise DatabaseError(
            "the database has no tables yet (run 'lms db upgrade', or 'lms init' for a new project)"
        )
    if not _known(revision):
        raise _newer_error(revision)
    raise DatabaseError(
        f"the database schema is older than this code ({revision} < {head}): run 'lms db upgrade'"
    )
