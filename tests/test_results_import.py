"""``lms results import``: result files from a static copy of the site, through the CLI.

Files are checked whole (JSON, format, checksum, schema, size) before anything
is applied; each file and each item stands alone; importing twice counts once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from test_attempts import FINAL, setup_course

from conftest import Cli
from lms_core.config import Project
from lms_core.db import session_factory
from lms_core.errors import InputFileError
from lms_core.models import Attempt, Completion, CourseVersion, Enrolment, Event
from lms_core.services.sync import MAX_RESULT_FILE_BYTES, read_result_file
from lms_quiz.view import practice_key

COURSE = "chi-thi-28-ke-hoach-tinh"


@pytest.fixture
def course(engine: Engine, project: Project) -> dict[str, Any]:
    """NB001 and NB002 enrolled; the pinned version's hash, lessons and seed-0 answers."""
    with session_factory(engine).begin() as s:
        setup = setup_course(s, project)
        version_id = s.get_one(Enrolment, setup.enrolment_id).course_version_id
        version = s.get_one(CourseVersion, version_id)
        answers = dict(practice_key(setup.exercise(), seed=0)["answers"])
        return {
            "hash": version.content_hash,
            "lessons": [lesson["slug"] for lesson in version.snapshot["lessons"]],
            "required": [
                lesson["slug"] for lesson in version.snapshot["lessons"] if lesson.get("required")
            ],
            "answers": answers,
        }


def lesson_item(lesson: str, *, course: str = COURSE) -> dict[str, Any]:
    return {
        "type": "lesson_viewed",
        "id": str(uuid.uuid4()),
        "course": course,
        "lesson": lesson,
        "at": "2001-05-04T07:00:00+07:00",
    }


def attempt_item(version: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "attempt",
        "id": str(uuid.uuid4()),
        "course": COURSE,
        "version": version,
        "exercise": FINAL,
        "attempt_id": str(uuid.uuid4()),
        "responses": responses,
        "started_at": "2001-05-04T07:10:00+07:00",
        "submitted_at": "2001-05-04T07:25:00+07:00",
    }


def envelope(payload: str, *, sha256: str | None = None) -> str:
    digest = sha256 or hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return json.dumps(
        {"format": "taphuan.result/1", "payload": payload, "sha256": digest}, ensure_ascii=False
    )


def result_file(
    path: Path, items: list[dict[str, Any]], *, staff_code: str = "NB001", **payload: Any
) -> Path:
    """A result file as the browser exports it."""
    body = {"staff_code": staff_code, "exported_at": "2001-05-04T08:00:00+07:00", "items": items}
    body.update(payload)
    path.write_text(envelope(json.dumps(body, ensure_ascii=False)), encoding="utf-8")
    return path


def counts(engine: Engine) -> tuple[int, int, int, int]:
    """(attempts, graded attempts, lesson views, completions)."""
    with session_factory(engine)() as s:

        def count(model: Any, *where: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return (
            count(Attempt),
            count(Attempt, Attempt.state == "graded"),
            count(Event, Event.verb == "lesson.viewed"),
            count(Completion),
        )


def test_import_applies_once_and_reports_duplicates(
    cli: Cli, engine: Engine, course: dict[str, Any], tmp_path: Path
) -> None:
    items = [lesson_item(lesson) for lesson in course["required"]]
    items.append(attempt_item(course["hash"], course["answers"]))
    path = result_file(tmp_path / "ket-qua.json", items)
    n = len(items)

    r = cli("results", "import", str(path))
    assert r.exit_code == 0, r.output
    assert f"{path}: {n} applied, 0 already imported, 0 refused" in r.stdout
    assert counts(engine) == (1, 1, len(course["required"]), 1)
    with session_factory(engine)() as s:
        attempt = s.scalars(select(Attempt)).one()
        assert attempt.seed == 0 and attempt.source == "import" and attempt.passed is True
        assert attempt.started_at.year != 2001  # server clocks decide
        receipts = s.scalars(select(Event).where(Event.verb == "sync.applied")).all()
        assert len(receipts) == n and {e.source for e in receipts} == {"import"}
        digest = read_result_file(path).sha256
        assert {e.data["file_sha256"] for e in receipts} == {digest}

    for _ in range(2):  # again, and again with a copy under another name
        r = cli("results", "import", str(path), "--staff-code", "nb001")
        assert r.exit_code == 0, r.output
        assert f"{path}: 0 applied, {n} already imported, 0 refused" in r.stdout
    copy = tmp_path / "ban-sao.json"
    copy.write_bytes(path.read_bytes())
    r = cli("results", "import", str(copy), str(path))
    assert r.exit_code == 0, r.output
    assert f"{copy}: 0 applied, {n} already imported, 0 refused" in r.stdout
    assert counts(engine) == (1, 1, len(course["required"]), 1)


def test_each_file_and_item_stands_alone(
    cli: Cli, engine: Engine, course: dict[str, Any], tmp_path: Path
) -> None:
    good = result_file(tmp_path / "tot.json", [lesson_item(course["lessons"][0])])
    truncated = tmp_path / "cut.json"
    whole = result_file(tmp_path / "whole.json", [lesson_item(course["lessons"][1])])
    truncated.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    mixed = result_file(
        tmp_path / "mixed.json",
        [
            lesson_item(course["lessons"][2]),
            lesson_item("khong-co"),
            attempt_item("ab" * 32, course["answers"]),
            lesson_item(course["lessons"][0], course="khong-co"),
        ],
    )
    r = cli("results", "import", str(truncated), str(good), str(mixed))
    assert r.exit_code == 1
    assert f"{truncated}: nothing imported" in r.stdout
    assert f"{truncated}: not complete JSON, the file is truncated or damaged" in r.stderr
    assert f"{good}: 1 applied, 0 already imported, 0 refused" in r.stdout
    assert f"{mixed}: 1 applied, 0 already imported, 3 refused" in r.stdout
    assert f"{mixed}: item 2: lesson 'khong-co' is not in this course version" in r.stderr
    assert f"{mixed}: item 3: course '{COURSE}' has no published version abababababab" in r.stderr
    assert f"{mixed}: item 4: not enrolled in course 'khong-co'" in r.stderr
    assert "Traceback" not in r.output
    assert counts(engine) == (0, 0, 2, 0)


def test_edited_file_fails_the_checksum(
    cli: Cli, engine: Engine, course: dict[str, Any], tmp_path: Path
) -> None:
    wrong = {qid: "no such option" for qid in course["answers"]}
    path = result_file(tmp_path / "sua.json", [attempt_item(course["hash"], wrong)])
    outer = json.loads(path.read_text(encoding="utf-8"))
    outer["payload"] = outer["payload"].replace('"no such option"', '"a"', 1)
    path.write_text(json.dumps(outer), encoding="utf-8")
    r = cli("results", "import", str(path))
    assert r.exit_code == 1
    assert f"{path}: checksum mismatch: the file was changed or damaged" in r.stderr
    assert counts(engine) == (0, 0, 0, 0)


def test_file_for_another_person_or_nobody(
    cli: Cli, engine: Engine, course: dict[str, Any], tmp_path: Path
) -> None:
    path = result_file(tmp_path / "ha.json", [lesson_item(course["lessons"][0])])
    r = cli("results", "import", str(path), "--staff-code", "NB002")
    assert r.exit_code == 1
    assert f"{path}: this file is for another person" in r.stderr
    nobody = result_file(
        tmp_path / "ai.json", [lesson_item(course["lessons"][0])], staff_code="NB999"
    )
    r = cli("results", "import", str(nobody))
    assert r.exit_code == 1
    assert f"{nobody}: no person with staff code NB999" in r.stderr
    assert counts(engine) == (0, 0, 0, 0)
    # the same file, for its own person, goes in; a lower-case code in the file is fine
    lower = result_file(
        tmp_path / "nb.json", [lesson_item(course["lessons"][0])], staff_code="nb001"
    )
    r = cli("results", "import", str(path), str(lower), "--staff-code", "NB001")
    assert r.exit_code == 0, r.output
    assert f"{lower}: 0 applied, 1 already imported, 0 refused" in r.stdout


def test_unknown_course_version_is_refused(
    cli: Cli, engine: Engine, course: dict[str, Any], tmp_path: Path
) -> None:
    path = result_file(tmp_path / "cu.json", [attempt_item("0" * 64, course["answers"])])
    r = cli("results", "import", str(path))
    assert r.exit_code == 1
    assert f"{path}: 0 applied, 0 already imported, 1 refused" in r.stdout
    assert f"{path}: item 1: course '{COURSE}' has no published version 000000000000" in r.stderr
    assert counts(engine) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ('{"format": "taphuan.result/2", "payload": "{}", "sha256": ""}', "not supported"),
        ('{"format": "csv"}', "not a taphuan result file"),
        ("[1, 2]", "not a taphuan result file"),
        ('{"format": "taphuan.result/1", "payload": {}, "sha256": "x"}', '"payload" must be'),
        ('{"format": "taphuan.result/1", "payload": "{}", "sha256": "x"}', '"sha256" must be'),
        ("\udcff", "not UTF-8 text"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_invalid_files_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(InputFileError, match=str(path)) as caught:
        read_result_file(path)
    assert message in str(caught.value)


def test_schema_problems_name_the_item_and_field(tmp_path: Path) -> None:
    items: list[dict[str, Any]] = [lesson_item("a"), attempt_item("f" * 64, {})]
    del items[1]["exercise"]
    items.append({**lesson_item("b"), "type": "quiz"})
    path = result_file(tmp_path / "hong.json", items, extra="x")
    with pytest.raises(InputFileError) as caught:
        read_result_file(path)
    lines = str(caught.value).splitlines()
    assert f"{path}: item 2: exercise: Field required" in lines
    assert any(line.startswith(f"{path}: item 3: Input tag 'quiz'") for line in lines)
    assert f"{path}: extra: Extra inputs are not permitted" in lines

    path.write_text(envelope("not json"), encoding="utf-8")
    with pytest.raises(InputFileError, match="the payload is not JSON"):
        read_result_file(path)


def test_too_large_file_is_refused_unread(
    cli: Cli, engine: Engine, course: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "lon.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_RESULT_FILE_BYTES + 1)
    r = cli("results", "import", str(path), str(tmp_path / "khong-co.json"))
    assert r.exit_code == 1
    assert f"{path}: too large for a result file" in r.stderr
    assert f"{tmp_path / 'khong-co.json'}: no such file" in r.stderr
    assert counts(engine) == (0, 0, 0, 0)


def test_import_needs_a_file(cli: Cli) -> None:
    r = cli("results", "import")
    assert r.exit_code == 2 and "FILES" in r.output
