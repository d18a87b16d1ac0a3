"""``lms course check`` over 1,000 lesson pages against plain markdown-it-py parsing.

Target (issue 4): within 1.5x of the plain parse.  Both sides read the same
files from disk in the same run; the anchor only parses them with
markdown-it-py (the same "commonmark" + tables configuration), ours does
everything the check does: front matter, exercise blocks through the quiz
plugin, anchors, links, images, files, prerequisites.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from markdown_it import MarkdownIt

from benchmarks.harness import Benchmark, Side
from lms_core.courses import check_courses
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.synthetic import person_name

PARAGRAPH = (
    "Cán bộ làm công tác bảo vệ trẻ em ở xã cần nắm vững quy trình tiếp nhận thông tin, "
    "đánh giá nguy cơ và phối hợp với gia đình, nhà trường và công an để bảo đảm an toàn "
    "cho trẻ. Khi phát hiện dấu hiệu bất thường, hãy ghi chép cẩn thận và báo cáo kịp thời."
)
QUIZ = """
```quiz id=on-tap-{n}
? Tổng đài quốc gia bảo vệ trẻ em là số nào?
- ( ) 113
- (x) 111
  > Đúng: Tổng đài 111, miễn phí, 24/7.
- ( ) 115

? Những dấu hiệu nào cần chú ý?
- [x] Vết bầm tím không rõ nguyên nhân
- [x] Thay đổi hành vi đột ngột
- [ ] Thích chơi thể thao
```
"""


def _lesson(rng: random.Random, course: int, n: int, lessons: int) -> str:
    parts = [f"---\ntitle: Bài {n} của khóa {course}\nminutes: 10\n---\n"]
    for section in range(4):
        parts.append(f"## Phần {section + 1}\n\nNgười phụ trách: {person_name(rng)}.\n")
        parts.append(" ".join([PARAGRAPH] * 2) + "\n")
        parts.append("- Ý thứ nhất về **an toàn** cho trẻ\n- Ý thứ hai\n- Ý thứ ba\n")
    other = (n % lessons) + 1
    parts.append(f"Xem thêm [bài {other}]({other:02d}-bai-{other}.md#phan-1).\n")
    if n % 3 == 0:
        parts.append(QUIZ.format(n=n))
    return "\n".join(parts)


def _generate(pages: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-courses-")) / "courses"
    rng = random.Random(4)
    per_course = 20
    for course in range(max(1, pages // per_course)):
        folder = root / f"khoa-{course}"
        folder.mkdir(parents=True)
        (folder / "index.md").write_text(
            f"---\ntitle: Khóa {course}\nsummary: Khóa học mẫu.\nminutes: 200\n---\n\n"
            f"{PARAGRAPH}\n",
            encoding="utf-8",
        )
        for n in range(1, per_course + 1):
            (folder / f"{n:02d}-bai-{n}.md").write_text(
                _lesson(rng, course, n, per_course), encoding="utf-8"
            )
    return root


def _ours(root: Path) -> Callable[[], object]:
    types = exercise_types(make_plugin_manager())

    def run() -> object:
        loaded, problems = check_courses(root, types=types)
        assert not problems, problems[:3]
        return len(loaded)

    return run


def _plain(root: Path) -> Callable[[], object]:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    files = sorted(root.rglob("*.md"))

    def run() -> object:
        return sum(len(md.parse(path.read_text(encoding="utf-8"))) for path in files)

    return run


def benchmark(*, quick: bool) -> Benchmark:
    """1,000 lesson pages in 50 courses (100 in 5 with --quick)."""
    pages = 100 if quick else 1_000
    root = _generate(pages)
    return Benchmark(
        name="course_check",
        description=f"{pages:,} lesson pages",
        ours=Side("lms course check", lambda: _ours(root)),
        anchors=(Side("markdown-it-py parse only", lambda: _plain(root)),),
        target="ours ≤ 1.5× the plain parse",
        rows=pages,
    )
