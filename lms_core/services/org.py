"""The organisation tree: import, paths, subtrees and the printed tree.

Units are few (a province has hundreds, the country tens of thousands), so
the importer loads the whole tree, checks the *resulting* tree for unknown
parents and cycles before writing, then recomputes materialised paths in
Python and writes only the rows that changed.  Re-importing the same file
therefore writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

from sqlalchemy import Select, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from lms_core.errors import NotFoundError
from lms_core.models import ORG_KINDS, OrgUnit, Person, org_unit_table, utcnow
from lms_core.services.events import record_event
from lms_core.services.importing import ImportReport, RowProblems, import_file
from lms_core.tabular import Row, Table, read_table
from lms_core.text import Suggester, clean, did_you_mean, fold

UNIT_COLUMNS = ("code", "name", "kind", "parent_code")
UNIT_OPTIONAL = ("valid_from", "valid_to")
MAX_DEPTH = 32  # province → … → village is 3-5; keeps materialised paths short
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")

#: Vietnamese words HR staff write in the kind column, folded (no diacritics).
KIND_ALIASES = {
    "tinh": "province",
    "thanh pho truc thuoc trung uong": "province",
    "xa": "commune",
    "phuong": "ward",
    "dac khu": "special_zone",
    "thon": "village",
    "xom": "village",
    "ban": "village",
    "ap": "village",
    "lang": "village",
    "to dan pho": "residential_group",
    "khu pho": "residential_group",
    "so": "agency",
    "co quan": "agency",
    "don vi": "unit",
}


def parse_kind(text: str) -> str | None:
    """Map an English or Vietnamese kind (``xã``, ``Phường``…) to a stored kind."""
    key = fold(text).replace("-", "_").strip()
    if key in ORG_KINDS:
        return key
    return KIND_ALIASES.get(key.replace("_", " "))


def _parse_date(text: str) -> dt.date | None:
    if not text:
        return None
    return dt.date.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class _UnitIn:
    row: Row
    code: str
    name: str
    kind: str
    parent_code: str
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass(slots=True)
class _Existing:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    path: str
    depth: int
    valid_from: dt.date | None
    valid_to: dt.date | None


def _validate_row(row: Row, problems: RowProblems) -> _UnitIn | None:
    v = row.values
    code, name, parent_code = v["code"], clean(v["name"]), v["parent_code"]
    if not code:
        problems.add(row, "code", "empty", "every unit needs a code")
    elif not _CODE.match(code):
        problems.add(
            row,
            "code",
            f"'{code}' is not a valid code",
            "use letters, digits, '.', '-' or '_', at most 32 characters",
        )
    if not name:
        problems.add(row, "name", "empty", "write the unit's official name")
    elif len(name) > 255:
        problems.add(row, "name", "longer than 255 characters")
    kind = parse_kind(v["kind"]) if v["kind"] else None
    if not v["kind"]:
        problems.add(row, "kind", "empty", "one of: " + ", ".join(ORG_KINDS))
    elif kind is None:
        hint = did_you_mean(v["kind"], ORG_KINDS) or "one of: " + ", ".join(ORG_KINDS)
        problems.add(row, "kind", f"unknown kind '{v['kind']}'", hint)
    dates: dict[str, dt.date | None] = {}
    for col in UNIT_OPTIONAL:
        try:
            dates[col] = _parse_date(v.get(col, ""))
        except ValueError:
            problems.add(row, col, f"'{v[col]}' is not a date", "write it as YYYY-MM-DD")
    if code and parent_code == code:
        problems.add(row, "parent_code", "a unit cannot be its own parent")
    if problems.bad(row) or kind is None:
        return None
    return _UnitIn(
        row, code, name, kind, parent_code, dates.get("valid_from"), dates.get("valid_to")
    )


def _check_tree(
    units: list[_UnitIn],
    existing: dict[str, _Existing],
    code_of: dict[int, str],
    problems: RowProblems,
    all_lines: dict[str, int],
) -> None:
    """Reject unknown parents and cycles in the tree as it would be after import.

    Linear in the number of units (a hostile file may hold one chain of
    100,000 units).  Repeats only when a rejection changes the tree, which
    matters with --skip-invalid: a rejected new unit takes its children along,
    a rejected existing unit stays where it was.
    """
    current_parent = {
        code: (code_of[u.parent_id] if u.parent_id is not None else "")
        for code, u in existing.items()
    }
    suggest = Suggester([*all_lines, *existing])
    while True:
        live = {u.code: u for u in units if not problems.bad(u.row)}
        placed = _reachable(live, existing)
        unplaced = {c: u.parent_code for c, u in live.items() if c not in placed}
        in_cycle: set[str] = set()
        for cycle in _find_cycles(unplaced):
            in_cycle.update(cycle)
            for code in cycle[:-1]:
                _cycle_problem(live[code], cycle, existing, current_parent, problems)
        for code in unplaced.keys() - in_cycle:
            _parent_problem(live[code], live, existing, problems, all_lines, suggest)
        live = {c: u for c, u in live.items() if c in placed}
        parents = dict(current_parent)
        parents.update({c: u.parent_code for c, u in live.items()})
        cycles = _find_cycles(parents)
        for cycle in cycles:
            for code in cycle[:-1]:
                if code in live:
                    _cycle_problem(live[code], cycle, existing, current_parent, problems)
        if cycles or len(placed) != len(live):
            continue
        too_deep = [c for c, d in _depths(parents).items() if d >= MAX_DEPTH and c in live]
        for code in too_deep:
            problems.add(
                live[code].row,
                "parent_code",
                f"the tree would be deeper than {MAX_DEPTH} levels here",
                "check the parent codes: real trees are a few levels deep",
            )
        if not too_deep:
            return


def _depths(parents: dict[str, str]) -> dict[str, int]:
    """Depth of every unit (roots are 0) in an acyclic child -> parent map."""
    depth: dict[str, int] = {}
    for start in parents:
        path = []
        code = start
        while code and code not in depth:
            path.append(code)
            code = parents.get(code, "")
        base = depth[code] if code else -1
        for member in reversed(path):
            base += 1
            depth[member] = base
    return depth


def _reachable(live: dict[str, _UnitIn], existing: dict[str, _Existing]) -> set[str]:
    """File units whose parent will exist: roots, existing parents, then downwards."""
    children: dict[str, list[str]] = {}
    queue = []
    for code, unit in live.items():
        parent = unit.parent_code
        if not parent or (parent in existing and parent not in live):
            queue.append(code)
        else:
            children.setdefault(parent, []).append(code)
    placed = set(queue)
    while queue:
        code = queue.pop()
        for child in children.get(code, ()):
            if child not in placed:
                placed.add(child)
                queue.append(child)
    return placed


def _find_cycles(parents: dict[str, str]) -> list[list[str]]:
    """Every cycle in a child -> parent map, each as [a, b, …, a]; linear time."""
    done: set[str] = set()
    cycles = []
    for start in parents:
        path: list[str] = []
        on_path: dict[str, int] = {}
        code = start
        while code and code not in done:
            if code in on_path:
                cycles.append([*path[on_path[code] :], code])
                break
            on_path[code] = len(path)
            path.append(code)
            code = parents.get(code, "")
        done.update(path)
    return cycles


def _parent_problem(
    unit: _UnitIn,
    live: dict[str, _UnitIn],
    existing: dict[str, _Existing],
    problems: RowProblems,
    all_lines: dict[str, int],
    suggest: Suggester,
) -> None:
    parent = unit.parent_code
    if parent in live or parent in existing:
        message = f"parent unit '{parent}' cannot be placed (see line {all_lines[parent]})"
        hint = "fix the rows above it first"
    elif parent in all_lines:
        message = f"parent unit '{parent}' (line {all_lines[parent]}) is invalid"
        hint = "fix that row first"
    else:
        message = f"unknown parent unit '{parent}'"
        hint = suggest(parent) or "add the parent to the file or import it first"
    problems.add(unit.row, "parent_code", message, hint)


def _cycle_problem(
    unit: _UnitIn,
    cycle: list[str],
    existing: dict[str, _Existing],
    current_parent: dict[str, str],
    problems: RowProblems,
) -> None:
    moved_inside = unit.code in existing and unit.code in _ancestors(
        unit.parent_code, current_parent
    )
    if moved_inside:
        message = f"cannot move '{unit.code}' under '{unit.parent_code}', which is inside it"
    else:
        shown = cycle if len(cycle) <= 8 else [*cycle[:4], "…", *cycle[-3:]]
        message = "the tree would have a cycle: " + " → ".join(shown)
    problems.add(
        unit.row,
        "parent_code",
        message,
        "a unit's parent must not be the unit itself or one of its descendants",
    )


def _ancestors(code: str, parents: dict[str, str]) -> set[str]:
    out: set[str] = set()
    current = code
    while current and current not in out:
        out.add(current)
        current = parents.get(current, "")
    return out


def _load_units(session: Session) -> dict[str, _Existing]:
    rows = session.execute(
        select(
            OrgUnit.id,
            OrgUnit.code,
            OrgUnit.name,
            OrgUnit.kind,
            OrgUnit.parent_id,
            OrgUnit.path,
            OrgUnit.depth,
            OrgUnit.valid_from,
            OrgUnit.valid_to,
        )
    ).all()
    return {r.code: _Existing(*r) for r in rows}


def _recompute_paths(session: Session) -> None:
    """Recompute every path and depth from parent ids; write only what changed."""
    units = {u.id: u for u in _load_units(session).values()}
    memo: dict[int, tuple[str, int]] = {}

    def path_of(unit_id: int) -> tuple[str, int]:
        stack = []
        current: int | None = unit_id
        while current is not None and current not in memo:
            stack.append(current)
            current = units[current].parent_id
        base, depth = memo[current] if current is not None else ("/", -1)
        for uid in reversed(stack):
            base, depth = f"{base}{uid}/", depth + 1
            memo[uid] = (base, depth)
        return memo[unit_id]

    changes = []
    for uid, unit in units.items():
        path, depth = path_of(uid)
        if (path, depth) != (unit.path, unit.depth):
            changes.append({"b_id": uid, "path": path, "depth": depth})
    if changes:
        table = org_unit_table
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")),
            changes,
            execution_options={"synchronize_session": False},
        )


def import_units(
    session: Session, table: Table, *, skip_invalid: bool = False, source: str = "cli"
) -> ImportReport:
    """Upsert org units from a table with columns ``code,name,kind,parent_code``.

    All-or-nothing unless ``skip_invalid``.  Units absent from the table are
    left alone (a file may hold one commune's villages).
    """
    problems = RowProblems(table)
    units: list[_UnitIn] = []
    first_line: dict[str, int] = {}
    for row in table.rows:
        unit = _validate_row(row, problems)
        if unit is None:
            continue
        if unit.code in first_line:
            problems.add(
                row,
                "code",
                f"duplicate code '{unit.code}' (also on line {first_line[unit.code]})",
                "each unit appears once per file",
            )
            continue
        first_line[unit.code] = row.line
        units.append(unit)
    existing = _load_units(session)
    code_of = {u.id: u.code for u in existing.values()}
    all_lines: dict[str, int] = {}
    for row in table.rows:
        all_lines.setdefault(row.values["code"], row.line)
    _check_tree(units, existing, code_of, problems, all_lines)
    report = ImportReport(rejected=problems.settle(skip_invalid=skip_invalid, what="unit"))
    good = [u for u in units if not problems.bad(u.row)]
    _apply_units(session, good, existing, report)
    record_event(
        session,
        verb="org.imported",
        object_type="org_unit",
        source=source,
        data={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
        },
    )
    return report


def _apply_units(
    session: Session, units: list[_UnitIn], existing: dict[str, _Existing], report: ImportReport
) -> None:
    now = utcnow()
    new = [u for u in units if u.code not in existing]
    if new:
        session.execute(
            insert(org_unit_table),
            [
                {
                    "code": u.code,
                    "name": u.name,
                    "kind": u.kind,
                    "parent_id": None,
                    "path": "/",
                    "depth": 0,
                    "valid_from": u.valid_from,
                    "valid_to": u.valid_to,
                    "created_at": now,
                    "updated_at": now,
                }
                for u in new
            ],
        )
    ids = dict(session.execute(select(OrgUnit.code, OrgUnit.id)).tuples().all())
    changes = []
    for u in units:
        parent_id = ids[u.parent_code] if u.parent_code else None
        old = existing.get(u.code)
        if old is None:
            report.created += 1
            if parent_id is not None:
                changes.append(
                    {
                        "b_id": ids[u.code],
                        "name": u.name,
                        "kind": u.kind,
                        "parent_id": parent_id,
                        "valid_from": u.valid_from,
                        "valid_to": u.valid_to,
                        "updated_at": now,
                    }
                )
            continue
        wanted = (u.name, u.kind, parent_id, u.valid_from, u.valid_to)
        if wanted == (old.name, old.kind, old.parent_id, old.valid_from, old.valid_to):
            report.unchanged += 1
            continue
        report.updated += 1
        changes.append(
            {
                "b_id": old.id,
                "name": u.name,
                "kind": u.kind,
                "parent_id": parent_id,
                "valid_from": u.valid_from,
                "valid_to": u.valid_to,
                "updated_at": now,
            }
        )
    if changes:  # few rows, typed values (dates): the ordinary Core path
        t = org_unit_table
        session.execute(update(t).where(t.c.id == bindparam("b_id")), changes)
    if new or changes:
        _recompute_paths(session)


def import_units_file(
    session: Session,
    path: str,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    skip_invalid: bool = False,
    source: str = "cli",
) -> tuple[Table, ImportReport]:
    """Read a CSV/XLSX file and import it (see :func:`import_units`)."""
    return import_file(
        session,
        path,
        importer=import_units,
        required=UNIT_COLUMNS,
        optional=UNIT_OPTIONAL,
        encoding=encoding,
        sheet=sheet,
        skip_invalid=skip_invalid,
        source=source,
    )


def load_builtin_tree(session: Session, *, name: str = "ninh_binh") -> ImportReport:
    """Import a tree shipped with the package (the real Ninh Bình units and agencies)."""
    ref = resources.files("lms_core") / "data" / f"{name}.csv"
    with resources.as_file(ref) as path:
        table = read_table(path, required=UNIT_COLUMNS, optional=UNIT_OPTIONAL)
    return import_units(session, table, source="builtin")


def get_unit(session: Session, code: str) -> OrgUnit:
    """The unit with ``code``, or a :class:`NotFoundError` with a suggestion."""
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        codes = session.scalars(select(OrgUnit.code)).all()
        hint = did_you_mean(code, codes)
        raise NotFoundError(f"no unit with code '{code}'" + (f" ({hint})" if hint else ""))
    return unit


def subtree_filter(path: str) -> Select[tuple[int]]:
    """Ids of the units in the subtree whose root has materialised ``path``.

    A range on the path (``/1/5/`` ≤ p < ``/1/50``) uses the index on both
    engines, unlike ``LIKE`` on SQLite.
    """
    upper = path[:-1] + "0"
    return select(OrgUnit.id).where(and_(OrgUnit.path >= path, OrgUnit.path < upper))


@dataclass(slots=True)
class TreeNode:
    """A unit with its people counts, for display."""

    code: str
    name: str
    kind: str
    depth: int
    people_here: int
    people_total: int = 0
    children: list[TreeNode] = field(default_factory=list)


def org_tree(
    session: Session, *, root: str | None = None, depth: int | None = None
) -> list[TreeNode]:
    """The tree (or the subtree under ``root``) with direct and total people counts."""
    query = select(
        OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id, OrgUnit.depth
    ).order_by(OrgUnit.path)
    base_depth = 0
    if root is not None:
        unit = get_unit(session, root)
        base_depth = unit.depth
        query = query.where(OrgUnit.id.in_(subtree_filter(unit.path)))
    rows = session.execute(query).all()
    counts = dict(
        session.execute(
            select(Person.org_unit_id, func.count())
            .where(Person.active.is_(True))
            .group_by(Person.org_unit_id)
        )
        .tuples()
        .all()
    )
    nodes = {
        r.id: TreeNode(r.code, r.name, r.kind, r.depth - base_depth, counts.get(r.id, 0))
        for r in rows
    }
    roots: list[TreeNode] = []
    for r in rows:
        parent = nodes.get(r.parent_id) if r.parent_id is not None else None
        (parent.children if parent else roots).append(nodes[r.id])
    for r in reversed(rows):  # children come after parents in path order
        node = nodes[r.id]
        node.people_total = node.people_here + sum(c.people_total for c in node.children)
    if depth is not None:
        _prune(roots, depth)
    for node in nodes.values():
        node.children.sort(key=lambda n: n.code)
    return roots


def _prune(nodes: Sequence[TreeNode], depth: int) -> None:
    for node in nodes:
        if node.depth >= depth:
            node.children = []
        else:
            _prune(node.children, depth)
