"""The SLA store reads tickets by position; it must map them as the repository does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from ticketing import sla_store
from ticketing.models import TicketRow
from ticketing.repository import contact_from_row, ticket_from_row

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def full_row() -> dict[str, Any]:
    """A value other than the default in every column the store selects."""
    values: dict[str, Any] = {
        "id": 42,
        "subject": "Не работает 1С",
        "type": "service_request",
        "service": "1c",
        "category": "accounting",
        "tags": ["vip", "1c"],
        "classified": True,
        "impact": 1,
        "urgency": 2,
        "priority": "high",
        "status": "waiting",
        "requester_id": 7,
        "origin_channel": "telegram",
        "reply_channel": "email",
        "reply_address": "maria@example.ru",
        "reply_thread_hint": "<m1@example.ru>",
        "team": "support",
        "assignee": "anna",
        "rating": 4,
        "rating_comment": "спасибо",
        "duplicate_of_id": 40,
        "parent_id": 41,
    }
    for index, name in enumerate(c for c in sla_store._TICKET_COLUMNS if c.endswith("_at")):
        values[name] = T0 + timedelta(hours=index)
    assert set(values) == set(sla_store._TICKET_COLUMNS)  # a new column needs a value here
    return values


def test_ticket_is_mapped_as_the_repository_maps_it_when_every_column_is_set() -> None:
    row = full_row()
    contact = ("Мария", "ru", "Europe/Moscow", "ООО Ромашка", "Финансы", True)
    requester = contact_from_row(
        cast(
            "Any",
            SimpleNamespace(
                id=row["requester_id"],
                **dict(zip(sla_store._CONTACT_COLUMNS, contact, strict=True)),
            ),
        )
    )
    expected = ticket_from_row(cast("TicketRow", SimpleNamespace(**row)), requester)
    assert sla_store._ticket(row, contact) == expected


def test_ticket_has_no_reply_address_when_the_channel_or_address_is_missing() -> None:
    row = full_row() | {"reply_address": None}
    contact = ("Мария", "ru", "Europe/Moscow", None, None, False)
    assert sla_store._ticket(row, contact).reply_to is None
