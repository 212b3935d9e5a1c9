"""TelegramOutbound against the fake Bot API: parts, buttons, files, limits and errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence

import pytest

from channels.base import (
    Button,
    OutboundMessage,
    PermanentSendError,
    RateLimitedError,
    ReplyAddress,
    StoredFile,
    TransientSendError,
)
from channels.telegram.adapter import NoHooks, TelegramOutbound
from channels.telegram.sender import BotBlockedError, TelegramSender, ThreadNotFoundError
from channels.telegram.session import build_bot, limiter_for
from channels.telegram.settings import TelegramLimits, TelegramSettings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.harness import AGENTS, TOKEN
from ticketing.domain import ChannelKind

CHAT = 555


class RecordingHooks(NoHooks):
    def __init__(self) -> None:
        self.blocked_keys: list[str] = []
        self.sent_ids: list[int] = []
        self.files: dict[str, bytes] = {}

    async def sent(self, message: OutboundMessage, message_ids: Sequence[int]) -> None:
        self.sent_ids.extend(message_ids)

    async def blocked(self, message: OutboundMessage) -> None:
        self.blocked_keys.append(message.idempotency_key)

    async def read_file(self, file: StoredFile) -> bytes:
        return self.files[file.sha256]


@contextlib.asynccontextmanager
async def sender_for(base_url: str, limits: TelegramLimits) -> AsyncIterator[TelegramSender]:
    settings = TelegramSettings(enabled=True, token=TOKEN, api_base_url=base_url, limits=limits)
    bot = build_bot(settings, limiter_for(settings))
    try:
        yield TelegramSender(bot)
    finally:
        await bot.session.close()


@pytest.fixture
async def sender(fake_api: FakeTelegramAPI) -> AsyncIterator[TelegramSender]:
    """A sender whose own limits do not slow these tests (the limit tests use real ones)."""
    limits = TelegramLimits(per_chat_per_second=20, max_wait_seconds=2.0)
    async with sender_for(fake_api.base_url, limits) as built:
        yield built


def message(text: str = "", html: str | None = None, **extra: object) -> OutboundMessage:
    recipient = ReplyAddress(channel=ChannelKind.TELEGRAM, address=str(CHAT), thread_hint="77")
    return OutboundMessage(
        idempotency_key="acknowledgement:1",
        recipient=recipient,
        text=text,
        html=html,
        ticket_number=1,
        **extra,  # type: ignore[arg-type]
    )


async def test_long_message_goes_in_parts_with_buttons_on_the_last(
    fake_api: FakeTelegramAPI, sender: TelegramSender
) -> None:
    hooks = RecordingHooks()
    outbound = TelegramOutbound(sender, hooks)
    html = "\n".join(f"<b>{n}</b> " + "текст " * 40 for n in range(40))
    link = Button(label="Посмотреть заявку", data="https://okno.example/t/abc")

    receipt = await outbound.send(message(html=html, buttons=(link,)))

    calls = fake_api.sent(CHAT, "sendMessage")
    assert len(calls) == 3
    assert receipt.external_id == f"{CHAT}:{calls[0].result['message_id']}"
    assert "reply_parameters" in calls[0].params
    assert "reply_markup" not in calls[0].params
    assert "Посмотреть заявку" in json.dumps(calls[-1].params["reply_markup"], ensure_ascii=False)
    assert len(hooks.sent_ids) == 3


async def test_plain_text_is_escaped(fake_api: FakeTelegramAPI, sender: TelegramSender) -> None:
    await TelegramOutbound(sender).send(message(text="a < b & <script>"))

    [call] = fake_api.sent(CHAT, "sendMessage")
    assert call.params["text"] == "a &lt; b &amp; &lt;script&gt;"


async def test_html_telegram_cannot_parse_is_sent_as_plain_text(
    fake_api: FakeTelegramAPI, sender: TelegramSender
) -> None:
    await TelegramOutbound(sender).send(message(html="<div>Заявка &amp; ответ</div>"))

    [failed, plain] = fake_api.calls_of("sendMessage")
    assert not failed.ok
    assert plain.ok
    assert plain.params["text"] == "Заявка & ответ"


async def test_retry_after_is_honoured_before_sending_again(
    fake_api: FakeTelegramAPI, sender: TelegramSender
) -> None:
    fake_api.fail(status=429, description="Too Many Requests: retry after 1", retry_after=1)

    await TelegramOutbound(sender).send(message(text="hello"))

    first, second = fake_api.calls_of("sendMessage")
    assert (first.ok, second.ok) == (False, True)
    assert second.at - first.at >= 1.0


async def test_flood_wait_beyond_patience_is_a_transient_error_with_retry_after(
    fake_api: FakeTelegramAPI, sender: TelegramSender
) -> None:
    fake_api.fail(status=429, description="Too Many Requests: retry after 30", retry_after=30)

    with pytest.raises(TransientSendError) as caught:
        await TelegramOutbound(sender).send(message(text="hello"))

    assert caught.value.retry_after == 30
    # A deferral, so the outbox does not count it as a failed attempt.
    assert isinstance(caught.value, RateLimitedError)
    assert fake_api.sent(CHAT) == []


async def test_blocked_bot_is_permanent_and_the_hooks_hear_of_it(
    fake_api: FakeTelegramAPI, sender: TelegramSender
) -> None:
    fake_api.blocked.add(CHAT)
    hooks = RecordingHooks()

    with pytest.raises(BotBlockedError):
        await TelegramOutbound(sender, hooks).send(message(text="hello"))

    assert hooks.blocked_keys == ["acknowledgement:1"]


async def test_not_a_chat_id_is_permanent(sender: TelegramSender) -> None:
    recipient = ReplyAddress(channel=ChannelKind.TELEGRAM, address="agents")
    with pytest.raises(PermanentSendError):
        await TelegramOutbound(sender).send(
            OutboundMessage(idempotency_key="k", recipient=recipient, text="x")
        )


async def test_files_follow_the_text_and_a_retry_skips_what_was_delivered(
    fake_api: FakeTelegramAPI, sender: TelegramSender
) -> None:
    hooks = RecordingHooks()
    hooks.files = {"a" * 64: b"\xff\xd8jpeg", "b" * 64: b"%PDF-1.4"}
    files = (
        StoredFile(sha256="a" * 64, filename="photo.jpg", content_type="image/jpeg", size=6),
        StoredFile(sha256="b" * 64, filename="log.pdf", content_type="application/pdf", size=8),
    )
    outbound = TelegramOutbound(sender, hooks)
    fake_api.fail(status=500, description="Internal Server Error", methods=["sendDocument"])

    with pytest.raises(TransientSendError):
        await outbound.send(message(text="Ответ", files=files))
    await outbound.send(message(text="Ответ", files=files))

    assert [c.method for c in fake_api.sent(CHAT)] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert fake_api.sent(CHAT, "sendDocument")[0].files["document"] == ("log.pdf", b"%PDF-1.4")


async def test_deleted_topic_is_reported_as_thread_not_found(
    fake_api: FakeTelegramAPI, sender: TelegramSender
) -> None:
    thread = await sender.create_topic(AGENTS, "#1 · Принтер")
    fake_api.delete_topic(AGENTS, thread)

    with pytest.raises(ThreadNotFoundError):
        await sender.send_text(AGENTS, "строка", thread_id=thread)


async def test_concurrent_sends_to_one_chat_are_a_second_apart(
    fake_api: FakeTelegramAPI,
) -> None:
    async with sender_for(fake_api.base_url, TelegramLimits()) as sender:
        outbound = TelegramOutbound(sender)
        await asyncio.gather(*(outbound.send(message(text=f"n{n}")) for n in range(3)))

    times = [c.at for c in fake_api.sent(CHAT)]
    assert times[1] - times[0] >= 1.0
    assert times[2] - times[1] >= 1.0
