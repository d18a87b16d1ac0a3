"""The golden site: build a small fixture project and compare the whole output tree.

When a change to templates or assets is intended, regenerate the expected
tree with ``LMS_UPDATE_GOLDEN=1 python -m pytest tests/test_site_golden.py``
and review the diff like any other change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lms_core.config import load_config
from lms_core.plugins import exercise_types, make_plugin_manager
from site_builder import build_site
from site_builder.build import STATIC_FILES

# Static assets are copies of site_builder/static (checked by test_site_assets);
# the golden tree holds what the build generates.
SKIP = {name for name in STATIC_FILES if name != "sw.js"}  # sw.js gets the build id

FIXTURE = Path(__file__).parent / "fixtures" / "golden"
EXPECTED = FIXTURE / "expected-site"


def test_golden_site(tmp_path: Path) -> None:
    project_dir = tmp_path / "golden"
    shutil.copytree(FIXTURE, project_dir, ignore=shutil.ignore_patterns("expected-site"))
    project = load_config(project_dir / "lms.toml")
    out = tmp_path / "site"
    build_site(project, out=out, types=exercise_types(make_plugin_manager()), use_cache=False)
    produced = {
        rel: p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and (rel := p.relative_to(out).as_posix()) not in SKIP
    }
    if os.environ.get("LMS_UPDATE_GOLDEN"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        for rel, data in produced.items():
            (EXPECTED / rel).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED / rel).write_bytes(data)
    expected = {
        p.relative_to(EXPECTED).as_posix(): p.read_bytes()
        for p in sorted(EXPECTED.rglob("*"))
        if p.is_file()
    }
    assert sorted(produced) == sorted(expected)
    changed = [path for path in produced if produced[path] != expected[path]]
    assert changed == [], f"differs from tests/fixtures/golden/expected-site: {changed}"
