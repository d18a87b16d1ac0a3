"""What issuing needs from ``lms.toml``, and how the completion hook finds it.

The hook ``lms_completion_recorded`` receives a session and a completion,
not the project, so the plugin finds the project the way every ``lms``
process does: the ``--config`` of the running ``lms`` command when there is
one, else ``$LMS_CONFIG`` (``lms serve`` sets it for its workers), else the
``lms.toml`` in the current folder or a parent.  A program embedding the
library registers :class:`~lms_certificates.plugin.CertificatesPlugin` with
explicit settings instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import click

from lms_core.config import Project, locate_project

__all__ = ["VN_TZ", "IssuerSettings", "find_project", "today_vn"]

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
"""Vietnam's time (UTC+7, no daylight saving since 1975): certificate dates are local dates."""


def today_vn(now: dt.datetime | None = None) -> dt.date:
    """The date in Vietnam at ``now`` (default: the current time)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(VN_TZ).date()


@dataclass(frozen=True, slots=True)
class IssuerSettings:
    """The settings issuing uses (``[certificates]``, ``province_code``, ``[site] base_url``)."""

    issuer: str
    province_code: str
    key_dir: Path
    renew_within_days: int = 60
    base_url: str = ""
    project_root: Path | None = None
    output_dir: Path | None = None
    signatory_name: str = ""
    signatory_title: str = ""
    place: str = ""
    logo: Path | None = None
    seal: Path | None = None

    @classmethod
    def of(cls, project: Project) -> IssuerSettings:
        config = project.config
        return cls(
            issuer=config.certificates.issuer,
            province_code=config.province_code,
            key_dir=project.key_dir,
            renew_within_days=config.certificates.renew_within_days,
            base_url=config.site.base_url,
            project_root=project.root,
            output_dir=project.output_dir,
            signatory_name=config.certificates.signatory_name,
            signatory_title=config.certificates.signatory_title,
            place=config.certificates.place,
            logo=project.root / config.certificates.logo if config.certificates.logo else None,
            seal=project.root / config.certificates.seal if config.certificates.seal else None,
        )

    def verify_url(self, token: str) -> str:
        """The address a certificate's QR code holds (the token rides in the fragment)."""
        return f"{self.base_url}/verify/#{token}"


def find_project() -> Project:
    """The project of the running process (see the module docstring); ConfigError if none."""
    ctx = click.get_current_context(silent=True)
    config: Path | None = None
    if ctx is not None:
        obj = ctx.find_root().obj
        if isinstance(obj, dict) and isinstance(obj.get("config"), Path):
            config = obj["config"]
    return locate_project(config=config)
