"""Strip quoted history and signatures from a reply, so a comment holds only what is new.

Reply headers recognised (the first one after some new text cuts the rest): Outlook's
«-----Original Message-----» / «-----Исходное сообщение-----» and its «From:/От: … Sent:/
Отправлено: …» block, Gmail's «On … wrote:» / «… написал(а):» (and the Russian form ending in
«<address>:»), Apple's «On …, at …, X wrote:», mail.ru's «… от X <address>:», Yandex's
«dd.mm.yyyy, hh:mm, "X" <address>:», plus the German, French, Italian, Portuguese and Nordic
variants. A trailing block of ``>`` lines goes too; inline answers between quotes are kept.
Forwarded mail keeps its history: there the "quote" is the content.
"""

from __future__ import annotations

import re

__all__ = ["strip_quoted"]

_SEPARATOR = re.compile(
    r"^\s*[-_=*]{2,}\s*(original message|исходное сообщение|ursprüngliche nachricht|"
    r"message d'origine|messaggio originale|mensagem original|mensaje original|"
    r"oprindelig meddelelse|alkuperäinen viesti|opprinnelig melding|ursprungligt meddelande|"
    r"oprindelig besked|reply message|ответное сообщение)\s*[-_=*]{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_SEPARATOR = re.compile(
    r"^\s*[-_=*]{2,}\s*(forwarded message|пересылаемое сообщение|переадресованное сообщение|"
    r"weitergeleitete nachricht|message transféré|begin forwarded message)",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(
    r"^\s*\*?(from|от|von|de|da|fra|från|lähettäjä|van)\s*:\*?\s*\S", re.IGNORECASE
)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(sent|date|to|cc|subject|отправлено|дата|кому|копия|тема|gesendet|datum|an|"
    r"betreff|envoyé|objet|à|inviato|oggetto|enviado|assunto|para|sendt|emne|til|skickat|"
    r"ämne|lähetetty|aihe|vastaanottaja)\s*:",
    re.IGNORECASE,
)
_WROTE = re.compile(
    r"^.{0,40}\b(on|am|le|il|in data|em|el|den|op|på|dne|w dniu)\b.{4,300}\b"
    r"(wrote|schrieb|a écrit|ha scritto|escreveu|escribió|skrev|schreef|kirjoitti|napsal|"
    r"napisał)\s*:\s*$",
    re.IGNORECASE,
)
_WROTE_RU = re.compile(r"^.{4,300}\b(написал|написала|написал\(а\)|пишет)\s*:\s*$", re.IGNORECASE)
# Any language: a line naming an address and ending in "wrote" (with or without a colon).
_ADDRESS_WROTE = re.compile(
    r"^.{0,300}<?[^<>\s]+@[^<>\s]+>?\s*\"?\s*(wrote|kirjoitti|ha scritto|napisał\(a\)|írta|"
    r"schrieb|a écrit|escreveu|skrev|написал\(а\)|написал|написала|пишет)\s*:?\s*$",
    re.IGNORECASE,
)
# «ср, 30 апр. 2025 г. в 15:19, John <john@x.ru>:», «26.06.2014, 14:00, "X" <x@y.ru>:».
_DATED_ADDRESS = re.compile(r"^.{0,200}\d{1,2}[:.]\d{2}.{0,200}<[^<>\s]+@[^<>\s]+>\s*:\s*$")
_SIGNATURE = re.compile(r"^(--|-- |—)\s*$")
_MOBILE = re.compile(
    r"^\s*(sent from my |sent from (mail|outlook|yahoo|yandex|gmail)|get outlook for |"
    r"отправлено (с|из) |sent with |envoyé de mon |envoyé à partir de |gesendet von |"
    r"von meinem .* gesendet|"
    r"с уважением,? отправлено)",
    re.IGNORECASE,
)


def _header_candidates(lines: list[str], index: int) -> list[str]:
    """The line, and the line joined with up to two following ones (clients wrap headers).

    A line that ends a sentence, or a blank line, never starts or continues a header.
    """
    candidates = [lines[index]]
    joined = lines[index].strip()
    for following in lines[index + 1 : index + 3]:
        if not following.strip() or joined.endswith((".", "!", "?")):
            break
        joined = f"{joined} {following.strip()}"
        candidates.append(joined)
    return candidates


def _is_header(lines: list[str], index: int, *, forward: bool) -> bool:
    line = lines[index]
    if _SEPARATOR.match(line) or (not forward and _FORWARD_SEPARATOR.match(line)):
        return True
    for candidate in _header_candidates(lines, index):
        if _WROTE.match(candidate) or _WROTE_RU.match(candidate):
            return True
        if _DATED_ADDRESS.match(candidate) or _ADDRESS_WROTE.match(candidate):
            return True
    if _HEADER_FROM.match(line) or (line.strip().startswith("_" * 10) and index + 1 < len(lines)):
        window = lines[index + 1 : index + 7]
        return sum(1 for w in window if _HEADER_OTHER.match(w)) >= 2
    return False


def _cut_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if index and _SIGNATURE.match(line) and any(x.strip() for x in lines[:index]):
            return lines[:index]
    tail = [i for i, line in enumerate(lines) if line.strip()][-3:]
    for index in tail:
        if _MOBILE.match(lines[index]) and len(lines[index]) < 80:
            return lines[:index]
    return lines


def _drop_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    return lines[:end]


def strip_quoted(text: str, *, forward: bool = False) -> str:
    """The new part of ``text``: quoted history and signature removed.

    Never returns less than something: when stripping would leave nothing, the whole text is
    kept (a bottom-posted reply, or a message that is only a quote).
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if forward:
        kept = _cut_signature_mobile_only(lines)
        return "\n".join(kept).strip() or text.strip()
    seen_text = False
    kept = lines
    for index, line in enumerate(lines):
        if seen_text and _is_header(lines, index, forward=False):
            kept = lines[:index]
            break
        if line.strip() and not line.lstrip().startswith(">"):
            seen_text = True
    kept = _drop_trailing_quote(_cut_signature(kept))
    result = "\n".join(kept).strip()
    return result or text.strip()


def _cut_signature_mobile_only(lines: list[str]) -> list[str]:
    tail = [i for i, line in enumerate(lines) if line.strip()][:3]
    for index in tail:
        if _MOBILE.match(lines[index]):
            return lines[:index] + lines[index + 1 :]
    return lines
