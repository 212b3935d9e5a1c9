"""Mango webhooks over HTTP: call-back tickets, order and redelivery, signatures, hostile input."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from okno.app import Okno
from tests.phone.mango import (
    FORM,
    KEY,
    SALT,
    Event,
    answered_call,
    counts,
    form_body,
    missed_call,
    outbound_call,
    post_event,
    sample,
)
from ticketing.domain import ChannelKind, Status
from ticketing.models import CommentRow, TicketEventRow
from ticketing.repository import TicketRepository
from ticketing.rows_phone import CallRow

Client = TestClient[Any, Any]


async def deliver(client: Client, events: list[Event]) -> list[dict[str, Any]]:
    answers = []
    for kind, text in events:
        response = await post_event(client, kind, text)
        assert response.status == 200, await response.text()
        answers.append(await response.json())
    return answers


async def event_kinds(okno: Okno, number: int) -> list[str]:
    async with okno.db.read() as session:
        rows = await session.scalars(
            select(TicketEventRow.kind)
            .where(TicketEventRow.ticket_id == number)
            .order_by(TicketEventRow.id)
        )
        return list(rows)


async def comments(okno: Okno, number: int) -> list[tuple[str, bool, str]]:
    async with okno.db.read() as session:
        rows = await session.scalars(
            select(CommentRow).where(CommentRow.ticket_id == number).order_by(CommentRow.id)
        )
        return [(c.author_kind, c.public, c.body) for c in rows]


async def test_signed_test_vector_opens_one_call_back_ticket(client: Client, okno: Okno) -> None:
    lines = sample("sign-test-vector.txt").splitlines()
    body = lines[lines.index("form body:") + 1]  # byte for byte as in the vector
    response = await client.post(
        "/phone/mango/events/summary", data=body, headers={"Content-Type": FORM}
    )
    assert response.status == 200
    answer = await response.json()
    assert answer["outcome"] == "created"
    async with okno.db.read() as session:
        ticket = await TicketRepository(session).get(answer["ticket_number"])
    assert ticket is not None
    assert ticket.subject == "Пропущенный звонок от +7 900 000-00-00"
    assert ticket.origin_channel is ChannelKind.PHONE
    assert ticket.reply_to is not None
    assert (ticket.reply_to.channel, ticket.reply_to.address) == (
        ChannelKind.PHONE,
        "+79000000000",
    )
    assert ticket.status is Status.NEW
    assert await event_kinds(okno, ticket.number) == ["created", "callback_needed"]
    again = await client.post(
        "/phone/mango/events/summary", data=body, headers={"Content-Type": FORM}
    )
    assert (await again.json())["ticket_number"] == ticket.number
    assert (await counts(okno))["ticket"] == 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_events_in_any_order_delivered_twice_make_exactly_one_ticket(
    client: Client, okno: Okno, seed: int
) -> None:
    events = missed_call("entry-a", "79121234567") * 2
    random.Random(seed).shuffle(events)
    answers = await deliver(client, events)
    numbers = {a["ticket_number"] for a in answers if a["ticket_number"] is not None}
    assert len(numbers) == 1
    (number,) = numbers
    after = await counts(okno)
    assert (after["ticket"], after["call"], after["call_event"], after["inbound"]) == (1, 1, 5, 1)
    assert await event_kinds(okno, number) == ["created", "callback_needed"]
    [(author, public, text)] = await comments(okno, number)
    assert (author, public) == ("requester", True)
    assert text.startswith("Входящий звонок от +7 912 123-45-67 — пропущен")
    async with okno.db.read() as session:
        call = (await session.scalars(select(CallRow))).one()
    assert (call.state, call.outcome, call.ticket_id) == ("linked", "created", number)


async def test_concurrent_redeliveries_make_exactly_one_ticket(client: Client, okno: Okno) -> None:
    events = missed_call("entry-b", "+7 912 123 45 67") * 3
    random.Random(7).shuffle(events)
    responses = await asyncio.gather(*(post_event(client, k, t) for k, t in events))
    assert {r.status for r in responses} == {200}
    after = await counts(okno)
    assert (after["ticket"], after["call"], after["call_event"]) == (1, 1, 5)


async def test_second_missed_call_from_the_same_number_is_logged_on_the_first_ticket(
    client: Client, okno: Okno
) -> None:
    first = await deliver(client, missed_call("entry-1", "79121234567"))
    second = await deliver(client, missed_call("entry-2", "8 (912) 123-45-67", at=1_763_803_600))
    number = first[-1]["ticket_number"]
    assert first[-1]["outcome"] == "created"
    assert (second[-1]["outcome"], second[-1]["ticket_number"]) == ("logged", number)
    assert (await counts(okno))["ticket"] == 1
    assert await event_kinds(okno, number) == [
        "created",
        "callback_needed",
        "call_logged",
        "callback_needed",
    ]
    note = (await comments(okno, number))[-1]
    assert note[:2] == ("system", False)
    assert note[2].startswith("Входящий звонок от +7 912 123-45-67 — пропущен")


async def test_two_calls_from_one_number_at_once_make_one_ticket(
    client: Client, okno: Okno
) -> None:
    a = missed_call("entry-x", "79121234567")
    b = missed_call("entry-y", "+79121234567", at=1_763_800_100)
    await deliver(client, a[:-1] + b[:-1])
    summaries = await asyncio.gather(post_event(client, *a[-1]), post_event(client, *b[-1]))
    answers = [await r.json() for r in summaries]
    # One opened the ticket; the other is logged on it (maybe still "queued" while it is made).
    assert sorted(a["outcome"] for a in answers) in (["created", "logged"], ["created", "queued"])
    for _ in range(100):
        async with okno.db.read() as session:
            states = set(await session.scalars(select(CallRow.state)))
        if states == {"linked"}:
            break
        await asyncio.sleep(0.05)
    assert states == {"linked"}
    after = await counts(okno)
    assert after["ticket"] == 1
    number = next(a["ticket_number"] for a in answers if a["outcome"] == "created")
    assert (await event_kinds(okno, number)).count("call_logged") == 1


async def test_answered_call_is_logged_on_the_open_ticket_with_its_recording_once(
    client: Client, okno: Okno
) -> None:
    created = await deliver(client, missed_call("entry-m", "79121234567"))
    number = created[-1]["ticket_number"]
    events = answered_call("entry-n", "79121234567", recording="rec:1/ab=") * 2
    random.Random(3).shuffle(events)
    answers = await deliver(client, events)
    assert {a["outcome"] for a in answers} <= {"stored", "logged"}
    notes = [body for _, _, body in (await comments(okno, number))[1:]]
    assert len(notes) == 2
    assert any(
        n.startswith("Входящий звонок от +7 912 123-45-67 — разговор 1 мин 32 с") for n in notes
    )
    assert (
        "Запись разговора: https://app.mango-office.ru/vpbx/queries/recording/issa/"
        "rec%3A1%2Fab%3D/play"
    ) in notes
    kinds = await event_kinds(okno, number)
    # The answered call reached the requester: the pending call-back is done.
    assert kinds.count("callback_attempt") == 1
    async with okno.db.read() as session:
        pending = await okno.tickets.callback_status(session, number)
    assert pending == (False, 0)


async def test_answered_call_with_no_open_ticket_is_only_recorded(
    client: Client, okno: Okno
) -> None:
    answers = await deliver(client, answered_call("entry-q", "79121234567"))
    assert answers[-1] == {
        "outcome": "ignored",
        "ticket_number": None,
        "reason": "answered; the caller has no open ticket",
    }
    assert (await counts(okno))["ticket"] == 0


async def test_outbound_calls_are_logged_on_the_callees_ticket_as_call_back_attempts(
    client: Client, okno: Okno
) -> None:
    created = await deliver(client, missed_call("entry-o", "79121234567"))
    number = created[-1]["ticket_number"]
    for index in range(2):
        [answer] = await deliver(
            client, outbound_call(f"out-{index}", "+79121234567", answered=False)
        )
        assert (answer["outcome"], answer["ticket_number"]) == ("logged", number)
    async with okno.db.read() as session:
        assert await okno.tickets.callback_status(session, number) == (True, 2)
    await deliver(client, outbound_call("out-ok", "89121234567", answered=True))
    async with okno.db.read() as session:
        assert await okno.tickets.callback_status(session, number) == (False, 0)
    notes = [body for _, _, body in (await comments(okno, number))[1:]]
    assert notes[0].startswith("Исходящий звонок на +7 912 123-45-67 — не дозвонились")
    assert notes[-1].startswith("Исходящий звонок на +7 912 123-45-67 — разговор 1 мин 0 с")


async def test_outbound_call_to_someone_without_an_open_ticket_is_only_recorded(
    client: Client, okno: Okno
) -> None:
    [answer] = await deliver(client, outbound_call("out-x", "79121234567", answered=True))
    assert answer["outcome"] == "ignored"
    assert (await counts(okno))["ticket"] == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"call_direction": 0}, "internal call"),
        ({"from": {"number": "anonymous"}}, "no callable number"),
        ({"from": {"number": "sip:user@vpbx.mangosip.ru"}}, "no callable number"),
        ({"from": {}}, "no callable number"),
    ],
)
async def test_internal_and_unnumbered_calls_are_only_recorded(
    client: Client, okno: Okno, change: dict[str, Any], reason: str
) -> None:
    summary = json.loads(missed_call("entry-i", "79121234567")[-1][1])
    response = await post_event(client, "summary", json.dumps({**summary, **change}))
    assert await response.json() == {"outcome": "ignored", "ticket_number": None, "reason": reason}
    assert (await counts(okno))["ticket"] == 0


async def test_event_kinds_okno_does_not_use_are_acknowledged_only_when_signed(
    client: Client, okno: Okno
) -> None:
    dtmf = sample("doc-3.1.5-dtmf.json")
    ok = await post_event(client, "dtmf", dtmf)
    assert (ok.status, (await ok.json())["outcome"]) == (200, "ignored")
    bad = await post_event(client, "record/added", dtmf, salt="wrong")
    assert bad.status == 403
    assert (await counts(okno))["call_event"] == 0


@pytest.mark.parametrize("kind", ["call", "summary", "recording"])
@pytest.mark.parametrize(
    "form",
    [
        {"key": "wrongkey"},  # another VPBX, signing with its own key and our salt
        {"salt": "wrongsalt"},
        {"sign": "0" * 64},
        {"sign": ""},
    ],
)
async def test_wrong_key_or_signature_is_403_and_changes_nothing(
    client: Client, okno: Okno, kind: str, form: dict[str, str]
) -> None:
    before = await counts(okno)
    event = (
        dict(missed_call("entry-s", "79121234567"))[kind]
        if kind != "recording"
        else (answered_call("entry-s", "79121234567", recording="r-1")[-1][1])
    )
    response = await post_event(client, kind, event, **form)
    assert response.status == 403
    assert (await response.json())["error"] == "wrong vpbx_api_key or sign"
    assert await counts(okno) == before


def _signed(json_text: str) -> str:
    return form_body(json_text, key=KEY, salt=SALT)


SUMMARY = missed_call("entry-h", "79121234567")[-1][1]


def _summary_with(**changes: Any) -> str:
    return _signed(json.dumps({**json.loads(SUMMARY), **changes}))


HOSTILE: list[tuple[str, bytes | str, str, int]] = [
    ("huge body", _signed(SUMMARY + " " * 70_000), FORM, 413),
    ("JSON instead of a form", SUMMARY, "application/json", 415),
    ("no content type", _signed(SUMMARY), "text/plain", 415),
    ("non-UTF-8 bytes", b"vpbx_api_key=\xff\xfe&sign=1&json=2", FORM, 400),
    ("non-UTF-8 percent-escapes", "vpbx_api_key=k&sign=%ff%fe&json=%c3%28", FORM, 400),
    ("missing json", f"vpbx_api_key={KEY}&sign=abc", FORM, 400),
    ("json twice", _signed(SUMMARY) + "&json=%7B%7D", FORM, 400),
    ("too many fields", "&".join(f"f{i}=1" for i in range(50)), FORM, 400),
    ("empty body", "", FORM, 400),
    ("signed garbage", _signed("not json at all"), FORM, 400),
    ("signed array", _signed("[1, 2, 3]"), FORM, 400),
    ("signed deep nesting", _signed('{"a":' * 1500 + "1" + "}" * 1500), FORM, 400),
    ("signed giant integer", _signed('{"entry_id": ' + "9" * 5000 + "}"), FORM, 400),
    ("signed unpaired surrogate", _signed('{"entry_id": "e", "note": ["\\ud800"]}'), FORM, 400),
    ("signed NUL character", _signed('{"entry_id": "e", "x": {"\\u0000": 1}}'), FORM, 400),
    ("signed empty object", _signed("{}"), FORM, 422),
    ("signed wrong types", _summary_with(create_time=[1]), FORM, 422),
    ("signed boolean direction", _summary_with(call_direction=True), FORM, 422),
    ("signed year 9999", _summary_with(end_time=253402300799), FORM, 422),
    ("signed negative time", _summary_with(create_time=-1), FORM, 422),
    ("signed object for a number", _summary_with(**{"from": {"number": {"$gt": ""}}}), FORM, 422),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [case[1:] for case in HOSTILE],
    ids=[case[0] for case in HOSTILE],
)
async def test_malformed_and_hostile_payloads_are_4xx_and_change_nothing(
    client: Client, okno: Okno, body: bytes | str, content_type: str, status: int
) -> None:
    before = await counts(okno)
    response = await client.post(
        "/phone/mango/events/summary", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == status, await response.text()
    assert "error" in await response.json()
    assert await counts(okno) == before


async def test_a_wrong_type_names_the_field(client: Client) -> None:
    summary = {**json.loads(SUMMARY), "talk_time": "soon"}
    response = await post_event(client, "summary", json.dumps(summary))
    assert response.status == 422
    assert set((await response.json())["fields"]) == {"talk_time"}


async def test_a_storm_of_calls_from_few_numbers_makes_one_ticket_per_number(
    client: Client, okno: Okno
) -> None:
    numbers = ["79121234567", "79037654321", "74951112233"]
    events: list[Event] = []
    for index in range(9):
        events += missed_call(f"storm-{index}", numbers[index % 3], at=1_763_800_000 + index)
    events *= 2
    random.Random(99).shuffle(events)
    semaphore = asyncio.Semaphore(12)

    async def send(event: Event) -> int:
        async with semaphore:
            return (await post_event(client, *event)).status

    assert set(await asyncio.gather(*(send(e) for e in events))) == {200}
    for _ in range(200):
        async with okno.db.read() as session:
            states = set(await session.scalars(select(CallRow.state)))
        if states == {"linked"}:
            break
        await asyncio.sleep(0.05)
    assert states == {"linked"}
    after = await counts(okno)
    assert (after["ticket"], after["call"], after["call_event"]) == (3, 9, 45)
    async with okno.db.read() as session:
        per_ticket = list(
            await session.scalars(
                select(func.count())
                .select_from(TicketEventRow)
                .where(TicketEventRow.kind == "callback_needed")
                .group_by(TicketEventRow.ticket_id)
            )
        )
    assert sorted(per_ticket) == [3, 3, 3]  # every missed call asked for a call-back


async def _chunks(total: int) -> Any:
    for _ in range(total // 8192):
        yield b"j" * 8192


# What no endpoint may take from anyone, signed or not (the summary's field checks are above).
TRANSPORT = [case for case in HOSTILE if case[3] in {400, 413, 415}]


@pytest.mark.parametrize("kind", ["call", "recording", "summary"])
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [case[1:] for case in TRANSPORT],
    ids=[case[0] for case in TRANSPORT],
)
async def test_every_event_kind_refuses_hostile_bodies_and_changes_nothing(
    client: Client, okno: Okno, kind: str, body: bytes | str, content_type: str, status: int
) -> None:
    before = await counts(okno)
    response = await client.post(
        f"/phone/mango/events/{kind}", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == status, await response.text()
    assert "error" in await response.json()
    assert await counts(okno) == before


async def test_a_huge_body_without_a_length_is_cut_off_at_the_limit(
    client: Client, okno: Okno
) -> None:
    before = await counts(okno)
    # Chunked, so the size is only known by reading: the limit must hold while streaming.
    response = await client.post(
        "/phone/mango/events/summary",
        data=_chunks(8 * 1024 * 1024),
        headers={"Content-Type": FORM},
    )
    assert response.status == 413
    assert "error" in await response.json()
    assert await counts(okno) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"entry_id": None},
        {"entry_id": {"$ne": ""}},
        {"call_direction": "in"},
        {"from": "79121234567"},
        {"to": []},
        {"create_time": "tomorrow"},
    ],
)
async def test_signed_summaries_with_wrong_types_are_422_and_change_nothing(
    client: Client, okno: Okno, changes: dict[str, Any]
) -> None:
    before = await counts(okno)
    response = await client.post(
        "/phone/mango/events/summary",
        data=_summary_with(**changes),
        headers={"Content-Type": FORM},
    )
    assert response.status == 422, await response.text()
    assert set((await response.json())["fields"]) & set(changes)
    assert await counts(okno) == before
