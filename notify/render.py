"""Turn an outbox payload into words: jinja2 templates per event and format, then per channel.

``Renderer.render`` is pure apart from reading templates once: payload in, :class:`Rendered` out.
``to_outbound`` picks what a channel can carry and degrades the rest (HTML → text, buttons →
numbered links).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateNotFound
from markupsafe import escape

from channels.base import Button, Capability, OutboundMessage, StoredFile
from notify.i18n import N_, Catalogs, resolve_locale, resolve_timezone
from notify.jinja_env import build_environment
from ticketing.domain import ChannelKind, OutboxItem

__all__ = ["TELEGRAM_TAGS", "TEMPLATES_DIR", "Rendered", "Renderer", "to_outbound"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
#: The only tags Telegram's HTML parse mode accepts (of those we use).
TELEGRAM_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote"})

# Payload links offered as buttons, in this order.
_LINKS: tuple[tuple[str, str], ...] = (
    ("status_url", N_("View the ticket")),
    ("rating_url", N_("Rate the solution")),
)
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    """One notification in every format; ``buttons`` carry link URLs in ``data``."""

    subject: str
    text: str
    html: str | None
    telegram_html: str
    buttons: tuple[Button, ...] = ()


class Renderer:
    """Renders ``notify/templates/<event>.<format>.j2`` in the recipient's locale and zone.

    Args:
        catalogs: the loaded gettext catalogs; by default those under ``locales/``.
        default_locale: used when the requested locale is not supported.
        default_timezone: used when the requested time zone is unknown.
        templates_dir: where the templates live.
    """

    def __init__(
        self,
        catalogs: Catalogs | None = None,
        *,
        default_locale: str = "ru",
        default_timezone: str = "UTC",
        templates_dir: Path = TEMPLATES_DIR,
    ) -> None:
        self._catalogs = catalogs = Catalogs() if catalogs is None else catalogs
        self._default_locale = default_locale
        self._default_timezone = default_timezone
        self._env = build_environment(templates_dir, catalogs)

    def render(
        self,
        template: str,
        *,
        locale: str,
        timezone: str,
        payload: Mapping[str, Any],
        now: datetime | None = None,
        channel: ChannelKind | None = None,
    ) -> Rendered:
        """Render every format of one event.

        With ``now``, dates due today or tomorrow read «сегодня в 14:30»; without it, rendering
        depends on its arguments only. With ``channel``, the HTML that channel never carries is
        not rendered (left empty): Telegram's subset for Telegram, the e-mail HTML for others.

        Raises:
            jinja2.TemplateNotFound: no such event (or a required format is missing).
            jinja2.UndefinedError: the payload lacks a key the template uses.
        """
        locale = resolve_locale(locale, self._default_locale)
        timezone = resolve_timezone(timezone, self._default_timezone)
        # Underscored names cannot clash with payload keys; filters and gettext read them.
        context = {**payload, "_locale": locale, "_timezone": timezone, "_now": now}
        translations = self._catalogs.translations(locale)
        html: str | None = None
        if channel is not ChannelKind.TELEGRAM:
            try:
                html = self._render(f"{template}.html.j2", context)
            except TemplateNotFound:
                html = None
        telegram = ""
        if channel is None or channel is ChannelKind.TELEGRAM:
            telegram = self._render(f"{template}.telegram.j2", context)
        return Rendered(
            subject=" ".join(self._render(f"{template}.subject.j2", context).split()),
            text=self._render(f"{template}.text.j2", context),
            html=html,
            telegram_html=telegram,
            buttons=tuple(
                Button(label=translations.gettext(label), data=str(payload[key]))
                for key, label in _LINKS
                if payload.get(key)
            ),
        )

    def _render(self, name: str, context: dict[str, Any]) -> str:
        text = self._env.get_template(name).render(context)
        return _BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("\n", text)).strip()


def to_outbound(item: OutboxItem, rendered: Rendered, capabilities: Capability) -> OutboundMessage:
    """Fit a rendered notification to what the recipient's channel can carry.

    Without BUTTONS the links become numbered lines of the text; without HTML only the text
    goes; Telegram gets its own HTML subset, other channels the e-mail HTML.
    """
    entry = item.entry
    has_buttons = Capability.BUTTONS in capabilities
    text = rendered.text if has_buttons else _text_with_links(rendered.text, rendered.buttons)
    html: str | None = None
    if Capability.HTML in capabilities:
        if entry.recipient.channel is ChannelKind.TELEGRAM:
            html = rendered.telegram_html
            if not has_buttons:
                html = _html_with_links(html, rendered.buttons)
        else:
            html = rendered.html
    number = entry.payload.get("ticket_number")
    files = (
        tuple(StoredFile(**f) for f in entry.payload.get("attachments") or ())
        if Capability.ATTACHMENTS in capabilities
        else ()
    )
    return OutboundMessage(
        idempotency_key=entry.idempotency_key,
        recipient=entry.recipient,
        text=text,
        subject=rendered.subject if Capability.SUBJECT in capabilities else "",
        html=html,
        ticket_number=number if isinstance(number, int) else None,
        # An agent's reply is written by a person: no Auto-Submitted, no auto-reply cap.
        automatic=entry.template != "public_reply",
        buttons=rendered.buttons if has_buttons else (),
        files=files,
        meta={
            "outbox_id": item.id,
            "template": entry.template,
            "status_url": entry.payload.get("status_url"),
        },
    )


def _text_with_links(text: str, buttons: tuple[Button, ...]) -> str:
    if not buttons:
        return text
    lines = [f"{n}. {button.label}: {button.data}" for n, button in enumerate(buttons, start=1)]
    return text + "\n\n" + "\n".join(lines)


def _html_with_links(html: str, buttons: tuple[Button, ...]) -> str:
    if not buttons:
        return html
    lines = [
        f'{number}. <a href="{escape(button.data)}">{escape(button.label)}</a>'
        for number, button in enumerate(buttons, start=1)
    ]
    return html + "\n\n" + "\n".join(lines)
