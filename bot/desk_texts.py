"""The agents' group's words in Russian and English (both complete; a test compares the keys).

Telegram HTML like :mod:`bot.texts`: :func:`d` escapes every value it puts in.
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup

RU: Mapping[str, str] = {
    "card.title": "{icon} <b>#{number} · {subject}</b>",
    "card.state": "Статус: {status} · Приоритет: {priority}",
    "card.state_by": "Статус: {status} ({by}) · Приоритет: {priority}",
    "card.kind": "Тип: {type} · Услуга: {service} · Команда: {team}",
    "card.assignee": "Исполнитель: {assignee}",
    "card.requester": "Заявитель: {name} · {channel}",
    "card.phone_only": "📞 Связь только по телефону: {phone} — перезвоните",
    "card.unreachable": "⚠️ Сообщения заявителю в Telegram не доходят",
    "card.callback": "📞 Ждёт звонка",
    "card.callback_tries": "📞 Ждёт звонка · без ответа: {count}",
    "card.rating": "Оценка: {rating}/5 {comment}",
    "card.link": "Дубликат #{number}",
    "card.parent": "Связана с #{number}",
    "none": "—",
    "btn.take": "Взять",
    "btn.priority": "Приоритет",
    "btn.wait": "Ожидание",
    "btn.resolve": "Решено",
    "btn.duplicate": "Дубликат",
    "btn.back": "← Назад",
    "btn.called": "📞 Перезвонил",
    "btn.no_answer": "Не дозвонился",
    "line.requester_message": "💬 <b>{author}</b>:\n{text}",
    "line.public_reply": "✉️ <b>{author}</b> (ответ заявителю):\n{text}",
    "line.private_note": "🔒 <b>{author}</b> (заметка):\n{text}",
    "line.status": "🔄 {actor}: {old} → {new}",
    "line.status_comment": "🔄 {actor}: {old} → {new}\n{comment}",
    "line.assigned": "👤 {actor}: исполнитель — {new}",
    "line.unassigned": "👤 {actor}: исполнитель снят",
    "line.priority": "⚡ {actor}: приоритет {old} → {new}",
    "line.type": "🏷 {actor}: тип {old} → {new}",
    "line.service": "🏷 {actor}: услуга {old} → {new}",
    "line.merged": "🔗 {actor}: дубликат заявки #{number}",
    "line.linked": "🔗 {actor}: связана с основной заявкой #{number}",
    "line.edited": "✏️ {author} изменил(а) сообщение:\n{text}",
    "line.rated": "⭐ Оценка заявителя: {rating}/5 {comment}",
    "line.unreachable": "⚠️ Заявитель заблокировал бота: сообщения в Telegram не доходят.",
    "line.call_back": "📞 Перезвоните заявителю: {phone}",
    "line.callback_needed": "📞 Нужно перезвонить заявителю: {phone}",
    "line.callback_missed": "📞 Пропущенный звонок — нужно перезвонить заявителю: {phone}",
    "line.callback_resolved": "📞 Заявитель доступен только по телефону — перезвоните и "
    "скажите, что заявка решена: {phone}",
    "line.callback_waiting": "📞 Заявитель доступен только по телефону — перезвоните и "
    "узнайте, что нужно: {phone}",
    "line.callback_reply": "📞 Заявитель доступен только по телефону — перезвоните: {phone}\n"
    "Письменно он этого не получит, передайте на словах:\n<blockquote>{text}</blockquote>",
    "line.callback_attempt_ok": "📞 {actor}: дозвонился",
    "line.callback_attempt_no": "📞 {actor}: не дозвонился (попыток без ответа: {count})",
    "line.callback_unreachable": "⚠️ Не удаётся дозвониться: заявителю сообщат другим способом.",
    "line.call_logged": "📞 {text}",
    "phone.unknown": "номер неизвестен",
    "reply.not_agent": "Это могут делать только участники группы агентов.",
    "reply.no_ticket": "Не понял, к какой заявке это относится: пишите в теме заявки "
    "или ответом на её карточку.",
    "reply.unknown": "Команды: /take, /assign @user, /prio critical|high|medium|low, /wait, "
    "/resolve [текст], /close, /reopen, /merge N, /link N, /type T, /service S, /note текст "
    "(или // текст).",
    "reply.usage": "Так не получится: {usage}",
    "reply.unknown_agent": "Не знаю агента {name}: он должен хоть раз что-то сделать в группе.",
    "reply.unknown_value": "Не знаю значения «{value}». Можно: {allowed}.",
    "reply.refused": "Не получилось: {reason}",
    "answer.done": "Готово",
    "answer.duplicate": "Ответьте в теме заявки: /merge <номер основной заявки>",
}

EN: Mapping[str, str] = {
    "card.title": "{icon} <b>#{number} · {subject}</b>",
    "card.state": "Status: {status} · Priority: {priority}",
    "card.state_by": "Status: {status} ({by}) · Priority: {priority}",
    "card.kind": "Type: {type} · Service: {service} · Team: {team}",
    "card.assignee": "Assignee: {assignee}",
    "card.requester": "Requester: {name} · {channel}",
    "card.phone_only": "📞 Reachable by phone only: {phone} — call back",
    "card.unreachable": "⚠️ Telegram messages do not reach the requester",
    "card.callback": "📞 Waiting for a call back",
    "card.callback_tries": "📞 Waiting for a call back · unanswered: {count}",
    "card.rating": "Rating: {rating}/5 {comment}",
    "card.link": "Duplicate of #{number}",
    "card.parent": "Linked to #{number}",
    "none": "—",
    "btn.take": "Take",
    "btn.priority": "Priority",
    "btn.wait": "Waiting",
    "btn.resolve": "Resolved",
    "btn.duplicate": "Duplicate",
    "btn.back": "← Back",
    "btn.called": "📞 Called back",
    "btn.no_answer": "No answer",
    "line.requester_message": "💬 <b>{author}</b>:\n{text}",
    "line.public_reply": "✉️ <b>{author}</b> (reply to the requester):\n{text}",
    "line.private_note": "🔒 <b>{author}</b> (note):\n{text}",
    "line.status": "🔄 {actor}: {old} → {new}",
    "line.status_comment": "🔄 {actor}: {old} → {new}\n{comment}",
    "line.assigned": "👤 {actor}: assigned to {new}",
    "line.unassigned": "👤 {actor}: unassigned",
    "line.priority": "⚡ {actor}: priority {old} → {new}",
    "line.type": "🏷 {actor}: type {old} → {new}",
    "line.service": "🏷 {actor}: service {old} → {new}",
    "line.merged": "🔗 {actor}: duplicate of #{number}",
    "line.linked": "🔗 {actor}: linked to the master ticket #{number}",
    "line.edited": "✏️ {author} edited a message:\n{text}",
    "line.rated": "⭐ The requester rated it {rating}/5 {comment}",
    "line.unreachable": "⚠️ The requester blocked the bot: Telegram messages do not reach them.",
    "line.call_back": "📞 Call the requester back: {phone}",
    "line.callback_needed": "📞 Call the requester back: {phone}",
    "line.callback_missed": "📞 Missed call — call the requester back: {phone}",
    "line.callback_resolved": "📞 The requester is reachable by phone only — call and tell "
    "them it is resolved: {phone}",
    "line.callback_waiting": "📞 The requester is reachable by phone only — call and ask what "
    "you need: {phone}",
    "line.callback_reply": "📞 The requester is reachable by phone only — call: {phone}\n"
    "They will not get this in writing; tell them:\n<blockquote>{text}</blockquote>",
    "line.callback_attempt_ok": "📞 {actor}: reached",
    "line.callback_attempt_no": "📞 {actor}: no answer ({count} unanswered)",
    "line.callback_unreachable": "⚠️ Cannot reach them by phone; they will be told another way.",
    "line.call_logged": "📞 {text}",
    "phone.unknown": "number unknown",
    "reply.not_agent": "Only members of the agents' group can do this.",
    "reply.no_ticket": "Which ticket is this about? Write in the ticket's topic or reply to "
    "its card.",
    "reply.unknown": "Commands: /take, /assign @user, /prio critical|high|medium|low, /wait, "
    "/resolve [text], /close, /reopen, /merge N, /link N, /type T, /service S, /note text "
    "(or // text).",
    "reply.usage": "That does not work: {usage}",
    "reply.unknown_agent": "I do not know agent {name}: they must act in the group once first.",
    "reply.unknown_value": "I do not know “{value}”. Allowed: {allowed}.",
    "reply.refused": "Not done: {reason}",
    "answer.done": "Done",
    "answer.duplicate": "Reply in the ticket's topic: /merge <number of the master ticket>",
}

#: Labels of statuses, priorities, types and channels, as agents read them.
LABELS: Mapping[str, Mapping[str, str]] = {
    "ru": {
        "new": "новая",
        "in_progress": "в работе",
        "waiting": "ожидание",
        "resolved": "решена",
        "reopened": "возобновлена",
        "closed": "закрыта",
        "critical": "критический",
        "high": "высокий",
        "medium": "средний",
        "low": "низкий",
        "incident": "инцидент",
        "service_request": "запрос на обслуживание",
        "question": "обращение",
        "telegram": "Telegram",
        "email": "e-mail",
        "webform": "веб-форма",
        "phone": "телефон",
        "api": "API",
    },
    "en": {
        "new": "new",
        "in_progress": "in progress",
        "waiting": "waiting",
        "resolved": "resolved",
        "reopened": "reopened",
        "closed": "closed",
        "critical": "critical",
        "high": "high",
        "medium": "medium",
        "low": "low",
        "incident": "incident",
        "service_request": "service request",
        "question": "question",
        "telegram": "Telegram",
        "email": "e-mail",
        "webform": "web form",
        "phone": "phone",
        "api": "API",
    },
}

_BY_LOCALE: Mapping[str, Mapping[str, str]] = {"ru": RU, "en": EN}


def d(locale: str, key: str, **values: object) -> Markup:
    """The agents' HTML text ``key`` with ``values`` escaped into it."""
    text = _BY_LOCALE.get(locale, RU)[key]
    return Markup(text).format(**values)  # noqa: S704 - our own texts; values are escaped


def label(locale: str, value: str | None) -> str:
    """A status, priority, type or channel in words; unknown values as they are."""
    if not value:
        return _BY_LOCALE.get(locale, RU)["none"]
    return LABELS.get(locale, LABELS["ru"]).get(value, value)


def plain(locale: str, key: str, **values: object) -> str:
    """The agents' text ``key`` as plain text (callback answers show no HTML)."""
    return _BY_LOCALE.get(locale, RU)[key].format(**values)
