"""the Open Badges (RS256) public keys get their own table

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

The certificates plugin first recorded its RSA public keys as event-log
rows (verb ``ob3_key.created`` / ``ob3_key.rotated``, ``data`` the JWK's
``n`` and ``e``), because ``signing_key`` fits 32-byte Ed25519 keys only.
The event log is for ids and counts, not for data the system depends on,
so the keys move to ``ob3_key``.  A database that has such records gets
them copied: the newest is the active key, each other one is retired when
the next one was created.  The events themselves stay as they are (the
log is append-only); nothing reads their ``data`` any more.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_EVENT = sa.table(
    "event",
    sa.column("id", sa.Integer()),
    sa.column("occurred_at", sa.DateTime()),
    sa.column("verb", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("data", sa.JSON()),
)
"""The event log as the records were written (only the columns read here)."""

_VERBS = ("ob3_key.created", "ob3_key.rotated")


def _naive_utc(text: object, fallback: dt.datetime) -> dt.datetime:
    """The record's ``created`` time as stored (naive UTC), else when it was logged."""
    if not isinstance(text, str):
        return fallback
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return fallback
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _rows_from_events(connection: sa.Connection) -> list[dict[str, Any]]:
    """One ``ob3_key`` row per recorded key, oldest first, retired as its successor came.

    The numbers are copied as they are: the plugin checks, whenever it reads
    a key, that its numbers give its kid, and refuses a damaged one with a
    message; a migration that dropped it silently would hide the damage.
    """
    records = connection.execute(
        sa.select(_EVENT.c.object_id, _EVENT.c.occurred_at, _EVENT.c.data)
        .where(_EVENT.c.object_type == "ob3_key", _EVENT.c.verb.in_(_VERBS))
        .order_by(_EVENT.c.id)
    )
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for kid, occurred_at, data in records:
        if kid in seen:  # cannot happen (a key file is never overwritten); keep the first
            continue
        seen.add(kid)
        data = data if isinstance(data, dict) else {}
        rows.append(
            {
                "kid": kid,
                "algorithm": "RS256",
                "public_jwk": {m: str(data.get(m, "")) for m in ("kty", "n", "e")},
                "created_at": _naive_utc(data.get("created"), occurred_at),
                "retired_at": None,
            }
        )
    for row, successor in itertools.pairwise(rows):
        row["retired_at"] = successor["created_at"]
    return rows


def upgrade() -> None:
    table = op.create_table(
        "ob3_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=40), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob3_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_ob3_key_kid")),
    )
    rows = _rows_from_events(op.get_bind())
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    """Drop the table: the public keys in it go with it (their private key files stay)."""
    op.drop_table("ob3_key")
