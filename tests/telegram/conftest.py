"""The fake Telegram Bot API, started per test, with a forum agents' group that Anna is in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import AGENTS, ANNA


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeTelegramAPI]:
    fake = FakeTelegramAPI()
    await fake.start()
    fake.forums.add(AGENTS)
    fake.add_member(AGENTS, ANNA["id"])
    yield fake
    await fake.close()
