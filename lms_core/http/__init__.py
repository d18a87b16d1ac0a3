"""HTTP adapter of ``lms_core``: the learner server behind ``lms serve``."""

from __future__ import annotations

from lms_core.http.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
