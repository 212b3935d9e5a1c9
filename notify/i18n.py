"""Gettext catalogs and babel formatting; the locale is always an explicit argument.

Catalogs come from ``locales/<lang>/LC_MESSAGES/messages.mo``. When a ``.mo`` was not compiled
(a fresh checkout), the ``.po`` is read with babel instead, so tests and development work
without a build step; production images compile the catalogs.
"""

from __future__ import annotations

import gettext
import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.dates import (
    format_timedelta,
    get_date_format,
    get_datetime_format,
    get_time_format,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "DOMAIN",
    "LOCALES_DIR",
    "N_",
    "SUPPORTED_LOCALES",
    "Catalogs",
    "format_datetime",
    "format_duration",
    "format_time",
    "resolve_locale",
    "resolve_timezone",
]

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
SUPPORTED_LOCALES: tuple[str, ...] = ("ru", "en")


def N_(message: str) -> str:  # noqa: N802 - the name babel's extractor looks for
    """Mark ``message`` for extraction; it is translated later, where the locale is known."""
    return message


def resolve_locale(locale: str | None, default: str) -> str:
    """Map ``ru``, ``ru_RU``, ``ru-RU`` or ``RU`` to a supported locale, else ``default``."""
    if locale:
        language = locale.replace("-", "_").split("_", 1)[0].lower()
        if language in SUPPORTED_LOCALES:
            return language
    return default


def resolve_timezone(name: str | None, default: str) -> str:
    """Return ``name`` if it is a known IANA time zone, else ``default``."""
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return default
        return name
    return default


class Catalogs:
    """The translations of every supported locale, loaded once at start-up.

    Raises:
        FileNotFoundError: a supported locale has neither a ``.mo`` nor a ``.po`` file.
    """

    def __init__(self, directory: Path = LOCALES_DIR, *, domain: str = DOMAIN) -> None:
        self._translations: dict[str, gettext.GNUTranslations] = {}
        from_po: list[str] = []
        for locale in SUPPORTED_LOCALES:
            base = directory / locale / "LC_MESSAGES" / domain
            mo_path = base.with_suffix(".mo")
            if mo_path.is_file():
                with mo_path.open("rb") as fp:
                    self._translations[locale] = gettext.GNUTranslations(fp)
            else:
                self._translations[locale] = _translations_from_po(base.with_suffix(".po"))
                from_po.append(locale)
        if from_po:
            log.warning(
                "gettext catalogs not compiled, reading .po files instead",
                extra={"locales": from_po, "directory": str(directory)},
            )

    def translations(self, locale: str) -> gettext.GNUTranslations:
        """The catalog of a supported locale (see :func:`resolve_locale`).

        Raises:
            KeyError: ``locale`` is not supported.
        """
        return self._translations[locale]


def _translations_from_po(path: Path) -> gettext.GNUTranslations:
    with path.open("rb") as fp:
        catalog = read_po(fp)
    buffer = io.BytesIO()
    # Fuzzy entries are left out, exactly as ``pybabel compile`` does.
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def format_datetime(dt: datetime, locale: str, timezone: str) -> str:
    """Long date and short time in ``timezone``: «23 ноября 2026 г., 14:30».

    A naive ``dt`` is taken as UTC (payloads carry UTC).
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # CLDR's "long" date joined with its "short" time: seconds and zone offsets are noise here.
    # str(): babel annotates a DateTimePattern, but hands back the plain "{1}, {0}" string.
    pattern = (
        str(get_datetime_format("long", locale=locale))
        .replace("{1}", get_date_format("long", locale=locale).pattern)
        .replace("{0}", get_time_format("short", locale=locale).pattern)
    )
    return babel_format_datetime(dt, pattern, tzinfo=ZoneInfo(timezone), locale=locale)


def format_time(dt: datetime, locale: str, timezone: str) -> str:
    """Short time of day in ``timezone``: «14:30», "2:30 PM"."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return babel_format_time(dt, "short", tzinfo=ZoneInfo(timezone), locale=locale)


def format_duration(td: timedelta, locale: str) -> str:
    """A rounded, human duration: «4 часа», «2 days»."""
    return format_timedelta(td, format="long", locale=locale)
