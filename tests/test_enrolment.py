from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lms_core.errors import ConflictError, ImportValidationError, LmsError, NotFoundError
from lms_core.models import (
    Cohort,
    Completion,
    Course,
    CourseVersion,
    Enrolment,
    Event,
    OrgUnit,
    Person,
    utcnow,
)
from lms_core.services.enrolment import (
    enrol,
    latest_version,
    list_enrolments,
    move_unstarted,
    position_key,
    read_staff_codes,
    withdraw,
)
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff, import_staff_file
from lms_core.tabular import Row, Table

HEADER = "staff_code,full_name,org_code,position\n"
STAFF = (
    "NB001,Nguyễn Thị Thu Hà,13285,Giáo viên tiểu học\n"
    "NB002,Trần Văn Nam,13285,giáo  viên TIỂU học\n"
    "NB003,Lê Thị Lan,13285,Công an xã\n"
    "NB004,Phạm Văn Bình,13291,Giáo viên tiểu học\n"
    "NB005,Đỗ Thị Mai,37,Chuyên viên\n"
    "NB006,Vũ Văn Hùng,37-SYT,Chuyên viên\n"
    "NB007,Hoàng Thị Yến,13285,Giáo viên tiểu học\n"
)
EVERYONE = ["NB001", "NB002", "NB003", "NB004", "NB005", "NB006"]  # NB007 is made inactive


@pytest.fixture
def tree(session: Session, tmp_path: Path) -> Session:
    load_builtin_tree(session)
    path = tmp_path / "staff.csv"
    path.write_text(HEADER + STAFF, encoding="utf-8")
    import_staff_file(session, str(path))
    session.execute(update(Person).where(Person.staff_code == "NB007").values(active=False))
    return session


def make_course(
    session: Session, slug: str, *, prerequisites: list[str] | None = None, versions: int = 1
) -> Course:
    course = Course(slug=slug, title=slug.replace("-", " ").title())
    session.add(course)
    session.flush()
    for number in range(1, versions + 1):
        publish(session, course, number, prerequisites=prerequisites)
    return course


def publish(
    session: Session, course: Course, number: int, *, prerequisites: list[str] | None = None
) -> CourseVersion:
    version = CourseVersion(
        course_id=course.id,
        number=number,
        content_hash=f"{number:064x}",
        snapshot={"meta": {"prerequisites": prerequisites or []}, "lessons": [], "exercises": []},
    )
    session.add(version)
    session.flush()
    return version


def person_id(session: Session, code: str) -> int:
    pid = session.scalar(select(Person.id).where(Person.staff_code == code))
    assert pid is not None
    return pid


def complete(session: Session, code: str, course: Course) -> None:
    """A completed enrolment with its completion, as the grading service will write them."""
    version = latest_version(session, course=course.slug)
    pid = person_id(session, code)
    enrolment = Enrolment(
        person_id=pid,
        course_id=course.id,
        course_version_id=version.id,
        status="completed",
        started_at=utcnow(),
    )
    session.add(enrolment)
    session.flush()
    session.add(
        Completion(
            enrolment_id=enrolment.id,
            person_id=pid,
            course_id=course.id,
            course_version_id=version.id,
        )
    )
    session.flush()


def rows(session: Session, slug: str) -> list[tuple[str, str, int]]:
    """(staff code, status, version number) of every enrolment in a course."""
    query = (
        select(Person.staff_code, Enrolment.status, CourseVersion.number)
        .join(Person, Enrolment.person_id == Person.id)
        .join(Course, Enrolment.course_id == Course.id)
        .join(CourseVersion, Enrolment.course_version_id == CourseVersion.id)
        .where(Course.slug == slug)
        .order_by(Person.staff_code, Enrolment.id)
    )
    return [tuple(r) for r in session.execute(query).tuples()]  # type: ignore[misc]


# --------------------------------------------------------------------------- selection


def test_enrol_one_unit_pinned_to_latest_version(tree: Session) -> None:
    make_course(tree, "phong-chong-xam-hai", versions=2)
    report = enrol(tree, course="phong-chong-xam-hai", org="13285")
    assert sorted(report.enrolled) == ["NB001", "NB002", "NB003"]  # NB007 inactive: not selected
    assert (report.already, report.not_eligible, report.version) == ([], [], 2)
    assert report.summary() == "enrolled 3, already enrolled 0, not eligible 0"
    assert rows(tree, "phong-chong-xam-hai") == [
        ("NB001", "enrolled", 2),
        ("NB002", "enrolled", 2),
        ("NB003", "enrolled", 2),
    ]
    e = tree.scalars(select(Enrolment)).first()
    assert e is not None
    assert (e.cohort_id, e.due_on, e.started_at, e.withdrawn_at) == (None, None, None, None)
    assert e.enrolled_at.tzinfo is not None


def test_enrol_subtree(tree: Session) -> None:
    make_course(tree, "c")
    assert enrol(tree, course="c", org="37").enrolled == ["NB005"]
    report = enrol(tree, course="c", org="37", subtree=True)
    assert sorted(report.enrolled) == ["NB001", "NB002", "NB003", "NB004", "NB006"]
    assert report.already == ["NB005"]


def test_positions_compare_folded(tree: Session) -> None:
    make_course(tree, "c")
    nfd = unicodedata.normalize("NFD", "  GIÁO VIÊN   tiểu học ")
    report = enrol(tree, course="c", org="37", subtree=True, positions=[nfd, "Không có"])
    assert sorted(report.enrolled) == ["NB001", "NB002", "NB004"]
    assert position_key("giáo  viên TIỂU học") == position_key("Giáo viên tiểu học")


def test_enrol_by_staff_codes(tree: Session) -> None:
    make_course(tree, "c")
    report = enrol(tree, course="c", staff_codes=[" nb001", "NB004", "NB999", "NB001", "nb007"])
    assert report.enrolled == ["NB001", "NB004"]
    assert report.not_eligible == [
        ("NB999", "no such staff code"),
        ("NB007", "inactive person"),
    ]


def test_exactly_one_selection(tree: Session) -> None:
    make_course(tree, "c")
    with pytest.raises(LmsError, match="exactly one"):
        enrol(tree, course="c")
    with pytest.raises(LmsError, match="exactly one"):
        enrol(tree, course="c", org="37", staff_codes=["NB001"])
    with pytest.raises(LmsError, match="need org"):
        enrol(tree, course="c", staff_codes=["NB001"], positions=["Chuyên viên"])
    with pytest.raises(NotFoundError, match="no unit with code '99999'"):
        enrol(tree, course="c", org="99999")


# --------------------------------------------------------------------------- idempotency, events


def test_second_run_enrols_nobody(tree: Session) -> None:
    make_course(tree, "c")
    first = enrol(tree, course="c", org="37", subtree=True)
    second = enrol(tree, course="c", org="37", subtree=True)
    assert sorted(first.enrolled) == EVERYONE
    assert second.enrolled == [] and sorted(second.already) == EVERYONE
    assert tree.scalar(select(func.count()).select_from(Enrolment)) == len(EVERYONE)
    events = tree.scalars(
        select(Event).where(Event.verb == "enrolment.created").order_by(Event.id)
    ).all()
    assert [(e.data["enrolled"], e.data["already"], e.data["not_eligible"]) for e in events] == [
        (6, 0, 0),
        (0, 6, 0),
    ]
    blob = repr([e.data for e in events])
    assert "NB00" not in blob and "Nguyễn" not in blob  # ids and counts only


def test_completed_counts_as_already(tree: Session) -> None:
    course = make_course(tree, "c")
    complete(tree, "NB001", course)
    report = enrol(tree, course="c", staff_codes=["NB001", "NB002"])
    assert (report.enrolled, report.already) == (["NB002"], ["NB001"])


# --------------------------------------------------------------------------- eligibility


def test_prerequisites(tree: Session) -> None:
    first = make_course(tree, "chi-thi-28")
    make_course(tree, "phong-chong-xam-hai", prerequisites=["chi-thi-28", "chua-co"])
    report = enrol(tree, course="phong-chong-xam-hai", staff_codes=["NB001"])
    assert report.not_eligible == [("NB001", "prerequisite not completed: chi-thi-28, chua-co")]
    second = make_course(tree, "chua-co")
    complete(tree, "NB001", first)
    complete(tree, "NB001", second)
    report = enrol(tree, course="phong-chong-xam-hai", staff_codes=["NB001", "NB002"])
    assert report.enrolled == ["NB001"]
    assert report.not_eligible == [
        ("NB002", "prerequisite not completed: chi-thi-28, chua-co"),
    ]


def test_prerequisites_of_the_latest_version_apply(tree: Session) -> None:
    course = make_course(tree, "c", prerequisites=["b"])
    make_course(tree, "b")
    publish(tree, course, 2, prerequisites=[])
    assert enrol(tree, course="c", staff_codes=["NB001"]).enrolled == ["NB001"]


def test_dissolved_unit_not_eligible(tree: Session) -> None:
    make_course(tree, "c")
    tree.execute(
        update(OrgUnit).where(OrgUnit.code == "13291").values(valid_to=dt.date(2025, 6, 30))
    )
    report = enrol(tree, course="c", org="37", subtree=True)
    assert "NB004" not in report.enrolled
    assert report.not_eligible == [
        (
            "NB004",
            "unit 13291 was dissolved on 2025-06-30 (move the person to the unit that replaced it)",
        )
    ]


def test_unpublished_course(tree: Session) -> None:
    with pytest.raises(NotFoundError) as err:
        enrol(tree, course="phong-chong-xam-hai", org="37")
    assert str(err.value) == (
        "course 'phong-chong-xam-hai' has not been published "
        "(run lms course publish phong-chong-xam-hai)"
    )
    tree.add(Course(slug="draft", title="Draft"))  # a course row without any version
    make_course(tree, "phong-chong-xam-hai")
    with pytest.raises(NotFoundError, match="course 'draft' has not been published"):
        latest_version(tree, course="draft")
    with pytest.raises(NotFoundError, match="did you mean 'phong-chong-xam-hai'"):
        latest_version(tree, course="phong-chong-xam-ha")


# --------------------------------------------------------------------------- cohorts


def test_cohort_created_once_with_due_date(tree: Session) -> None:
    course = make_course(tree, "c")
    due = dt.date(2026, 12, 31)
    one = enrol(
        tree,
        course="c",
        org="13285",
        positions=["Giáo viên tiểu học"],
        cohort=" Đợt  1/2026 ",
        due=due,
    )
    two = enrol(tree, course="c", staff_codes=["NB005"], cohort="Đợt 1/2026", due=due)
    cohorts = tree.scalars(select(Cohort)).all()
    assert len(cohorts) == 1
    cohort = cohorts[0]
    assert one.cohort_id == two.cohort_id == cohort.id
    assert (cohort.course_id, cohort.name, cohort.positions) == (
        course.id,
        "Đợt 1/2026",
        ["Giáo viên tiểu học"],
    )
    unit = tree.scalar(select(OrgUnit).where(OrgUnit.code == "13285"))
    assert unit is not None and cohort.org_unit_id == unit.id
    assert {(e.cohort_id, e.due_on) for e in tree.scalars(select(Enrolment))} == {(cohort.id, due)}
    verbs = tree.scalars(select(Event.verb).where(Event.verb == "cohort.created")).all()
    assert verbs == ["cohort.created"]
    with pytest.raises(LmsError, match="cohort name is empty"):
        enrol(tree, course="c", org="13285", cohort="  ")


# --------------------------------------------------------------------------- withdraw


def test_withdraw_keeps_history_and_allows_reenrolment(tree: Session) -> None:
    make_course(tree, "c")
    enrol(tree, course="c", staff_codes=["NB001", "NB002"])
    withdraw(tree, course="c", staff_code="nb001")
    withdrawn = tree.scalar(
        select(Enrolment).where(Enrolment.person_id == person_id(tree, "NB001"))
    )
    assert withdrawn is not None
    assert withdrawn.status == "withdrawn" and withdrawn.withdrawn_at is not None
    with pytest.raises(NotFoundError, match="NB001 is not enrolled in course 'c'"):
        withdraw(tree, course="c", staff_code="NB001")
    assert enrol(tree, course="c", staff_codes=["NB001"]).enrolled == ["NB001"]
    assert rows(tree, "c") == [
        ("NB001", "withdrawn", 1),
        ("NB001", "enrolled", 1),
        ("NB002", "enrolled", 1),
    ]
    event = tree.scalar(select(Event).where(Event.verb == "enrolment.withdrawn"))
    assert event is not None and event.object_id == str(withdrawn.id)


def test_withdraw_errors(tree: Session) -> None:
    course = make_course(tree, "c")
    complete(tree, "NB003", course)
    with pytest.raises(ConflictError, match="completion cannot be withdrawn"):
        withdraw(tree, course="c", staff_code="NB003")
    with pytest.raises(NotFoundError, match="no person with staff code 'NB999'"):
        withdraw(tree, course="c", staff_code="NB999")
    with pytest.raises(NotFoundError, match="has not been published"):
        withdraw(tree, course="x", staff_code="NB001")


# --------------------------------------------------------------------------- new versions


def test_move_unstarted(tree: Session) -> None:
    course = make_course(tree, "c")
    complete(tree, "NB004", course)
    enrol(tree, course="c", org="13285")
    tree.execute(
        update(Enrolment)
        .where(Enrolment.person_id == person_id(tree, "NB002"))
        .values(status="in_progress", started_at=utcnow())
    )
    v2 = publish(tree, course, 2)
    assert move_unstarted(tree, course_id=course.id, version_id=v2.id) == 2
    assert rows(tree, "c") == [
        ("NB001", "enrolled", 2),
        ("NB002", "in_progress", 1),
        ("NB003", "enrolled", 2),
        ("NB004", "completed", 1),
    ]
    assert move_unstarted(tree, course_id=course.id, version_id=v2.id) == 0
    other = make_course(tree, "other")
    with pytest.raises(ConflictError):
        move_unstarted(tree, course_id=other.id, version_id=v2.id)
    with pytest.raises(NotFoundError):
        move_unstarted(tree, course_id=course.id, version_id=10_000)


# --------------------------------------------------------------------------- listing


def test_list_filters(tree: Session) -> None:
    make_course(tree, "b", versions=2)
    make_course(tree, "a")
    enrol(tree, course="a", org="37", subtree=True, cohort="Đợt 1", due=dt.date(2026, 12, 31))
    enrol(tree, course="b", org="13285")
    withdraw(tree, course="b", staff_code="NB003")

    everything = list_enrolments(tree)
    # by course, then unit path (the province itself first), then name
    assert [e.course for e in everything] == ["a"] * 6 + ["b"] * 3
    assert everything[0].staff_code == "NB005"
    first = everything[0]
    assert (first.full_name, first.org_code, first.version, first.cohort, first.status) == (
        "Đỗ Thị Mai",
        "37",
        1,
        "Đợt 1",
        "enrolled",
    )
    assert first.due_on == dt.date(2026, 12, 31) and first.enrolled_at.tzinfo is not None

    b = list_enrolments(tree, course="b")
    assert [(e.staff_code, e.version, e.cohort, e.status) for e in b] == [
        ("NB003", 2, None, "withdrawn"),  # Lê < Nguyễn < Trần
        ("NB001", 2, None, "enrolled"),
        ("NB002", 2, None, "enrolled"),
    ]
    assert [e.staff_code for e in list_enrolments(tree, course="b", status="withdrawn")] == [
        "NB003"
    ]
    assert {e.staff_code for e in list_enrolments(tree, org="37")} == {"NB005"}
    assert len(list_enrolments(tree, org="37", subtree=True)) == 9
    assert {e.course for e in list_enrolments(tree, cohort="Đợt 1")} == {"a"}
    assert len(list_enrolments(tree, limit=4)) == 4
    with pytest.raises(LmsError, match="unknown status 'done'"):
        list_enrolments(tree, status="done")
    with pytest.raises(NotFoundError, match="did you mean 'a'"):
        list_enrolments(tree, course="A")


# --------------------------------------------------------------------------- files


def test_read_staff_codes(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(HEADER + STAFF + "NB100,,,\n", encoding="utf-8")
    codes = read_staff_codes(path)
    assert codes[:2] == ["NB001", "NB002"] and codes[-1] == "NB100"
    path.write_text("staff_code,full_name\nNB001,A\n,Người không mã\n", encoding="utf-8")
    with pytest.raises(ImportValidationError, match=r"list.csv:3:1: error: staff_code: empty"):
        read_staff_codes(path)


# --------------------------------------------------------------------------- volume


def test_bulk_enrol_20000(tree: Session) -> None:
    units = ["13285", "13291", "13318", "13324", "37-SYT"]
    columns = ("staff_code", "full_name", "org_code", "position")
    table = Table(
        path="big.csv",
        columns=list(columns),
        rows=[
            Row(
                i + 2,
                dict(
                    zip(
                        columns,
                        (f"BK{i:06d}", f"Người Số {i}", units[i % 5], "Giáo viên"),
                        strict=True,
                    )
                ),
            )
            for i in range(20_000)
        ],
    )
    import_staff(tree, table)
    make_course(tree, "c")
    report = enrol(tree, course="c", org="37", subtree=True, cohort="Toàn tỉnh")
    assert len(report.enrolled) == 20_000 + len(EVERYONE)
    count = select(func.count()).select_from(Enrolment).where(Enrolment.status == "enrolled")
    assert tree.scalar(count) == 20_000 + len(EVERYONE)
    again = enrol(tree, course="c", org="37", subtree=True)
    assert (len(again.enrolled), len(again.already)) == (0, 20_000 + len(EVERYONE))
    assert len(list_enrolments(tree, course="c", cohort="Toàn tỉnh")) == 20_006
