"""Publishing: immutable versions, unchanged content, diffs, and who moves to a new version."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import Cli
from lms_core.courses import check_courses, new_course
from lms_core.errors import ConflictError, NotFoundError
from lms_core.models import CourseVersion, Enrolment, Person, utcnow
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.services.courses import diff_versions, get_version, list_versions, publish
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file

TYPES = exercise_types(make_plugin_manager())


def load(courses: Path, slug: str = "khoa-a"):  # type: ignore[no-untyped-def]
    loaded, _ = check_courses(courses, slugs=(slug,), types=TYPES)
    return loaded[0]


def test_publish_unchanged_changed_and_diff(session: Session, tmp_path: Path) -> None:
    courses = tmp_path / "courses"
    new_course(courses, "khoa-a")
    first = publish(session, load(courses))
    assert (first.version, first.created) == (1, True)
    assert publish(session, load(courses)).created is False
    lesson = courses / "khoa-a" / "01-mo-dau.md"
    lesson.write_text(
        lesson.read_text(encoding="utf-8").replace("(x) 111", "(x) 111 (miễn phí)"),
        encoding="utf-8",
    )
    second = publish(session, load(courses))
    assert (second.version, second.created) == (2, True)
    (courses / "khoa-a" / "02-them.md").write_text(
        "---\ntitle: Bài thêm\nminutes: 3\n---\nNội dung.\n", encoding="utf-8"
    )
    publish(session, load(courses))
    diff = diff_versions(session, slug="khoa-a", old=1, new=2)
    assert diff.lessons_changed == ["mo-dau"] and diff.exercises_changed == ["khoa-a-on-tap"]
    diff = diff_versions(session, slug="khoa-a", old=2, new=3)
    assert diff.lessons_added == ["them"] and diff.exercises_changed == []
    assert [v.number for v in list_versions(session, slug="khoa-a")] == [3, 2, 1]
    v1 = get_version(session, slug="khoa-a", number=1)
    quiz = v1.snapshot["exercises"][0]
    assert quiz["kind"] == "quiz" and quiz["data"]["entries"][0]["options"][1]["correct"] is True


def test_versions_never_change(session: Session, tmp_path: Path) -> None:
    courses = tmp_path / "courses"
    new_course(courses, "khoa-a")
    publish(session, load(courses))
    before = get_version(session, slug="khoa-a", number=1).snapshot
    (courses / "khoa-a" / "01-mo-dau.md").write_text(
        "---\ntitle: Khác\nminutes: 2\n---\nMới.\n", encoding="utf-8"
    )
    publish(session, load(courses))
    session.expire_all()
    assert get_version(session, slug="khoa-a", number=1).snapshot == before


def test_unstarted_enrolments_move_and_started_stay(session: Session, tmp_path: Path) -> None:
    load_builtin_tree(session)
    staff = tmp_path / "s.csv"
    staff.write_text(
        "staff_code,full_name,org_code,position\nA,An,13285,GV\nB,Bình,13285,GV\n", encoding="utf-8"
    )
    import_staff_file(session, str(staff))
    courses = tmp_path / "courses"
    new_course(courses, "khoa-a")
    publish(session, load(courses))
    v1 = get_version(session, slug="khoa-a")
    people = session.scalars(select(Person).order_by(Person.staff_code)).all()
    for person, started in zip(people, (None, utcnow()), strict=True):
        session.add(
            Enrolment(
                person_id=person.id,
                course_id=v1.course_id,
                course_version_id=v1.id,
                status="enrolled" if started is None else "in_progress",
                started_at=started,
                enrolled_at=utcnow(),
            )
        )
    session.flush()
    (courses / "khoa-a" / "01-mo-dau.md").write_text(
        "---\ntitle: Khác\nminutes: 2\n---\nMới.\n", encoding="utf-8"
    )
    result = publish(session, load(courses))
    assert result.moved_enrolments == 1
    pinned = {e.status: e.course_version_id for e in session.scalars(select(Enrolment))}
    v2 = get_version(session, slug="khoa-a")
    assert pinned == {"enrolled": v2.id, "in_progress": v1.id}
    assert session.scalar(select(CourseVersion.number).where(CourseVersion.id == v2.id)) == 2


def test_refuses_courses_with_errors_and_unknown_versions(session: Session, tmp_path: Path) -> None:
    courses = tmp_path / "courses"
    new_course(courses, "khoa-a")
    (courses / "khoa-a" / "index.md").write_text("---\ntitle: x\n---\n", encoding="utf-8")
    with pytest.raises(ConflictError, match="has errors"):
        publish(session, load(courses))
    with pytest.raises(NotFoundError, match="never been published"):
        list_versions(session, slug="khoa-a")


def test_cli_course_commands(cli: Cli) -> None:
    result = cli("course", "new", "khoa-moi", "--title", "Khóa mới")
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in cli("course", "check").output
    assert "published version 1" in cli("course", "publish").output
    assert "unchanged (version 1)" in cli("course", "publish", "khoa-moi").output
    lesson = cli.project.courses_dir / "khoa-moi" / "01-mo-dau.md"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nThêm.\n", encoding="utf-8")
    assert "published version 2" in cli("course", "publish").output
    assert "v2" in cli("course", "versions", "khoa-moi").output
    assert "lessons changed: mo-dau" in cli("course", "diff", "khoa-moi", "1", "2").output
    (cli.project.courses_dir / "khoa-moi" / "index.md").write_text("oops", encoding="utf-8")
    bad = cli("course", "check")
    assert bad.exit_code == 1 and "index.md:1:1: error" in bad.output
    assert "Traceback" not in bad.output
    assert cli("course", "new", "Sai Ten").exit_code == 1
