"""The checks a read submission passes before it reaches the sink, shared by HTML and JSON.

Cheapest first: the honeypot, the per-IP rate limit, field validation, the per-address rate
limit. The answer is either :class:`Accepted` (the sink's result) or a :class:`Rejection`
that each route renders in its own format; on a rejection the sink is never called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from channels.base import IntakeSink
from channels.webform.normalize import (
    FieldError,
    Limits,
    Submission,
    to_inbound,
    validate_submission,
)
from channels.webform.ratelimit import RateLimiter
from channels.webform.responses import client_ip
from channels.webform.settings import WebformSettings
from channels.webform.uploads import Upload
from ticketing.domain import IntakeOutcome, IntakeResult

logger = logging.getLogger(__name__)

HOUR = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """Why a submission was not passed on: ``problem`` names the message, ``errors`` fields."""

    status: int
    problem: str
    errors: Mapping[str, FieldError] = field(default_factory=dict)
    retry_after: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """The sink took the submission; ``status_url`` only for a ticket it created."""

    submission: Submission
    result: IntakeResult
    status_url: str | None


class SubmissionChecks:
    """Honeypot, rate limits and validation, then the sink."""

    def __init__(
        self,
        settings: WebformSettings,
        *,
        limits: Limits,
        service_ids: frozenset[str],
        status_url: Callable[[str], str],
        status_token_for: Callable[[int], str],
        rate_limiter: RateLimiter,
        now: Callable[[], datetime],
        trust_forwarded_for: bool,
    ) -> None:
        self._settings = settings
        self._limits = limits
        self._service_ids = service_ids
        self._status_url = status_url
        self._status_token_for = status_token_for
        self._limiter = rate_limiter
        self._now = now
        self._trust_forwarded_for = trust_forwarded_for

    async def submit(
        self, request: web.Request, upload: Upload, locale: str, sink: IntakeSink
    ) -> Accepted | Rejection:
        """Check ``upload``; hand it to ``sink`` only if every check passes."""
        if upload.values.get(self._settings.honeypot_field):
            logger.info("honeypot filled; submission dropped")
            return Rejection(status=400, problem="rejected")
        ip = client_ip(request, trust_forwarded_for=self._trust_forwarded_for)
        retry = await self._limiter.hit(
            f"webform:ip:{ip}", limit=self._settings.max_requests_per_ip_per_hour, window=HOUR
        )
        if retry is not None:
            return Rejection(status=429, problem="rate_limited", retry_after=retry)
        submission, errors = validate_submission(
            upload.values, service_ids=self._service_ids, limits=self._limits
        )
        if upload.errors or submission is None:
            status = upload.status if upload.errors else 400
            return Rejection(status=status, problem="invalid", errors=errors | upload.errors)
        retry = await self._limit_addresses(submission)
        if retry is not None:
            return Rejection(status=429, problem="rate_limited", retry_after=retry)
        message = to_inbound(
            submission,
            attachments=upload.attachments,
            locale=locale,
            client_ip=ip,
            received_at=self._now(),
        )
        try:
            result = await sink(message)
        except Exception:
            # Not stored: the visitor keeps the form and may retry with the same submission id.
            logger.exception("web form intake failed", extra={"external_id": message.external_id})
            return Rejection(status=503, problem="unavailable", retry_after=60)
        return Accepted(submission=submission, result=result, status_url=self._link(result))

    async def _limit_addresses(self, submission: Submission) -> float | None:
        waits: list[float] = []
        for address in (submission.email, submission.phone):
            if address is not None:
                wait = await self._limiter.hit(
                    f"webform:address:{address}",
                    limit=self._settings.max_requests_per_address_per_hour,
                    window=HOUR,
                )
                if wait is not None:
                    waits.append(wait)
        return max(waits, default=None)

    def _link(self, result: IntakeResult) -> str | None:
        # An appended message was matched on an address nobody verified: no link to that ticket.
        if result.outcome is not IntakeOutcome.CREATED or result.ticket_number is None:
            return None
        token = result.status_token or self._status_token_for(result.ticket_number)
        return self._status_url(token)
