"""Both languages are complete, and the visitor's language is chosen sensibly."""

from __future__ import annotations

import string

import pytest

from channels.webform.texts import EN, RU, accepted_languages, format_size, negotiate_locale
from okno.web import texts as status_texts


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize(("ru", "en"), [(RU, EN), (status_texts.RU, status_texts.EN)])
def test_russian_and_english_have_the_same_keys_and_placeholders(
    ru: dict[str, str], en: dict[str, str]
) -> None:
    assert set(ru) == set(en)
    for key, russian in ru.items():
        assert placeholders(russian) == placeholders(en[key]), key
        assert russian.strip(), key
        assert en[key].strip(), key


@pytest.mark.parametrize(
    ("lang", "header", "expected"),
    [
        (None, None, "ru"),
        ("en", "ru", "en"),
        ("EN", None, "en"),
        ("de", "en-US,en;q=0.9", "en"),
        (None, "de-DE,de;q=0.9,en;q=0.5,ru;q=0.4", "en"),
        (None, "en;q=0.2, ru-RU;q=0.8", "ru"),
        (None, "fr, de", "ru"),
        (None, "en;q=0, *", "ru"),
        (None, "en;q=abc", "ru"),
    ],
)
def test_locale_is_negotiated(lang: str | None, header: str | None, expected: str) -> None:
    assert negotiate_locale(lang, header) == expected


def test_accept_language_is_ordered_by_quality() -> None:
    assert accepted_languages("de;q=0.5, en-GB, fr;q=0.8") == ["en-GB", "fr", "de"]


def test_sizes_are_human() -> None:
    assert format_size(10 * 1024 * 1024, "ru") == "10 МБ"
    assert format_size(1536, "en") == "1.5 KB"
    assert format_size(1536, "ru") == "1,5 КБ"
