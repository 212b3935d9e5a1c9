"""The explicit channel registry and the notify settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from channels.base import Capability, OutboundMessage, SendReceipt
from channels.registry import ChannelRegistry, DuplicateChannelError
from notify.settings import EVENTS, NotifySettings
from ticketing.domain import ChannelKind


class NullChannel:
    def __init__(self, kind: ChannelKind) -> None:
        self.kind = kind
        self.capabilities = Capability.NONE

    async def send(self, message: OutboundMessage) -> SendReceipt:
        return SendReceipt()


def test_registry_returns_each_channel_by_kind_when_registered() -> None:
    telegram, email = NullChannel(ChannelKind.TELEGRAM), NullChannel(ChannelKind.EMAIL)
    registry = ChannelRegistry([telegram])

    registry.register(email)

    assert registry.get(ChannelKind.TELEGRAM) is telegram
    assert registry.get(ChannelKind.EMAIL) is email
    assert registry.get(ChannelKind.PHONE) is None
    assert registry.kinds() == {ChannelKind.TELEGRAM, ChannelKind.EMAIL}


def test_registry_refuses_a_second_channel_when_the_kind_is_taken() -> None:
    registry = ChannelRegistry([NullChannel(ChannelKind.EMAIL)])

    with pytest.raises(DuplicateChannelError, match="email"):
        registry.register(NullChannel(ChannelKind.EMAIL))


def test_every_event_notifies_when_settings_are_default() -> None:
    settings = NotifySettings()

    assert all(settings.is_enabled(event) for event in EVENTS)
    assert (settings.max_attempts, settings.batch_size) == (8, 50)


def test_event_stays_on_when_left_out_of_the_switches() -> None:
    settings = NotifySettings.model_validate({"events": {"status_changed": False}})

    assert not settings.is_enabled("status_changed")
    assert settings.is_enabled("resolved")


def test_settings_name_the_unknown_event_when_a_switch_is_misspelt() -> None:
    with pytest.raises(ValidationError, match="resovled"):
        NotifySettings.model_validate({"events": {"resovled": False}})
