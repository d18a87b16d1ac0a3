"""Hook implementations of the quiz plugin: the ``quiz`` exercise type and ``lms quiz``.

Registered through the ``lms`` entry-point group (``quiz = "lms_quiz.plugin"``),
exactly like a third-party plugin.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from lms_core.errors import InputFileError, LmsError, Problem
from lms_core.exercises import Block, ExerciseType, Grade, Interaction, extract_blocks
from lms_core.hookspecs import hookimpl
from lms_core.text import read_utf8
from lms_quiz.aiken import import_aiken
from lms_quiz.analysis import QuizItems
from lms_quiz.analysis import load as load_for_analysis
from lms_quiz.attempt import selected_questions
from lms_quiz.gift import ImportResult, export_gift, import_gift
from lms_quiz.grading import grade_quiz
from lms_quiz.model import Quiz
from lms_quiz.parse import parse_quiz
from lms_quiz.render import render_quiz
from lms_quiz.view import full_marks, public_view
from lms_quiz.write import write_lesson
from lms_quiz.xapi import interactions


class QuizType:
    """The ``quiz`` exercise type (see docs/authoring-quizzes.md)."""

    name = "quiz"
    model = Quiz

    def parse(self, block: Block) -> Quiz:
        return parse_quiz(block)

    def public_view(self, exercise: Quiz, *, seed: int) -> dict[str, Any]:
        return public_view(exercise, seed=seed)

    def render(self, exercise: Quiz, *, seed: int, language: str) -> str:
        return render_quiz(exercise, seed=seed, language=language)

    def grade(self, exercise: Quiz, response: object, *, seed: int) -> Grade:
        return grade_quiz(exercise, response, seed=seed)

    def interactions(self, exercise: Quiz) -> list[Interaction]:
        return interactions(exercise)

    def analyse(self, data: Mapping[str, Any]) -> QuizItems:
        """A stored quiz ready for item analysis (an optional method of exercise
        types, used by :func:`lms_core.services.reports.item_analysis`): maps
        each attempt's public ids back to the author's questions and options."""
        return load_for_analysis(data)

    def sample_response(
        self, exercise: Quiz, *, seed: int, skill: float, rng: random.Random
    ) -> dict[str, object]:
        """A plausible learner's response: each question right with chance ``skill``.

        For demos, load tests and benchmarks (an optional method of exercise
        types): right answers are full-marks responses, the others are left
        unanswered, which scores nothing.
        """
        return {
            q.id: full_marks(exercise, q, seed=seed)
            for q in selected_questions(exercise, seed=seed)
            if rng.random() < skill
        }


QUIZ_TYPE = QuizType()


@hookimpl
def lms_exercise_types() -> list[ExerciseType[Any]]:
    return [QUIZ_TYPE]


# ---------------------------------------------------------------- lms quiz …


@click.group("quiz")
def quiz_group() -> None:
    """Quizzes: import from Moodle (GIFT) and Aiken, export to GIFT."""


def _write_new(out: Path, text: str, *, force: bool) -> None:
    if out.exists() and not force:
        raise LmsError(f"{out} already exists (pass --force to overwrite it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


def _report_skipped(skipped: list[Problem]) -> None:
    for problem in skipped:
        click.secho(problem.format(), err=True, fg="yellow")


def _import(result: ImportResult, *, source: Path, out: Path, title: str, force: bool) -> None:
    _report_skipped(result.skipped)
    _report_skipped(result.warnings)
    if result.quiz is None:
        raise LmsError(f"{source}: no question could be converted; nothing was written")
    _write_new(out, write_lesson([result.quiz], title=title or source.stem), force=force)
    count = len(result.quiz.questions())
    click.echo(
        f"{count} questions written to {out}; {len(result.skipped)} not converted, "
        f"{len(result.warnings)} converted with a warning"
    )


def _import_options(func: Any) -> Any:
    for option in reversed(
        [
            click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
            click.option(
                "--out",
                required=True,
                type=click.Path(dir_okay=False, path_type=Path),
                help="Lesson file to write (Markdown).",
            ),
            click.option("--id", "quiz_id", help="Quiz id (default: from the file name)."),
            click.option("--title", default="", help="Lesson title (default: the file name)."),
            click.option(
                "--graded", is_flag=True, help="Make the quiz graded (default: practice)."
            ),
            click.option("--force", is_flag=True, help="Overwrite --out if it exists."),
        ]
    ):
        func = option(func)
    return func


def _quiz_id(file: Path, quiz_id: str | None) -> str:
    from lms_core.text import fold

    if quiz_id:
        return quiz_id
    slug = "-".join("".join(c if c.isalnum() else " " for c in fold(file.stem)).split())
    return slug[:64] or "quiz"


@quiz_group.command("import-gift")
@_import_options
def import_gift_command(
    file: Path, out: Path, quiz_id: str | None, title: str, graded: bool, force: bool
) -> None:
    """Convert a Moodle GIFT file into a lesson with one quiz."""
    text = read_utf8(file, what="GIFT file")
    result = import_gift(text, file=str(file), quiz_id=_quiz_id(file, quiz_id), graded=graded)
    _import(result, source=file, out=out, title=title, force=force)


@quiz_group.command("import-aiken")
@_import_options
def import_aiken_command(
    file: Path, out: Path, quiz_id: str | None, title: str, graded: bool, force: bool
) -> None:
    """Convert an Aiken file into a lesson with one quiz."""
    text = read_utf8(file, what="Aiken file")
    result = import_aiken(text, file=str(file), quiz_id=_quiz_id(file, quiz_id), graded=graded)
    _import(result, source=file, out=out, title=title, force=force)


@quiz_group.command("export-gift")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="GIFT file to write (default: standard output).",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def export_gift_command(file: Path, out: Path | None, force: bool) -> None:
    """Write the quizzes of a lesson file as GIFT (Moodle's question format)."""
    text = read_utf8(file, what="lesson")
    blocks, problems = extract_blocks(text, file=str(file), kinds={"quiz": QUIZ_TYPE})
    if problems:
        raise LmsError("\n".join(p.format() for p in problems))
    if not blocks:
        raise InputFileError(f"{file}: no quiz blocks (```quiz … ```) found")
    parts = []
    for block in blocks:
        exported = export_gift(parse_quiz(block))
        for reason in exported.skipped:
            click.secho(
                f"{file}:{block.line}: error: not exported: {reason}", err=True, fg="yellow"
            )
        for reason in exported.lost:
            click.secho(f"{file}:{block.line}: warning: {reason}", err=True, fg="yellow")
        parts.append(exported.text)
    gift = "\n\n".join(parts)
    if out is None:
        click.echo(gift)
    else:
        _write_new(out, gift, force=force)
        click.echo(f"{len(blocks)} quizzes written to {out}", err=True)


@hookimpl
def lms_cli_commands() -> list[click.Command]:
    return [quiz_group]
