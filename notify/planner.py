"""Turns ticket notices into outbox entries: who hears about what, in which language.

Called inside the transaction that changed the ticket, so the outbox rows commit with it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notify.settings import NotifySettings
from ticketing.domain import ChannelKind, Notice, OutboxEntry, ReplyAddress
from ticketing.outbox import add_entries

logger = logging.getLogger(__name__)

#: The identities a requester can be told something through (a phone cannot take a message).
_WRITABLE = {"email": ChannelKind.EMAIL, "telegram": ChannelKind.TELEGRAM}


class NotificationPlanner:
    """The ``NoticeSink`` the ticket service calls; one outbox entry per notice and recipient."""

    def __init__(self, settings: NotifySettings, *, status_url: Callable[[str], str]) -> None:
        self._settings = settings
        self._status_url = status_url

    async def __call__(
        self, session: AsyncSession, notices: Sequence[Notice], now: datetime
    ) -> None:
        entries = [entry for notice in notices for entry in self.entries_for(notice)]
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
            case (
                "public_reply"
                | "status_changed"
                | "waiting_for_you"
                | "resolved"
                | "callback_unreachable"
            ):
                return notice.kind
            case _:
                return None

    def entries_for(self, notice: Notice) -> list[OutboxEntry]:
        """Every outbox entry ``notice`` calls for: at most one to the reply address, except
        ``callback_unreachable``, which goes to each of the requester's other identities."""
        if notice.kind == "callback_unreachable":
            return self._unreachable_entries(notice)
        entry = self.entry_for(notice)
        return [] if entry is None else [entry]

    def _unreachable_entries(self, notice: Notice) -> list[OutboxEntry]:
        """The agents gave up calling the requester back: say so where they can read it."""
        if not self._settings.is_enabled(notice.kind):
            return []
        ticket, reply = notice.ticket, notice.ticket.reply_to
        # The notice lists the requester's identities (its ticket's requester carries none).
        raw = notice.data.get("identities")
        identities = [
            (str(i.get("kind")), str(i.get("value")))
            for i in (raw if isinstance(raw, list) else [])
            if isinstance(i, dict)
        ] + [(i.kind.value, i.value) for i in ticket.requester.identities]
        phones = [value for kind, value in identities if kind == "phone"]
        if reply is not None and reply.channel is ChannelKind.PHONE:
            phones.insert(0, reply.address)
        unanswered = notice.data.get("unanswered")
        payload: dict[str, Any] = {
            "ticket_number": ticket.number,
            "subject": ticket.subject,
            "status_url": self._status_url(notice.status_token),
            "attempts": unanswered if isinstance(unanswered, int) else 0,
            "phone": phones[0] if phones else None,
        }
        entries: dict[tuple[ChannelKind, str], OutboxEntry] = {}
        for kind, address in identities:
            channel = _WRITABLE.get(kind)
            if channel is None or (channel, address) in entries:
                continue
            # The reply address keeps its thread (an e-mail's References), others start one.
            recipient = ReplyAddress(channel=channel, address=address)
            if reply is not None and (reply.channel, reply.address) == (channel, address):
                recipient = reply
            digest = hashlib.sha256(address.encode()).hexdigest()[:24]
            entries[channel, address] = OutboxEntry(
                idempotency_key=f"{notice.kind}:{notice.key}:{channel.value}:{digest}",
                ticket_id=ticket.id,
                recipient=recipient,
                template=notice.kind,
                locale=ticket.requester.locale,
                timezone=ticket.requester.timezone,
                payload=payload,
            )
        return list(entries.values())

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
                if data.get("attachments"):  # references into the file store, not bytes
                    payload["attachments"] = data["attachments"]
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
