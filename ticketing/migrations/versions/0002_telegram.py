"""telegram: cards and topics, sent messages, agents, handled updates, albums, desk jobs

Revision ID: 0002_telegram
Revises: 0001
Create Date: 2026-11-22 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0002_telegram"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('telegram_agent',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('first_name', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_telegram_agent')),
    sa.UniqueConstraint('name', name=op.f('uq_telegram_agent_name'))
    )
    with op.batch_alter_table('telegram_agent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_agent_username'), ['username'], unique=False)

    op.create_table('telegram_album_part',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('media_group_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('flushed', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_album_part')),
    sa.UniqueConstraint('chat_id', 'message_id', name=op.f('uq_telegram_album_part_chat_id_message_id'))
    )
    with op.batch_alter_table('telegram_album_part', schema=None) as batch_op:
        batch_op.create_index('ix_telegram_album_part_open', ['flushed', 'chat_id', 'media_group_id'], unique=False)

    op.create_table('telegram_update',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_telegram_update'))
    )
    op.create_table('telegram_card',
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('thread_id', sa.BigInteger(), nullable=True),
    sa.Column('card_message_id', sa.BigInteger(), nullable=True),
    sa.Column('topic_closed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_telegram_card_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_telegram_card'))
    )
    with op.batch_alter_table('telegram_card', schema=None) as batch_op:
        batch_op.create_index('ix_telegram_card_thread', ['chat_id', 'thread_id'], unique=False)

    op.create_table('telegram_desk_job',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_telegram_desk_job_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_desk_job')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_telegram_desk_job_idempotency_key'))
    )
    with op.batch_alter_table('telegram_desk_job', schema=None) as batch_op:
        batch_op.create_index('ix_telegram_desk_job_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_telegram_desk_job_ticket', ['ticket_id', 'state'], unique=False)

    op.create_table('telegram_message',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_telegram_message_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_message')),
    sa.UniqueConstraint('chat_id', 'message_id', name=op.f('uq_telegram_message_chat_id_message_id'))
    )
    with op.batch_alter_table('telegram_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_message_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('telegram_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_message_ticket_id'))

    op.drop_table('telegram_message')
    with op.batch_alter_table('telegram_desk_job', schema=None) as batch_op:
        batch_op.drop_index('ix_telegram_desk_job_ticket')
        batch_op.drop_index('ix_telegram_desk_job_due')

    op.drop_table('telegram_desk_job')
    with op.batch_alter_table('telegram_card', schema=None) as batch_op:
        batch_op.drop_index('ix_telegram_card_thread')

    op.drop_table('telegram_card')
    op.drop_table('telegram_update')
    with op.batch_alter_table('telegram_album_part', schema=None) as batch_op:
        batch_op.drop_index('ix_telegram_album_part_open')

    op.drop_table('telegram_album_part')
    with op.batch_alter_table('telegram_agent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_agent_username'))

    op.drop_table('telegram_agent')
