"""A web form served by aiohttp's test server, with a recording sink as the transport seam."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientResponse, FormData, web
from aiohttp.test_utils import TestClient, TestServer

from channels.base import InboundMessage
from channels.webform.adapter import WebformInbound
from channels.webform.ratelimit import MemoryRateLimiter
from channels.webform.settings import WebformSettings
from ticketing.domain import IntakeOutcome, IntakeResult

SECRET = b"s" * 32
SERVICES = [
    ("email", {"ru": "Электронная почта", "en": "E-mail"}),
    ("vpn", {"ru": "Удалённый доступ (VPN)", "en": "Remote access (VPN)"}),
]
MAX_FILE_BYTES = 1000
MAX_FILES = 2

Client = TestClient[web.Request, web.Application]


class RecordingSink:
    """Records every message and answers like the intake: one ticket per external id."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.outcome = IntakeOutcome.CREATED
        self.error: Exception | None = None
        self._numbers: dict[str, int] = {}

    async def __call__(self, message: InboundMessage) -> IntakeResult:
        if self.error is not None:
            raise self.error
        self.messages.append(message)
        number = self._numbers.setdefault(message.external_id, 4567 + len(self._numbers))
        queued = self.outcome is IntakeOutcome.QUEUED
        return IntakeResult(outcome=self.outcome, ticket_number=None if queued else number)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    monotonic: float = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.monotonic += seconds


@dataclass
class Harness:
    client: Client
    sink: RecordingSink
    clock: Clock


def status_url(token: str) -> str:
    return f"https://desk.example.com/t/{token}"


def token_for(number: int) -> str:
    return f"token{number}abcdefghijklmnop"


def make_adapter(
    settings: WebformSettings, clock: Clock, *, trust_forwarded_for: bool = False
) -> WebformInbound:
    return WebformInbound(
        settings,
        services=SERVICES,
        secret=SECRET,
        max_attachment_bytes=MAX_FILE_BYTES,
        max_attachments=MAX_FILES,
        status_url=status_url,
        status_token_for=token_for,
        rate_limiter=MemoryRateLimiter(clock=lambda: clock.monotonic),
        now=clock,
        trust_forwarded_for=trust_forwarded_for,
    )


@pytest.fixture
def settings() -> WebformSettings:
    return WebformSettings()


@pytest.fixture
def trust_forwarded_for() -> bool:
    return False


@pytest.fixture
async def harness(settings: WebformSettings, trust_forwarded_for: bool) -> AsyncIterator[Harness]:
    clock = Clock()
    sink = RecordingSink()
    app = web.Application()
    app.add_routes(
        make_adapter(settings, clock, trust_forwarded_for=trust_forwarded_for).routes(sink)
    )
    async with TestClient(TestServer(app)) as client:
        yield Harness(client=client, sink=sink, clock=clock)


_HIDDEN = re.compile(r'name="(csrf_token|submission_id)" value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """The form's hidden CSRF token and submission id."""
    return dict(_HIDDEN.findall(html))


async def open_form(client: Client, path: str = "/form") -> dict[str, str]:
    response = await client.get(path)
    assert response.status == 200
    return hidden_fields(await response.text())


def valid_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "name": "Иван Петров",
        "email": "Ivan.Petrov@Example.RU",
        "phone": "",
        "service": "vpn",
        "subject": "Не подключается VPN",
        "description": "С утра не подключается VPN: ошибка 809. Перезагрузка не помогла.",
    }
    fields.update(overrides)
    return fields


async def submit(
    client: Client,
    fields: dict[str, str],
    *,
    hidden: dict[str, str],
    files: Iterable[tuple[str, bytes, str]] = (),
    path: str = "/form",
    headers: dict[str, str] | None = None,
) -> ClientResponse:
    """POST the form as a browser does (multipart, files last)."""
    data = FormData(default_to_multipart=True, quote_fields=False)
    for key, value in {**hidden, **fields}.items():
        data.add_field(key, value)
    for filename, content, content_type in files:
        data.add_field("files", content, filename=filename, content_type=content_type)
    return await client.post(path, data=data, headers=headers)
