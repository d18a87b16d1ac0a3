"""``lms quiz …`` (added by the quiz plugin through ``lms_cli_commands``), end to end."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from lms_cli import main
from lms_core.exercises import extract_blocks
from lms_quiz.parse import parse_quiz

GIFT = """// Câu hỏi mẫu
$CATEGORY: $course$/Bảo vệ trẻ em/Luật

::tong-dai::Tổng đài quốc gia bảo vệ trẻ em là số nào? {
  =111 #Đúng.
  ~113 #Sai, đó là số công an.
}

::tuoi::Trẻ em là người dưới 16 tuổi.{T}

::tu-luan::Hãy mô tả quy trình xử lý. {}
"""

AIKEN = """Tổng đài quốc gia bảo vệ trẻ em là số nào?
A. 113
B. 111
C. 115
ANSWER: B

Câu hỏi thiếu đáp án
A. Một
B. Hai
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_import_gift_writes_a_lesson_that_parses(tmp_path: Path) -> None:
    source = tmp_path / "cau-hoi.gift"
    source.write_text(GIFT, encoding="utf-8")
    out = tmp_path / "bai" / "05-kiem-tra.md"
    code, output = run("quiz", "import-gift", str(source), "--out", str(out), "--graded")
    assert code == 0, output
    assert "2 questions written" in output and "1 not converted" in output
    assert "cau-hoi.gift:11:" in output  # the essay, with its line
    blocks, problems = extract_blocks(out.read_text(encoding="utf-8"), file=str(out))
    assert problems == []
    quiz = parse_quiz(blocks[0])
    assert quiz.id == "cau-hoi" and quiz.graded
    assert [q.id for q in quiz.questions()] == ["tong-dai", "tuoi"]
    code, output = run("quiz", "import-gift", str(source), "--out", str(out))
    assert code == 1 and "already exists" in output


def test_export_gift_round_trips(tmp_path: Path) -> None:
    source = tmp_path / "a.gift"
    source.write_text(GIFT, encoding="utf-8")
    lesson = tmp_path / "lesson.md"
    run("quiz", "import-gift", str(source), "--out", str(lesson))
    gift = tmp_path / "b.gift"
    code, output = run("quiz", "export-gift", str(lesson), "--out", str(gift))
    assert code == 0, output
    again = tmp_path / "again.md"
    code, output = run("quiz", "import-gift", str(gift), "--out", str(again), "--id", "a")
    assert code == 0, output
    first = parse_quiz(extract_blocks(lesson.read_text(encoding="utf-8"), file="x")[0][0])
    second = parse_quiz(extract_blocks(again.read_text(encoding="utf-8"), file="x")[0][0])
    strip = {"line"}
    assert [q.model_dump(exclude=strip) for q in first.questions()] == [
        q.model_dump(exclude=strip) for q in second.questions()
    ]


def test_import_aiken_reports_broken_questions(tmp_path: Path) -> None:
    source = tmp_path / "aiken.txt"
    source.write_text(AIKEN, encoding="utf-8")
    out = tmp_path / "lesson.md"
    code, output = run("quiz", "import-aiken", str(source), "--out", str(out))
    assert code == 0, output
    assert "1 questions written" in output and "aiken.txt:7" in output


def test_bad_input_files(tmp_path: Path) -> None:
    binary = tmp_path / "x.gift"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    code, output = run("quiz", "import-gift", str(binary), "--out", str(tmp_path / "o.md"))
    assert code == 1 and "not a text file" in output and "Traceback" not in output
    latin = tmp_path / "y.gift"
    latin.write_bytes("Câu hỏi {T}".encode("cp1258", errors="replace"))
    code, output = run("quiz", "import-gift", str(latin), "--out", str(tmp_path / "o.md"))
    assert code == 1 and "UTF-8" in output
    empty = tmp_path / "z.gift"
    empty.write_text("// only a comment\n", encoding="utf-8")
    code, output = run("quiz", "import-gift", str(empty), "--out", str(tmp_path / "o.md"))
    assert code == 1 and "nothing was written" in output
    assert not (tmp_path / "o.md").exists()
    lesson = tmp_path / "no-quiz.md"
    lesson.write_text("# Bài học\n\nKhông có câu hỏi.\n", encoding="utf-8")
    code, output = run("quiz", "export-gift", str(lesson))
    assert code == 1 and "no quiz blocks" in output
