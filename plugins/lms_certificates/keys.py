"""The issuer's signing keys: create, rotate, list, and load the private key safely.

The private key is what makes a certificate worth anything, so it lives in
one place only: a PKCS#8 PEM file ``<key_dir>/<kid>.pem`` of mode 0600, in a
folder of mode 0700, *outside* the project folder, the built site and any
Git working tree (a key committed or published once is compromised for
good).  The database holds only public keys (table ``signing_key``), which
the site publishes.  Loading refuses, with a message that says what to do: a
missing file, a file others can read, a file that is not an Ed25519 key, and
a key the database does not list as the active one.  No message, log line
or output ever contains key material.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms_certificates.token import kid_of
from lms_core.errors import ConflictError, LmsError
from lms_core.models import SigningKey, utcnow
from lms_core.services.events import record_event

__all__ = [
    "KeyDirError",
    "KeyInfo",
    "KeyMissingError",
    "KeyNotRegisteredError",
    "KeyPermissionError",
    "LoadedKey",
    "NotAKeyError",
    "SigningKeyError",
    "active_key",
    "check_key_dir",
    "init_keys",
    "key_path",
    "list_keys",
    "load_signing_key",
    "public_keys",
    "rotate_key",
]

MAX_KEY_FILE_BYTES = 64 * 1024


class SigningKeyError(LmsError):
    """The issuer's private key cannot be used; nothing was signed."""


class KeyDirError(SigningKeyError):
    """``key_dir`` is somewhere a private key must not be (the project, the site, Git)."""


class KeyMissingError(SigningKeyError):
    """The active key's file is not in ``key_dir``."""


class KeyPermissionError(SigningKeyError):
    """The key file can be read by other users."""


class NotAKeyError(SigningKeyError):
    """The key file is not an Ed25519 private key."""


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


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """The active private key, checked against the database."""

    kid: str
    private_key: Ed25519PrivateKey


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


def _write_private_key(key_dir: Path, private_key: Ed25519PrivateKey, kid: str) -> Path:
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
    """kid -> raw public key of every key ever used, retired ones included."""
    return {key.kid: bytes(key.public_key) for key in _keys(session)}


def _new_key(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None,
    output_dir: Path | None,
    now: dt.datetime,
    actor_account_id: int | None,
    verb: str,
) -> KeyInfo:
    folder = check_key_dir(key_dir, project_root=project_root, output_dir=output_dir)
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


def init_keys(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
    actor_account_id: int | None = None,
    now: dt.datetime | None = None,
) -> KeyInfo:
    """Create the issuer's first key pair (``lms keys init``).

    Refused once a key exists: making a second "first" key would orphan the
    first one's certificates' meaning; that is what :func:`rotate_key` is for.
    """
    if session.scalar(select(SigningKey.id).limit(1)) is not None:
        raise ConflictError(
            "the issuer already has a signing key (see 'lms keys list'); "
            "use 'lms keys rotate' to replace it"
        )
    return _new_key(
        session,
        key_dir=key_dir,
        project_root=project_root,
        output_dir=output_dir,
        now=now or utcnow(),
        actor_account_id=actor_account_id,
        verb="signing_key.created",
    )


def rotate_key(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
    actor_account_id: int | None = None,
    now: dt.datetime | None = None,
) -> KeyInfo:
    """Make a new active key and retire the others (``lms keys rotate``).

    Retired keys stay in the database and in the published list, so every
    certificate signed with them still verifies; their private key files
    are no longer used and may be archived offline.
    """
    if session.scalar(select(SigningKey.id).limit(1)) is None:
        raise KeyNotRegisteredError("there is no signing key to rotate yet: run 'lms keys init'")
    return _new_key(
        session,
        key_dir=key_dir,
        project_root=project_root,
        output_dir=output_dir,
        now=now or utcnow(),
        actor_account_id=actor_account_id,
        verb="signing_key.rotated",
    )


def list_keys(session: Session, *, key_dir: Path | None = None) -> list[KeyInfo]:
    """Every key, oldest first, and whether its private key file is in ``key_dir``."""
    out = []
    for key in _keys(session):
        path = key_path(key_dir.expanduser(), key.kid) if key_dir is not None else None
        out.append(
            KeyInfo(
                key.kid,
                key.created_at,
                key.retired_at,
                path,
                path is not None and path.is_file(),
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
        raise NotAKeyError(f"{path} is not an Ed25519 private key (far too big)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyMissingError(f"cannot read the signing key file {path}: {exc.strerror}") from None


def load_signing_key(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    output_dir: Path | None = None,
) -> LoadedKey:
    """The active private key, or a :class:`SigningKeyError` saying what to fix."""
    active = active_key(session)
    if active is None:
        raise KeyNotRegisteredError(
            "the issuer has no signing key yet: run 'lms keys init' (certificates for "
            "completions recorded meanwhile are issued by 'lms certificates issue-pending')"
        )
    folder = check_key_dir(key_dir, project_root=project_root, output_dir=output_dir)
    path = key_path(folder, active.kid)
    data = _read_key_file(path)
    try:
        private_key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise NotAKeyError(
            f"{path} is not an unencrypted PEM private key (restore the file 'lms keys init' wrote)"
        ) from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise NotAKeyError(f"{path} holds a private key that is not Ed25519")
    kid = kid_of(private_key.public_key().public_bytes_raw())
    if kid != active.kid:
        raise KeyNotRegisteredError(
            f"{path} holds the key {kid}, but the database's active key is {active.kid}: "
            "restore the right file (the database knows only public keys)"
        )
    return LoadedKey(kid, private_key)
