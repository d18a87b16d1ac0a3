"""Deterministic fake organisation trees and staff lists.

``lms demo`` needs a believable province (a few hundred staff) without touching
anyone's personal data, and the benchmarks need 100,000+ staff that look like
the real thing (Vietnamese names with diacritics, deep trees, empty optional
fields) so that measurements exercise the same code paths real imports do.

Everything here is pure Python and driven by ``random.Random(seed)``: the same
seed gives byte-identical rows, so a benchmark or a screenshot can be rebuilt.
Nothing may collide with real data: commune codes start at 90000 (real codes
are lower), e-mail addresses use ``example.com`` (a reserved domain) and phone numbers are random.

Speed matters for the benchmarks: weighted choices are drawn in bulk with
``rng.choices(..., cum_weights=..., k=n)`` and each row is then assembled from
precomputed strings, so ``generate_staff(count=100_000)`` takes a fraction of a
second.
"""

from __future__ import annotations

import csv
import os
import random
import unicodedata
from bisect import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

__all__ = [
    "EMAIL_DOMAIN",
    "FAMILY_NAMES",
    "POSITIONS",
    "STAFF_HEADER",
    "UNIT_HEADER",
    "UNIT_KINDS",
    "StaffRow",
    "UnitRow",
    "generate_province",
    "generate_staff",
    "generate_villages",
    "person_name",
    "write_staff_csv",
    "write_units_csv",
]


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One organisation unit, shaped like a row of the units CSV.

    ``parent_code`` is ``""`` for a root (the province), so that a row survives
    a CSV round trip unchanged.
    """

    code: str
    name: str
    kind: str
    parent_code: str


@dataclass(frozen=True, slots=True)
class StaffRow:
    """One staff member, shaped like a row of the staff CSV.

    ``phone`` and ``email`` are ``""`` when unknown, as they often are in the
    lists communes actually send: importers must cope with gaps.
    """

    staff_code: str
    full_name: str
    org_code: str
    position: str
    phone: str
    email: str


UNIT_KINDS: tuple[str, ...] = (
    "province",
    "commune",
    "ward",
    "village",
    "residential_group",
    "agency",
)
"""Every ``UnitRow.kind`` this module produces or accepts."""

EMAIL_DOMAIN = "example.com"
"""Domain of every generated address, so that no mail can reach a real person."""


def _nfc(words: Iterable[str]) -> tuple[str, ...]:
    # Source files can be re-saved decomposed by an editor; names must be NFC
    # because the database compares them byte for byte.
    return tuple(unicodedata.normalize("NFC", w) for w in words)


def _fold(text: str) -> str:
    """ASCII-fold Vietnamese text: drop diacritics, ``đ`` -> ``d``, lower-case."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _table(pairs: Sequence[tuple[str, float]]) -> tuple[tuple[str, ...], list[float]]:
    """Split ``(value, weight)`` pairs into values and cumulative weights."""
    return _nfc(v for v, _ in pairs), list(accumulate(w for _, w in pairs))


# --- Names -------------------------------------------------------------------
# Weights are percentages of the population (national surveys; northern
# provinces such as Ninh Bình have more Vũ/Hoàng and fewer Võ/Huỳnh).

_FAMILY_NAMES, _FAMILY_CUM = _table(
    [
        ("Nguyễn", 38.0),
        ("Trần", 11.0),
        ("Lê", 9.5),
        ("Phạm", 7.0),
        ("Hoàng", 4.5),
        ("Huỳnh", 0.6),
        ("Phan", 3.0),
        ("Vũ", 3.5),
        ("Võ", 0.5),
        ("Đặng", 2.1),
        ("Bùi", 2.0),
        ("Đỗ", 1.8),
        ("Hồ", 1.2),
        ("Ngô", 1.3),
        ("Dương", 1.0),
        ("Lý", 0.5),
        ("Đinh", 1.2),
        ("Mai", 0.6),
        ("Trịnh", 0.8),
        ("Đào", 0.7),
        ("Lương", 0.5),
        ("Tạ", 0.4),
        ("Cao", 0.5),
        ("Hà", 0.6),
        ("Đoàn", 0.6),
        ("Tô", 0.3),
        ("Lại", 0.3),
        ("Quách", 0.3),
        ("Phùng", 0.3),
        ("Vương", 0.2),
        ("Trương", 1.0),
        ("Lưu", 0.5),
        ("Chu", 0.4),
        ("Kiều", 0.3),
        ("Nghiêm", 0.3),
        ("Thái", 0.3),
        ("Triệu", 0.3),
        ("Tống", 0.3),
        ("Ninh", 0.3),
        ("Khúc", 0.2),
        ("Doãn", 0.2),
        ("Quan", 0.2),
        ("Đồng", 0.2),
        ("La", 0.2),
        ("Âu", 0.1),
        ("Lục", 0.1),
    ]
)

FAMILY_NAMES: tuple[str, ...] = _FAMILY_NAMES
"""Every family name :func:`person_name` can produce (the first word of a name)."""

# Middle names may be two words ("Thị Thu"); given names may be two words
# ("Ngọc Ánh"). Family + middle + given therefore has 3 to 5 words.
_MIDDLE_F, _MIDDLE_F_CUM = _table(
    [
        ("Thị", 45),
        ("Thị Thu", 4),
        ("Thị Ngọc", 3),
        ("Thị Thanh", 3),
        ("Thị Minh", 2),
        ("Thị Hồng", 2),
        ("Thị Kim", 1.5),
        ("Thị Phương", 1.5),
        ("Thị Bích", 1),
        ("Ngọc", 6),
        ("Thu", 5),
        ("Thanh", 5),
        ("Hoài", 2),
        ("Phương", 3),
        ("Kim", 2),
        ("Minh", 3),
        ("Hồng", 2),
        ("Diệu", 1),
        ("Khánh", 1.5),
        ("Bảo", 1),
        ("Mai", 1.5),
        ("Hải", 1),
        ("Quỳnh", 1),
        ("Thúy", 1),
        ("Cẩm", 0.5),
    ]
)
_MIDDLE_M, _MIDDLE_M_CUM = _table(
    [
        ("Văn", 40),
        ("Đức", 8),
        ("Minh", 7),
        ("Quốc", 4),
        ("Hữu", 5),
        ("Công", 4),
        ("Xuân", 3),
        ("Mạnh", 2),
        ("Quang", 4),
        ("Thành", 3),
        ("Trọng", 2),
        ("Tiến", 2),
        ("Ngọc", 2),
        ("Duy", 3),
        ("Anh", 1),
        ("Đình", 4),
        ("Thế", 2),
        ("Huy", 1.5),
        ("Bá", 1),
        ("Việt", 1.5),
        ("Hoàng", 2),
        ("Văn Minh", 0.3),
        ("Đức Minh", 0.3),
    ]
)
_GIVEN_F, _GIVEN_F_CUM = _table(
    [
        ("Hà", 3),
        ("Lan", 3),
        ("Hương", 4),
        ("Trang", 4),
        ("Linh", 4),
        ("Ngọc Ánh", 1),
        ("Hằng", 3),
        ("Hoa", 3),
        ("Huyền", 3),
        ("Nga", 2),
        ("Thảo", 3),
        ("Thủy", 3),
        ("Thúy", 2),
        ("Yến", 2),
        ("Phương", 3),
        ("Mai", 2),
        ("Nhung", 2),
        ("Oanh", 1.5),
        ("Dung", 2),
        ("Hạnh", 2),
        ("Hiền", 2),
        ("Liên", 1.5),
        ("Loan", 1.5),
        ("Nhàn", 1),
        ("Tâm", 1),
        ("Quyên", 1),
        ("Vân", 2),
        ("Anh", 3),
        ("Lan Anh", 1),
        ("Mai Anh", 0.8),
        ("Quỳnh", 1.5),
        ("Ngân", 1.5),
        ("Giang", 1.5),
        ("Chi", 1),
        ("Duyên", 1.5),
        ("Hòa", 1),
        ("Xuân", 1),
        ("Hồng", 1.5),
        ("Tuyết", 1),
        ("Nguyệt", 1),
        ("Ly", 1),
        ("Vy", 1),
        ("Nhi", 1),
        ("Thùy Dung", 0.5),
        ("Bích Ngọc", 0.5),
        ("Hải Yến", 0.7),
        ("Thanh Tâm", 0.5),
        ("Khánh Linh", 0.5),
        ("Diệu Linh", 0.4),
        ("Phương Thảo", 0.7),
        ("Minh Châu", 0.3),
    ]
)
_GIVEN_M, _GIVEN_M_CUM = _table(
    [
        ("Hùng", 3),
        ("Dũng", 3),
        ("Nam", 3),
        ("Tuấn", 3),
        ("Long", 3),
        ("Khánh", 1.5),
        ("Hải", 3),
        ("Hiếu", 2),
        ("Minh", 3),
        ("Quân", 2),
        ("Sơn", 3),
        ("Thắng", 2.5),
        ("Trung", 2.5),
        ("Việt", 1.5),
        ("Cường", 2.5),
        ("Đạt", 2),
        ("Đức", 2),
        ("Hoàng", 1.5),
        ("Huy", 2.5),
        ("Kiên", 1.5),
        ("Phong", 1.5),
        ("Thành", 2.5),
        ("Tùng", 2),
        ("Vinh", 1.5),
        ("Bình", 2),
        ("Công", 1),
        ("Duy", 1),
        ("Giang", 1),
        ("Hào", 0.7),
        ("Lâm", 1),
        ("Lợi", 1),
        ("Mạnh", 1.5),
        ("Phúc", 1.5),
        ("Quang", 1.5),
        ("Tài", 1),
        ("Thái", 1),
        ("Thịnh", 1),
        ("Toàn", 1.5),
        ("Trọng", 1),
        ("Tú", 1),
        ("Hưng", 2),
        ("Chiến", 1.5),
        ("Hòa", 1),
        ("Tiến", 1.5),
        ("Tân", 1),
        ("Thanh", 1),
        ("Khoa", 1),
        ("An", 1),
        ("Bảo", 0.5),
        ("Anh Tuấn", 0.7),
        ("Minh Đức", 0.5),
        ("Quốc Bảo", 0.4),
    ]
)


def _conflicts(middles: Sequence[str], givens: Sequence[str]) -> frozenset[tuple[int, int]]:
    """Index pairs that would repeat a word ("Thị Ngọc" + "Ngọc Ánh")."""
    return frozenset(
        (mi, gi)
        for mi, m in enumerate(middles)
        for gi, g in enumerate(givens)
        if set(m.split()) & set(g.split())
    )


def _family_clashes(middles: Sequence[str]) -> frozenset[tuple[int, int]]:
    """(family, middle) index pairs such as "Hoàng Hoàng", which nobody is named."""
    return frozenset(
        (fi, mi)
        for fi, f in enumerate(_FAMILY_NAMES)
        for mi, m in enumerate(middles)
        if f in m.split()
    )


# Index 0 of each middle table is the plain "Thị"/"Văn", used to resolve clashes.
_MIDDLE_F_BAD = _conflicts(_MIDDLE_F, _GIVEN_F)
_MIDDLE_M_BAD = _conflicts(_MIDDLE_M, _GIVEN_M)
_FAMILY_F_BAD = _family_clashes(_MIDDLE_F)
_FAMILY_M_BAD = _family_clashes(_MIDDLE_M)
_FOLDED = {
    s: _fold(s).replace(" ", "")
    for s in (*_FAMILY_NAMES, *_MIDDLE_F, *_MIDDLE_M, *_GIVEN_F, *_GIVEN_M)
}


def _draw_names(rng: random.Random, female: Sequence[bool]) -> list[tuple[str, str]]:
    """Draw one name per entry of ``female``; return ``(full_name, ascii_local)``.

    Bulk drawing is what keeps 100,000 names fast: each table is sampled once
    per gender with ``k=...`` and rows only glue precomputed strings.
    ``ascii_local`` is the folded name without spaces, ready for an e-mail.
    """
    k = len(female)
    n_female = sum(female)
    n_male = k - n_female
    fam = rng.choices(range(len(_FAMILY_NAMES)), cum_weights=_FAMILY_CUM, k=k)
    mid_f = iter(rng.choices(range(len(_MIDDLE_F)), cum_weights=_MIDDLE_F_CUM, k=n_female))
    giv_f = iter(rng.choices(range(len(_GIVEN_F)), cum_weights=_GIVEN_F_CUM, k=n_female))
    mid_m = iter(rng.choices(range(len(_MIDDLE_M)), cum_weights=_MIDDLE_M_CUM, k=n_male))
    giv_m = iter(rng.choices(range(len(_GIVEN_M)), cum_weights=_GIVEN_M_CUM, k=n_male))
    folded = _FOLDED
    out: list[tuple[str, str]] = []
    append = out.append
    for fi, is_female in zip(fam, female, strict=True):
        if is_female:
            mi, gi = next(mid_f), next(giv_f)
            if (mi, gi) in _MIDDLE_F_BAD or (fi, mi) in _FAMILY_F_BAD:
                mi = 0
            middle, given = _MIDDLE_F[mi], _GIVEN_F[gi]
        else:
            mi, gi = next(mid_m), next(giv_m)
            if (mi, gi) in _MIDDLE_M_BAD or (fi, mi) in _FAMILY_M_BAD:
                mi = 0
            middle, given = _MIDDLE_M[mi], _GIVEN_M[gi]
        family = _FAMILY_NAMES[fi]
        append(
            (
                f"{family} {middle} {given}",
                folded[family] + folded[middle] + folded[given],
            )
        )
    return out


def person_name(rng: random.Random) -> str:
    """Return a realistic Vietnamese full name (NFC), e.g. "Nguyễn Thị Thu Hà".

    The family name follows real frequencies (Nguyễn about 38%), the gender is
    a coin toss, and middle and given names fit the gender, so that sorting,
    searching and certificate layouts are tested on names people really have.
    """
    return _draw_names(rng, [rng.random() < 0.5])[0][0]


# --- Places --------------------------------------------------------------------

# Sino-Vietnamese syllables common in northern place names. Two distinct ones
# make a name ("Yên Khánh"); 101 syllables give 10,100 ordered pairs, enough
# for the 10,000 codes 90000-99999.
_PLACE_SYLLABLES = _nfc(
    """
    An Bình Bắc Bảo Cát Chính Cường Dân Duy Đại Điền Định Đoài Đông Đồng Đức
    Gia Giang Hà Hải Hạ Hiền Hòa Hoa Hồng Hưng Hương Hữu Khánh Kim Lạc Lai
    Lâm Liên Linh Long Lộc Lợi Lũng Mai Minh Mỹ Nam Nghĩa Ngọc Nhân Ninh
    Phong Phú Phúc Phụng Quang Quảng Quế Quỳnh Sơn Tân Tây Thạch Thái Thanh
    Thành Thạnh Thắng Thiện Thịnh Thọ Thủy Thuận Thượng Tiến Tiên Toàn Trạch
    Tràng Trực Trung Trường Tú Tuấn Tường Văn Vân Viễn Vinh Vĩnh Vũ Xuân
    Yên Ý Mông Nho Liêm Lý Bồng Châu Cúc Côi Hiển Dương Đạo Nội
    """.split()  # noqa: SIM905 - a word list reads better than 102 quoted strings
)

_VILLAGE_NAMED = _nfc(
    [
        "Thôn Đông",
        "Thôn Đoài",
        "Thôn Nam",
        "Thôn Bắc",
        "Thôn Trung",
        "Thôn Thượng",
        "Thôn Hạ",
        "Thôn Tiền",
        "Thôn Hậu",
        "Thôn Yên Thái",
        "Thôn Phú Lộc",
        "Thôn Đông Thịnh",
        "Thôn Văn Xá",
        "Thôn Bình Hải",
        "Thôn Tân Mỹ",
        "Thôn Phúc Lâm",
        "Thôn Kim Liên",
        "Thôn Quang Hiển",
        "Thôn An Ninh",
        "Thôn Thanh Bình",
        "Thôn Hòa Lạc",
        "Thôn Mỹ Hạ",
        "Xóm Trại",
        "Xóm Chùa",
        "Xóm Mới",
        "Xóm Đình",
        "Xóm Bến",
        "Xóm Giữa",
        "Xóm Đồng",
        "Xóm Núi",
        "Xóm Bãi",
        "Xóm Chợ",
        "Xóm Cầu",
        "Xóm Vườn",
        "Xóm Đầm",
        "Xóm Trong",
        "Xóm Ngoài",
        "Xóm Sông",
        "Xóm Gò",
        "Xóm Rộc",
    ]
)


def generate_villages(
    communes: Sequence[UnitRow],
    *,
    per_commune: int | tuple[int, int] = (4, 12),
    rng: random.Random,
) -> list[UnitRow]:
    """Return the villages of every commune and ward in ``communes``, in order.

    Communes (and special zones) get villages (kind ``village``): either numbered ("Thôn 1",
    "Thôn 2"...) or named ("Thôn Đông", "Xóm Trại"), as real communes use one
    style or the other. Wards get residential groups (kind
    ``residential_group``, "Tổ dân phố 3"). Units of any other kind are
    skipped, so a whole unit list can be passed in.

    ``per_commune`` is a fixed count or an inclusive ``(low, high)`` range.
    Codes are ``f"{commune.code}-{n:02d}"``, unique within a province.
    """
    if isinstance(per_commune, int):
        low = high = per_commune
    else:
        low, high = per_commune
    if not 0 <= low <= high:
        raise ValueError(f"per_commune must satisfy 0 <= low <= high, got {per_commune!r}")
    villages: list[UnitRow] = []
    for unit in communes:
        if unit.kind not in ("commune", "ward", "special_zone"):
            continue
        n = low if low == high else rng.randint(low, high)
        if unit.kind == "ward":
            kind = "residential_group"
            names = [f"Tổ dân phố {i}" for i in range(1, n + 1)]
        else:
            kind = "village"
            if n <= len(_VILLAGE_NAMED) and rng.random() < 0.6:
                names = rng.sample(_VILLAGE_NAMED, n)
            else:
                names = [f"Thôn {i}" for i in range(1, n + 1)]
        villages.extend(
            UnitRow(f"{unit.code}-{i:02d}", name, kind, unit.code)
            for i, name in enumerate(names, start=1)
        )
    return villages


_FIRST_SYNTHETIC_CODE = 90000
_LAST_SYNTHETIC_CODE = 99999


def generate_province(
    *,
    communes: int,
    seed: int = 0,
    province_code: str = "99",
    province_name: str = "Tỉnh Ninh Bình (mô phỏng)",
    ward_share: float = 0.25,
    villages: bool = True,
) -> list[UnitRow]:
    """Return a synthetic province: the province, its communes, their villages.

    ``communes`` commune-level units are generated, ``ward_share`` of them
    wards (Ninh Bình has 97 communes and 32 wards, about 25%), with unique
    two-syllable names ("Xã Yên Khánh", "Phường Hòa Lạc") and codes 90000,
    90001... so synthetic rows can sit beside the real list (codes below
    90000) without clashing. Rows come level by level, so every parent appears
    before its children and a single pass can import them.
    """
    available = _LAST_SYNTHETIC_CODE - _FIRST_SYNTHETIC_CODE + 1
    if not 0 <= communes <= available:
        raise ValueError(f"communes must be between 0 and {available}, got {communes}")
    if not 0.0 <= ward_share <= 1.0:
        raise ValueError(f"ward_share must be between 0 and 1, got {ward_share}")
    rng = random.Random(seed)  # noqa: S311 - fake data, reproducibility wanted
    syllables = _PLACE_SYLLABLES
    n_syl = len(syllables)
    # Pair index p -> (p // (n-1), the p % (n-1)-th other syllable): distinct halves.
    picks = rng.sample(range(n_syl * (n_syl - 1)), communes)
    ward_positions = set(rng.sample(range(communes), round(communes * ward_share)))
    units = [UnitRow(province_code, province_name, "province", "")]
    for i, p in enumerate(picks):
        a, b = divmod(p, n_syl - 1)
        if b >= a:
            b += 1
        place = f"{syllables[a]} {syllables[b]}"
        kind = "ward" if i in ward_positions else "commune"
        prefix = "Phường" if kind == "ward" else "Xã"
        code = f"{_FIRST_SYNTHETIC_CODE + i:05d}"
        units.append(UnitRow(code, f"{prefix} {place}", kind, province_code))
    if villages:
        units.extend(generate_villages(units, rng=rng))
    return units


# --- Staff ---------------------------------------------------------------------

POSITIONS: tuple[str, ...] = _nfc(
    [
        "Công chức Văn hóa - Xã hội",
        "Phó Chủ tịch Ủy ban nhân dân xã",
        "Trạm trưởng Trạm Y tế",
        "Công an xã",
        "Chủ tịch Hội Liên hiệp Phụ nữ xã",
        "Bí thư Đoàn Thanh niên",
        "Giáo viên mầm non",
        "Giáo viên tiểu học",
        "Giáo viên trung học cơ sở",
        "Cộng tác viên bảo vệ trẻ em",
        "Trưởng thôn",
        "Tổ trưởng tổ dân phố",
        "Nhân viên y tế thôn",
        "Chuyên viên Sở Y tế",
        "Chuyên viên Sở Giáo dục và Đào tạo",
        "Chuyên viên Sở Tư pháp",
        "Cán bộ Công an tỉnh",
    ]
)
"""Every ``StaffRow.position`` :func:`generate_staff` produces."""

(
    _CC_VHXH,
    _PHO_CT,
    _TRAM_TRUONG,
    _CONG_AN_XA,
    _CT_PHU_NU,
    _BT_DOAN,
    _GV_MN,
    _GV_TH,
    _GV_THCS,
    _CTV,
    _TRUONG_THON,
    _TO_TRUONG,
    _YT_THON,
    _CV_YTE,
    _CV_GD,
    _CV_TP,
    _CB_CA,
) = POSITIONS

# Share of women per position (teachers and the Women's Union are mostly
# women, police mostly men), so names and positions look plausible together.
_FEMALE_SHARE: dict[str, float] = {
    _CC_VHXH: 0.6,
    _PHO_CT: 0.3,
    _TRAM_TRUONG: 0.5,
    _CONG_AN_XA: 0.15,
    _CT_PHU_NU: 1.0,
    _BT_DOAN: 0.5,
    _GV_MN: 0.98,
    _GV_TH: 0.85,
    _GV_THCS: 0.7,
    _CTV: 0.7,
    _TRUONG_THON: 0.15,
    _TO_TRUONG: 0.3,
    _YT_THON: 0.7,
    _CV_YTE: 0.6,
    _CV_GD: 0.6,
    _CV_TP: 0.5,
    _CB_CA: 0.25,
}


@dataclass(frozen=True, slots=True)
class _Staffing:
    """How a kind of unit is staffed.

    The first staff of a unit fill ``key`` in order (every commune has its
    culture-social officer before it has a third teacher); the rest are drawn
    from ``pool``. ``weight`` is the unit's relative headcount.
    """

    weight: float
    key: tuple[str, ...]
    pool: tuple[str, ...]
    pool_cum: tuple[float, ...]


def _staffing(weight: float, key: Sequence[str], pool: Sequence[tuple[str, float]]) -> _Staffing:
    values, cum = _table(pool)
    return _Staffing(weight, tuple(key), values, tuple(cum))


_COMMUNE_STAFFING = _staffing(
    8,
    [_CC_VHXH, _PHO_CT, _TRAM_TRUONG, _CONG_AN_XA, _CT_PHU_NU, _BT_DOAN],
    [(_GV_MN, 4), (_GV_TH, 4), (_GV_THCS, 3), (_CONG_AN_XA, 1)],
)
_STAFFING: dict[str, _Staffing] = {
    "province": _staffing(0, [], [(_CV_YTE, 3), (_CV_GD, 1), (_CV_TP, 1)]),
    "commune": _COMMUNE_STAFFING,
    "ward": _COMMUNE_STAFFING,
    "special_zone": _COMMUNE_STAFFING,
    "village": _staffing(2, [_CTV, _TRUONG_THON, _YT_THON], [(_CTV, 3), (_YT_THON, 1)]),
    "residential_group": _staffing(2, [_CTV, _TO_TRUONG, _YT_THON], [(_CTV, 3), (_YT_THON, 1)]),
    "agency": _staffing(5, [], [(_CV_YTE, 1), (_CV_GD, 1), (_CV_TP, 1)]),
}
# Kinds the importer also knows but this module never generates: a special
# zone ("đặc khu") is staffed like a commune, a generic unit like an agency.
_STAFFING["unit"] = _STAFFING["agency"]

# An agency whose name says which department it is gets that department's
# position only ("Sở Giáo dục và Đào tạo" -> "Chuyên viên Sở Giáo dục...").
_AGENCY_HINTS: tuple[tuple[str, str], ...] = (
    ("y tế", _CV_YTE),
    ("giáo dục", _CV_GD),
    ("tư pháp", _CV_TP),
    ("công an", _CB_CA),
)

_PROVINCE_STAFF = 3  # expected staff per province unit: "a few"

_PHONE_PREFIXES = _nfc(
    [
        "090",
        "091",
        "093",
        "094",
        "096",
        "097",
        "098",
        "032",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "039",
    ]
)
_PHONE_SHARE = 0.8
_EMAIL_SHARE = 0.3


def _unit_staffing(unit: UnitRow) -> _Staffing:
    try:
        staffing = _STAFFING[unit.kind]
    except KeyError:
        raise ValueError(
            f"unit {unit.code!r} has unknown kind {unit.kind!r}; "
            f"expected one of {', '.join(_STAFFING)}"
        ) from None
    if unit.kind in ("agency", "unit"):
        name = unit.name.casefold()
        for hint, position in _AGENCY_HINTS:
            if hint in name:
                return _Staffing(staffing.weight, (), (position,), (1.0,))
    return staffing


def generate_staff(
    units: Sequence[UnitRow],
    *,
    count: int,
    seed: int = 0,
    code_prefix: str = "NB",
) -> list[StaffRow]:
    """Return ``count`` staff spread over ``units``, deterministic for ``seed``.

    Headcount follows the unit kind (a commune weighs 8, an agency 5, a
    village 2; each province unit gets about 3), and positions follow the
    unit: communes and wards first fill their key posts, then teachers;
    villages get child-protection collaborators, village heads and village
    health workers; agencies and the province get "Chuyên viên ..." posts.
    Staff are ordered by unit (as in the lists communes send) and numbered
    ``f"{code_prefix}{n:06d}"`` from 1. About 80% have a unique mobile
    number, about 30% a unique ``...@example.com`` address.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if count == 0:
        return []
    if not units:
        raise ValueError("generate_staff needs at least one unit")
    rng = random.Random(seed)  # noqa: S311 - fake data, reproducibility wanted
    staffing = [_unit_staffing(u) for u in units]

    # Relative headcount per unit; province units are weighted so that each
    # expects _PROVINCE_STAFF people whatever the total.
    other = sum(s.weight for s in staffing)
    n_prov = sum(1 for u in units if u.kind == "province")
    rest = max(count - _PROVINCE_STAFF * n_prov, 1)
    prov_weight = other * _PROVINCE_STAFF / rest if other else 1.0
    weights = [
        prov_weight if u.kind == "province" else s.weight
        for u, s in zip(units, staffing, strict=True)
    ]
    unit_of = rng.choices(range(len(units)), cum_weights=list(accumulate(weights)), k=count)
    unit_of.sort()

    # Positions: key posts by rank within the unit, then the unit's pool.
    rand = rng.random
    positions: list[str] = []
    female: list[bool] = []
    previous, rank = -1, 0
    for ui in unit_of:
        rank = rank + 1 if ui == previous else 0
        previous = ui
        s = staffing[ui]
        if rank < len(s.key):
            position = s.key[rank]
        else:
            position = s.pool[bisect(s.pool_cum, rand() * s.pool_cum[-1])]
        positions.append(position)
        female.append(rand() < _FEMALE_SHARE[position])

    names = _draw_names(rng, female)

    # int(random() * span) is exact enough here (53-bit floats, span < 2**28)
    # and much cheaper than randrange in a 100,000-row loop.
    span = len(_PHONE_PREFIXES) * 10_000_000
    seen_phones: set[str] = set()
    staff: list[StaffRow] = []
    append = staff.append
    for n, (ui, position, (full_name, local)) in enumerate(
        zip(unit_of, positions, names, strict=True), start=1
    ):
        phone = ""
        if rand() < _PHONE_SHARE:
            while True:
                prefix, number = divmod(int(rand() * span), 10_000_000)
                phone = f"{_PHONE_PREFIXES[prefix]}{number:07d}"
                if phone not in seen_phones:
                    seen_phones.add(phone)
                    break
        # The staff number makes each address unique without a lookup.
        email = f"{local}{n}@{EMAIL_DOMAIN}" if rand() < _EMAIL_SHARE else ""
        append(StaffRow(f"{code_prefix}{n:06d}", full_name, units[ui].code, position, phone, email))
    return staff


# --- CSV -------------------------------------------------------------------------

UNIT_HEADER: tuple[str, ...] = ("code", "name", "kind", "parent_code")
STAFF_HEADER: tuple[str, ...] = (
    "staff_code",
    "full_name",
    "org_code",
    "position",
    "phone",
    "email",
)


def write_units_csv(path: str | os.PathLike[str], units: Iterable[UnitRow]) -> None:
    """Write units as UTF-8 CSV (no BOM, ``\\n`` line ends) with the import header."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(UNIT_HEADER)
        writer.writerows((u.code, u.name, u.kind, u.parent_code) for u in units)


def write_staff_csv(path: str | os.PathLike[str], staff: Iterable[StaffRow]) -> None:
    """Write staff as UTF-8 CSV (no BOM, ``\\n`` line ends) with the import header."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(STAFF_HEADER)
        writer.writerows(
            (s.staff_code, s.full_name, s.org_code, s.position, s.phone, s.email) for s in staff
        )
