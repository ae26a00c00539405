"""the relay finds the unsent outbox rows in an index of them alone

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:30:00
"""

from collections.abc import Sequence

from jembatan_kit.migrations import add_outbox_pending_index, drop_outbox_pending_index

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL read `WHERE sent_at IS NULL ORDER BY id LIMIT n` along the primary key, past
    # every sent row, on each of the relay's polls (jembatan_kit.messaging_tables).
    add_outbox_pending_index()


def downgrade() -> None:
    drop_outbox_pending_index()
