"""The outbound channels of one process, registered explicitly by the composition root.

No discovery and no class names in strings: ``okno/app.py`` builds each adapter and registers
it here; notify asks for the channel of a recipient's :class:`ChannelKind`.
"""

from __future__ import annotations

from collections.abc import Iterable

from channels.base import OutboundChannel
from ticketing.domain import ChannelKind

__all__ = ["ChannelRegistry", "DuplicateChannelError"]


class DuplicateChannelError(ValueError):
    """A second outbound channel was registered for the same kind."""


class ChannelRegistry:
    """Maps each :class:`ChannelKind` to at most one :class:`OutboundChannel`."""

    def __init__(self, channels: Iterable[OutboundChannel] = ()) -> None:
        self._channels: dict[ChannelKind, OutboundChannel] = {}
        for channel in channels:
            self.register(channel)

    def register(self, channel: OutboundChannel) -> None:
        """Add ``channel`` under its ``kind``.

        Raises:
            DuplicateChannelError: a channel of that kind is already registered.
        """
        if channel.kind in self._channels:
            msg = f"an outbound channel for {channel.kind.value!r} is already registered"
            raise DuplicateChannelError(msg)
        self._channels[channel.kind] = channel

    def get(self, kind: ChannelKind) -> OutboundChannel | None:
        """The channel for ``kind``, or ``None`` when this process cannot send there."""
        return self._channels.get(kind)

    def kinds(self) -> frozenset[ChannelKind]:
        """Every kind with a registered channel."""
        return frozenset(self._channels)
