"""The Aiken format: the simplest multiple-choice exchange format Moodle reads.

Trainers often have questions typed in Word as "question, A. B. C. D.,
ANSWER: B"; Aiken is that habit made strict, so it is worth importing::

    Trẻ em là người dưới bao nhiêu tuổi?
    A. 15
    B) 16
    C. 18
    ANSWER: B

A question is its text (one line, or several up to the first option), two or
more options ``A.`` or ``A)`` (a capital letter, a dot or a bracket, a space),
then ``ANSWER: <letter>``.  Blank lines are optional.  Like the GIFT importer,
every question that cannot be converted is reported with its line and the
reason (no ``ANSWER``, a letter that is not an option, fewer than two
options, an option twice) and the others are imported.

Beyond Moodle: ``ANSWER: A, C`` (several letters) gives a multiple-choice
question rather than an error, and the letter is read case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from lms_core.errors import LmsError, Problem
from lms_core.exercises import check_id
from lms_core.text import nfc
from lms_quiz.gift import ImportResult
from lms_quiz.model import MultipleChoice, Option, Question, Quiz, SingleChoice
from lms_quiz.write import answer_text, option_id, protect_lines, question_id

__all__ = ["import_aiken"]

_OPTION = re.compile(r"^([A-Z])[.)][ \t]+(.*)$")
_ANSWER = re.compile(r"^ANSWER\s*:\s*(.*)$", re.IGNORECASE)

_MESSAGES: dict[str, tuple[str, str]] = {
    "binary": (
        "the file contains binary data (NUL bytes); it is not an Aiken text file",
        "tệp chứa dữ liệu nhị phân (byte NUL), không phải tệp văn bản Aiken",
    ),
    "no_answer": (
        "the question has no 'ANSWER:' line",
        "câu hỏi thiếu dòng 'ANSWER:'",
    ),
    "no_answer.hint": (
        "end each question with a line 'ANSWER: B' right after its options",
        "hãy kết thúc mỗi câu hỏi bằng dòng 'ANSWER: B' ngay sau các phương án",
    ),
    "answer_alone": (
        "'ANSWER:' line without a question before it",
        "dòng 'ANSWER:' không đi sau câu hỏi nào",
    ),
    "answer_alone.hint": (
        "write the question and its options A. B. … above it",
        "hãy viết câu hỏi và các phương án A. B. … phía trên",
    ),
    "answer_empty": ("'ANSWER:' has no letter", "dòng 'ANSWER:' chưa ghi chữ cái"),
    "answer_empty.hint": ("e.g. 'ANSWER: B'", "ví dụ 'ANSWER: B'"),
    "answer_unknown": (
        "answer '{letter}' is not one of the options {letters}",
        "đáp án '{letter}' không nằm trong các phương án {letters}",
    ),
    "answer_unknown.hint": (
        "write the letter of one of the options",
        "hãy ghi chữ cái của một trong các phương án",
    ),
    "few_options": (
        "a question needs at least 2 options; this one has {count}",
        "câu hỏi cần ít nhất 2 phương án; câu này có {count}",
    ),
    "few_options.hint": (
        "write each option on its own line: 'A. …', 'B. …'",
        "hãy viết mỗi phương án trên một dòng: 'A. …', 'B. …'",
    ),
    "no_text": ("options without a question text", "có phương án nhưng thiếu nội dung câu hỏi"),
    "no_text.hint": (
        "write the question on the line above 'A.'",
        "hãy viết câu hỏi ở dòng phía trên 'A.'",
    ),
    "letter_twice": (
        "option {letter} is written twice (line {first})",
        "phương án {letter} bị viết hai lần (dòng {first})",
    ),
    "letter_twice.hint": ("give each option its own letter", "mỗi phương án một chữ cái riêng"),
    "option_empty": ("option {letter} has no text", "phương án {letter} chưa có nội dung"),
    "option_duplicate": (
        "option '{text}' is written twice",
        "phương án '{text}' bị lặp lại",
    ),
    "option_duplicate.hint": (
        "remove one of the two or reword it",
        "hãy xóa hoặc sửa lại một trong hai",
    ),
    "model_invalid": (
        "this question cannot be stored: {detail}",
        "không lưu được câu hỏi này: {detail}",
    ),
}


def _msg(key: str, language: str, **fields: object) -> str:
    english, vietnamese = _MESSAGES[key]
    template = vietnamese if language == "vi" else english
    # Templates without fields are literal (several show GIFT braces: '{}', {#1..5}).
    return template.format(**fields) if fields else template


@dataclass(slots=True)
class _Pending:
    """A question being read: its text lines and options so far."""

    line: int
    text: list[str] = field(default_factory=list)
    options: list[tuple[str, str, int, int]] = field(default_factory=list)
    """(letter, text, line, column of the text)"""


class _Fail(Exception):  # noqa: N818 - a control-flow signal, not an error type
    def __init__(self, line: int, col: int, key: str, **fields: object) -> None:
        super().__init__(key)
        self.line, self.col, self.key, self.fields = line, col, key, fields


def _build(pending: _Pending, answer: str, answer_line: int, answer_col: int) -> Question:
    if not pending.text:
        raise _Fail(pending.line, 1, "no_text")
    if len(pending.options) < 2:
        raise _Fail(pending.line, 1, "few_options", count=len(pending.options))
    first_line: dict[str, int] = {}
    texts: set[str] = set()
    for letter, text, line, col in pending.options:
        if letter in first_line:
            raise _Fail(line, 1, "letter_twice", letter=letter, first=first_line[letter])
        first_line[letter] = line
        if not text:
            raise _Fail(line, col, "option_empty", letter=letter)
        folded = " ".join(text.casefold().split())  # the quiz syntax's notion of "the same"
        if folded in texts:
            raise _Fail(line, col, "option_duplicate", text=text)
        texts.add(folded)
    letters = [part.strip().upper() for part in re.split(r"[,;\s]+", answer) if part.strip()]
    if not letters:
        raise _Fail(answer_line, answer_col, "answer_empty")
    known = [letter for letter, _, _, _ in pending.options]
    for letter in letters:
        if letter not in known:
            raise _Fail(
                answer_line, answer_col, "answer_unknown", letter=letter, letters=", ".join(known)
            )
    options = [
        Option(id=option_id(n), text=text, correct=letter in letters)
        for n, (letter, text, _, _) in enumerate(pending.options, 1)
    ]
    prompt = protect_lines("\n".join(pending.text))
    if len(set(letters)) > 1:
        return MultipleChoice(id="x", prompt=prompt, options=options, line=pending.line)
    return SingleChoice(id="x", prompt=prompt, options=options, line=pending.line)


def import_aiken(
    text: str,
    *,
    file: str,
    quiz_id: str,
    language: str = "vi",
    graded: bool = False,
) -> ImportResult:
    """Read Aiken ``text`` into one quiz (id ``quiz_id``); never raises on bad input.

    Questions get the default ids ``q1``, ``q2``… in order (Aiken has no
    titles) and options ``a``, ``b``…; what cannot be converted is in
    ``skipped`` with its line.  Raises :class:`LmsError` only for an invalid
    ``quiz_id``.
    """
    if not check_id(quiz_id):
        raise LmsError(
            f"quiz id '{quiz_id}' is not valid: use letters without accents, digits, '-' "
            "and '_' (at most 64), e.g. kiem-tra-1"
        )
    skipped: list[Problem] = []

    def skip(line: int, col: int, key: str, **fields: object) -> None:
        hint_key = key + ".hint"
        hint = _msg(hint_key, language) if hint_key in _MESSAGES else ""
        skipped.append(Problem(file, line, col, _msg(key, language, **fields), hint))

    if "\x00" in text:
        skip(0, 0, "binary")
        return ImportResult(None, skipped)
    text = nfc(text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))

    questions: list[Question] = []
    pending: _Pending | None = None
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        if not line:
            continue
        answer = _ANSWER.match(line)
        option = _OPTION.match(line)
        if answer:
            if pending is None:
                skip(number, indent + 1, "answer_alone")
                continue
            col = indent + answer.start(1) + 1
            try:
                questions.append(_build(pending, answer.group(1), number, col))
            except _Fail as fail:
                skip(fail.line, fail.col, fail.key, **fail.fields)
            except ValidationError as exc:
                skip(pending.line, 1, "model_invalid", detail=str(exc.errors()[0].get("msg")))
            pending = None
        elif option:
            if pending is None:
                pending = _Pending(number)
            pending.options.append(
                (
                    option.group(1),
                    answer_text(option.group(2)),  # as the writer writes it: "{5}" escaped
                    number,
                    indent + option.start(2) + 1,
                )
            )
        else:
            if pending is not None and pending.options:
                skip(pending.line, 1, "no_answer" if pending.text else "no_text")
                pending = None
            if pending is None:
                pending = _Pending(number)
            pending.text.append(line)
    if pending is not None:
        skip(pending.line, 1, "no_answer" if pending.text else "no_text")

    if not questions:
        return ImportResult(None, skipped)
    entries = [q.model_copy(update={"id": question_id(n)}) for n, q in enumerate(questions, 1)]
    return ImportResult(Quiz(id=quiz_id, graded=graded, entries=entries), skipped)
