"""The bytes SMTP sends for a mail :func:`channels.email.render.render_email` built.

The standard library's generator writes them, with one change of policy. ``compat32`` folds
every header by wrapping it in a ``Header`` and re-encoding it, which cost ~0.3 ms a mail, more
than building the mail. Our headers are encoded already when built (RFC 2047 words, ASCII
addresses; UTF-8 only for an SMTPUTF8 recipient), so :class:`PreEncodedHeaders` writes each as
it is, folded at spaces past 78 characters, and refuses any value holding CR, LF or NUL: header
injection stays impossible whatever built the message. Bodies and the multipart layout are the
generator's own.
"""

from __future__ import annotations

import io
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import Compat32

from channels.email.render import HeaderInjectionError

__all__ = ["PreEncodedHeaders", "flatten_email"]

_FOLD_AT = 78  # RFC 5322's recommended line length; words longer than it stay whole


class PreEncodedHeaders(Compat32):
    """``compat32`` for headers that are encoded already: written as they are, never re-encoded.

    Raises:
        HeaderInjectionError: (from fold/fold_binary) a header value spans lines.
    """

    def fold(self, name: str, value: str) -> str:
        if isinstance(value, Header):  # not ours: the stock folding
            return super().fold(name, value)
        return f"{name}: {_fold(len(name) + 2, _one_line(name, str(value)))}{self.linesep}"

    def fold_binary(self, name: str, value: str) -> bytes:
        # UTF-8 where a header is not ASCII: only mail sent with SMTPUTF8 carries such headers.
        return self.fold(name, value).encode("utf-8")


POLICY = PreEncodedHeaders(linesep="\r\n")


def flatten_email(mail: Message) -> bytes:
    """``mail`` as CRLF-terminated bytes.

    Raises:
        HeaderInjectionError: a header value spans lines.
    """
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=POLICY).flatten(mail)
    return out.getvalue()


def _one_line(name: str, text: str) -> str:
    if "\r" in text or "\n" in text or "\x00" in text:
        msg = f"{name} contains CR, LF or NUL: refusing to write the header"
        raise HeaderInjectionError(msg)
    return text


def _fold(used: int, text: str) -> str:
    """Fold at spaces so lines stay near 78 characters (an unbreakable word stays whole)."""
    if used + len(text) <= _FOLD_AT or " " not in text:
        return text
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and used + len(line) + 1 + len(word) > _FOLD_AT:
            lines.append(line)
            line, used = word, 1  # a continuation line starts with the folding space
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)
