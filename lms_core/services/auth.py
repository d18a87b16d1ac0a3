"""Signing in on the web: invite redemption, passwords, sessions, throttling.

Every failure says the same thing, whichever part was wrong (a staff code that
does not exist, a wrong code, an expired or used invite, a wrong password), so
the server never confirms that a staff code exists.  Failed attempts are
counted in the database per account and per client address (both stored as
SHA-256 digests) and, past a limit, refused for a while.

Sessions are database rows (servers keep no state): the browser holds a
256-bit random token in a cookie, the table holds its SHA-256.

Failures are written into the caller's session before :class:`AuthError` is
raised: the caller must commit on :class:`AuthError` (and roll back on any
other error) or the failure is not counted.

Checking a password costs about 0.1 s of argon2 (on purpose).  The server
must not hold a transaction meanwhile: on SQLite that is the database's one
write lock, so a class signing in at once queued every other request behind
it and the last ones failed after the busy timeout.  So signing in is three
steps: :func:`prepare_sign_in` reads (throttling, the account), then
:func:`password_ok` verifies with no transaction open, then
:func:`finish_sign_in` writes (the failure, or the session) after checking
that nothing changed meanwhile.  :func:`sign_in` does the three in one
transaction, for callers that do not care.  Likewise reading a session
(:func:`find_session`) needs no write; the coarse "last seen" time is written
separately (:func:`touch_session`) when it is due.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from lms_core.errors import LmsError
from lms_core.models import (
    Account,
    Invite,
    LoginFailure,
    OrgUnit,
    Person,
    WebSession,
    utcnow,
)
from lms_core.services.accounts import (
    MIN_PASSWORD_LENGTH,
    hash_invite_code,
    hash_password,
    verify_password,
)
from lms_core.services.events import record_event
from lms_core.services.staff import normalise_staff_code

SESSION_LIFETIME = dt.timedelta(hours=8)
FAILURE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
# A commune office puts many people behind one address: the per-address limit
# stops someone trying many staff codes without locking out a whole office.
MAX_FAILURES_PER_ADDRESS = 20
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=5)

REDEEM_FAILED = "mã mời hoặc mã cán bộ không đúng / invite code or staff code is wrong"
SIGN_IN_FAILED = "mã cán bộ hoặc mật khẩu không đúng / staff code or password is wrong"
THROTTLED = (
    "quá nhiều lần thử sai, vui lòng thử lại sau 15 phút / "
    "too many failed attempts, try again in 15 minutes"
)


class AuthError(LmsError):
    """A sign-in or redemption failed; the message never says which part was wrong."""


class ThrottledError(LmsError):
    """Too many recent failures for this account or this address."""


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """Who a session belongs to (what ``/api/me`` shows)."""

    session_id: int
    account_id: int
    person_id: int
    """The person the account belongs to: read with the session, so routes need
    not look it up again on every request."""
    staff_code: str
    full_name: str
    unit_code: str
    unit_name: str
    role: str
    csrf_token: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: ``token`` is the cookie value, never stored in plain."""

    token: str
    user: CurrentUser


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def csrf_token_for(token: str) -> str:
    """The CSRF token of session ``token``: an HMAC keyed by the session token.

    Only someone who holds the session cookie can compute it, and it does
    not reveal the cookie (the script that reads it cannot get the cookie
    back), so the server checks a state-changing request's header against
    the cookie alone, with no database read (``lms serve`` does so on every
    POST).  Sessions made before this scheme keep their stored random token,
    which :func:`csrf_matches` checks.
    """
    mac = hmac.new(token.encode("utf-8"), b"lms-csrf-v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def csrf_matches_cookie(token: str, header: str) -> bool:
    """Whether ``header`` is the CSRF token derived from session cookie ``token``."""
    if not token or not header:
        return False
    return hmac.compare_digest(csrf_token_for(token).encode(), header.encode())


def failure_keys(staff_code: str, address: str) -> tuple[str, str]:
    """The throttling keys of an attempt: digests, never the code or address itself."""
    return (
        "account:" + _digest(normalise_staff_code(staff_code)),
        "ip:" + _digest(address),
    )


def _check_throttle(session: Session, keys: Sequence[str], now: dt.datetime) -> None:
    since = now - FAILURE_WINDOW
    counts = dict(
        session.execute(
            select(LoginFailure.key, func.count())
            .where(LoginFailure.key.in_(keys), LoginFailure.at > since)
            .group_by(LoginFailure.key)
        )
        .tuples()
        .all()
    )
    for key in keys:
        limit = MAX_FAILURES_PER_ACCOUNT if key.startswith("account:") else MAX_FAILURES_PER_ADDRESS
        if counts.get(key, 0) >= limit:
            raise ThrottledError(THROTTLED)


def _fail(session: Session, keys: Sequence[str], now: dt.datetime, message: str) -> AuthError:
    """Count a failure (and forget expired ones of the same keys); the error to raise."""
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.key.in_(keys), LoginFailure.at <= now - FAILURE_WINDOW
        )
    )
    session.execute(insert(LoginFailure), [{"key": key, "at": now} for key in keys])
    return AuthError(message)


_dummy_hash: str | None = None


def _spend_equal_time(password: str) -> None:
    """Verify against a throwaway hash, so unknown staff codes take as long as known ones."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    verify_password(_dummy_hash, password)


def _check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise LmsError(
            f"mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự / "
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        )


def _start_session(session: Session, account: Account, now: dt.datetime) -> SignedIn:
    session.execute(
        delete(WebSession).where(WebSession.account_id == account.id, WebSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_digest(token),
        account_id=account.id,
        csrf_token=csrf_token_for(token),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        last_seen_at=now,
    )
    session.add(row)
    account.last_login_at = now
    session.flush()
    user = _user_of(session, row)
    assert user is not None
    return SignedIn(token=token, user=user)


def _user_of(session: Session, row: WebSession) -> CurrentUser | None:
    found = session.execute(
        select(
            Account.role,
            Account.status,
            Account.person_id,
            Person.staff_code,
            Person.full_name,
            OrgUnit,
        )
        .join(Person, Account.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .where(Account.id == row.account_id)
    ).one_or_none()
    if found is None or found.status != "active":
        return None
    return CurrentUser(
        session_id=row.id,
        account_id=row.account_id,
        person_id=found.person_id,
        staff_code=found.staff_code,
        full_name=found.full_name,
        unit_code=found.OrgUnit.code,
        unit_name=found.OrgUnit.name,
        role=found.role,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


def redeem_invite(
    session: Session, *, staff_code: str, invite_code: str, password: str, address: str
) -> SignedIn:
    """Set the password of an invited account with its invite code, and sign in.

    The invite must belong to the person with ``staff_code``, and be
    unexpired, unused and unrevoked; it is then used, and the person's other
    open invites revoked.
    """
    now = utcnow()
    keys = failure_keys(staff_code, address)
    _check_throttle(session, keys, now)
    _check_password_length(password)
    code_hash = hash_invite_code(invite_code) if invite_code.isascii() else ""
    found = session.execute(
        select(Invite, Account)
        .join(Account, Invite.account_id == Account.id)
        .join(Person, Account.person_id == Person.id)
        .where(
            Invite.code_hash == code_hash,
            Person.staff_code == normalise_staff_code(staff_code),
            Person.active.is_(True),
            Account.status == "invited",
            Invite.used_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
    ).one_or_none()
    if found is None:
        raise _fail(session, keys, now, REDEEM_FAILED)
    invite, account = found
    used = session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]  # redeemed concurrently
        raise _fail(session, keys, now, REDEEM_FAILED)
    session.execute(
        update(Invite)
        .where(
            Invite.account_id == account.id,
            Invite.id != invite.id,
            Invite.used_at.is_(None),
            Invite.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    account.password_hash = hash_password(password)
    account.status = "active"
    record_event(
        session,
        verb="accounts.invite_redeemed",
        object_type="account",
        object_id=str(account.id),
        actor_account_id=account.id,
        source="web",
    )
    return _start_session(session, account, now)


@dataclass(frozen=True, slots=True)
class SignInCheck:
    """What :func:`prepare_sign_in` read: the throttling keys and the account to check."""

    keys: tuple[str, str]
    account_id: int | None
    """None when no active account with a password has this staff code."""
    password_hash: str


def prepare_sign_in(session: Session, *, staff_code: str, address: str) -> SignInCheck:
    """Step 1 of signing in, reads only: refuse a throttled attempt, find the account."""
    now = utcnow()
    keys = failure_keys(staff_code, address)
    _check_throttle(session, keys, now)
    found = session.execute(
        select(Account.id, Account.status, Account.password_hash)
        .join(Person, Account.person_id == Person.id)
        .where(Person.staff_code == normalise_staff_code(staff_code), Person.active.is_(True))
    ).one_or_none()
    if found is None or found.status != "active" or not found.password_hash:
        return SignInCheck(keys=keys, account_id=None, password_hash="")
    return SignInCheck(keys=keys, account_id=found.id, password_hash=found.password_hash)


def password_ok(check: SignInCheck, password: str) -> bool:
    """Step 2, no database: argon2 verification (about 0.1 s; hold no transaction).

    Without an account it spends the same time on a throwaway hash, so the
    answer's timing does not tell whether the staff code exists.
    """
    if check.account_id is None:
        _spend_equal_time(password)
        return False
    return verify_password(check.password_hash, password)


def finish_sign_in(session: Session, check: SignInCheck, *, verified: bool) -> SignedIn:
    """Step 3, writes: count a failure (raises :class:`AuthError`) or start a session.

    Throttling is checked again (other attempts may have failed meanwhile),
    and the account must still be active with the password that was checked
    (not disabled, nor its password changed, in between).
    """
    now = utcnow()
    _check_throttle(session, check.keys, now)
    if not verified or check.account_id is None:
        raise _fail(session, check.keys, now, SIGN_IN_FAILED)
    account = session.scalar(
        select(Account)
        .join(Person, Account.person_id == Person.id)
        .where(
            Account.id == check.account_id,
            Account.status == "active",
            Account.password_hash == check.password_hash,
            Person.active.is_(True),
        )
        .execution_options(populate_existing=True)
    )
    if account is None:
        raise _fail(session, check.keys, now, SIGN_IN_FAILED)
    return _start_session(session, account, now)


def sign_in(session: Session, *, staff_code: str, password: str, address: str) -> SignedIn:
    """Check a staff code and password of an active account, and start a session.

    All three steps in the caller's one transaction; a server should run them
    apart (see the module's docstring).
    """
    check = prepare_sign_in(session, staff_code=staff_code, address=address)
    return finish_sign_in(session, check, verified=password_ok(check, password))


@dataclass(frozen=True, slots=True)
class FoundSession:
    """A valid session and whether its "last seen" time is due to be written."""

    user: CurrentUser
    stale: bool
    """Last seen :data:`LAST_SEEN_RESOLUTION` ago or more: call :func:`touch_session`."""


_FIND_SESSION = (
    select(
        WebSession.id,
        WebSession.account_id,
        WebSession.csrf_token,
        WebSession.expires_at,
        WebSession.last_seen_at,
        Account.role,
        Account.person_id,
        Person.staff_code,
        Person.full_name,
        OrgUnit.code,
        OrgUnit.name,
    )
    .join(Account, WebSession.account_id == Account.id)
    .join(Person, Account.person_id == Person.id)
    .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
    .where(WebSession.token_hash == bindparam("token_hash"), Account.status == "active")
)
"""Built once: it runs on every request (see ``lms_core.services.attempts``)."""


def find_session(session: Session | Connection, token: str) -> FoundSession | None:
    """The user of an unexpired session token of an active account, or None; reads only.

    One query (session, account, person and unit together): it runs on every
    request, so a plain connection will do as well as an ORM session.
    """
    if not token:
        return None
    now = utcnow()
    # through the connection: plain columns, and the ORM's statement path cost
    # more than the query itself on every request
    connection = session.connection() if isinstance(session, Session) else session
    found = connection.execute(_FIND_SESSION, {"token_hash": _digest(token)}).one_or_none()
    if found is None or found.expires_at <= now:
        return None
    user = CurrentUser(
        session_id=found.id,
        account_id=found.account_id,
        person_id=found.person_id,
        staff_code=found.staff_code,
        full_name=found.full_name,
        unit_code=found.code,
        unit_name=found.name,
        role=found.role,
        csrf_token=found.csrf_token,
        expires_at=found.expires_at,
    )
    return FoundSession(user=user, stale=now - found.last_seen_at >= LAST_SEEN_RESOLUTION)


def touch_session(session: Session, session_id: int) -> None:
    """Record that a session was used now (coarse: see :data:`LAST_SEEN_RESOLUTION`)."""
    now = utcnow()
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.last_seen_at <= now - LAST_SEEN_RESOLUTION)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


def current_user(session: Session, token: str) -> CurrentUser | None:
    """The user of an unexpired session token of an active account, or None.

    Reads and, when due, writes the last-seen time in the caller's transaction.
    """
    found = find_session(session, token)
    if found is None:
        return None
    if found.stale:
        touch_session(session, found.user.session_id)
    return found.user


def csrf_matches(user: CurrentUser, header: str) -> bool:
    """Whether ``header`` is the session's CSRF token (compared in constant time)."""
    return bool(header) and hmac.compare_digest(user.csrf_token.encode(), header.encode())


def sign_out(session: Session, token: str) -> None:
    """End the session of ``token`` (nothing happens when there is none)."""
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))
