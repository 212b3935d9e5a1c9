"""Catalog loading and babel formatting with an explicit locale and time zone."""

from __future__ import annotations

import gettext
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from notify.i18n import (
    LOCALES_DIR,
    SUPPORTED_LOCALES,
    Catalogs,
    format_datetime,
    format_duration,
    resolve_locale,
    resolve_timezone,
)

NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("ru", "ru"), ("ru_RU", "ru"), ("en-GB", "en"), ("EN", "en"), ("de", "ru"), (None, "ru")],
)
def test_locale_resolves_to_a_supported_one_when_given_a_variant(
    given: str | None, expected: str
) -> None:
    assert resolve_locale(given, "ru") == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [("Asia/Yekaterinburg", "Asia/Yekaterinburg"), ("Nowhere/Land", "UTC"), ("", "UTC")],
)
def test_timezone_falls_back_when_unknown(given: str, expected: str) -> None:
    assert resolve_timezone(given, "UTC") == expected


@pytest.mark.parametrize(
    ("locale", "timezone", "expected"),
    [
        ("ru", "Europe/Moscow", f"23 ноября 2026{NNBSP}г., 14:30"),
        ("ru", "Asia/Novosibirsk", f"23 ноября 2026{NNBSP}г., 18:30"),
        ("en", "Europe/London", f"November 23, 2026, 11:30{NNBSP}AM"),
    ],
)
def test_datetime_is_long_date_and_short_time_in_the_zone_when_formatted(
    locale: str, timezone: str, expected: str
) -> None:
    moment = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)

    assert format_datetime(moment, locale, timezone) == expected


def test_naive_datetime_is_taken_as_utc_when_formatted() -> None:
    naive = datetime(2026, 11, 23, 11, 30)  # noqa: DTZ001 - the case under test

    assert format_datetime(naive, "ru", "Europe/Moscow") == f"23 ноября 2026{NNBSP}г., 14:30"


@pytest.mark.parametrize(
    ("delta", "locale", "expected"),
    [
        (timedelta(hours=1), "ru", "1 час"),
        (timedelta(hours=4), "ru", "4 часа"),
        (timedelta(hours=5), "ru", "5 часов"),
        (timedelta(days=21), "ru", "3 недели"),
        (timedelta(days=2), "en", "2 days"),
        (timedelta(minutes=1), "en", "1 minute"),
    ],
)
def test_duration_uses_the_locales_plural_forms_when_formatted(
    delta: timedelta, locale: str, expected: str
) -> None:
    assert format_duration(delta, locale) == expected


def copy_catalogs(target: Path, *, compile_mo: bool) -> None:
    for locale in SUPPORTED_LOCALES:
        directory = target / locale / "LC_MESSAGES"
        directory.mkdir(parents=True)
        source = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
        if compile_mo:
            with source.open("rb") as po, (directory / "messages.mo").open("wb") as mo:
                write_mo(mo, read_po(po))
        else:
            shutil.copyfile(source, directory / "messages.po")


def test_catalogs_read_the_po_and_warn_once_when_not_compiled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy_catalogs(tmp_path, compile_mo=False)

    with caplog.at_level(logging.WARNING, logger="notify.i18n"):
        catalogs = Catalogs(tmp_path)

    assert catalogs.translations("ru").gettext("Hello!") == "Здравствуйте!"
    warnings = [r for r in caplog.records if r.name == "notify.i18n"]
    assert len(warnings) == 1
    assert "not compiled" in warnings[0].getMessage()


def test_catalogs_read_the_mo_silently_when_compiled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy_catalogs(tmp_path, compile_mo=True)

    with caplog.at_level(logging.WARNING, logger="notify.i18n"):
        catalogs = Catalogs(tmp_path)

    assert catalogs.translations("ru").pgettext("ticket status", "Resolved") == "Решена"
    assert catalogs.translations("en").gettext("Hello!") == "Hello!"
    assert [r for r in caplog.records if r.name == "notify.i18n"] == []


def test_catalogs_refuse_to_start_when_a_locale_has_no_catalog(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Catalogs(tmp_path)


@pytest.mark.parametrize(
    ("n", "form"), [(1, 0), (21, 0), (2, 1), (24, 1), (5, 2), (11, 2), (12, 2), (0, 2)]
)
def test_russian_catalog_picks_one_few_many_when_counting(
    catalogs: Catalogs, n: int, form: int
) -> None:
    header = catalogs.translations("ru").info()["plural-forms"]
    count, rule = header.split(";", 1)
    plural = gettext.c2py(rule.strip().removeprefix("plural=").rstrip(";"))

    assert count == "nplurals=3"
    assert plural(n) == form
