"""The static site builder: courses to a small, offline-capable, accessible website.

``build_site`` is the one entry point (``lms build`` calls it); see docs/site.md.
It reads courses and asks plugins to render exercises; it never touches the
database.
"""

from site_builder.build import BuildError, BuildReport, build_site

__all__ = ["BuildError", "BuildReport", "build_site"]
