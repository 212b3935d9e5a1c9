"""The private status page: what it shows, what it lets the requester do, and to which ticket."""

from __future__ import annotations

import pytest

from channels.webform.csrf import COOKIE_NAME
from tests.web.conftest import Desk
from ticketing.domain import AuthorKind, ChannelKind, Status


async def test_page_shows_ticket_and_public_history_only(desk: Desk) -> None:
    number, token = await desk.new_ticket()
    await desk.agent_says(number, "Проверьте, включён ли принтер.", public=True)
    await desk.agent_says(number, "СЕКРЕТ: у клиента старый драйвер", public=False)

    response = await desk.client.get(f"/t/{token}")

    page = await response.text()
    assert response.status == 200
    assert f"Заявка #{number}: Не работает принтер" in page
    assert "Новая" in page
    assert "Средний" in page
    assert "3 мар. 2025" in page
    assert "Принтер не печатает." in page
    assert "Проверьте, включён ли принтер." in page
    assert "Служба поддержки</strong> · Сергей" in page
    assert "фото.jpg (2 КБ)" in page
    assert "СЕКРЕТ" not in page
    assert "agent_comment" not in page
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert COOKIE_NAME in response.cookies


async def test_page_is_english_when_asked(desk: Desk) -> None:
    _, token = await desk.new_ticket()

    page = await (await desk.client.get(f"/t/{token}?lang=en")).text()

    assert '<html lang="en">' in page
    assert "Request #" in page
    assert "Medium" in page


async def test_page_escapes_what_people_wrote(desk: Desk) -> None:
    _, token = await desk.new_ticket(
        "<b>жирный</b>", text='<script>alert("x")</script> и <img src=x onerror=alert(1)>'
    )

    page = await (await desk.client.get(f"/t/{token}")).text()

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;жирный&lt;/b&gt;" in page


@pytest.mark.parametrize("path", ["/t/{other}", "/t/short", "/t/{other}/comment"])
async def test_unknown_token_gets_a_404_that_reveals_nothing(desk: Desk, path: str) -> None:
    await desk.new_ticket()
    other = "A" * 32

    if path.endswith("/comment"):
        csrf = await desk.csrf((await desk.new_ticket())[1])
        response = await desk.client.post(
            path.format(other=other), data={"csrf_token": csrf, "text": "привет"}
        )
    else:
        response = await desk.client.get(path.format(other=other))

    page = await response.text()
    assert response.status == 404
    assert "Страница не найдена" in page
    assert "принтер" not in page.lower()
    assert "#" not in page.split("<main>", 1)[1]


async def test_comment_adds_a_requester_comment_and_redirects(desk: Desk) -> None:
    number, token = await desk.new_ticket()
    csrf = await desk.csrf(token)

    response = await desk.client.post(
        f"/t/{token}/comment?lang=ru",
        data={"csrf_token": csrf, "text": "Включала, не помогло."},
        allow_redirects=False,
    )

    assert response.status == 303
    assert response.headers["Location"] == f"/t/{token}?lang=ru&done=commented"
    comment = (await desk.detail(number)).comments[-1]
    assert comment.body == "Включала, не помогло."
    assert comment.author_kind is AuthorKind.REQUESTER
    assert comment.author_name == "Ольга"
    assert comment.channel is ChannelKind.WEBFORM
    assert comment.public
    followed = await desk.client.get(response.headers["Location"])
    assert "Комментарий добавлен." in await followed.text()


async def test_empty_comment_is_refused_and_nothing_added(desk: Desk) -> None:
    number, token = await desk.new_ticket()
    csrf = await desk.csrf(token)

    response = await desk.client.post(
        f"/t/{token}/comment", data={"csrf_token": csrf, "text": " \n "}
    )

    assert response.status == 400
    assert "Напишите комментарий." in await response.text()
    assert len((await desk.detail(number)).comments) == 1


async def test_comment_without_csrf_is_refused(desk: Desk) -> None:
    number, token = await desk.new_ticket()
    await desk.csrf(token)

    response = await desk.client.post(f"/t/{token}/comment", data={"text": "без токена"})

    assert response.status == 403
    assert "Страница устарела" in await response.text()
    assert len((await desk.detail(number)).comments) == 1


async def test_comment_on_a_closed_ticket_is_refused(desk: Desk) -> None:
    number, token = await desk.new_ticket()
    await desk.set_status(number, Status.CLOSED)
    csrf = await desk.csrf(token)

    response = await desk.client.post(
        f"/t/{token}/comment", data={"csrf_token": csrf, "text": "ещё вопрос"}
    )

    assert response.status == 409
    assert "Заявка закрыта" in await response.text()
    detail = await desk.detail(number)
    assert len(detail.comments) == 1
    assert detail.ticket.status is Status.CLOSED


@pytest.mark.parametrize(
    ("action", "expected"), [("confirm", Status.CLOSED), ("reopen", Status.REOPENED)]
)
async def test_decision_changes_a_resolved_ticket(
    desk: Desk, action: str, expected: Status
) -> None:
    number, token = await desk.new_ticket()
    await desk.set_status(number, Status.RESOLVED)
    page = await (await desk.client.get(f"/t/{token}")).text()
    assert "Проблема решена?" in page
    csrf = await desk.csrf(token)

    response = await desk.client.post(
        f"/t/{token}/{action}", data={"csrf_token": csrf}, allow_redirects=False
    )

    assert response.status == 303
    assert (await desk.detail(number)).ticket.status is expected


@pytest.mark.parametrize("action", ["confirm", "reopen"])
async def test_decision_is_refused_unless_resolved(desk: Desk, action: str) -> None:
    number, token = await desk.new_ticket()
    await desk.set_status(number, Status.IN_PROGRESS)
    page = await (await desk.client.get(f"/t/{token}")).text()
    assert "Проблема решена?" not in page
    csrf = await desk.csrf(token)

    response = await desk.client.post(f"/t/{token}/{action}", data={"csrf_token": csrf})

    assert response.status == 409
    assert "недоступно при текущем статусе" in await response.text()
    assert (await desk.detail(number)).ticket.status is Status.IN_PROGRESS


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
async def test_rating_is_stored_when_resolved_or_closed(desk: Desk, status: Status) -> None:
    number, token = await desk.new_ticket()
    await desk.set_status(number, status)
    csrf = await desk.csrf(token)

    response = await desk.client.post(
        f"/t/{token}/rate",
        data={"csrf_token": csrf, "rating": "5", "comment": "Быстро и вежливо"},
        allow_redirects=False,
    )

    assert response.status == 303
    ticket = (await desk.detail(number)).ticket
    assert (ticket.rating, ticket.rating_comment) == (5, "Быстро и вежливо")
    page = await (await desk.client.get(response.headers["Location"])).text()
    assert "Спасибо за оценку!" in page
    assert "5 из 5" in page
    assert 'name="rating"' not in page


@pytest.mark.parametrize("rating", ["0", "6", "x", "", "4.5"])
async def test_rating_outside_one_to_five_is_refused(desk: Desk, rating: str) -> None:
    number, token = await desk.new_ticket()
    await desk.set_status(number, Status.RESOLVED)
    csrf = await desk.csrf(token)

    response = await desk.client.post(
        f"/t/{token}/rate", data={"csrf_token": csrf, "rating": rating, "comment": "мой текст"}
    )

    page = await response.text()
    assert response.status == 400
    assert "Выберите оценку от 1 до 5." in page
    assert ">мой текст</textarea>" in page
    assert (await desk.detail(number)).ticket.rating is None


async def test_rating_an_open_ticket_is_refused(desk: Desk) -> None:
    number, token = await desk.new_ticket()
    csrf = await desk.csrf(token)

    response = await desk.client.post(f"/t/{token}/rate", data={"csrf_token": csrf, "rating": "3"})

    assert response.status == 409
    assert (await desk.detail(number)).ticket.rating is None


async def test_rating_twice_is_refused(desk: Desk) -> None:
    number, token = await desk.new_ticket()
    await desk.set_status(number, Status.RESOLVED)
    csrf = await desk.csrf(token)
    await desk.client.post(f"/t/{token}/rate", data={"csrf_token": csrf, "rating": "2"})

    response = await desk.client.post(f"/t/{token}/rate", data={"csrf_token": csrf, "rating": "5"})

    assert response.status == 409
    assert "уже оценена" in await response.text()
    assert (await desk.detail(number)).ticket.rating == 2


async def test_one_tickets_token_never_acts_on_another(desk: Desk) -> None:
    mine, my_token = await desk.new_ticket("Моя заявка")
    theirs, their_token = await desk.new_ticket("Чужая заявка")
    await desk.set_status(mine, Status.RESOLVED)
    await desk.set_status(theirs, Status.RESOLVED)
    csrf = await desk.csrf(my_token)

    await desk.client.post(f"/t/{my_token}/confirm", data={"csrf_token": csrf})
    await desk.client.post(f"/t/{my_token}/comment", data={"csrf_token": csrf, "text": "спасибо"})
    page = await (await desk.client.get(f"/t/{my_token}")).text()

    assert (await desk.detail(mine)).ticket.status is Status.CLOSED
    other = await desk.detail(theirs)
    assert other.ticket.status is Status.RESOLVED
    assert [c.body for c in other.comments] == ["Принтер не печатает."]
    assert "Чужая заявка" not in page
    assert their_token not in page
