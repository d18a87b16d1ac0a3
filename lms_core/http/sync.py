"""``POST /api/my/sync``: the browser's offline queue, applied exactly once.

The rules live in :mod:`lms_core.services.sync`; this route only checks the
shape of the batch, runs it in one transaction as the signed-in person, and
answers one result per item so the browser can drop what is done.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.orm import Session

from lms_core.http.common import Body, Context, Me, result_json
from lms_core.services.sync import MAX_SYNC_ITEMS, ItemResult, SyncItem, apply_items


class SyncRequest(Body):
    items: list[SyncItem] = Field(max_length=MAX_SYNC_ITEMS)


def _item_json(item: ItemResult) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "status": item.status}
    if item.error is not None:
        out["error"] = item.error
    if item.result is not None:
        out["result"] = result_json(item.result, completed=item.course_completed)
    return out


def install(router: APIRouter, ctx: Context) -> None:
    """Add the sync route to the ``/api`` router (sign-in and CSRF are the router's)."""

    @router.post("/my/sync")
    def my_sync(body: SyncRequest, user: Me) -> JSONResponse:
        def work(s: Session) -> list[ItemResult]:
            person = user.person_id
            return apply_items(
                s,
                person_id=person,
                items=body.items,
                types=ctx.types,
                pm=ctx.pm,
                source="offline",
            )

        return JSONResponse({"results": [_item_json(r) for r in ctx.db.run(work)]})
