"""Who may act as an agent: members of the agents' group, checked with ``getChatMember``.

Answers are cached for ``member_cache_seconds`` (a busy group would otherwise ask Telegram on
every message and button). An agent's first accepted action registers them, which gives them
the name tickets are assigned by (their @username).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiogram.types import ChatMemberRestricted, User

from bot.context import BotDeps
from channels.telegram.sender import translated_errors
from ticketing import telegram_store
from ticketing.telegram_store import Agent

_MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})


class Membership:
    """Checks and caches agents' group membership; registers agents on first action."""

    def __init__(self, deps: BotDeps, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._deps = deps
        self._clock = clock
        self._cache: dict[int, tuple[float, Agent | None]] = {}

    async def agent(self, user: User) -> Agent | None:
        """The registered agent behind ``user``, or None when they are not a group member.

        Raises:
            TransientSendError: Telegram could not be asked (the update is handled again).
        """
        chat = self._deps.agents_chat
        if chat is None or user.is_bot:
            return None
        now = self._clock()
        cached = self._cache.get(user.id)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with translated_errors():
            member = await self._deps.sender.bot.get_chat_member(chat, user.id)
        is_member = member.status in _MEMBER_STATUSES or (
            isinstance(member, ChatMemberRestricted) and member.is_member
        )
        agent = None
        if is_member:
            async with self._deps.db.transaction() as session:
                agent = await telegram_store.register_agent(
                    session,
                    user_id=user.id,
                    username=user.username,
                    first_name=user.first_name,
                    now=self._deps.now(),
                )
        self._cache[user.id] = (now + self._deps.settings.member_cache_seconds, agent)
        return agent

    def forget(self, user_id: int) -> None:
        """Drop a cached answer (e.g. the user left the group)."""
        self._cache.pop(user_id, None)
