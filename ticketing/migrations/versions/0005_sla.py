"""sla: one ticket_sla row per tracked ticket (clocks, breach flags, the next timer, indexed)

Revision ID: 0005_sla
Revises: 0001
Create Date: 2026-11-23 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0005_sla"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "ticket_sla",
        sa.Column(
            "ticket_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("agreement", sa.String(length=100), nullable=False),
        sa.Column("calendar", sa.String(length=100), nullable=False),
        sa.Column("policy_hash", sa.String(length=32), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.String(length=16), nullable=False),
        sa.Column("reaction_target_s", sa.Float(), nullable=True),
        sa.Column("resolution_target_s", sa.Float(), nullable=True),
        sa.Column("reaction_stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_reaction_business_s", sa.Float(), nullable=True),
        sa.Column("resolution_business_s", sa.Float(), nullable=True),
        sa.Column("resolution_banked_s", sa.Float(), nullable=False),
        sa.Column("resolution_running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reaction_breached", sa.Boolean(), nullable=False),
        sa.Column("resolution_breached", sa.Boolean(), nullable=False),
        sa.Column(
            "fired",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("next_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_event_kind", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_ticket_sla_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_sla")),
    )
    with op.batch_alter_table("ticket_sla", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_sla_next_event_at", ["next_event_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("ticket_sla", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_sla_next_event_at")
    op.drop_table("ticket_sla")
