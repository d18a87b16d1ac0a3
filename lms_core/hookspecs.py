"""The hooks a plugin may implement (pluggy, project name ``lms``).

A plugin is a module or object with functions named like these, decorated
with :data:`hookimpl`, exposed through the ``lms`` entry-point group::

    [project.entry-points.lms]
    myplugin = "my_package.plugin"

First-party plugins (``lms_quiz``, ``lms_certificates``) register exactly the
same way.  See ``docs/plugins.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pluggy

from lms_core.errors import Problem

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy.orm import Session

    from lms_core.config import Project
    from lms_core.exercises import ExerciseType
    from lms_core.http.common import Context

PROJECT_NAME = "lms"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def lms_exercise_types() -> list[ExerciseType[Any]]:  # type: ignore[empty-body]
    """The exercise types this plugin offers.

    Called once when the plugin manager is built.  Each type's ``name`` is the
    fence name authors write (```` ```quiz ````); two plugins offering the same
    name is an error reported by :func:`lms_core.plugins.exercise_types`.
    """


@hookspec
def lms_course_loaded(course: Any) -> list[Problem] | None:
    """A course was read and validated; return extra problems (usually warnings).

    Called by ``lms course check`` and before publishing, after the core's own
    checks, with the loaded course object.  Returning ``None`` or ``[]`` means
    nothing to add; an ``error`` problem blocks publishing.
    """


@hookspec
def lms_site_built(project: Project, output_dir: Path) -> list[Path] | None:
    """The static site was written to ``output_dir``; the plugin may add files.

    Return the paths written (relative to ``output_dir``) so the build can
    list them and budget them; ``None`` means nothing was added.
    """


@hookspec
def lms_completion_recorded(session: Session, completion: Any) -> None:
    """A course completion was just recorded, inside the caller's transaction.

    Called exactly once per completion; work done with ``session`` commits or
    rolls back with it (the certificates plugin issues certificates here).
    """


@hookspec
def lms_cli_commands() -> list[click.Command]:  # type: ignore[empty-body]
    """Commands (or groups) to add to the ``lms`` command line.

    Called when the CLI starts.  A command's name must not clash with a
    built-in command or another plugin's.
    """


@dataclass(frozen=True, slots=True)
class ApiRoutes:
    """Routes a plugin adds to the server's API (the result of :func:`lms_api_routes`).

    ``router``'s paths are relative to ``/api``.  ``public`` lists full paths
    (``"/api/…"``) of state-changing routes that work without signing in, as
    sign-in does: they must be sent as JSON from the site's own origin, and
    get no CSRF check.  Every other route is behind the same guard as the
    core's (a ``POST`` needs a session and its CSRF token).
    """

    router: APIRouter
    public: frozenset[str] = frozenset()


@hookspec
def lms_api_routes(ctx: Context) -> ApiRoutes | None:
    """Routes to add to ``lms serve``'s ``/api``, or ``None``.

    Called once when the server's application is built, with the context
    the core's own route modules get (database, plugins, exercise types).
    The routes are added after the core's, before the catch-all "no such
    endpoint"; a path the core already serves is answered by the core.
    """
