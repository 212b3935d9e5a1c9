"""Outbox entries the escalator writes: requester reminders through the channel the requester
wrote from, and ladder messages to configured addresses (a supervisor's mailbox).

Each entry's idempotency key names the ticket and the timer occurrence, so a timer can only
ever queue one message per recipient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from notify.settings import NotifySettings
from sla.policy import Plan
from sla.timers import Timer
from ticketing.domain import ChannelKind, OutboxEntry, ReplyAddress, Ticket


class Reminders:
    """Builds reminder entries.

    Args:
        notify: which events are switched on.
        status_url: ticket number → its private status link.
        locale: language of messages to configured (non-requester) addresses.
        timezone: their time zone.
    """

    def __init__(
        self,
        notify: NotifySettings,
        *,
        status_url: Callable[[int], str],
        locale: str,
        timezone: str,
    ) -> None:
        self._notify = notify
        self._status_url = status_url
        self._locale = locale
        self._timezone = timezone

    def for_requester(self, ticket: Ticket, timer: Timer, plan: Plan) -> list[OutboxEntry]:
        """ "We still need your reply" or the rating request, to the ticket's reply address."""
        template = timer.kind
        if ticket.reply_to is None or not self._notify.is_enabled(template):
            return []
        status_url = self._status_url(ticket.number)
        payload: dict[str, Any] = {
            "ticket_number": ticket.number,
            "subject": ticket.subject,
            "status_url": status_url,
        }
        follow_up = plan.requester.auto_resolve if template == "still_waiting" else None
        if template == "rating_request":
            payload["rating_url"] = f"{status_url}#rate"
            follow_up = plan.requester.auto_close
        automatic = (
            plan.calendar.add(timer.since, follow_up)
            if timer.since is not None and follow_up is not None
            else None
        )
        payload["automatic_at"] = automatic.isoformat() if automatic else None
        return [
            OutboxEntry(
                idempotency_key=f"{template}:{ticket.number}:{timer.key}",
                ticket_id=ticket.id,
                recipient=ticket.reply_to,
                template=template,
                locale=ticket.requester.locale,
                timezone=ticket.requester.timezone,
                payload=payload,
            )
        ]

    def for_ladder(
        self, ticket: Ticket, timer: Timer, kind: str, data: dict[str, Any]
    ) -> list[OutboxEntry]:
        """The ladder step's message to each configured address (``email:…``, ``telegram:…``)."""
        step = timer.step
        if step is None or not step.recipients or not self._notify.is_enabled(kind):
            return []
        payload: dict[str, Any] = {
            "ticket_number": ticket.number,
            "subject": ticket.subject,
            "status_url": self._status_url(ticket.number),
            "priority": ticket.priority.value,
            "clock": data["clock"],
            "percent": data["percent"],
            "level": data["level"],
            "due_at": data["due_at"],
            "assignee": ticket.assignee,
        }
        return [
            OutboxEntry(
                idempotency_key=f"{kind}:{ticket.number}:{timer.key}:{address}",
                ticket_id=ticket.id,
                recipient=recipient,
                template=kind,
                locale=self._locale,
                timezone=self._timezone,
                payload=payload,
            )
            for address, recipient in _addresses(step.recipients)
        ]


def _addresses(recipients: Iterable[str]) -> Iterable[tuple[str, ReplyAddress]]:
    for address in recipients:
        channel, _, value = address.partition(":")
        yield address, ReplyAddress(channel=ChannelKind(channel), address=value)
