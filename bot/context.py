"""What the bot's conversations need, passed in once (aiogram hands it to handlers as ``deps``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.callbacks import CallbackSigner
from channels.base import IntakeSink
from channels.telegram.sender import TelegramSender
from channels.telegram.settings import TelegramSettings
from ticketing.db import Database
from ticketing.files import FileStore
from ticketing.service import TicketService


@dataclass(frozen=True, slots=True, kw_only=True)
class BotDeps:
    """Every collaborator of the bot's handlers and workers.

    Attributes:
        settings: the ``telegram`` settings section.
        db: the ticket database.
        tickets: the only writer of ticket state.
        accept: ``Intake.accept`` — the only way a message comes in.
        files: the content-addressed attachment store.
        sender: Bot API calls with okno's error translation.
        signer: signs and checks callback data.
        now: the clock (aware UTC).
        default_locale: language of a requester who gave none.
        default_timezone: time zone of a requester who gave none.
        services: the service catalog (id → name per locale).
        members: the configured team members (agents by name, besides the Telegram group).
        max_attachments: files per message.
        callback_attempts: unanswered call-backs before the requester is told by other means.
        wake: ask the outbox dispatcher and the desk to look for work now.
        calls_prompted: the phone channel asks for call-backs itself (notice
            ``callback_needed``) when a reply cannot reach a phone requester.
    """

    settings: TelegramSettings
    db: Database
    tickets: TicketService
    accept: IntakeSink
    files: FileStore
    sender: TelegramSender
    signer: CallbackSigner
    now: Callable[[], datetime]
    default_locale: str
    default_timezone: str
    services: Mapping[str, Mapping[str, str]]
    members: frozenset[str]
    max_attachments: int
    callback_attempts: int
    wake: Callable[[], None]
    calls_prompted: bool = False

    @property
    def timezone(self) -> str:
        """Time zone of new Telegram requesters."""
        return self.settings.timezone or self.default_timezone

    @property
    def agents_chat(self) -> int | None:
        """The agents' group, when configured."""
        return self.settings.agents_chat_id
