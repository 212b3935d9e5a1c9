"""Loop protection (SPEC §6.2): recognise mail that a machine wrote, and delivery reports.

The finding goes into ``InboundMessage.auto_generated``; the router decides what to do with it
(``own`` and ``bounce`` never become tickets; anything else gets no automatic answer). Checks
run in a fixed order, the most specific first, and the first match names the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message

from channels.email.headers import address_list, header_text

__all__ = ["CHECKS", "bounced_recipients", "detect_auto_generated", "is_delivery_report"]

_SYSTEM_LOCALS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|noreply-.*|bounces?(\+.*)?|"
    r"mail-?daemon|auto-?reply|autoresponder)$",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|delivery (has )?failed|mail delivery failed|"
    r"returned mail|failure notice|недоставленное сообщение|не удалось доставить|"
    r"возвращенное письмо|delivery failure)",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^(auto(matic)? ?reply|out of (the )?office|автоответ|автоматический ответ|"
    r"abwesenheitsnotiz|réponse automatique)\b",
    re.IGNORECASE,
)
_REPORT_TYPES = ("delivery-status", "disposition-notification", "feedback-report")


def is_delivery_report(message: Message) -> bool:
    """A DSN, read receipt or abuse report (``multipart/report``), or a classic bounce."""
    if message.get_content_type() == "multipart/report":
        report = (message.get_param("report-type") or "").__str__().lower()
        return report in _REPORT_TYPES or not report
    if message.get("X-Failed-Recipients"):
        return True
    pairs = address_list(message, "From")
    local = pairs[0][1].rpartition("@")[0] if pairs else ""
    return bool(
        re.match(r"^(mailer-daemon|postmaster|mail-?daemon)$", local, re.IGNORECASE)
        and _BOUNCE_SUBJECT.search(header_text(message, "Subject"))
    )


def bounced_recipients(message: Message) -> list[str]:
    """Addresses a delivery report says failed permanently (``Action: failed``)."""
    found: list[str] = []
    failed = header_text(message, "X-Failed-Recipients")
    found.extend(a.strip().lower() for a in failed.split(",") if "@" in a)
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks:
            if not isinstance(block, Message):
                continue
            action = str(block.get("Action") or "").strip().lower()
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            address = recipient.rpartition(";")[2].strip().strip("<>").lower()
            if action == "failed" and "@" in address:
                found.append(address)
    return sorted(set(found))


Check = Callable[[Message, str], bool]


def _header_in(name: str, values: frozenset[str]) -> Check:
    return lambda message, _sender: header_text(message, name).lower() in values


def _has_header(*names: str) -> Check:
    return lambda message, _sender: any(message.get(name) is not None for name in names)


def _auto_submitted(message: Message, _sender: str) -> bool:
    value = header_text(message, "Auto-Submitted").lower()
    return bool(value) and not value.startswith("no")


def _suppressed(message: Message, _sender: str) -> bool:
    value = header_text(message, "X-Auto-Response-Suppress").lower()
    return any(v in value for v in ("all", "oof", "autoreply"))


# The ordered filter chain after "ours" and "bounce": the first match names the reason.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("auto-submitted", _auto_submitted),
    ("precedence", _header_in("Precedence", frozenset({"bulk", "list", "junk", "auto_reply"}))),
    ("loop", _has_header("X-Loop")),
    ("list", _has_header("List-Id", "List-Unsubscribe")),
    ("suppress", _suppressed),
    (
        "system-sender",
        lambda _message, sender: bool(_SYSTEM_LOCALS.match(sender.rpartition("@")[0])),
    ),
    ("auto-reply", _has_header("X-Autoreply", "X-Autorespond")),
    ("auto-reply", lambda message, _s: bool(_AUTO_SUBJECT.match(header_text(message, "Subject")))),
)


def detect_auto_generated(
    message: Message, *, sender: str, own_domain: str, own_address: str = ""
) -> str | None:
    """Why this mail must not be answered automatically, or None for a person's mail.

    Returns ``own`` (ours: our Message-ID domain or our address), ``bounce`` (a delivery
    report), or the first matching reason of :data:`CHECKS`.
    """
    message_id = header_text(message, "Message-ID").lower()
    if own_domain and message_id.rstrip(">").endswith("@" + own_domain.lower()):
        return "own"
    if own_address and sender.lower() == own_address.lower():
        return "own"
    if is_delivery_report(message):
        return "bounce"
    return next((reason for reason, check in CHECKS if check(message, sender)), None)
