"""The certificates' part of the server's API (added through ``lms_api_routes``).

* ``POST /api/certificates/verify`` ``{"token"}``: the verdict, for anyone,
  no sign-in (like the browser page, which needs no network at all); failed
  checks are throttled per client address like sign-in.  The token travels
  in the body, never in the URL, because it holds a name.
* ``GET /api/my/certificates``: the signed-in person's own certificates.
* ``POST /api/manage/certificates`` ``{"unit_code", "course"?}``: those of the
  people of a unit's subtree, for trainers, managers and admins whose area
  holds that unit (:mod:`lms_core.services.scope`); a unit outside the area
  is "not found", exactly like a unit that does not exist.

This module parses and presents; the rules live in
:mod:`lms_certificates.service`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.orm import Session

from lms_certificates import service
from lms_certificates.extract import token_from_text
from lms_certificates.token import MAX_TOKEN_CHARS
from lms_core.hookspecs import ApiRoutes
from lms_core.http.common import Body, Context, Me, iso
from lms_core.services import learner
from lms_core.services import scope as reads

__all__ = ["VERIFY_PATH", "certificate_json", "routes"]

VERIFY_PATH = "/api/certificates/verify"


class VerifyRequest(Body):
    token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS + 1024)
    """The token, or the whole verify address (``…/verify/#token``)."""


class ManageCertificatesRequest(Body):
    unit_code: str = Field(
        min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
    )
    course: str | None = Field(default=None, min_length=1, max_length=64)


def certificate_json(entry: service.CertificateEntry, *, with_person: bool) -> dict[str, Any]:
    """A certificate as listed; ``with_person`` adds who it belongs to (managers)."""
    out: dict[str, Any] = {
        "serial": entry.serial,
        "course": entry.course,
        "title": entry.title,
        "version": entry.version,
        "score": entry.score,
        "completed": iso(entry.completed_on),
        "issued": iso(entry.issued_on),
        "valid_until": iso(entry.valid_until),
        "previous": entry.previous,
        "verdict": entry.verdict,
        "revoked_at": iso(entry.revoked_at),
        "token": entry.token,
    }
    if with_person:
        out["person"] = {
            "staff_code": entry.staff_code,
            "full_name": entry.full_name,
            "position": entry.position,
            "unit": {"code": entry.unit_code, "name": entry.unit_name},
        }
    return out


def _address(request: Request) -> str:
    # uvicorn already replaces it from X-Forwarded-For when the proxy is trusted.
    return request.client.host if request.client else "unknown"


def routes(ctx: Context) -> ApiRoutes:
    """The certificates' routes; only the verify route is public."""
    db = ctx.db
    router = APIRouter()

    @router.post("/certificates/verify")
    def certificates_verify(body: VerifyRequest, request: Request) -> JSONResponse:
        token = token_from_text(body.token)
        address = _address(request)
        verdict = db.run(lambda s: service.verify_from_address(s, token=token, address=address))
        return JSONResponse(verdict.to_json())

    @router.get("/my/certificates")
    def my_certificates(user: Me) -> JSONResponse:
        def work(s: Session) -> list[service.CertificateEntry]:
            person = learner.person_of_account(s, user.account_id)
            return service.person_certificates(s, person_id=person)

        entries = db.run(work)
        return JSONResponse(
            {"certificates": [certificate_json(e, with_person=False) for e in entries]}
        )

    @router.post("/manage/certificates")
    def manage_certificates(body: ManageCertificatesRequest, user: Me) -> JSONResponse:
        def work(s: Session) -> list[service.CertificateEntry]:
            scope = reads.scope_of_account(s, user.account_id)
            return service.scope_certificates(
                s, scope, unit_code=body.unit_code, course=body.course
            )

        entries = db.run(work)
        return JSONResponse(
            {
                "unit_code": body.unit_code,
                "course": body.course,
                "certificates": [certificate_json(e, with_person=True) for e in entries],
            }
        )

    return ApiRoutes(router=router, public=frozenset({VERIFY_PATH}))
