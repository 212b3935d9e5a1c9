"""Decode mail text whose charset is missing, wrong or broken.

Russian mail still arrives in KOI8-R and Windows-1251, often undeclared (8-bit bodies with no
``charset``) or declared wrongly. Both encodings put Cyrillic letters in 0xC0–0xFF, so any byte
string decodes "successfully" in either; the letters decide. In real text most letters are
lower case and «о е а и н т с» are the most frequent, so the candidate with the best letter
score wins. Strict UTF-8 is tried first: random 8-bit text is almost never valid UTF-8.
"""

from __future__ import annotations

import codecs

__all__ = ["decode_text", "normalize_charset"]

# Cyrillic letters by frequency in Russian prose (о е а и н т с р в л к м д п у я …).
_FREQUENT = frozenset("оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё")
_TOP = frozenset("оеаинтс")
_EIGHT_BIT_CANDIDATES = ("cp1251", "koi8-r", "mac-cyrillic", "cp866", "iso-8859-5")
# Aliases seen in the wild that Python does not know, or knows under another name.
_ALIASES = {
    "x-mac-cyrillic": "mac-cyrillic",
    "win-1251": "cp1251",
    "windows-1251": "cp1251",
    "ks_c_5601-1987": "euc-kr",
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-user-defined": "cp1252",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
    "gb2312": "gb18030",  # a superset: mail labelled gb2312 often holds GBK characters
    "gbk": "gb18030",
}


def normalize_charset(label: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None when unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _cyrillic_score(text: str) -> float:
    """Higher for text that reads like Russian: lower-case, frequent letters."""
    letters = [c for c in text if "\u0400" <= c <= "\u04ff"]
    alphabetic = sum(1 for c in text if c.isalpha())
    # Latin text mis-decoded shows a few stray Cyrillic letters among many Latin ones.
    if not letters or len(letters) < 0.5 * alphabetic:
        return 0.0
    lower = sum(1 for c in letters if c.islower())
    frequent = sum(1 for c in letters if c.lower() in _FREQUENT)
    top = sum(1 for c in letters if c in _TOP)
    return (lower + frequent + 2 * top) / len(letters)


def _looks_binary(text: str) -> bool:
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f")
    return controls > max(2, len(text) // 100)


def decode_text(data: bytes, declared: str | None = None) -> str:  # noqa: PLR0911
    """Decode ``data`` as text, trusting ``declared`` only when the bytes agree.

    UTF-8 (strict) wins when it decodes; a declared single-byte Cyrillic charset is checked
    against the others by letter score, since «windows-1251» labels on KOI8-R text are common.
    Never raises: the last resort is Windows-1252 with replacement.
    """
    if not data:
        return ""
    if data.isascii():
        return data.decode("ascii")
    codec = normalize_charset(declared)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        lenient = data.decode("utf-8", errors="replace")
    # Mostly valid UTF-8 with a few broken bytes (a truncated line, a stray byte) is UTF-8.
    bad = lenient.count("\ufffd")
    good = sum(1 for c in lenient if ord(c) > 127) - bad
    if good > 4 * bad:
        return lenient
    if codec is not None and codec not in _CYRILLIC_CODECS and codec != "utf-8":
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            if not _looks_binary(text):
                return text
    best: tuple[float, str] | None = None
    for candidate in _EIGHT_BIT_CANDIDATES:
        text = data.decode(candidate, errors="replace")
        score = _cyrillic_score(text) + (0.05 if candidate == codec else 0.0)
        if best is None or score > best[0]:
            best = (score, text)
    if best is not None and best[0] >= 1.5:
        return best[1]
    if codec is not None and codec != "utf-8":
        return data.decode(codec, errors="replace")
    # Undeclared, or "UTF-8" that is not: Western mailers' usual truth is Windows-1252.
    return data.decode("cp1252", errors="replace")


_CYRILLIC_CODECS = frozenset(
    codecs.lookup(name).name for name in (*_EIGHT_BIT_CANDIDATES, "koi8-u", "cp1252", "latin-1")
)
