"""The append-only event log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lms_core.models import Event, utcnow

_INSERT = insert(Event)
"""Built once: one event is written per state change, on the learner server's hot path."""


def record_event(
    session: Session,
    *,
    verb: str,
    object_type: str = "",
    object_id: str = "",
    actor_account_id: int | None = None,
    source: str = "cli",
    data: dict[str, Any] | None = None,
) -> None:
    """Append one event.  ``data`` must hold ids and counts, never personal data.

    Through the session's connection (Core): the ORM's insert path cost more
    than the insert on the learner server's hot path.
    """
    session.connection().execute(
        _INSERT,
        {
            "occurred_at": utcnow(),
            "verb": verb,
            "object_type": object_type,
            "object_id": object_id,
            "actor_account_id": actor_account_id,
            "source": source,
            "data": data or {},
        },
    )
