"""HTML mail to readable text, and HTML made safe for display.

Text: block elements become line breaks, list items get a dash, and quoted blocks
(``<blockquote>``, Gmail's ``gmail_quote``, Outlook's reply divider) get a ``>`` prefix so the
quote stripper treats them like plain-text quotes. Display: ``nh3`` keeps formatting tags and
drops scripts, styles, event handlers and remote-loading attributes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

__all__ = ["html_to_text", "sanitize_html"]

_BLOCK = frozenset(
    {"p", "div", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "pre", "hr"}
    | {"section", "article", "header", "footer", "address", "center", "form", "dl", "dt"}
)
_SKIP = frozenset({"script", "style", "head", "title", "xml", "template", "noscript"})
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "divrplyfwdmsg")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_SPACES = re.compile(r"[ \t\u00a0]+")


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self._skip = 0
        self._quote = 0
        self._quote_tags: list[bool] = []

    def _newline(self) -> None:
        if self.lines[-1].strip():
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
            return
        if tag == "br":
            self.lines.append("")
        elif tag == "li":
            self._newline()
            self.lines[-1] += "- "
        elif tag in _BLOCK or tag == "blockquote":
            self._newline()
        if tag in {"blockquote", "div"}:
            classes = (dict(attrs).get("class") or "").lower()
            ident = (dict(attrs).get("id") or "").lower()
            quoting = tag == "blockquote" or any(
                q in classes or q in ident for q in _QUOTE_CLASSES
            )
            self._quote_tags.append(quoting)
            self._quote += quoting
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.handle_data(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if tag in {"blockquote", "div"} and self._quote_tags:
            self._quote -= self._quote_tags.pop()
        if tag in _BLOCK or tag in {"blockquote", "li"}:
            self._newline()
            if tag in {"p", "table", "blockquote"}:
                self.lines.append("")  # a paragraph ends with a blank line
        elif tag in {"td", "th"}:
            self.lines[-1] += " "

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = _SPACES.sub(" ", data.replace("\r", "").replace("\n", " "))
        if not text.strip() and not self.lines[-1]:
            return
        if self._quote and not self.lines[-1].startswith(">"):
            self.lines[-1] = "> " * self._quote + self.lines[-1].lstrip()
        self.lines[-1] += text


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (never raises on broken markup)."""
    writer = _TextWriter()
    try:
        writer.feed(html)
        writer.close()
    except (AssertionError, ValueError):  # pragma: no cover - html.parser is very lenient
        pass
    lines = [line.strip() for line in writer.lines]
    text = "\n".join(lines)
    return _BLANKS.sub("\n\n", text).strip()


def sanitize_html(html: str) -> str:
    """HTML safe to show an agent: no scripts, styles, handlers or remote images."""
    return nh3.clean(
        html,
        tags=nh3.ALLOWED_TAGS - {"img"} | {"span", "font", "center"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
