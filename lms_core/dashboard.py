"""The static HTML dashboard: one page per unit, completion bars, linked down the tree.

``lms report dashboard --org 37 --out DIR`` writes ``DIR/index.html`` for the
unit asked for and ``DIR/u/<code>.html`` for every unit below it.  Each page
shows the unit's completion rate per course and per direct child unit (each
child's bar links to the child's page), the overdue count, and breadcrumbs
back up.  The server shows the same page for one unit at a time
(``GET /api/manage/dashboard/{unit}``, :mod:`lms_core.http.reports`).

Pages are plain HTML and SVG drawn here (no chart library, no JavaScript),
the site's look in one small inline stylesheet allowed by its hash in the
page's Content-Security-Policy, and the site's budgets: HTML ≤ 30 KB gzip per
page, readable on a 360 px phone.  Bars are labelled with their numbers (not
told apart by colour), carry a ``<title>``, and every chart is followed by a
visually hidden table of the same numbers for screen readers.

Counts come from three grouped queries over the whole subtree (units,
current enrolments by unit × course, active people by unit), rolled up the
tree in Python, whatever the number of units: a province of 1,500 units is
three queries, not one per unit per course.  The numbers are those of the
``rollup`` report (:func:`lms_core.services.reports.rollup`), so HR reads one
completion rate for a unit whichever they open: one *current* enrolment per
active person and course (the latest not withdrawn, the same subquery),
completed = a completion recorded for it, overdue = not completed and past
its due date.  A person enrolled again to renew counts once, with the new
enrolment; someone who has left does not count.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from lms_core.errors import LmsError
from lms_core.models import COURSE_STATUSES, Completion, Course, Enrolment, OrgUnit, Person
from lms_core.report_formats import (
    VN_TZ,
    display_width,
    layout_context,
    percent_text,
    template_environment,
    truncate_to_width,
)
from lms_core.services.reports import _current_enrolments
from lms_core.services.scope import (
    ChildProgress,
    Counts,
    CourseCounts,
    Scope,
    UnitProgress,
    UnitRef,
    _course_id,
    _scoped_unit,
)

__all__ = [
    "HTML_BUDGET",
    "MARKER",
    "DashboardReport",
    "UnitPage",
    "dashboard_page",
    "page_size",
    "render_unit_page",
    "write_dashboard",
]

HTML_BUDGET = 30 * 1024
"""Gzipped bytes per page, the site's budget (ARCHITECTURE §6)."""

MARKER = ".lms-dashboard"
"""A file in a dashboard folder: only such a folder is overwritten and pruned."""

_SAFE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_ROW = 52
"""Height of a compact bar row (label and numbers on one line, the bar below): a
44 px touch target and a gap.  Used for units, whose names are short."""
_WIDE_ROW = 72
"""Height of a wide bar row (label, then numbers, then the bar): course titles are long."""
_LABEL_COLUMNS = 24
"""Characters of a label beside its numbers (~330 px at 15 px); longer ones are cut
with "…" (the full name is in the bar's title and the data table)."""
_WIDE_LABEL_COLUMNS = 40
_LABEL_PX = 190
"""Width a long linked label is squeezed into (``textLength``), beside its numbers."""

_WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "dashboard": "Bảng theo dõi tập huấn",
        "trail": "Đường dẫn",
        "code": "Mã",
        "as_of": "tính đến ngày",
        "course_filter": "Khóa học",
        "people": "Cán bộ",
        "enrolments": "Lượt ghi danh",
        "completed": "Đã hoàn thành",
        "rate": "Tỷ lệ hoàn thành",
        "overdue": "Quá hạn",
        "by_course": "Hoàn thành theo khóa học",
        "by_unit": "Hoàn thành theo đơn vị trực thuộc",
        "here": "Trực tiếp tại đơn vị",
        "course": "Khóa học",
        "unit": "Đơn vị",
        "none": "chưa ghi danh",
        "no_enrolments": "Chưa có ai được ghi danh.",
        "chart_course": "Biểu đồ tỷ lệ hoàn thành theo khóa học của {unit}",
        "chart_unit": "Biểu đồ tỷ lệ hoàn thành theo đơn vị trực thuộc {unit}",
        "bar": "{label}: {rate} hoàn thành ({done}/{of})",
        "bar_none": "{label}: chưa ghi danh",
        "table_course": "Số liệu theo khóa học",
        "table_unit": "Số liệu theo đơn vị trực thuộc",
        "footer": (
            "Số liệu tính đến ngày {date}, như báo cáo tỷ lệ hoàn thành theo đơn vị: mỗi cán bộ "
            "đang công tác tính một lượt cho mỗi khóa học (lượt ghi danh gần nhất chưa rút). "
            "Tỷ lệ hoàn thành = đã hoàn thành / lượt ghi danh. Quá hạn: chưa hoàn thành khi "
            "đã qua hạn."
        ),
    },
    "en": {
        "dashboard": "Training dashboard",
        "trail": "Breadcrumb",
        "code": "Code",
        "as_of": "as of",
        "course_filter": "Course",
        "people": "Staff",
        "enrolments": "Enrolments",
        "completed": "Completed",
        "rate": "Completion rate",
        "overdue": "Overdue",
        "by_course": "Completion by course",
        "by_unit": "Completion by unit below",
        "here": "Directly in this unit",
        "course": "Course",
        "unit": "Unit",
        "none": "no enrolments",
        "no_enrolments": "Nobody is enrolled yet.",
        "chart_course": "Chart of the completion rate by course in {unit}",
        "chart_unit": "Chart of the completion rate by unit below {unit}",
        "bar": "{label}: {rate} completed ({done}/{of})",
        "bar_none": "{label}: no enrolments",
        "table_course": "Numbers by course",
        "table_unit": "Numbers by unit below",
        "footer": (
            "Figures as of {date}, as in the completion by unit report: each active staff "
            "member counts once per course (their latest enrolment not withdrawn). Completion "
            "rate = completed / enrolments. Overdue: not completed after the due date."
        ),
    },
}

_KINDS: dict[str, tuple[str, str]] = {
    "province": ("Tỉnh", "Province"),
    "commune": ("Xã", "Commune"),
    "ward": ("Phường", "Ward"),
    "special_zone": ("Đặc khu", "Special zone"),
    "village": ("Thôn", "Village"),
    "residential_group": ("Tổ dân phố", "Residential group"),
    "agency": ("Cơ quan", "Agency"),
    "unit": ("Đơn vị", "Unit"),
}


def _vietnam_today() -> dt.date:
    """Today in Vietnam, as the reports count it (not the server's time zone)."""
    return dt.datetime.now(VN_TZ).date()


def _w(language: str) -> dict[str, str]:
    return _WORDS["en" if language == "en" else "vi"]


# --------------------------------------------------------------------------- numbers


@dataclass(frozen=True, slots=True)
class UnitPage:
    """What one page shows: the unit's progress and the way back up."""

    progress: UnitProgress
    trail: list[UnitRef]
    """Ancestors shown as breadcrumbs, top first (the unit itself not included)."""
    course_title: str | None = None
    """The course the page is filtered on, if any."""


def _active(counts: Counts) -> int:
    """Enrolments that count for the rate: everything but withdrawn (none, for current ones)."""
    return counts.enrolled + counts.in_progress + counts.completed


def _sum(rows: Iterable[CourseCounts]) -> Counts:
    total = Counts()
    for row in rows:
        c = row.counts
        total = Counts(
            total.enrolled + c.enrolled,
            total.in_progress + c.in_progress,
            total.completed + c.completed,
            total.withdrawn + c.withdrawn,
            total.overdue + c.overdue,
        )
    return total


def _under(path: str) -> ColumnElement[bool]:
    """The joined unit lies in the subtree of ``path`` (the index-friendly range)."""
    return and_(OrgUnit.path >= path, OrgUnit.path < path[:-1] + "0")


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    return true() if scope.root_path is None else _under(scope.root_path)


def _ids(path: str) -> list[int]:
    """Unit ids along a materialised path, top first (``/1/5/9/`` → 1, 5, 9)."""
    return [int(part) for part in path.strip("/").split("/") if part]


_Tally = dict[tuple[str, str], int]  # (course slug, status or "overdue") -> count


def _counts(
    tally: Mapping[tuple[str, str], int], courses: Sequence[tuple[str, str]]
) -> list[CourseCounts]:
    out = []
    for slug, title in courses:
        values = {k: tally.get((slug, k), 0) for k in (*COURSE_STATUSES, "overdue")}
        out.append(CourseCounts(slug, title, Counts(**values)))
    return out


@dataclass(slots=True)
class _Node:
    ref: UnitRef
    id: int
    parent_id: int | None
    path: str
    children: list[int] = field(default_factory=list)
    people_here: int = 0
    people: int = 0
    here: _Tally = field(default_factory=dict)
    total: _Tally = field(default_factory=dict)


def _subtree(
    session: Session,
    scope: Scope,
    *,
    root: OrgUnit,
    course_id: int | None,
    today: dt.date,
) -> tuple[dict[int, _Node], dict[str, str]]:
    """Every unit of the subtree with its own and its subtree's tallies: three queries.

    Enrolments are counted as the ``rollup`` report counts them (module
    docstring): the current enrolment of each active person and course, from
    the report's own subquery, so the two cannot drift apart.  ``completed``
    is a completion recorded for it, ``in_progress`` and ``enrolled`` (not
    started) split the rest by status, ``overdue`` is not completed and past
    due; nothing is ``withdrawn``.
    """
    root_path = root.path
    within = and_(_under(root_path), _in_scope(scope))
    nodes: dict[int, _Node] = {}
    for uid, code, name, kind, parent_id, path in session.execute(
        select(
            OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id, OrgUnit.path
        )
        .where(within)
        .order_by(OrgUnit.path)
    ).tuples():
        nodes[uid] = _Node(UnitRef(code, name, kind), uid, parent_id, path)
    for node in sorted(nodes.values(), key=lambda n: n.ref.code):
        if node.parent_id in nodes and node.path != root_path:
            nodes[node.parent_id].children.append(node.id)

    def chain(path: str) -> list[_Node]:
        return [nodes[i] for i in _ids(path) if i in nodes]

    current = _current_enrolments(scope, root, course_id=course_id, cohort_ids=None)
    open_ = Completion.id.is_(None)
    started = case((and_(open_, Enrolment.status == "in_progress"), 1), else_=0)
    late = case((and_(open_, Enrolment.due_on.is_not(None), Enrolment.due_on < today), 1), else_=0)
    query = (
        select(
            OrgUnit.id,
            Course.slug,
            Course.title,
            func.count(Enrolment.id),
            func.sum(case((open_, 0), else_=1)),
            func.sum(started),
            func.sum(late),
        )
        .select_from(Enrolment)
        .join(current, current.c.id == Enrolment.id)
        .join(Person, Enrolment.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .join(Course, Enrolment.course_id == Course.id)
        .outerjoin(Completion, Completion.enrolment_id == Enrolment.id)
        .group_by(OrgUnit.id, Course.slug, Course.title)
    )
    titles: dict[str, str] = {}
    for uid, slug, title, count, done, going, overdue in session.execute(query).tuples():
        titles[slug] = title
        node = nodes[uid]
        counted = {
            "completed": int(done or 0),
            "in_progress": int(going or 0),
            "enrolled": int(count) - int(done or 0) - int(going or 0),
            "overdue": int(overdue or 0),
        }
        for tally in (node.here, *(n.total for n in chain(node.path))):
            for key, value in counted.items():
                tally[(slug, key)] = tally.get((slug, key), 0) + value

    for uid, count in session.execute(
        select(OrgUnit.id, func.count(Person.id))
        .select_from(Person)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .where(within, Person.active.is_(True))
        .group_by(OrgUnit.id)
    ).tuples():
        nodes[uid].people_here = int(count)
        for node in chain(nodes[uid].path):
            node.people += int(count)
    return nodes, titles


def _progress(
    node: _Node,
    nodes: Mapping[int, _Node],
    titles: Mapping[str, str],
    *,
    parent: UnitRef | None,
    course: str | None,
    today: dt.date,
) -> UnitProgress:
    """The node as :func:`unit_progress` would describe it (same courses listed)."""
    slugs = {slug for slug, _ in node.total}
    if course is not None:
        slugs.add(course)
    courses = sorted((slug, titles.get(slug, slug)) for slug in slugs)
    return UnitProgress(
        unit=node.ref,
        parent=parent,
        as_of=today,
        people=node.people,
        courses=_counts(node.total, courses),
        here=_counts(node.here, courses),
        children=[
            ChildProgress(nodes[c].ref, nodes[c].people, _counts(nodes[c].total, courses))
            for c in node.children
        ],
    )


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str
    href: str | None
    done: int
    of: int
    overdue: int
    people: int | None

    @property
    def rate(self) -> float | None:
        return 100.0 * self.done / self.of if self.of else None


def _bar(label: str, counts: Counts, *, href: str | None = None, people: int | None = None) -> _Bar:
    return _Bar(label, href, counts.completed, _active(counts), counts.overdue, people)


def _chart(
    bars: Sequence[_Bar], *, language: str, wide: bool, squeeze: bool = False
) -> dict[str, object]:
    """A bar chart's rows with their geometry (SVG user units; bar widths in percent).

    Widths in percent of the drawing and text in pixels, rather than a
    ``viewBox`` that scales everything: the text stays 15 px on a 360 px
    phone and on a desktop alike.  A bar that is a link is named by what it
    shows, its label and numbers (WCAG 2.5.3 "label in name"), so it has no
    ``<title>``, whose text would become part of the link's name; other bars
    carry a ``<title>`` (a tooltip, and what a screen reader reads in the
    chart).
    """
    words = _w(language)
    height = _WIDE_ROW if wide else _ROW
    columns = _WIDE_LABEL_COLUMNS if wide else _LABEL_COLUMNS
    rows = []
    for i, bar in enumerate(bars):
        y = i * height
        rate = bar.rate
        shown = percent_text(round(rate, 1), language) if rate is not None else words["none"]
        numbers = f"{shown} ({bar.done}/{bar.of})" if rate is not None else shown
        spoken = (
            words["bar"].format(label=bar.label, rate=shown, done=bar.done, of=bar.of)
            if rate is not None
            else words["bar_none"].format(label=bar.label)
        )
        rows.append(
            {
                "bar": bar,
                # Linked labels are never cut (a link's name must hold what it shows):
                # a long one is squeezed into the space instead.
                "short": bar.label if squeeze else truncate_to_width(bar.label, columns),
                "squeeze": _LABEL_PX if squeeze and display_width(bar.label) > columns else 0,
                "y": y,
                "label_y": y + 18,
                "num_x": "0" if wide else "100%",
                "num_y": y + (40 if wide else 18),
                "anchor": "start" if wide else "end",
                "bar_y": y + (48 if wide else 26),
                "numbers": numbers,
                "rate_text": shown if rate is not None else "–",
                "spoken": spoken,
                "width": f"{rate:.1f}%" if rate is not None else "0%",
            }
        )
    return {"rows": rows, "height": height * len(rows), "hit": height - 4}


_PAGE = """\
{% extends "layout.html" %}
{% block main %}
{% if trail %}<nav class="breadcrumb" aria-label="{{ d.trail }}"><ol>
{% for href, name in trail %}<li><a href="{{ href }}">{{ name }}</a></li>
{% endfor %}<li aria-current="page">{{ unit.name }}</li></ol></nav>
{% endif %}
<h1>{{ unit.name }}</h1>
<p class="meta">{{ d.code }} {{ unit.code }} · {{ kind }} · {{ d.as_of }} {{ as_of }}\
{% if course_title %} · {{ d.course_filter }}: {{ course_title }}{% endif %}</p>
<ul class="stats">
<li>{{ d.people }}<strong>{{ people }}</strong></li>
<li>{{ d.enrolments }}<strong>{{ enrolments }}</strong></li>
<li>{{ d.completed }}<strong>{{ completed }}</strong></li>
<li>{{ d.rate }}<strong>{{ rate }}</strong></li>
<li{% if overdue %} class="late"{% endif %}>{{ d.overdue }}<strong>{{ overdue }}</strong></li>
</ul>
{% if not courses.rows %}<p>{{ d.no_enrolments }}</p>{% endif %}
{% macro chart(id, title, c, links) %}\
<svg class="chart" width="100%" height="{{ c.height }}" \
role="{{ 'group' if links else 'img' }}" aria-labelledby="{{ id }}-t">
<title id="{{ id }}-t">{{ title }}</title>
{% for r in c.rows %}{% set b = r.bar %}\
{% if links and b.href %}<a href="{{ b.href }}">{% endif %}\
<g>{% if not (links and b.href) %}<title>{{ r.spoken }}</title>{% endif %}\
<rect class="hit" x="0" y="{{ r.y }}" width="100%" height="{{ c.hit }}"/>\
<text x="0" y="{{ r.label_y }}"{% if r.squeeze %} textLength="{{ r.squeeze }}" \
lengthAdjust="spacingAndGlyphs"{% endif %}>{{ r.short }}</text> \
<text class="n" x="{{ r.num_x }}" y="{{ r.num_y }}" text-anchor="{{ r.anchor }}">\
{{ r.numbers }}</text>\
<rect class="track" x="0" y="{{ r.bar_y }}" width="100%" height="14" rx="3"/>\
<rect class="bar" x="0" y="{{ r.bar_y }}" width="{{ r.width }}" height="14" rx="3"/></g>\
{% if links and b.href %}</a>{% endif %}
{% endfor %}</svg>
{% endmacro %}
{% macro numbers(caption, first, c, with_people) %}\
<div class="visually-hidden"><table><caption>{{ caption }}</caption>
<thead><tr><th scope="col">{{ first }}</th>{% if with_people %}<th scope="col">{{ d.people }}\
</th>{% endif %}<th scope="col">{{ d.enrolments }}</th><th scope="col">{{ d.completed }}</th>\
<th scope="col">{{ d.rate }}</th><th scope="col">{{ d.overdue }}</th></tr></thead>
<tbody>
{% for r in c.rows %}{% set b = r.bar %}<tr><th scope="row">{{ b.label }}</th>\
{% if with_people %}<td>{{ b.people }}</td>{% endif %}<td>{{ b.of }}</td><td>{{ b.done }}</td>\
<td>{{ r.rate_text }}</td><td>{{ b.overdue }}</td></tr>
{% endfor %}</tbody></table></div>
{% endmacro %}
{% if courses.rows %}<h2 id="by-course">{{ d.by_course }}</h2>
{{ chart("c", chart_course, courses, False) }}\
{{ numbers(d.table_course, d.course, courses, False) }}\
{% endif %}
{% if children.rows %}<h2 id="by-unit">{{ d.by_unit }}</h2>
{{ chart("u", chart_unit, children, True) }}\
{{ numbers(d.table_unit, d.unit, children, True) }}\
{% endif %}
{% endblock %}
"""

_ENV = template_environment({"dashboard.html": _PAGE})

Link = Callable[[UnitRef], str]
"""Where a unit's page is, as seen from the page being written."""


def render_unit_page(page: UnitPage, *, language: str, link: Link) -> str:
    """One unit's dashboard page as HTML (autoescaped, no scripts)."""
    words = _w(language)
    progress = page.progress
    unit = progress.unit
    total = _sum(progress.courses)
    active = _active(total)
    course_bars = [_bar(c.title, c.counts) for c in progress.courses]
    child_bars = [
        _bar(c.unit.name, _sum(c.courses), href=link(c.unit), people=c.people)
        for c in progress.children
    ]
    here = _sum(progress.here)
    if progress.children and _active(here) + here.withdrawn:
        people_here = progress.people - sum(c.people for c in progress.children)
        child_bars.append(_bar(words["here"], here, people=people_here))
    kind = _KINDS.get(unit.kind)
    rate = percent_text(round(100.0 * total.completed / active, 1), language) if active else "–"
    return _ENV.get_template("dashboard.html").render(
        **layout_context(
            language,
            page_title=f"{unit.name} · {words['dashboard']}",
            footer=words["footer"].format(date=progress.as_of.isoformat()),
        ),
        d=words,
        trail=[(link(u), u.name) for u in page.trail],
        unit=unit,
        kind=(kind[1] if language == "en" else kind[0]) if kind else unit.kind,
        as_of=progress.as_of.isoformat(),
        course_title=page.course_title,
        people=progress.people,
        enrolments=active,
        completed=total.completed,
        rate=rate,
        overdue=total.overdue,
        courses=_chart(course_bars, language=language, wide=True),
        children=_chart(child_bars, language=language, wide=False, squeeze=True),
        chart_course=words["chart_course"].format(unit=unit.name),
        chart_unit=words["chart_unit"].format(unit=unit.name),
    )


def _course_title(session: Session, course: str | None) -> str | None:
    if course is None:
        return None
    return session.scalar(select(Course.title).where(Course.slug == course))


def _top(
    session: Session, scope: Scope, unit_code: str, course: str | None
) -> tuple[OrgUnit, int | None, list[UnitRef]]:
    """The unit asked for, the course's id, and the unit's ancestors inside the scope.

    A unit (or course) outside the scope or missing is the same
    :class:`~lms_core.errors.NotFoundError` as everywhere (codes cannot be
    probed).  The ancestors are the breadcrumbs, top first; the last one is
    the parent, when the reader may go up to it.
    """
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    trail: list[UnitRef] = []
    above = _ids(unit.path)[:-1]
    if above:
        for code, name, kind in session.execute(
            select(OrgUnit.code, OrgUnit.name, OrgUnit.kind)
            .where(OrgUnit.id.in_(above), _in_scope(scope))
            .order_by(OrgUnit.path)
        ).tuples():
            trail.append(UnitRef(code, name, kind))
    return unit, course_id, trail


def dashboard_page(
    session: Session,
    scope: Scope,
    *,
    unit_code: str,
    course: str | None = None,
    today: dt.date | None = None,
) -> UnitPage:
    """One unit's page for the server: its numbers and its ancestors inside the scope.

    The same queries as the static folder (:func:`_subtree`, on this unit's
    subtree only), so the server's page and the static one are the same page.
    """
    today = today or _vietnam_today()
    unit, course_id, trail = _top(session, scope, unit_code, course)
    nodes, titles = _subtree(session, scope, root=unit, course_id=course_id, today=today)
    parent = trail[-1] if trail else None  # the scope is a subtree: the parent, if any
    progress = _progress(nodes[unit.id], nodes, titles, parent=parent, course=course, today=today)
    return UnitPage(progress, trail, _course_title(session, course))


# --------------------------------------------------------------------------- the folder


@dataclass(frozen=True, slots=True)
class DashboardReport:
    """What :func:`write_dashboard` wrote."""

    out_dir: Path
    pages: int
    largest_gzip: int
    """Gzipped size of the largest page, in bytes."""
    over_budget: list[str]
    """Pages over :data:`HTML_BUDGET`, as ``path: size``."""
    removed: int
    """Pages of units no longer in the subtree, removed from an earlier run."""
    enrolments: int
    """Current enrolments counted at the top (one per active person and course)."""


def _page_name(code: str) -> str:
    if not _SAFE_CODE.match(code):
        raise LmsError(
            f"unit code '{code}' cannot name a page file (letters, digits, '.', '_' and '-' "
            "only); fix the code with lms org import"
        )
    return f"{code}.html"


def _check_folder(out_dir: Path) -> None:
    """Refuse to write into a folder that holds something other than a dashboard."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise LmsError(f"{out_dir} is a file; give a folder for the dashboard")
    if (out_dir / MARKER).exists():
        return
    if any(out_dir.iterdir()):
        raise LmsError(
            f"{out_dir} is not empty and is not a dashboard folder (no {MARKER} file): "
            "choose a new or empty folder, so nothing of yours is overwritten"
        )


def _write(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds exactly it (keeps mtimes for rsync)."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    temp = path.with_name(f".{path.name}.part")
    temp.write_bytes(data)
    os.replace(temp, path)
    return True


def write_dashboard(
    session: Session,
    scope: Scope,
    *,
    unit_code: str,
    out_dir: Path,
    language: str,
    course: str | None = None,
    today: dt.date | None = None,
) -> DashboardReport:
    """Write one static page per unit of ``unit_code``'s subtree into ``out_dir``.

    ``index.html`` is the unit asked for; ``u/<code>.html`` every unit below
    it.  Links are relative, so the folder works from a file share, a USB
    stick or any web server.  The same data gives byte-identical pages.  A
    folder written before is updated in place (pages of units that left the
    subtree are removed); any other non-empty folder is refused.
    """
    today = today or _vietnam_today()
    unit, course_id, top_trail = _top(session, scope, unit_code, course)
    nodes, titles = _subtree(session, scope, root=unit, course_id=course_id, today=today)
    course_title = _course_title(session, course)
    root = nodes[unit.id]
    top_parent = top_trail[-1] if top_trail else None
    names = {n.id: _page_name(n.ref.code) for n in nodes.values() if n.id != root.id}
    folded: dict[str, str] = {}
    for name in names.values():
        other = folded.setdefault(name.casefold(), name)
        if other != name:
            raise LmsError(
                f"unit codes '{other[:-5]}' and '{name[:-5]}' differ only in case: their pages "
                "would overwrite each other on Windows and macOS"
            )
    by_code = {n.ref.code: n.id for n in nodes.values()}

    _check_folder(out_dir)
    (out_dir / "u").mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text(
        "Written by lms report dashboard; this folder is replaced on the next run.\n",
        encoding="utf-8",
    )

    def link_from(at_root: bool) -> Link:
        def link(unit: UnitRef) -> str:
            uid = by_code.get(unit.code)
            if uid is None or uid == root.id:
                return "index.html" if at_root else "../index.html"
            target = quote(names[uid])
            return f"u/{target}" if at_root else target

        return link

    largest = 0
    over: list[str] = []
    written: set[str] = set()
    for node in nodes.values():
        at_root = node.id == root.id
        parent = top_parent if at_root else nodes[node.parent_id or root.id].ref
        trail = [nodes[i].ref for i in _ids(node.path) if i in nodes and i != node.id]
        progress = _progress(node, nodes, titles, parent=parent, course=course, today=today)
        html = render_unit_page(
            UnitPage(progress, trail, course_title), language=language, link=link_from(at_root)
        )
        data = html.encode("utf-8")
        relative = "index.html" if at_root else f"u/{names[node.id]}"
        _write(out_dir / relative, data)
        written.add(relative)
        size = len(gzip.compress(data, mtime=0))
        largest = max(largest, size)
        if size > HTML_BUDGET:
            over.append(f"{relative}: {size / 1024:.1f} KB gzip")
    removed = 0
    for stale in sorted((out_dir / "u").glob("*.html")):
        if f"u/{stale.name}" not in written:
            stale.unlink()
            removed += 1
    return DashboardReport(
        out_dir=out_dir,
        pages=len(written),
        largest_gzip=largest,
        over_budget=over,
        removed=removed,
        enrolments=sum(count for (_, key), count in root.total.items() if key != "overdue"),
    )


def page_size(html: str) -> int:
    """Gzipped size of a page in bytes (what the budget counts)."""
    return len(gzip.compress(html.encode("utf-8"), mtime=0))
