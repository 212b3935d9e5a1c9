"""Linking identities: a deep link from an e-mail (``/start l<contact>_<signature>``) and the
"share my number" button (Telegram vouches for the number of the user who shares it).
"""

from __future__ import annotations

import re

import phonenumbers
from aiogram.types import Contact as TelegramContact
from aiogram.types import User

from bot.callbacks import CallbackSigner
from bot.context import BotDeps
from channels.telegram.normalize import locale_of
from ticketing import telegram_store
from ticketing.domain import IdentityKind
from ticketing.repository import TicketRepository

_PAYLOAD = re.compile(r"^l(\d{1,18})_([A-Za-z0-9_-]{11})$")
_PURPOSE = "link-telegram"


def link_payload(signer: CallbackSigner, contact_id: int) -> str:
    """The ``/start`` payload that links whoever opens it to ``contact_id`` — for an e-mail
    sent only to that contact's address: ``https://t.me/<bot>?start=<payload>``, with
    ``signer = CallbackSigner(installation secret)``."""
    return f"l{contact_id}_{signer.token(_PURPOSE, contact_id)}"


async def link_by_payload(deps: BotDeps, user: User, payload: str) -> bool:
    """Link the Telegram user to the contact the payload names; False if it does not verify."""
    match = _PAYLOAD.match(payload)
    if match is None:
        return False
    contact_id, signature = int(match.group(1)), match.group(2)
    if deps.signer.token(_PURPOSE, contact_id) != signature:
        return False
    async with deps.db.transaction() as session:
        repo = TicketRepository(session)
        try:
            await repo.contact(contact_id)
        except LookupError:
            return False
        await telegram_store.link_identity(
            session, contact_id=contact_id, kind=IdentityKind.TELEGRAM, value=str(user.id)
        )
    return True


def e164(number: str) -> str | None:
    """Telegram's number (digits, sometimes with +) as E.164, or None when it is not one."""
    digits = re.sub(r"\D", "", number)
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


async def link_phone(deps: BotDeps, user: User, shared: TelegramContact) -> str | None:
    """Link the user's own shared number; returns it (E.164), or None for someone else's.

    A number already in the directory brings the Telegram user to that contact; otherwise the
    number joins the user's contact (created now if they never wrote).
    """
    if shared.user_id != user.id:
        return None
    number = e164(shared.phone_number)
    if number is None:
        return None
    async with deps.db.transaction() as session:
        repo = TicketRepository(session)
        owner = await repo.contact_by_identity(IdentityKind.PHONE, number)
        if owner is not None:
            await telegram_store.link_identity(
                session, contact_id=owner.id, kind=IdentityKind.TELEGRAM, value=str(user.id)
            )
        contact_id = await telegram_store.ensure_telegram_contact(
            session,
            user_id=user.id,
            name=user.full_name,
            locale=locale_of(user) or deps.default_locale,
            timezone=deps.timezone,
            now=deps.now(),
        )
        await telegram_store.link_identity(
            session, contact_id=contact_id, kind=IdentityKind.PHONE, value=number
        )
    return number
