"""Identify the requester: match any identity of the sender to a contact, or create one."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Sender
from ticketing.domain import Contact, Identity, IdentityKind
from ticketing.repository import TicketRepository


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


class Identified(NamedTuple):
    contact: Contact
    created: bool  # a new contact: nobody can have tickets for it yet


async def identify(
    session: AsyncSession,
    sender: Sender,
    *,
    default_locale: str,
    default_timezone: str,
    now: datetime,
) -> Identified:
    """Return the contact behind ``sender``, creating it and its identities when new.

    Identities the sender shows that nobody owns yet are linked to the matched contact; an
    identity that belongs to someone else is never moved (that needs verification).
    """
    [found] = await identify_many(
        session,
        [sender],
        default_locale=default_locale,
        default_timezone=default_timezone,
        now=now,
    )
    return found


async def identify_many(
    session: AsyncSession,
    senders: Sequence[Sender],
    *,
    default_locale: str,
    default_timezone: str,
    now: datetime,
) -> list[Identified]:
    """:func:`identify` for several senders, as if one after the other, in a few statements.

    One query finds who owns any of their identities, one insert creates the new contacts,
    one links the unowned identities; a sender seen twice gets the same contact.
    """
    wanted = [sender_identities(sender) for sender in senders]
    if not all(wanted):
        msg = "sender has no address"
        raise ValueError(msg)
    repo = TicketRepository(session)
    owners: dict[tuple[str, str], Contact | int] = dict(
        await repo.contacts_by_identities({_key(i) for ids in wanted for i in ids})
    )
    new_contacts: list[dict[str, object]] = []  # an int in ``owners`` indexes this list
    plans: list[Contact | int] = []
    links: list[tuple[Contact | int, Identity]] = []
    renames: dict[int, str] = {}
    for sender, identities in zip(senders, wanted, strict=True):
        owner = next((owners[_key(i)] for i in identities if _key(i) in owners), None)
        name = sender.name.strip()[:200]
        if owner is None:
            owner = len(new_contacts)
            new_contacts.append(
                {
                    "name": name,
                    "locale": sender.locale if sender.locale in {"ru", "en"} else default_locale,
                    "timezone": sender.timezone or default_timezone,
                    "vip": False,
                    "created_at": now,
                }
            )
        elif isinstance(owner, Contact) and not owner.name and name:
            renames.setdefault(owner.id, name)
        for identity in identities:
            if _key(identity) not in owners:
                owners[_key(identity)] = owner
                links.append((owner, identity))
        plans.append(owner)
    ids = await repo.add_contacts(new_contacts) if new_contacts else []
    created = [
        Contact(
            id=new_id,
            name=str(values["name"]),
            locale=str(values["locale"]),
            timezone=str(values["timezone"]),
            company=None,
            department=None,
            vip=False,
            identities=(),
        )
        for new_id, values in zip(ids, new_contacts, strict=True)
    ]
    linked = await repo.link_identities(
        [(_resolve(owner, created).id, identity) for owner, identity in links]
    )
    adopted = await _adopt_lost_races(repo, wanted, plans, created, linked)
    for contact_id, name in renames.items():
        await repo.rename_contact(contact_id, name)
    answers = []
    introduced: set[int] = set()  # a new contact is new only to the first of its messages
    for plan in plans:
        contact = _resolve(plan, created)
        if isinstance(plan, int) and plan in adopted:
            answers.append(Identified(adopted[plan], created=False))
        elif contact.id in renames:
            renamed = dataclasses.replace(contact, name=renames[contact.id])
            answers.append(Identified(renamed, created=False))
        else:
            new = isinstance(plan, int) and plan not in introduced
            answers.append(Identified(contact, created=new))
        if isinstance(plan, int):
            introduced.add(plan)
    return answers


async def _adopt_lost_races(
    repo: TicketRepository,
    wanted: Sequence[list[Identity]],
    plans: Sequence[Contact | int],
    created: Sequence[Contact],
    linked: set[tuple[str, str]],
) -> dict[int, Contact]:
    """New contacts whose strongest identity another worker linked first: use that contact.

    Another worker may have created the same person a moment ago; its identity won the unique
    index, so ours is dropped.
    """
    adopted: dict[int, Contact] = {}
    for identities, plan in zip(wanted, plans, strict=True):
        strongest = _key(identities[0])
        if not isinstance(plan, int) or plan in adopted or strongest in linked:
            continue
        owner = (await repo.contacts_by_identities({strongest})).get(strongest)
        if owner is not None and owner.id != created[plan].id:
            await repo.delete_contact(created[plan].id)
            adopted[plan] = owner
    return adopted


def _key(identity: Identity) -> tuple[str, str]:
    return identity.kind.value, identity.value


def _resolve(owner: Contact | int, created: Sequence[Contact]) -> Contact:
    return created[owner] if isinstance(owner, int) else owner
