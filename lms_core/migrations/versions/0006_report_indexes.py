"""indexes for the reports

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

The province-wide reports (completion matrix, roll-up, overdue, attempts,
item analysis) filter and group on these; without them SQLite scans every
enrolment or graded attempt of the province for each report.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OPEN = "status IN ('enrolled', 'in_progress')"


def upgrade() -> None:
    op.create_index("ix_enrolment_person_course", "enrolment", ["person_id", "course_id", "id"])
    op.create_index("ix_enrolment_cohort", "enrolment", ["cohort_id"])
    op.create_index(
        "ix_enrolment_due_open",
        "enrolment",
        ["due_on"],
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_index(
        "ix_attempt_version_exercise_state",
        "attempt",
        ["course_version_id", "exercise_id", "state"],
    )
    op.create_index("ix_attempt_state_submitted", "attempt", ["state", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_attempt_state_submitted", table_name="attempt")
    op.drop_index("ix_attempt_version_exercise_state", table_name="attempt")
    op.drop_index("ix_enrolment_due_open", table_name="enrolment")
    op.drop_index("ix_enrolment_cohort", table_name="enrolment")
    op.drop_index("ix_enrolment_person_course", table_name="enrolment")
