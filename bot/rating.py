"""After a resolution: «Проблема решена?» [Да] → 1–5 buttons → an optional comment; [Нет] reopens.

Every button is signed for the requester it was sent to, and the ticket's requester is checked
again in the database: a button pressed by anyone else — or data made up — gets a plain refusal
in the presser's language and changes nothing. Each press counts once (its update is recorded
in the same transaction).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, Update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Callback
from bot.context import BotDeps
from bot.desk_sink import queue_job
from bot.texts import locale_or, plain, t
from channels.base import Button
from channels.telegram.normalize import locale_of
from channels.telegram.render import keyboard
from ticketing import telegram_store
from ticketing.domain import IdentityKind, Ticket
from ticketing.lifecycle import InvalidTransitionError
from ticketing.repository import TicketRepository
from ticketing.service import NotAllowedError, TicketNotFoundError
from ticketing.telegram_store import DeskJob

ACTIONS = ("ok", "no", "r", "rs")


class RatingComment(StatesGroup):
    """Waiting for the optional comment after a rating."""

    waiting = State()


async def _owned(session: AsyncSession, user_id: int, number: int) -> Ticket | None:
    """The ticket when the Telegram user is its requester; None otherwise."""
    repo = TicketRepository(session)
    contact = await repo.contact_by_identity(IdentityKind.TELEGRAM, str(user_id))
    ticket = await repo.get(number)
    if contact is None or ticket is None or ticket.requester.id != contact.id:
        return None
    return ticket


def rating_buttons(deps: BotDeps, user_id: int, number: int) -> list[Button]:
    """[1] … [5], signed for the requester."""
    return [
        Button(label=str(score), data=deps.signer.pack(user_id, "r", number, str(score)))
        for score in range(1, 6)
    ]


_OUTCOMES = {"ok": "decision.closed", "no": "decision.reopened", "r": "rate.thanks"}


async def _act(deps: BotDeps, update_id: int, user_id: int, data: Callback) -> str:
    """Apply one press; returns the text key of the answer.

    A redelivered press (its change committed, the reply lost) is not applied again but gets
    the same answer, so the next step (the rating buttons) still reaches the requester.
    """
    tickets, now, actor = deps.tickets, deps.now(), "requester"
    if data.action == "r" and not data.arg.isdigit():
        return "refused"
    async with deps.db.transaction() as session:
        if await _owned(session, user_id, data.ticket) is None:
            return "refused"
        if not await telegram_store.claim_update(session, update_id, now):
            return _OUTCOMES[data.action]
        if data.action in {"ok", "no"}:
            await tickets.requester_decision(
                session, data.ticket, solved=data.action == "ok", actor=actor, now=now
            )
        else:
            rating = int(data.arg)
            await tickets.rate(
                session, data.ticket, rating=rating, comment=None, actor=actor, now=now
            )
            job = DeskJob(
                key=f"rated:{update_id}",
                ticket_id=data.ticket,
                kind="rated",
                data={"rating": rating},
            )
            await queue_job(session, job, now)
    return _OUTCOMES[data.action]


async def on_press(
    callback: CallbackQuery, deps: BotDeps, state: FSMContext, event_update: Update
) -> None:
    """[Да] / [Нет, возобновить], a rating, or [Пропустить]; checked against the presser."""
    user = callback.from_user
    locale = locale_or(locale_of(user), deps.default_locale)
    data = deps.signer.unpack(user.id, callback.data)
    if data is None or data.action not in ACTIONS:
        await callback.answer(plain(locale, "refused"), show_alert=True)
        return
    if data.action == "rs":
        await state.clear()
        await callback.answer(plain(locale, "cancel.done"))
        return
    try:
        outcome = await _act(deps, event_update.update_id, user.id, data)
    except (InvalidTransitionError, NotAllowedError, TicketNotFoundError):
        outcome = "stale"
    deps.wake()
    if outcome in {"refused", "stale"}:
        await callback.answer(plain(locale, outcome), show_alert=True)
        return
    await callback.answer()
    text = t(locale, outcome, number=data.ticket, rating=data.arg)
    markup = None
    if outcome == "decision.closed":
        text += "\n" + t(locale, "rate.ask")
        markup = keyboard(rating_buttons(deps, user.id, data.ticket))
    elif outcome == "rate.thanks":
        text += "\n" + t(locale, "rate.comment_ask")
        skip = Button(label=t(locale, "rate.skip"), data=deps.signer.pack(user.id, "rs", 0))
        markup = keyboard([skip])
        await state.set_state(RatingComment.waiting)
        await state.update_data(ticket=data.ticket, rating=int(data.arg))
    await deps.sender.send_text(user.id, text, markup=markup)


async def on_comment(message: Message, deps: BotDeps, state: FSMContext) -> None:
    """The optional comment after a rating: stored with it, then the dialog ends."""
    user = message.from_user
    stored = await state.get_data()
    await state.clear()
    if user is None or not message.text:
        return
    locale = locale_or(locale_of(user), deps.default_locale)
    number, rating = int(stored.get("ticket", 0)), int(stored.get("rating", 0))
    async with deps.db.transaction() as session:
        if await _owned(session, user.id, number) is None:
            return
        await deps.tickets.rate(
            session,
            number,
            rating=rating,
            comment=message.text[:2000],
            actor="requester",
            now=deps.now(),
        )
        job = DeskJob(
            key=f"rated:{number}:{message.message_id}",
            ticket_id=number,
            kind="rated",
            data={"rating": rating, "comment": message.text[:500]},
        )
        await queue_job(session, job, deps.now())
    deps.wake()
    await message.answer(t(locale, "rate.comment_thanks"))


def rating_router() -> Router:
    """The decision and rating buttons, and the comment that may follow."""
    router = Router(name="rating")
    router.message.filter(F.chat.type == "private")
    router.message.register(
        on_comment, StateFilter(RatingComment.waiting), F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(on_press, F.data.regexp(r"^(ok|no|r|rs):"))
    return router
