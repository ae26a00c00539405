"""The test service's tables and the messaging and audit tables, as they are declared.

Revision ID: 0001
Revises:
"""

from alembic import op

from jembatan_kit.audit import audit_metadata
from jembatan_kit.messaging_tables import messaging_metadata
from jembatan_kit.testing.effects import test_metadata
from jembatan_kit.testing.runtime_service import service_metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    messaging_metadata.create_all(bind)
    audit_metadata.create_all(bind)
    test_metadata.create_all(bind)
    service_metadata.create_all(bind)


def downgrade() -> None:
    bind = op.get_bind()
    service_metadata.drop_all(bind)
    test_metadata.drop_all(bind)
    audit_metadata.drop_all(bind)
    messaging_metadata.drop_all(bind)
