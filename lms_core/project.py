"""Projects: create one (``lms init``) and open its database safely.

Opening is where a wrong URL, an unreachable server or a schema from
another release is caught, once, with a message that says what to do.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from lms_core.config import CONFIG_NAME, Project, load_config, render_config_template
from lms_core.db import make_engine
from lms_core.errors import ConfigError
from lms_core.schema import ensure_current, upgrade


def init_project(
    folder: Path, *, database_url: str = "", language: str = "vi", force: bool = False
) -> Project:
    """Write a commented ``lms.toml`` in ``folder`` (made if needed) and migrate its database.

    An existing ``lms.toml`` is kept unless ``force``: ``lms init`` run twice
    must not throw away someone's settings.
    """
    if language not in ("vi", "en"):
        raise ConfigError(f"language must be 'vi' or 'en', not '{language}'")
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / CONFIG_NAME
    if not config_path.exists() or force:
        config_path.write_text(
            render_config_template(database_url=database_url, language=language),
            encoding="utf-8",
        )
    (folder / "courses").mkdir(exist_ok=True)
    project = load_config(config_path)
    engine = make_engine(project.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return project


def open_database(project: Project, *, migrate: bool = False) -> Engine:
    """An engine for the project's database, checked to be at this code's schema.

    With ``migrate`` the schema is brought up to date first (``lms db upgrade``).
    """
    engine = make_engine(project.database_url)
    try:
        if migrate:
            upgrade(engine)
        else:
            ensure_current(engine)
    except Exception:
        engine.dispose()
        raise
    return engine
