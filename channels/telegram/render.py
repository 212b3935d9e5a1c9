"""Telegram's shape of an outbound message: HTML-safe parts of ≤ 4096 characters, and keyboards.

Telegram counts a message's length after parsing its HTML (tags are free, ``&lt;`` is one
character) in UTF-16 code units. :func:`split_html` cuts at a blank line or line end when it can,
never inside a tag or an entity, and closes and reopens the tags a cut falls inside, so every
part parses on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from channels.base import Button

__all__ = ["MAX_CALLBACK_BYTES", "MAX_TEXT", "escape", "keyboard", "split_html"]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
_URL_SCHEMES = ("http://", "https://", "tg://")
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|\n|[^\S\n]+|[^<&\s]+|[<&]")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")


@dataclass(frozen=True, slots=True)
class _Atom:
    raw: str
    size: int  # visible UTF-16 code units
    opens: str | None = None  # tag name this atom opens
    closes: str | None = None  # tag name this atom closes


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _atoms(html: str, limit: int) -> list[_Atom]:
    atoms: list[_Atom] = []
    for token in _TOKEN.findall(html):
        if token.startswith("<") and token.endswith(">") and len(token) > 2:
            name = _TAG_NAME.match(token)
            tag = name.group(1).lower() if name else None
            closing = token.startswith("</")
            atoms.append(_Atom(token, 0, None if closing else tag, tag if closing else None))
        elif token.startswith("&") and token.endswith(";"):
            atoms.append(_Atom(token, 1))
        else:
            # A word longer than a whole part is cut by characters (it has no entities).
            step = max(limit // 2, 1)
            for start in range(0, len(token), step):
                piece = token[start : start + step]
                atoms.append(_Atom(piece, _units(piece)))
    return atoms


def split_html(html: str, limit: int = MAX_TEXT) -> list[str]:
    """Split Telegram HTML into parts whose visible text is at most ``limit`` UTF-16 units."""
    atoms = _atoms(html, limit)
    parts: list[str] = []
    stack: list[_Atom] = []  # open tags before the current atom
    start = 0
    while start < len(atoms):
        reopen = list(stack)
        used = 0
        end = start  # exclusive
        soft_cut: tuple[int, list[_Atom]] | None = None
        walking = list(stack)
        while end < len(atoms) and used + atoms[end].size <= limit:
            atom = atoms[end]
            used += atom.size
            _apply(walking, atom)
            end += 1
            if atom.raw == "\n" and used >= limit // 2:
                soft_cut = (end, list(walking))
        if end < len(atoms) and soft_cut is not None:
            end, walking = soft_cut
        body = "".join(a.raw for a in atoms[start:end])
        text = "".join(a.raw for a in reopen) + body + _closing(walking)
        if any(a.size and a.raw.strip() for a in atoms[start:end]):
            parts.append(text.strip("\n"))
        stack = walking
        start = end if end > start else start + 1
        while start < len(atoms) and atoms[start].size and not atoms[start].raw.strip():
            start += 1  # a part never starts with the blank line it was cut at
    return parts or ([html] if html.strip() else [])


def _apply(stack: list[_Atom], atom: _Atom) -> None:
    if atom.opens:
        stack.append(atom)
    elif atom.closes:
        for index in range(len(stack) - 1, -1, -1):
            if stack[index].opens == atom.closes:
                del stack[index]
                break


def _closing(stack: Sequence[_Atom]) -> str:
    return "".join(f"</{atom.opens}>" for atom in reversed(stack))


def is_url(data: str) -> bool:
    """Whether button data is a link (opened by Telegram) rather than callback data."""
    return data.startswith(_URL_SCHEMES)


def keyboard(
    buttons: Sequence[Button] | Sequence[Sequence[Button]], *, row_chars: int = 28
) -> InlineKeyboardMarkup | None:
    """An inline keyboard: links open URLs, anything else is callback data.

    Given rows, they are kept; given a flat list, buttons share a row while their labels fit
    in ``row_chars`` (five at most), so «1 2 3 4 5» is one row and long labels get their own.

    Raises:
        ValueError: callback data over Telegram's 64 bytes.
    """
    if not buttons:
        return None
    rows: list[list[Button]]
    if isinstance(buttons[0], Button):
        rows = _layout([b for b in buttons if isinstance(b, Button)], row_chars)
    else:
        rows = [list(row) for row in buttons if not isinstance(row, Button)]
    return InlineKeyboardMarkup(inline_keyboard=[[_button(b) for b in row] for row in rows])


def _layout(buttons: Sequence[Button], row_chars: int) -> list[list[Button]]:
    rows: list[list[Button]] = []
    for button in buttons:
        row = rows[-1] if rows else None
        if (
            row is None
            or len(row) >= 5
            or sum(len(b.label) for b in row) + len(button.label) > (row_chars)
        ):
            rows.append([button])
        else:
            row.append(button)
    return rows


def _button(button: Button) -> InlineKeyboardButton:
    if is_url(button.data):
        return InlineKeyboardButton(text=button.label, url=button.data)
    if len(button.data.encode()) > MAX_CALLBACK_BYTES:
        msg = f"callback data over {MAX_CALLBACK_BYTES} bytes: {button.data!r}"
        raise ValueError(msg)
    return InlineKeyboardButton(text=button.label, callback_data=button.data)
