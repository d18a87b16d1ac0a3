"""The ``lms`` command end to end, on the test project (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import Cli
from lms_cli import main
from lms_core.schema import head_revision


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_tree_staff_invite_flow(cli: Cli, tmp_path: Path) -> None:
    result = cli("org", "seed")
    assert result.exit_code == 0, result.output
    assert "created 137" in result.output
    villages = write(
        tmp_path / "v.csv", "code,name,kind,parent_code\n13285-01,Tổ dân phố 1,tổ dân phố,13285\n"
    )
    assert cli("org", "import", str(villages)).exit_code == 0
    staff = write(
        tmp_path / "staff.csv",
        "staff_code,full_name,org_code,position\n"
        "X1,Nguyễn Văn An,13285,Giáo viên\n"
        "X2,Trần Thị Bình,13285-01,Cộng tác viên\n",
    )
    result = cli("staff", "import", str(staff))
    assert result.exit_code == 0
    assert "created 2, updated 0, unchanged 0, rejected 0" in result.output
    assert "unchanged 2" in cli("staff", "import", str(staff)).output
    tree = cli("org", "tree", "13285").output
    assert "13285  Phường Phủ Lý  [ward]  2 people, 1 here" in tree
    assert "└── 13285-01  Tổ dân phố 1  [residential_group]  1 person" in tree
    assert "37  Tỉnh Ninh Bình" in cli("org", "tree", "--depth", "0").output
    listing = cli("staff", "list", "--org", "13285", "--subtree").output
    assert "Nguyễn Văn An" in listing and "Trần Thị Bình" in listing
    out = tmp_path / "invites.csv"
    result = cli("accounts", "invite", "--org", "13285", "--subtree", "--out", str(out))
    assert result.exit_code == 0 and "2 invite codes" in result.output
    again = cli("accounts", "invite", "--org", "13285", "--out", str(out))
    assert again.exit_code == 1 and "already exists" in again.output
    grant = cli("accounts", "grant", "X1", "--role", "manager", "--org", "13285")
    assert grant.exit_code == 0 and "invite code" in grant.output
    pw = cli("accounts", "set-password", "X1", "--password-stdin", input="mật khẩu rất dài\n")
    assert pw.exit_code == 0
    assert "manager  active" in cli("accounts", "list").output


def test_bad_import_exits_1_with_located_messages(cli: Cli, tmp_path: Path) -> None:
    cli("org", "seed")
    bad = write(
        tmp_path / "staff.csv", "staff_code,full_name,org_code,position\nX1,,99999,Giáo viên\n"
    )
    result = cli("staff", "import", str(bad))
    assert result.exit_code == 1
    assert "staff.csv:2:2: error: full_name: empty" in result.output
    assert "staff.csv:2:3: error: org_code: unknown unit '99999'" in result.output
    assert "Traceback" not in result.output
    assert "0 people" in cli("staff", "list").output or cli("staff", "list").output == ""


def test_skip_invalid_writes_rejected_file(cli: Cli, tmp_path: Path) -> None:
    cli("org", "seed")
    bad = write(
        tmp_path / "staff.csv",
        "staff_code,full_name,org_code,position\nX1,An,13285,GV\nX2,Bình,nowhere,GV\n",
    )
    result = cli("staff", "import", str(bad), "--skip-invalid")
    assert result.exit_code == 0
    assert "created 1" in result.output
    rejected = (tmp_path / "staff.rejected.csv").read_text(encoding="utf-8-sig")
    assert "nowhere" in rejected and "unknown unit" in rejected


def test_missing_file_and_cycles(cli: Cli, tmp_path: Path) -> None:
    result = cli("org", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and "nope.csv" in result.output
    cyc = write(tmp_path / "c.csv", "code,name,kind,parent_code\nA,a,unit,B\nB,b,unit,A\n")
    result = cli("org", "import", str(cyc))
    assert result.exit_code == 1 and "cycle" in result.output


def test_no_project_and_wrong_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LMS_CONFIG", raising=False)
    monkeypatch.delenv("LMS_DATABASE_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["org", "tree"])
    assert result.exit_code == 1 and "lms init" in result.output
    write(tmp_path / "lms.toml", 'database_url = "postgresql+psycopg://x@127.0.0.1:1/none"\n')
    result = runner.invoke(main, ["org", "tree"])
    assert result.exit_code == 1 and "cannot open the database" in result.output
    assert "Traceback" not in result.output
    write(tmp_path / "lms.toml", 'databse_url = "x"\n')
    result = runner.invoke(main, ["org", "tree"])
    assert result.exit_code == 1 and "did you mean 'database_url'" in result.output


def test_init_then_db_upgrade_and_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMS_DATABASE_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "lms.db").exists() and (tmp_path / "p" / "courses").is_dir()
    cfg = str(tmp_path / "p" / "lms.toml")
    assert runner.invoke(main, ["--config", cfg, "db", "upgrade"]).exit_code == 0
    status = runner.invoke(main, ["--config", cfg, "db", "status"]).output
    assert status.count(head_revision()) == 2


def test_installed_console_script_runs_the_demo(tmp_path: Path) -> None:
    """The real ``lms`` executable from the environment, in a subprocess."""
    exe = shutil.which("lms", path=str(Path(sys.executable).parent)) or shutil.which("lms")
    if exe is None:
        pytest.skip("the lms console script is not installed (pip install -e .)")
    env = {k: v for k, v in os.environ.items() if k not in ("LMS_CONFIG", "LMS_DATABASE_URL")}
    done = subprocess.run(
        [exe, "demo", str(tmp_path / "demo")], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "300 staff" in done.stdout and "admin" in done.stdout
    assert "phong-chong-xam-hai v1" in done.stdout
    assert "chi-thi-28-ke-hoach-tinh: enrolled 300" in done.stdout
    # months of activity, through the real services: completions and certificates
    assert "activity: " in done.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "demo" / "lms.db") as db:
        completions = db.execute("select count(*) from completion").fetchone()[0]
        certificates = db.execute("select count(*) from certificate").fetchone()[0]
        graded = db.execute("select count(*) from attempt where state = 'graded'").fetchone()[0]
    assert completions > 20 and certificates > 5 and graded > completions
    assert (tmp_path / "demo" / "site" / "verify" / "keys.json").is_file()
    tree = subprocess.run(
        [exe, "org", "tree", "--depth", "1"],
        cwd=tmp_path / "demo",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "37  Tỉnh Ninh Bình  [province]  300 people" in tree.stdout
    again = subprocess.run(
        [exe, "demo", str(tmp_path / "demo")], capture_output=True, text=True, env=env, check=False
    )
    assert again.returncode == 1 and "--force" in again.stderr


def test_init_and_demo_on_each_backend(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LMS_DATABASE_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "p"), "--database-url", db_url])
    assert result.exit_code == 0, result.output
    cfg = str(tmp_path / "p" / "lms.toml")
    assert runner.invoke(main, ["--config", cfg, "db", "upgrade"]).exit_code == 0
    demo = runner.invoke(
        main, ["demo", str(tmp_path / "d"), "--database-url", db_url, "--staff", "50"]
    )
    assert demo.exit_code == 0, demo.output
    assert "50 staff" in demo.output
    tree = runner.invoke(
        main, ["--config", str(tmp_path / "d" / "lms.toml"), "org", "tree", "--depth", "0"]
    )
    assert "37  Tỉnh Ninh Bình  [province]  50 people" in tree.output
    again = runner.invoke(main, ["demo", str(tmp_path / "d2"), "--database-url", db_url])
    if not db_url.startswith("sqlite"):
        assert again.exit_code == 1 and "already holds 50 people" in again.output


def test_newer_database_refused_by_every_command(cli: Cli) -> None:
    from sqlalchemy import text

    from lms_core.db import make_engine

    engine = make_engine(cli.project.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    engine.dispose()
    for args in (["org", "tree"], ["staff", "list"], ["db", "upgrade"]):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert "newer release" in result.output


def _xlsx_with_formula(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["code", "name", "kind", "parent_code"])
    ws.append(["A", "=1+1", "unit", ""])
    wb.save(path)


BAD_FILES = {
    "utf16.csv": (
        lambda p: p.write_bytes("code,name,kind,parent_code\nA,Á,unit,\n".encode("utf-16")),
        "UTF-16",
    ),
    "cp1258.csv": (
        lambda p: p.write_bytes(b"code,name,kind,parent_code\nA,X\xe3 \xd0\xf4ng,commune,\n"),
        "--encoding",
    ),
    "photo.csv": (
        lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64),
        "not a CSV or XLSX",
    ),
    "huge.csv": (lambda p: (p.touch(), os.truncate(p, 1 << 30)), "split"),
    "formula.xlsx": (_xlsx_with_formula, "formula"),
    "missing.csv": (lambda p: p.write_text("code,nam,kind\nA,b,unit\n"), "parent_code"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_exit_1_with_a_message_and_write_nothing(
    cli: Cli, tmp_path: Path, name: str
) -> None:
    make, expected = BAD_FILES[name]
    path = tmp_path / name
    make(path)
    result = cli("org", "import", str(path))
    assert result.exit_code == 1
    assert expected in result.output and name in result.output
    assert "Traceback" not in result.output
    assert "no units yet" in cli("org", "tree").output


def test_unwritable_output_is_a_message_and_nothing_is_saved(cli: Cli, tmp_path: Path) -> None:
    cli("org", "seed")
    staff = write(tmp_path / "s.csv", "staff_code,full_name,org_code,position\nX1,An,13285,GV\n")
    cli("staff", "import", str(staff))
    result = cli(
        "accounts", "invite", "--org", "13285", "--out", str(tmp_path / "missing" / "dir" / "x.csv")
    )
    assert result.exit_code == 1 and "No such file or directory" in result.output
    assert "Traceback" not in result.output
    out = tmp_path / "ok.csv"
    again = cli("accounts", "invite", "--org", "13285", "--out", str(out))
    assert "1 invite codes" in again.output  # the failed run created no account


def test_demo_ends_by_serving_and_its_printed_sign_ins_work(tmp_path: Path) -> None:
    """``lms demo --serve``: the invite code and the learner password it prints
    sign in on the server it starts, and the site there talks to that server."""
    import re
    import socket
    import time

    import httpx

    exe = shutil.which("lms", path=str(Path(sys.executable).parent)) or shutil.which("lms")
    if exe is None:
        pytest.skip("the lms console script is not installed (pip install -e .)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("LMS_CONFIG", "LMS_DATABASE_URL")}
    server = subprocess.Popen(
        [exe, "demo", str(tmp_path / "d"), "--staff", "40", "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line)
            if line.startswith("serving on"):
                break
        output = "".join(lines)
        invite = re.search(r"first sign-in: .*staff code (\S+), invite code (\S+),", output)
        learner = re.search(r"or sign in as (\S+) with password (\S+)", output)
        assert invite and learner, output
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):  # until the socket accepts; nothing is timed
            try:
                httpx.get(base + "/api/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        with httpx.Client(base_url=base, timeout=30) as c:
            assert 'data-api="/api"' in c.get("/index.html").text
            r = c.post(
                "/api/auth/redeem",
                json={
                    "staff_code": invite[1],
                    "invite_code": invite[2],
                    "password": "mot-mat-khau-moi-2026",
                },
            )
            assert r.status_code == 200, r.text
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post("/api/auth/sign-in", json={"staff_code": learner[1], "password": learner[2]})
            assert r.status_code == 200, r.text
            assert c.get("/api/my/courses").json()["courses"]
    finally:
        server.terminate()
        server.wait(30)
