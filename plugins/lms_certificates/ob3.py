"""Certificates as Open Badges 3.0 credentials (``OpenBadgeCredential``, a W3C VC 2.0).

Why a second format: an HR system, a wallet or another province's LMS can
read a Verifiable Credential without knowing our token.  The credential says
what the certificate says about the *course* (which achievement, when, until
when, who issued it) and identifies the learner only by a salted SHA-256 of
the staff code: no name, no staff code, no unit in clear.  The OB 3.0 data
model allows the subject's ``name``; we leave it out on purpose, because a
credential travels to systems we do not control (docs/certificates.md).

The proof is a VC-JWT (OB 3.0 §8.2 "JSON Web Token Proof Format"): a compact
JWS whose payload is the credential itself (VC Data Model 2.0 style, no
``vc`` wrapper) plus the registered claims ``iss``, ``jti``, ``nbf``, ``exp``
and ``sub``, signed with the issuer's RSA key (``alg: RS256``).  RS256
because OB 3.0 §8.2.3 says "The signing algorithm MUST be "RS256" as a
minimum ... Support for other algorithms is permitted but their use limits
interoperability", and 1EdTech's validator accepts no EdDSA JWT.  The header
is exactly ``alg``, ``kid`` and ``typ: "JWT"`` (OB 3.0 allows no other header
and says ``typ``, when present, MUST be ``JWT``); ``kid`` is the URL of that
key as a JWK, published with the site (:func:`published_files`).  The
Ed25519 key keeps signing the certificate tokens; it plays no part here.

Everything is deterministic: RS256 signatures (RSASSA-PKCS1-v1_5) are, the
credential's id is a UUIDv5 of the serial, and the identity salt is derived
from the serial with the issuer's private key (:func:`identity_salt`), so
exporting the same certificate again with the same key gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy.orm import Session

from lms_certificates.keys import RS256, ob3_public_keys, rsa_jwk, rsa_public_key
from lms_certificates.settings import VN_TZ
from lms_certificates.token import TokenError, b64url_decode, b64url_encode
from lms_core.errors import ConfigError, LmsError

__all__ = [
    "ALG",
    "CONTEXTS",
    "CREDENTIAL_SCHEMA",
    "PUBLISH_DIR",
    "CredentialSource",
    "Ob3Error",
    "credential",
    "identity_hash",
    "identity_salt",
    "issuer_id",
    "issuer_profile",
    "jwks",
    "key_url",
    "public_jwk",
    "publish_issuer",
    "published_files",
    "require_base_url",
    "sign_credential",
    "verify_jwt",
]

CONTEXTS = (
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
)
"""The credential's ``@context``, in this order (VC 2.0 first, as JSON-LD requires)."""

CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
"""The OB 3.0 (VC 2.0) AchievementCredential JSON Schema, named in ``credentialSchema``
with the type ``1EdTechJsonSchemaValidator2019`` (OB 3.0 §9.1), as the spec's examples do."""

PUBLISH_DIR = "verify/ob3"
"""Where the site publishes the issuer profile and its keys, beside ``verify/keys.json``."""

ALG = RS256
TYP = "JWT"
_SALT_LABEL = b"taphuan/ob3/identity-salt/v2\x00"
_ID_NAMESPACE = uuid.NAMESPACE_URL


class Ob3Error(LmsError):
    """An Open Badges credential cannot be made or does not verify."""


# --------------------------------------------------------------------------- addresses


def require_base_url(base_url: str) -> str:
    """``[site] base_url`` without a trailing slash; ConfigError when it is not set.

    Every id in a credential (issuer, key, achievement) is an absolute URL
    under it, and a verifier fetches the key from there.
    """
    base = base_url.rstrip("/")
    if not base:
        raise ConfigError(
            "Open Badges credentials need the site's public address: set [site] base_url "
            'in lms.toml (e.g. "https://taphuan.ninhbinh.gov.vn"); the issuer profile and '
            "its keys are published there"
        )
    return base


def issuer_id(base_url: str) -> str:
    """The issuer profile's id, a URL that serves the profile itself (``issuer.json``)."""
    return f"{require_base_url(base_url)}/{PUBLISH_DIR}/issuer.json"


def key_url(base_url: str, kid: str) -> str:
    """The JWT header's ``kid``: a URL that serves this one public key as a JWK.

    A single JWK rather than ``jwks.json#kid``: OB 3.0 says the ``kid`` is
    dereferenced "to an object of type JWK", and 1EdTech's validator reads
    the fetched document as one key (a fragment never reaches the server).
    """
    return f"{require_base_url(base_url)}/{PUBLISH_DIR}/keys/{kid}.json"


def _achievement_id(base_url: str, course: str) -> str:
    return f"{require_base_url(base_url)}/courses/{course}/"


def credential_id(base_url: str, serial: str) -> str:
    """``urn:uuid:`` + UUIDv5 of the issuer and serial: the same certificate, the same id."""
    return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, f'{issuer_id(base_url)}#{serial}')}"


def subject_id(base_url: str, serial: str) -> str:
    """``credentialSubject.id`` and the ``sub`` claim: per credential, so it links nothing.

    OB 3.0 asks for ``sub`` = ``credentialSubject.id``; a person-wide id
    would let two credentials be joined, so each credential gets its own
    opaque URN and the person is identified by the hashed identifier only.
    """
    name = f"{issuer_id(base_url)}#{serial}/subject"
    return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, name)}"


# --------------------------------------------------------------------------- identity


def identity_salt(private_key: rsa.RSAPrivateKey, serial: str) -> str:
    """The salt of a certificate's hashed identifier: 32 hex digits.

    An HMAC-SHA256 of the serial (domain separated by a label) under a
    secret derived from the private key that signs the credential (its
    private exponent), so re-exporting gives the same salt and the same
    credential, nobody without the key can predict a salt before the
    credential exists, and every credential has its own salt (two
    credentials of one person cannot be matched by their hashes).  A new
    key (``lms keys rotate``) gives new salts, as it gives new signatures.
    """
    d = private_key.private_numbers().d
    seed = hashlib.sha256(_SALT_LABEL + d.to_bytes((d.bit_length() + 7) // 8, "big")).digest()
    digest = hmac.new(seed, _SALT_LABEL + serial.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:32]


def identity_hash(staff_code: str, salt: str) -> str:
    """``sha256$`` + hex SHA-256 of the staff code followed by the salt (OB 3.0 IdentityObject)."""
    return "sha256$" + hashlib.sha256((staff_code + salt).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- the credential


@dataclass(frozen=True, slots=True)
class CredentialSource:
    """What a credential is made from: the certificate as issued, and the staff code."""

    serial: str
    staff_code: str
    course: str
    """The course slug (the achievement's URL)."""
    title: str
    version: int
    issued_at: dt.datetime
    """When the certificate was issued (aware): ``validFrom`` and ``nbf``."""
    valid_until: dt.date | None
    """Last valid day in Vietnam, or None: ``validUntil`` and ``exp``."""
    issuer: str
    """The issuer's name as signed into the certificate."""
    summary: str = ""
    """The course's summary (front matter), the achievement's description when given."""


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _utc(moment: dt.datetime) -> dt.datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _end_of_day(day: dt.date) -> dt.datetime:
    """The last second of ``day`` in Vietnam, in UTC: a certificate is valid through it."""
    return dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=VN_TZ).astimezone(dt.UTC)


def credential(source: CredentialSource, *, base_url: str, salt: str) -> dict[str, Any]:
    """The ``OpenBadgeCredential`` of one certificate, without proof (OB 3.0, VC 2.0).

    No name, staff code, unit or position in clear: the subject is an
    opaque per-credential id and an ``IdentityObject`` holding
    ``sha256(staff_code + salt)``.
    """
    title = _nfc(source.title)
    narrative = (
        f"Hoàn thành khóa tập huấn «{title}» (phiên bản {source.version}) "
        "và đạt yêu cầu hoàn thành của khóa học. / Completed the training course "
        f"«{title}» (version {source.version}) and met its completion requirements."
    )
    out: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id(base_url, source.serial),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": issuer_id(base_url),
            "type": ["Profile"],
            "name": _nfc(source.issuer),
        },
        "validFrom": _iso(source.issued_at),
    }
    if source.valid_until is not None:
        out["validUntil"] = _iso(_end_of_day(source.valid_until))
    out["name"] = title
    out["credentialSubject"] = {
        "id": subject_id(base_url, source.serial),
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(source.staff_code, salt),
                "identityType": "identifier",
                "hashed": True,
                "salt": salt,
            }
        ],
        "achievement": {
            "id": _achievement_id(base_url, source.course),
            "type": ["Achievement"],
            "name": title,
            "description": _nfc(source.summary.strip()) or narrative,
            "criteria": {"narrative": narrative},
        },
    }
    out["credentialSchema"] = [{"id": CREDENTIAL_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}]
    return out


def _numeric_date(iso: str) -> int:
    return int(dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp())


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _signing_input(header: Mapping[str, Any], payload: Mapping[str, Any]) -> bytes:
    return f"{b64url_encode(_json(header))}.{b64url_encode(_json(payload))}".encode("ascii")


def sign_credential(
    document: Mapping[str, Any], *, private_key: rsa.RSAPrivateKey, kid: str, base_url: str
) -> str:
    """The credential as a VC-JWT: ``header.payload.signature``, base64url, no padding.

    The payload is the credential plus ``iss`` (issuer id), ``jti`` (credential
    id), ``nbf`` (``validFrom``), ``exp`` (``validUntil``, when it has one) and
    ``sub`` (``credentialSubject.id``), as OB 3.0 §8.2.4 lists them; the
    signature is RS256 (RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256).
    """
    header = {"alg": ALG, "kid": key_url(base_url, kid), "typ": TYP}
    payload: dict[str, Any] = dict(document)
    payload["iss"] = document["issuer"]["id"]
    payload["jti"] = document["id"]
    payload["nbf"] = _numeric_date(document["validFrom"])
    if "validUntil" in document:
        payload["exp"] = _numeric_date(document["validUntil"])
    payload["sub"] = document["credentialSubject"]["id"]
    signing_input = _signing_input(header, payload)
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode('ascii')}.{b64url_encode(signature)}"


def verify_jwt(token: str, jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of a VC-JWT whose RS256 signature verifies with ``jwk``; Ob3Error otherwise.

    What a third party does with the published key; the export checks every
    credential with it before writing.  Checks the header (exactly
    alg/kid/typ, ``RS256`` and nothing else: no ``none``, no HMAC, no EdDSA,
    whatever the key), that the header's ``kid`` names this JWK, that the
    JWK is an RSA public key of 2048 bits or more, the signature, and that
    the claims match the credential.
    """
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise Ob3Error("not a compact JWS (three base64url parts)")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (TokenError, ValueError, UnicodeDecodeError) as exc:
        raise Ob3Error(f"unreadable JWT: {exc}") from None
    if not isinstance(header, dict) or set(header) != {"alg", "kid", "typ"}:
        raise Ob3Error("the JOSE header must hold exactly alg, kid and typ")
    if header["alg"] != ALG or header["typ"] != TYP:
        raise Ob3Error(f"alg must be {ALG} and typ {TYP}")
    if jwk.get("alg", ALG) != ALG or "d" in jwk:
        raise Ob3Error(f"the key is not a public {ALG} JWK")
    if "kid" in jwk and not str(header["kid"]).endswith(f"/{jwk['kid']}.json"):
        raise Ob3Error("the JWT names another key (its kid is not this JWK's)")
    try:
        public = rsa_public_key(jwk)
    except ValueError as exc:
        raise Ob3Error(f"the key is not usable for {ALG}: {exc}") from None
    try:
        public.verify(
            signature,
            f"{parts[0]}.{parts[1]}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise Ob3Error("the signature does not verify") from None
    if not isinstance(payload, dict):
        raise Ob3Error("the payload is not a JSON object")
    issuer, subject = payload.get("issuer"), payload.get("credentialSubject")
    if not isinstance(issuer, dict) or not isinstance(subject, dict):
        raise Ob3Error("the credential has no issuer or credentialSubject object")
    try:
        expected = {
            "iss": issuer.get("id"),
            "jti": payload.get("id"),
            "sub": subject.get("id"),
            "nbf": _numeric_date(str(payload.get("validFrom"))),
        }
        if "validUntil" in payload:
            expected["exp"] = _numeric_date(str(payload["validUntil"]))
    except ValueError:
        raise Ob3Error("validFrom/validUntil are not YYYY-MM-DDTHH:MM:SSZ") from None
    for claim, value in expected.items():
        if payload.get(claim) != value:
            raise Ob3Error(f"the {claim} claim does not match the credential")
    return payload


# --------------------------------------------------------------------------- publishing


def public_jwk(kid: str, public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """One public key as a JWK (RFC 7517/7518): ``kty RSA``, ``n``, ``e``, ``kid``,
    ``alg RS256``, ``use sig``; never a private member (``d``, ``p``, ``q``, …)."""
    return {**rsa_jwk(public_key), "kid": kid, "alg": ALG, "use": "sig"}


def jwks(keys: Mapping[str, rsa.RSAPublicKey]) -> dict[str, Any]:
    """Every public key (retired ones too, so older credentials still verify) as a JWK Set."""
    return {"keys": [public_jwk(kid, key) for kid, key in keys.items()]}


def issuer_profile(
    *, base_url: str, name: str, keys: Mapping[str, rsa.RSAPublicKey]
) -> dict[str, Any]:
    """The issuer's ``Profile``, served at its own id (``verify/ob3/issuer.json``).

    It names the issuer and lists its public keys as ``JsonWebKey``
    verification methods whose ids are the JWT headers' ``kid`` URLs.
    """
    base = require_base_url(base_url)
    profile_id = issuer_id(base)
    return {
        "@context": list(CONTEXTS),
        "id": profile_id,
        "type": ["Profile"],
        "name": _nfc(name),
        "url": f"{base}/",
        "verificationMethod": [
            {
                "id": key_url(base, kid),
                "type": "JsonWebKey",
                "controller": profile_id,
                "publicKeyJwk": public_jwk(kid, key),
            }
            for kid, key in keys.items()
        ],
    }


def _pretty(value: Mapping[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def published_files(
    *, base_url: str, name: str, keys: Mapping[str, rsa.RSAPublicKey]
) -> dict[str, bytes]:
    """What a verifier fetches, by path relative to the site root (or the export):

    ``verify/ob3/issuer.json`` (the profile), ``verify/ob3/jwks.json`` (every
    key) and ``verify/ob3/keys/<kid>.json`` (each key alone: the ``kid`` URLs).
    """
    files = {
        f"{PUBLISH_DIR}/issuer.json": _pretty(
            issuer_profile(base_url=base_url, name=name, keys=keys)
        ),
        f"{PUBLISH_DIR}/jwks.json": _pretty(jwks(keys)),
    }
    for kid, key in keys.items():
        files[f"{PUBLISH_DIR}/keys/{kid}.json"] = _pretty(public_jwk(kid, key))
    return files


def publish_issuer(session: Session, *, output_dir: Path, base_url: str, name: str) -> list[Path]:
    """Write :func:`published_files` into the built site, each file whole; the paths written.

    Run by the build (the plugin's ``lms_site_built``) and by ``lms
    certificates publish`` whenever ``[site] base_url`` is set: a verifier
    dereferences the credentials' issuer id and ``kid`` there.  Retired keys
    stay listed, so credentials signed with them keep verifying.  Nothing
    is written while the issuer has no RS256 key (an install from before
    Open Badges were signed with RS256, until ``lms keys init`` adds it).
    """
    keys = ob3_public_keys(session)
    if not keys:
        return []
    files = published_files(base_url=base_url, name=name, keys=keys)
    written = []
    for rel, data in sorted(files.items()):
        target = output_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        written.append(target)
    return written
