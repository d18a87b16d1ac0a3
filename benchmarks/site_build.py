"""``lms build`` against MkDocs 1.6 on the same 1,000 generated lesson pages.

Targets (issue 5): at least 5x MkDocs' pages per second with every feature
on, output per page at most 1/10 of MkDocs', a one-lesson incremental rebuild
under 0.3 s.  Both build the same Markdown (about 3 KB a page, with tables,
images and a quiz on every third page; MkDocs shows the quiz as a code block)
in the same run; MkDocs uses its built-in "mkdocs" theme with search on.
Without MkDocs installed the anchor is skipped and said so.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.course_check import PARAGRAPH, QUIZ
from benchmarks.harness import Benchmark, Side
from lms_core.config import load_config
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.project import init_project
from lms_core.synthetic import person_name
from site_builder import build_site

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20"><title>Sơ đồ</title>'
    '<rect width="40" height="20" fill="#e8eef7"/></svg>'
)
TABLE = (
    "| Việc cần làm | Ai làm | Khi nào |\n|---|---|---|\n"
    "| Tiếp nhận tin báo | Công chức VH-XH | Ngay |\n"
    "| Báo công an | Cán bộ xã | Trong ngày |\n| Theo dõi | Cộng tác viên | Hằng tuần |\n"
)


def _lesson(rng: random.Random, course: int, n: int, lessons: int) -> str:
    parts = [f"---\ntitle: Bài {n} của khóa {course}\nminutes: 10\n---\n"]
    for section in range(3):
        parts.append(f"## Phần {section + 1}\n\nNgười phụ trách: {person_name(rng)}.\n")
        parts.append(" ".join([PARAGRAPH] * 2) + "\n")
        parts.append("- Ý thứ nhất về **an toàn** cho trẻ\n- Ý thứ hai\n")
    parts.append(TABLE)
    parts.append("![Sơ đồ phối hợp](images/so-do.svg)\n")
    other = (n % lessons) + 1
    parts.append(f"Xem thêm [bài {other}]({other:02d}-bai-{other}.md#phan-1).\n")
    if n % 3 == 0:
        parts.append(QUIZ.format(n=n))
    return "\n".join(parts)


class _Workspace:
    def __init__(self, pages: int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-site-"))
        self.project = init_project(self.root / "p", database_url="sqlite://")
        rng = random.Random(5)
        per_course = 20
        self.docs = self.root / "mkdocs" / "docs"
        for course in range(max(1, pages // per_course)):
            folder = self.project.courses_dir / f"khoa-{course}"
            (folder / "images").mkdir(parents=True)
            (folder / "images" / "so-do.svg").write_text(SVG, encoding="utf-8")
            (folder / "index.md").write_text(
                f"---\ntitle: Khóa {course}\nsummary: Khóa học mẫu.\nminutes: 200\n---\n\n"
                f"{PARAGRAPH}\n",
                encoding="utf-8",
            )
            mk = self.docs / f"khoa-{course}"
            (mk / "images").mkdir(parents=True)
            (mk / "images" / "so-do.svg").write_text(SVG, encoding="utf-8")
            for n in range(1, per_course + 1):
                text = _lesson(rng, course, n, per_course)
                (folder / f"{n:02d}-bai-{n}.md").write_text(text, encoding="utf-8")
                (mk / f"{n:02d}-bai-{n}.md").write_text(text, encoding="utf-8")
        (self.docs / "index.md").write_text("# Khóa học\n", encoding="utf-8")
        (self.root / "mkdocs" / "mkdocs.yml").write_text(
            "site_name: Bench\ntheme: mkdocs\nplugins: [search]\n", encoding="utf-8"
        )
        self.types = exercise_types(make_plugin_manager())
        self.rounds = 0
        self.last: dict[str, Path] = {}

    def out(self, side: str) -> Path:
        self.rounds += 1
        self.last[side] = self.root / f"site-{self.rounds}"
        return self.last[side]

    def sizes(self, pages: int) -> str:
        """Output bytes per lesson page of the last full builds."""

        def per_page(folder: Path) -> float:
            files = [p for p in folder.rglob("*") if p.is_file()]
            return sum(p.stat().st_size for p in files) / pages

        parts = [
            f"{side}: {per_page(path) / 1024:.1f} KB per page"
            for side, path in sorted(self.last.items())
            if path.is_dir()
        ]
        return "output size: " + "; ".join(parts)


def _ours(ws: _Workspace) -> Callable[[], object]:
    out = ws.out("lms build")
    project = load_config(ws.project.config_path or ws.project.root / "lms.toml")
    return lambda: build_site(project, out=out, types=ws.types, enforce_budgets=False)


def _incremental(ws: _Workspace) -> Callable[[], object]:
    """A rebuild after one lesson changed (the output already exists)."""
    out = ws.out("incremental")
    build_site(ws.project, out=out, types=ws.types, enforce_budgets=False)
    lesson = ws.project.courses_dir / "khoa-0" / "01-bai-1.md"
    lesson.write_text(
        lesson.read_text(encoding="utf-8") + f"\nThêm {ws.rounds}.\n", encoding="utf-8"
    )
    return lambda: build_site(ws.project, out=out, types=ws.types, enforce_budgets=False)


def _mkdocs(ws: _Workspace) -> Callable[[], object]:
    out = ws.out("MkDocs")

    def run() -> object:
        return subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(out)],
            cwd=ws.root / "mkdocs",
            check=True,
            capture_output=True,
        )

    return run


def benchmark(*, quick: bool) -> Benchmark:
    """1,000 lesson pages (100 with --quick)."""
    pages = 100 if quick else 1_000
    ws = _Workspace(pages)
    anchors = [Side("lms build, one lesson changed", lambda: _incremental(ws))]
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        print("MkDocs is not installed: its anchor is skipped (pip install 'mkdocs<1.7')")
    else:
        anchors.append(Side("MkDocs 1.6 (mkdocs theme, search)", lambda: _mkdocs(ws)))
    return Benchmark(
        name="site_build",
        description=f"{pages:,} lesson pages, full build",
        ours=Side("lms build", lambda: _ours(ws)),
        anchors=tuple(anchors),
        target="≥ 5× MkDocs pages/s; ≤ 1/10 of its bytes per page; incremental < 0.3 s",
        rows=pages,
        extra=lambda: ws.sizes(pages),
    )
