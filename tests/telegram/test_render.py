"""Long HTML is split into parts Telegram accepts; keyboards keep callback data under 64 bytes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from channels.base import Button
from channels.telegram.render import MAX_TEXT, keyboard, split_html


class Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.balanced = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.balanced = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible(html: str) -> tuple[str, bool]:
    checker = Checker()
    checker.feed(html)
    checker.close()
    return "".join(checker.text), checker.balanced and not checker.stack


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_short_html_is_one_part_unchanged() -> None:
    assert split_html("<b>Заявка #1</b> принята") == ["<b>Заявка #1</b> принята"]


def test_long_text_is_split_at_line_ends_within_the_limit() -> None:
    lines = [f"Строка номер {n}: " + "слово " * 20 for n in range(200)]
    parts = split_html("\n".join(lines))

    assert len(parts) > 1
    for part in parts:
        text, balanced = visible(part)
        assert balanced
        assert units(text) <= MAX_TEXT
        assert part.endswith("слово") or part.endswith("слово ")
    assert "".join(visible(p)[0] for p in parts).replace("\n", "") == "".join(lines)


def test_tags_a_cut_falls_inside_are_closed_and_reopened() -> None:
    html = (
        '<b>Title</b>\n<blockquote><a href="https://x/?a=1&amp;b=2">'
        + "ж " * 5000
        + "</a></blockquote>"
    )
    parts = split_html(html)

    assert len(parts) == 3
    for part in parts:
        _, balanced = visible(part)
        assert balanced
    assert parts[1].startswith('<blockquote><a href="https://x/?a=1&amp;b=2">')


def test_entities_count_as_one_character_and_are_never_cut() -> None:
    html = "&lt;" * 5000
    parts = split_html(html)

    assert [units(visible(p)[0]) for p in parts] == [4096, 904]
    assert all(re.fullmatch(r"(&lt;)+", p) for p in parts)


def test_astral_characters_count_twice_like_telegram_does() -> None:
    parts = split_html("😀" * 3000)

    assert [units(p) for p in parts] == [4096, 1904]


def test_keyboard_puts_short_buttons_in_one_row_and_links_as_urls() -> None:
    markup = keyboard(
        [Button(label=str(n), data=f"r:1:{n}:sig") for n in range(1, 6)]
        + [Button(label="Посмотреть заявку", data="https://okno.example/t/abc")]
    )

    assert markup is not None
    rows = markup.inline_keyboard
    assert [b.text for b in rows[0]] == ["1", "2", "3", "4", "5"]
    assert rows[1][0].url == "https://okno.example/t/abc"


def test_callback_data_over_64_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        keyboard([Button(label="x", data="ж" * 40)])
