"""The interaction log names the person who asked: column caller renamed asked_by (the API's field)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain SQL: both SQLite (3.25 and later) and PostgreSQL rename a column in place, keeping its data.
    op.execute("ALTER TABLE interactions RENAME COLUMN caller TO asked_by")


def downgrade() -> None:
    op.execute("ALTER TABLE interactions RENAME COLUMN asked_by TO caller")
