"""Quiz grading: ``lms_quiz`` against a plain-Python baseline that only compares answers.

Target (issue 3): ours within 3x of the baseline.  Ours parses a 20-question
graded quiz (all question types) once, then grades 10,000 generated
responses, each for its own attempt seed (so option ids and order differ per
attempt, as on the server).  The baseline gets each attempt's answer key
precomputed (in the attempt's public ids) and compares answers by type with
the simplest correct rules (normalised text, parsed numbers, partial credit
for multiple choice, share of pairs/positions/gaps): no id mapping, no
feedback, no result objects.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Benchmark, Side
from lms_core.exercises import extract_blocks
from lms_quiz.grading import grade_quiz
from lms_quiz.model import Quiz
from lms_quiz.parse import parse_quiz
from lms_quiz.view import practice_key, public_view

QUESTIONS = [
    "? Tổng đài quốc gia bảo vệ trẻ em là số nào?\n- ( ) 113\n- (x) 111\n- ( ) 115\n",
    "? Những dấu hiệu nào có thể cho thấy trẻ bị bạo lực?\n- [x] Vết bầm tím\n"
    "- [x] Sợ hãi người lớn\n- [ ] Thích thể thao\n- [x] Thay đổi hành vi\n",
    "? Trẻ em là người dưới 16 tuổi.\nanswer: đúng\n",
    "? Cơ quan thường trực về công tác trẻ em của tỉnh?\n= Sở Y tế\n= SYT\n",
    "? Tỉ lệ phần trăm trẻ suy dinh dưỡng thấp còi?\n= 18,2 ± 0,5\n",
    "? Nối cơ quan với nhiệm vụ.\n- Sở Y tế -> Dinh dưỡng\n- Sở GD&ĐT -> Trường học an toàn\n"
    "- Công an tỉnh -> Phòng chống tội phạm\n- -> Cấp giấy khai sinh\n",
    "? Sắp xếp các bước xử lý.\ntype: ordering\n1. Tiếp nhận\n2. Báo cáo\n3. Đánh giá\n"
    "4. Theo dõi\n",
    "? Trẻ em là người dưới [[16|mười sáu]] tuổi; từ đủ [[16]] đến dưới [[18]] tuổi là "
    "người chưa thành niên.\n",
]


def _quiz() -> Quiz:
    body = "\n".join(QUESTIONS[i % len(QUESTIONS)] for i in range(20))
    text = f"```quiz id=bench graded pass=80 shuffle\n{body}```\n"
    blocks, _ = extract_blocks(text, file="bench.md", kinds={"quiz": None})
    return parse_quiz(blocks[0])


def _answer(question: dict[str, Any], rng: random.Random) -> object:
    """A random but well-formed answer built from the public view's ids."""
    kind = question.get("kind")
    options = [o["id"] for o in question.get("options", [])]
    if kind == "single":
        return rng.choice(options)
    if kind == "multiple":
        return rng.sample(options, rng.randint(1, len(options)))
    if kind == "truefalse":
        return rng.random() < 0.5
    if kind == "short":
        return rng.choice(["Sở Y tế", "so y te", "SYT", "Công an"])
    if kind == "numeric":
        return rng.choice(["18,2", "18.5", "20", "abc"])
    if kind == "matching":
        rights = [r["id"] for r in question["right"]]
        return {left["id"]: rng.choice(rights) for left in question["left"]}
    if kind == "ordering":
        items = [i["id"] for i in question["items"]]
        rng.shuffle(items)
        return items
    if kind == "blanks":
        return [rng.choice(["16", "mười sáu", "18", "x"]) for _ in question["gaps"]]
    return None


def _questions(view: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in view["entries"]:
        out.extend(entry["questions"] if entry.get("kind") == "scenario" else [entry])
    return out


def _workload(count: int) -> tuple[Quiz, list[tuple[int, dict[str, object]]]]:
    quiz = _quiz()
    rng = random.Random(3)
    work = []
    for seed in range(count):
        view = public_view(quiz, seed=seed)
        response = {q["id"]: _answer(q, rng) for q in _questions(view)}
        work.append((seed, response))
    return quiz, work


def _ours(quiz: Quiz, work: list[tuple[int, dict[str, object]]]) -> Callable[[], object]:
    def run() -> object:
        return sum(grade_quiz(quiz, response, seed=seed).score for seed, response in work)

    return run


def _norm(text: object) -> str:
    return " ".join(str(text).casefold().split())


def _baseline_key(quiz: Quiz, seed: int) -> dict[str, tuple[str, Any]]:
    """Per question: its kind and what a right answer is, in the attempt's ids."""
    key = practice_key(quiz, seed=seed)
    out: dict[str, tuple[str, Any]] = {}
    for qid, q in key["questions"].items():
        kind = q["kind"]
        if kind == "short":
            out[qid] = (kind, {_norm(a["text"]) for a in q["answers"]})
        elif kind == "numeric":
            out[qid] = (kind, [(a["low"], a["high"]) for a in q["answers"]])
        elif kind == "blanks":
            out[qid] = (kind, [{_norm(a) for a in answers} for answers in q["gaps"].values()])
        elif kind == "multiple":
            out[qid] = (kind, set(key["answers"][qid]))
        else:
            out[qid] = (kind, key["answers"][qid])
    return out


def _compare(kind: str, right: Any, answer: Any) -> float:
    """The least a grader must do: compare one answer, by type, with no feedback."""
    if kind == "short":
        return float(isinstance(answer, str) and _norm(answer) in right)
    if kind == "numeric":
        try:
            value = float(str(answer).replace(",", "."))
        except ValueError:
            return 0.0
        return float(any(low <= value <= high for low, high in right))
    if kind == "multiple":
        if not isinstance(answer, list):
            return 0.0
        ticked = set(answer)
        return max(0.0, (len(ticked & right) - len(ticked - right)) / len(right))
    if kind == "matching":
        if not isinstance(answer, dict):
            return 0.0
        return sum(answer.get(k) == v for k, v in right.items()) / len(right)
    if kind == "ordering":
        if not isinstance(answer, list):
            return 0.0
        return sum(a == b for a, b in zip(answer, right, strict=False)) / len(right)
    if kind == "blanks":
        if not isinstance(answer, list):
            return 0.0
        hits = sum(_norm(a) in ok for a, ok in zip(answer, right, strict=False))
        return hits / len(right)
    return float(answer == right)


def _baseline(quiz: Quiz, work: list[tuple[int, dict[str, object]]]) -> Callable[[], object]:
    keys = [_baseline_key(quiz, seed) for seed, _ in work]

    def run() -> object:
        total = 0.0
        for (_, response), key in zip(work, keys, strict=True):
            for qid, (kind, right) in key.items():
                total += _compare(kind, right, response.get(qid))
        return total

    return run


def benchmark(*, quick: bool) -> Benchmark:
    """10,000 responses (1,000 with --quick) to a 20-question graded quiz."""
    count = 1_000 if quick else 10_000
    quiz, work = _workload(count)
    return Benchmark(
        name="quiz_grading",
        description=f"{count:,} responses × 20 questions",
        ours=Side("lms_quiz grade_quiz", lambda: _ours(quiz, work)),
        anchors=(Side("plain-Python compare", lambda: _baseline(quiz, work)),),
        target="ours ≤ 3× the baseline",
        rows=count,
    )
