"""Certificates: issued once per completion, signed with Ed25519, verifiable offline.

See docs/certificates.md.  The plugin registers through the ``lms``
entry-point group (``lms_certificates.plugin``).
"""

from lms_certificates.token import Verdict, verify_token

__all__ = ["Verdict", "verify_token"]
