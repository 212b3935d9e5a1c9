"""Helpers for the phone tests: signed Mango form bodies and the events of whole calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from channels.phone.signature import mango_sign
from okno.app import Okno
from ticketing.models import (
    CommentRow,
    ContactRow,
    IdentityRow,
    InboundMessageRow,
    OutboxRow,
    TicketEventRow,
    TicketRow,
)
from ticketing.rows_phone import CallEventRow, CallRecordingRow, CallRow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "phone" / "mango-vpbx"
# The made-up key and salt of the signature test vector (sign-test-vector.txt).
KEY = "testkey0123456789"
SALT = "testsalt9876543210"
FORM = "application/x-www-form-urlencoded"

Event = tuple[str, str]  # (kind: call | summary | recording, the json field exactly as sent)


def sample(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def form_body(json_text: str, *, key: str = KEY, salt: str = SALT, sign: str | None = None) -> str:
    signature = mango_sign(key, json_text, salt) if sign is None else sign
    return urlencode({"vpbx_api_key": key, "sign": signature, "json": json_text})


async def post_event(
    client: TestClient[Any, Any], kind: str, json_text: str, **form: Any
) -> ClientResponse:
    return await client.post(
        f"/phone/mango/events/{kind}",
        data=form_body(json_text, **form),
        headers={"Content-Type": FORM},
    )


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


def missed_call(entry: str, number: str, *, at: int = 1_763_800_000) -> list[Event]:
    """A caller rings, waits in the voice menu and a queue, hangs up; nobody answered."""
    ivr, queue = f"{entry}-ivr", f"{entry}-queue"
    caller = {"number": number}
    line = {"number": "74951234567", "line_number": "74951234567"}
    return [
        (
            "call",
            _text(
                {
                    "entry_id": entry,
                    "call_id": ivr,
                    "timestamp": at,
                    "seq": 1,
                    "call_state": "Appeared",
                    "location": "ivr",
                    "from": caller,
                    "to": line,
                }
            ),
        ),
        (
            "call",
            _text(
                {
                    "entry_id": entry,
                    "call_id": ivr,
                    "timestamp": at + 5,
                    "seq": "2",
                    "call_state": "Disconnected",
                    "location": "ivr",
                    "from": caller,
                    "to": line,
                    "disconnect_reason": 1100,
                }
            ),
        ),
        (
            "call",
            _text(
                {
                    "entry_id": entry,
                    "call_id": queue,
                    "timestamp": str(at + 5),
                    "seq": 1,
                    "call_state": "Appeared",
                    "location": "queue",
                    "from": caller,
                    "to": {**line, "acd_group": "300"},
                }
            ),
        ),
        (
            "call",
            _text(
                {
                    "entry_id": entry,
                    "call_id": queue,
                    "timestamp": at + 40,
                    "seq": 2,
                    "call_state": "Disconnected",
                    "location": "queue",
                    "from": caller,
                    "to": line,
                    "disconnect_reason": "1110",
                }
            ),
        ),
        (
            "summary",
            _text(
                {
                    "entry_id": entry,
                    "call_direction": 1,
                    "from": caller,
                    "to": {"extension": "101"},
                    "line_number": "74951234567",
                    "create_time": at,
                    "forward_time": at + 5,
                    "talk_time": 0,
                    "end_time": at + 40,
                    "entry_result": 0,
                    "disconnect_reason": 1110,
                }
            ),
        ),
    ]


def answered_call(
    entry: str, number: str, *, at: int = 1_763_900_000, recording: str | None = None
) -> list[Event]:
    """A caller is answered by extension 102; the conversation is recorded."""
    leg = f"{entry}-abonent"
    caller = {"number": number}
    agent = {"extension": "102", "number": "sip:user2@vpbx.mangosip.ru"}
    events = [
        (
            "call",
            _text(
                {
                    "entry_id": entry,
                    "call_id": leg,
                    "timestamp": at,
                    "seq": 1,
                    "call_state": "Appeared",
                    "location": "abonent",
                    "from": caller,
                    "to": agent,
                }
            ),
        ),
        (
            "call",
            _text(
                {
                    "entry_id": entry,
                    "call_id": leg,
                    "timestamp": at + 3,
                    "seq": 2,
                    "call_state": "Connected",
                    "location": "abonent",
                    "from": caller,
                    "to": agent,
                }
            ),
        ),
        (
            "call",
            _text(
                {
                    "entry_id": entry,
                    "call_id": leg,
                    "timestamp": at + 95,
                    "seq": 3,
                    "call_state": "Disconnected",
                    "location": "abonent",
                    "from": caller,
                    "to": agent,
                    "disconnect_reason": 1100,
                }
            ),
        ),
        (
            "summary",
            _text(
                {
                    "entry_id": entry,
                    "call_direction": "1",
                    "from": caller,
                    "to": agent,
                    "line_number": "74951234567",
                    "create_time": at,
                    "forward_time": at,
                    "talk_time": at + 3,
                    "end_time": at + 95,
                    "entry_result": 1,
                    "disconnect_reason": 1100,
                }
            ),
        ),
    ]
    if recording is not None:
        events += recorded(entry, leg, recording, at=at)
    return events


def recorded(entry: str, leg: str, recording: str, *, at: int) -> list[Event]:
    base = {"recording_id": recording, "entry_id": entry, "call_id": leg, "extension": "102"}
    return [
        (
            "recording",
            _text({**base, "recording_state": "Started", "seq": 1, "timestamp": at + 3}),
        ),
        (
            "recording",
            _text(
                {
                    **base,
                    "recording_state": "Completed",
                    "seq": 2,
                    "timestamp": at + 95,
                    "completion_code": 1000,
                    "recipient": "Cloud",
                }
            ),
        ),
    ]


def outbound_call(
    entry: str, number: str, *, answered: bool, at: int = 1_764_000_000
) -> list[Event]:
    """Extension 103 rings ``number`` (a call-back)."""
    return [
        (
            "summary",
            _text(
                {
                    "entry_id": entry,
                    "call_direction": 2,
                    "from": {"extension": "103", "number": "sip:user3@vpbx.mangosip.ru"},
                    "to": {"number": number},
                    "line_number": "74951234567",
                    "create_time": at,
                    "forward_time": at,
                    "talk_time": at + 10 if answered else 0,
                    "end_time": at + 70,
                    "entry_result": 1 if answered else 0,
                    "disconnect_reason": 1100,
                }
            ),
        ),
    ]


async def counts(okno: Okno) -> dict[str, int]:
    """Rows per table: what "nothing changed" and "exactly one ticket" are checked against."""
    tables = {
        "ticket": TicketRow,
        "comment": CommentRow,
        "ticket_event": TicketEventRow,
        "inbound": InboundMessageRow,
        "contact": ContactRow,
        "identity": IdentityRow,
        "outbox": OutboxRow,
        "call": CallRow,
        "call_event": CallEventRow,
        "recording": CallRecordingRow,
    }
    async with okno.db.read() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(row)) or 0)
            for name, row in tables.items()
        }
