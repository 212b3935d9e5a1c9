"""``/wait``, ``/close``, ``/reopen`` and ``/link`` typed in a ticket's topic (SPEC §5)."""

from __future__ import annotations

from sqlalchemy import select

from okno.settings import Settings
from tests.bot.test_agents import opened
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import (
    AGENTS,
    ANNA,
    IVAN,
    MARIA,
    TelegramHarness,
    eventually,
    group_message,
    running,
    telegram_settings,
)
from ticketing.domain import Status, Ticket
from ticketing.rows_telegram import TelegramDeskJobRow

USER = IVAN["id"]


def in_topic(fake: FakeTelegramAPI, thread: int | None) -> list[str]:
    """The plain texts of the messages the bot posted into one topic, oldest first."""
    return [
        str(c.result.get("text", ""))
        for c in fake.sent(AGENTS, "sendMessage")
        if c.params.get("message_thread_id") == str(thread)
    ]


def card_text(fake: FakeTelegramAPI, desk_card: int) -> str:
    message = fake.message(AGENTS, desk_card)
    assert message is not None
    return str(message["text"])


async def status_of(desk: TelegramHarness, number: int, wanted: Status) -> Ticket | None:
    found = await desk.ticket(number)
    return found if found.status is wanted else None


async def test_wait_asks_the_requester_and_the_card_shows_waiting(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, thread = await opened(desk)
        card = await eventually(lambda: desk.card_of(ticket.number))
        await eventually(lambda: fake_api.texts(USER))

        await desk.send(group_message(ANNA, "/wait Какая модель принтера?", thread=thread))

        await eventually(lambda: status_of(desk, ticket.number, Status.WAITING))
        asked = await eventually(
            lambda: [t for t in fake_api.texts(USER) if "Какая модель принтера?" in t]
        )
        assert len(asked) == 1
        await eventually(
            lambda: "Статус: ожидание (Anna) ·" in card_text(fake_api, card.card_message_id)
        )
        history = await desk.history(ticket.number)
        [change] = [e for e in history if e.kind == "status_changed"]
        assert (change.actor, change.data["new"]) == ("Anna", "waiting")

        # Waiting already: the state machine's refusal is shown, nothing changes.
        await desk.send(group_message(ANNA, "/wait", thread=thread))
        await eventually(lambda: any("Не получилось" in t for t in in_topic(fake_api, thread)))
        assert (await desk.ticket(ticket.number)).status is Status.WAITING


async def test_close_closes_the_topic_and_reopen_opens_it_again(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, thread = await opened(desk)
        card = await eventually(lambda: desk.card_of(ticket.number))

        await desk.send(group_message(ANNA, "/close спам", thread=thread))

        await eventually(lambda: status_of(desk, ticket.number, Status.CLOSED))
        await eventually(lambda: fake_api.topic(AGENTS, thread).closed)  # type: ignore[union-attr]
        closed_card = fake_api.message(AGENTS, card.card_message_id)
        assert closed_card is not None
        assert "Статус: закрыта (Anna) ·" in closed_card["text"]
        assert not (closed_card.get("reply_markup") or {}).get("inline_keyboard")
        assert any("спам" in t for t in in_topic(fake_api, thread))

        # A closed ticket takes no other command than /reopen.
        await desk.send(group_message(ANNA, "/wait", thread=thread))
        await eventually(lambda: any("Не получилось" in t for t in in_topic(fake_api, thread)))
        assert (await desk.ticket(ticket.number)).status is Status.CLOSED

        await desk.send(group_message(ANNA, "/reopen", thread=thread))

        found = await eventually(lambda: status_of(desk, ticket.number, Status.REOPENED))
        assert found.closed_at is None
        await eventually(
            lambda: not fake_api.topic(AGENTS, thread).closed  # type: ignore[union-attr]
        )
        assert desk.topic_of(ticket.number) == thread  # the same topic, not a new one
        await eventually(
            lambda: "Статус: возобновлена (Anna) ·" in card_text(fake_api, card.card_message_id)
        )
        reopened_card = fake_api.message(AGENTS, card.card_message_id)
        assert reopened_card is not None
        assert reopened_card["reply_markup"]["inline_keyboard"]
        kinds = [e.data["new"] for e in await desk.history(ticket.number) if "new" in e.data]
        assert kinds[-2:] == ["closed", "reopened"]


async def test_link_makes_a_child_of_the_master_and_refuses_what_cannot_be_linked(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        master, _ = await opened(desk, "Не работает почта у всего отдела", MARIA)
        ticket, thread = await opened(desk, "Почта не открывается")
        card = await eventually(lambda: desk.card_of(ticket.number))

        await desk.send(group_message(ANNA, "/link", thread=thread))
        await desk.send(group_message(ANNA, f"/link {ticket.number}", thread=thread))
        await desk.send(group_message(ANNA, "/link 987654", thread=thread))

        def refusals() -> list[str]:
            said = in_topic(fake_api, thread)
            found = [t for t in said if t.startswith(("Так не", "Не получилось"))]
            return found if len(found) == 3 else []

        refused = await eventually(refusals)
        assert "/link <N>" in refused[0]
        assert "itself" in refused[1]
        assert "987654" in refused[2]
        assert (await desk.ticket(ticket.number)).parent_number is None

        await desk.send(group_message(ANNA, f"/link #{master.number}", thread=thread))

        async def child() -> Ticket | None:
            found = await desk.ticket(ticket.number)
            return found if found.parent_number == master.number else None

        linked = await eventually(child)
        assert linked.status is Status.NEW  # linking changes nothing else
        await eventually(
            lambda: f"Связана с #{master.number}" in card_text(fake_api, card.card_message_id)
        )
        master_events = [e.kind for e in await desk.history(master.number)]
        assert "child_linked" in master_events

        # The master cannot then be linked back under its child.
        master_thread = desk.topic_of(master.number)
        await desk.send(group_message(ANNA, f"/link {ticket.number}", thread=master_thread))
        await eventually(
            lambda: any("already refers" in t for t in in_topic(fake_api, master_thread))
        )
        assert (await desk.ticket(master.number)).parent_number is None


async def test_status_change_from_outside_the_group_names_who_made_it(
    settings: Settings, fake_api: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(settings, fake_api.base_url), fake_api) as desk:
        ticket, thread = await opened(desk)
        card = await eventually(lambda: desk.card_of(ticket.number))

        async with desk.okno.db.transaction() as session:  # e.g. through the JSON API
            await desk.okno.tickets.change_status(
                session, ticket.number, Status.IN_PROGRESS, actor="Борис", now=desk.okno.now()
            )

        await eventually(lambda: "🔄 Борис: новая → в работе" in in_topic(fake_api, thread))
        await eventually(
            lambda: "Статус: в работе (Борис) ·" in card_text(fake_api, card.card_message_id)
        )
        async with desk.okno.db.read() as session:
            jobs = (
                await session.scalars(
                    select(TelegramDeskJobRow.data).where(
                        TelegramDeskJobRow.kind == "status_changed"
                    )
                )
            ).all()
        assert [job["actor"] for job in jobs] == ["Борис"]
