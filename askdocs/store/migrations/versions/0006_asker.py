"""The interaction log records who asked with its kind (a key, a proxy's user, a person a frontend vouches for):
asked_by alone let a key and a user of the same name see each other's questions on /me/questions

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows logged before have no asker: their kind was never recorded, so /me/questions leaves them out (the
    # admin's log still shows them by asked_by).
    op.add_column("interactions", sa.Column("asker", sa.String(length=600), nullable=True))
    op.create_index("ix_interactions_asker_created_at", "interactions", ["asker", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_interactions_asker_created_at", table_name="interactions")
    op.drop_column("interactions", "asker")
