from __future__ import annotations

from pathlib import Path

import pytest

from lms_core.config import find_config, load_config, locate_project, render_config_template
from lms_core.errors import ConfigError


def test_template_is_valid_and_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "lms.toml").write_text(render_config_template(), encoding="utf-8")
    project = load_config(tmp_path / "lms.toml")
    assert project.config.language == "vi"
    assert project.database_url == f"sqlite:///{(tmp_path / 'lms.db').as_posix()}"
    assert project.courses_dir == tmp_path / "courses"


def test_every_problem_reported_at_once_with_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "lms.toml").write_text(
        'databse_url = "x"\nlanguage = "fr"\n[site]\ntitel = "a"\nbase_url = "ftp://x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "lms.toml")
    message = str(info.value)
    assert "unknown key 'databse_url' (did you mean 'database_url'?)" in message
    assert "unknown key 'site.titel' (did you mean 'title'?)" in message
    assert "language" in message and "site.base_url" in message


def test_invalid_toml_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "lms.toml").write_text("language = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(tmp_path / "lms.toml")


def test_found_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "lms.toml").write_text("", encoding="utf-8")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == (tmp_path / "lms.toml").resolve()
    assert locate_project(cwd=deep).root == tmp_path.resolve()


def test_missing_config_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMS_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="lms init"):
        locate_project(cwd=tmp_path)
    with pytest.raises(ConfigError, match="no such configuration file"):
        locate_project(config=tmp_path / "nope.toml")
