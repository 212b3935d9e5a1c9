"""The agents' group: messages in a ticket's topic (or replies to its card) and card buttons.

A plain message is a public reply (relayed to the requester through their own channel, with
its photos and documents); ``//`` or ``/note`` keeps it private; ``/take``, ``/prio`` … change
the ticket. Only members of the group act (checked with Telegram, cached); anything not about a
ticket — chatter in the General topic — is left alone.
"""

from __future__ import annotations

import html as html_lib

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, Message, Update

from bot.agent_commands import KNOWN, AgentCommands, parse_command
from bot.cards import DESK, card_buttons, priority_buttons
from bot.context import BotDeps
from bot.desk_texts import d, plain
from bot.desk_view import load_view
from bot.membership import Membership
from bot.submit import download
from channels.telegram.normalize import files_of
from channels.telegram.render import keyboard
from ticketing import telegram_store
from ticketing.domain import Attachment


async def ticket_of(deps: BotDeps, message: Message) -> int | None:
    """The ticket a group message is about: its forum topic, else the card or line it answers."""
    async with deps.db.read() as session:
        if message.is_topic_message and message.message_thread_id is not None:
            return await telegram_store.ticket_by_thread(
                session, message.chat.id, message.message_thread_id
            )
        reply = message.reply_to_message
        if reply is not None:
            return await telegram_store.ticket_by_message(
                session, message.chat.id, reply.message_id
            )
    return None


async def on_message(
    message: Message, bot: Bot, deps: BotDeps, members: Membership, event_update: Update
) -> None:
    """A message in the agents' group: a reply, a note or a command about a ticket."""
    user = message.from_user
    if user is None or user.is_bot:
        return
    text = message.text or message.caption or ""
    command = parse_command(text, (await bot.me()).username)
    refs = files_of(message)
    if command is None and not text and not refs:
        return  # service messages: topic created, members joined …
    locale = deps.settings.agents_locale
    number = await ticket_of(deps, message)
    if number is None:
        if command is not None and command.name in KNOWN:
            await message.reply(d(locale, "reply.no_ticket"))
        return
    agent = await members.agent(user)
    if agent is None:
        await message.reply(d(locale, "reply.not_agent"))
        return
    commands = AgentCommands(deps)
    if command is None or command.name == "note":
        files = await _store_files(deps, message)
        body = command.args if command is not None else text
        action = commands.comment(agent, number, body, files, public=command is None)
    else:
        chosen = commands.action(agent, number, command)
        if not callable(chosen):
            await message.reply(chosen)
            return
        action = chosen
    refusal = await commands.apply(event_update.update_id, action)
    if refusal is not None:
        await message.reply(refusal)


async def _store_files(deps: BotDeps, message: Message) -> tuple[Attachment, ...]:
    downloaded, _ = await download(deps, files_of(message))
    stored = []
    for ref, content in downloaded:
        digest = await deps.files.put(ref.filename, content)
        stored.append(
            Attachment(
                sha256=digest,
                filename=ref.filename,
                content_type=ref.content_type,
                size=len(content),
            )
        )
    return tuple(stored)


async def on_button(
    callback: CallbackQuery, deps: BotDeps, members: Membership, event_update: Update
) -> None:
    """A card button: take, priority, waiting, resolved, duplicate, call-back result."""
    locale = deps.settings.agents_locale
    data = deps.signer.unpack(DESK, callback.data)
    if data is None:
        await callback.answer(plain(locale, "reply.not_agent"), show_alert=True)
        return
    agent = await members.agent(callback.from_user)
    if agent is None:
        await callback.answer(plain(locale, "reply.not_agent"), show_alert=True)
        return
    if data.action in {"prio", "back"}:
        await _menu(deps, callback, data.ticket, priority=data.action == "prio")
        return
    if data.action == "dup":
        await callback.answer(plain(locale, "answer.duplicate"), show_alert=True)
        return
    commands = AgentCommands(deps)
    action = commands.button(agent, data.ticket, data.action, data.arg, callback.id)
    refusal = await commands.apply(event_update.update_id, action) if callable(action) else action
    if refusal is None:
        await callback.answer(plain(locale, "answer.done"))
    else:
        await callback.answer(_unescaped(refusal), show_alert=True)


def _unescaped(html: str) -> str:
    return html_lib.unescape(str(html))


async def _menu(deps: BotDeps, callback: CallbackQuery, number: int, *, priority: bool) -> None:
    locale = deps.settings.agents_locale
    view = await load_view(deps, number, comment_key=None)
    if view is None or callback.message is None:
        await callback.answer()
        return
    if priority:
        rows = priority_buttons(deps.signer, view.ticket, locale)
    else:
        pending = view.reach.callback_pending
        rows = card_buttons(deps.signer, view.ticket, locale, call_back=pending)
    await deps.sender.bot.edit_message_reply_markup(
        chat_id=callback.message.chat.id,
        message_id=callback.message.message_id,
        reply_markup=keyboard(rows),
    )
    await callback.answer()


def agents_router(chat_id: int) -> Router:
    """Messages and buttons of the agents' group ``chat_id``."""
    router = Router(name="agents")
    router.message.filter(F.chat.id == chat_id)
    router.callback_query.filter(F.message.chat.id == chat_id)
    router.message.register(on_message)
    router.callback_query.register(on_button)
    return router
