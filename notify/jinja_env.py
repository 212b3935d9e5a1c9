"""The jinja2 environment of the notification templates: gettext and locale-aware filters.

One environment serves every locale. Templates are rendered with ``_locale``, ``_timezone`` and
(optionally) ``_now`` in their context; the gettext callables and filters read them from there,
so nothing global is switched per render and the locale stays an explicit argument.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from gettext import NullTranslations
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.utils import pass_context, pass_eval_context
from markupsafe import Markup, escape

from notify.i18n import N_, Catalogs, format_datetime, format_duration, format_time

__all__ = ["build_environment", "priority_labels", "status_labels"]


def status_labels(translations: NullTranslations) -> dict[str, str]:
    """Ticket statuses as the requester reads them."""
    t = translations
    return {
        "new": t.pgettext("ticket status", "New"),
        "in_progress": t.pgettext("ticket status", "In progress"),
        "waiting": t.pgettext("ticket status", "Waiting for your reply"),
        "resolved": t.pgettext("ticket status", "Resolved"),
        "reopened": t.pgettext("ticket status", "Reopened"),
        "closed": t.pgettext("ticket status", "Closed"),
    }


def priority_labels(translations: NullTranslations) -> dict[str, str]:
    """Ticket priorities as the requester reads them."""
    t = translations
    return {
        "critical": t.pgettext("ticket priority", "Critical"),
        "high": t.pgettext("ticket priority", "High"),
        "medium": t.pgettext("ticket priority", "Medium"),
        "low": t.pgettext("ticket priority", "Low"),
    }


# «сегодня в 14:30» reads better than a full date for what is due today or tomorrow.
_RELATIVE_DAYS: dict[int, str] = {0: N_("today at %(time)s"), 1: N_("tomorrow at %(time)s")}


def build_environment(templates_dir: Path, catalogs: Catalogs) -> Environment:
    """Build the environment once: autoescape for HTML and Telegram, strict undefined."""
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(
            enabled_extensions=("html.j2", "telegram.j2"), default_for_string=False
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # Same as ``trimmed = true`` in babel.cfg, so extracted msgids match rendered ones.
    env.policies["ext.i18n.trimmed"] = True

    @pass_context
    def gettext(context: Context, message: str) -> str:
        return catalogs.translations(context["_locale"]).gettext(message)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, n: int) -> str:
        return catalogs.translations(context["_locale"]).ngettext(singular, plural, n)

    @pass_context
    def pgettext(context: Context, ctx: str, message: str) -> str:
        return catalogs.translations(context["_locale"]).pgettext(ctx, message)

    @pass_context
    def npgettext(context: Context, ctx: str, singular: str, plural: str, n: int) -> str:
        return catalogs.translations(context["_locale"]).npgettext(ctx, singular, plural, n)

    @pass_context
    def status(context: Context, value: str) -> str:
        translations = catalogs.translations(context["_locale"])
        return status_labels(translations).get(value, value)

    @pass_context
    def priority(context: Context, value: str) -> str:
        translations = catalogs.translations(context["_locale"])
        return priority_labels(translations).get(value, value)

    @pass_context
    def datetime_filter(context: Context, value: str | datetime) -> str:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        locale, timezone = context["_locale"], context["_timezone"]
        now: datetime | None = context.get("_now")
        if now is not None:
            zone = ZoneInfo(timezone)
            days = (moment.astimezone(zone).date() - now.astimezone(zone).date()).days
            if days in _RELATIVE_DAYS:
                time = format_time(moment, locale, timezone)
                return gettext(context, _RELATIVE_DAYS[days]) % {"time": time}
        return format_datetime(moment, locale, timezone)

    @pass_context
    def duration(context: Context, value: float | timedelta) -> str:
        delta = value if isinstance(value, timedelta) else timedelta(seconds=value)
        return format_duration(delta, context["_locale"])

    # ``install_gettext_callables`` is added by the i18n extension at run time; newstyle makes
    # ``{% trans %}`` escape its variables and format them by name. The extension calls our
    # functions through ``Context.call``, which hands them the render context.
    cast("Any", env).install_gettext_callables(
        gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext
    )
    env.filters.update(
        status=status,
        priority=priority,
        datetime=datetime_filter,
        duration=duration,
        paragraphs=paragraphs,
    )
    return env


@pass_eval_context
def paragraphs(eval_ctx: EvalContext, value: str) -> str:
    """Plain text to HTML: blank lines make paragraphs, single newlines ``<br>``."""
    blocks = [block.strip() for block in value.replace("\r\n", "\n").split("\n\n")]
    html = "\n".join(
        "<p>" + "<br>\n".join(escape(line) for line in block.split("\n")) + "</p>"
        for block in blocks
        if block
    )
    return Markup(html) if eval_ctx.autoescape else html  # noqa: S704 - every line escaped
