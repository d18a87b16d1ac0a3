"""The site's static assets: budgets, safety, syntax, and browser marking equal to the server's.

Practice quizzes are marked in the browser by ``assets/site.js`` from the
embedded key; the learner must see the score :func:`lms_quiz.grading.grade_quiz`
would give.  The last tests run the JavaScript grader under Node on random
responses (built from the public view, as the page's form builds them, plus
garbage) to the sample courses' quizzes and to quizzes written to reach every
rule, and compare both graders question by question.
"""

from __future__ import annotations

import gzip
import importlib
import json
import random
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from lms_core.courses import load_course
from lms_quiz.grading import grade_quiz
from lms_quiz.model import (
    AcceptedAnswer,
    DrawRule,
    FillBlanks,
    Gap,
    Item,
    Matching,
    MultipleChoice,
    Numeric,
    NumericAnswer,
    Option,
    Ordering,
    Pair,
    Quiz,
    Scenario,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
)
from lms_quiz.plugin import lms_exercise_types
from lms_quiz.view import practice_key, public_view

ROOT = Path(__file__).parent.parent
STATIC = ROOT / "site_builder" / "static"
SITE_JS = STATIC / "assets" / "site.js"
SW_JS = STATIC / "sw.js"
SITE_CSS = STATIC / "assets" / "site.css"
VERIFY_JS = STATIC / "assets" / "verify.js"
VERIFY_CSS = STATIC / "assets" / "verify.css"
GRADE_TEST = ROOT / "tests" / "js" / "grade_test.mjs"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (needed to run JS)")


def gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


def without_comments(text: str) -> str:
    """Code without /* */ comments and whole-line or trailing // comments."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(^|\s)//[^\n]*", r"\1", text)


# ------------------------------------------------------------ budgets, safety


def test_sizes_within_budget() -> None:
    js = gz(SITE_JS) + gz(SW_JS)
    assert js <= 20 * 1024, f"site.js + sw.js are {js} bytes gzipped (budget 20 KB)"
    assert gz(SITE_CSS) <= 15 * 1024, f"site.css is {gz(SITE_CSS)} bytes gzipped (budget 15 KB)"
    # the verify page's own script and styles, loaded by that page only
    assert gz(VERIFY_JS) <= 10 * 1024, f"verify.js is {gz(VERIFY_JS)} bytes gzipped (budget 10 KB)"
    assert gz(SITE_CSS) + gz(VERIFY_CSS) <= 15 * 1024
    icon = STATIC / "assets" / "icon.svg"
    assert icon.stat().st_size < 2048


@pytest.mark.parametrize(
    "path", [SITE_JS, SW_JS, SITE_CSS, VERIFY_JS, VERIFY_CSS], ids=lambda p: p.name
)
def test_nothing_from_another_origin(path: Path) -> None:
    code = without_comments(path.read_text(encoding="utf-8"))
    assert not re.search(r"https?://|(?<![\w.])//[\w-]+\.[\w.-]+/", code), path
    assert "@import" not in code
    for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", code):
        assert url.startswith("data:") or not re.match(r"[a-z]+:|/", url), url


@pytest.mark.parametrize("path", [SITE_JS, SW_JS, VERIFY_JS], ids=lambda p: p.name)
def test_no_eval_and_no_html_injection(path: Path) -> None:
    code = without_comments(path.read_text(encoding="utf-8"))
    for banned in (
        r"\beval\s*\(",
        r"\bnew\s+Function\b",
        r"\bFunction\s*\(",
        r"innerHTML",
        r"outerHTML",
        r"insertAdjacentHTML",
        r"document\.write",
        r"set(?:Timeout|Interval)\(\s*['\"`]",
        r"importScripts",
        r"\.setAttribute\(\s*['\"]on",
    ):
        assert not re.search(banned, code), (path.name, banned)
    # HTML is parsed in one place only: the attempt form lms serve renders (swapIn)
    assert len(re.findall(r"DOMParser", code)) == (1 if path == SITE_JS else 0)


@needs_node
@pytest.mark.parametrize("path", [SITE_JS, SW_JS, VERIFY_JS], ids=lambda p: p.name)
def test_javascript_syntax(path: Path) -> None:
    run = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_service_worker_contract() -> None:
    sw = SW_JS.read_text(encoding="utf-8")
    assert sw.count("__BUILD_ID__") == 1 and 'var VERSION = "__BUILD_ID__";' in sw
    for url in ("./", "./index.html", "./offline.html", "./assets/site.css", "./assets/site.js"):
        assert f'"{url}"' in sw
    assert '"./manifest.webmanifest"' in sw
    assert '"cache-course"' in sw
    # certificate checks offline: the verify page, its assets and both lists
    shell = re.search(r"var SHELL = \[(.*?)\];", sw, re.S)
    assert shell is not None
    for url in (
        "./verify/",
        "./verify/index.html",
        "./verify/keys.json",
        "./verify/revoked.json",
        "./assets/verify.js",
        "./assets/verify.css",
    ):
        assert f'"{url}"' in shell.group(1), url
    # JSON (the key and revocation lists) is network first: a newer list replaces the cached
    assert r"/\.json$/.test(url.pathname)" in sw


def test_verify_script_keeps_the_token_on_the_page() -> None:
    """The token goes into one request only (the server check button) and no log."""
    code = without_comments(VERIFY_JS.read_text(encoding="utf-8"))
    assert "console." not in code
    assert "localStorage" not in code and "sessionStorage" not in code
    assert code.count("W.fetch(") == 2  # the key/revocation lists, and the server check
    assert code.count('"/certificates/verify"') == 1
    assert 'credentials: "omit"' in code
    assert 'importKey("raw", found[p.kid], { name: "Ed25519" }, false, ["verify"])' in code
    assert "t.sig, t.bytes)" in code  # the exact signed bytes, not a re-serialisation


def test_manifest_and_icon() -> None:
    manifest = json.loads((STATIC / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["name"] == "Tập huấn bảo vệ trẻ em"
    assert manifest["short_name"] == "Tập huấn"
    assert manifest["start_url"] == "." and manifest["scope"] == "."
    assert manifest["display"] == "standalone" and manifest["lang"] == "vi"
    icon = manifest["icons"][0]
    assert icon["src"] == "assets/icon.svg" and icon["sizes"] == "any"
    svg = ET.fromstring((STATIC / icon["src"]).read_text(encoding="utf-8"))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"


def test_css_covers_the_essentials() -> None:
    css = SITE_CSS.read_text(encoding="utf-8")
    for needle in (
        ":focus-visible",
        "overflow-wrap: anywhere",
        ".table-wrap",
        "min-height: 44px",
        ".skip",
        "prefers-reduced-motion",
        "@media print",
        ".quiz-result",
        "/1.6 ",  # line height, in the body's font shorthand
    ):
        assert needle in css, needle


# --------------------------------------------- browser marking == server marking


def _course_quizzes() -> list[Quiz]:
    types = {t.name: t for t in lms_exercise_types()}
    quizzes = []
    for folder in sorted((ROOT / "courses").iterdir()):
        if folder.is_dir():
            course = load_course(folder, types=types)
            assert not course.problems, course.problems
            quizzes += [e.exercise for lesson in course.lessons for e in lesson.exercises]
    assert len(quizzes) >= 10
    return quizzes


def _rule_quizzes() -> list[Quiz]:
    """Quizzes reaching every rule: credits, scoring modes, accents, ranges, equal texts…"""
    o = Option
    questions: list[Any] = [
        SingleChoice(
            id="single",
            prompt="p",
            points=0.25,
            feedback="chung",
            options=[
                o(id="a", text="A", correct=True, feedback="fa"),
                o(id="b", text="B", credit=0.5, feedback="fb"),
                o(id="c", text="C", credit=-0.5),
                o(id="d", text="D", fixed=True),
            ],
        ),
        MultipleChoice(
            id="partial",
            prompt="p",
            points=1.5,
            options=[o(id=x, text=x.upper(), correct=x in "ace", feedback=x) for x in "abcde"],
        ),
        MultipleChoice(
            id="aon",
            prompt="p",
            scoring="all-or-nothing",
            options=[o(id=x, text=x, correct=x in "ab") for x in "abcd"],
        ),
        MultipleChoice(
            id="credits",
            prompt="p",
            points=3,
            options=[
                o(id="a", text="A", correct=True, credit=0.5),
                o(id="b", text="B", correct=True),
                o(id="c", text="C", credit=-0.5),
                o(id="d", text="D", credit=0.3333),
                o(id="e", text="E"),
            ],
        ),
        MultipleChoice(id="none-right", prompt="p", options=[o(id=x, text=x) for x in "abc"]),
        TrueFalse(id="tf", prompt="p", answer=False, feedback_true="ft", feedback_false="ff"),
        ShortAnswer(
            id="short",
            prompt="p",
            answers=[
                AcceptedAnswer(text="Sở Y tế", feedback="đúng"),
                AcceptedAnswer(text="SYT", credit=0.5, feedback="viết tắt"),
                AcceptedAnswer(text="sở  y TẾ", credit=0.25),
            ],
        ),
        ShortAnswer(
            id="plain",
            prompt="p",
            ignore_accents=True,
            answers=[AcceptedAnswer(text="Đồng Hới"), AcceptedAnswer(text="Straße", credit=0.75)],
        ),
        Numeric(
            id="numeric",
            prompt="p",
            points=2,
            answers=[
                NumericAnswer(low=18.2 - 0.5, high=18.2 + 0.5, source="18,2 ± 0,5"),
                NumericAnswer(low=30, high=60, source="30..60", credit=0.5, feedback="gần"),
                NumericAnswer(low=-3, high=-3, source="-3", credit=0.2),
                NumericAnswer(low=0.1 + 0.2, high=0.1 + 0.2, source="0,1+0,2", credit=0.4),
            ],
        ),
        Matching(
            id="matching",
            prompt="p",
            points=3,
            pairs=[
                Pair(id="p1", left="A", right="X"),
                Pair(id="p2", left="B", right="X"),
                Pair(id="p3", left="C", right="Y"),
                Pair(id="p4", left="", right="Z"),
                Pair(id="p5", left="", right="Y"),
            ],
        ),
        Ordering(
            id="ordering",
            prompt="p",
            points=0.125,  # quarters of it tie at the 5th decimal: round() half to even
            items=[Item(id=f"i{n}", text=t) for n, t in enumerate(["một", "hai", "một", "ba"])],
        ),
        FillBlanks(
            id="blanks",
            prompt="p",
            segments=["Trẻ em dưới ", " tuổi, ở ", ", ", "."],
            ignore_accents=True,
            gaps=[
                Gap(id="g1", answers=["16", "mười sáu"]),
                Gap(id="g2", answers=["Đà Nẵng"]),
                Gap(id="g3", answers=["Việt Nam", "VN"]),
            ],
        ),
        FillBlanks(
            id="exact-blanks",
            prompt="p",
            segments=["", " và ", ""],
            gaps=[Gap(id="g1", answers=["má"]), Gap(id="g2", answers=["Mà"])],
        ),
    ]
    scenario = Scenario(
        id="case",
        title="Tình huống",
        description="d",
        questions=[
            SingleChoice(
                id="sc1",
                prompt="p",
                options=[o(id="a", text="A"), o(id="b", text="B", correct=True)],
            ),
            TrueFalse(id="sc2", prompt="p", answer=True, points=0.125),
        ],
    )
    return [
        Quiz(id="rules", entries=[*questions, scenario], shuffle_options=True, pass_mark=62.5),
        Quiz(
            id="drawn",
            graded=True,
            pass_mark=50,
            shuffle_options=True,
            shuffle_questions=True,
            draw=[DrawRule(count=6)],
            entries=[*questions, scenario],
        ),
    ]


GARBAGE: list[Any] = [None, 0, 1, -1.5, True, False, "", "x", [], {}, ["zz"], {"zz": "yy"}, 10**400]


def _variants(text: str) -> list[str]:
    """Ways a learner may type ``text``: case, spacing, composed or not, accents off."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return [
        text,
        text.upper(),
        f"  {text.replace(' ', '   ')}\t",
        unicodedata.normalize("NFD", text),
        plain,
        plain.lower(),
        text + "x",
        text.replace(" ", "\u00a0"),
    ]


def _numbers(key: dict[str, Any]) -> list[Any]:
    out: list[Any] = ["abc", "1,2,3", "1.5,2", "nan", "inf", "1_000", "0x10", ".5", "5.", "1e1"]
    for a in key["answers"]:
        for value in (a["low"], a["high"], (a["low"] + a["high"]) / 2, a["low"] - 0.01):
            out += [value, str(value), str(value).replace(".", ","), f" {value} ", f"{value:.6g}"]
            out.append(str(value).replace("-", "\u2212"))
    return out


def _answer(rng: random.Random, q: dict[str, Any], key: dict[str, Any], full: Any) -> Any:
    """A random answer to question ``q`` of the public view, as a form (or a tamperer) sends it."""
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(GARBAGE)
    if roll < 0.3:
        return full
    kind = q["kind"]
    if kind == "single":
        return rng.choice([o["id"] for o in q["options"]])
    if kind == "multiple":
        ids = [o["id"] for o in q["options"]]
        picked = rng.sample(ids, rng.randint(0, len(ids)))
        if rng.random() < 0.2:
            picked += [rng.choice(ids), "unknown", 7]
        return picked
    if kind == "truefalse":
        return rng.choice([True, False, "true", " FALSE ", "True", "đúng", "yes", 1, "falſe"])
    if kind == "short":
        texts = [a["text"] for a in key["answers"]] + ["sai", ""]
        return rng.choice(_variants(rng.choice(texts)))
    if kind == "numeric":
        return rng.choice(_numbers(key))
    if kind == "matching":
        rights = [r["id"] for r in q["right"]]
        answer = {p["id"]: rng.choice(rights) for p in q["left"] if rng.random() < 0.8}
        if rng.random() < 0.2:
            answer["unknown"] = rights[0]
        return answer
    if kind == "ordering":
        ids = [i["id"] for i in q["items"]]
        rng.shuffle(ids)
        if rng.random() < 0.2:
            ids = [*ids[:-1], ids[0], ids[0]]
        return ids
    gaps = [g["id"] for g in q["gaps"]]
    typed = [rng.choice(_variants(rng.choice([*key["gaps"][g], "sai"]))) for g in gaps]
    if rng.random() < 0.3:
        return typed
    return {g: t for g, t in zip(gaps, typed, strict=True) if rng.random() < 0.85}


def _flat(view: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in view["entries"]:
        out += entry["questions"] if entry["kind"] == "scenario" else [entry]
    return out


def _cases(quizzes: list[Quiz], seeds: range, per_seed: int) -> list[dict[str, Any]]:
    rng = random.Random(20261129)
    cases = []
    for quiz in quizzes:
        for seed in seeds:
            view = public_view(quiz, seed=seed)
            key = practice_key(quiz, seed=seed)
            for n in range(per_seed):
                if n == 0:
                    response: Any = dict(key["answers"])
                elif n % 25 == 1:
                    response = rng.choice([None, [], "x", 3])
                else:
                    response = {
                        q["id"]: _answer(rng, q, key["questions"][q["id"]], key["answers"][q["id"]])
                        for q in _flat(view)
                        if rng.random() < 0.9
                    }
                grade = grade_quiz(quiz, response, seed=seed)
                cases.append(
                    {
                        "view": view,
                        "key": key,
                        "response": response,
                        "expected": {
                            "score": grade.score,
                            "max": grade.max_score,
                            "passed": grade.passed,
                            "questions": {
                                g.id: {
                                    "points": g.points,
                                    "correct": g.correct,
                                    "feedback": sorted(g.feedback),
                                }
                                for g in grade.questions
                            },
                        },
                    }
                )
    return cases


def _javascript_grades(cases: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    fixture = tmp_path / "cases.json"
    fixture.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run(
        [NODE, str(GRADE_TEST), str(fixture)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _compare(cases: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    assert len(got) == len(cases)
    for case, js in zip(cases, got, strict=True):
        for q in js["questions"].values():
            q["feedback"] = sorted(q["feedback"])
        where = (case["view"]["id"], case["response"])
        assert js == case["expected"], where


@needs_node
def test_node_self_checks() -> None:
    run = subprocess.run([NODE, str(GRADE_TEST)], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


@needs_node
def test_browser_marks_course_quizzes_like_the_server(tmp_path: Path) -> None:
    cases = _cases(_course_quizzes(), range(3), 40)
    _compare(cases, _javascript_grades(cases, tmp_path))


@needs_node
def test_browser_marks_every_rule_like_the_server(tmp_path: Path) -> None:
    cases = _cases(_rule_quizzes(), range(6), 150)
    full = [c for c in cases if c["expected"]["score"] == c["expected"]["max"]]
    partial = [c for c in cases if 0 < c["expected"]["score"] < c["expected"]["max"]]
    assert full and len(partial) > 100  # the random answers reach the interesting cases
    _compare(cases, _javascript_grades(cases, tmp_path))


@needs_node
def test_browser_sha256_and_result_files_match_python(tmp_path: Path) -> None:
    """The browser hashes result files itself (crypto.subtle is missing on plain
    HTTP and file://): its SHA-256 must be the real one, and its files must be
    what ``lms results import`` reads."""
    import hashlib

    from lms_core.services.sync import read_result_file

    rng = random.Random(7)
    inputs = ["", "abc", "a" * 55, "a" * 56, "a" * 64, "Nguyễn Thị Thu Hà", "😀 trẻ em 😀"]
    for _ in range(150):
        inputs.append(
            "".join(
                chr(rng.choice([rng.randint(32, 126), rng.randint(0xA0, 0x2FFF), 0x1F600]))
                for _ in range(rng.randint(0, 300))
            )
        )
    cases = tmp_path / "inputs.json"
    cases.write_text(json.dumps(inputs), encoding="utf-8")
    assert NODE is not None
    run = subprocess.run(
        [NODE, str(ROOT / "tests" / "js" / "result_file.mjs"), str(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    outputs = json.loads(run.stdout)
    for text, (digest, _file) in zip(inputs, outputs, strict=True):
        assert digest == hashlib.sha256(text.encode("utf-8")).hexdigest(), text
    for i in (1, 5, 6, 20):
        path = tmp_path / f"ket-qua-{i}.json"
        path.write_text(outputs[i][1], encoding="utf-8")
        read = read_result_file(path)
        assert read.staff_code == "NB001"
        assert read.items[0].lesson == (inputs[i][:60] or "x")


# ------------------------------------------------ certificate check (verify.js)


@needs_node
def test_verify_script_gives_the_contracts_verdicts(tmp_path: Path) -> None:
    """assets/verify.js under Node's WebCrypto, on tokens signed as docs/certificates.md
    says: each verdict, and no change to a signed token's payload is ever valid."""
    import base64
    import hashlib

    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def b64u(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    def raw(key: Any) -> bytes:
        return bytes(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def kid(key: Any) -> str:
        return hashlib.sha256(raw(key)).hexdigest()[:16]

    def signed(key: Any, data: bytes) -> str:
        return b64u(data) + "." + b64u(key.sign(data))

    def canonical(payload: dict[str, Any]) -> bytes:
        payload = {
            k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v
            for k, v in payload.items()
        }
        return json.dumps(
            payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")

    active, retired, stranger, liar = (ed25519.Ed25519PrivateKey.generate() for _ in range(4))
    keys = {
        "keys": [
            {
                "kid": kid(k),
                "alg": "Ed25519",
                "public_key": b64u(raw(k)),
                "created": "2026-01-01",
                "retired": r,
            }
            for k, r in ((retired, "2026-01-01"), (active, None))
        ]
        # a listed key whose kid is not its own: tokens naming that kid are forged
        + [
            {
                "kid": kid(stranger),
                "alg": "Ed25519",
                "public_key": b64u(raw(liar)),
                "created": "2026-01-01",
                "retired": None,
            }
        ]
    }
    revoked = {
        "updated": "2026-11-28T09:15:00Z",
        "revoked": [{"serial": "S-9", "revoked_on": "2026-11-25"}],
    }
    base = {
        "v": 1,
        "kid": kid(active),
        "serial": "37-2026-000123",
        "name": "Lê Thị Ánh Tuyết",
        "unit": "Xã Đắk Pơ",
        "position": "",
        "course": "c",
        "title": "Tiêu đề",
        "version": 2,
        "completed": "2026-03-01",
        "score": 100.0,
        "issued": "2026-03-02",
        "valid_until": "2099-03-01",
        "issuer": "Sở Y tế",
        "prev": None,
    }
    expected: list[str] = []
    tokens: list[str] = []

    def case(verdict: str, token: str) -> None:
        expected.append(verdict)
        tokens.append(token)

    case("valid", signed(active, canonical(base)))
    case("valid", signed(retired, canonical({**base, "kid": kid(retired)})))
    case("valid", signed(active, canonical({**base, "score": None, "valid_until": None})))
    case("revoked", signed(active, canonical({**base, "serial": "S-9"})))
    case("expired", signed(active, canonical({**base, "valid_until": "2001-01-01"})))
    case("forged", signed(stranger, canonical(base)))
    case("forged", signed(stranger, canonical({**base, "kid": kid(stranger)})))
    case("forged", signed(liar, canonical({**base, "kid": kid(stranger)})))
    case("forged", signed(stranger, canonical({**base, "kid": "0" * 16})))
    case("unreadable", signed(active, canonical({**base, "v": 2})))
    case("unreadable", signed(active, canonical({**base, "score": "100"})))
    case("unreadable", signed(active, canonical({**base, "extra": 1})))
    case("unreadable", "")
    case("unreadable", "not a token")
    good = signed(active, canonical(base))
    case("unreadable", good[:-2])  # a signature one byte short
    case("unreadable", good + "AA")
    case("unreadable", good.replace(".", ".."))
    case("unreadable", good + "=")
    case("unreadable", signed(active, canonical({**base, "name": "x" * 9000})))
    case("unreadable", signed(active, b"\xef\xbb\xbf[]"))
    case("valid", signed(active, b"\xef\xbb\xbf" + canonical(base)))  # a BOM, as TextDecoder
    case("valid", signed(active, canonical({**base, "version": 2.0, "v": 1.0})))
    case("unreadable", signed(active, canonical({**base, "completed": "0000-01-01"})))
    case("valid", signed(active, canonical({**base, "completed": "0099-01-01"})))
    case("valid", "\u3000" + good[:30] + "\x1c\n" + good[30:] + "\x85")
    rng = random.Random(11)
    data = canonical(base)
    signature = b64u(active.sign(data))
    for i in range(len(data)):
        changed = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
        case("never valid", b64u(changed) + "." + signature)
    body = b64u(data)
    for i in range(len(body)):
        c = rng.choice(
            [
                c
                for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                if c != body[i]
            ]
        )
        case("never valid", body[:i] + c + body[i + 1 :] + "." + signature)
    # as pasted: the whole link, wrapped over lines
    case("valid", " https://x.example/verify/#" + body[:50] + "\n" + body[50:] + "." + signature)

    def run(keys_json: Any, revoked_json: Any, tokens: list[str]) -> dict[str, Any]:
        cases = tmp_path / "verify.json"
        cases.write_text(
            json.dumps({"keys": keys_json, "revoked": revoked_json, "tokens": tokens}),
            encoding="utf-8",
        )
        assert NODE is not None
        done = subprocess.run(
            [NODE, str(ROOT / "tests" / "js" / "verify_test.mjs"), str(cases)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    out = run(keys, revoked, tokens)
    python: Any = None
    try:  # the other verifiers (lms certificates verify, the server) must say the same
        python = importlib.import_module("lms_certificates.token")
        token_from_text = importlib.import_module("lms_certificates.extract").token_from_text
    except ImportError:
        pass
    if python is not None:
        import datetime as dt

        listed = {kid(k): raw(k) for k in (active, retired)}
        today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
        said = [
            python.verify_token(
                token_from_text(t),
                keys=listed,
                revoked=python.revoked_from_json(revoked),
                today=today,
            ).verdict
            for t in tokens
        ]
        assert out["verdicts"] == said
    for want, got, token in zip(expected, out["verdicts"], tokens, strict=True):
        if want == "never valid":
            assert got in ("forged", "unreadable"), token
        else:
            assert got == want, (want, got, token)
    assert out["verdicts"].count("forged") > 50 and out["verdicts"].count("unreadable") > 50
    # the key and revocation lists beside the page; nothing else, never a token
    assert sorted(set(out["asked"])) == [
        "https://taphuan.example.gov.vn/tap-huan/verify/keys.json",
        "https://taphuan.example.gov.vn/tap-huan/verify/revoked.json",
    ]
    # no revocation list: the signature still decides; no key list: no verdict at all
    out = run(keys, None, tokens[:6])
    assert out["verdicts"] == ["valid", "valid", "valid", "valid", "expired", "forged"]
    out = run(None, revoked, tokens[:2])
    assert out["verdicts"] == ["state:none", "state:none"]
