"""the national identity index: claims, notices, epoch; outbox, inbox and audit as every service

Revision ID: 0001
Revises:
Create Date: 2026-12-05 19:00:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jembatan_identity.adapters.orm import metadata
from jembatan_kit.audit import APPEND_ONLY_MESSAGE, audit_metadata
from jembatan_kit.messaging_tables import messaging_metadata

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The tables as the service declares them (a new service: nothing to migrate from).
    bind = op.get_bind()
    for tables in (metadata, messaging_metadata, audit_metadata):
        tables.create_all(bind)
    op.execute(
        sa.text("INSERT INTO index_epoch (id, epoch) VALUES (1, :epoch)").bindparams(
            epoch=str(uuid.uuid4())
        )
    )
    # The audit trail is append-only in the database itself, as in every service.
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN RAISE EXCEPTION USING MESSAGE = '{APPEND_ONLY_MESSAGE}: ' || TG_OP ||"
            " ' refused', ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
            " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{operation.lower()} BEFORE {operation} ON audit_log"
                f" BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )


def downgrade() -> None:
    bind = op.get_bind()
    for tables in (audit_metadata, messaging_metadata, metadata):
        tables.drop_all(bind)
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")
