"""One error hierarchy for the whole library.

Every failure a user can cause (a bad file, a wrong setting, an unreachable
database) is raised as a subclass of :class:`LmsError`.  The CLI and the HTTP
layer catch ``LmsError`` and print its message; anything else is a bug and
deserves a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class LmsError(Exception):
    """Root of every error the library raises on purpose.

    ``str(error)`` is a complete, human-readable message that says what is
    wrong and how to fix it.
    """


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in an input file.

    ``line`` and ``column`` are 1-based; ``column`` may be 0 when a problem
    concerns a whole row, ``line`` 0 when it concerns the whole file.
    ``field`` names the column header (CSV/XLSX) or key, when there is one.
    """

    file: str
    line: int
    column: int
    message: str
    hint: str = ""
    field: str = ""
    severity: str = "error"

    def format(self) -> str:
        """Render as ``file:line:col: error: field: message (hint)``."""
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        text = f"{where}: {self.severity}: "
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class ProblemsError(LmsError):
    """Several located problems found at once (all of them, not just the first)."""

    def __init__(self, problems: list[Problem], *, summary: str = "") -> None:
        self.problems = problems
        self.summary = summary or f"{len(problems)} problem(s) found; nothing was written"
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [p.format() for p in self.problems[:200]]
        if len(self.problems) > 200:
            lines.append(f"… and {len(self.problems) - 200} more")
        lines.append(self.summary)
        return "\n".join(lines)


class ConfigError(LmsError):
    """``lms.toml`` is missing, unreadable or invalid."""


class DatabaseError(LmsError):
    """The database cannot be reached, or its schema does not match this code."""


class InputFileError(LmsError):
    """An input file (CSV, XLSX) cannot be read at all: wrong encoding, binary, too big."""


class ImportValidationError(ProblemsError):
    """Rows of an import file are invalid; the import wrote nothing."""


class NotFoundError(LmsError):
    """A named object (unit, person, account) does not exist."""


class ConflictError(LmsError):
    """The request contradicts the current state (for example a cycle in the tree)."""


class ForbiddenError(LmsError):
    """The signed-in account's role does not allow this at all (a learner on a manager's page).

    Not used for records outside the account's area: those are reported as
    :class:`NotFoundError`, so their existence cannot be probed.
    """
