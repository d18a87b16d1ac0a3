"""Accounts, roles and invite codes.

A person gets an account when they are invited: the account starts as
``invited`` with no password; the invite code (single use, expiring) lets
them choose one at first sign-in (the server does that part).  Codes are
75 random bits in Crockford base32, grouped for reading aloud over the
phone, and stored only as a SHA-256 digest.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from lms_core.db import execute_many
from lms_core.errors import ConflictError, LmsError, NotFoundError
from lms_core.models import ROLES, Account, Invite, OrgUnit, Person, sql_timestamp, utcnow
from lms_core.services.events import record_event
from lms_core.services.org import get_unit, subtree_filter
from lms_core.services.staff import normalise_staff_code

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_CHARS = 15  # 15 x 5 bits = 75 bits of randomness
DEFAULT_INVITE_DAYS = 30
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
_LOOKALIKES = str.maketrans("OIL", "011")


def new_invite_code() -> str:
    """A fresh code such as ``K7M2Q-9XZ4T-HB3WD`` (75 bits from ``secrets``)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(raw[i : i + 5] for i in range(0, CODE_CHARS, 5))


def normalise_invite_code(code: str) -> str:
    """Undo what people do when typing a code: case, spaces, hyphens, O for 0, I/L for 1."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return cleaned.translate(_LOOKALIKES)


def hash_invite_code(code: str) -> str:
    """The stored digest of a code (high-entropy, so a fast hash is enough)."""
    return hashlib.sha256(normalise_invite_code(code).encode("ascii")).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; refuses passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise LmsError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises on a wrong or damaged hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """An invite as handed out: the only moment the plain code exists."""

    staff_code: str
    full_name: str
    org_code: str
    org_name: str
    role: str
    code: str
    expires_at: dt.datetime


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise LmsError(f"unknown role '{role}' (one of: {', '.join(ROLES)})")


def invite_people(
    session: Session,
    *,
    org: str,
    subtree: bool = False,
    days: int = DEFAULT_INVITE_DAYS,
    reissue: bool = False,
    actor_account_id: int | None = None,
) -> list[IssuedInvite]:
    """Invite every active person of ``org`` (or its subtree) who has no account yet.

    With ``reissue``, people whose account is still waiting for its first
    sign-in get a new code and their earlier codes stop working (for a lost
    sheet).  Returns the codes; they are not stored in plain anywhere.
    """
    if days < 1 or days > 365:
        raise LmsError("invites must be valid between 1 and 365 days")
    unit = get_unit(session, org)
    scope = (
        Person.org_unit_id.in_(subtree_filter(unit.path))
        if subtree
        else Person.org_unit_id == unit.id
    )
    query = (
        select(
            Person.id.label("person_id"),
            Person.staff_code,
            Person.full_name,
            OrgUnit.code.label("org_code"),
            OrgUnit.name.label("org_name"),
            Account.id.label("account_id"),
            Account.status,
            Account.role,
        )
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .outerjoin(Account, Account.person_id == Person.id)
        .where(scope, Person.active.is_(True))
        .order_by(OrgUnit.path, Person.full_name, Person.staff_code)
    )
    targets = [
        r
        for r in session.execute(query).all()
        if r.account_id is None or (reissue and r.status == "invited")
    ]
    now = utcnow()
    expires = now + dt.timedelta(days=days)
    new_people = [{"person_id": r.person_id} for r in targets if r.account_id is None]
    execute_many(
        session,
        insert(Account).values(role="learner", status="invited", created_at=sql_timestamp(now)),
        new_people,
    )
    in_scope = select(Account.id).join(Person, Account.person_id == Person.id).where(scope)
    if reissue:
        session.execute(
            update(Invite)
            .where(
                Invite.account_id.in_(in_scope.where(Account.status == "invited")),
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
            )
            .values(revoked_at=now),
            execution_options={"synchronize_session": False},
        )
    account_of = dict(
        session.execute(select(Account.person_id, Account.id).where(Account.id.in_(in_scope)))
        .tuples()
        .all()
    )
    issued: list[IssuedInvite] = []
    invites: list[dict[str, object]] = []
    for r in targets:
        code = new_invite_code()
        invites.append({"account_id": account_of[r.person_id], "code_hash": hash_invite_code(code)})
        role = r.role or "learner"
        issued.append(
            IssuedInvite(r.staff_code, r.full_name, r.org_code, r.org_name, role, code, expires)
        )
    execute_many(
        session,
        insert(Invite).values(created_at=sql_timestamp(now), expires_at=sql_timestamp(expires)),
        invites,
    )
    record_event(
        session,
        verb="accounts.invited",
        object_type="org_unit",
        object_id=unit.code,
        actor_account_id=actor_account_id,
        data={
            "invites": len(issued),
            "subtree": subtree,
            "reissued": len(issued) - len(new_people),
        },
    )
    return issued


def grant_role(
    session: Session,
    *,
    staff_code: str,
    role: str,
    scope_org: str | None = None,
    days: int = DEFAULT_INVITE_DAYS,
    actor_account_id: int | None = None,
) -> IssuedInvite | None:
    """Give a person a role (and for trainers/managers an org scope).

    Creates the account if needed and returns a fresh invite for it; returns
    None when the account already has a password (only the role changes).
    """
    _check_role(role)
    person = session.scalar(
        select(Person).where(Person.staff_code == normalise_staff_code(staff_code))
    )
    if person is None:
        raise NotFoundError(f"no person with staff code '{staff_code}'")
    if role in ("trainer", "manager") and scope_org is None:
        raise LmsError(f"a {role} needs --org: the unit whose subtree they look after")
    scope_id = get_unit(session, scope_org).id if scope_org else None
    account = session.scalar(select(Account).where(Account.person_id == person.id))
    now = utcnow()
    if account is None:
        account = Account(
            person_id=person.id, role=role, scope_org_id=scope_id, status="invited", created_at=now
        )
        session.add(account)
        session.flush()
    else:
        account.role, account.scope_org_id = role, scope_id
    record_event(
        session,
        verb="accounts.role_granted",
        object_type="account",
        object_id=str(account.id),
        actor_account_id=actor_account_id,
        data={"role": role, "scope_org_id": scope_id},
    )
    if account.status != "invited":
        return None
    session.execute(
        update(Invite)
        .where(
            and_(
                Invite.account_id == account.id,
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
            )
        )
        .values(revoked_at=now),
        execution_options={"synchronize_session": False},
    )
    code = new_invite_code()
    expires = now + dt.timedelta(days=days)
    session.execute(
        insert(Invite).values(
            account_id=account.id,
            code_hash=hash_invite_code(code),
            created_at=now,
            expires_at=expires,
        )
    )
    unit = session.get(OrgUnit, person.org_unit_id)
    assert unit is not None
    return IssuedInvite(
        person.staff_code, person.full_name, unit.code, unit.name, role, code, expires
    )


def set_password(session: Session, *, staff_code: str, password: str) -> None:
    """Set a password directly (bootstrap of the first admin, or a reset by an admin)."""
    account = session.scalar(
        select(Account).join(Person).where(Person.staff_code == normalise_staff_code(staff_code))
    )
    if account is None:
        raise NotFoundError(f"no account for staff code '{staff_code}' (grant a role first)")
    if account.status == "disabled":
        raise ConflictError("this account is disabled")
    account.password_hash = hash_password(password)
    account.status = "active"
    session.execute(
        update(Invite)
        .where(
            Invite.account_id == account.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None)
        )
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    record_event(
        session, verb="accounts.password_set", object_type="account", object_id=str(account.id)
    )


@dataclass(frozen=True, slots=True)
class AccountEntry:
    staff_code: str
    full_name: str
    role: str
    status: str
    scope_code: str


def list_accounts(session: Session, *, role: str | None = None) -> list[AccountEntry]:
    """Accounts with their roles and scopes, admins first."""
    scope = OrgUnit
    query = (
        select(Person.staff_code, Person.full_name, Account.role, Account.status, scope.code)
        .join(Person, Account.person_id == Person.id)
        .outerjoin(scope, Account.scope_org_id == scope.id)
        .order_by(Account.role, Person.staff_code)
    )
    if role is not None:
        _check_role(role)
        query = query.where(Account.role == role)
    return [AccountEntry(s, n, r, st, c or "") for s, n, r, st, c in session.execute(query)]


def write_invite_sheet(path: Path, invites: list[IssuedInvite], *, site_url: str = "") -> None:
    """Write the sheet a commune officer prints and hands out (UTF-8 with BOM for Excel).

    This file holds live codes and names: it is a deliberate export.
    """
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "staff_code",
                "full_name",
                "org_code",
                "org_name",
                "role",
                "invite_code",
                "expires",
                "sign_in_at",
            ]
        )
        for inv in invites:
            writer.writerow(
                [
                    inv.staff_code,
                    inv.full_name,
                    inv.org_code,
                    inv.org_name,
                    inv.role,
                    inv.code,
                    inv.expires_at.date().isoformat(),
                    site_url,
                ]
            )
