"""The Slack bot's memory: handled event ids and the threads it answered in

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_events",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_slack_events_seen_at", "slack_events", ["seen_at"])
    op.create_table(
        "slack_threads",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("thread_ts", sa.String(length=64), nullable=False),
        sa.Column("answered_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "thread_ts"),
    )
    op.create_index("ix_slack_threads_answered_at", "slack_threads", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_threads_answered_at", table_name="slack_threads")
    op.drop_table("slack_threads")
    op.drop_index("ix_slack_events_seen_at", table_name="slack_events")
    op.drop_table("slack_events")
