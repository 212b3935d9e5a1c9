"""SLA scenarios through the pipeline with an injected clock: acknowledgement, waiting over a
weekend and a holiday, reopening, the ladder, automatic resolve and close, priority changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.sla.conftest import MONDAY_9, Desk
from ticketing.domain import ChannelKind, Priority, Status
from ticketing.models import OutboxRow

MOSCOW = ZoneInfo("Europe/Moscow")


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MOSCOW).astimezone(UTC)  # type: ignore[arg-type, misc]


async def change(desk: Desk, number: int, status: Status, comment: str | None = None) -> None:
    async with desk.okno.db.transaction() as session:
        await desk.okno.tickets.change_status(
            session, number, status, actor="anna", now=desk.clock(), comment=comment
        )


async def reply(desk: Desk, number: int, text: str = "Вот ответ") -> None:
    async with desk.okno.db.transaction() as session:
        row = await desk.okno.tickets.load(session, number)
        await desk.okno.tickets.add_requester_message(
            session,
            row,
            text=text,
            author_name="Иван",
            channel=ChannelKind(row.origin_channel),
            now=desk.clock(),
        )


async def test_acknowledgement_names_the_resolution_due_time_when_created(desk: Desk) -> None:
    number = await desk.submit()

    ticket = await desk.ticket(number)
    # Medium: 4 business hours to react, 2 business days (16 h) to resolve, lunch excluded.
    assert ticket.reaction_due_at == msk(2026, 3, 2, 13)
    assert ticket.resolution_due_at == msk(2026, 3, 3, 18)
    async with desk.okno.db.read() as session:
        ack = (await session.scalars(select(OutboxRow))).one()
    assert ack.template == "acknowledgement"
    assert ack.payload["expected_resolution_at"] == ticket.resolution_due_at.isoformat()


async def test_waiting_over_a_weekend_and_a_holiday_pauses_resolution_when_customer_is_slow(
    desk: Desk,
) -> None:
    desk.clock.set(msk(2026, 3, 6, 10))  # Friday; Monday 9 March 2026 is a public holiday
    number = await desk.submit()
    desk.clock.set(msk(2026, 3, 6, 10, 30))
    await change(desk, number, Status.IN_PROGRESS)
    desk.clock.set(msk(2026, 3, 6, 11))
    await change(desk, number, Status.WAITING, comment="Какая модель принтера?")

    waiting = await desk.sla(number)
    assert waiting.first_reaction_business_s == 1800
    assert waiting.resolution_banked_s == 3600
    assert (await desk.ticket(number)).resolution_due_at is None  # paused: no due time
    # "We still need your reply" after 4 business hours: Friday 16:00, not a second earlier.
    assert await desk.at(msk(2026, 3, 6, 15, 59)) == 0
    await desk.at(msk(2026, 3, 6, 16))
    assert (await desk.outbox(number))[-1] == ("still_waiting", "email", "ivanov@example.ru")
    await desk.at(msk(2026, 3, 10, 10))  # the weekend and the holiday: nothing more
    assert [k for k, _ in await desk.events(number)] == ["sla_reminder"]

    desk.clock.set(msk(2026, 3, 10, 12))  # Tuesday: the requester answers
    await reply(desk, number)

    ticket = await desk.ticket(number)
    assert ticket.status is Status.IN_PROGRESS
    # 15 business hours left from Tuesday 12:00: Tue 5 h, Wed 8 h, Thu 2 h.
    assert ticket.resolution_due_at == msk(2026, 3, 12, 11)
    # Auto-resolve (2 business days of waiting) would have been Wednesday 11:00; it is gone.
    await desk.at(msk(2026, 3, 11, 12))
    assert (await desk.ticket(number)).status is Status.IN_PROGRESS
    assert (await desk.outbox(number)).count(("still_waiting", "email", "ivanov@example.ru")) == 1


async def test_reopen_after_resolve_resumes_the_clock_with_the_time_used_when_not_solved(
    desk: Desk,
) -> None:
    number = await desk.submit()
    desk.clock.set(msk(2026, 3, 2, 10))
    await change(desk, number, Status.IN_PROGRESS)
    desk.clock.set(msk(2026, 3, 2, 11))
    await change(desk, number, Status.RESOLVED, comment="Заменили картридж")

    resolved = await desk.sla(number)
    assert resolved.resolution_business_s == 7200
    assert resolved.resolution_due_at == msk(2026, 3, 3, 18)  # kept for reports
    # The rating request 2 business hours after resolution, through the requester's channel.
    await desk.at(msk(2026, 3, 2, 13))
    assert (await desk.outbox(number))[-1][0] == "rating_request"

    desk.clock.set(msk(2026, 3, 2, 15))
    async with desk.okno.db.transaction() as session:
        await desk.okno.tickets.requester_decision(
            session, number, solved=False, actor="Иван", now=desk.clock()
        )

    ticket = await desk.ticket(number)
    assert ticket.status is Status.REOPENED
    # 14 h left from Monday 15:00: Mon 3 h, Tue 8 h, Wed 3 h → Wednesday 12:00.
    assert ticket.resolution_due_at == msk(2026, 3, 4, 12)
    # The auto-close of the resolved period (1 business day) does not fire any more.
    await desk.at(msk(2026, 3, 3, 16))
    assert (await desk.ticket(number)).status is Status.REOPENED


async def test_ladder_warns_breaches_and_escalates_once_each_when_time_passes(
    desk: Desk,
) -> None:
    number = await desk.submit()

    await desk.at(msk(2026, 3, 2, 12))  # 3 of 4 reaction hours: 75 %
    await desk.at(msk(2026, 3, 2, 12, 30))
    await desk.at(msk(2026, 3, 2, 15))  # 13:00 due (lunch does not count) → 100 %
    events = await desk.events(number)
    assert [(kind, data["clock"], data["percent"]) for kind, data in events] == [
        ("sla_warning", "reaction", 75),
        ("sla_breach", "reaction", 100),
    ]
    assert events[1][1]["supervisors"] == ["olga"]
    assert (await desk.sla(number)).reaction_breached
    assert not (await desk.sla(number)).resolution_breached


async def test_only_the_highest_step_fires_when_the_escalator_was_away(desk: Desk) -> None:
    number = await desk.submit()

    await desk.at(msk(2026, 3, 3, 10))  # 9 business hours: reaction at 225 %

    events = await desk.events(number)
    assert [(kind, data["percent"]) for kind, data in events] == [("sla_breach", 150)]
    assert (await desk.sla(number)).reaction_breached


async def test_first_reaction_stops_the_reaction_clock_when_agent_replies(desk: Desk) -> None:
    number = await desk.submit()
    desk.clock.set(msk(2026, 3, 2, 9, 20))
    async with desk.okno.db.transaction() as session:
        await desk.okno.tickets.add_agent_comment(
            session, number, author_name="anna", text="Смотрю", public=True, now=desk.clock()
        )

    state = await desk.sla(number)
    assert state.first_reaction_business_s == 1200
    await desk.at(msk(2026, 3, 2, 17))
    assert all(data["clock"] == "resolution" for _, data in await desk.events(number))


async def test_priority_change_recomputes_the_due_times_when_raised(desk: Desk) -> None:
    number = await desk.submit()
    desk.clock.set(msk(2026, 3, 2, 10))
    async with desk.okno.db.transaction() as session:
        await desk.okno.tickets.set_priority(
            session, number, Priority.CRITICAL, actor="anna", now=desk.clock()
        )

    ticket = await desk.ticket(number)
    # Critical: 15 minutes to react, 4 hours to resolve, counted from registration.
    assert ticket.reaction_due_at == msk(2026, 3, 2, 9, 15)
    assert ticket.resolution_due_at == msk(2026, 3, 2, 13)
    # Already late: the breach fires on the next tick.
    await desk.at(msk(2026, 3, 2, 10, 0, 1))
    assert [(k, d["percent"]) for k, d in await desk.events(number)] == [("sla_breach", 150)]


async def test_waiting_too_long_resolves_and_then_closes_when_nobody_answers(desk: Desk) -> None:
    number = await desk.submit()
    desk.clock.set(msk(2026, 3, 2, 10))
    await change(desk, number, Status.WAITING, comment="Пришлите фото")

    await desk.at(msk(2026, 3, 4, 10))  # 2 business days of waiting

    ticket = await desk.ticket(number)
    assert ticket.status is Status.RESOLVED
    kinds = [k for k, _ in await desk.events(number, prefix="")]
    assert "sla_auto_resolve" in kinds
    assert [t for t, _, _ in await desk.outbox(number)][-1] == "resolved"
    # One business day later it closes (the rating request was superseded on the way).
    await desk.at(msk(2026, 3, 5, 10))
    assert (await desk.ticket(number)).status is Status.CLOSED
    assert "rating_request" not in [t for t, _, _ in await desk.outbox(number)]


async def test_rating_request_is_skipped_when_already_rated(desk: Desk) -> None:
    number = await desk.submit()
    desk.clock.set(MONDAY_9 + timedelta(minutes=30))
    await change(desk, number, Status.RESOLVED)
    async with desk.okno.db.transaction() as session:
        await desk.okno.tickets.rate(
            session, number, rating=5, comment=None, actor="Иван", now=desk.clock()
        )

    await desk.at(msk(2026, 3, 2, 14))

    assert "rating_request" not in [t for t, _, _ in await desk.outbox(number)]


async def test_view_shows_business_time_left_and_breach_flags_when_asked(desk: Desk) -> None:
    from sla.policy import SlaPolicy
    from sla.view import sla_views

    number = await desk.submit()
    policy = SlaPolicy(desk.okno.settings.sla)
    desk.clock.set(msk(2026, 3, 2, 14, 30))  # 4 business hours used (lunch excluded) + 30 min

    async with desk.okno.db.read() as session:
        view = (await sla_views(session, policy, [number], desk.clock()))[number]

    assert view.reaction_remaining_s == -1800  # half an hour overdue
    assert view.reaction_breached
    assert view.resolution_remaining_s == (16 - 4.5) * 3600
    assert not view.resolution_breached
    assert view.resolution_due_at == msk(2026, 3, 3, 18)
