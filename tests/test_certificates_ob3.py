"""Open Badges 3.0 credentials signed with RS256 (issue 7), on SQLite and PostgreSQL.

What 1EdTech's verifiers check is written here as requirements, each citing
where it comes from, because the official JSON Schema of the VC 2.0 era
(``ob_v3p0_achievementcredential_schema.json``) is not available offline and
1EdTech's licence does not let us copy or adapt it:

* OB 3.0 §8.2 "JSON Web Token Proof Format" (1EdTech/openbadges-specification,
  ob_v3p0/microsites/spec/integrity.md): the JOSE header (§8.2.3: "The signing
  algorithm MUST be "RS256" as a minimum", "Additional JOSE Headers are NOT
  allowed", ``typ`` "If present, MUST be set to "JWT"", ``kid`` "A URI that can
  be dereferenced to an object of type JWK"), the payload (§8.2.4.1: "the JSON
  object of the OpenBadgeCredential" with ``exp``/``iss``/``jti``/``nbf``/``sub``)
  and its verification (§8.2.6.1);
* OB 3.0 appendix B.1 (the data model: AchievementCredential, AchievementSubject,
  Achievement, IdentityObject, Profile) and §9.1 (verification: a subject has an
  ``id`` or an ``identifier``; ``credentialSchema`` of type
  ``1EdTechJsonSchemaValidator2019``); appendix A.1 (no nulls, no empty arrays);
* 1EdTech's validator (1EdTech/digital-credentials-public-validator):
  ``ExternalProofProbe`` (alg RS256 or ES256; the ``kid`` URL fetched and read
  as one JWK's ``n`` and ``e``), ``CredentialSubjectProbe``, ``IssuerProbe``.

The RS256 signature is checked here with ``cryptography`` directly, not with
``lms_certificates.ob3.verify_jwt``: an independent verifier.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session
from test_certificates import PEOPLE, World, complete, setup_world
from test_certificates_export import (
    BASE,
    CONTEXTS,
    b64,
    committed_world,
    export,
    serials,
    set_base_url,
    verify_with_jwk,
)

from conftest import Cli
from lms_certificates import keys as keyring
from lms_certificates import ob3
from lms_certificates.settings import IssuerSettings
from lms_core import schema
from lms_core.config import Project
from lms_core.db import make_engine, session_factory
from lms_core.errors import ConflictError
from lms_core.models import Event, Ob3Key, OrgUnit, SigningKey

SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
DATETIMEZ = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
IDENTITY_TYPES = {  # OB 3.0 B.2 IdentifierTypeEnum (extensible with "ext:…")
    "name",
    "sourcedId",
    "systemId",
    "productId",
    "userName",
    "accountId",
    "emailAddress",
    "nationalIdentityNumber",
    "isbn",
    "issn",
    "lisSourcedId",
    "oneRosterSourcedId",
    "sisSourcedId",
    "ltiContextId",
    "ltiDeploymentId",
    "ltiToolId",
    "ltiPlatformId",
    "ltiUserId",
    "identifier",
}
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture
def world(engine: Engine, project: Project, key_dir: Path) -> World:
    """Three certificates, committed, with both keys; base_url in lms.toml."""
    return committed_world(engine, project, key_dir)


@pytest.fixture
def settings(world: World) -> IssuerSettings:
    return dataclasses.replace(world.settings, base_url=BASE)


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def seconds(text: str) -> int | None:
    """A DateTimeZ as a NumericDate, or None when it is not one."""
    try:
        return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def independently_valid(token: str, jwk: dict[str, Any]) -> bool:
    """RS256 by hand with cryptography: True only if the signature verifies."""
    try:
        verify_with_jwk(token, jwk)
    except (InvalidSignature, ValueError):
        return False
    return True


def ob3_problems(header: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    """Every OB 3.0 / 1EdTech validator requirement the JWT breaks (empty: none)."""
    problems: list[str] = []

    def need(ok: object, requirement: str) -> None:
        if not ok:
            problems.append(requirement)

    # §8.2.3 the JOSE header
    need(set(header) <= {"alg", "kid", "jwk", "typ"}, "§8.2.3: no other JOSE header")
    need(header.get("alg") == "RS256", "§8.2.3: alg RS256 (1EdTech validator: RS256 or ES256)")
    need(header.get("typ", "JWT") == "JWT", "§8.2.3: typ, if present, is JWT")
    need(
        str(header.get("kid", "")).startswith("https://"),
        "§8.2.3/§8.5: kid is an HTTP(S) URL that dereferences to a JWK",
    )
    # §8.2.4.1 the payload is the credential (VC 2.0: no vc claim) with the JWT claims
    need("vc" not in payload, "§8.2.4.1: the payload is the credential itself")
    issuer = payload.get("issuer") if isinstance(payload.get("issuer"), dict) else {}
    subject = (
        payload.get("credentialSubject")
        if isinstance(payload.get("credentialSubject"), dict)
        else {}
    )
    assert isinstance(issuer, dict) and isinstance(subject, dict)
    need(payload.get("iss") == issuer.get("id"), "§8.2.6.1: iss = issuer.id")
    need(payload.get("jti") == payload.get("id"), "§8.2.6.1: jti = id")
    need(payload.get("sub") == subject.get("id"), "§8.2.6.1: sub = credentialSubject.id")
    need(
        isinstance(payload.get("nbf"), int)
        and payload["nbf"] == seconds(str(payload.get("validFrom"))),
        "§8.2.6.1: nbf (NumericDate) = validFrom",
    )
    if "validUntil" in payload:
        need(
            isinstance(payload.get("exp"), int)
            and payload["exp"] == seconds(str(payload["validUntil"])),
            "§8.2.6.1: exp (NumericDate) = validUntil",
        )
    # B.1.2 AchievementCredential
    need(payload.get("@context", [])[:2] == CONTEXTS, "B.1.2/A.2: @context VC v2, then OB 3.0.3")
    types = payload.get("type", [])
    need(
        "VerifiableCredential" in types
        and ({"OpenBadgeCredential", "AchievementCredential"} & set(types)),
        "B.1.2: type has VerifiableCredential and OpenBadgeCredential",
    )
    need(isinstance(payload.get("id"), str) and ":" in payload["id"], "B.1.2: id is a URI")
    need(isinstance(payload.get("name"), str) and payload["name"], "B.1.2: name")
    need(DATETIMEZ.match(str(payload.get("validFrom", ""))), "B.1.2: validFrom is a DateTimeZ")
    if "validUntil" in payload:
        need(DATETIMEZ.match(str(payload["validUntil"])), "B.1.2: validUntil is a DateTimeZ")
    need(
        isinstance(issuer.get("id"), str) and "Profile" in issuer.get("type", []),
        "B.1.2/IssuerProbe: issuer is a Profile with an id",
    )
    need(
        payload.get("credentialSchema")
        == [{"id": SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
        "§9.1: credentialSchema names the OB 3.0 AchievementCredential schema",
    )
    # B.1.3 AchievementSubject, §9.1
    need("AchievementSubject" in subject.get("type", []), "B.1.3: type has AchievementSubject")
    need(subject.get("id") or subject.get("identifier"), "§9.1: subject has id or identifier")
    for identity in subject.get("identifier", []):
        need(
            set(identity) <= {"type", "hashed", "identityHash", "identityType", "salt"}
            and {"type", "hashed", "identityHash", "identityType"} <= set(identity),
            "B.1 IdentityObject: type, hashed, identityHash, identityType (salt), nothing else",
        )
        need(identity.get("type") == "IdentityObject", "CredentialSubjectProbe: IdentityObject")
        need(identity.get("hashed") is True, "hashed identifier, not in clear")
        need(
            re.fullmatch(r"sha256\$[0-9a-f]{64}", str(identity.get("identityHash"))),
            "B.2 IdentityHash: sha256$ + 64 hex digits",
        )
        need(identity.get("identityType") in IDENTITY_TYPES, "B.2 IdentifierTypeEnum")
        need(isinstance(identity.get("salt"), str), "IdentityObject: salt is a string")
    # B.1.1 Achievement
    achievement = subject.get("achievement")
    need(isinstance(achievement, dict), "B.1.3: achievement")
    if isinstance(achievement, dict):
        need(isinstance(achievement.get("id"), str), "B.1.1: achievement id (URI)")
        need("Achievement" in achievement.get("type", []), "B.1.1: type has Achievement")
        need(achievement.get("name"), "B.1.1: name")
        need(achievement.get("description"), "B.1.1: description")
        criteria = achievement.get("criteria", {})
        need(criteria.get("id") or criteria.get("narrative"), "B.1.1: criteria id or narrative")

    # A.1: no null values and no empty arrays anywhere
    def walk(value: Any) -> None:
        need(value is not None and value != [], "A.1: no null, no empty array")
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(payload)
    return problems


def clear_text_of_people(engine: Engine) -> list[str]:
    """Every name, staff code, position and unit name a credential must not carry."""
    with session_factory(engine)() as session:
        units = list(
            session.scalars(select(OrgUnit.name).where(OrgUnit.code.in_(["13285", "13291"])))
        )
    words = [*units]
    for code, (name, _unit, position) in PEOPLE.items():
        words += [code, name, position]
    return [w for w in words if w]


# --------------------------------------------------------------------------- the export


def test_ob3_export_meets_the_open_badges_requirements(
    engine: Engine, settings: IssuerSettings, tmp_path: Path
) -> None:
    out = tmp_path / "ob3"
    assert export(engine, settings, "ob3", out) == 3
    [key_file] = sorted((out / "keys").iterdir())
    jwk = json.loads(key_file.read_text(encoding="utf-8"))
    # the published JWK: RSA, RS256, no private member, its kid the RFC 7638 thumbprint's
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["use"] == "sig"
    assert not PRIVATE_JWK_MEMBERS & set(jwk)
    assert int.from_bytes(b64(jwk["n"]), "big").bit_length() == 2048 and jwk["e"] == "AQAB"
    thumbprint = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    assert jwk["kid"] == "rsa-" + hashlib.sha256(thumbprint.encode()).hexdigest()[:16]
    assert key_file.name == f"{jwk['kid']}.json"
    assert json.loads((out / "jwks.json").read_text(encoding="utf-8")) == {"keys": [jwk]}
    issuer = json.loads((out / "issuer.json").read_text(encoding="utf-8"))
    [method] = issuer["verificationMethod"]
    assert method["id"] == f"{BASE}/verify/ob3/keys/{jwk['kid']}.json"
    assert method["publicKeyJwk"] == jwk and method["controller"] == issuer["id"]

    secrets = clear_text_of_people(engine)
    tokens = sorted(out.glob("*.jwt"))
    assert len(tokens) == 3
    for path in tokens:
        token = path.read_text(encoding="ascii").strip()
        header, payload = verify_with_jwk(token, jwk)  # the independent RS256 check
        assert header == {"alg": "RS256", "kid": method["id"], "typ": "JWT"}
        assert ob3_problems(header, payload) == []
        assert ob3.verify_jwt(token, jwk) == payload
        decoded = path.with_suffix(".json").read_text(encoding="utf-8")
        assert json.loads(decoded) == payload
    # nobody in clear, anywhere in the export (decoded JSON, JWTs, keys, profile)
    everything = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file()
    )
    everything += "\n".join(
        json.dumps(json.loads(b64(p.read_text().strip().split(".")[1])), ensure_ascii=False)
        for p in tokens
    )
    for word in secrets:
        assert word not in everything, word
    assert "d" not in jwk and "BEGIN" not in everything


def test_ob3_jwt_rejects_tampering_and_algorithm_confusion(
    engine: Engine, settings: IssuerSettings, tmp_path: Path
) -> None:
    out = tmp_path / "ob3"
    export(engine, settings, "ob3", out)
    [key_file] = sorted((out / "keys").iterdir())
    jwk = json.loads(key_file.read_text(encoding="utf-8"))
    token = sorted(out.glob("*.jwt"))[0].read_text(encoding="ascii").strip()
    parts = token.split(".")
    assert independently_valid(token, jwk)

    # every single-byte change of the header, the payload or the signature is refused
    for index in range(3):
        raw = b64(parts[index])
        for at in range(len(raw)):
            changed = bytearray(raw)
            changed[at] ^= 0x01
            forged = list(parts)
            forged[index] = b64e(bytes(changed))
            text = ".".join(forged)
            with pytest.raises(ob3.Ob3Error):
                ob3.verify_jwt(text, jwk)
            assert not independently_valid(text, jwk)
    # and a changed base64url character (one in each part)
    for index in range(3):
        forged = list(parts)
        forged[index] = (
            forged[index][:5] + ("A" if forged[index][5] != "A" else "B") + forged[index][6:]
        )
        with pytest.raises(ob3.Ob3Error):
            ob3.verify_jwt(".".join(forged), jwk)

    header = json.loads(b64(parts[0]))

    def with_header(**changes: Any) -> str:
        return b64e(json.dumps({**header, **changes}).encode())

    # alg "none", with or without a signature
    none = with_header(alg="none")
    for text in (f"{none}.{parts[1]}.", f"{none}.{parts[1]}.{parts[2]}"):
        with pytest.raises(ob3.Ob3Error):
            ob3.verify_jwt(text, jwk)
    # HS256 keyed with the public key (the classic RSA/HMAC confusion)
    hs = with_header(alg="HS256")
    for secret in (key_file.read_bytes(), b64(jwk["n"]), json.dumps(jwk).encode()):
        mac = hmac.new(secret, f"{hs}.{parts[1]}".encode(), hashlib.sha256).digest()
        with pytest.raises(ob3.Ob3Error, match="alg must be RS256"):
            ob3.verify_jwt(f"{hs}.{parts[1]}.{b64e(mac)}", jwk)
    # EdDSA: an Ed25519 signature under our kid, and our RS256 JWT against an Ed25519 JWK
    ed = Ed25519PrivateKey.generate()
    eddsa = with_header(alg="EdDSA")
    signature = ed.sign(f"{eddsa}.{parts[1]}".encode())
    with pytest.raises(ob3.Ob3Error, match="alg must be RS256"):
        ob3.verify_jwt(f"{eddsa}.{parts[1]}.{b64e(signature)}", jwk)
    okp = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64e(ed.public_key().public_bytes_raw()),
        "kid": jwk["kid"],
    }
    for other_jwk in (okp, {**okp, "alg": "EdDSA"}):
        with pytest.raises(ob3.Ob3Error, match="key"):
            ob3.verify_jwt(token, other_jwk)
    # another RSA key: under its own kid (names another key), or under ours (forged)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger_kid = keyring.ob3_kid(stranger.public_key())
    payload = json.loads(b64(parts[1]))
    theirs = ob3.sign_credential(
        {k: v for k, v in payload.items() if k not in {"iss", "jti", "nbf", "exp", "sub"}},
        private_key=stranger,
        kid=stranger_kid,
        base_url=BASE,
    )
    assert ob3.verify_jwt(theirs, ob3.public_jwk(stranger_kid, stranger.public_key()))
    with pytest.raises(ob3.Ob3Error, match="names another key"):
        ob3.verify_jwt(theirs, jwk)
    t_head, t_body, _ = theirs.split(".")
    under_ours = b64e(json.dumps({**json.loads(b64(t_head)), "kid": header["kid"]}).encode())
    resigned = stranger.sign(f"{under_ours}.{t_body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(ob3.Ob3Error, match="signature does not verify"):
        ob3.verify_jwt(f"{under_ours}.{t_body}.{b64e(resigned)}", jwk)
    # a header with more than alg/kid/typ (here the key itself) is refused
    extra = with_header(jwk=jwk)
    with pytest.raises(ob3.Ob3Error, match="exactly alg, kid and typ"):
        ob3.verify_jwt(f"{extra}.{parts[1]}.{parts[2]}", jwk)
    # keys a verifier must not accept: a private JWK, a short RSA key
    with pytest.raises(ob3.Ob3Error, match="public"):
        ob3.verify_jwt(token, {**jwk, "d": "AQAB"})
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(ob3.Ob3Error, match="2048"):
        ob3.verify_jwt(token, {**keyring.rsa_jwk(short), "kid": jwk["kid"], "alg": "RS256"})


def test_ob3_rotation_keeps_old_credentials_verifiable(
    engine: Engine, settings: IssuerSettings, world: World, tmp_path: Path
) -> None:
    by_staff = serials(engine)
    before = tmp_path / "before"
    export(engine, settings, "ob3", before)
    old_token = (before / f"{by_staff['PL001']}.jwt").read_text(encoding="ascii").strip()
    old_kid = json.loads(b64(old_token.split(".")[0]))["kid"].rsplit("/", 1)[1][: -len(".json")]

    with session_factory(engine).begin() as session:
        ed_before = keyring.active_key(session)
        assert ed_before is not None
        made = keyring.rotate_keys(session, key_dir=world.key_dir, project_root=world.project.root)
    assert [info.alg for info in made] == ["Ed25519", "RS256"]
    new_kid = made[1].kid
    assert new_kid != old_kid and made[0].kid != ed_before.kid

    after = tmp_path / "after"
    export(engine, settings, "ob3", after)
    published = json.loads((after / "jwks.json").read_text(encoding="utf-8"))
    assert [k["kid"] for k in published["keys"]] == [old_kid, new_kid]
    new_token = (after / f"{by_staff['PL001']}.jwt").read_text(encoding="ascii").strip()
    assert json.loads(b64(new_token.split(".")[0]))["kid"].endswith(f"/{new_kid}.json")
    by_kid = {k["kid"]: k for k in published["keys"]}
    # the old credential still verifies with the key published after rotation, and vice versa
    assert independently_valid(old_token, by_kid[old_kid])
    assert independently_valid(new_token, by_kid[new_kid])
    assert not independently_valid(old_token, by_kid[new_kid])
    assert (
        ob3.verify_jwt(old_token, by_kid[old_kid])["id"]
        == json.loads(b64(new_token.split(".")[1]))["id"]
    ), "the same credential id, re-signed"
    assert json.loads((after / f"keys/{old_kid}.json").read_text()) == by_kid[old_kid]
    # a new key gives new salts (a re-export cannot be matched with the old one)
    old_salt = json.loads(b64(old_token.split(".")[1]))["credentialSubject"]["identifier"][0]
    new_salt = json.loads(b64(new_token.split(".")[1]))["credentialSubject"]["identifier"][0]
    assert old_salt["salt"] != new_salt["salt"]
    # the site publishes both; the retired one is listed as such
    site = tmp_path / "site"
    with session_factory(engine)() as session:
        written = ob3.publish_issuer(session, output_dir=site, base_url=BASE, name="UBND")
        infos = [i for i in keyring.list_keys(session, key_dir=world.key_dir) if i.alg == "RS256"]
    assert {p.name for p in written} >= {f"{old_kid}.json", f"{new_kid}.json", "jwks.json"}
    profile = json.loads((site / "verify/ob3/issuer.json").read_text(encoding="utf-8"))
    assert [m["publicKeyJwk"]["kid"] for m in profile["verificationMethod"]] == [old_kid, new_kid]
    assert [(i.kid, i.retired_at is None) for i in infos] == [(old_kid, False), (new_kid, True)]
    assert all(i.has_private_key for i in infos)


# --------------------------------------------------------------------------- the keys


def test_ob3_keys_are_private_recorded_and_checked(session: Session, tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    made = keyring.init_keys(session, key_dir=key_dir)
    assert [info.alg for info in made] == ["Ed25519", "RS256"]
    rsa_info = made[1]
    assert rsa_info.path == key_dir / f"{rsa_info.kid}.pem"
    pem = rsa_info.path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    if os.name == "posix":
        assert rsa_info.path.stat().st_mode & 0o777 == 0o600
        assert key_dir.stat().st_mode & 0o777 == 0o700
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    assert keyring.ob3_kid(private.public_key()) == rsa_info.kid
    loaded = keyring.load_ob3_key(session, key_dir=key_dir)
    assert loaded.kid == rsa_info.kid
    # the database holds the public numbers only, in ob3_key; no RSA row in signing_key
    [row] = session.scalars(select(Ob3Key))
    assert (row.kid, row.algorithm, row.retired_at) == (rsa_info.kid, "RS256", None)
    assert row.public_jwk == keyring.rsa_jwk(private.public_key())
    assert set(row.public_jwk) == {"kty", "n", "e"}
    [event] = session.scalars(select(Event).where(Event.object_type == "ob3_key"))
    assert event.verb == "ob3_key.created" and event.object_id == rsa_info.kid
    assert event.data == {}
    assert [k.kid for k in session.scalars(select(SigningKey))] == [made[0].kid]
    assert list(keyring.ob3_public_keys(session)) == [rsa_info.kid]
    with pytest.raises(ConflictError, match="lms keys rotate"):
        keyring.init_keys(session, key_dir=key_dir)

    # what loading refuses, each with its own error
    good = pem
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    damages: list[tuple[bytes | None, type[keyring.SigningKeyError], str]] = [
        (None, keyring.KeyMissingError, "does not exist"),
        (
            other.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            keyring.KeyNotRegisteredError,
            "restore the right file",
        ),
        (
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            keyring.NotAKeyError,
            "not RSA",
        ),
        (b"not a key\n", keyring.NotAKeyError, "not an unencrypted PEM"),
    ]
    for data, error, message in damages:
        rsa_info.path.unlink()
        if data is not None:
            rsa_info.path.write_bytes(data)
            rsa_info.path.chmod(0o600)
        with pytest.raises(error, match=message) as caught:
            keyring.load_ob3_key(session, key_dir=key_dir)
        assert "PRIVATE KEY" not in str(caught.value)
        rsa_info.path.unlink(missing_ok=True)
        rsa_info.path.write_bytes(good)
        rsa_info.path.chmod(0o600)
    if os.name == "posix":
        rsa_info.path.chmod(0o640)
        with pytest.raises(keyring.KeyPermissionError, match="chmod 600"):
            keyring.load_ob3_key(session, key_dir=key_dir)
        rsa_info.path.chmod(0o600)
    assert keyring.load_ob3_key(session, key_dir=key_dir).kid == rsa_info.kid
    # a row changed by hand is refused rather than published (or listed)
    sound = dict(row.public_jwk)
    changes: list[tuple[dict[str, Any], str]] = [
        ({**sound, "n": keyring.rsa_jwk(other.public_key())["n"]}, "does not match its id"),
        ({**sound, "d": "AQAB"}, "damaged .*exactly the public members"),
        ({**sound, "n": "AQAB"}, "damaged .*shorter than 2048 bits"),
    ]
    for jwk, message in changes:
        session.execute(update(Ob3Key).where(Ob3Key.kid == rsa_info.kid).values(public_jwk=jwk))
        session.expire_all()
        with pytest.raises(keyring.SigningKeyError, match=message) as refused:
            keyring.ob3_public_keys(session)
        assert rsa_info.kid in str(refused.value) and "restore the database" in str(refused.value)
        with pytest.raises(keyring.SigningKeyError, match=message):
            keyring.list_keys(session, key_dir=key_dir)
    session.execute(update(Ob3Key).where(Ob3Key.kid == rsa_info.kid).values(public_jwk=sound))
    session.expire_all()
    assert list(keyring.ob3_public_keys(session)) == [rsa_info.kid]


def test_key_events_hold_ids_only(session: Session, tmp_path: Path) -> None:
    """Making and rotating keys is logged by verb and kid; the keys are in their tables."""
    key_dir = tmp_path / "keys"
    made = keyring.init_keys(session, key_dir=key_dir)
    made += keyring.rotate_keys(session, key_dir=key_dir)
    events = list(
        session.scalars(
            select(Event)
            .where(Event.object_type.in_(("signing_key", "ob3_key")))
            .order_by(Event.id)
        )
    )
    assert [(e.verb, e.object_type, e.object_id) for e in events] == [
        ("signing_key.created", "signing_key", made[0].kid),
        ("ob3_key.created", "ob3_key", made[1].kid),
        ("signing_key.rotated", "signing_key", made[2].kid),
        ("ob3_key.rotated", "ob3_key", made[3].kid),
    ]
    assert all(e.data == {} for e in events)
    rows = list(session.scalars(select(Ob3Key).order_by(Ob3Key.id)))
    assert [(r.kid, r.retired_at is None) for r in rows] == [
        (made[1].kid, False),
        (made[3].kid, True),
    ]
    assert keyring.active_ob3_kid(session) == made[3].kid
    numbers = [r.public_jwk["n"] for r in rows]
    numbers += [b64e(k.public_key) for k in session.scalars(select(SigningKey))]
    numbers += [bytes(k.public_key).hex() for k in session.scalars(select(SigningKey))]
    logged = json.dumps([e.data for e in session.scalars(select(Event))])
    assert not any(n[:40] in logged for n in numbers)


def test_migration_0007_moves_logged_rs256_keys_into_their_table(db_url: str) -> None:
    """A database at 0006 whose event log holds RS256 keys (as an earlier
    development version recorded them): the upgrade copies them into ob3_key,
    the newest active, each other retired when its successor was created."""
    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    first, second = (rsa.generate_private_key(65537, 2048).public_key() for _ in range(2))
    logged = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    created = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))

    def event(verb: str, public: rsa.RSAPublicKey, **extra: str) -> dict[str, Any]:
        return {
            "occurred_at": logged,
            "verb": verb,
            "object_type": "ob3_key",
            "object_id": keyring.ob3_kid(public),
            "source": "cli",
            "data": {**keyring.rsa_jwk(public), "alg": "RS256", **extra},
        }

    with engine.begin() as connection:
        connection.execute(
            insert(Event),
            [
                event("ob3_key.created", first, created=created.isoformat()),
                {**event("ob3_key.exported", second), "data": {}},  # not a key record
                event("ob3_key.rotated", second),  # no "created": the time it was logged
            ],
        )
    try:
        assert schema.upgrade(engine)[0] == "0006"
        with session_factory(engine)() as session:
            rows = list(session.scalars(select(Ob3Key).order_by(Ob3Key.id)))
            assert [(r.kid, r.algorithm, r.public_jwk) for r in rows] == [
                (keyring.ob3_kid(k), "RS256", keyring.rsa_jwk(k)) for k in (first, second)
            ]
            assert [(r.created_at, r.retired_at) for r in rows] == [
                (created, logged),
                (logged, None),
            ]
            assert list(keyring.ob3_public_keys(session)) == [r.kid for r in rows]
            assert keyring.active_ob3_kid(session) == keyring.ob3_kid(second)
    finally:
        engine.dispose()


def test_ob3_export_without_an_rsa_key_says_so_and_writes_nothing(
    engine: Engine, project: Project, key_dir: Path, tmp_path: Path, cli: Cli
) -> None:
    """An install from before RS256: an Ed25519 key only.  The export refuses, with what
    to do; ``lms keys init`` adds the RSA key alone; then the export works.  A missing
    or unreadable RSA key file later is refused the same way."""
    set_base_url(project)
    with session_factory(engine).begin() as session:
        world = setup_world(session, project, key_dir, keys=False)
        [ed] = keyring.init_keys(session, key_dir=key_dir, algorithms=["Ed25519"])
        for staff in ("PL001", "PV001"):
            complete(session, world, staff)

    def run(out: Path) -> Any:
        return cli(
            "certificates",
            "export",
            "--org",
            "37",
            "--subtree",
            "--format",
            "ob3",
            "--out",
            str(out),
        )

    for out in (tmp_path / "ob3", tmp_path / "ob3.zip"):
        result = run(out)
        assert result.exit_code == 1, result.output
        assert "no Open Badges signing key" in result.output and "lms keys init" in result.output
        assert "Traceback" not in result.output
        assert not out.exists() and not list(tmp_path.glob("ob3*"))
    site = tmp_path / "site"
    published = cli("certificates", "publish", "--out", str(site))
    assert published.exit_code == 0 and "verify/ob3/ was not written" in published.output
    assert not (site / "verify" / "ob3").exists() and (site / "verify" / "keys.json").is_file()

    added = cli("keys", "init")
    assert added.exit_code == 0, added.output
    assert "RS256 key rsa-" in added.output and "Ed25519 key is unchanged" in added.output
    assert "PRIVATE KEY" not in added.output
    with session_factory(engine)() as session:
        active = keyring.active_key(session)
        assert active is not None and active.kid == ed.kid
        rsa_kid = keyring.active_ob3_kid(session)
    assert rsa_kid is not None
    done = run(tmp_path / "ob3")
    assert done.exit_code == 0, done.output
    assert len(list((tmp_path / "ob3").glob("*.jwt"))) == 2

    # the RSA key file gone, or readable by others: refused, nothing written
    pem = key_dir / f"{rsa_kid}.pem"
    good = pem.read_bytes()
    pem.unlink()
    gone = run(tmp_path / "again")
    assert gone.exit_code == 1 and "does not exist" in gone.output
    assert not (tmp_path / "again").exists()
    if os.name == "posix":
        pem.write_bytes(good)
        pem.chmod(0o644)
        exposed = run(tmp_path / "again.zip")
        assert exposed.exit_code == 1 and "chmod 600" in exposed.output
        assert not (tmp_path / "again.zip").exists()
