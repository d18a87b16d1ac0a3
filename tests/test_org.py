from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lms_core.db import session_factory
from lms_core.errors import ImportValidationError, NotFoundError
from lms_core.models import OrgUnit
from lms_core.services.org import import_units_file, load_builtin_tree, org_tree, parse_kind

HEADER = "code,name,kind,parent_code\n"


def csv_file(tmp_path: Path, body: str, name: str = "units.csv") -> str:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return str(path)


def units(session: Session) -> dict[str, tuple[str, str, str, int]]:
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.path, OrgUnit.depth)
    ).all()
    return {c: (n, k, p, d) for c, n, k, p, d in rows}


def test_builtin_ninh_binh_tree(session: Session) -> None:
    report = load_builtin_tree(session)
    kinds = dict(
        session.execute(select(OrgUnit.kind, func.count()).group_by(OrgUnit.kind)).tuples().all()
    )
    assert kinds == {"province": 1, "commune": 97, "ward": 32, "agency": 7}
    assert report.created == 137
    names = {u.code: u.name for u in session.scalars(select(OrgUnit))}
    assert names["37"] == "Tỉnh Ninh Bình"
    assert names["13285"] == "Phường Phủ Lý"
    again = load_builtin_tree(session)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 137)


def test_reimport_same_file_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "P,Tỉnh A,tỉnh,\nC1,Xã B,xã,P\nV1,Thôn 1,thôn,C1\n")
    factory = session_factory(engine)
    with factory.begin() as s:
        import_units_file(s, path)
    with factory.begin() as s:
        before = {u.code: u.updated_at for u in s.scalars(select(OrgUnit))}
        _, report = import_units_file(s, path)
        after = {u.code: u.updated_at for u in s.scalars(select(OrgUnit))}
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert before == after


def test_kinds_in_vietnamese_are_understood(session: Session, tmp_path: Path) -> None:
    import_units_file(
        session,
        csv_file(
            tmp_path,
            "P,Tỉnh A,Tỉnh,\nC1,Xã B,XÃ,P\nW1,Phường C,phuong,P\nG1,Tổ dân phố 1,"
            "tổ dân phố,W1\nS,Sở Y tế,Sở,P\n",
        ),
    )
    got = {c: v[1] for c, v in units(session).items()}
    assert got == {
        "P": "province",
        "C1": "commune",
        "W1": "ward",
        "G1": "residential_group",
        "S": "agency",
    }
    assert parse_kind("special_zone") == "special_zone"
    assert parse_kind("quận") is None


def test_rename_and_move_update_subtree_paths(session: Session, tmp_path: Path) -> None:
    import_units_file(
        session,
        csv_file(
            tmp_path,
            "P,Tỉnh,province,\nA,Xã A,commune,P\nB,Xã B,commune,P\nV,Thôn V,village,A\n"
            "T,Tổ T,village,V\n",
        ),
    )
    before = units(session)
    _, report = import_units_file(session, csv_file(tmp_path, "A,Xã A mới,commune,B\n", "m.csv"))
    assert (report.created, report.updated) == (0, 1)
    after = units(session)
    assert after["A"][0] == "Xã A mới"
    assert after["A"][2].startswith(after["B"][2]) and after["A"][3] == 2
    assert after["V"][2].startswith(after["A"][2]) and after["V"][3] == 3
    assert after["T"][2].startswith(after["V"][2]) and after["T"][3] == 4
    assert after["B"] == before["B"]


def test_unknown_parent_and_empty_cells_reported_together(session: Session, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "P,Tỉnh,province,\nC1,,commune,P\nC2,Xã 2,,P\nC3,Xã 3,commune,PP\nC4,Xã 4,comune,P\n",
    )
    with pytest.raises(ImportValidationError) as info:
        import_units_file(session, path)
    text = str(info.value)
    assert "units.csv:3:2: error: name: empty" in text
    assert "units.csv:4:3: error: kind: empty" in text
    assert "units.csv:5:4: error: parent_code: unknown parent unit 'PP' (did you mean 'P'?)" in text
    assert "units.csv:6:3: error: kind: unknown kind 'comune' (did you mean 'commune'?)" in text
    assert "nothing was imported" in text
    assert units(session) == {}


def test_duplicate_codes(session: Session, tmp_path: Path) -> None:
    with pytest.raises(
        ImportValidationError,
        match=r"units.csv:3:1: error: code: duplicate "
        r"code 'P' \(also on line 2\)",
    ):
        import_units_file(session, csv_file(tmp_path, "P,Tỉnh,province,\nP,Tỉnh 2,province,\n"))


def test_cycle_within_file(session: Session, tmp_path: Path) -> None:
    with pytest.raises(ImportValidationError, match="cycle: A → B → A"):
        import_units_file(session, csv_file(tmp_path, "A,a,unit,B\nB,b,unit,A\n"))
    with pytest.raises(ImportValidationError, match="its own parent"):
        import_units_file(session, csv_file(tmp_path, "A,a,unit,A\n", "self.csv"))


def test_unit_moved_under_its_own_descendant(session: Session, tmp_path: Path) -> None:
    import_units_file(session, csv_file(tmp_path, "P,p,province,\nC,c,commune,P\nV,v,village,C\n"))
    before = units(session)
    with pytest.raises(ImportValidationError, match="cannot move 'C' under 'V', which is inside"):
        import_units_file(session, csv_file(tmp_path, "C,c,commune,V\n", "move.csv"))
    assert units(session) == before


def test_skip_invalid_imports_the_rest(session: Session, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path, "P,Tỉnh,province,\nC1,Xã,commune,P\nC2,Xã 2,bad,P\nV2,Thôn,village,C2\n"
    )
    _, report = import_units_file(session, path, skip_invalid=True)
    assert report.created == 2
    lines = {r.row.line: r.problems[0].message for r in report.rejected}
    assert set(lines) == {4, 5}
    assert "line 4" in lines[5] and "invalid" in lines[5]
    assert set(units(session)) == {"P", "C1"}


def test_tree_counts_and_depth(session: Session, tmp_path: Path) -> None:
    load_builtin_tree(session)
    roots = org_tree(session, depth=0)
    assert [r.code for r in roots] == ["37"] and roots[0].children == []
    full = org_tree(session)
    assert len(full[0].children) == 136
    with pytest.raises(NotFoundError, match=r"no unit with code '13286' \(did you mean"):
        org_tree(session, root="13286")


def test_long_chain_and_mass_unknown_parents_stay_linear(session: Session, tmp_path: Path) -> None:
    """Hostile files fail fast and completely: no quadratic work, nothing written."""
    chain = "".join(f"U{i},u{i},unit,{'U' + str(i - 1) if i else ''}\n" for i in range(20_000))
    with pytest.raises(ImportValidationError, match="deeper than 32 levels") as info:
        import_units_file(session, csv_file(tmp_path, chain))
    assert len(info.value.problems) == 20_000 - 32
    _, report = import_units_file(session, csv_file(tmp_path, chain), skip_invalid=True)
    assert report.created == 32 and units(session)["U31"][3] == 31
    orphans = "".join(f"X{i},x,unit,NOPE{i}\n" for i in range(20_000))
    with pytest.raises(ImportValidationError) as info:
        import_units_file(session, csv_file(tmp_path, orphans, "orphans.csv"))
    assert len(info.value.problems) == 20_000
