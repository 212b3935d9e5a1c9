"""Builds the phone channel from its settings and attaches it to a running okno.

`okno/app.py` calls :func:`attach` once per process: it adds the webhook routes (call events
arrive over HTTP, so the ``phone`` role has no background work of its own) and the call log's
notice sink. The sink must be in every process that routes messages (``serve`` and ``worker
router``): it links a call to the ticket the router made for it, in the router's transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from channels.phone.adapter import CallsApiInbound, MangoInbound
from okno.api.auth import TokenChecker
from router.calls import CallLog, CallPolicy

if TYPE_CHECKING:
    from okno.app import Okno

ROLE = "phone"


def call_log(okno: Okno) -> CallLog:
    """The call policy over this okno's database, intake and ticket service."""
    settings = okno.settings
    return CallLog(
        db=okno.db,
        intake=okno.intake.accept,
        tickets=okno.tickets,
        policy=CallPolicy(
            open_ticket_on_answered=settings.phone.open_ticket_on_answered,
            callback_attempts=settings.phone.callback_attempts,
            timezone=settings.ticketing.default_timezone,
            locale=settings.ticketing.default_locale,
        ),
        now=okno.now,
    )


@contextlib.asynccontextmanager
async def attach(okno: Okno) -> AsyncIterator[None]:
    """Wire the channel into ``okno`` (nothing when disabled); release it on exit."""
    settings = okno.settings.phone
    if not settings.enabled:
        yield
        return
    calls = call_log(okno)
    okno.notice_sinks.append(calls.on_notices)
    if settings.mango.enabled:
        mango = MangoInbound(
            settings.mango, region=settings.default_region, max_body_bytes=settings.max_body_bytes
        )
        okno.http_routes.extend(mango.routes(calls.handle))
    if settings.api_enabled:
        api = CallsApiInbound(
            region=settings.default_region,
            max_body_bytes=settings.max_body_bytes,
            authorize=TokenChecker(okno.db).check,
            status_url=okno.status_url_for,
        )
        okno.http_routes.extend(api.routes(calls.handle))
    yield
