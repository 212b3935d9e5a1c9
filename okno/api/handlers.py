"""``/api/v1``: generic intake, tickets, comments and status changes, behind bearer tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundAttachment, InboundMessage, IntakeSink, Sender
from channels.phones import normalize_phone
from okno.api.auth import TokenChecker
from okno.api.errors import ApiError, parse_json
from okno.api.openapi import openapi_document
from okno.api.schemas import (
    CommentIn,
    CommentOut,
    EventOut,
    MessageIn,
    MessageOut,
    SlaOut,
    StatusIn,
    TicketDetailOut,
    TicketListOut,
    TicketOut,
)
from sla.policy import SlaPolicy
from sla.view import SlaView, sla_views
from ticketing.db import Database
from ticketing.domain import (
    ChannelKind,
    Priority,
    ReplyAddress,
    Status,
    Ticket,
    TicketDetail,
)
from ticketing.files import AttachmentTooLargeError
from ticketing.lifecycle import InvalidTransitionError
from ticketing.repository import TicketFilter, TicketRepository
from ticketing.service import NotAllowedError, TicketNotFoundError, TicketService

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def sla_out(view: SlaView | None) -> SlaOut | None:
    # SlaOut mirrors SlaView field for field; the API model adds only the documentation.
    return None if view is None else SlaOut.model_validate(view, from_attributes=True)


def ticket_out(ticket: Ticket, sla: SlaView | None = None) -> TicketOut:
    return TicketOut(
        number=ticket.number,
        subject=ticket.subject,
        type=ticket.type,
        priority=ticket.priority,
        status=ticket.status,
        service=ticket.service,
        category=ticket.category,
        tags=list(ticket.tags),
        classified=ticket.classified,
        team=ticket.team,
        assignee=ticket.assignee,
        origin_channel=ticket.origin_channel,
        requester={"id": ticket.requester.id, "name": ticket.requester.name},
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        reaction_due_at=ticket.reaction_due_at,
        resolution_due_at=ticket.resolution_due_at,
        first_reaction_at=ticket.first_reaction_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        rating=ticket.rating,
        rating_comment=ticket.rating_comment,
        sla=sla_out(sla),
    )


def detail_out(detail: TicketDetail, sla: SlaView | None = None) -> TicketDetailOut:
    base = ticket_out(detail.ticket, sla).model_dump()
    return TicketDetailOut(
        **base,
        comments=[
            CommentOut(
                id=c.id,
                author_kind=c.author_kind.value,
                author_name=c.author_name,
                public=c.public,
                body=c.body,
                channel=c.channel.value if c.channel else None,
                created_at=c.created_at,
                attachments=[
                    {"sha256": a.sha256, "filename": a.filename, "size": a.size}
                    for a in c.attachments
                ],
            )
            for c in detail.comments
        ],
        events=[
            EventOut(id=e.id, kind=e.kind, actor=e.actor, data=e.data, created_at=e.created_at)
            for e in detail.events
        ],
    )


def reply_address_for(sender: Sender, channel: ChannelKind) -> ReplyAddress | None:
    """Answer where the person can be reached, preferring the channel they wrote from."""
    if channel is ChannelKind.TELEGRAM and sender.telegram_id is not None:
        return ReplyAddress(channel=ChannelKind.TELEGRAM, address=str(sender.telegram_id))
    if sender.email:
        return ReplyAddress(channel=ChannelKind.EMAIL, address=sender.email)
    if sender.telegram_id is not None:
        return ReplyAddress(channel=ChannelKind.TELEGRAM, address=str(sender.telegram_id))
    if sender.phone:
        return ReplyAddress(channel=ChannelKind.PHONE, address=sender.phone)
    return None


class Api:
    """The JSON API's handlers and its bearer-token middleware."""

    def __init__(
        self,
        *,
        db: Database,
        intake: IntakeSink,
        tickets: TicketService,
        tokens: TokenChecker,
        services: frozenset[str],
        status_url: Callable[[int], str],
        max_attachment_bytes: int,
        now: Callable[[], datetime],
        sla_policy: SlaPolicy | None = None,
        phone_region: str = "RU",
    ) -> None:
        self._db = db
        self._intake = intake
        self._tickets = tickets
        self._tokens = tokens
        self._services = services
        self._status_url = status_url
        self._max_attachment_bytes = max_attachment_bytes
        self._phone_region = phone_region
        self._now = now
        self._sla_policy = sla_policy

    async def _sla(self, session: AsyncSession, numbers: Collection[int]) -> Mapping[int, SlaView]:
        """Each ticket's SLA now (none when SLA tracking is off)."""
        if self._sla_policy is None:
            return {}
        return await sla_views(session, self._sla_policy, numbers, self._now())

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/openapi.json", self.openapi),
            web.post("/api/v1/messages", self._authed(self.post_message)),
            web.get("/api/v1/tickets", self._authed(self.list_tickets)),
            web.get("/api/v1/tickets/{number}", self._authed(self.get_ticket)),
            web.post("/api/v1/tickets/{number}/comments", self._authed(self.post_comment)),
            web.post("/api/v1/tickets/{number}/status", self._authed(self.post_status)),
        ]

    def _authed(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not await self._tokens.check(request.headers.get("Authorization")):
                raise ApiError(401, "missing or invalid bearer token")
            return await handler(request)

        return guarded

    async def openapi(self, _request: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    def _phone(self, raw: str | None) -> str | None:
        """E.164, as the phone channel writes it, so an API sender and a caller are one contact.

        Raises:
            ApiError: 422 naming ``sender.phone`` when it is no valid number.
        """
        if raw is None:
            return None
        number = normalize_phone(raw, self._phone_region)
        if number is None:
            reason = (
                f"not a valid phone number (national numbers are read as {self._phone_region})"
            )
            raise ApiError(422, "invalid request", {"sender.phone": reason})
        return number

    async def post_message(self, request: web.Request) -> web.Response:
        body = await parse_json(request, MessageIn)
        if body.service is not None and body.service not in self._services:
            raise ApiError(
                422, "invalid request", {"service": f"unknown service {body.service!r}"}
            )
        attachments = []
        for index, item in enumerate(body.attachments):
            content = item.content()
            if len(content) > self._max_attachment_bytes:
                raise ApiError(
                    413,
                    "attachment too large",
                    {
                        f"attachments.{index}": f"{len(content)} bytes; the limit is "
                        f"{self._max_attachment_bytes} bytes"
                    },
                )
            attachments.append(
                InboundAttachment(
                    filename=item.filename, content_type=item.content_type, content=content
                )
            )
        sender = Sender(
            name=body.sender.name,
            email=str(body.sender.email) if body.sender.email else None,
            phone=self._phone(body.sender.phone),
            telegram_id=body.sender.telegram_id,
            locale=body.sender.locale,
            timezone=body.sender.timezone,
        )
        message = InboundMessage(
            channel=body.channel,
            external_id=body.external_id,
            sender=sender,
            subject=body.subject,
            text=body.text,
            service=body.service,
            reply_to=reply_address_for(sender, body.channel),
            attachments=tuple(attachments),
            received_at=self._now(),
        )
        try:
            result = await self._intake(message)
        except AttachmentTooLargeError as exc:
            raise ApiError(413, str(exc)) from exc
        out = MessageOut(
            outcome=result.outcome.value,
            ticket_number=result.ticket_number,
            status_url=self._status_url(result.ticket_number) if result.ticket_number else None,
            reason=result.reason,
        )
        return web.json_response(text=out.model_dump_json(), status=202)

    async def list_tickets(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            flt = TicketFilter(
                status=[Status(s) for s in query.getall("status", [])],
                priority=[Priority(p) for p in query.getall("priority", [])],
                channel=ChannelKind(query["channel"]) if "channel" in query else None,
                assignee=query.get("assignee"),
                team=query.get("team"),
                service=query.get("service"),
                requester_id=int(query["requester_id"]) if "requester_id" in query else None,
                before_number=int(query["before"]) if "before" in query else None,
                limit=min(max(int(query.get("limit", "50")), 1), 200),
            )
        except ValueError as exc:
            raise ApiError(400, f"bad query parameter: {exc}") from exc
        async with self._db.read() as session:
            tickets = await TicketRepository(session).list(flt)
            sla = await self._sla(session, [t.number for t in tickets])
        next_before = tickets[-1].number if len(tickets) == flt.limit else None
        out = TicketListOut(
            items=[ticket_out(t, sla.get(t.number)) for t in tickets], next_before=next_before
        )
        return web.json_response(text=out.model_dump_json())

    @staticmethod
    def _number(request: web.Request) -> int:
        raw = request.match_info["number"].lstrip("#")
        if not raw.isdigit():
            raise ApiError(400, "ticket number must be a positive integer")
        return int(raw)

    async def get_ticket(self, request: web.Request) -> web.Response:
        number = self._number(request)
        async with self._db.read() as session:
            detail = await TicketRepository(session).detail(number, public_only=False)
            sla = await self._sla(session, [number])
        if detail is None:
            raise ApiError(404, f"ticket #{number} does not exist")
        return web.json_response(text=detail_out(detail, sla.get(number)).model_dump_json())

    async def post_comment(self, request: web.Request) -> web.Response:
        number = self._number(request)
        body = await parse_json(request, CommentIn)
        try:
            async with self._db.transaction() as session:
                ticket = await self._tickets.add_agent_comment(
                    session,
                    number,
                    author_name=body.author,
                    text=body.text,
                    public=body.public,
                    now=self._now(),
                )
                sla = await self._sla(session, [number])
        except TicketNotFoundError as exc:
            raise ApiError(404, str(exc)) from exc
        out = ticket_out(ticket, sla.get(number))
        return web.json_response(text=out.model_dump_json(), status=201)

    async def post_status(self, request: web.Request) -> web.Response:
        number = self._number(request)
        body = await parse_json(request, StatusIn)
        try:
            async with self._db.transaction() as session:
                ticket = await self._tickets.change_status(
                    session,
                    number,
                    body.status,
                    actor=body.actor,
                    now=self._now(),
                    comment=body.comment,
                )
                sla = await self._sla(session, [number])
        except TicketNotFoundError as exc:
            raise ApiError(404, str(exc)) from exc
        except (InvalidTransitionError, NotAllowedError) as exc:
            raise ApiError(409, str(exc), {"status": str(exc)}) from exc
        return web.json_response(text=ticket_out(ticket, sla.get(number)).model_dump_json())
