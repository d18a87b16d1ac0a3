from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_core.errors import LmsError, NotFoundError
from lms_core.models import Account, Invite
from lms_core.services.accounts import (
    ALPHABET,
    CODE_CHARS,
    grant_role,
    hash_invite_code,
    invite_people,
    list_accounts,
    normalise_invite_code,
    set_password,
    verify_password,
    write_invite_sheet,
)
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file

STAFF = (
    "staff_code,full_name,org_code,position\n"
    "A1,Nguyễn Văn An,13285,Giáo viên\nA2,Trần Thị Bình,13285,Công an xã\n"
    "B1,Lê Văn Cường,13291,Giáo viên\nP1,Phạm Minh Đức,37,Chuyên viên\n"
)


@pytest.fixture
def staffed(session: Session, tmp_path: Path) -> Session:
    load_builtin_tree(session)
    path = tmp_path / "s.csv"
    path.write_text(STAFF, encoding="utf-8")
    import_staff_file(session, str(path))
    return session


def test_codes_have_enough_entropy_and_are_stored_hashed(staffed: Session) -> None:
    assert CODE_CHARS * math.log2(len(ALPHABET)) >= 60
    invites = invite_people(staffed, org="13285")
    assert sorted(i.staff_code for i in invites) == ["A1", "A2"]
    codes = {i.code for i in invites}
    assert len(codes) == 2
    stored = staffed.scalars(select(Invite.code_hash)).all()
    assert set(stored) == {hash_invite_code(c) for c in codes}
    assert not any(c.replace("-", "") in h for c in codes for h in stored)


def test_people_with_accounts_are_not_invited_twice(staffed: Session) -> None:
    first = invite_people(staffed, org="37", subtree=True)
    assert len(first) == 4
    assert invite_people(staffed, org="37", subtree=True) == []


def test_reissue_revokes_old_codes(staffed: Session) -> None:
    first = invite_people(staffed, org="13291")
    second = invite_people(staffed, org="13291", reissue=True)
    assert len(second) == 1 and second[0].code != first[0].code
    rows = {i.code_hash: i.revoked_at for i in staffed.scalars(select(Invite))}
    assert rows[hash_invite_code(first[0].code)] is not None
    assert rows[hash_invite_code(second[0].code)] is None


def test_typed_codes_are_forgiving() -> None:
    assert normalise_invite_code("k7m2q-9xz4t hb3wd") == "K7M2Q9XZ4THB3WD"
    assert hash_invite_code("OIL00-11111-22222") == hash_invite_code("01100-11111-22222")


def test_grant_role_and_password(staffed: Session) -> None:
    invite = grant_role(staffed, staff_code="p1", role="manager", scope_org="13285")
    assert invite is not None and invite.role == "manager"
    set_password(staffed, staff_code="P1", password="một mật khẩu dài")
    account = staffed.scalars(select(Account)).one()
    assert account.status == "active" and account.password_hash
    assert verify_password(account.password_hash, "một mật khẩu dài")
    assert not verify_password(account.password_hash, "wrong password")
    assert not verify_password("garbage", "x")
    assert grant_role(staffed, staff_code="P1", role="admin") is None
    assert [(a.staff_code, a.role) for a in list_accounts(staffed)] == [("P1", "admin")]


def test_grant_errors(staffed: Session) -> None:
    with pytest.raises(NotFoundError):
        grant_role(staffed, staff_code="ZZZ", role="admin")
    with pytest.raises(LmsError, match="needs --org"):
        grant_role(staffed, staff_code="A1", role="manager")
    with pytest.raises(LmsError, match="unknown role"):
        grant_role(staffed, staff_code="A1", role="king")
    grant_role(staffed, staff_code="A1", role="learner")
    with pytest.raises(LmsError, match="at least 10"):
        set_password(staffed, staff_code="A1", password="short")


def test_invite_sheet_opens_in_excel(staffed: Session, tmp_path: Path) -> None:
    invites = invite_people(staffed, org="13285")
    out = tmp_path / "invites.csv"
    write_invite_sheet(out, invites, site_url="https://example.com")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "Nguyễn Văn An" in text and invites[0].code in text
