"""Telegram settings: the bot, its agents' group, webhook or polling, limits."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class TelegramSettings(BaseModel):
    enabled: bool = Field(default=False, description="run the Telegram bot")
    token: SecretStr | None = Field(
        default=None, description="bot token from @BotFather (set OKNO_TELEGRAM__TOKEN)"
    )
