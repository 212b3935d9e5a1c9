"""e-mail channel: mailbox progress, quarantine, undeliverable addresses, auto-reply counters

Revision ID: 0003_email
Revises: 0001
Create Date: 2026-11-22 10:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "0003_email"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "email_auto_reply",
        sa.Column("id", BigId, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_auto_reply")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_email_auto_reply_idempotency_key")),
    )
    with op.batch_alter_table("email_auto_reply", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_auto_reply_address_sent", ["address", "sent_at"], unique=False
        )
    op.create_table(
        "email_connection",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_email_connection")),
    )
    op.create_table(
        "email_mailbox",
        sa.Column("mailbox", sa.String(length=200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_email_mailbox")),
    )
    op.create_table(
        "email_quarantine",
        sa.Column("id", BigId, nullable=False),
        sa.Column("mailbox", sa.String(length=200), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_quarantine")),
    )
    with op.batch_alter_table("email_quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_email_quarantine_state", ["state"], unique=False)
    op.create_table(
        "email_undeliverable",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_email_undeliverable")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("email_undeliverable")
    with op.batch_alter_table("email_quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_email_quarantine_state")
    op.drop_table("email_quarantine")
    op.drop_table("email_mailbox")
    op.drop_table("email_connection")
    with op.batch_alter_table("email_auto_reply", schema=None) as batch_op:
        batch_op.drop_index("ix_email_auto_reply_address_sent")
    op.drop_table("email_auto_reply")
