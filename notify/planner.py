"""Turns ticket notices into outbox entries: who hears about what, in which language.

Called inside the transaction that changed the ticket, so the outbox rows commit with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notify.settings import NotifySettings
from ticketing.domain import Notice, OutboxEntry
from ticketing.outbox import add_entries

logger = logging.getLogger(__name__)


class NotificationPlanner:
    """The ``NoticeSink`` the ticket service calls; one outbox entry per notice and recipient."""

    def __init__(self, settings: NotifySettings, *, status_url: Callable[[str], str]) -> None:
        self._settings = settings
        self._status_url = status_url

    async def __call__(
        self, session: AsyncSession, notices: Sequence[Notice], now: datetime
    ) -> None:
        entries = [entry for notice in notices if (entry := self.entry_for(notice)) is not None]
        if entries:
            await add_entries(session, entries, now)
            for entry in entries:
                logger.info(
                    "notification queued",
                    extra={
                        "ticket": entry.ticket_id,
                        "template": entry.template,
                        "channel": entry.recipient.channel.value,
                        "key": entry.idempotency_key,
                    },
                )

    @staticmethod
    def template_for(notice: Notice) -> str | None:
        """The requester-facing template for a notice, or None when the requester hears nothing.

        Notices for the agents' side (private notes, every requester message) are other sinks'
        business; a machine-written message gets no automatic answer (loop protection).
        """
        acknowledge = bool(notice.data.get("acknowledge", True))
        match notice.kind:
            case "created":
                return "acknowledgement" if acknowledge else None
            case "requester_message":
                return "appended" if acknowledge else None
            case "public_reply" | "status_changed" | "waiting_for_you" | "resolved":
                return notice.kind
            case _:
                return None

    def entry_for(self, notice: Notice) -> OutboxEntry | None:
        template = self.template_for(notice)
        if template is None or not self._settings.is_enabled(template):
            return None
        ticket = notice.ticket
        if ticket.reply_to is None:
            return None
        status_url = self._status_url(notice.status_token)
        payload: dict[str, Any] = {
            "ticket_number": ticket.number,
            "subject": ticket.subject,
            "status_url": status_url,
        }
        data = notice.data
        match template:
            case "acknowledgement":
                payload |= {
                    "priority": ticket.priority.value,
                    "requester_name": ticket.requester.name,
                    "expected_resolution_at": ticket.resolution_due_at.isoformat()
                    if ticket.resolution_due_at
                    else None,
                }
            case "appended":
                payload |= {"reason": data.get("reason")}
            case "public_reply":
                payload |= {"author_name": data.get("author_name"), "text": data.get("text")}
            case "waiting_for_you":
                payload |= {"question": data.get("comment")}
            case "resolved":
                payload |= {"resolution": data.get("comment"), "rating_url": f"{status_url}#rate"}
            case _:
                payload |= {
                    "old_status": data.get("old_status"),
                    "new_status": data.get("new_status"),
                }
        return OutboxEntry(
            idempotency_key=f"{template}:{notice.key}",
            ticket_id=ticket.id,
            recipient=ticket.reply_to,
            template=template,
            locale=ticket.requester.locale,
            timezone=ticket.requester.timezone,
            payload=payload,
        )
