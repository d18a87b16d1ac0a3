"""Courses on disk: reading a course folder and checking everything a trainer can get wrong.

One straight pass per course: read every file (UTF-8), split front matter,
parse the Markdown once with markdown-it-py, hand exercise blocks to their
plugins, then check links, images, files and rules across the course, and
finally across courses (prerequisites).  Problems are collected, never
raised, so ``lms course check`` reports all of them at once.  The result,
:class:`LoadedCourse`, is what publishing snapshots.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lms_core.errors import InputFileError, Problem
from lms_core.exercises import Block, Exercise, ExerciseParseError, ExerciseType, parse_info
from lms_core.messages import msg, suggestion
from lms_core.models import ORG_KINDS
from lms_core.text import anchor, read_utf8

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LESSON_FILE = re.compile(r"^(\d\d)-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
IMAGE_WARN_BYTES = 200 * 1024
WORDS_PER_MINUTE = 200
MAX_FILE_BYTES = 2 * 1024 * 1024
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
M = TypeVar("M", bound=BaseModel)
_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
"""Parses raw HTML into tokens so the check can see it; the site decides what to show."""

OrgKind = Literal[
    "province", "commune", "ward", "special_zone", "village", "residential_group", "agency", "unit"
]
assert set(OrgKind.__args__) == set(ORG_KINDS)  # type: ignore[attr-defined]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(_Strict):
    positions: list[str] = Field(default_factory=list)
    unit_kinds: list[OrgKind] = Field(default_factory=list)


class CompletionRule(_Strict):
    rule: Literal["all", "final"] = "all"
    exercise: str | None = None


class CertificateSettings(_Strict):
    enabled: bool = False
    validity_months: int = Field(default=24, ge=0, le=240)
    template: str = "default"


class CourseMeta(_Strict):
    """The front matter of ``index.md``."""

    title: str = Field(min_length=1, max_length=255)
    summary: str = Field(min_length=1)
    language: Literal["vi", "en"] = "vi"
    audience: Audience = Audience()
    minutes: int = Field(gt=0, le=100_000)
    prerequisites: list[str] = Field(default_factory=list)
    completion: CompletionRule = CompletionRule()
    certificate: CertificateSettings = CertificateSettings()
    lessons: list[str] | None = None
    sample: bool = False


class LessonMeta(_Strict):
    """The front matter of a lesson file."""

    title: str = Field(min_length=1, max_length=255)
    minutes: int = Field(gt=0, le=10_000)
    required: bool = True


@dataclass(slots=True)
class LoadedExercise:
    block: Block
    exercise: Exercise
    lesson: str


@dataclass(slots=True)
class Lesson:
    slug: str
    file: str
    meta: LessonMeta
    markdown: str
    body_line: int = 1
    """File line where ``markdown`` starts (after the front matter)."""
    exercises: list[LoadedExercise] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)
    tokens: list[Token] = field(default_factory=list, repr=False)
    """The markdown-it tokens of ``markdown``: the site renders from them (one parse)."""


@dataclass(slots=True)
class _Ref:
    """A link or image found in a page, checked once every page is read."""

    page: str
    line: int
    column: int
    target: str
    image: bool
    alt: str = ""


@dataclass(slots=True)
class LoadedCourse:
    """A course as read from disk, with every problem found."""

    slug: str
    root: Path
    meta: CourseMeta | None = None
    intro: str = ""
    intro_tokens: list[Token] = field(default_factory=list, repr=False)
    lessons: list[Lesson] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def exercises(self) -> list[LoadedExercise]:
        return [e for lesson in self.lessons for e in lesson.exercises]

    def snapshot(self) -> dict[str, Any]:
        """Everything publishing stores: settings, lessons, full exercises, file hashes."""
        assert self.meta is not None
        return {
            "format": 1,
            "slug": self.slug,
            "meta": self.meta.model_dump(mode="json"),
            "intro": self.intro,
            "lessons": [
                {
                    "slug": lesson.slug,
                    "file": lesson.file,
                    "title": lesson.meta.title,
                    "minutes": lesson.meta.minutes,
                    "required": lesson.meta.required,
                    "markdown": lesson.markdown,
                    "exercises": [e.exercise.id for e in lesson.exercises],
                }
                for lesson in self.lessons
            ],
            "exercises": [
                {
                    "id": e.exercise.id,
                    "kind": e.block.kind,
                    "lesson": e.lesson,
                    "data": e.exercise.model_dump(mode="json"),
                }
                for e in self.exercises()
            ],
            "files": dict(sorted(self.files.items())),
        }


def content_hash(snapshot: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a snapshot."""
    text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Checker:
    """Collects the problems of one course, in one language."""

    def __init__(self, course: LoadedCourse, language: str, *, allow_html: bool = False) -> None:
        self.course = course
        self.language = language
        self.allow_html = allow_html

    def add(
        self,
        file: str,
        line: int,
        column: int,
        message: str,
        /,
        *,
        severity: str = "error",
        **fields: object,
    ) -> None:
        self.course.problems.append(
            Problem(file, line, column, msg(message, self.language, **fields), severity=severity)
        )

    def extend(self, problems: Iterable[Problem]) -> None:
        self.course.problems.extend(problems)


def _split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(front matter or None, body, 1-based line where the body starts); None when unclosed."""
    if not text.startswith("---\n") and text.strip() != "---":
        return "", text, 1
    lines = text.split("\n")
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return None, text, 1


def _front_of(path: Path) -> str:
    """The front matter text of a file (for locating keys), or ''."""
    front, _, _ = _split_front_matter(path.read_text(encoding="utf-8", errors="replace"))
    return front or ""


def _key_line(front: str, key: str) -> int:
    """Line (1-based, in the file) of ``key:`` in the front matter, or 1."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*:")
    for i, line in enumerate(front.split("\n"), start=2):
        if pattern.match(line):
            return i
    return 1


def _meta(check: _Checker, display: str, text: str, model: type[M]) -> tuple[M | None, str, int]:
    """Parse and validate front matter; problems go to ``check``."""
    front, body, body_line = _split_front_matter(text)
    if front is None:
        check.add(display, 1, 1, "unclosed_front_matter")
        return None, body, body_line
    if front == "" and not text.startswith("---"):
        check.add(display, 1, 1, "no_front_matter")
        return None, body, body_line
    try:
        data = yaml.load(front, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        last = front.count("\n") + 2  # the error is inside the settings, not below them
        line = min(mark.line + 2, last) if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        check.add(display, line, 1, "yaml_error", reason=reason)
        return None, body, body_line
    if data is None:
        data = {}
    if not isinstance(data, dict):
        check.add(display, 2, 1, "not_mapping")
        return None, body, body_line
    try:
        return model.model_validate(data), body, body_line
    except ValidationError as exc:
        _report_validation(check, display, front, exc, model)
        return None, body, body_line


def _report_validation(
    check: _Checker, display: str, front: str, exc: ValidationError, model: type[BaseModel]
) -> None:
    for item in exc.errors():
        loc = [str(p) for p in item["loc"] if not isinstance(p, int)]
        key = ".".join(loc) or "?"
        line = _key_line(front, loc[-1]) if loc else 1
        if item["type"] == "extra_forbidden":
            owner: type[BaseModel] = model
            for part in loc[:-1]:
                annotation = (
                    owner.model_fields[part].annotation if part in owner.model_fields else None
                )
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    owner = annotation
            hint = suggestion(loc[-1], list(owner.model_fields), check.language)
            check.add(display, line, 1, "unknown_key", key=key, hint=hint)
        elif item["type"] == "missing":
            check.add(display, 1, 1, "missing_key", key=key)
        else:
            check.add(display, line, 1, "bad_value", key=key, reason=item["msg"])


def _read(check: _Checker, path: Path, display: str) -> str | None:
    try:
        return read_utf8(path, max_bytes=MAX_FILE_BYTES, what="page")
    except InputFileError as exc:
        reason = str(exc)
        if "UTF-8" in reason:
            line = int(m.group(1)) if (m := re.search(r":(\d+): not UTF-8", reason)) else 1
            check.add(display, line, 1, "not_utf8")
        else:
            check.add(display, 1, 1, "read_error", reason=reason.split(": ", 1)[-1])
        return None


def _walk_tokens(tokens: list[Token]) -> Iterable[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk_tokens(token.children)


def _column(lines: list[str], start: int, end: int, needle: str) -> tuple[int, int]:
    """(line, column), 1-based, of ``needle`` between 0-based lines ``start`` and ``end``."""
    for i in range(start, min(end, len(lines))):
        col = lines[i].find(needle)
        if col >= 0:
            return i + 1, col + 1
    return start + 1, 1


def _scan_page(
    check: _Checker,
    *,
    display: str,
    page: str,
    body: str,
    body_line: int,
    types: Mapping[str, ExerciseType[Any]],
    lesson: Lesson | None,
    refs: list[_Ref],
) -> None:
    """Parse one page's Markdown once: anchors, exercise blocks, links and images."""
    tokens = _MD.parse(body)
    if lesson is not None:
        lesson.tokens = tokens
    else:
        check.course.intro_tokens = tokens
    lines = body.split("\n")
    offset = body_line - 1
    seen_anchors: dict[str, int] = {}
    html_lines: set[int] = set()
    current_map: list[int] | None = None
    heading = False
    for token in tokens:
        if token.map is not None:
            current_map = token.map
        if token.type == "heading_open":
            heading = True
            continue
        if token.type == "html_block" and not check.allow_html and current_map:
            check.add(display, current_map[0] + 1 + offset, 1, "raw_html", severity="warning")
            continue
        if token.type == "inline":
            if heading and lesson is not None:
                base = anchor(token.content)
                count = seen_anchors.get(base, 0)
                seen_anchors[base] = count + 1
                lesson.anchors.add(base if count == 0 else f"{base}-{count}")
            heading = False
            start, end = current_map if current_map else (0, len(lines))
            for child in _walk_tokens(token.children or []):
                if child.type == "html_inline" and not check.allow_html:
                    line, col = _column(lines, start, end + 1, child.content)
                    if line + offset not in html_lines:  # one warning per line
                        html_lines.add(line + offset)
                        check.add(display, line + offset, col, "raw_html", severity="warning")
                elif child.type == "link_open":
                    target = str(child.attrs.get("href", ""))
                    line, col = _column(lines, start, end + 1, target or "](")
                    refs.append(_Ref(page, line + offset, col, target, image=False))
                elif child.type == "image":
                    target = str(child.attrs.get("src", ""))
                    line, col = _column(lines, start, end + 1, target or "![")
                    refs.append(
                        _Ref(
                            page, line + offset, col, target, image=True, alt=child.content.strip()
                        )
                    )
            continue
        if token.type == "fence" and token.info.strip() and token.map is not None:
            _exercise_block(
                check, token, display=display, offset=offset, types=types, lesson=lesson
            )


def _exercise_block(
    check: _Checker,
    token: Token,
    *,
    display: str,
    offset: int,
    types: Mapping[str, ExerciseType[Any]],
    lesson: Lesson | None,
) -> None:
    """An exercise fence (a known type, or any fence with ``id=``) goes to its plugin."""
    assert token.map is not None
    line = token.map[0] + 1 + offset
    try:
        kind, options = parse_info(token.info, file=display, line=line)
    except ExerciseParseError as exc:
        check.extend(exc.problems)
        return
    if kind not in types:
        if "id" in options:
            hint = suggestion(kind, list(types), check.language)
            check.add(display, line, 1, "unknown_exercise", kind=kind, hint=hint)
        return
    block = Block(
        kind=kind,
        options=options,
        body=token.content,
        file=display,
        line=line,
        language="en" if check.language == "en" else "vi",
    )
    try:
        exercise = types[kind].parse(block)
    except ExerciseParseError as exc:
        check.extend(exc.problems)
        return
    if lesson is not None:
        lesson.exercises.append(LoadedExercise(block, exercise, lesson.slug))


def load_course(
    root: Path,
    *,
    types: Mapping[str, ExerciseType[Any]],
    language: str = "vi",
    allow_html: bool = False,
) -> LoadedCourse:
    """Read and check one course folder (every problem in ``.problems``)."""
    course = LoadedCourse(slug=root.name, root=root)
    check = _Checker(course, language, allow_html=allow_html)
    base = root.parent.parent

    def show(path: Path) -> str:
        return os.path.relpath(path, base)

    if not SLUG.match(root.name):
        check.add(show(root), 0, 0, "bad_slug", slug=root.name)
    index = root / "index.md"
    refs: list[_Ref] = []
    if not index.is_file():
        check.add(show(root), 0, 0, "no_index")
    else:
        text = _read(check, index, show(index))
        if text is not None:
            meta, body, body_line = _meta(check, show(index), text, CourseMeta)
            course.meta, course.intro = meta, body
            _scan_page(
                check,
                display=show(index),
                page="index.md",
                body=body,
                body_line=body_line,
                types=types,
                lesson=None,
                refs=refs,
            )
    _load_lessons(check, root, show, types, refs)
    _check_files(check, root, show, refs)
    _check_rules(check, show(index))
    return course


def _load_lessons(
    check: _Checker,
    root: Path,
    show: Callable[[Path], str],
    types: Mapping[str, ExerciseType[Any]],
    refs: list[_Ref],
) -> None:
    course = check.course
    by_slug: dict[str, Lesson] = {}
    for path in sorted(root.iterdir()):
        if path.suffix != ".md" or path.name == "index.md" or path.is_dir():
            continue
        match = LESSON_FILE.match(path.name)
        if not match:
            check.add(show(path), 0, 0, "not_a_lesson", name=path.name, severity="warning")
            continue
        if path.is_symlink():
            check.add(show(path), 0, 0, "symlink", target=path.name)
            continue
        slug = match.group(2)
        if slug in by_slug:
            check.add(show(path), 0, 0, "duplicate_lesson", slug=slug, other=by_slug[slug].file)
            continue
        text = _read(check, path, show(path))
        if text is None:
            continue
        meta, body, body_line = _meta(check, show(path), text, LessonMeta)
        lesson = Lesson(slug, path.name, meta or LessonMeta(title=slug, minutes=1), body, body_line)
        by_slug[slug] = lesson
        _scan_page(
            check,
            display=show(path),
            page=path.name,
            body=body,
            body_line=body_line,
            types=types,
            lesson=lesson,
            refs=refs,
        )
        if meta is not None:
            words = len(re.sub(r"```.*?```", " ", body, flags=re.S).split())
            if words > (2 * meta.minutes + 5) * WORDS_PER_MINUTE:
                check.add(
                    show(path),
                    1,
                    1,
                    "too_long",
                    words=words,
                    minutes=meta.minutes,
                    severity="warning",
                )
    order = list(by_slug)
    if course.meta is not None and course.meta.lessons is not None:
        index = show(root / "index.md")
        line = _key_line(_front_of(root / "index.md"), "lessons")
        for slug in course.meta.lessons:
            if slug not in by_slug:
                check.add(index, line, 1, "missing_lesson", slug=slug)
        for slug in by_slug:
            if slug not in course.meta.lessons:
                check.add(
                    show(root / by_slug[slug].file),
                    0,
                    0,
                    "unlisted_lesson",
                    slug=slug,
                    severity="warning",
                )
        order = [s for s in course.meta.lessons if s in by_slug]
    course.lessons = [by_slug[s] for s in order]
    if not by_slug and (root / "index.md").is_file():
        check.add(show(root / "index.md"), 0, 0, "no_lessons")
    seen: dict[str, str] = {}
    for exercise in course.exercises():
        where = f"{exercise.block.file}:{exercise.block.line}"
        if exercise.exercise.id in seen:
            check.add(
                exercise.block.file,
                exercise.block.line,
                1,
                "duplicate_exercise",
                id=exercise.exercise.id,
                other=seen[exercise.exercise.id],
            )
        else:
            seen[exercise.exercise.id] = where


def _check_files(
    check: _Checker, root: Path, show: Callable[[Path], str], refs: list[_Ref]
) -> None:
    """Links, images and files: inside the folder, existing, used, light enough."""
    course = check.course
    lessons = {lesson.file: lesson for lesson in course.lessons}
    all_lessons = {p.name for p in root.glob("*.md")}
    used: set[str] = set()
    for ref in refs:
        display = show(root / ref.page)
        if ref.image and not ref.alt:
            check.add(
                display, ref.line, ref.column, "no_alt", target=ref.target, severity="warning"
            )
        parts = urlsplit(ref.target)
        if parts.scheme in ("http", "https", "mailto") and not ref.image:
            continue
        if parts.scheme or parts.netloc:
            check.add(display, ref.line, ref.column, "bad_scheme", target=ref.target)
            continue
        link, fragment = unquote(parts.path), unquote(parts.fragment)
        if not link:
            target_lesson = lessons.get(ref.page)
            if fragment and target_lesson is not None and fragment not in target_lesson.anchors:
                check.add(
                    display,
                    ref.line,
                    ref.column,
                    "missing_anchor",
                    anchor=fragment,
                    target=ref.page,
                )
            continue
        pure = PurePosixPath(link.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", link):
            check.add(display, ref.line, ref.column, "outside", target=ref.target)
            continue
        target = root / pure
        if _has_symlink(root, pure):
            check.add(display, ref.line, ref.column, "symlink", target=ref.target)
            continue
        if str(pure) in all_lessons and not ref.image:
            lesson = lessons.get(str(pure))
            if lesson is not None and fragment and fragment not in lesson.anchors:
                check.add(
                    display,
                    ref.line,
                    ref.column,
                    "missing_anchor",
                    anchor=fragment,
                    target=str(pure),
                )
            continue
        if not target.is_file():
            check.add(display, ref.line, ref.column, "missing_target", target=ref.target)
            continue
        used.add(str(pure))
        if ref.image and target.stat().st_size > IMAGE_WARN_BYTES:
            check.add(
                display,
                ref.line,
                ref.column,
                "big_image",
                target=ref.target,
                size=target.stat().st_size // 1024,
                severity="warning",
            )
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if name.startswith(".") or (path.parent == root and name.endswith(".md")):
                continue
            if path.is_symlink():
                check.add(show(path), 0, 0, "symlink", target=rel)
                continue
            if rel not in used:
                check.add(show(path), 0, 0, "unused_file", name=rel, severity="warning")
                continue
            course.files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()


def _has_symlink(root: Path, relative: PurePosixPath) -> bool:
    current = root
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def _check_rules(check: _Checker, index: str) -> None:
    course = check.course
    meta = course.meta
    if meta is None or meta.completion.rule != "final":
        return
    front = _front_of(course.root / "index.md")
    line = _key_line(front, "exercise")
    if not meta.completion.exercise:
        check.add(index, _key_line(front, "rule"), 1, "final_needs_exercise")
        return
    found = {e.exercise.id: e for e in course.exercises()}
    wanted = meta.completion.exercise
    if wanted not in found:
        check.add(
            index,
            line,
            1,
            "final_missing",
            id=wanted,
            hint=suggestion(wanted, list(found), check.language),
        )
    elif not found[wanted].exercise.graded:
        check.add(index, line, 1, "final_not_graded", id=wanted)


def course_folders(courses_dir: Path) -> list[Path]:
    """Every course folder (a folder of ``courses/`` with an ``index.md`` or any ``.md``)."""
    if not courses_dir.is_dir():
        return []
    return sorted(
        p
        for p in courses_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.md"))
    )


def check_courses(
    courses_dir: Path,
    *,
    slugs: Iterable[str] = (),
    types: Mapping[str, ExerciseType[Any]],
    language: str = "vi",
    allow_html: bool = False,
) -> tuple[list[LoadedCourse], list[Problem]]:
    """Load the named courses (default: all) and check prerequisites across all courses.

    Returns the loaded courses and every problem, sorted by file and line.
    """
    folders = {p.name: p for p in course_folders(courses_dir)}
    wanted = list(slugs) or list(folders)
    problems: list[Problem] = []
    loaded: list[LoadedCourse] = []
    for slug in wanted:
        if slug not in folders:
            hint = suggestion(slug, list(folders), language)
            problems.append(
                Problem(
                    str(courses_dir),
                    0,
                    0,
                    msg("course_missing", language, slug=slug, folder=courses_dir, hint=hint),
                )
            )
            continue
        loaded.append(
            load_course(folders[slug], types=types, language=language, allow_html=allow_html)
        )
    problems.extend(prerequisite_problems(courses_dir, folders, loaded, language))
    for course in loaded:
        problems.extend(course.problems)
    problems.sort(key=lambda p: (p.file, p.line, p.column))
    return loaded, problems


def front_matter_value(path: Path, key: str) -> object:
    """One value of a file's front matter, read cheaply (no full load); None on any problem."""
    try:
        front, _, _ = _split_front_matter(read_utf8(path, what="page"))
        data = yaml.load(front or "", Loader=_Loader)  # noqa: S506 - a safe loader
    except (InputFileError, yaml.YAMLError):
        return None
    return data.get(key) if isinstance(data, dict) else None


def _prerequisites_of(folder: Path) -> list[str]:
    """Prerequisites from a course's front matter, read cheaply (no full load)."""
    prereqs = front_matter_value(folder / "index.md", "prerequisites")
    return [str(p) for p in prereqs] if isinstance(prereqs, list) else []


def prerequisite_problems(
    courses_dir: Path, folders: dict[str, Path], loaded: list[LoadedCourse], language: str
) -> list[Problem]:
    graph = {slug: _prerequisites_of(path) for slug, path in folders.items()}
    problems = []
    for course in loaded:
        if course.meta is None:
            continue
        index = folders[course.slug] / "index.md"
        display = os.path.relpath(index, courses_dir.parent)
        line = _key_line(_front_of(index), "prerequisites")
        for slug in course.meta.prerequisites:
            if slug not in folders:
                problems.append(
                    Problem(
                        display,
                        line,
                        1,
                        msg(
                            "unknown_prerequisite",
                            language,
                            slug=slug,
                            hint=suggestion(slug, list(folders), language),
                        ),
                    )
                )
        cycle = _cycle_from(course.slug, graph)
        if cycle:
            problems.append(
                Problem(
                    display, line, 1, msg("prerequisite_cycle", language, cycle=" → ".join(cycle))
                )
            )
    return problems


def _cycle_from(start: str, graph: dict[str, list[str]]) -> list[str] | None:
    """A prerequisite cycle through ``start``, as [start, …, start], or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, []):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


SKELETON_INDEX = """\
---
# Cài đặt của khóa học. Mỗi dòng là "khóa: giá trị"; dòng bắt đầu bằng # là ghi chú.
# Hướng dẫn đầy đủ: docs/authoring.md
title: {title}
summary: Một hoặc hai câu giới thiệu khóa học trong danh mục.
language: vi
audience:
  positions: []                # ví dụ: [Công chức Văn hóa - Xã hội, Giáo viên tiểu học]
  unit_kinds: [commune, ward]  # province, commune, ward, village, agency…
minutes: 20
prerequisites: []              # các khóa học cần hoàn thành trước (tên thư mục)
completion:
  rule: all                    # all: xem hết bài bắt buộc và đạt mọi bài kiểm tra
certificate:
  enabled: false
  validity_months: 24
---

Giới thiệu khóa học: mục tiêu, đối tượng, cách học.
"""

SKELETON_LESSON = """\
---
title: Bài mở đầu
minutes: 10
required: true
---

## Nội dung chính

Viết nội dung bài học bằng Markdown: đoạn văn, danh sách, **chữ đậm**.

- Ý thứ nhất
- Ý thứ hai

## Câu hỏi ôn tập

```quiz id={slug}-on-tap
? Tổng đài quốc gia bảo vệ trẻ em là số nào?
- ( ) 113
- (x) 111
  > Đúng: Tổng đài 111, miễn phí, 24/7.
- ( ) 115
```

Quay lại [đầu bài](#noi-dung-chinh).
"""


def new_course(courses_dir: Path, slug: str, *, title: str = "") -> Path:
    """Write a commented skeleton course that passes ``lms course check``."""
    if not SLUG.match(slug) or len(slug) > 64:
        raise InputFileError(msg("bad_slug", "en", slug=slug))
    folder = courses_dir / slug
    if folder.exists():
        raise InputFileError(f"{folder} already exists; choose another name")
    folder.mkdir(parents=True)
    (folder / "index.md").write_text(
        SKELETON_INDEX.format(title=title or slug.replace("-", " ").capitalize()),
        encoding="utf-8",
    )
    (folder / "01-mo-dau.md").write_text(SKELETON_LESSON.format(slug=slug), encoding="utf-8")
    return folder
