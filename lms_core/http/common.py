"""What every route module of the server shares: the transaction runner, the
signed-in user dependency, the HTTP error, and the request-body base model.

Route modules (:mod:`lms_core.http.app` and its siblings) each add their routes
to the one ``/api`` router through an ``install(router, ctx)`` function, so a
new area of the API is a new file, not a longer ``app.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import pluggy
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from lms_core.db import session_factory
from lms_core.exercises import ExerciseType
from lms_core.services import auth
from lms_core.services.attempts import SubmitResult
from lms_core.services.auth import AuthError, CurrentUser

T = TypeVar("T")

NOT_SIGNED_IN = "chưa đăng nhập / not signed in"

SLUG = Field(min_length=1, max_length=64)
"""A course, lesson or exercise slug in a request body."""
UUID = Field(min_length=1, max_length=36, pattern=r"^[0-9A-Za-z-]+$")
"""A client-made attempt or item id (a UUID) in a request body."""


class Body(BaseModel):
    """Base of every request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Db:
    """One transaction per call: commit on success, roll back on error.

    A failed sign-in is committed too (the service counted it for throttling).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.factory: sessionmaker[Session] = session_factory(engine)
        self._reader = engine.execution_options(sqlite_begin="NONE")

    def read(self, work: Callable[[Connection], T]) -> T:
        """``work``, one read statement, on a plain connection.

        For the session lookup on every request: no ORM session, the engine
        with its options made once, not per call (each cost more than the
        query), and on SQLite no ``BEGIN``: a single statement is consistent
        by itself.  Not for several statements that must agree.
        """
        with self._reader.connect() as connection, connection.begin():
            return work(connection)

    def run(self, work: Callable[[Session], T]) -> T:
        with self.factory() as session:
            return self._transaction(session, work)

    @staticmethod
    def _transaction(session: Session, work: Callable[[Session], T]) -> T:
        try:
            result = work(session)
        except AuthError:
            session.commit()
            raise
        except BaseException:
            session.rollback()
            raise
        session.commit()
        return result

    def run_signed_in(self, token: str, work: Callable[[Session, CurrentUser], T]) -> T:
        """``work`` for the user of session ``token`` (401 if none), in one transaction.

        The learner's hot path: the session lookup and the work share one
        pooled connection (each checkout cost a pool round and a ping).  On
        SQLite the lookup runs before the write transaction, as a lone
        statement: the transaction holds the database's only write lock, and
        every statement kept out of it lets another writer in sooner.  On
        PostgreSQL it is the transaction's first statement.  The coarse
        "last seen" time is written in the same transaction when it is due.
        """
        with self.engine.connect() as connection:
            found: auth.FoundSession | None = None
            early = connection.dialect.name == "sqlite"
            if early:
                connection.execution_options(sqlite_begin="NONE")
                found = auth.find_session(connection, token)
                connection.commit()  # no BEGIN was sent: ends nothing on SQLite's side
                connection.execution_options(sqlite_begin="IMMEDIATE")
                if found is None:
                    raise HttpError(401, NOT_SIGNED_IN)
            with Session(bind=connection, expire_on_commit=False) as session:

                def signed_in(s: Session) -> T:
                    nonlocal found
                    if not early:
                        found = auth.find_session(s, token)
                    if found is None:
                        raise HttpError(401, NOT_SIGNED_IN)
                    if found.stale:
                        auth.touch_session(s, found.user.session_id)
                    return work(s, found.user)

                return self._transaction(session, signed_in)


@dataclass(frozen=True, slots=True)
class Context:
    """What route modules need: the database, the plugins and their exercise types."""

    db: Db
    pm: pluggy.PluginManager
    types: Mapping[str, ExerciseType[Any]]
    language: str = "vi"
    """The site's language: forms rendered for an attempt use it too."""


class HttpError(Exception):
    """An HTTP status with a readable message (``{"error": message}``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def signed_in_user(request: Request) -> CurrentUser:
    """Dependency: the signed-in user, or 401.

    Loaded here, in the route's worker thread, through the finder the
    router's guard leaves on the request (the guard itself reads the
    database only for a CSRF token it cannot check from the cookie, and
    then keeps the user it read).
    """
    user: CurrentUser | None = getattr(request.state, "user", None)
    if user is None:
        user = request.state.find_user()
        request.state.user = user
    if user is None:
        raise HttpError(401, NOT_SIGNED_IN)
    return user


Me = Annotated[CurrentUser, Depends(signed_in_user)]
"""Route parameter: the signed-in user (401 otherwise)."""


def iso(value: Any) -> str | None:
    """An optional date or datetime as ISO 8601, for JSON."""
    return value.isoformat() if value is not None else None


def result_json(result: SubmitResult, *, completed: bool) -> dict[str, Any]:
    """A graded attempt as the browser sees it (submit and sync answer with the same shape)."""
    stored = result.result
    return {
        "attempt_id": result.uuid,
        "state": result.state,
        "score": result.score,
        "max_score": result.max_score,
        "percent": round(result.percent, 4),
        "passed": result.passed,
        "late": result.late,
        "submitted_at": result.submitted_at.isoformat(),
        "feedback": list(stored.get("feedback") or []),
        "questions": [
            {
                "id": q.get("id"),
                "points": q.get("points"),
                "max_points": q.get("max_points"),
                "correct": q.get("correct"),
                "feedback": list(q.get("feedback") or []),
            }
            for q in stored.get("questions") or []
        ],
        "course_completed": completed,
    }
