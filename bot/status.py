"""``/status`` and status questions in words: the requester's own tickets, and one in detail.

Only tickets whose requester is the contact behind the asking Telegram user are listed or shown;
a detail button pressed by anyone else (a forwarded message, forged data) is refused.
"""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.context import BotDeps
from bot.texts import locale_or, plain, t
from channels.base import Button
from channels.telegram.normalize import locale_of
from channels.telegram.render import keyboard
from notify.i18n import format_datetime
from ticketing import telegram_store
from ticketing.domain import AuthorKind, IdentityKind, Status, Ticket
from ticketing.repository import TicketFilter, TicketRepository

#: What the requester sees as "open": everything not closed (resolved waits for their word).
LISTED = (Status.NEW, Status.IN_PROGRESS, Status.WAITING, Status.REOPENED, Status.RESOLVED)
_LAST_REPLIES = 3

_QUESTIONS = tuple(
    re.compile(pattern)
    for pattern in (
        r"^(что|как)( там)? с (мо(ей|ими|ей) )?(заявк|тикет|обращени|запрос)",
        r"^(мои|моя|где мо[яи]|покажи мои) (заявк|тикет|обращени)",
        r"^(какой )?статус( мо(ей|их))?( заявк\w*| тикет\w*| обращени\w*)?$",
        r"^(ticket |request )?status( of my (ticket|request)s?)?$",
        r"^where('s| is| are) my (ticket|request)s?",
        r"^(any )?(update|news)( on| about) my (ticket|request)s?",
        r"^(show )?my (tickets|requests)$",
    )
)


def is_status_question(text: str | None) -> bool:
    """«что с моей заявкой?», «статус», "where is my ticket" — short questions only."""
    if not text:
        return False
    words = re.sub(r"[^\w\s']", " ", text.lower().replace("ё", "е")).split()
    if not words or len(words) > 8:
        return False
    phrase = " ".join(words)
    return any(pattern.search(phrase) for pattern in _QUESTIONS)


async def own_tickets(deps: BotDeps, user_id: int) -> list[Ticket]:
    """The asking Telegram user's listed tickets (none when okno does not know them)."""
    async with deps.db.read() as session:
        repo = TicketRepository(session)
        contact = await repo.contact_by_identity(IdentityKind.TELEGRAM, str(user_id))
        if contact is None:
            return []
        return await repo.list(TicketFilter(requester_id=contact.id, status=LISTED, limit=10))


async def first_name(deps: BotDeps, assignee: str) -> str:
    """An assignee as the requester should read them: their first name."""
    async with deps.db.read() as session:
        agent = await telegram_store.agent_named(session, assignee)
    if agent is not None and agent.first_name:
        return agent.first_name
    return assignee.removeprefix("@").split()[0].split(".")[0].capitalize()


async def status_list(
    deps: BotDeps, user_id: int, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The list message: one block per ticket (status, assignee, next step) and its button."""
    tickets = await own_tickets(deps, user_id)
    if not tickets:
        return t(locale, "status.none"), None
    blocks = [t(locale, "status.title")]
    buttons: list[Button] = []
    for ticket in tickets:
        status = ticket.status.value
        assignee = (
            t(locale, "assignee", name=await first_name(deps, ticket.assignee))
            if ticket.assignee
            else t(locale, "assignee.none")
        )
        blocks.append(
            t(
                locale,
                "status.line",
                number=ticket.number,
                subject=ticket.subject,
                status=t(locale, f"status.{status}"),
                assignee=assignee,
                next=t(locale, f"next.{status}"),
            )
        )
        label = t(locale, "status.button", number=ticket.number)
        buttons.append(Button(label=label, data=deps.signer.pack(user_id, "st", ticket.number)))
    return "\n\n".join(blocks), keyboard([[b] for b in buttons])


async def status_detail(deps: BotDeps, user_id: int, number: int, locale: str) -> str | None:
    """One ticket with its last public replies; None when it is not this user's ticket."""
    async with deps.db.read() as session:
        repo = TicketRepository(session)
        contact = await repo.contact_by_identity(IdentityKind.TELEGRAM, str(user_id))
        detail = await repo.detail(number, public_only=True)
    if contact is None or detail is None or detail.ticket.requester.id != contact.id:
        return None
    ticket = detail.ticket
    zone = ticket.requester.timezone or deps.timezone
    lines = [
        t(locale, "detail.title", number=ticket.number, subject=ticket.subject),
        t(
            locale,
            "detail.fields",
            status=t(locale, f"status.{ticket.status.value}"),
            priority=t(locale, f"priority.{ticket.priority.value}"),
            created=format_datetime(ticket.created_at, locale, zone),
        ),
    ]
    replies = [c for c in detail.comments if c.author_kind is AuthorKind.AGENT][-_LAST_REPLIES:]
    lines.append(t(locale, "detail.replies") if replies else t(locale, "detail.no_replies"))
    lines.extend(
        t(
            locale,
            "detail.reply",
            author=(reply.author_name.split() or [t(locale, "author.agent")])[0],
            when=format_datetime(reply.created_at, locale, zone),
            text=reply.body[:1000],
        )
        for reply in replies
    )
    return "\n\n".join(lines)


async def on_status(message: Message, deps: BotDeps) -> None:
    """``/status`` or a status question in words."""
    user = message.from_user
    if user is None:
        return
    locale = locale_or(locale_of(user), deps.default_locale)
    html, markup = await status_list(deps, user.id, locale)
    await message.answer(html, reply_markup=markup)


async def on_detail(callback: CallbackQuery, deps: BotDeps) -> None:
    """A ticket's detail button, shown only to its requester."""
    user = callback.from_user
    locale = locale_or(locale_of(user), deps.default_locale)
    data = deps.signer.unpack(user.id, callback.data)
    html = None if data is None else await status_detail(deps, user.id, data.ticket, locale)
    if html is None:
        await callback.answer(plain(locale, "refused"), show_alert=True)
        return
    await callback.answer()
    await deps.sender.send_text(user.id, html)


def status_router() -> Router:
    """``/status``, status questions in words, and the per-ticket detail button."""
    router = Router(name="status")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_status, Command("status"))
    router.message.register(on_status, F.text.func(is_status_question))
    router.callback_query.register(on_detail, F.data.startswith("st:"))
    return router
