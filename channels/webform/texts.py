"""The form's words in Russian and English, and how a visitor's language is chosen.

A small dict per locale (rather than gettext catalogs) keeps the adapter free of the shared
``locales/`` build; a test checks that both locales have exactly the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from babel import Locale

SUPPORTED_LOCALES: tuple[str, ...] = ("ru", "en")
DEFAULT_LOCALE = "ru"
_MAX_LANGUAGES = 20

RU: Mapping[str, str] = {
    "lang.name": "Русский",
    "page.title": "Новая заявка",
    "page.intro": "Опишите проблему или запрос — мы ответим по указанному вами контакту.",
    "required": "обязательно",
    "field.name": "Ваше имя",
    "field.contact": "Как с вами связаться",
    "hint.contact": "Укажите e-mail, телефон или оба.",
    "field.email": "E-mail",
    "field.phone": "Телефон",
    "hint.phone": "С кодом страны, например +7 912 345-67-89.",
    "field.service": "Услуга",
    "service.none": "Не знаю / другое",
    "field.subject": "Тема",
    "field.description": "Описание",
    "hint.description": "Что случилось, когда, что уже пробовали. От {min} до {max} символов.",
    "field.files": "Файлы",
    "hint.files": "Не больше {count} файлов, до {size} каждый.",
    "field.honeypot": "Не заполняйте это поле",
    "submit": "Отправить заявку",
    "errors.summary": "Исправьте, пожалуйста:",
    "error.required": "Заполните это поле.",
    "error.too_long": "Не больше {max} символов (сейчас {length}).",
    "error.too_short": "Не меньше {min} символов (сейчас {length}).",
    "error.not_text": "Ожидается строка.",
    "error.contact_required": "Укажите e-mail или телефон.",
    "error.email_invalid": "Это не похоже на адрес e-mail (пример: name@example.com).",
    "error.phone_invalid": "Не удалось распознать номер; укажите его с кодом страны.",
    "error.service_unknown": "Выберите услугу из списка.",
    "error.submission_invalid": "Форма повреждена; откройте её заново.",
    "error.file_too_large": "Файл «{filename}» больше {size}.",
    "error.too_many_files": "Можно приложить не больше {count} файлов.",
    "error.attachment_invalid": "Вложение №{index}: нужны filename и content_base64 (Base64).",
    "error.value_too_large": "Слишком длинное значение.",
    "problem.back": "Открыть форму заново",
    "problem.csrf.title": "Форма устарела",
    "problem.csrf": "Не удалось подтвердить, что форма отправлена с этого сайта, или она была "
    "открыта слишком долго. Откройте форму заново и отправьте заявку ещё раз.",
    "problem.rejected.title": "Заявка не принята",
    "problem.rejected": "Заявку не удалось принять. Откройте форму заново и попробуйте ещё раз.",
    "problem.rate_limited.title": "Слишком много заявок",
    "problem.rate_limited": "Недавно отправлено слишком много заявок. "
    "Попробуйте снова через {minutes} мин.",
    "problem.bad_request.title": "Некорректный запрос",
    "problem.encoding": "Данные формы не в кодировке UTF-8.",
    "problem.json": "Тело запроса — не корректный JSON-объект.",
    "problem.content_type": "Неподдерживаемый тип содержимого: {content_type}.",
    "problem.too_large": "Запрос слишком большой.",
    "problem.invalid": "Проверьте поля заявки.",
    "problem.unavailable.title": "Сервис временно недоступен",
    "problem.unavailable": "Сейчас не получается принять заявку. "
    "Попробуйте через несколько минут.",
    "result.title": "Заявка принята",
    "result.created": "Номер вашей заявки: #{number}.",
    "result.status_link": "Следить за заявкой, добавлять комментарии и оценить решение можно "
    "по личной ссылке:",
    "result.keep_private": "Не пересылайте эту ссылку: по ней открывается ваша заявка.",
    "result.appended": "Сообщение добавлено к заявке #{number}. "
    "Ответ придёт по указанному вами контакту.",
    "result.queued.email": "Заявка принята. Её номер и личная ссылка придут на e-mail {email}.",
    "result.queued.phone": "Заявка принята. Мы свяжемся с вами по телефону {phone}.",
    "result.ignored": "Сообщение получено.",
    "result.another": "Отправить ещё одну заявку",
    "size.kb": "{value} КБ",
    "size.mb": "{value} МБ",
}

EN: Mapping[str, str] = {
    "lang.name": "English",
    "page.title": "New request",
    "page.intro": "Describe the problem or request — we will reply to the contact you give.",
    "required": "required",
    "field.name": "Your name",
    "field.contact": "How to reach you",
    "hint.contact": "Give an e-mail address, a phone number, or both.",
    "field.email": "E-mail",
    "field.phone": "Phone",
    "hint.phone": "With the country code, for example +7 912 345-67-89.",
    "field.service": "Service",
    "service.none": "Not sure / other",
    "field.subject": "Subject",
    "field.description": "Description",
    "hint.description": "What happened, when, what you tried. {min} to {max} characters.",
    "field.files": "Files",
    "hint.files": "Up to {count} files, at most {size} each.",
    "field.honeypot": "Leave this field empty",
    "submit": "Send request",
    "errors.summary": "Please correct the following:",
    "error.required": "Please fill in this field.",
    "error.too_long": "At most {max} characters (now {length}).",
    "error.too_short": "At least {min} characters (now {length}).",
    "error.not_text": "A string is expected.",
    "error.contact_required": "Give an e-mail address or a phone number.",
    "error.email_invalid": "This does not look like an e-mail address (e.g. name@example.com).",
    "error.phone_invalid": "This phone number is not recognised; include the country code.",
    "error.service_unknown": "Choose a service from the list.",
    "error.submission_invalid": "The form is damaged; open it again.",
    "error.file_too_large": "The file “{filename}” is larger than {size}.",
    "error.too_many_files": "At most {count} files can be attached.",
    "error.attachment_invalid": "Attachment #{index}: filename and content_base64 (Base64) "
    "are required.",
    "error.value_too_large": "The value is too long.",
    "problem.back": "Open the form again",
    "problem.csrf.title": "The form has expired",
    "problem.csrf": "We could not confirm that the form was sent from this site, or it was "
    "open for too long. Open the form again and send your request once more.",
    "problem.rejected.title": "Request not accepted",
    "problem.rejected": "The request could not be accepted. Open the form again and retry.",
    "problem.rate_limited.title": "Too many requests",
    "problem.rate_limited": "Too many requests were sent recently. "
    "Please try again in {minutes} min.",
    "problem.bad_request.title": "Bad request",
    "problem.encoding": "The form data is not valid UTF-8.",
    "problem.json": "The request body is not a valid JSON object.",
    "problem.content_type": "Unsupported content type: {content_type}.",
    "problem.too_large": "The request is too large.",
    "problem.invalid": "Please check the request's fields.",
    "problem.unavailable.title": "Service temporarily unavailable",
    "problem.unavailable": "We cannot accept requests right now. Please try again in a few "
    "minutes.",
    "result.title": "Request received",
    "result.created": "Your request number is #{number}.",
    "result.status_link": "Follow the request, add comments and rate the solution at your "
    "private link:",
    "result.keep_private": "Do not forward this link: it opens your request.",
    "result.appended": "Your message was added to request #{number}. "
    "We will reply to the contact you gave.",
    "result.queued.email": "Your request was accepted. Its number and private link will come "
    "by e-mail to {email}.",
    "result.queued.phone": "Your request was accepted. We will contact you by phone at {phone}.",
    "result.ignored": "Your message has been received.",
    "result.another": "Send another request",
    "size.kb": "{value} KB",
    "size.mb": "{value} MB",
}

TEXTS: Mapping[str, Mapping[str, str]] = {"ru": RU, "en": EN}


def text(locale: str, key: str, **params: object) -> str:
    """The ``key`` string in ``locale`` with ``params`` filled in."""
    template = TEXTS.get(locale, RU)[key]
    return template.format(**params) if params else template


def format_size(size: int, locale: str) -> str:
    """``10 МБ`` / ``512 KB``: binary units, one decimal only where it matters."""
    if size >= 1024 * 1024:
        value, key = size / (1024 * 1024), "size.mb"
    else:
        value, key = max(size / 1024, 0.1), "size.kb"
    shown = f"{value:.1f}".rstrip("0").rstrip(".")
    if locale == "ru":
        shown = shown.replace(".", ",")
    return text(locale, key, value=shown)


def accepted_languages(header: str | None) -> list[str]:
    """Language tags from an ``Accept-Language`` header, most preferred first."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:_MAX_LANGUAGES]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate_locale(lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` if supported, else the best ``Accept-Language`` match, else Russian."""
    if lang and lang.strip().lower() in SUPPORTED_LOCALES:
        return lang.strip().lower()
    found = Locale.negotiate(accepted_languages(accept_language), SUPPORTED_LOCALES, sep="-")
    return DEFAULT_LOCALE if found is None else str(found.language)
