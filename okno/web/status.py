"""The private status page ``/t/<token>``: public history, comment, confirm or reopen, rate.

The token is the only credential: the ticket is found by the token's SHA-256, so no ticket
number appears in a URL and one ticket's token can never act on another. An unknown or
malformed token gets the same 404 page, which reveals nothing. Every POST checks the CSRF
token, acts through :class:`TicketService` in one transaction and redirects back (303).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from channels.webform.csrf import FIELD_NAME, CsrfGuard
from channels.webform.normalize import Limits, clean_text
from channels.webform.responses import html_response
from channels.webform.texts import negotiate_locale
from channels.webform.uploads import BodyError, read_form
from okno.web.render import MAX_COMMENT_CHARS, MAX_RATING_COMMENT_CHARS, StatusPages
from okno.web.texts import text
from ticketing.db import Database
from ticketing.domain import ChannelKind, Status, TicketDetail
from ticketing.lifecycle import InvalidTransitionError
from ticketing.models import TicketRow
from ticketing.repository import TicketRepository
from ticketing.service import NotAllowedError, TicketService
from ticketing.tokens import sha256_hex

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_NO_FILES = Limits(max_attachments=0, max_attachment_bytes=1)
_DONE = frozenset({"commented", "confirmed", "reopened", "rated"})
ACTOR = "requester"
_NOT_FOUND = "not_found"

Run = Callable[[AsyncSession, TicketRow, Mapping[str, str]], Awaitable[None]]
Check = Callable[[Mapping[str, str], str], dict[str, str]]


class _RefusedError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class _Action:
    done: str
    check: Check
    run: Run


def status_routes(
    *,
    db: Database,
    tickets: TicketService,
    secret: bytes,
    now: Callable[[], datetime],
    csrf_max_age: int = 4 * 3600,
    secure_cookie: bool = False,
) -> list[web.RouteDef]:
    """The status page's routes: ``GET /t/{token}`` and its four POST actions."""
    csrf = CsrfGuard(secret, max_age=csrf_max_age, now=now, secure_cookie=secure_cookie)
    page = StatusPage(db=db, tickets=tickets, csrf=csrf, now=now)
    return [
        web.get("/t/{token}", page.show),
        web.post("/t/{token}/comment", page.comment),
        web.post("/t/{token}/confirm", page.confirm),
        web.post("/t/{token}/reopen", page.reopen),
        web.post("/t/{token}/rate", page.rate),
    ]


class StatusPage:
    """Handlers of the status page; see :func:`status_routes`."""

    def __init__(
        self,
        *,
        db: Database,
        tickets: TicketService,
        csrf: CsrfGuard,
        now: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._tickets = tickets
        self._csrf = csrf
        self._now = now
        self._pages = StatusPages()

    async def show(self, request: web.Request) -> web.Response:
        """The ticket's page, with a note after a successful action (``?done=``)."""
        locale = _locale(request)
        done = request.query.get("done", "")
        notice = text(locale, f"done.{done}") if done in _DONE else None
        return await self._page(request, locale, notice=notice)

    async def comment(self, request: web.Request) -> web.Response:
        return await self._act(request, _Action("commented", _check_comment, self._comment))

    async def confirm(self, request: web.Request) -> web.Response:
        return await self._act(request, _Action("confirmed", _no_check, self._confirm))

    async def reopen(self, request: web.Request) -> web.Response:
        return await self._act(request, _Action("reopened", _no_check, self._reopen))

    async def rate(self, request: web.Request) -> web.Response:
        return await self._act(request, _Action("rated", _check_rating, self._rate))

    # -- actions -------------------------------------------------------------------------------

    async def _comment(
        self, session: AsyncSession, found: TicketRow, values: Mapping[str, str]
    ) -> None:
        row = await self._tickets.load(session, found.id)
        if Status(row.status) is Status.CLOSED:
            raise _RefusedError("closed")
        await self._tickets.add_requester_message(
            session,
            row,
            text=clean_text(values.get("text", "")),
            author_name=row.requester.name,
            channel=ChannelKind.WEBFORM,
            now=self._now(),
            reason="status_page",
        )

    async def _confirm(
        self, session: AsyncSession, found: TicketRow, _: Mapping[str, str]
    ) -> None:
        await self._tickets.requester_decision(
            session, found.id, solved=True, actor=ACTOR, now=self._now()
        )

    async def _reopen(self, session: AsyncSession, found: TicketRow, _: Mapping[str, str]) -> None:
        await self._tickets.requester_decision(
            session, found.id, solved=False, actor=ACTOR, now=self._now()
        )

    async def _rate(
        self, session: AsyncSession, found: TicketRow, values: Mapping[str, str]
    ) -> None:
        if found.rating is not None:
            raise _RefusedError("already_rated")
        comment = clean_text(values.get("comment", ""))
        await self._tickets.rate(
            session,
            found.id,
            rating=int(values["rating"]),
            comment=comment or None,
            actor=ACTOR,
            now=self._now(),
        )

    # -- plumbing ------------------------------------------------------------------------------

    async def _act(self, request: web.Request, action: _Action) -> web.Response:
        locale = _locale(request)
        token = request.match_info["token"]
        values = await self._authentic_values(request, locale, token)
        if isinstance(values, web.Response):
            return values
        errors = action.check(values, locale)
        if errors:
            return await self._page(request, locale, status=400, values=values, errors=errors)
        refusal = await self._run(token, action, values)
        if refusal == _NOT_FOUND:
            return self._not_found(locale)
        if refusal is not None:
            problem = text(locale, f"error.{refusal}")
            return await self._page(request, locale, status=409, values=values, problem=problem)
        location = f"{_back(token, locale)}&done={action.done}"
        return web.Response(
            status=303, headers={"Location": location, "Cache-Control": "no-store"}
        )

    async def _authentic_values(
        self, request: web.Request, locale: str, token: str
    ) -> dict[str, str] | web.Response:
        """The POSTed fields if the token is well-formed and the CSRF token genuine."""
        if not _TOKEN.fullmatch(token):
            return self._not_found(locale)
        try:
            upload = await read_form(request, _NO_FILES)
        except BodyError as error:
            body = self._pages.problem(
                locale=locale, key="bad_request", back_url=_back(token, locale)
            )
            return html_response(body, status=error.status)
        values = {k: v for k, v in upload.values.items() if isinstance(v, str)}
        if not self._csrf.check(request, values.get(FIELD_NAME)):
            body = self._pages.problem(locale=locale, key="csrf", back_url=_back(token, locale))
            return html_response(body, status=403)
        return values

    async def _run(self, token: str, action: _Action, values: Mapping[str, str]) -> str | None:
        """Act in one transaction; None on success, else why not (rolled back)."""
        try:
            async with self._db.transaction() as session:
                found = await TicketRepository(session).row_by_status_hash(sha256_hex(token))
                if found is None:
                    return _NOT_FOUND
                await action.run(session, found, values)
        except _RefusedError as refused:
            return refused.key
        except (NotAllowedError, InvalidTransitionError):
            return "not_allowed"
        return None

    async def _page(
        self,
        request: web.Request,
        locale: str,
        *,
        status: int = 200,
        values: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        notice: str | None = None,
        problem: str | None = None,
    ) -> web.Response:
        token = request.match_info["token"]
        detail = await self._detail(token)
        if detail is None:
            return self._not_found(locale)
        nonce, csrf_token = self._csrf.issue(request)
        body = self._pages.status(
            locale=locale,
            detail=detail,
            token=token,
            csrf_token=csrf_token,
            values=values,
            errors=errors,
            notice=notice,
            problem=problem,
        )
        response = html_response(body, status=status)
        self._csrf.set_cookie(response, nonce)
        return response

    async def _detail(self, token: str) -> TicketDetail | None:
        if not _TOKEN.fullmatch(token):
            return None
        async with self._db.read() as session:
            repo = TicketRepository(session)
            row = await repo.row_by_status_hash(sha256_hex(token))
            return None if row is None else await repo.detail(row.id, public_only=True)

    def _not_found(self, locale: str) -> web.Response:
        return html_response(self._pages.problem(locale=locale, key="not_found"), status=404)


def _locale(request: web.Request) -> str:
    return negotiate_locale(request.query.get("lang"), request.headers.get("Accept-Language"))


def _back(token: str, locale: str) -> str:
    return f"/t/{token}?lang={locale}"


def _no_check(_values: Mapping[str, str], _locale: str) -> dict[str, str]:
    return {}


def _check_comment(values: Mapping[str, str], locale: str) -> dict[str, str]:
    body = clean_text(values.get("text", ""))
    if not body:
        return {"text": text(locale, "error.required")}
    if len(body) > MAX_COMMENT_CHARS:
        return {"text": text(locale, "error.too_long", max=MAX_COMMENT_CHARS, length=len(body))}
    return {}


def _check_rating(values: Mapping[str, str], locale: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if values.get("rating", "").strip() not in {"1", "2", "3", "4", "5"}:
        errors["rating"] = text(locale, "error.rating")
    comment = clean_text(values.get("comment", ""))
    if len(comment) > MAX_RATING_COMMENT_CHARS:
        errors["comment"] = text(
            locale, "error.too_long", max=MAX_RATING_COMMENT_CHARS, length=len(comment)
        )
    return errors
