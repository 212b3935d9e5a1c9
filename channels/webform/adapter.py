"""The web form channel: ``GET/POST /form`` (HTML) and ``POST /api/v1/form`` (JSON).

A submission goes through the same checks on both routes, cheapest first: the body is read
within limits, then (HTML only) the CSRF token, the honeypot, the per-IP rate limit, field
validation and the per-address rate limit; only then is the message handed to the sink.
Nothing reaches the sink when any check fails.

The JSON route takes no CSRF token: it accepts ``application/json`` only, which a browser
sends cross-site only after a CORS preflight that okno never grants.

The hidden ``submission_id`` becomes the message's ``external_id``, so a double submit (or a
refresh of the result page) lands on the same ticket. The private status link is shown only
for a ticket the submission *created*: a message appended to an existing ticket was matched
on an unverified address, and the link would open someone else's ticket.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from math import ceil
from typing import Any

from aiohttp import web

from channels.base import IntakeSink
from channels.webform.checks import Accepted, SubmissionChecks
from channels.webform.csrf import FIELD_NAME, CsrfGuard
from channels.webform.normalize import FieldError, Limits
from channels.webform.ratelimit import RateLimiter
from channels.webform.render import FormPages, field_messages
from channels.webform.responses import html_response, json_response
from channels.webform.settings import WebformSettings
from channels.webform.texts import negotiate_locale, text
from channels.webform.uploads import BodyError, read_form, read_json


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebformInbound:
    """The web form's HTTP inbound channel.

    Args:
        settings: the ``webform`` settings section.
        services: the service catalog as ``(id, {locale: name})``.
        secret: the installation secret; signs CSRF tokens.
        max_attachment_bytes: bytes per file.
        max_attachments: files per submission.
        status_url: the private status page's address for a token.
        status_token_for: the status token of a ticket number (when the result has none).
        rate_limiter: counts submissions per IP and per address.
        now: the clock.
        trust_forwarded_for: take the client IP from ``X-Forwarded-For`` (behind a proxy).
        secure_cookie: mark the CSRF cookie ``Secure`` (served over HTTPS).
    """

    def __init__(
        self,
        settings: WebformSettings,
        *,
        services: Sequence[tuple[str, Mapping[str, str]]],
        secret: bytes,
        max_attachment_bytes: int,
        max_attachments: int,
        status_url: Callable[[str], str],
        status_token_for: Callable[[int], str],
        rate_limiter: RateLimiter,
        now: Callable[[], datetime] = _utcnow,
        trust_forwarded_for: bool = False,
        secure_cookie: bool = False,
    ) -> None:
        self._settings = settings
        self._limits = Limits(
            max_name_chars=settings.max_name_chars,
            max_subject_chars=settings.max_subject_chars,
            min_text_chars=settings.min_text_chars,
            max_text_chars=settings.max_text_chars,
            max_attachments=max_attachments,
            max_attachment_bytes=max_attachment_bytes,
        )
        self._pages = FormPages(
            services=services, limits=self._limits, honeypot_field=settings.honeypot_field
        )
        self._csrf = CsrfGuard(
            secret, max_age=settings.csrf_max_age_seconds, now=now, secure_cookie=secure_cookie
        )
        self._checks = SubmissionChecks(
            settings,
            limits=self._limits,
            service_ids=frozenset(service_id for service_id, _ in services),
            status_url=status_url,
            status_token_for=status_token_for,
            rate_limiter=rate_limiter,
            now=now,
            trust_forwarded_for=trust_forwarded_for,
        )

    def routes(self, sink: IntakeSink) -> list[web.RouteDef]:
        """``GET /form``, ``POST /form`` and ``POST /api/v1/form``; none when disabled."""
        if not self._settings.enabled:
            return []

        async def post_form(request: web.Request) -> web.Response:
            return await self._post_form(request, sink)

        async def post_api(request: web.Request) -> web.Response:
            return await self._post_api(request, sink)

        return [
            web.get("/form", self._get_form),
            web.post("/form", post_form),
            web.post("/api/v1/form", post_api),
        ]

    # -- HTML ----------------------------------------------------------------------------------

    async def _get_form(self, request: web.Request) -> web.Response:
        return self._form_page(request, _locale(request), {}, {}, status=200)

    def _form_page(
        self,
        request: web.Request,
        locale: str,
        values: Mapping[str, object],
        errors: Mapping[str, FieldError],
        *,
        status: int,
        notice: str | None = None,
        retry_after: float | None = None,
    ) -> web.Response:
        nonce, token = self._csrf.issue(request)
        kept_id = values.get("submission_id")
        submission_id = _uuid_or_none(kept_id) or str(uuid.uuid4())
        body = self._pages.form(
            locale=locale,
            csrf_token=token,
            submission_id=submission_id,
            values=values,
            errors=errors,
            notice=notice,
        )
        response = html_response(body, status=status, retry_after=retry_after)
        self._csrf.set_cookie(response, nonce)
        return response

    async def _post_form(self, request: web.Request, sink: IntakeSink) -> web.Response:
        locale = _locale(request)
        try:
            upload = await read_form(request, self._limits)
        except BodyError as error:
            return self._problem_page(
                locale, error.status, "bad_request", error.code, error.params
            )
        token = upload.values.get(FIELD_NAME)
        if not self._csrf.check(request, token if isinstance(token, str) else None):
            return self._problem_page(locale, 403, "csrf", "csrf", {})
        outcome = await self._checks.submit(request, upload, locale, sink)
        if isinstance(outcome, Accepted):
            body = self._pages.result(
                locale=locale,
                outcome=outcome.result.outcome,
                number=outcome.result.ticket_number,
                status_url=outcome.status_url,
                email=outcome.submission.email,
                phone=outcome.submission.phone,
            )
            return html_response(body)
        if outcome.problem == "rejected":
            return self._problem_page(locale, outcome.status, "rejected", "rejected", {})
        notice = None
        if outcome.problem != "invalid":
            notice = _problem_text(locale, outcome.problem, outcome.retry_after)
        return self._form_page(
            request,
            locale,
            upload.values,
            outcome.errors,
            status=outcome.status,
            notice=notice,
            retry_after=outcome.retry_after,
        )

    def _problem_page(
        self, locale: str, status: int, title: str, code: str, params: Mapping[str, object]
    ) -> web.Response:
        body = self._pages.problem(
            locale=locale,
            title=text(locale, f"problem.{title}.title"),
            message=text(locale, f"problem.{code}", **params),
        )
        return html_response(body, status=status)

    # -- JSON ----------------------------------------------------------------------------------

    async def _post_api(self, request: web.Request, sink: IntakeSink) -> web.Response:
        locale = _locale(request)
        try:
            upload = await read_json(request, self._limits)
        except BodyError as error:
            message = text(locale, f"problem.{error.code}", **error.params)
            return json_response({"error": message}, status=error.status)
        if upload.values.get("submission_id") is None:
            upload.values["submission_id"] = str(uuid.uuid4())
        outcome = await self._checks.submit(request, upload, locale, sink)
        if isinstance(outcome, Accepted):
            result = outcome.result
            return json_response(
                {
                    "ticket_number": result.ticket_number,
                    "outcome": result.outcome.value,
                    "status_url": outcome.status_url,
                },
                status=202,
            )
        body: dict[str, Any] = {
            "error": _problem_text(locale, outcome.problem, outcome.retry_after)
        }
        if outcome.errors:
            body["fields"] = field_messages(outcome.errors, locale)
        if outcome.retry_after is not None:
            body["retry_after"] = ceil(outcome.retry_after)
        return json_response(body, status=outcome.status, retry_after=outcome.retry_after)


def _locale(request: web.Request) -> str:
    return negotiate_locale(request.query.get("lang"), request.headers.get("Accept-Language"))


def _uuid_or_none(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _problem_text(locale: str, problem: str, retry_after: float | None) -> str:
    if problem == "rate_limited":
        return text(locale, "problem.rate_limited", minutes=ceil((retry_after or 60) / 60))
    return text(locale, f"problem.{problem}")
