"""``lms build``: courses to a static site, in one straight pass.

Read (check every course; refuse to build on errors) → render (every page in
memory, Jinja2 with autoescape, Markdown through :mod:`site_builder.markdown`)
→ write (only files whose bytes changed, so a rebuild after editing one lesson
rewrites only what depends on it; files of an earlier build that are no
longer produced are removed).  No timestamps and sorted iteration everywhere:
the same input gives byte-identical output.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata, resources
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

import pluggy
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from markupsafe import Markup

from lms_core.config import Project
from lms_core.courses import (
    CourseMeta,
    LoadedCourse,
    content_hash,
    course_folders,
    front_matter_value,
    load_course,
    prerequisite_problems,
)
from lms_core.errors import LmsError, Problem, ProblemsError
from lms_core.exercises import Exercise, ExerciseType
from site_builder.i18n import page_catalogs, strings
from site_builder.markdown import PageContext, make_markdown, render_page
from site_builder.search import SearchIndex, words_of

MARKER = ".lms-site"
"""A file in the output folder saying it is ours: only then may a build delete in it."""

BUDGETS = {"html": 30 * 1024, "css": 15 * 1024, "js": 20 * 1024, "page_js": 10 * 1024}
PAGE_ASSETS = ("assets/verify.css", "assets/verify.js")
"""Assets that one page loads (the verify page), not every page: no course's offline
list names them, and a script among them is budgeted on its own (``page_js``)."""
STATIC_FILES = (
    "assets/site.css",
    "assets/site.js",
    "assets/icon.svg",
    "sw.js",
    "manifest.webmanifest",
    *PAGE_ASSETS,
)
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


class BuildError(LmsError):
    """The site cannot be built (course errors, an unsafe output folder, a budget)."""


@dataclass(slots=True)
class BuildReport:
    """What a build wrote and how heavy the pages are (gzip bytes)."""

    out: Path
    files: int = 0
    written: int = 0
    removed: int = 0
    pages: int = 0
    html_gzip: dict[str, int] = field(default_factory=dict)
    css_gzip: int = 0
    js_gzip: int = 0
    """The JavaScript every page loads (``site.js``, ``sw.js``)."""
    page_js_gzip: dict[str, int] = field(default_factory=dict)
    """Scripts only some pages load (``assets/verify.js``, a plugin's), each on its own."""
    plugin_files: list[str] = field(default_factory=list)
    """Files plugins added through ``lms_site_built`` (relative to ``out``)."""
    over_budget: list[str] = field(default_factory=list)

    def heaviest(self, count: int = 5) -> list[tuple[str, int]]:
        return sorted(self.html_gzip.items(), key=lambda kv: (-kv[1], kv[0]))[:count]


def gzip_size(data: bytes) -> int:
    """Size after gzip at level 6, as web servers typically send it (mtime 0: deterministic)."""
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def _static_bytes(project: Project, name: str) -> bytes:
    """A theme file of the project, or the built-in one."""
    override = project.root / "theme" / name
    if override.is_file():
        return override.read_bytes()
    return (resources.files("site_builder") / "static" / name).read_bytes()


def _environment(project: Project) -> Environment:
    loaders: list[Any] = []
    theme = project.root / "theme"
    if theme.is_dir():
        loaders.append(FileSystemLoader(str(theme)))
    loaders.append(PackageLoader("site_builder", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )


def _json_for_script(value: object) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</`` can close it)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Markup(text.replace("</", "<\\/").replace("<!--", "<\\!--"))  # noqa: S704


class _Site:
    """The files of one build, in memory until written."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.weights: dict[str, int] = {}

    def add(self, path: str, data: bytes | str) -> None:
        if path in self.files:
            raise BuildError(f"two outputs want the same path {path} (rename one of them)")
        self.files[path] = data.encode("utf-8") if isinstance(data, str) else data


def _page_fields(project: Project, *, root: str, page: str) -> dict[str, Any]:
    language = project.config.language
    catalogs = page_catalogs(page)
    return {
        "lang": language,
        "t": catalogs.get(language, catalogs["vi"]),
        "root": root,
        "page": page,
        "site_title": project.config.site.title,
        "api": project.config.site.api_url,
        "api_origin": _origin(project.config.site.api_url),
        "course": None,
        "lesson": None,
        "i18n_json": _json_for_script(catalogs),
    }


def _origin(url: str) -> str:
    """The origin of an absolute API URL, for the Content-Security-Policy; '' otherwise."""
    if not url.startswith(("http://", "https://")):
        return ""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _audience_label(course: LoadedCourse, language: str) -> str:
    assert course.meta is not None
    positions = course.meta.audience.positions
    return ", ".join(positions) if positions else strings(language)["everyone"]


def _course_fields(
    course: LoadedCourse, titles: Mapping[str, str], language: str
) -> dict[str, Any]:
    assert course.meta is not None
    t = strings(language)
    meta = course.meta
    certificate = ""
    if meta.certificate.enabled:
        months = meta.certificate.validity_months
        certificate = t["certificate"].format(n=months) if months else t["certificate_forever"]
    return {
        "slug": course.slug,
        # what publishing would store: a page's answers can be matched to its version
        "version": content_hash(course.snapshot()),
        "title": meta.title,
        "summary": meta.summary,
        "sample": meta.sample,
        "minutes_text": t["minutes"].format(n=meta.minutes),
        "lessons_text": t["lessons"].format(n=len(course.lessons)),
        "language_name": LANGUAGE_NAMES.get(meta.language, meta.language),
        "certificate": certificate,
        "prerequisites": [
            {"slug": slug, "title": titles.get(slug, slug)} for slug in meta.prerequisites
        ],
    }


def build_site(
    project: Project,
    *,
    out: Path | None = None,
    base_url: str | None = None,
    types: Mapping[str, ExerciseType[Any]],
    enforce_budgets: bool = True,
    use_cache: bool = True,
    pm: pluggy.PluginManager | None = None,
) -> BuildReport:
    """Build the site of ``project`` into ``out`` (default: the configured output folder).

    Courses whose files (and the theme, the configuration, the code version and
    the course titles) did not change since the last build into ``out`` are
    taken from a cache in ``.lms-cache/`` of the project, so a rebuild after
    editing one lesson re-checks and re-renders only that course.

    With a plugin manager ``pm``, its plugins' ``lms_site_built`` run once the
    site is written (the certificates plugin adds ``verify/keys.json`` and
    ``verify/revoked.json``); the files they return stay (a rebuild does not
    delete them as stale) and count in the report and the budgets.
    """
    out = (out or project.output_dir).resolve()
    _check_output(out, project)
    site = _Site()
    index = SearchIndex()
    _render(
        project,
        site,
        index,
        types=types,
        cache_file=_cache_path(project, out) if use_cache else None,
    )
    site.add(
        "search-index.json", json.dumps(index.to_json(), ensure_ascii=False, separators=(",", ":"))
    )
    _static(project, site)
    base = (base_url if base_url is not None else project.config.site.base_url).rstrip("/")
    if base:
        urls = "".join(
            f"<url><loc>{base}/{path}</loc></url>"
            for path in sorted(site.files)
            if path.endswith(".html") and path != "404.html"
        )
        site.add(
            "sitemap.xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
            f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n',
        )
    report, extra = _write(
        out,
        site,
        manifest=_cache_path(project, out).with_suffix(".json") if use_cache else None,
        added=None if pm is None else lambda: _plugin_files(pm, project, out, site.files),
    )
    _weigh(report, site, site.weights, extra)
    if enforce_budgets and report.over_budget:
        raise BuildError(
            "over budget (gzip):\n"
            + "\n".join(report.over_budget)
            + "\n(make the pages lighter, or build with --no-budgets)"
        )
    return report


def _check_output(out: Path, project: Project) -> None:
    """Refuse to build into a folder that holds something else, or into the sources."""
    if out == project.root or out in project.courses_dir.parents or out == project.courses_dir:
        raise BuildError(f"{out} is the project or its courses; choose another --out")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(
            f"{out} is not empty and was not made by 'lms build'; choose another --out "
            "or empty it (a build deletes stale files in its output folder)"
        )


@dataclass(slots=True)
class _CourseOutput:
    """What one course contributes to the site; built in a worker process or inline."""

    slug: str
    problems: list[Problem]
    meta: CourseMeta | None = None
    fields: dict[str, Any] | None = None
    lessons: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    docs: list[tuple[str, str, str, list[str]]] = field(default_factory=list)
    """Search documents: title, url, course title, folded words (sorted)."""
    weights: dict[str, int] = field(default_factory=dict)
    """Gzip sizes of the course's lesson pages."""


_JOB: dict[str, Any] = {}
"""Build-wide inputs of course jobs (set before the worker pool forks, so not pickled)."""

PARALLEL_MIN_LESSONS = 60
"""Below this many lessons, starting worker processes costs more than it saves."""


def _course_job(folder: str) -> _CourseOutput:
    project: Project = _JOB["project"]
    types: Mapping[str, ExerciseType[Any]] = _JOB["types"]
    language = project.config.language
    course = load_course(
        Path(folder),
        types=types,
        language=language,
        allow_html=project.config.site.raw_html == "sanitised",
    )
    output = _CourseOutput(course.slug, list(course.problems), course.meta)
    if course.ok and course.meta is not None:
        fields = _course_fields(course, _JOB["titles"], language)
        output.fields = {**fields, "audience": _audience_label(course, language)}
        output.lessons = [
            {"slug": lesson.slug, "title": lesson.meta.title} for lesson in course.lessons
        ]
        _render_course(project, _JOB["env"], _JOB["md"], course, fields, output, types=types)
    return output


CACHE_FOLDER = ".lms-cache"
CACHE_FORMAT = 1


def _fingerprint(folder: Path, shared: bytes) -> str:
    """Everything a course's pages depend on: its files, plus what all courses share."""
    digest = hashlib.sha256(shared)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _shared_inputs(project: Project, titles: Mapping[str, str]) -> bytes:
    """The inputs every course page depends on: code version, config, theme, course titles."""
    digest = hashlib.sha256()
    digest.update(f"{CACHE_FORMAT}:{_version()}".encode())
    if project.config_path is not None and project.config_path.is_file():
        digest.update(project.config_path.read_bytes())
    theme = project.root / "theme"
    if theme.is_dir():
        for path in sorted(theme.rglob("*")):
            if path.is_file():
                digest.update(path.as_posix().encode() + path.read_bytes())
    digest.update(json.dumps(sorted(titles.items()), ensure_ascii=False).encode())
    digest.update(json.dumps(sorted(_JOB["types"]), ensure_ascii=False).encode())
    return digest.digest()


def _version() -> str:
    try:
        return metadata.version("taphuan")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
        return "0"


def _cache_path(project: Project, out: Path) -> Path:
    key = hashlib.sha256(str(out).encode()).hexdigest()[:16]
    return project.root / CACHE_FOLDER / f"site-{key}.pickle"


def _load_cache(path: Path) -> dict[str, tuple[str, _CourseOutput]]:
    """The previous build's course outputs by slug; empty when missing or unreadable."""
    try:
        with path.open("rb") as handle:
            data = pickle.load(handle)  # noqa: S301 - our own file in the project folder
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(path: Path, cache: dict[str, tuple[str, _CourseOutput]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        pickle.dump(cache, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _run_jobs(folders: list[Path], *, cache_file: Path | None) -> list[_CourseOutput]:
    """Course outputs: reused from the last build when nothing they depend on changed,
    otherwise built, on every core for big sites (fork keeps plugins and templates)."""
    cache = _load_cache(cache_file) if cache_file is not None else {}
    shared = _shared_inputs(_JOB["project"], _JOB["titles"])
    prints = {f.name: _fingerprint(f, shared) for f in folders}
    todo = [f for f in folders if cache.get(f.name, ("", None))[0] != prints[f.name]]
    lessons = sum(len(list(f.glob("[0-9][0-9]-*.md"))) for f in todo)
    workers = min(len(todo), os.cpu_count() or 1)
    if workers < 2 or lessons < PARALLEL_MIN_LESSONS or "fork" not in get_all_start_methods():
        built = [_course_job(str(f)) for f in todo]
    else:
        with get_context("fork").Pool(workers) as pool:
            built = pool.map(_course_job, [str(f) for f in todo], chunksize=1)
    fresh = {output.slug: output for output in built}
    outputs = [fresh[f.name] if f.name in fresh else cache[f.name][1] for f in folders]
    if cache_file is not None:
        _save_cache(
            cache_file,
            {
                o.slug: (prints[o.slug], o)
                for o in outputs
                if not any(p.severity == "error" for p in o.problems)
            },
        )
    return outputs


def _render(
    project: Project,
    site: _Site,
    index: SearchIndex,
    *,
    types: Mapping[str, ExerciseType[Any]],
    cache_file: Path | None,
) -> None:
    """Check and render every course (in parallel when big), then the site-wide pages."""
    env = _environment(project)
    language = project.config.language
    t = strings(language)
    folders = course_folders(project.courses_dir)
    titles = {f.name: _title_of(f) for f in folders}
    _JOB.update(
        project=project,
        types=types,
        titles=titles,
        env=env,
        md=make_markdown(allow_html=project.config.site.raw_html == "sanitised"),
    )
    try:
        outputs = _run_jobs(folders, cache_file=cache_file)
    finally:
        _JOB.clear()
    stubs = [
        LoadedCourse(slug=o.slug, root=f, meta=o.meta)
        for o, f in zip(outputs, folders, strict=True)
    ]
    problems = [p for o in outputs for p in o.problems]
    problems += prerequisite_problems(
        project.courses_dir, {f.name: f for f in folders}, stubs, language
    )
    errors = sorted(
        (p for p in problems if p.severity == "error"), key=lambda p: (p.file, p.line, p.column)
    )
    if errors:
        raise ProblemsError(errors, summary="the courses have errors; nothing was built")
    groups: dict[str, list[dict[str, Any]]] = {}
    for output in outputs:
        assert output.fields is not None
        groups.setdefault(output.fields["audience"], []).append(output.fields)
        for path, data in output.files.items():
            site.add(path, data)
        site.weights.update(output.weights)
        for title, url, course_title, words in output.docs:
            index.add_folded(title=title, url=url, course=course_title, words=words)
    catalog = env.get_template("catalog.html").render(
        **_page_fields(project, root="", page="catalog"),
        groups=[{"label": label, "courses": groups[label]} for label in sorted(groups)],
    )
    site.add("index.html", catalog)
    site.add(
        "progress.html",
        env.get_template("progress.html").render(
            **_page_fields(project, root="", page="progress"),
            courses=[
                {"slug": o.slug, "title": titles[o.slug], "lessons": o.lessons} for o in outputs
            ],
        ),
    )
    if project.config.site.api_url:
        site.add(
            "signin.html",
            env.get_template("signin.html").render(**_page_fields(project, root="", page="signin")),
        )
    simple = env.get_template("simple.html")
    for path, page, root, heading, text in (
        ("404.html", "404", "./", "not_found", "not_found_text"),
        ("offline.html", "offline", "./", "offline_title", "offline_text"),
    ):
        site.add(
            path,
            simple.render(
                **_page_fields(project, root=root, page=page),
                heading=t[heading],
                heading_key=heading,
                text=t[text],
                text_key=text,
            ),
        )
    # certificate verification (docs/certificates.md): the keys and the revocation
    # list beside it are written by the certificates plugin (``lms_site_built``)
    site.add(
        "verify/index.html",
        env.get_template("verify.html").render(**_page_fields(project, root="../", page="verify")),
    )


def _title_of(folder: Path) -> str:
    """A course's title from its front matter, read cheaply (for prerequisite links)."""
    title = front_matter_value(folder / "index.md", "title")
    return title if isinstance(title, str) and title else folder.name


def _render_course(
    project: Project,
    env: Environment,
    md: Any,
    course: LoadedCourse,
    fields: dict[str, Any],
    output: _CourseOutput,
    *,
    types: Mapping[str, ExerciseType[Any]],
) -> None:
    language = project.config.language
    files = output.files
    t = strings(language)
    folder = f"courses/{course.slug}"
    pages = {lesson.file: f"{lesson.slug}.html" for lesson in course.lessons}
    lessons = [
        {
            "slug": lesson.slug,
            "title": lesson.meta.title,
            "page": pages[lesson.file],
            "required": lesson.meta.required,
            "minutes_text": t["minutes"].format(n=lesson.meta.minutes),
        }
        for lesson in course.lessons
    ]
    intro = render_page(
        md, course.intro, PageContext(pages, {}, 0, language), tokens=course.intro_tokens
    )
    course_fields = {**fields, "lessons": lessons, "intro_html": Markup(intro.html)}  # noqa: S704
    page = _page_fields(project, root="../../", page="course")
    files[f"{folder}/index.html"] = (
        env.get_template("course.html").render(**{**page, "course": course_fields}).encode("utf-8")
    )
    output.docs.append(
        (
            fields["title"],
            f"{folder}/index.html",
            fields["title"],
            sorted(words_of(" ".join([fields["title"], fields["summary"], *intro.words]))),
        )
    )
    template = env.get_template("lesson.html")
    for number, lesson in enumerate(course.lessons):
        exercises: dict[int, tuple[ExerciseType[Any], Exercise]] = {
            e.block.line: (types[e.block.kind], e.exercise) for e in lesson.exercises
        }
        rendered = render_page(
            md,
            lesson.markdown,
            PageContext(pages, exercises, lesson.body_line - 1, language),
            tokens=lesson.tokens,
        )
        info = {
            **lessons[number],
            "html": Markup(rendered.html),  # noqa: S704 - rendered with escaping rules
            "toc": rendered.toc,
            "previous": lessons[number - 1] if number > 0 else None,
            "next": lessons[number + 1] if number + 1 < len(lessons) else None,
        }
        page = _page_fields(project, root="../../", page="lesson")
        files[f"{folder}/{pages[lesson.file]}"] = template.render(
            **{**page, "course": course_fields, "lesson": info}
        ).encode("utf-8")
        path = f"{folder}/{pages[lesson.file]}"
        output.docs.append(
            (
                lesson.meta.title,
                path,
                fields["title"],
                sorted(words_of(" ".join([lesson.meta.title, *rendered.words]))),
            )
        )
        output.weights[path] = gzip_size(files[path])
    for rel in sorted(course.files):
        files[f"{folder}/{rel}"] = (course.root / rel).read_bytes()
    offline = [
        "index.html",
        *(lesson["page"] for lesson in lessons),
        *sorted(course.files),
        "../../index.html",
        "../../offline.html",
        *(f"../../{n}" for n in STATIC_FILES if n != "sw.js" and n not in PAGE_ASSETS),
    ]
    files[f"{folder}/offline.json"] = json.dumps(offline, ensure_ascii=False).encode("utf-8")


def _static(project: Project, site: _Site) -> None:
    content = hashlib.sha256()
    for path in sorted(site.files):
        content.update(path.encode())
        content.update(site.files[path])
    build_id = content.hexdigest()[:16]
    for name in STATIC_FILES:
        data = _static_bytes(project, name)
        if name == "sw.js":
            data = data.replace(b"__BUILD_ID__", build_id.encode())
        site.add(name, data)
    site.add(MARKER, "This folder was written by 'lms build'; it may delete stale files here.\n")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _write(
    out: Path,
    site: _Site,
    *,
    manifest: Path | None,
    added: Callable[[], Mapping[str, bytes]] | None = None,
) -> tuple[BuildReport, dict[str, bytes]]:
    """Write files whose bytes changed; delete files of earlier builds no longer produced.

    ``manifest`` remembers each written file's SHA-1, so an unchanged file is
    recognised without reading it back (a rebuild of 1,000 pages reads none).
    ``added`` runs once the build's own files are written (the plugins'
    ``lms_site_built``): the files it returns are the plugins', kept (not
    stale) and listed in the manifest.  Returns the report and those files.
    """
    report = BuildReport(out=out, files=len(site.files))
    out.mkdir(parents=True, exist_ok=True)
    previous: dict[str, str] = {}
    if manifest is not None:
        try:
            previous = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
    current: dict[str, str] = {}
    for rel, data in sorted(site.files.items()):
        target = out / rel
        digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        current[rel] = digest
        if previous.get(rel) == digest and _size(target) == len(data):
            continue
        if rel not in previous and target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        report.written += 1
    try:
        extra = dict(added()) if added is not None else {}
    except BaseException:
        if manifest is not None:  # a plugin may have changed our files: check all next time
            manifest.unlink(missing_ok=True)
        raise
    for rel, data in sorted(extra.items()):
        current[rel] = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    report.files += len(extra)
    report.plugin_files = sorted(extra)
    for dirpath, _dirnames, filenames in os.walk(out, topdown=False):
        folder = Path(dirpath)
        for name in filenames:
            if (folder / name).relative_to(out).as_posix() not in current:
                (folder / name).unlink()
                report.removed += 1
        if folder != out and not any(folder.iterdir()):
            folder.rmdir()
    if manifest is not None:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(current, sort_keys=True), encoding="utf-8")
    return report, extra


def _plugin_files(
    pm: pluggy.PluginManager, project: Project, out: Path, built: Mapping[str, bytes]
) -> dict[str, bytes]:
    """Call ``lms_site_built``; the files the plugins say they wrote, by path in ``out``."""
    found: dict[str, bytes] = {}
    for paths in pm.hook.lms_site_built(project=project, output_dir=out):
        for path in paths or []:
            target = Path(path) if Path(path).is_absolute() else out / path
            try:
                rel = target.resolve().relative_to(out).as_posix()
            except ValueError:
                raise BuildError(f"a plugin wrote {path} outside the site folder {out}") from None
            if not target.is_file():
                raise BuildError(f"a plugin says it wrote {rel}, but {target} is not a file")
            if rel in built and target.read_bytes() != built[rel]:
                raise BuildError(f"a plugin overwrote {rel}, which the build writes")
            if rel not in built:
                found[rel] = target.read_bytes()
    return found


def _weigh(
    report: BuildReport, site: _Site, known: Mapping[str, int], extra: Mapping[str, bytes]
) -> None:
    files = {**extra, **site.files}
    report.css_gzip = sum(gzip_size(d) for p, d in files.items() if p.endswith(".css"))
    report.js_gzip = sum(
        gzip_size(d) for p, d in site.files.items() if p.endswith(".js") and p not in PAGE_ASSETS
    )
    report.page_js_gzip = {
        p: gzip_size(d)
        for p, d in sorted(files.items())
        if p.endswith(".js") and (p in PAGE_ASSETS or p in extra)
    }
    for path, data in site.files.items():
        if path.endswith(".html"):
            report.pages += 1
            if path.startswith("courses/") and not path.endswith("/index.html"):
                report.html_gzip[path] = known[path] if path in known else gzip_size(data)
    for path, data in extra.items():
        if path.endswith(".html"):
            report.pages += 1
            report.html_gzip[path] = gzip_size(data)
    for path, size in sorted(report.html_gzip.items()):
        if size > BUDGETS["html"]:
            report.over_budget.append(f"{path}: HTML {size / 1024:.1f} KB > 30 KB")
    if report.css_gzip > BUDGETS["css"]:
        report.over_budget.append(f"all CSS: {report.css_gzip / 1024:.1f} KB > 15 KB")
    if report.js_gzip > BUDGETS["js"]:
        report.over_budget.append(f"all JS: {report.js_gzip / 1024:.1f} KB > 20 KB")
    for path, size in report.page_js_gzip.items():
        if size > BUDGETS["page_js"]:
            report.over_budget.append(f"{path}: JS {size / 1024:.1f} KB > 10 KB")
