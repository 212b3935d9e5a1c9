"""The bot's words in Russian and English (both complete; a test compares the keys).

Texts are Telegram HTML: they contain no bare ``<``, ``>`` or ``&`` except deliberate tags, and
:func:`t` escapes every value put into them (``Markup.format``). :func:`plain` is for
callback-query answers, which Telegram shows as plain text.
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup

SUPPORTED = ("ru", "en")

RU: Mapping[str, str] = {
    "start": "Здравствуйте, {name}! Я бот службы поддержки.",
    "help": "Опишите проблему одним сообщением — я создам заявку и сообщу её номер. "
    "Можно приложить фото, документы и голосовые.\n\n"
    "/status — ваши открытые заявки\n"
    "Ответьте на моё сообщение о заявке, чтобы дополнить её.\n"
    "/cancel — отменить текущее действие",
    "share_phone": "📱 Поделиться номером",
    "share_phone.ask": "Чтобы мы узнавали вас и по телефону, поделитесь номером кнопкой ниже.",
    "link.ok": "Готово: этот Telegram связан с вашей учётной записью.",
    "link.bad": "Ссылка недействительна. Запросите новую.",
    "phone.ok": "Спасибо! Номер {phone} подтверждён.",
    "phone.foreign": "Поделитесь, пожалуйста, своим номером — кнопкой ниже.",
    "cancel.done": "Отменено.",
    "cancel.nothing": "Нечего отменять.",
    "status.none": "У вас нет открытых заявок. Чтобы создать заявку, просто опишите проблему.",
    "status.title": "<b>Ваши открытые заявки</b>",
    "status.line": "<b>#{number}</b> · {subject}\n{status} · {assignee}\nДальше: {next}",
    "status.button": "#{number} — подробнее",
    "assignee.none": "исполнитель ещё не назначен",
    "assignee": "исполнитель: {name}",
    "next.new": "заявку возьмёт специалист",
    "next.in_progress": "специалист работает над заявкой",
    "next.waiting": "ждём вашего ответа — ответьте на сообщение о заявке",
    "next.resolved": "подтвердите, что проблема решена",
    "next.reopened": "специалист снова займётся заявкой",
    "next.closed": "заявка закрыта",
    "detail.title": "<b>Заявка #{number}</b> · {subject}",
    "detail.fields": "Статус: {status}\nПриоритет: {priority}\nСоздана: {created}",
    "detail.replies": "<b>Последние ответы</b>",
    "detail.reply": "<i>{author}, {when}:</i>\n<blockquote>{text}</blockquote>",
    "detail.no_replies": "Ответов пока нет.",
    "decision.question": "<b>Проблема решена?</b>",
    "decision.yes": "✅ Да",
    "decision.no": "↩️ Нет, возобновить",
    "decision.closed": "Спасибо! Заявка #{number} закрыта.",
    "decision.reopened": "Заявка #{number} возобновлена — мы продолжим работу.",
    "rate.ask": "Оцените, пожалуйста, решение: от 1 (плохо) до 5 (отлично).",
    "rate.thanks": "Спасибо за оценку {rating}!",
    "rate.comment_ask": "Если хотите, напишите комментарий к оценке одним сообщением.",
    "rate.skip": "Пропустить",
    "rate.comment_thanks": "Спасибо, комментарий сохранён.",
    "refused": "Это действие вам недоступно.",
    "stale": "Заявка уже в другом статусе.",
    "failed": "Не получилось, попробуйте чуть позже.",
    "status.new": "новая",
    "status.in_progress": "в работе",
    "status.waiting": "ждёт вашего ответа",
    "status.resolved": "решена",
    "status.reopened": "возобновлена",
    "status.closed": "закрыта",
    "priority.critical": "критический",
    "priority.high": "высокий",
    "priority.medium": "средний",
    "priority.low": "низкий",
    "author.agent": "Служба поддержки",
}

EN: Mapping[str, str] = {
    "start": "Hello, {name}! I am the service desk bot.",
    "help": "Describe the problem in one message and I will open a ticket and tell you its "
    "number. Photos, documents and voice messages are welcome.\n\n"
    "/status — your open tickets\n"
    "Reply to my message about a ticket to add to it.\n"
    "/cancel — cancel the current action",
    "share_phone": "📱 Share my number",
    "share_phone.ask": "Share your number with the button below so we know you by phone too.",
    "link.ok": "Done: this Telegram account is linked to your account.",
    "link.bad": "This link is not valid. Please ask for a new one.",
    "phone.ok": "Thank you! Number {phone} is confirmed.",
    "phone.foreign": "Please share your own number with the button below.",
    "cancel.done": "Cancelled.",
    "cancel.nothing": "Nothing to cancel.",
    "status.none": "You have no open tickets. To open one, just describe the problem.",
    "status.title": "<b>Your open tickets</b>",
    "status.line": "<b>#{number}</b> · {subject}\n{status} · {assignee}\nNext: {next}",
    "status.button": "#{number} — details",
    "assignee.none": "not assigned yet",
    "assignee": "assignee: {name}",
    "next.new": "an agent will pick it up",
    "next.in_progress": "an agent is working on it",
    "next.waiting": "we are waiting for your answer — reply to the message about the ticket",
    "next.resolved": "please confirm the problem is solved",
    "next.reopened": "an agent will look at it again",
    "next.closed": "the ticket is closed",
    "detail.title": "<b>Ticket #{number}</b> · {subject}",
    "detail.fields": "Status: {status}\nPriority: {priority}\nCreated: {created}",
    "detail.replies": "<b>Latest replies</b>",
    "detail.reply": "<i>{author}, {when}:</i>\n<blockquote>{text}</blockquote>",
    "detail.no_replies": "No replies yet.",
    "decision.question": "<b>Is the problem solved?</b>",
    "decision.yes": "✅ Yes",
    "decision.no": "↩️ No, reopen",
    "decision.closed": "Thank you! Ticket #{number} is closed.",
    "decision.reopened": "Ticket #{number} is reopened — we will keep working on it.",
    "rate.ask": "Please rate the solution: from 1 (poor) to 5 (excellent).",
    "rate.thanks": "Thank you for rating it {rating}!",
    "rate.comment_ask": "If you like, add a comment to your rating in one message.",
    "rate.skip": "Skip",
    "rate.comment_thanks": "Thank you, your comment is saved.",
    "refused": "You cannot do this.",
    "stale": "The ticket has moved on to another status.",
    "failed": "That did not work, please try again a little later.",
    "status.new": "new",
    "status.in_progress": "in progress",
    "status.waiting": "waiting for your reply",
    "status.resolved": "resolved",
    "status.reopened": "reopened",
    "status.closed": "closed",
    "priority.critical": "critical",
    "priority.high": "high",
    "priority.medium": "medium",
    "priority.low": "low",
    "author.agent": "Service desk",
}

_BY_LOCALE: Mapping[str, Mapping[str, str]] = {"ru": RU, "en": EN}


def locale_or(locale: str | None, default: str) -> str:
    """A supported locale: ``locale`` when it is one, else ``default`` (else Russian)."""
    if locale is not None and locale in _BY_LOCALE:
        return locale
    return default if default in _BY_LOCALE else "ru"


def t(locale: str, key: str, **values: object) -> Markup:
    """The HTML text ``key`` in ``locale`` with ``values`` escaped into it (a value that is
    already :class:`Markup`, such as another :func:`t`, goes in as it is)."""
    text = _BY_LOCALE[locale_or(locale, "ru")][key]
    return Markup(text).format(**values)  # noqa: S704 - our own texts; values are escaped


def plain(locale: str, key: str, **values: object) -> str:
    """The text ``key`` as plain text (callback answers); it must hold no tags."""
    text = _BY_LOCALE[locale_or(locale, "ru")][key]
    return text.format(**{name: str(value) for name, value in values.items()})
