"""The agents' commands (SPEC §5) and card buttons, applied through the ticket service.

Every action runs in one transaction with the record of its update, so a redelivered update
(or a double press) changes nothing, and inside :func:`bot.desk_sink.from_desk`, so the group
is not told again what the agent just did there. A refusal comes back as words for the agent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotDeps
from bot.desk_sink import from_desk
from bot.desk_texts import d
from ticketing import telegram_store
from ticketing.domain import Attachment, ChannelKind, Priority, Status, TicketType
from ticketing.lifecycle import InvalidTransitionError
from ticketing.service import NotAllowedError, TicketNotFoundError
from ticketing.telegram_store import Agent

PRIORITIES: dict[str, Priority] = {
    **{p.value: p for p in Priority},
    **dict.fromkeys(("p1", "crit", "крит", "критический", "критичный"), Priority.CRITICAL),
    **dict.fromkeys(("p2", "высокий", "выс"), Priority.HIGH),
    **dict.fromkeys(("p3", "normal", "средний", "сред", "обычный"), Priority.MEDIUM),
    **dict.fromkeys(("p4", "низкий", "низ"), Priority.LOW),
}
TYPES: dict[str, TicketType] = {
    **{t.value: t for t in TicketType},
    **dict.fromkeys(("инцидент", "сбой"), TicketType.INCIDENT),
    **dict.fromkeys(("request", "запрос", "запрос_на_обслуживание"), TicketType.SERVICE_REQUEST),
    **dict.fromkeys(("вопрос", "обращение"), TicketType.QUESTION),
}
KNOWN = frozenset(
    {"take", "assign", "prio", "priority", "wait", "resolve", "close", "reopen", "merge"}
    | {"dup", "duplicate", "link", "type", "service", "note"}
)


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: its name and the rest of the line."""

    name: str
    args: str = ""


_TARGETS = {
    "wait": Status.WAITING,
    "resolve": Status.RESOLVED,
    "close": Status.CLOSED,
    "reopen": Status.REOPENED,
}


def _actor(agent: Agent) -> str:
    """How an agent is named in the history and to the requester: their first name."""
    return agent.first_name or agent.name


def parse_command(text: str, bot_username: str | None) -> Command | None:
    """``/name[@bot] args`` or ``// text`` (a private note); None for anything else, and for
    a command addressed to another bot."""
    text = text.strip()
    if text.startswith("//"):
        return Command("note", text[2:].strip())
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text[1:].replace("\n", " \n", 1).partition(" ")
    name, _, target = head.partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return Command(name.lower(), args.strip())


Action = Callable[[AsyncSession], Awaitable[object]]


class AgentCommands:
    """Applies commands and buttons of one agent to one ticket."""

    def __init__(self, deps: BotDeps) -> None:
        self._deps = deps

    async def apply(self, update_id: int, action: Action) -> Markup | None:
        """Run ``action`` once per update; a refusal becomes a reply."""
        locale = self._deps.settings.agents_locale
        try:
            with from_desk():
                async with self._deps.db.transaction() as session:
                    if await telegram_store.claim_update(session, update_id, self._deps.now()):
                        await action(session)
        except (InvalidTransitionError, NotAllowedError, TicketNotFoundError, ValueError) as exc:
            return d(locale, "reply.refused", reason=str(exc))
        self._deps.wake()
        return None

    def action(self, agent: Agent, number: int, command: Command) -> Action | Markup:
        """The change a command asks for, or words saying why it cannot be done."""
        build = {
            "take": lambda a, n, _c: lambda s: self._take(s, a, n),
            "assign": self._assign,
            "prio": self._priority,
            "priority": self._priority,
            "wait": self._status,
            "resolve": self._status,
            "close": self._status,
            "reopen": self._status,
            "merge": self._refer,
            "dup": self._refer,
            "duplicate": self._refer,
            "link": self._refer,
            "type": self._type,
            "service": self._service,
        }.get(command.name)
        if build is None:
            return d(self._locale, "reply.unknown")
        return build(agent, number, command)

    @property
    def _locale(self) -> str:
        return self._deps.settings.agents_locale

    def _priority(self, agent: Agent, number: int, command: Command) -> Action | Markup:
        priority = PRIORITIES.get(command.args.lower())
        if priority is None:
            allowed = ", ".join(p.value for p in Priority)
            return d(self._locale, "reply.unknown_value", value=command.args, allowed=allowed)
        tickets, now, actor = self._deps.tickets, self._deps.now(), _actor(agent)
        return lambda s: tickets.set_priority(s, number, priority, actor=actor, now=now)

    def _status(self, agent: Agent, number: int, command: Command) -> Action:
        target = _TARGETS[command.name]
        tickets, now, actor = self._deps.tickets, self._deps.now(), _actor(agent)
        comment = command.args or None
        return lambda s: tickets.change_status(
            s, number, target, actor=actor, now=now, comment=comment
        )

    def _refer(self, agent: Agent, number: int, command: Command) -> Action | Markup:
        other = command.args.lstrip("#").split(" ", 1)[0]
        if not other.isdigit():
            return d(self._locale, "reply.usage", usage=f"/{command.name} <N>")
        tickets, now, actor = self._deps.tickets, self._deps.now(), _actor(agent)
        if command.name == "link":
            return lambda s: tickets.link(s, number, parent=int(other), actor=actor, now=now)
        return lambda s: tickets.mark_duplicate(s, number, of=int(other), actor=actor, now=now)

    def _type(self, agent: Agent, number: int, command: Command) -> Action | Markup:
        kind = TYPES.get(command.args.lower().replace(" ", "_"))
        if kind is None:
            allowed = ", ".join(t.value for t in TicketType)
            return d(self._locale, "reply.unknown_value", value=command.args, allowed=allowed)
        tickets, now, actor = self._deps.tickets, self._deps.now(), _actor(agent)
        return lambda s: tickets.set_type(s, number, kind, actor=actor, now=now)

    def _service(self, agent: Agent, number: int, command: Command) -> Action | Markup:
        service = command.args
        if service not in self._deps.services:
            allowed = ", ".join(self._deps.services) or "—"
            return d(self._locale, "reply.unknown_value", value=service, allowed=allowed)
        tickets, now, actor = self._deps.tickets, self._deps.now(), _actor(agent)
        return lambda s: tickets.set_service(s, number, service, actor=actor, now=now)

    async def _take(self, session: AsyncSession, agent: Agent, number: int) -> None:
        actor, now = agent.first_name or agent.name, self._deps.now()
        ticket = await self._deps.tickets.assign(
            session, number, assignee=agent.name, actor=actor, now=now
        )
        if ticket.status in {Status.NEW, Status.REOPENED}:
            await self._deps.tickets.change_status(
                session, number, Status.IN_PROGRESS, actor=actor, now=now
            )

    def _assign(self, agent: Agent, number: int, command: Command) -> Action | Markup:
        locale = self._locale
        wanted = command.args.split(" ", 1)[0].removeprefix("@")
        if not wanted:
            return d(locale, "reply.usage", usage="/assign @user")
        actor, now = agent.first_name or agent.name, self._deps.now()

        async def assign(session: AsyncSession) -> None:
            found = await telegram_store.agent_named(session, wanted)
            if found is None and wanted not in self._deps.members:
                raise ValueError(d(locale, "reply.unknown_agent", name="@" + wanted))
            name = found.name if found is not None else wanted
            await self._deps.tickets.assign(session, number, assignee=name, actor=actor, now=now)

        return assign

    def button(
        self, agent: Agent, number: int, action: str, arg: str, press_id: str
    ) -> Action | Markup:
        """The change a card button asks for (the press id makes a double press count once)."""
        names = {"take": "take", "wait": "wait", "res": "resolve", "p": "prio"}
        if action in names:
            return self.action(agent, number, Command(names[action], arg))
        if action == "cb":
            tickets, now, actor = self._deps.tickets, self._deps.now(), agent.first_name
            give_up = self._deps.callback_attempts
            return lambda s: tickets.record_callback_attempt(
                s,
                number,
                reached=arg == "1",
                actor=actor or agent.name,
                now=now,
                give_up_after=give_up,
                key=press_id,
            )
        return d(self._deps.settings.agents_locale, "reply.unknown")

    def comment(
        self, agent: Agent, number: int, text: str, files: tuple[Attachment, ...], *, public: bool
    ) -> Action:
        """A reply to the requester (public) or a private note, with the agent's files."""
        author = agent.first_name or agent.name

        async def add(session: AsyncSession) -> None:
            await self._deps.tickets.add_agent_comment(
                session,
                number,
                author_name=author,
                text=text,
                public=public,
                now=self._deps.now(),
                channel=ChannelKind.TELEGRAM,
                attachments=files,
            )

        return add
