"""The phone tests run against the suite's okno with the phone channel switched on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from channels.phone.settings import MangoSettings, PhoneSettings
from okno.api.auth import create_token
from okno.app import Okno, build_web_app
from okno.settings import Settings
from tests.phone.mango import KEY, SALT


@pytest.fixture
def settings(settings: Settings) -> Settings:
    phone = PhoneSettings(
        enabled=True,
        mango=MangoSettings(
            enabled=True, vpbx_api_key=SecretStr(KEY), vpbx_api_salt=SecretStr(SALT)
        ),
    )
    return settings.model_copy(update={"phone": phone})


@pytest.fixture
async def client(okno: Okno) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_web_app(okno))) as test_client:
        yield test_client


@pytest.fixture
async def auth(okno: Okno) -> dict[str, str]:
    token = await create_token(okno.db, "pbx", okno.now)
    return {"Authorization": f"Bearer {token}"}
