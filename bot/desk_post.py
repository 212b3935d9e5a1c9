"""What one desk job does in the group: make sure the ticket has its topic and card, bring the
topic's open/closed state and the card up to date, then post the event's line and files."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiogram.types import InlineKeyboardMarkup
from markupsafe import Markup

from bot.cards import callback_buttons, card_buttons, card_html, topic_name
from bot.context import BotDeps
from bot.desk_texts import d
from bot.desk_view import TicketView, load_view
from bot.lines import line_for
from channels.telegram.render import keyboard
from channels.telegram.sender import ThreadNotFoundError
from ticketing import telegram_store
from ticketing.domain import Attachment, ChannelKind, Status
from ticketing.telegram_store import Card, DeskJob

log = logging.getLogger(__name__)
T = TypeVar("T")
#: What a requester reachable only by phone would never hear unless an agent calls.
_UNHEARD = frozenset({"public_reply", "waiting_for_you", "resolved"})
_QUOTED = 3000


class DeskPoster:
    """Carries out desk jobs in the agents' group (``settings.agents_chat_id``)."""

    def __init__(self, deps: BotDeps) -> None:
        self._deps = deps
        self._forum = deps.settings.agents_forum
        self._locale = deps.settings.agents_locale

    async def apply(self, job: DeskJob) -> None:
        """Carry out one job; raises what should make it come back later."""
        view = await load_view(self._deps, job.ticket_id, comment_key=job.data.get("_key"))
        if view is None:
            return  # the ticket is gone
        card = await self._card(view)
        closing = view.ticket.status is Status.CLOSED
        if not closing:
            card = await self._sync_topic(card, view)
        if job.kind != "created":
            card = await self._refresh(card, view)
        card = await self._post_line(card, view, job)
        files = view.first_files if job.kind == "created" else ()
        if job.kind == "requester_message":
            files = view.comment_files
        for file in files:
            card = await self._post_file(card, view, file)
        if closing:
            await self._sync_topic(card, view)

    async def _is_forum(self) -> bool:
        if self._forum is None:
            chat = await self._deps.sender.bot.get_chat(self._chat)
            self._forum = bool(chat.is_forum)
        return self._forum

    @property
    def _chat(self) -> int:
        chat = self._deps.agents_chat
        assert chat is not None  # noqa: S101 - the desk runs only with an agents' chat
        return chat

    async def _save(self, card: Card, *, sent: Sequence[int] = (), kind: str = "card") -> None:
        async with self._deps.db.transaction() as session:
            await telegram_store.save_card(session, card, self._deps.now())
            await telegram_store.remember_messages(
                session,
                chat_id=card.chat_id,
                message_ids=list(sent),
                ticket_id=card.ticket_id,
                kind=kind,
                now=self._deps.now(),
            )

    async def _card(self, view: TicketView) -> Card:
        """The ticket's card (and topic, in a forum), created when missing."""
        async with self._deps.db.read() as session:
            card = await telegram_store.card(session, view.ticket.id)
        if card is None or card.chat_id != self._chat:
            card = Card(
                ticket_id=view.ticket.id,
                chat_id=self._chat,
                thread_id=None,
                card_message_id=None,
                topic_closed=False,
            )
        if card.thread_id is None and await self._is_forum():
            thread = await self._deps.sender.create_topic(self._chat, topic_name(view.ticket))
            card = dataclasses.replace(
                card, thread_id=thread, card_message_id=None, topic_closed=False
            )
            await self._save(card)
        if card.card_message_id is None:
            try:
                ids = await self._deps.sender.send_text(
                    self._chat, self._html(view), thread_id=card.thread_id, markup=self._keys(view)
                )
            except ThreadNotFoundError:
                return await self._recreate(card, view)
            card = dataclasses.replace(card, card_message_id=ids[0])
            await self._save(card, sent=ids)
        return card

    async def _recreate(self, card: Card, view: TicketView) -> Card:
        """Someone deleted the topic: a new one, with a new card."""
        log.warning("forum topic gone; recreating it", extra={"ticket": view.ticket.id})
        gone = dataclasses.replace(card, thread_id=None, card_message_id=None, topic_closed=False)
        await self._save(gone)
        return await self._card(view)

    async def _in_topic(
        self, card: Card, view: TicketView, send: Callable[[int | None], Awaitable[T]]
    ) -> tuple[T, Card]:
        try:
            return await send(card.thread_id), card
        except ThreadNotFoundError:
            card = await self._recreate(card, view)
            return await send(card.thread_id), card

    async def _sync_topic(self, card: Card, view: TicketView) -> Card:
        closed = view.ticket.status is Status.CLOSED
        if card.thread_id is None or card.topic_closed == closed:
            return card
        try:
            await self._deps.sender.set_topic_open(self._chat, card.thread_id, is_open=not closed)
        except ThreadNotFoundError:
            if not closed:
                return await self._recreate(card, view)
        card = dataclasses.replace(card, topic_closed=closed)
        await self._save(card)
        return card

    async def _refresh(self, card: Card, view: TicketView) -> Card:
        assert card.card_message_id is not None  # noqa: S101 - _card made one
        edited = await self._deps.sender.edit(
            self._chat, card.card_message_id, self._html(view), self._keys(view)
        )
        if edited:
            return card
        # The card was deleted: a new one (in the same topic) takes its place.
        await self._save(dataclasses.replace(card, card_message_id=None))
        return await self._card(view)

    async def _post_line(self, card: Card, view: TicketView, job: DeskJob) -> Card:
        markup: InlineKeyboardMarkup | None = None
        if job.kind == "callback_needed":
            html = self._callback_request(view, job)
            markup = keyboard(
                callback_buttons(self._deps.signer, view.ticket.number, self._locale)
            )
        elif job.kind == "unreachable" and view.reach.phone:
            html = (
                d(self._locale, "line.unreachable")
                + "\n"
                + d(self._locale, "line.call_back", phone=view.reach.phone)
            )
        else:
            data = {"actor": view.actors.get(str(job.data.get("_key"))), **job.data}
            line = line_for(job.kind, data, self._locale, view.ticket.requester.name)
            if line is None:
                return card
            html = line
            if job.kind in _UNHEARD and view.reach.phone_only and not self._prompted(view):
                phone = view.reach.phone or d(self._locale, "phone.unknown")
                html += Markup("\n") + d(self._locale, "line.call_back", phone=phone)
        sender = self._deps.sender
        ids, card = await self._in_topic(
            card,
            view,
            lambda thread: sender.send_text(self._chat, html, thread_id=thread, markup=markup),
        )
        await self._save(card, sent=ids, kind="line")
        return card

    def _prompted(self, view: TicketView) -> bool:
        """The phone channel follows this reply with its own call-back request."""
        reply = view.ticket.reply_to
        return (
            self._deps.calls_prompted and reply is not None and reply.channel is ChannelKind.PHONE
        )

    def _callback_request(self, view: TicketView, job: DeskJob) -> Markup:
        """Why to call: a missed call, or a reply the requester would otherwise never hear."""
        details = job.data.get("details")
        details = details if isinstance(details, dict) else {}
        phone = str(details.get("number") or view.reach.phone or d(self._locale, "phone.unknown"))
        reason = job.data.get("reason")
        text = str(details.get("text") or "")
        if reason == "missed_call":
            return d(self._locale, "line.callback_missed", phone=phone)
        if reason in _UNHEARD and text:
            return d(self._locale, "line.callback_reply", phone=phone, text=text[:_QUOTED])
        if reason == "resolved":
            return d(self._locale, "line.callback_resolved", phone=phone)
        if reason == "waiting_for_you":
            return d(self._locale, "line.callback_waiting", phone=phone)
        return d(self._locale, "line.callback_needed", phone=phone)

    async def _post_file(self, card: Card, view: TicketView, file: Attachment) -> Card:
        content = await self._deps.files.read(file.sha256)
        sender = self._deps.sender
        message_id, card = await self._in_topic(
            card,
            view,
            lambda thread: sender.send_file(
                self._chat,
                filename=file.filename,
                content_type=file.content_type,
                content=content,
                thread_id=thread,
            ),
        )
        await self._save(card, sent=[message_id], kind="file")
        return card

    def _html(self, view: TicketView) -> str:
        return card_html(
            view.ticket,
            self._locale,
            first_message=view.first_message,
            reach=view.reach,
            status_by=view.status_by,
        )

    def _keys(self, view: TicketView) -> InlineKeyboardMarkup | None:
        rows = card_buttons(
            self._deps.signer, view.ticket, self._locale, call_back=view.reach.callback_pending
        )
        return keyboard(rows)
