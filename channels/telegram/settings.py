"""Telegram settings: the bot, its agents' group, webhook or polling, and Telegram's limits.

The token and the webhook secret are ``SecretStr`` and belong in the environment
(``OKNO_TELEGRAM__TOKEN``, ``OKNO_TELEGRAM__WEBHOOK_SECRET``), never in the YAML file.
"""

from __future__ import annotations

import enum
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class TelegramMode(enum.StrEnum):
    """How updates arrive: Telegram calls our webhook, or we long-poll ``getUpdates``."""

    WEBHOOK = "webhook"
    POLLING = "polling"


class TelegramLimits(BaseModel):
    """Telegram's flood limits; the outbound scheduler never goes over them."""

    per_chat_per_second: float = Field(
        default=1.0, gt=0, le=30, description="messages to one chat per second"
    )
    per_group_per_minute: int = Field(
        default=20, ge=1, le=60, description="messages to one group per minute"
    )
    overall_per_second: int = Field(
        default=30, ge=1, le=1000, description="messages per second over all chats"
    )
    margin: float = Field(
        default=0.02,
        ge=0,
        le=0.5,
        description="stretch every window by this fraction, so network jitter never crosses a "
        "limit",
    )
    max_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="longest wait inside one send; beyond it the outbox retries the message later",
    )


class TelegramSettings(BaseModel):
    """The Telegram bot (requesters' private chats) and the agents' supergroup."""

    enabled: bool = Field(default=False, description="run the Telegram bot")
    token: SecretStr | None = Field(
        default=None, description="bot token from @BotFather (set OKNO_TELEGRAM__TOKEN)"
    )
    api_base_url: str = Field(
        default="https://api.telegram.org",
        description="Bot API server (a local telegram-bot-api server or a test double)",
    )
    mode: TelegramMode = Field(
        default=TelegramMode.POLLING, description="webhook (Telegram calls us) or polling"
    )
    webhook_path: str = Field(
        default="/telegram/webhook", pattern=r"^/[A-Za-z0-9_/\-]*$", description="webhook route"
    )
    webhook_url: str | None = Field(
        default=None,
        description="public URL of webhook_path to register with setWebhook at start; unset: "
        "register it yourself",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="X-Telegram-Bot-Api-Secret-Token (set OKNO_TELEGRAM__WEBHOOK_SECRET); "
        "required in webhook mode",
    )
    polling_timeout_seconds: int = Field(
        default=25, ge=0, le=50, description="long-polling wait per getUpdates call"
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, description="time limit of one Bot API call"
    )
    agents_chat_id: int | None = Field(
        default=None, description="the agents' supergroup (negative id); unset: no cards"
    )
    agents_forum: bool | None = Field(
        default=None, description="one topic per ticket; unset: ask Telegram whether it is a forum"
    )
    agents_locale: str = Field(
        default="ru", pattern=r"^(ru|en)$", description="language of the agents' group"
    )
    timezone: str | None = Field(
        default=None,
        description="IANA time zone of new Telegram requesters; unset: ticketing.default_timezone",
    )
    album_wait_seconds: float = Field(
        default=1.0,
        ge=0,
        le=30,
        description="quiet time after the last photo of an album before it becomes one message",
    )
    member_cache_seconds: float = Field(
        default=300.0, ge=0, description="how long an agents' group membership check is trusted"
    )
    desk_poll_seconds: float = Field(
        default=0.5, gt=0, description="how often the agents' desk looks for work"
    )
    desk_max_attempts: int = Field(
        default=10, ge=1, description="tries of one agents' group update before it is dropped"
    )
    limits: TelegramLimits = Field(
        default_factory=TelegramLimits, description="Telegram's flood limits"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown time zone {value!r} (use an IANA name like Europe/Moscow)"
            raise ValueError(msg) from exc
        return value

    @field_validator("api_base_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            msg = "expected an http:// or https:// URL"
            raise ValueError(msg)
        return None if value is None else value.rstrip("/")

    @model_validator(mode="after")
    def _usable_when_enabled(self) -> TelegramSettings:
        if not self.enabled:
            return self
        if self.token is None or not _TOKEN.match(self.token.get_secret_value()):
            msg = "token: set OKNO_TELEGRAM__TOKEN to the token from @BotFather (123456:ABC…)"
            raise ValueError(msg)
        if self.mode is TelegramMode.WEBHOOK and not self.webhook_secret:
            msg = "webhook_secret: webhook mode needs a secret (OKNO_TELEGRAM__WEBHOOK_SECRET)"
            raise ValueError(msg)
        return self
