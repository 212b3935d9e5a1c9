"""The catalogs are complete, consistent and in step with the templates and code."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from notify.i18n import LOCALES_DIR, SUPPORTED_LOCALES

NOTIFY_DIR = Path(__file__).resolve().parents[2] / "notify"
JINJA_OPTIONS = {
    "extensions": "jinja2.ext.i18n",
    "trim_blocks": "true",
    "lstrip_blocks": "true",
    "trimmed": "true",
    "newstyle_gettext": "true",
}


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def message_ids(catalog: Catalog) -> set[tuple[str | None, str]]:
    # A plural message's id is (singular, plural); the extractor names it by its singular.
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


def translated(string: str | tuple[str, ...] | list[str] | None) -> bool:
    if isinstance(string, tuple | list):
        return bool(string) and all(string)
    return bool(string)


@pytest.fixture(scope="module")
def template() -> Catalog:
    return read(LOCALES_DIR / "messages.pot")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_translates_every_message_when_shipped(locale: str, template: Catalog) -> None:
    catalog = read(LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po", locale)

    assert message_ids(catalog) == message_ids(template)
    untranslated = [m.id for m in catalog if m.id and not translated(m.string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert (untranslated, fuzzy) == ([], [])
    # babel's checkers: the same %(name)s placeholders on both sides, plural count right.
    assert [(m.id, errors) for m, errors in catalog.check()] == []


def test_russian_catalog_has_three_plural_forms_when_shipped() -> None:
    catalog = read(LOCALES_DIR / "ru" / "LC_MESSAGES" / "messages.po", "ru")

    assert catalog.num_plurals == 3
    assert catalog.plural_expr == (
        "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)"
    )


def test_template_holds_every_message_of_notify_when_extracted(template: Catalog) -> None:
    found = {
        (context, message if isinstance(message, str) else message[0])
        for _, _, message, _, context in extract_from_dir(
            NOTIFY_DIR,
            method_map=[("**.py", "python"), ("templates/**.j2", "jinja2")],
            options_map={"templates/**.j2": JINJA_OPTIONS},
        )
    }

    assert found
    assert found <= message_ids(template)
