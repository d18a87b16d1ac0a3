"""The issuer's signing keys: create, rotate, list, and load the private keys safely.

The issuer has two keys, each with its own job:

* **Ed25519** signs the certificate tokens (the QR codes, docs/certificates.md
  "The signed token").  Its public keys are in the table ``signing_key``.
* **RSA 2048, for RS256** signs the Open Badges 3.0 credentials (the
  ``ob3`` export).  OB 3.0 §8.2.3 says the JWT's ``alg`` "MUST be RS256 as
  a minimum" and that other algorithms limit interoperability; 1EdTech's
  validator accepts RS256 (and ES256) JWTs only, never EdDSA.  The table
  ``signing_key`` holds 32-byte Ed25519 keys only, so these public keys
  are in their own table, ``ob3_key`` (kid, the public JWK ``kty``/``n``/
  ``e``, created, retired).  The one not retired is the active one; the
  others are retired but stay published, so their credentials verify.
  Each row is checked, whenever it is read, against its kid (the kid is
  the JWK's thumbprint): a row changed by hand is refused, never published.

Making or rotating a key is recorded in the event log too, by ids only
(verb, ``signing_key``/``ob3_key`` and the kid): the log says who did what
when; the keys themselves are in their tables.

A private key is what makes a certificate worth anything, so each lives in
one place only: a PKCS#8 PEM file ``<key_dir>/<kid>.pem`` of mode 0600, in a
folder of mode 0700, *outside* the project folder, the built site and any
Git working tree (a key committed or published once is compromised for
good).  The database holds only public keys, which the site publishes.
Loading refuses, with a message that says what to do: a missing file, a
file others can read, a file that is not the expected kind of key, and a key
the database does not list as the active one.  No message, log line or
output ever contains key material.

Creating keys is guarded as it always was: each file is created with
``O_EXCL`` (never overwritten), an Ed25519 kid is unique in its table, and
when two ``init`` or ``rotate`` race, both keys are kept and the newest is
the active one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms_certificates.token import TokenError, b64url_decode, b64url_encode, kid_of
from lms_core.errors import ConflictError, LmsError
from lms_core.models import Ob3Key, SigningKey, utcnow
from lms_core.services.events import record_event

__all__ = [
    "ALGORITHMS",
    "ED25519",
    "RS256",
    "KeyDirError",
    "KeyInfo",
    "KeyMissingError",
    "KeyNotRegisteredError",
    "KeyPermissionError",
    "LoadedKey",
    "LoadedOb3Key",
    "NotAKeyError",
    "SigningKeyError",
    "active_key",
    "active_ob3_kid",
    "check_key_dir",
    "init_keys",
    "key_path",
    "list_keys",
    "load_ob3_key",
    "load_signing_key",
    "ob3_kid",
    "ob3_public_keys",
    "public_keys",
    "rotate_key",
    "rotate_keys",
    "rotate_ob3_key",
    "rsa_jwk",
    "rsa_public_key",
]

MAX_KEY_FILE_BYTES = 64 * 1024

ED25519 = "Ed25519"
"""The certificate tokens' key (``KeyInfo.alg``)."""
RS256 = "RS256"
"""The Open Badges credentials' key: RSA, signing with RSASSA-PKCS1-v1_5 and SHA-256."""
ALGORITHMS = (ED25519, RS256)
"""Every key the issuer has; ``lms keys init`` makes those missing."""

RSA_BITS = 2048
"""RSA modulus size: what OB 3.0 and the 1EdTech Security Framework (§6.1) ask as a minimum."""
RSA_EXPONENT = 65537
OB3_OBJECT = "ob3_key"
"""``Event.object_type`` of the events that record making an RS256 key."""
OB3_CREATED = "ob3_key.created"
OB3_ROTATED = "ob3_key.rotated"


class SigningKeyError(LmsError):
    """The issuer's private key cannot be used; nothing was signed."""


class KeyDirError(SigningKeyError):
    """``key_dir`` is somewhere a private key must not be (the project, the site, Git)."""


class KeyMissingError(SigningKeyError):
    """The active key's file is not in ``key_dir``."""


class KeyPermissionError(SigningKeyError):
    """The key file can be read by other users."""


class NotAKeyError(SigningKeyError):
    """The key file is not a private key of the expected kind (Ed25519, or RSA for RS256)."""


class KeyNotRegisteredError(SigningKeyError):
    """No active key in the database, or the file holds a key the database does not list."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A public key as ``lms keys list`` shows it (never the private half)."""

    kid: str
    created_at: dt.datetime
    retired_at: dt.datetime | None
    path: Path | None = None
    """Where its private key file is (or would be), when the key folder is known."""
    has_private_key: bool = False
    alg: str = ED25519
    """:data:`ED25519` (certificate tokens) or :data:`RS256` (Open Badges credentials)."""


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """The active Ed25519 private key, checked against the database."""

    kid: str
    private_key: Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class LoadedOb3Key:
    """The active RS256 private key (Open Badges), checked against the database."""

    kid: str
    private_key: rsa.RSAPrivateKey


# --------------------------------------------------------------------------- the folder


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _git_work_tree(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def check_key_dir(
    key_dir: Path, *, project_root: Path | None = None, output_dir: Path | None = None
) -> Path:
    """``key_dir`` resolved, or :class:`KeyDirError` if it is inside the project,
    the site output or a Git working tree (where keys get committed or published).
    """
    resolved = key_dir.expanduser().resolve()
    where = {
        "the project folder": project_root,
        "the site output folder": output_dir,
    }
    for name, folder in where.items():
        if folder is not None and _inside(resolved, folder.resolve()):
            raise KeyDirError(
                f"the key folder {resolved} is inside {name} ({folder.resolve()}): a private "
                "key there gets copied, published or committed; set [certificates] key_dir "
                "in lms.toml (or LMS_KEY_DIR) to a folder outside it"
            )
    repository = _git_work_tree(resolved)
    if repository is not None:
        raise KeyDirError(
            f"the key folder {resolved} is inside the Git working tree {repository}: a "
            "private key there gets committed; set [certificates] key_dir in lms.toml "
            "(or LMS_KEY_DIR) to a folder outside it"
        )
    return resolved


def key_path(key_dir: Path, kid: str) -> Path:
    """The private key file of ``kid``."""
    return key_dir / f"{kid}.pem"


def _make_key_dir(key_dir: Path) -> None:
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(key_dir, 0o700)


def _write_private_key(
    key_dir: Path, private_key: Ed25519PrivateKey | rsa.RSAPrivateKey, kid: str
) -> Path:
    """Write the PEM with mode 0600 from the first byte (never briefly readable)."""
    _make_key_dir(key_dir)
    path = key_path(key_dir, kid)
    pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ConflictError(f"{path} already exists; nothing was changed") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return path


# --------------------------------------------------------------------------- RSA keys as JWKs


def _int_b64(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def rsa_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """``{"kty": "RSA", "n", "e"}``: the public numbers, base64url big-endian (RFC 7518 §6.3.1)."""
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}


def rsa_public_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    """The RSA public key of a JWK's ``n`` and ``e``; ValueError when they are not one.

    Keys under :data:`RSA_BITS` bits are refused: a verifier must not be
    talked into accepting a signature from a key anyone can factor.
    """
    if jwk.get("kty") != "RSA":
        raise ValueError("not an RSA JWK (kty must be RSA)")
    try:
        n = int.from_bytes(b64url_decode(str(jwk.get("n", ""))), "big")
        e = int.from_bytes(b64url_decode(str(jwk.get("e", ""))), "big")
    except TokenError:
        raise ValueError("the JWK's n or e is not base64url") from None
    if n.bit_length() < RSA_BITS:
        raise ValueError(f"the RSA key is shorter than {RSA_BITS} bits")
    return rsa.RSAPublicNumbers(e, n).public_key()


def ob3_kid(public_key: rsa.RSAPublicKey) -> str:
    """An RS256 key's id: ``rsa-`` and the first 16 hex digits of its JWK thumbprint.

    The thumbprint is RFC 7638's: SHA-256 of ``{"e":…,"kty":"RSA","n":…}``
    (members sorted, no whitespace), so anyone can recompute it from the
    published JWK.  The prefix keeps it apart from the Ed25519 kids in the
    key folder and in ``lms keys list``.
    """
    canonical = json.dumps(rsa_jwk(public_key), sort_keys=True, separators=(",", ":"))
    return "rsa-" + hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]


# --------------------------------------------------------------------------- the database


def _keys(session: Session) -> list[SigningKey]:
    return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.id)))


def active_key(session: Session) -> SigningKey | None:
    """The key new certificates are signed with (the newest one not retired)."""
    return session.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
        .limit(1)
    )


def public_keys(session: Session) -> dict[str, bytes]:
    """kid -> raw public key of every Ed25519 key ever used, retired ones included."""
    return {key.kid: bytes(key.public_key) for key in _keys(session)}


def _ob3_rows(session: Session) -> list[Ob3Key]:
    return list(session.scalars(select(Ob3Key).order_by(Ob3Key.created_at, Ob3Key.id)))


def _ob3_public(row: Ob3Key) -> rsa.RSAPublicKey:
    """The row's public key, once checked that its numbers give its kid.

    A row that fails is refused rather than published: the table was
    changed by hand, and a verifier would be sent a key the issuer never
    made (or, with private members, the key itself).
    """
    where = f"the database's record of the Open Badges key {row.kid} (table ob3_key)"
    jwk = row.public_jwk if isinstance(row.public_jwk, dict) else {}
    try:
        if row.algorithm != RS256:
            raise ValueError(f"algorithm {row.algorithm}, not {RS256}")
        if set(jwk) != {"kty", "n", "e"}:
            raise ValueError("its JWK must have exactly the public members kty, n and e")
        public = rsa_public_key(jwk)
    except ValueError as exc:
        raise SigningKeyError(
            f"{where} is damaged ({exc}); restore the database from a backup"
        ) from None
    if ob3_kid(public) != row.kid:
        raise SigningKeyError(f"{where} does not match its id; restore the database from a backup")
    return public


def ob3_public_keys(session: Session) -> dict[str, rsa.RSAPublicKey]:
    """kid -> public key of every RS256 key ever used, oldest first, retired ones included."""
    return {row.kid: _ob3_public(row) for row in _ob3_rows(session)}


def active_ob3_kid(session: Session) -> str | None:
    """The kid Open Badges credentials are signed with now, or None.

    The newest RS256 key not retired: there is one, unless two ``init`` or
    ``rotate`` raced, and then the newest wins (as for Ed25519).
    """
    return session.scalar(
        select(Ob3Key.kid)
        .where(Ob3Key.retired_at.is_(None))
        .order_by(Ob3Key.created_at.desc(), Ob3Key.id.desc())
        .limit(1)
    )


def _has_ob3_key(session: Session) -> bool:
    return session.scalar(select(Ob3Key.id).limit(1)) is not None


def _new_key(
    session: Session,
    *,
    folder: Path,
    now: dt.datetime,
    actor_account_id: int | None,
    verb: str,
) -> KeyInfo:
    """A new Ed25519 key in the checked ``folder``, registered as the only active one."""
    private_key = Ed25519PrivateKey.generate()
    public = private_key.public_key().public_bytes_raw()
    kid = kid_of(public)
    session.execute(
        update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now)
    )
    # The file first: a database row without its private key could sign nothing.
    path = _write_private_key(folder, private_key, kid)
    session.add(SigningKey(kid=kid, public_key=public, created_at=now))
    session.flush()
    record_event(
        session,
        verb=verb,
        object_type="signing_key",
        object_id=kid,
        actor_account_id=actor_account_id,
    )
    return KeyInfo(kid, now, None, path, True)


def _new_ob3_key(
    session: Session,
    *,
    folder: Path,
    now: dt.datetime,
    actor_account_id: int | None,
    verb: str,
) -> KeyInfo:
    """A new RSA key in the checked ``folder``, registered as the only active RS256 key.

    Generating a 2048-bit key takes a tenth of a second or so; it happens
    at ``init`` and ``rotate`` only, never while exporting.
    """
    private_key = rsa.generate_private_key(public_exponent=RSA_EXPONENT, key_size=RSA_BITS)
    public = private_key.public_key()
    kid = ob3_kid(public)
    session.execute(update(Ob3Key).where(Ob3Key.retired_at.is_(None)).values(retired_at=now))
    # The file first, as for Ed25519: a row without its private key could sign nothing.
    path = _write_private_key(folder, private_key, kid)
    session.add(Ob3Key(kid=kid, algorithm=RS256, public_jwk=rsa_jwk(public), created_at=now))
    session.flush()
    record_event(
        session,
        verb=verb,
        object_type=OB3_OBJECT,
        object_id=kid,
        actor_account_id=actor_account_id,
    )
    return KeyInfo(kid, now, None, path, True, RS256)


def init_keys(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
    actor_account_id: int | None = None,
    now: dt.datetime | None = None,
    algorithms: Collection[str] = ALGORITHMS,
) -> list[KeyInfo]:
    """Create the issuer's keys that do not exist yet (``lms keys init``); the keys made.

    On a new install that is both (Ed25519, then RS256).  On an install
    from before Open Badges were signed with RS256 it is the RS256 key
    alone: the Ed25519 key and its certificates are left as they are.
    Refused once every key exists: making a second "first" key would
    orphan the first one's certificates' meaning; that is what
    :func:`rotate_keys` is for.  ``algorithms`` limits which keys may be
    made (an older install is :data:`ED25519` only).
    """
    unknown = set(algorithms) - set(ALGORITHMS)
    if unknown:
        raise LmsError(f"unknown key algorithm {sorted(unknown)} (one of: {', '.join(ALGORITHMS)})")
    present = {
        ED25519: session.scalar(select(SigningKey.id).limit(1)) is not None,
        RS256: _has_ob3_key(session),
    }
    missing = [alg for alg in ALGORITHMS if alg in algorithms and not present[alg]]
    if not missing:
        raise ConflictError(
            "the issuer already has its signing keys (see 'lms keys list'); "
            "use 'lms keys rotate' to replace them"
        )
    folder = check_key_dir(key_dir, project_root=project_root, output_dir=output_dir)
    moment = now or utcnow()
    makers = {ED25519: (_new_key, "signing_key.created"), RS256: (_new_ob3_key, OB3_CREATED)}
    return [
        make(session, folder=folder, now=moment, actor_account_id=actor_account_id, verb=verb)
        for make, verb in (makers[alg] for alg in missing)
    ]


def rotate_key(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
    actor_account_id: int | None = None,
    now: dt.datetime | None = None,
) -> KeyInfo:
    """Make a new active Ed25519 key and retire the others.

    Retired keys stay in the database and in the published list, so every
    certificate signed with them still verifies; their private key files
    are no longer used and may be archived offline.
    """
    if session.scalar(select(SigningKey.id).limit(1)) is None:
        raise KeyNotRegisteredError("there is no signing key to rotate yet: run 'lms keys init'")
    return _new_key(
        session,
        folder=check_key_dir(key_dir, project_root=project_root, output_dir=output_dir),
        now=now or utcnow(),
        actor_account_id=actor_account_id,
        verb="signing_key.rotated",
    )


def rotate_ob3_key(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
    actor_account_id: int | None = None,
    now: dt.datetime | None = None,
) -> KeyInfo:
    """Make a new active RS256 key; earlier ones stay published, retired.

    On an install that has none yet, this is how the first one is made
    (recorded as created, not rotated).
    """
    return _new_ob3_key(
        session,
        folder=check_key_dir(key_dir, project_root=project_root, output_dir=output_dir),
        now=now or utcnow(),
        actor_account_id=actor_account_id,
        verb=OB3_ROTATED if _has_ob3_key(session) else OB3_CREATED,
    )


def rotate_keys(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
    actor_account_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[KeyInfo]:
    """``lms keys rotate``: a new Ed25519 key and a new RS256 key, in one transaction.

    Both keys sign for the same issuer and are replaced for the same
    reasons (a suspected leak, a departing administrator), so they rotate
    together.  Refused, before anything is made, when there is no key yet.
    """
    if session.scalar(select(SigningKey.id).limit(1)) is None:
        raise KeyNotRegisteredError("there is no signing key to rotate yet: run 'lms keys init'")
    options: dict[str, Any] = {
        "key_dir": key_dir,
        "project_root": project_root,
        "output_dir": output_dir,
        "actor_account_id": actor_account_id,
        "now": now or utcnow(),
    }
    return [rotate_key(session, **options), rotate_ob3_key(session, **options)]


def list_keys(session: Session, *, key_dir: Path | None = None) -> list[KeyInfo]:
    """Every key (Ed25519, then RS256), oldest first, and whether its private file is here."""

    def where(kid: str) -> Path | None:
        return key_path(key_dir.expanduser(), kid) if key_dir is not None else None

    out = []
    for key in _keys(session):
        path = where(key.kid)
        out.append(
            KeyInfo(
                key.kid,
                key.created_at,
                key.retired_at,
                path,
                path is not None and path.is_file(),
            )
        )
    for row in _ob3_rows(session):
        _ob3_public(row)  # a damaged row is reported here too, not listed as if sound
        path = where(row.kid)
        out.append(
            KeyInfo(
                row.kid,
                row.created_at,
                row.retired_at,
                path,
                path is not None and path.is_file(),
                RS256,
            )
        )
    return out


# --------------------------------------------------------------------------- loading


def _read_key_file(path: Path) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyMissingError(
            f"the signing key file {path} does not exist: restore it from the backup, or "
            "set [certificates] key_dir (or LMS_KEY_DIR) to the folder that holds it"
        ) from None
    except OSError as exc:
        raise KeyMissingError(f"cannot read the signing key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotAKeyError(f"{path} is not a file")
    if os.name == "posix" and info.st_mode & 0o077:
        raise KeyPermissionError(
            f"the signing key file {path} can be read by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); nothing was signed. "
            f"Run 'chmod 600 {path}' and check who may have copied it"
        )
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise NotAKeyError(f"{path} is not a private key file (far too big)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyMissingError(f"cannot read the signing key file {path}: {exc.strerror}") from None


def _load_private_key(path: Path) -> Any:
    data = _read_key_file(path)
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise NotAKeyError(
            f"{path} is not an unencrypted PEM private key (restore the file 'lms keys init' wrote)"
        ) from None


def load_signing_key(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
) -> LoadedKey:
    """The active Ed25519 private key, or a :class:`SigningKeyError` saying what to fix."""
    active = active_key(session)
    if active is None:
        raise KeyNotRegisteredError(
            "the issuer has no signing key yet: run 'lms keys init' (certificates for "
            "completions recorded meanwhile are issued by 'lms certificates issue-pending')"
        )
    folder = check_key_dir(key_dir, project_root=project_root, output_dir=output_dir)
    path = key_path(folder, active.kid)
    private_key = _load_private_key(path)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise NotAKeyError(f"{path} holds a private key that is not Ed25519")
    kid = kid_of(private_key.public_key().public_bytes_raw())
    if kid != active.kid:
        raise KeyNotRegisteredError(
            f"{path} holds the key {kid}, but the database's active key is {active.kid}: "
            "restore the right file (the database knows only public keys)"
        )
    return LoadedKey(kid, private_key)


def load_ob3_key(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
) -> LoadedOb3Key:
    """The active RS256 private key, or a :class:`SigningKeyError` saying what to fix.

    The same checks as :func:`load_signing_key` (folder, file, mode, kind,
    the database's active kid); an install from before RS256 is told to run
    ``lms keys init``, which adds the key and leaves the Ed25519 key alone.
    """
    active = active_ob3_kid(session)
    if active is None:
        raise KeyNotRegisteredError(
            "the issuer has no Open Badges signing key (RSA, for RS256) yet: run "
            "'lms keys init', which adds it beside the existing key; nothing was exported"
        )
    folder = check_key_dir(key_dir, project_root=project_root, output_dir=output_dir)
    path = key_path(folder, active)
    private_key = _load_private_key(path)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise NotAKeyError(f"{path} holds a private key that is not RSA")
    kid = ob3_kid(private_key.public_key())
    if kid != active:
        raise KeyNotRegisteredError(
            f"{path} holds the key {kid}, but the database's active Open Badges key is "
            f"{active}: restore the right file (the database knows only public keys)"
        )
    return LoadedOb3Key(kid, private_key)
