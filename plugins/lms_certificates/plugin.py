"""Hook implementations of the certificates plugin.

Registered through the ``lms`` entry-point group
(``certificates = "lms_certificates.plugin"``), exactly like a third-party
plugin.  The module's hooks find the project's settings the way every
``lms`` process does (:func:`lms_certificates.settings.find_project`); a
program that embeds the library, or a test, registers
``CertificatesPlugin(settings)`` instead, with the settings it wants.

When a completion is recorded and its course version has certificates
enabled, the certificate is issued in the same transaction.  If it cannot
be (no key yet, the key file missing or unreadable, no ``lms.toml`` found),
the completion is kept all the same — the learner earned it — a warning
without personal data is logged, and ``lms certificates issue-pending``
issues it once the key is fixed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from lms_certificates.settings import IssuerSettings, find_project
from lms_core.config import Project
from lms_core.errors import DatabaseError, LmsError
from lms_core.hookspecs import ApiRoutes, hookimpl

if TYPE_CHECKING:
    from lms_core.http.common import Context

__all__ = ["CertificatesPlugin"]

log = logging.getLogger("lms.certificates")


class CertificatesPlugin:
    """The hooks, with fixed settings (or None: find the project's at each completion)."""

    def __init__(self, settings: IssuerSettings | None = None) -> None:
        self.settings = settings

    def _current_settings(self) -> IssuerSettings:
        return self.settings or IssuerSettings.of(find_project())

    @hookimpl
    def lms_completion_recorded(self, session: Session, completion: Any) -> None:
        """Issue the completion's certificate, or log why it waits for issue-pending."""
        from lms_certificates.service import certificate_enabled, issue_for_completion

        if not certificate_enabled(session, course_version_id=completion.course_version_id):
            return
        try:
            issue_for_completion(
                session, completion_id=completion.id, settings=self._current_settings()
            )
        except LmsError as exc:
            # Ids only: the message of a key or configuration error names files, not people.
            log.warning(
                "certificate for completion %s not issued: %s: %s "
                "(the completion is recorded; run 'lms certificates issue-pending' once fixed)",
                completion.id,
                type(exc).__name__,
                exc,
            )

    @hookimpl
    def lms_site_built(self, project: Project, output_dir: Path) -> list[Path] | None:
        """Publish ``verify/keys.json`` and ``verify/revoked.json`` with the site, and,
        when ``[site] base_url`` is set, the Open Badges issuer profile and its
        RS256 public keys as JWKs (``verify/ob3/issuer.json``, ``jwks.json``,
        ``keys/<kid>.json``; nothing there until the issuer has an RSA key).

        Nothing is written for a project without a database file yet, or
        whose issuer has no key yet (the verify page then says the site
        publishes no keys).  A configured database that cannot be opened
        fails the build: a site published without its key list would call
        every genuine certificate unverifiable.
        """
        from sqlalchemy import select

        from lms_certificates.ob3 import publish_issuer
        from lms_certificates.service import publish_lists
        from lms_core.db import read_only
        from lms_core.models import SigningKey
        from lms_core.project import open_database

        url = make_url(project.database_url)
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            if database in ("", ":memory:") or not Path(database).is_file():
                return None
        try:
            engine = open_database(project)
        except DatabaseError as exc:
            raise DatabaseError(
                f"certificates: cannot read the signing keys to publish verify/keys.json "
                f"and verify/revoked.json: {exc}"
            ) from None
        try:
            with read_only(engine) as session:
                if session.scalar(select(SigningKey.id).limit(1)) is None:
                    return None
                written = publish_lists(session, output_dir=output_dir)
                site = project.config.site
                if site.base_url:
                    written += publish_issuer(
                        session,
                        output_dir=output_dir,
                        base_url=site.base_url,
                        name=project.config.certificates.issuer,
                    )
        finally:
            engine.dispose()
        return [path.relative_to(output_dir) for path in written]

    @hookimpl
    def lms_cli_commands(self) -> list[click.Command]:
        from lms_certificates.commands import certificates_group, keys_group

        return [keys_group, certificates_group]

    @hookimpl
    def lms_api_routes(self, ctx: Context) -> ApiRoutes:
        from lms_certificates.http import routes

        return routes(ctx)


_plugin = CertificatesPlugin()


@hookimpl
def lms_completion_recorded(session: Session, completion: Any) -> None:
    _plugin.lms_completion_recorded(session, completion)


@hookimpl
def lms_site_built(project: Project, output_dir: Path) -> list[Path] | None:
    return _plugin.lms_site_built(project, output_dir)


@hookimpl
def lms_cli_commands() -> list[click.Command]:
    return _plugin.lms_cli_commands()


@hookimpl
def lms_api_routes(ctx: Context) -> ApiRoutes:
    return _plugin.lms_api_routes(ctx)
