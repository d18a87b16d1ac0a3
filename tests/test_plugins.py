"""The plugin system, end to end, with a plugin installed through a real entry point."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lms_cli import main
from lms_core.errors import LmsError
from lms_core.exercises import extract_blocks
from lms_core.hookspecs import hookimpl
from lms_core.plugins import PluginError, describe_plugins, exercise_types, make_plugin_manager

FIXTURE = Path(__file__).parent / "fixtures" / "lms_checklist_plugin.py"

LESSON = """# Bài 1

```checklist id=chuan-bi graded
- Đã đọc Luật Trẻ em 2016
- Đã lưu số Tổng đài 111
- Đã biết cán bộ phụ trách trẻ em của xã
```

```quiz id=bai-1
? Tổng đài quốc gia bảo vệ trẻ em là số nào?
- ( ) 113
- (x) 111
- ( ) 115
```
"""


def install(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    module_source: str,
    name: str = "lms_checklist_plugin",
    entry: str = "checklist",
) -> None:
    """Install a module as a distribution with an ``lms`` entry point, for real."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(module_source, encoding="utf-8")
    info = site / f"{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[lms]\n{entry} = {name}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.fixture
def checklist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, monkeypatch, module_source=FIXTURE.read_text(encoding="utf-8"))


def test_third_party_exercise_type_end_to_end(checklist: None) -> None:
    pm = make_plugin_manager()
    types = exercise_types(pm)
    assert {"quiz", "checklist"} <= set(types)
    blocks, problems = extract_blocks(LESSON, file="bai-1.md", kinds=types)
    assert problems == [] and [b.kind for b in blocks] == ["checklist", "quiz"]
    assert blocks[0].line == 3
    for block in blocks:
        kind = types[block.kind]
        exercise = kind.parse(block)
        stored = exercise.model_dump(mode="json")
        assert kind.model.model_validate(stored) == exercise  # survives a course version
        view = kind.public_view(exercise, seed=7)
        assert view
        assert "<" in kind.render(exercise, seed=7, language="vi")
        assert kind.interactions(exercise)
    checklist_type = types["checklist"]
    exercise = checklist_type.parse(blocks[0])
    ids = [item["id"] for item in checklist_type.public_view(exercise, seed=1)["items"]]
    full = checklist_type.grade(exercise, ids, seed=1)
    assert full.passed and full.score == full.max_score == 3
    assert checklist_type.grade(exercise, {"garbage": True}, seed=1).score == 0


def test_plugins_command_lists_versions_and_types(checklist: None) -> None:
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "checklist" in result.output and "1.2.3" in result.output
    quiz_line = next(line for line in result.output.splitlines() if line.startswith("quiz"))
    assert "taphuan" in quiz_line and "exercise types: quiz" in quiz_line


def test_parse_errors_are_located(checklist: None) -> None:
    types = exercise_types(make_plugin_manager())
    text = "intro\n\n```checklist graded\n- ok\nnot an item\n```\n"
    blocks, _ = extract_blocks(text, file="x.md", kinds=types)
    with pytest.raises(LmsError) as info:
        types["checklist"].parse(blocks[0])
    message = str(info.value)
    assert "x.md:3:1: error: missing or invalid id" in message
    assert "x.md:5:1: error: a checklist line starts with '- '" in message


def test_two_plugins_with_one_name_clash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = FIXTURE.read_text(encoding="utf-8").replace('name = "checklist"', 'name = "quiz"')
    install(tmp_path, monkeypatch, module_source=source, name="lms_fake_quiz", entry="fakequiz")
    with pytest.raises(PluginError, match="two plugins offer the exercise type 'quiz'"):
        exercise_types(make_plugin_manager())


def test_broken_plugin_is_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(
        tmp_path,
        monkeypatch,
        module_source="raise ImportError('missing dependency x')\n",
        name="lms_broken",
        entry="broken",
    )
    with pytest.raises(PluginError, match=r"plugin 'broken'.*failed to load.*missing dependency"):
        make_plugin_manager()
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 1 and "failed to load" in result.output
    assert "Traceback" not in result.output


def test_plugins_can_be_left_out_for_tests() -> None:
    class Inline:
        @hookimpl
        def lms_exercise_types(self) -> list[object]:
            return []

    pm = make_plugin_manager(load_entry_points=False, plugins=[Inline()])
    assert exercise_types(pm) == {}
    assert [p.exercise_types for p in describe_plugins(pm)] == [[]]
