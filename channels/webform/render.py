"""HTML pages of the web form: the form, the result and problem pages; data in, text out.

Templates live in ``templates/`` and are rendered with autoescaping on, so whatever a visitor
typed is shown back as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from channels.webform.normalize import FieldError, Limits
from channels.webform.texts import SUPPORTED_LOCALES, TEXTS, format_size, text
from ticketing.domain import IntakeOutcome

TEMPLATES = Path(__file__).resolve().parent / "templates"
KEPT_FIELDS: tuple[str, ...] = ("name", "email", "phone", "service", "subject", "description")
# Where the error summary links to for each field; hidden fields have no anchor.
_ANCHORS = {key: key for key in (*KEPT_FIELDS, "files")} | {"contact": "email"}
# The summary lists errors in the order the fields appear on the page.
_ORDER = ("name", "contact", "email", "phone", "service", "subject", "description", "files")


def field_messages(errors: Mapping[str, FieldError], locale: str) -> dict[str, str]:
    """Translate each field's error into ``locale``."""
    messages: dict[str, str] = {}
    for key, problem in errors.items():
        params = dict(problem.params)
        size = params.get("size")
        if isinstance(size, int):
            params["size"] = format_size(size, locale)
        messages[key] = text(locale, f"error.{problem.code}", **params)
    return messages


def kept_values(values: Mapping[str, object]) -> dict[str, str]:
    """What the visitor typed, to show back in the form (files are never kept)."""
    return {key: v if isinstance(v := values.get(key), str) else "" for key in KEPT_FIELDS}


def _position(key: str) -> int:
    return _ORDER.index(key) if key in _ORDER else len(_ORDER)


class FormPages:
    """Renders the form's pages for one catalog of services and one set of limits."""

    def __init__(
        self,
        *,
        services: Sequence[tuple[str, Mapping[str, str]]],
        limits: Limits,
        honeypot_field: str,
    ) -> None:
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._services = tuple(services)
        self._limits = limits
        self._honeypot = honeypot_field

    def _render(self, template: str, locale: str, **context: object) -> str:
        languages = [(code, TEXTS[code]["lang.name"]) for code in SUPPORTED_LOCALES]
        return self._env.get_template(template).render(
            locale=locale, t=partial(text, locale), languages=languages, **context
        )

    def service_options(self, locale: str) -> list[tuple[str, str]]:
        """``(id, name)`` in ``locale``, falling back to any name, then to the id."""
        return [
            (service_id, names.get(locale) or next(iter(names.values()), service_id))
            for service_id, names in self._services
        ]

    def form(
        self,
        *,
        locale: str,
        csrf_token: str,
        submission_id: str,
        values: Mapping[str, object] | None = None,
        errors: Mapping[str, FieldError] | None = None,
        notice: str | None = None,
    ) -> str:
        """The form, with the visitor's values and an error next to each bad field."""
        messages = field_messages(errors or {}, locale)
        return self._render(
            "form.html.j2",
            locale,
            values=kept_values(values or {}),
            errors=dict(sorted(messages.items(), key=lambda item: _position(item[0]))),
            anchors=_ANCHORS,
            services=self.service_options(locale),
            limits=self._limits,
            max_size=format_size(self._limits.max_attachment_bytes, locale),
            honeypot=self._honeypot,
            csrf_token=csrf_token,
            submission_id=submission_id,
            notice=notice,
        )

    def result(
        self,
        *,
        locale: str,
        outcome: IntakeOutcome,
        number: int | None,
        status_url: str | None,
        email: str | None,
        phone: str | None,
    ) -> str:
        """What became of the submission: the number and private link, or "queued"."""
        return self._render(
            "result.html.j2",
            locale,
            outcome=outcome.value,
            number=number,
            status_url=status_url,
            email=email,
            phone=phone,
        )

    def problem(self, *, locale: str, title: str, message: str) -> str:
        """A page explaining why nothing was accepted."""
        return self._render("problem.html.j2", locale, title=title, message=message)
