"""Subjects: our ``[#4567]`` tag, and the Re:/Fwd:/Ответ:/Пересл: prefixes clients add."""

from __future__ import annotations

import re

__all__ = ["is_forward", "strip_subject", "tag_subject", "ticket_tag"]

_TAG = re.compile(r"\[#(\d{1,12})\]")
# Prefixes in the languages our customers' clients use, repeated and bracketed forms included
# ("RE: RE:", "Re[2]:", "Fwd: FW:", "Отв:", "Ответ:", "Пересл:", "AW:", "WG:", "TR:").
_PREFIX = re.compile(
    r"^\s*(re|fwd?|fw|aw|wg|tr|sv|vs|rif|r|antw|отв|ответ|пересл|пер|переслать|ha|vl)"
    r"\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)
_FORWARD = re.compile(r"^(fwd?|fw|wg|tr|пересл|пер|переслать|vl|rv)\b", re.IGNORECASE)


def ticket_tag(subject: str) -> int | None:
    """The ticket number in our ``[#N]`` tag, if the subject carries one."""
    found = _TAG.search(subject)
    return int(found.group(1)) if found else None


def _without_prefixes(subject: str) -> tuple[str, list[str]]:
    prefixes: list[str] = []
    while True:
        found = _PREFIX.match(subject)
        if found is None:
            return subject, prefixes
        prefixes.append(found.group(1).lower())
        subject = subject[found.end() :]


def strip_subject(subject: str) -> str:
    """The subject as the ticket should show it: no reply/forward prefixes, no ``[#N]`` tag."""
    rest, _ = _without_prefixes(subject)
    rest = " ".join(_TAG.sub(" ", rest).split())
    rest, _ = _without_prefixes(rest)  # "[#12] Re: …" has prefixes after the tag too
    return rest.strip()


def is_forward(subject: str) -> bool:
    """Whether the writer forwarded the mail (its quoted history is then the content)."""
    _, prefixes = _without_prefixes(subject)
    return any(_FORWARD.match(p) for p in prefixes)


def tag_subject(subject: str, number: int | None) -> str:
    """``subject`` carrying ``[#number]`` exactly once (templates usually put it there)."""
    if number is None or f"[#{number}]" in subject:
        return subject
    return f"[#{number}] {subject}".strip()
