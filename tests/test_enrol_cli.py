from __future__ import annotations

from pathlib import Path

from lms_core.db import session_factory
from lms_core.models import Course, CourseVersion


def seed(cli, tmp_path: Path) -> None:
    assert cli("org", "seed").exit_code == 0
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "staff_code,full_name,org_code,position\n"
        "NB001,Nguyễn Thị Thu Hà,13285,Giáo viên tiểu học\n"
        "NB002,Trần Văn Nam,13285,Công an xã\n"
        "NB003,Lê Thị Lan,13291,Giáo viên tiểu học\n",
        encoding="utf-8",
    )
    assert cli("staff", "import", str(staff)).exit_code == 0


def course(engine, slug="phong-chong-xam-hai", prerequisites=()):
    with session_factory(engine).begin() as s:
        c = Course(slug=slug, title=slug)
        s.add(c)
        s.flush()
        s.add(
            CourseVersion(
                course_id=c.id,
                number=1,
                content_hash="0" * 64,
                snapshot={
                    "meta": {"prerequisites": list(prerequisites)},
                    "lessons": [],
                    "exercises": [],
                },
            )
        )


def test_enrol_list_withdraw(cli, engine, tmp_path: Path) -> None:
    seed(cli, tmp_path)
    r = cli("enrol", "--course", "phong-chong-xam-hai", "--org", "37", "--subtree")
    assert r.exit_code == 1 and "has not been published" in r.output, r.output
    course(engine)
    r = cli(
        "enrol",
        "--course",
        "phong-chong-xam-hai",
        "--org",
        "37",
        "--subtree",
        "--position",
        "giáo viên  TIỂU học",
        "--cohort",
        "Đợt 1/2026",
        "--due",
        "2026-12-31",
    )
    assert r.exit_code == 0, r.output
    assert r.stdout == "enrolled 2, already enrolled 0, not eligible 0\n"
    lst = tmp_path / "list.csv"
    lst.write_text("staff_code,full_name\nNB001,x\nnb002,y\nNB999,z\n", encoding="utf-8")
    r = cli("enrol", "--course", "phong-chong-xam-hai", "--staff", str(lst))
    assert r.stdout == "enrolled 1, already enrolled 1, not eligible 1\n"
    assert "NB999" in r.stderr and "no such staff code" in r.stderr
    r = cli("enrolments", "list", "--course", "phong-chong-xam-hai")
    print(r.output)
    assert r.exit_code == 0 and "3 enrolments" in r.stderr
    r = cli("enrolments", "list", "--cohort", "Đợt 1/2026", "--format", "csv")
    print(r.stdout)
    assert r.stdout.splitlines()[0].startswith("staff_code,full_name,org_code,course")
    assert len(r.stdout.splitlines()) == 3 and "2026-12-31" in r.stdout
    r = cli("enrolments", "withdraw", "--course", "phong-chong-xam-hai", "nb001")
    assert r.exit_code == 0 and "NB001: withdrawn" in r.stdout, r.output
    r = cli("enrolments", "withdraw", "--course", "phong-chong-xam-hai", "--staff-code", "NB001")
    assert r.exit_code == 1 and "not enrolled" in r.output
    r = cli("enrolments", "list", "--status", "withdrawn")
    assert "NB001" in r.stdout and "NB002" not in r.stdout
    r = cli("enrol", "--course", "phong-chong-xam-hai")
    assert r.exit_code == 2 and "exactly one of --org and --staff" in r.output
    r = cli("enrol", "--course", "phong-chong-xam-hai", "--staff", str(lst), "--subtree")
    assert r.exit_code == 2
    r = cli("enrol", "--course", "phong-chong-xam-hai", "--org", "37", "--due", "31/12/2026")
    assert r.exit_code == 2


def test_not_eligible_capped(cli, engine, tmp_path: Path) -> None:
    seed(cli, tmp_path)
    course(engine)
    lst = tmp_path / "list.csv"
    lst.write_text("staff_code\n" + "".join(f"X{i}\n" for i in range(60)), encoding="utf-8")
    r = cli("enrol", "--course", "phong-chong-xam-hai", "--staff", str(lst))
    assert r.stdout == "enrolled 0, already enrolled 0, not eligible 60\n"
    lines = r.stderr.splitlines()
    assert len(lines) == 51 and lines[-1] == "  … and 10 more"
    lst.write_text("staff_code,full_name\nNB001,a\n,b\n", encoding="utf-8")
    r = cli("enrol", "--course", "phong-chong-xam-hai", "--staff", str(lst))
    assert r.exit_code == 1 and "list.csv:3:1: error: staff_code: empty" in r.output, r.output
