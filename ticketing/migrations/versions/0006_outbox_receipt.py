"""outbox: index the send receipt (channel, external_id), looked up when a reply quotes it

Revision ID: 0006_outbox_receipt
Revises: 0001
Create Date: 2026-11-22 15:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_outbox_receipt"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_receipt", "outbox", ["channel", "external_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_receipt", table_name="outbox")
