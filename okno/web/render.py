"""HTML of the private status page: a ticket's public face, rendered with autoescaping on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from channels.webform.texts import SUPPORTED_LOCALES, format_size
from okno.web.texts import TEXTS, text
from ticketing.domain import Status, TicketDetail

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_COMMENT_CHARS = 20_000
MAX_RATING_COMMENT_CHARS = 2_000


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class StatusPages:
    """Renders the status page and its problem pages."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def _render(self, template: str, locale: str, **context: object) -> str:
        languages = [(code, TEXTS[code]["lang.name"]) for code in SUPPORTED_LOCALES]
        return self._env.get_template(template).render(
            locale=locale, t=partial(text, locale), languages=languages, **context
        )

    def status(
        self,
        *,
        locale: str,
        detail: TicketDetail,
        token: str,
        csrf_token: str,
        values: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        notice: str | None = None,
        problem: str | None = None,
    ) -> str:
        """The ticket's facts, its public comments, and the forms its status allows.

        ``detail`` must hold public comments only; the caller reads it with
        ``public_only=True``.
        """
        ticket = detail.ticket
        zone = _zone(ticket.requester.timezone)

        def when(moment: datetime) -> str:
            return format_datetime(moment, "d MMM y, HH:mm", tzinfo=zone, locale=locale)

        shown = {"text": "", "rating": "", "comment": ""} | dict(values or {})
        return self._render(
            "status.html.j2",
            locale,
            ticket=ticket,
            comments=[c for c in detail.comments if c.public],
            action=f"/t/{token}",
            csrf_token=csrf_token,
            can_rate=ticket.rating is None and ticket.status in {Status.RESOLVED, Status.CLOSED},
            values=shown,
            errors=dict(errors or {}),
            notice=notice,
            problem=problem,
            when=when,
            size=partial(format_size, locale=locale),
            max_comment=MAX_COMMENT_CHARS,
            max_rating_comment=MAX_RATING_COMMENT_CHARS,
        )

    def problem(self, *, locale: str, key: str, back_url: str | None = None) -> str:
        """A page that says what went wrong (``key`` names its title and message)."""
        return self._render(
            "problem.html.j2",
            locale,
            title=text(locale, f"{key}.title"),
            message=text(locale, key),
            back_url=back_url,
        )
