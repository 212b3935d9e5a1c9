"""The HTML form end to end: what reaches the sink, and every way a submission is refused."""

from __future__ import annotations

import pytest

from channels.webform.csrf import COOKIE_NAME
from channels.webform.settings import WebformSettings
from tests.webform.conftest import (
    MAX_FILE_BYTES,
    Clock,
    Harness,
    RecordingSink,
    hidden_fields,
    make_adapter,
    open_form,
    submit,
    valid_fields,
)
from ticketing.domain import ChannelKind, IntakeOutcome


async def test_form_page_is_russian_by_default_with_csrf_cookie(harness: Harness) -> None:
    response = await harness.client.get("/form")

    page = await response.text()
    assert response.status == 200
    assert '<html lang="ru">' in page
    assert "Новая заявка" in page
    assert "Удалённый доступ (VPN)" in page
    assert set(hidden_fields(page)) == {"csrf_token", "submission_id"}
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/form?lang=en", {}),
        ("/form", {"Accept-Language": "de-DE,en-GB;q=0.8,ru;q=0.5"}),
    ],
)
async def test_form_page_is_english_when_asked(
    harness: Harness, path: str, headers: dict[str, str]
) -> None:
    response = await harness.client.get(path, headers=headers)

    page = await response.text()
    assert '<html lang="en">' in page
    assert "New request" in page
    assert "Remote access (VPN)" in page


async def test_submission_reaches_sink_with_attachments_when_valid(harness: Harness) -> None:
    hidden = await open_form(harness.client)
    screenshot = b"\x89PNG\r\n\x1a\n" + bytes(range(200))

    response = await submit(
        harness.client,
        valid_fields(),
        hidden=hidden,
        files=[
            ("скриншот ошибки.png", screenshot, "image/png"),
            ("log.txt", b"809", "text/plain"),
        ],
    )

    page = await response.text()
    assert response.status == 200
    assert "#4567" in page
    assert "https://desk.example.com/t/token4567abcdefghijklmnop" in page
    [message] = harness.sink.messages
    assert message.channel is ChannelKind.WEBFORM
    assert message.external_id == hidden["submission_id"]
    assert message.sender.name == "Иван Петров"
    assert message.sender.email == "ivan.petrov@example.ru"
    assert message.sender.locale == "ru"
    assert message.reply_to is not None
    assert message.reply_to.channel is ChannelKind.EMAIL
    assert message.reply_to.address == "ivan.petrov@example.ru"
    assert message.subject == "Не подключается VPN"
    assert message.text.startswith("С утра не подключается VPN")
    assert message.service == "vpn"
    assert [(a.filename, a.content_type, a.content) for a in message.attachments] == [
        ("скриншот ошибки.png", "image/png", screenshot),
        ("log.txt", "text/plain", b"809"),
    ]
    assert message.meta == {"client_ip": "127.0.0.1"}


async def test_reply_goes_to_phone_in_e164_when_no_email(harness: Harness) -> None:
    hidden = await open_form(harness.client)

    response = await submit(
        harness.client, valid_fields(email="", phone="8 (912) 345-67-89"), hidden=hidden
    )

    assert response.status == 200
    [message] = harness.sink.messages
    assert message.sender.phone == "+79123456789"
    assert message.sender.email is None
    assert message.reply_to is not None
    assert message.reply_to.channel is ChannelKind.PHONE
    assert message.reply_to.address == "+79123456789"


async def test_double_submit_gives_the_same_external_id_and_ticket(harness: Harness) -> None:
    hidden = await open_form(harness.client)

    first = await submit(harness.client, valid_fields(), hidden=hidden)
    second = await submit(harness.client, valid_fields(), hidden=hidden)

    assert "#4567" in await first.text()
    assert "#4567" in await second.text()
    assert {m.external_id for m in harness.sink.messages} == {hidden["submission_id"]}


async def test_result_says_number_comes_by_email_when_queued(harness: Harness) -> None:
    harness.sink.outcome = IntakeOutcome.QUEUED
    hidden = await open_form(harness.client)

    response = await submit(harness.client, valid_fields(), hidden=hidden)

    page = await response.text()
    assert response.status == 200
    assert "придут на e-mail ivan.petrov@example.ru" in page
    assert "/t/" not in page


async def test_result_hides_status_link_when_appended_to_existing_ticket(
    harness: Harness,
) -> None:
    harness.sink.outcome = IntakeOutcome.APPENDED
    hidden = await open_form(harness.client)

    response = await submit(harness.client, valid_fields(), hidden=hidden)

    page = await response.text()
    assert "добавлено к заявке #4567" in page
    assert "/t/" not in page


async def test_form_keeps_typed_values_and_escapes_them_when_invalid(harness: Harness) -> None:
    hidden = await open_form(harness.client)
    fields = valid_fields(
        name='<script>alert("x")</script>', email="not-an-address", description="коротко"
    )

    response = await submit(harness.client, fields, hidden=hidden)

    page = await response.text()
    assert response.status == 400
    assert "<script>" not in page
    assert "&lt;script&gt;alert(" in page
    assert 'value="not-an-address"' in page
    assert ">коротко</textarea>" in page
    assert 'value="Не подключается VPN"' in page
    assert "Это не похоже на адрес e-mail" in page
    assert "Не меньше 10 символов (сейчас 7)" in page
    assert 'aria-invalid="true"' in page
    assert hidden_fields(page)["submission_id"] == hidden["submission_id"]
    assert harness.sink.messages == []


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"name": ""}, "name", "Заполните это поле."),
        ({"name": "Я" * 201}, "name", "Не больше 200 символов (сейчас 201)."),
        ({"subject": "  "}, "subject", "Заполните это поле."),
        ({"subject": "Т" * 201}, "subject", "Не больше 200 символов (сейчас 201)."),
        ({"description": "х" * 20_001}, "description", "Не больше 20000 символов"),
        ({"description": "   \n  "}, "description", "Заполните это поле."),
        ({"email": "ivan@@example"}, "email", "Это не похоже на адрес e-mail"),
        ({"email": "", "phone": "12345"}, "phone", "Не удалось распознать номер"),
        ({"email": "", "phone": ""}, "contact", "Укажите e-mail или телефон."),
        ({"service": "printers"}, "service", "Выберите услугу из списка."),
        ({"submission_id": "not-a-uuid"}, "submission_id", "Форма повреждена"),
    ],
)
async def test_bad_field_is_named_and_nothing_stored(
    harness: Harness, overrides: dict[str, str], field_id: str, message: str
) -> None:
    hidden = await open_form(harness.client)

    response = await submit(harness.client, valid_fields(**overrides), hidden=hidden)

    page = await response.text()
    assert response.status == 400
    assert f'id="{field_id}-error"' in page or field_id == "submission_id"
    assert message in page
    assert harness.sink.messages == []


async def test_every_bad_field_is_reported_at_once(harness: Harness) -> None:
    hidden = await open_form(harness.client)
    fields = {"name": "", "email": "x", "service": "nope", "subject": "", "description": ""}

    response = await submit(harness.client, fields, hidden=hidden)

    page = await response.text()
    for field_id in ("name", "email", "service", "subject", "description"):
        assert f'id="{field_id}-error"' in page
    assert harness.sink.messages == []


@pytest.mark.parametrize(
    "tamper",
    ["missing", "garbage", "other_cookie", "no_cookie"],
)
async def test_forged_csrf_is_refused_with_403(harness: Harness, tamper: str) -> None:
    hidden = await open_form(harness.client)
    if tamper == "missing":
        del hidden["csrf_token"]
    elif tamper == "garbage":
        hidden["csrf_token"] = "1740819600.AAAA"
    elif tamper == "other_cookie":
        harness.client.session.cookie_jar.clear()
        harness.client.session.cookie_jar.update_cookies({COOKIE_NAME: "x" * 43})
    else:
        harness.client.session.cookie_jar.clear()

    response = await submit(harness.client, valid_fields(), hidden=hidden)

    assert response.status == 403
    assert "Форма устарела" in await response.text()
    assert harness.sink.messages == []


async def test_csrf_token_expires_after_max_age(harness: Harness) -> None:
    hidden = await open_form(harness.client)
    harness.clock.advance(WebformSettings().csrf_max_age_seconds + 1)

    response = await submit(harness.client, valid_fields(), hidden=hidden)

    assert response.status == 403
    assert harness.sink.messages == []


async def test_two_open_forms_both_submit(harness: Harness) -> None:
    first = await open_form(harness.client)
    second = await open_form(harness.client)

    one = await submit(harness.client, valid_fields(), hidden=first)
    two = await submit(harness.client, valid_fields(), hidden=second)

    assert (one.status, two.status) == (200, 200)
    assert len(harness.sink.messages) == 2


async def test_honeypot_filled_is_refused_generically(harness: Harness) -> None:
    hidden = await open_form(harness.client)

    response = await submit(
        harness.client, valid_fields(website="http://spam.example"), hidden=hidden
    )

    page = await response.text()
    assert response.status == 400
    assert "Заявку не удалось принять" in page
    assert "website" not in page.split("<main>", 1)[1]
    assert harness.sink.messages == []


async def test_file_over_limit_is_refused_with_413_naming_it(harness: Harness) -> None:
    hidden = await open_form(harness.client)
    big = b"x" * (MAX_FILE_BYTES * 50)

    response = await submit(
        harness.client, valid_fields(), hidden=hidden, files=[("дамп памяти.bin", big, "x/y")]
    )

    page = await response.text()
    assert response.status == 413
    assert "Файл «дамп памяти.bin» больше" in page
    assert 'value="Иван Петров"' in page
    assert harness.sink.messages == []


async def test_too_many_files_is_refused(harness: Harness) -> None:
    hidden = await open_form(harness.client)
    files = [(f"{n}.txt", b"data", "text/plain") for n in range(3)]

    response = await submit(harness.client, valid_fields(), hidden=hidden, files=files)

    assert response.status == 400
    assert "не больше 2 файлов" in await response.text()
    assert harness.sink.messages == []


async def test_empty_file_input_is_not_an_attachment(harness: Harness) -> None:
    hidden = await open_form(harness.client)

    response = await submit(
        harness.client,
        valid_fields(),
        hidden=hidden,
        files=[("", b"", "application/octet-stream")],
    )

    assert response.status == 200
    assert harness.sink.messages[0].attachments == ()


async def test_multipart_field_not_utf8_is_refused(harness: Harness) -> None:
    hidden = await open_form(harness.client)
    boundary = "b0undary"
    parts = [*hidden.items(), *valid_fields().items()]
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
            + (v.encode("cp1251") if k == "name" else v.encode())
            + b"\r\n"
            for k, v in parts
        )
        + f"--{boundary}--\r\n".encode()
    )

    response = await harness.client.post(
        "/form",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status == 400
    assert "не в кодировке UTF-8" in await response.text()
    assert harness.sink.messages == []


async def test_urlencoded_form_not_utf8_is_refused(harness: Harness) -> None:
    hidden = await open_form(harness.client)
    body = f"csrf_token={hidden['csrf_token']}&name=%C8%E2%E0%ED&subject=x"

    response = await harness.client.post(
        "/form",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status == 400
    assert harness.sink.messages == []


async def test_urlencoded_form_without_files_is_accepted(harness: Harness) -> None:
    hidden = await open_form(harness.client)

    response = await harness.client.post("/form", data={**hidden, **valid_fields()})

    assert response.status == 200
    assert len(harness.sink.messages) == 1


async def test_unsupported_content_type_is_refused(harness: Harness) -> None:
    response = await harness.client.post(
        "/form", data=b"name=x", headers={"Content-Type": "text/plain"}
    )

    assert response.status == 415
    assert harness.sink.messages == []


async def test_sink_failure_keeps_values_and_says_try_later(harness: Harness) -> None:
    harness.sink.error = ConnectionError("database is down")
    hidden = await open_form(harness.client)

    response = await submit(harness.client, valid_fields(), hidden=hidden)

    page = await response.text()
    assert response.status == 503
    assert "Попробуйте через несколько минут" in page
    assert 'value="Иван Петров"' in page
    assert hidden_fields(page)["submission_id"] == hidden["submission_id"]


async def test_disabled_form_has_no_routes(settings: WebformSettings) -> None:
    adapter = make_adapter(settings.model_copy(update={"enabled": False}), Clock())

    assert adapter.routes(RecordingSink()) == []
