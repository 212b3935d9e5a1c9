"""The requester's private chat: /start (with an e-mail link payload), /help, /cancel, the
"share my number" button, edits, and — for anything else — a message into the intake.

The acknowledgement of a new ticket (number, priority, expected resolution in the requester's
language and time zone) is not sent from here: it is an outbox notification of the ticket's
creation, like every other message to the requester, so it is neither lost nor doubled.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.context import BotDeps
from bot.edits import record_edit
from bot.linking import link_by_payload, link_phone
from bot.submit import submit
from bot.texts import locale_or, plain, t
from channels.telegram.normalize import locale_of


def _locale(deps: BotDeps, message: Message | CallbackQuery) -> str:
    return locale_or(locale_of(message.from_user), deps.default_locale)


def _share_phone(locale: str) -> ReplyKeyboardMarkup:
    button = KeyboardButton(text=plain(locale, "share_phone"), request_contact=True)
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)


async def on_start(message: Message, command: CommandObject, deps: BotDeps) -> None:
    """Greeting and help; a payload links an e-mail contact (see :mod:`bot.linking`)."""
    user = message.from_user
    if user is None:
        return
    locale = _locale(deps, message)
    if command.args:
        linked = await link_by_payload(deps, user, command.args.strip())
        await message.answer(t(locale, "link.ok" if linked else "link.bad"))
    text = t(locale, "start", name=user.first_name) + "\n\n" + t(locale, "help")
    await message.answer(
        text + "\n\n" + t(locale, "share_phone.ask"), reply_markup=_share_phone(locale)
    )


async def on_help(message: Message, deps: BotDeps) -> None:
    """What the bot does and its commands."""
    await message.answer(t(_locale(deps, message), "help"))


async def on_cancel(message: Message, deps: BotDeps, state: FSMContext) -> None:
    """Leave whatever dialog is open (a rating comment)."""
    locale = _locale(deps, message)
    active = await state.get_state()
    await state.clear()
    key = "cancel.done" if active is not None else "cancel.nothing"
    await message.answer(t(locale, key), reply_markup=ReplyKeyboardRemove())


async def on_contact(message: Message, deps: BotDeps) -> None:
    """A shared contact: the user's own number is linked, anyone else's is not."""
    user, shared = message.from_user, message.contact
    if user is None or shared is None:
        return
    locale = _locale(deps, message)
    number = await link_phone(deps, user, shared)
    if number is None:
        await message.answer(t(locale, "phone.foreign"), reply_markup=_share_phone(locale))
        return
    await message.answer(t(locale, "phone.ok", phone=number), reply_markup=ReplyKeyboardRemove())


async def on_edit(message: Message, deps: BotDeps, event_update: Update) -> None:
    """An edited message updates the comment it became."""
    await record_edit(deps, message, event_update.update_id)


async def on_message(message: Message, deps: BotDeps) -> None:
    """Anything else a requester writes opens a ticket or continues one (SPEC §4)."""
    await submit(deps, message)


async def on_unknown_button(callback: CallbackQuery, deps: BotDeps) -> None:
    """Data this bot never made (or made for someone else): a plain refusal."""
    await callback.answer(plain(_locale(deps, callback), "refused"), show_alert=True)


def requester_router() -> Router:
    """The requester's private chat, in order: commands, contact, edits, anything else."""
    router = Router(name="requester")
    router.message.filter(F.chat.type == "private")
    router.edited_message.filter(F.chat.type == "private")
    router.message.register(on_start, CommandStart())
    router.message.register(on_help, Command("help"))
    router.message.register(on_cancel, Command("cancel"))
    router.message.register(on_contact, F.contact)
    router.edited_message.register(on_edit)
    router.message.register(on_message)
    router.callback_query.register(on_unknown_button)
    return router
