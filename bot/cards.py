"""A ticket's card in the agents' group, its buttons and its topic's name — pure functions.

The card is rebuilt from the ticket every time it changes, so it always shows the current
state; buttons carry signed callback data (scope ``desk``), checked again when pressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from bot.callbacks import CallbackSigner
from bot.desk_texts import d, label
from channels.base import Button
from ticketing.domain import Priority, Status, Ticket

DESK = "desk"
TOPIC_NAME_CHARS = 128
_SUBJECT_IN_CARD = 300
_ICONS = {
    Status.NEW: "🆕",
    Status.IN_PROGRESS: "🛠",
    Status.WAITING: "⏳",
    Status.RESOLVED: "✅",
    Status.REOPENED: "↩️",
    Status.CLOSED: "🔒",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Reachability:
    """How the agents can reach the requester, as far as the card needs to say."""

    phone: str | None = None
    phone_only: bool = False
    unreachable: bool = False
    callback_pending: bool = False  # agents were asked to call back and have not reached them
    unanswered: int = 0  # call-back attempts without an answer since they were last reached


def topic_name(ticket: Ticket) -> str:
    """``#4567 · subject``, cut to Telegram's 128 characters."""
    name = f"#{ticket.number} · {' '.join(ticket.subject.split())}"
    return name if len(name) <= TOPIC_NAME_CHARS else name[: TOPIC_NAME_CHARS - 1] + "…"


def card_html(
    ticket: Ticket,
    locale: str,
    *,
    first_message: str,
    reach: Reachability,
    assignee: str | None = None,
    status_by: str | None = None,
) -> Markup:
    """The card: title, state (and who set it), classification, people, reachability, the
    first message."""
    subject = ticket.subject[:_SUBJECT_IN_CARD]
    lines = [
        d(locale, "card.title", icon=_ICONS[ticket.status], number=ticket.number, subject=subject),
        d(
            locale,
            "card.state_by" if status_by else "card.state",
            status=label(locale, ticket.status.value),
            priority=label(locale, ticket.priority.value),
            by=status_by,
        ),
        d(
            locale,
            "card.kind",
            type=label(locale, ticket.type.value),
            service=label(locale, ticket.service),
            team=label(locale, ticket.team),
        ),
        d(locale, "card.assignee", assignee=assignee or ticket.assignee or label(locale, None)),
        d(
            locale,
            "card.requester",
            name=ticket.requester.name or label(locale, None),
            channel=label(locale, ticket.origin_channel.value),
        ),
    ]
    if reach.phone_only:
        lines.append(d(locale, "card.phone_only", phone=reach.phone or d(locale, "phone.unknown")))
    if reach.unreachable:
        lines.append(d(locale, "card.unreachable"))
    if reach.callback_pending:
        key = "card.callback_tries" if reach.unanswered else "card.callback"
        lines.append(d(locale, key, count=reach.unanswered))
    if ticket.duplicate_of:
        lines.append(d(locale, "card.link", number=ticket.duplicate_of))
    if ticket.parent_number:
        lines.append(d(locale, "card.parent", number=ticket.parent_number))
    if ticket.rating:
        lines.append(
            d(locale, "card.rating", rating=ticket.rating, comment=ticket.rating_comment or "")
        )
    body = Markup("\n").join(lines)
    if first_message.strip():
        body += Markup("\n\n<blockquote>{}</blockquote>").format(first_message[:1500])
    return body


def card_buttons(
    signer: CallbackSigner, ticket: Ticket, locale: str, *, call_back: bool = False
) -> Sequence[Sequence[Button]]:
    """[Взять] [Приоритет] [Ожидание] / [Решено] [Дубликат], and while a call-back is asked
    for (``call_back``) [Перезвонил] [Не дозвонился]; none once the ticket is closed."""
    if ticket.status is Status.CLOSED:
        return []

    def button(key: str, action: str) -> Button:
        return Button(label=d(locale, key), data=signer.pack(DESK, action, ticket.number))

    rows: list[Sequence[Button]] = [
        [button("btn.take", "take"), button("btn.priority", "prio"), button("btn.wait", "wait")],
        [button("btn.resolve", "res"), button("btn.duplicate", "dup")],
    ]
    if call_back:
        rows.extend(callback_buttons(signer, ticket.number, locale))
    return rows


def priority_buttons(
    signer: CallbackSigner, ticket: Ticket, locale: str
) -> Sequence[Sequence[Button]]:
    """The priority menu the [Приоритет] button opens in place of the card's buttons."""
    choices = [
        Button(label=label(locale, p.value), data=signer.pack(DESK, "p", ticket.number, p.value))
        for p in Priority
    ]
    back = Button(label=d(locale, "btn.back"), data=signer.pack(DESK, "back", ticket.number))
    return [choices[:2], choices[2:], [back]]


def callback_buttons(
    signer: CallbackSigner, number: int, locale: str
) -> Sequence[Sequence[Button]]:
    """[Перезвонил] [Не дозвонился] under a call-back request (and on its ticket's card)."""
    return [
        [
            Button(label=d(locale, "btn.called"), data=signer.pack(DESK, "cb", number, "1")),
            Button(label=d(locale, "btn.no_answer"), data=signer.pack(DESK, "cb", number, "0")),
        ]
    ]
