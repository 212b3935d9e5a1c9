"""The signed double-submit CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import make_mocked_request

from channels.webform.csrf import COOKIE_NAME, CsrfGuard

NONCE = "n" * 43


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_token_is_valid_for_its_cookie_until_max_age() -> None:
    clock = Clock()
    guard = CsrfGuard(b"k" * 32, max_age=600, now=clock)
    token = guard.token_for(NONCE)
    request = make_mocked_request("POST", "/", headers={"Cookie": f"{COOKIE_NAME}={NONCE}"})

    assert guard.check(request, token)
    clock.now += timedelta(seconds=600)
    assert guard.check(request, token)
    clock.now += timedelta(seconds=1)
    assert not guard.check(request, token)


@pytest.mark.parametrize(
    ("cookie", "mangle"),
    [
        (None, lambda t: t),
        ("m" * 43, lambda t: t),
        ("short", lambda t: t),
        (NONCE, lambda t: t[:-1] + ("A" if t[-1] != "A" else "B")),
        (NONCE, lambda t: str(int(t.split(".")[0]) + 1) + "." + t.split(".")[1]),
        (NONCE, lambda t: "x" + t),
        (NONCE, lambda _: ""),
        (NONCE, lambda t: t + "ё"),
    ],
)
def test_token_is_refused_when_forged(cookie: str | None, mangle: Callable[[str], str]) -> None:
    guard = CsrfGuard(b"k" * 32, max_age=600, now=Clock())
    token = mangle(guard.token_for(NONCE))
    headers = {"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}

    assert not guard.check(make_mocked_request("POST", "/", headers=headers), token)


def test_token_signed_with_another_secret_is_refused() -> None:
    clock = Clock()
    ours = CsrfGuard(b"k" * 32, max_age=600, now=clock)
    theirs = CsrfGuard(b"z" * 32, max_age=600, now=clock)
    request = make_mocked_request("POST", "/", headers={"Cookie": f"{COOKIE_NAME}={NONCE}"})

    assert not ours.check(request, theirs.token_for(NONCE))


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        CsrfGuard(b"short", max_age=600, now=Clock())
