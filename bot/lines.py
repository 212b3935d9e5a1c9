"""One line in a ticket's topic per event the agents should see — a pure function of the event.

``echo`` is False for changes an agent made from the group itself (their own message or button
is already there), so those add no line unless they carry words of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

from bot.desk_texts import d, label

_MAX_QUOTED = 3000
Data = Mapping[str, Any]
_Line = Callable[[Data, str, str, str], Markup | None]  # data, locale, actor, requester


def _text(data: Data, key: str = "text") -> str:
    value = str(data.get(key) or "")
    return value if len(value) <= _MAX_QUOTED else value[: _MAX_QUOTED - 1] + "…"


def _status(data: Data, locale: str, actor: str, _requester: str) -> Markup | None:
    comment = str(data.get("comment") or "")
    if not data.get("echo", True) and not comment:
        return None
    return d(
        locale,
        "line.status_comment" if comment else "line.status",
        actor=actor,
        old=label(locale, data.get("old_status")),
        new=label(locale, data.get("new_status")),
        comment=comment,
    )


def _reply(kind: str) -> _Line:
    def line(data: Data, locale: str, actor: str, _requester: str) -> Markup | None:
        return d(locale, kind, author=actor, text=_text(data)) if data.get("echo", True) else None

    return line


def _change(key: str) -> _Line:
    def line(data: Data, locale: str, actor: str, _requester: str) -> Markup | None:
        old, new = label(locale, data.get("old")), label(locale, data.get("new"))
        return d(locale, key, actor=actor, old=old, new=new)

    return line


def _assigned(data: Data, locale: str, actor: str, _requester: str) -> Markup:
    if data.get("new") is None:
        return d(locale, "line.unassigned", actor=actor)
    return d(locale, "line.assigned", actor=actor, new=data["new"])


def _callback_attempt(data: Data, locale: str, actor: str, _requester: str) -> Markup:
    if data.get("reached"):
        return d(locale, "line.callback_attempt_ok", actor=actor)
    return d(locale, "line.callback_attempt_no", actor=actor, count=data.get("unanswered"))


_LINES: Mapping[str, _Line] = {
    "status_changed": _status,
    "waiting_for_you": _status,
    "resolved": _status,
    "requester_message": lambda data, locale, _a, requester: d(
        locale, "line.requester_message", author=requester, text=_text(data)
    ),
    "public_reply": _reply("line.public_reply"),
    "private_note": _reply("line.private_note"),
    "assigned": _assigned,
    "priority_changed": _change("line.priority"),
    "type_changed": _change("line.type"),
    "service_changed": _change("line.service"),
    "merged": lambda data, locale, actor, _r: d(
        locale, "line.merged", actor=actor, number=data.get("into")
    ),
    "linked": lambda data, locale, actor, _r: d(
        locale, "line.linked", actor=actor, number=data.get("parent")
    ),
    "comment_edited": lambda data, locale, _a, requester: d(
        locale, "line.edited", author=requester, text=_text(data, "new")
    ),
    "rated": lambda data, locale, _a, _r: d(
        locale, "line.rated", rating=data.get("rating"), comment=str(data.get("comment") or "")
    ),
    "unreachable": lambda _data, locale, _a, _r: d(locale, "line.unreachable"),
    "callback_attempt": _callback_attempt,
    "callback_unreachable": lambda _data, locale, _a, _r: d(locale, "line.callback_unreachable"),
    "call_logged": lambda data, locale, _a, _r: d(locale, "line.call_logged", text=_text(data)),
}


def line_for(kind: str, data: Data, locale: str, requester: str) -> Markup | None:
    """The topic line for an event, or None when the agents need none."""
    line = _LINES.get(kind)
    if line is None:
        return None
    actor = str(data.get("actor") or data.get("author_name") or "")
    return line(data, locale, actor, requester)
