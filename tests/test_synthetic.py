"""Synthetic org trees and staff: deterministic, well-formed, importable as CSV."""

from __future__ import annotations

import csv
import os
import random
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from lms_core import synthetic
from lms_core.synthetic import (
    FAMILY_NAMES,
    POSITIONS,
    UNIT_KINDS,
    StaffRow,
    UnitRow,
    generate_province,
    generate_staff,
    generate_villages,
    person_name,
    write_staff_csv,
    write_units_csv,
)

PHONE = re.compile(r"^0[39]\d{8}$")
EMAIL = re.compile(r"^[a-z]+\d+@example\.com$")


def _is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


@pytest.fixture(scope="module")
def province() -> list[UnitRow]:
    return generate_province(communes=40, seed=7)


@pytest.fixture(scope="module")
def staff(province: list[UnitRow]) -> list[StaffRow]:
    return generate_staff(province, count=2_000, seed=7)


# --- names ---------------------------------------------------------------------


def test_person_name_is_deterministic_per_seed() -> None:
    first = [person_name(random.Random(1)) for _ in range(3)]
    assert len(set(first)) == 1
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert [person_name(rng_a) for _ in range(50)] == [person_name(rng_b) for _ in range(50)]
    rng_c = random.Random(6)
    assert [person_name(rng_a) for _ in range(50)] != [person_name(rng_c) for _ in range(50)]


def test_person_names_look_vietnamese() -> None:
    rng = random.Random(0)
    names = [person_name(rng) for _ in range(5_000)]
    for name in names:
        words = name.split(" ")
        assert _is_nfc(name), name
        assert 2 <= len(words) <= 5, name
        assert all(words), name  # no double spaces
        assert words[0] in FAMILY_NAMES, name
        assert len(set(words[1:])) == len(words) - 1, name  # "Thị Ngọc Ngọc Ánh" never
    families = Counter(name.split()[0] for name in names)
    assert 0.33 < families["Nguyễn"] / len(names) < 0.43
    assert families.most_common(1)[0][0] == "Nguyễn"
    assert len(families) > 20


def test_both_genders_and_compound_names_appear() -> None:
    rng = random.Random(0)
    names = [person_name(rng) for _ in range(2_000)]
    women = [n for n in names if " Thị " in n]
    men = [n for n in names if " Văn " in n]
    assert len(women) > 300
    assert len(men) > 300
    # "Thị" and "Văn" never meet in one name, and the given names follow the gender.
    assert not any(" Văn " in n for n in women)
    male_given = {g.split()[-1] for g in synthetic._GIVEN_M} - {
        g.split()[-1] for g in synthetic._GIVEN_F
    }
    assert not any(n.split()[-1] in male_given for n in women)
    assert any(len(n.split()) >= 4 for n in names)  # "Nguyễn Thị Thu Hà"


# --- units ---------------------------------------------------------------------


def test_province_is_deterministic() -> None:
    assert generate_province(communes=25, seed=3) == generate_province(communes=25, seed=3)
    assert generate_province(communes=25, seed=3) != generate_province(communes=25, seed=4)


def test_province_shape(province: list[UnitRow]) -> None:
    root = province[0]
    assert (root.code, root.kind, root.parent_code) == ("99", "province", "")
    level = [u for u in province if u.parent_code == "99"]
    assert len(level) == 40
    assert {u.kind for u in level} == {"commune", "ward"}
    assert sum(u.kind == "ward" for u in level) == 10  # 25%
    assert [u.code for u in level] == [str(90000 + i) for i in range(40)]
    assert len({u.name for u in level}) == 40
    for unit in level:
        prefix = "Phường " if unit.kind == "ward" else "Xã "
        assert unit.name.startswith(prefix)
        assert len(unit.name.split()) == 3
    assert {u.kind for u in province} <= set(UNIT_KINDS)
    assert all(_is_nfc(u.name) for u in province)


def test_codes_unique_and_parents_first(province: list[UnitRow]) -> None:
    codes = [u.code for u in province]
    assert len(codes) == len(set(codes))
    seen: set[str] = set()
    for unit in province:
        assert unit.parent_code == "" or unit.parent_code in seen, unit
        seen.add(unit.code)


def test_villages_match_their_commune(province: list[UnitRow]) -> None:
    by_code = {u.code: u for u in province}
    villages = [u for u in province if u.kind in ("village", "residential_group")]
    assert villages
    for v in villages:
        parent = by_code[v.parent_code]
        assert re.fullmatch(rf"{parent.code}-\d\d", v.code)
        if parent.kind == "ward":
            assert v.kind == "residential_group"
            assert v.name.startswith("Tổ dân phố ")
        else:
            assert v.kind == "village"
            assert v.name.startswith(("Thôn ", "Xóm "))
    per_commune = Counter(v.parent_code for v in villages)
    assert min(per_commune.values()) >= 4
    assert max(per_commune.values()) <= 12
    names = Counter((v.parent_code, v.name) for v in villages)
    assert max(names.values()) == 1  # unique within a commune


def test_generate_villages_options() -> None:
    communes = [
        UnitRow("90000", "Xã Yên Thái", "commune", "99"),
        UnitRow("90001", "Phường Hòa Lạc", "ward", "99"),
        UnitRow("99", "Tỉnh", "province", ""),  # skipped
    ]
    fixed = generate_villages(communes, per_commune=3, rng=random.Random(0))
    assert [v.code for v in fixed] == [
        "90000-01",
        "90000-02",
        "90000-03",
        "90001-01",
        "90001-02",
        "90001-03",
    ]
    assert [v.name for v in fixed[3:]] == ["Tổ dân phố 1", "Tổ dân phố 2", "Tổ dân phố 3"]
    assert generate_villages(communes, per_commune=0, rng=random.Random(0)) == []
    with pytest.raises(ValueError):
        generate_villages(communes, per_commune=(5, 2), rng=random.Random(0))


def test_province_without_villages_and_limits() -> None:
    units = generate_province(communes=5, villages=False, province_code="98")
    assert len(units) == 6
    assert all(u.parent_code == "98" for u in units[1:])
    assert len(generate_province(communes=0)) == 1
    big = generate_province(communes=10_000, villages=False)
    assert big[-1].code == "99999"
    assert len({u.name for u in big}) == len(big)
    with pytest.raises(ValueError):
        generate_province(communes=10_001)


# --- staff ---------------------------------------------------------------------


def test_staff_is_deterministic(province: list[UnitRow], staff: list[StaffRow]) -> None:
    assert generate_staff(province, count=2_000, seed=7) == staff
    assert generate_staff(province, count=2_000, seed=8) != staff


def test_staff_rows_are_well_formed(province: list[UnitRow], staff: list[StaffRow]) -> None:
    assert [s.staff_code for s in staff] == [f"NB{n:06d}" for n in range(1, 2_001)]
    codes = {u.code: u for u in province}
    for s in staff:
        assert s.org_code in codes
        assert s.position in POSITIONS
        assert _is_nfc(s.full_name)
        assert s.full_name.split()[0] in FAMILY_NAMES
        assert 2 <= len(s.full_name.split()) <= 5
        assert s.phone == "" or PHONE.match(s.phone), s.phone
        assert s.email == "" or EMAIL.match(s.email), s.email
    phones = [s.phone for s in staff if s.phone]
    emails = [s.email for s in staff if s.email]
    assert 0.7 < len(phones) / len(staff) < 0.9
    assert 0.2 < len(emails) / len(staff) < 0.4
    assert len(set(phones)) == len(phones)
    assert len(set(emails)) == len(emails)


def test_staff_positions_fit_their_unit(province: list[UnitRow], staff: list[StaffRow]) -> None:
    kind = {u.code: u.kind for u in province}
    village_posts = {
        "Cộng tác viên bảo vệ trẻ em",
        "Trưởng thôn",
        "Tổ trưởng tổ dân phố",
        "Nhân viên y tế thôn",
    }
    by_kind: dict[str, set[str]] = {}
    for s in staff:
        by_kind.setdefault(kind[s.org_code], set()).add(s.position)
    assert by_kind["village"] <= village_posts - {"Tổ trưởng tổ dân phố"}
    assert by_kind["residential_group"] <= village_posts - {"Trưởng thôn"}
    assert "Công chức Văn hóa - Xã hội" in by_kind["commune"]
    assert not by_kind["commune"] & village_posts
    assert all(p.startswith("Chuyên viên") for p in by_kind.get("province", set()))
    in_province = sum(kind[s.org_code] == "province" for s in staff)
    assert 1 <= in_province <= 10  # "a few"
    # Staff are listed unit by unit.
    order = {u.code: i for i, u in enumerate(province)}
    assert [order[s.org_code] for s in staff] == sorted(order[s.org_code] for s in staff)


def test_staff_for_agencies_and_edge_cases() -> None:
    units = [
        UnitRow("37", "Tỉnh Ninh Bình", "province", ""),
        UnitRow("SYT", "Sở Y tế", "agency", "37"),
        UnitRow("SGD", "Sở Giáo dục và Đào tạo", "agency", "37"),
        UnitRow("CA", "Công an tỉnh", "agency", "37"),
        UnitRow("X", "Văn phòng", "agency", "37"),
    ]
    staff = generate_staff(units, count=200, seed=1, code_prefix="T")
    assert staff[0].staff_code == "T000001"
    posts = {(s.org_code, s.position) for s in staff}
    assert {p for o, p in posts if o == "SYT"} == {"Chuyên viên Sở Y tế"}
    assert {p for o, p in posts if o == "SGD"} == {"Chuyên viên Sở Giáo dục và Đào tạo"}
    assert {p for o, p in posts if o == "CA"} == {"Cán bộ Công an tỉnh"}
    assert generate_staff(units, count=0) == []
    assert len(generate_staff(units[:1], count=5)) == 5  # only a province
    with pytest.raises(ValueError):
        generate_staff([], count=1)
    with pytest.raises(ValueError):
        generate_staff([UnitRow("1", "?", "planet", "")], count=1)


def test_staff_at_benchmark_scale() -> None:
    units = generate_province(communes=3_321, seed=1)
    staff = generate_staff(units, count=100_000, seed=1)
    assert len(staff) == 100_000
    assert len({s.staff_code for s in staff}) == 100_000
    assert staff[-1].staff_code == "NB100000"
    phones = [s.phone for s in staff if s.phone]
    assert len(set(phones)) == len(phones)
    assert len({s.org_code for s in staff}) > len(units) // 2


# --- CSV -----------------------------------------------------------------------


def test_units_csv_round_trip(tmp_path: Path, province: list[UnitRow]) -> None:
    path = tmp_path / "units.csv"
    write_units_csv(path, province)
    data = path.read_bytes()
    assert data.startswith(b"code,name,kind,parent_code\n")
    with path.open(encoding="utf-8", newline="") as f:
        rows = [UnitRow(**row) for row in csv.DictReader(f)]
    assert rows == province


def test_staff_csv_round_trip(tmp_path: Path, staff: list[StaffRow]) -> None:
    path = tmp_path / "staff.csv"
    tricky = StaffRow("NB999999", 'Lê Thị "Bé", Hà', "99", "Trưởng thôn", "", "")
    write_staff_csv(path, [*staff, tricky])
    data = path.read_bytes()
    assert data.startswith(b"staff_code,full_name,org_code,position,phone,email\n")
    assert not data.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8", newline="") as f:
        rows = [StaffRow(**row) for row in csv.DictReader(f)]
    assert rows == [*staff, tricky]


def test_output_does_not_depend_on_hash_seed() -> None:
    """Benchmarks rebuild data in new processes; set order must not leak in."""
    code = (
        "import hashlib; from lms_core.synthetic import generate_province, generate_staff; "
        "u = generate_province(communes=30, seed=2); s = generate_staff(u, count=500, seed=2); "
        "print(hashlib.sha256(repr((u, s)).encode()).hexdigest())"
    )
    root = Path(__file__).resolve().parents[1]
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        digests.add(result.stdout.strip())
    assert len(digests) == 1
