"""Identify the requester: match any identity of the sender to a contact, or create one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Sender
from ticketing.domain import Contact, Identity, IdentityKind
from ticketing.models import ContactRow, IdentityRow
from ticketing.repository import TicketRepository, contact_from_row


def sender_identities(sender: Sender) -> list[Identity]:
    """The sender's addresses, strongest first (a Telegram id is verified by Telegram)."""
    found: list[Identity] = []
    if sender.telegram_id is not None:
        found.append(Identity(kind=IdentityKind.TELEGRAM, value=str(sender.telegram_id)))
    if sender.email:
        found.append(Identity(kind=IdentityKind.EMAIL, value=sender.email.strip().lower()))
    if sender.phone:
        found.append(Identity(kind=IdentityKind.PHONE, value=sender.phone.strip()))
    return found


async def identify(
    session: AsyncSession,
    sender: Sender,
    *,
    default_locale: str,
    default_timezone: str,
    now: datetime,
) -> Contact:
    """Return the contact behind ``sender``, creating it and its identities when new.

    Identities the sender shows that nobody owns yet are linked to the matched contact; an
    identity that belongs to someone else is never moved (that needs verification).
    """
    identities = sender_identities(sender)
    if not identities:
        msg = "sender has no address"
        raise ValueError(msg)
    repo = TicketRepository(session)
    contact_row: ContactRow | None = None
    for identity in identities:
        contact_row = await repo.contact_by_identity(identity.kind, identity.value)
        if contact_row is not None:
            break
    created = contact_row is None
    if contact_row is None:
        contact_row = ContactRow(
            name=sender.name.strip()[:200],
            locale=sender.locale if sender.locale in {"ru", "en"} else default_locale,
            timezone=sender.timezone or default_timezone,
            vip=False,
            created_at=now,
        )
        session.add(contact_row)
        await session.flush()
    elif not contact_row.name and sender.name:
        contact_row.name = sender.name.strip()[:200]
    if not created and len(identities) == 1:
        return contact_from_row(contact_row, ())
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(IdentityRow)
        .values(
            [
                {
                    "contact_id": contact_row.id,
                    "kind": i.kind.value,
                    "value": i.value,
                    "verified": i.kind is IdentityKind.TELEGRAM,
                    "unreachable": False,
                }
                for i in identities
            ]
        )
        .on_conflict_do_nothing(index_elements=["kind", "value"])
    )
    if created:
        # Another worker may have created the same person a moment ago; its identity won the
        # unique index, so adopt that contact and drop ours.
        owner = await repo.contact_by_identity(identities[0].kind, identities[0].value)
        if owner is not None and owner.id != contact_row.id:
            await session.delete(contact_row)
            contact_row = owner
    return contact_from_row(contact_row, ())
