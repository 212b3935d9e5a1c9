"""How a call reads on a ticket, in Russian and English (the installation's default language).

Times are shown in the installation's time zone; numbers in international format
(``+7 912 123-45-67``), which agents can dial as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers

from channels.phone.events import CallDirection, CallFacts, CallResult

RU: Mapping[str, str] = {
    "subject.missed": "Пропущенный звонок от {number}",
    "subject.answered": "Звонок от {number}",
    "in": "Входящий звонок от {number}",
    "out": "Исходящий звонок на {number}",
    "result.answered": "разговор {duration}",
    "result.missed.in": "пропущен, нужно перезвонить",
    "result.missed.out": "не дозвонились",
    "result.busy": "занято",
    "result.failed": "не соединился",
    "at": "Время: {time}",
    "line": "Линия: {line}",
    "agent": "Сотрудник: {agent}",
    "agent.missed": "Не принял: {agent}",
    "recording": "Запись разговора: {url}",
    "unknown": "номер не определён",
    "min": "{m} мин {s} с",
    "sec": "{s} с",
}
EN: Mapping[str, str] = {
    "subject.missed": "Missed call from {number}",
    "subject.answered": "Call from {number}",
    "in": "Inbound call from {number}",
    "out": "Outbound call to {number}",
    "result.answered": "talked {duration}",
    "result.missed.in": "missed, call back",
    "result.missed.out": "no answer",
    "result.busy": "busy",
    "result.failed": "did not connect",
    "at": "Time: {time}",
    "line": "Line: {line}",
    "agent": "Agent: {agent}",
    "agent.missed": "Not picked up by: {agent}",
    "recording": "Call recording: {url}",
    "unknown": "unknown number",
    "min": "{m} min {s} s",
    "sec": "{s} s",
}
_TEXTS = {"ru": RU, "en": EN}


def display_number(facts: CallFacts, locale: str = "ru") -> str:
    """The outside party as agents dial it, or the PBX's own words for a hidden one."""
    if facts.number is None:
        return facts.number_raw or _TEXTS.get(locale, RU)["unknown"]
    parsed = phonenumbers.parse(facts.number)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _duration(facts: CallFacts, texts: Mapping[str, str]) -> str:
    if facts.answered_at is None or facts.ended_at is None:
        return ""
    seconds = max(int((facts.ended_at - facts.answered_at).total_seconds()), 0)
    minutes, seconds = divmod(seconds, 60)
    return texts["min"].format(m=minutes, s=seconds) if minutes else texts["sec"].format(s=seconds)


def _local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y %H:%M")


def summary_line(facts: CallFacts, locale: str = "ru") -> str:
    """ "Входящий звонок от +7 912 123-45-67 — пропущен, нужно перезвонить"."""
    texts = _TEXTS.get(locale, RU)
    outbound = facts.direction is CallDirection.OUT
    head = texts["out" if outbound else "in"]
    if facts.result is CallResult.ANSWERED:
        result = texts["result.answered"].format(duration=_duration(facts, texts)).strip()
    elif facts.result is CallResult.MISSED:
        result = texts["result.missed.out" if outbound else "result.missed.in"]
    else:
        result = texts[f"result.{facts.result.value}"]
    return f"{head.format(number=display_number(facts, locale))} — {result}"


def describe_call(facts: CallFacts, timezone: str, locale: str = "ru") -> tuple[str, str]:
    """Subject and text of a call: a new ticket's first message, or a note on an open one."""
    texts = _TEXTS.get(locale, RU)
    key = "subject.answered" if facts.answered else "subject.missed"
    subject = texts[key].format(number=display_number(facts, locale))
    lines = [summary_line(facts, locale) + "."]
    if facts.started_at is not None:
        lines.append(texts["at"].format(time=f"{_local(facts.started_at, timezone)} ({timezone})"))
    if facts.line:
        lines.append(texts["line"].format(line=facts.line))
    if facts.agent:
        label = (
            "agent" if facts.answered or facts.direction is CallDirection.OUT else "agent.missed"
        )
        lines.append(texts[label].format(agent=facts.agent))
    return subject, "\n".join(lines)


def recording_note(url: str, locale: str = "ru") -> str:
    return _TEXTS.get(locale, RU)["recording"].format(url=url)
