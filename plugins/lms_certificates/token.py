"""The signed certificate token: canonical payload, signing, and the verdicts.

Everything here is pure (no database, no files, no clock): the verifier gets
the known public keys, the revocation list and today's date as arguments, so
``lms certificates verify``, the server endpoint and the tests all reach the
same verdict from the same inputs, and the browser verifier can follow the
same steps (docs/certificates.md, "Verdicts").

The checks are strict on purpose.  A token is ASCII, split once on ``.``, each
half *canonical* base64url (unpadded, and re-encoding must give the same text:
otherwise the last character of a half could be changed without changing the
bytes, and an edited token would still "verify").  The payload must be a JSON
object with exactly the documented keys and types.  Only then are the key and
the signature checked, then revocation, then expiry.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from lms_core.errors import LmsError

__all__ = [
    "FIELDS",
    "FORMAT_VERSION",
    "MAX_TOKEN_CHARS",
    "VERDICTS",
    "TokenError",
    "Verdict",
    "b64url_decode",
    "b64url_encode",
    "canonical_payload",
    "decode_token",
    "keys_from_json",
    "kid_of",
    "revoked_from_json",
    "sign_token",
    "verify_token",
]

FORMAT_VERSION = 1
MAX_TOKEN_CHARS = 8192
"""Longer input is unreadable: a real token (120-character names) is under 1,500."""

VERDICTS = ("valid", "expired", "revoked", "forged", "unreadable")

FIELDS = (
    "v",
    "kid",
    "serial",
    "name",
    "unit",
    "position",
    "course",
    "title",
    "version",
    "completed",
    "score",
    "issued",
    "valid_until",
    "issuer",
    "prev",
)
"""The payload's keys, exactly (docs/certificates.md)."""

_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_SIGNATURE_BYTES = 64
_PUBLIC_KEY_BYTES = 32

# Fields that are non-empty strings, strings that may be empty, dates, optional dates.
_KID = re.compile(r"^[0-9a-f]{16}$")
_TEXT = ("serial", "name", "unit", "course", "title", "issuer")
_TEXT_OR_EMPTY = ("position",)
_DATES = ("completed", "issued")


class TokenError(LmsError):
    """A token cannot be made or read (the message says which part is wrong)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a verifier answers about one token.

    ``fields`` are the signed fields, present only when the signature is good
    (valid, expired, revoked): a forged token's claims are never shown as if
    they meant something.  ``revoked_on`` is set for ``revoked``.
    """

    verdict: str
    reason: str
    fields: dict[str, Any] | None = None
    revoked_on: dt.date | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "valid"

    def to_json(self) -> dict[str, Any]:
        """The verdict as the server endpoint and ``--format json`` return it."""
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "fields": self.fields,
            "revoked_on": self.revoked_on.isoformat() if self.revoked_on else None,
        }


@dataclass(frozen=True, slots=True)
class _Decoded:
    payload: bytes
    signature: bytes
    fields: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- encoding


def b64url_encode(data: bytes) -> str:
    """base64url without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url: the alphabet only, no padding, and canonical.

    Canonical means re-encoding the bytes gives back ``text``: the unused low
    bits of the last character must be zero, so no two texts decode alike.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise TokenError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("not base64url") from None
    if b64url_encode(data) != text:
        raise TokenError("not canonical base64url")
    return data


def kid_of(public_key: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    return value


def canonical_payload(fields: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no whitespace, UTF-8, strings NFC."""
    normalised = {key: _nfc(value) for key, value in fields.items()}
    return json.dumps(
        normalised,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


# --------------------------------------------------------------------------- field checks


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    """An integer as JavaScript sees JSON numbers (``1`` and ``1.0`` alike)."""
    return _is_number(value) and math.isfinite(value) and float(value).is_integer()


def _is_date(value: Any) -> bool:
    """``YYYY-MM-DD`` and a real day (year 0001 to 9999)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _field_problem(fields: Mapping[str, Any]) -> str | None:
    """Why ``fields`` is not a well-formed payload, or None."""
    keys = set(fields)
    missing = [k for k in FIELDS if k not in keys]
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    extra = sorted(keys - set(FIELDS))
    if extra:
        return f"unknown field(s): {', '.join(extra)}"
    if not _is_number(fields["v"]) or fields["v"] != FORMAT_VERSION:
        return f"unknown format version {fields['v']!r}"
    if not isinstance(fields["kid"], str) or not _KID.fullmatch(fields["kid"]):
        return "'kid' must be 16 lowercase hex digits"
    for key in _TEXT:
        if not isinstance(fields[key], str) or not fields[key]:
            return f"'{key}' must be a non-empty string"
    for key in _TEXT_OR_EMPTY:
        if not isinstance(fields[key], str):
            return f"'{key}' must be a string"
    if not _is_integer(fields["version"]) or fields["version"] < 1:
        return "'version' must be a whole number from 1"
    for key in _DATES:
        if not _is_date(fields[key]):
            return f"'{key}' must be a date YYYY-MM-DD"
    if fields["valid_until"] is not None and not _is_date(fields["valid_until"]):
        return "'valid_until' must be a date YYYY-MM-DD or null"
    score = fields["score"]
    if score is not None and not (_is_number(score) and math.isfinite(score) and 0 <= score <= 100):
        return "'score' must be a percentage (0 to 100) or null"
    if fields["prev"] is not None and (not isinstance(fields["prev"], str) or not fields["prev"]):
        return "'prev' must be a serial or null"
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --------------------------------------------------------------------------- sign, decode


def sign_token(fields: Mapping[str, Any], private_key: Ed25519PrivateKey) -> str:
    """The token for ``fields`` (every key of :data:`FIELDS`), signed with ``private_key``.

    Refuses fields a verifier would call unreadable, and a ``kid`` that is
    not the key's own id: the issuer must never produce a token that fails.
    """
    normalised = {key: _nfc(value) for key, value in fields.items()}
    problem = _field_problem(normalised)
    if problem is not None:
        raise TokenError(f"cannot sign the certificate: {problem}")
    public = private_key.public_key().public_bytes_raw()
    if normalised["kid"] != kid_of(public):
        raise TokenError("cannot sign the certificate: 'kid' is not the signing key's id")
    payload = canonical_payload(normalised)
    signature = private_key.sign(payload)
    token = f"{b64url_encode(payload)}.{b64url_encode(signature)}"
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError(f"the certificate's token would exceed {MAX_TOKEN_CHARS} characters")
    return token


def _decode(token: object) -> _Decoded:
    """Split and parse a token; :class:`TokenError` says why it is unreadable."""
    if not isinstance(token, str) or not token:
        raise TokenError("empty")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError(f"longer than {MAX_TOKEN_CHARS} characters")
    if not token.isascii():
        raise TokenError("contains characters that are not in a token")
    parts = token.split(".")
    if len(parts) != 2:
        raise TokenError("a token has two parts separated by one '.'")
    payload = b64url_decode(parts[0])
    signature = b64url_decode(parts[1])
    if len(signature) != _SIGNATURE_BYTES:
        raise TokenError("the signature part has the wrong length")
    try:
        # A leading BOM is dropped, as browsers' TextDecoder does (the signature
        # still covers the bytes as sent), so every verifier reaches one verdict.
        text = payload.decode("utf-8").removeprefix("\ufeff")
        fields = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise TokenError("the payload is not UTF-8 JSON") from None
    if not isinstance(fields, dict):
        raise TokenError("the payload is not a JSON object")
    problem = _field_problem(fields)
    if problem is not None:
        raise TokenError(problem)
    return _Decoded(payload, signature, fields)


def decode_token(token: str) -> dict[str, Any]:
    """The fields of a well-formed token, *without* checking its signature.

    For display and lookups only (which serial does this token claim?);
    anything that trusts the fields must use :func:`verify_token`.
    """
    return dict(_decode(token).fields)


# --------------------------------------------------------------------------- verify


def verify_token(
    token: str,
    *,
    keys: Mapping[str, bytes],
    revoked: Mapping[str, dt.date] | Collection[str],
    today: dt.date,
) -> Verdict:
    """The verdict on ``token`` given the known keys (kid -> raw 32-byte public
    key), the revoked serials (with their revocation dates when known) and
    ``today`` (in Vietnam).

    In order: unreadable (not a well-formed token, a signature not 64 bytes
    long included), forged (unknown key, or a signature that does not verify), revoked, expired
    (``valid_until`` before ``today``), valid.  The browser page follows the
    same steps (site_builder/static/assets/verify.js).
    """
    try:
        decoded = _decode(token)
    except TokenError as exc:
        return Verdict("unreadable", f"not a certificate token: {exc}")
    fields = decoded.fields
    raw = keys.get(fields["kid"])
    if raw is None:
        return Verdict("forged", f"signed by an unknown key ({fields['kid']})")
    try:
        if len(raw) != _PUBLIC_KEY_BYTES:
            raise ValueError("wrong length")
        Ed25519PublicKey.from_public_bytes(raw).verify(decoded.signature, decoded.payload)
    except (InvalidSignature, ValueError):
        return Verdict("forged", "the signature does not match the certificate's fields")
    if fields["serial"] in revoked:
        revoked_on = revoked.get(fields["serial"]) if isinstance(revoked, Mapping) else None
        when = f" on {revoked_on.isoformat()}" if revoked_on else ""
        return Verdict("revoked", f"revoked{when}", fields, revoked_on)
    valid_until = fields["valid_until"]
    if isinstance(valid_until, str) and dt.date.fromisoformat(valid_until) < today:
        return Verdict("expired", f"expired: valid until {valid_until}", fields)
    return Verdict("valid", "signature good, not revoked, not expired", fields)


# --------------------------------------------------------------------------- published lists


def keys_from_json(document: Any) -> dict[str, bytes]:
    """kid -> raw public key from a published ``keys.json``.

    A key whose ``kid`` is not the SHA-256 of its bytes is refused: a
    tampered list must not make a forged token look signed by a known key.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise TokenError('keys.json must be an object with a "keys" list')
    out: dict[str, bytes] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("alg") != "Ed25519":
            raise TokenError("keys.json: every key must be an object with alg Ed25519")
        kid, text = entry.get("kid"), entry.get("public_key")
        if not isinstance(kid, str) or not isinstance(text, str):
            raise TokenError("keys.json: every key needs kid and public_key strings")
        raw = b64url_decode(text)
        if len(raw) != _PUBLIC_KEY_BYTES or kid_of(raw) != kid:
            raise TokenError(f"keys.json: key {kid} does not match its id")
        out[kid] = raw
    return out


def revoked_from_json(document: Any) -> dict[str, dt.date]:
    """serial -> revocation date from a published ``revoked.json``."""
    if not isinstance(document, dict) or not isinstance(document.get("revoked"), list):
        raise TokenError('revoked.json must be an object with a "revoked" list')
    out: dict[str, dt.date] = {}
    for entry in document["revoked"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("serial"), str):
            raise TokenError("revoked.json: every entry needs a serial")
        when = entry.get("revoked_on")
        if not isinstance(when, str) or not _is_date(when):
            raise TokenError(f"revoked.json: {entry['serial']}: revoked_on must be YYYY-MM-DD")
        out[entry["serial"]] = dt.date.fromisoformat(when)
    return out
