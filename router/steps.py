"""The router's ordered pipeline (SPEC §4): each step takes a Routing and returns a new one.

Steps never mutate their input; a step that settles the message (ignore it, or append it to an
existing ticket) sets ``decision`` and the pipeline stops there.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage
from router.classify import Classification, Classifier
from router.dedup import find_duplicate
from router.identify import identify_many
from router.priority import PriorityDecision, prioritise
from router.route import choose_team, least_loaded
from router.settings import RouterSettings
from router.text import fingerprint
from router.thread import find_thread, referenced_ticket
from ticketing.domain import Contact, Priority, TicketType
from ticketing.repository import TicketRepository
from ticketing.settings import ServiceSettings, TeamSettings, TicketingSettings

StatusHasher = Callable[[str], str]  # SHA-256 hex of a status token, for lookup


class Decision(enum.StrEnum):
    CREATE = "create"
    APPEND = "append"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True, kw_only=True)
class Routing:
    """Everything the pipeline has learned about one message so far."""

    message: InboundMessage
    inbound_id: int
    now: datetime
    decision: Decision = Decision.CREATE
    reason: str | None = None
    acknowledge: bool = True
    contact: Contact | None = None
    new_contact: bool = False  # created for this message: it cannot have tickets yet
    ticket_number: int | None = None
    related_ticket: int | None = None  # a new ticket links to it (named but not continued)
    fingerprint: frozenset[str] = frozenset()
    classification: Classification | None = None
    priority: PriorityDecision | None = None
    team: str | None = None
    assignee: str | None = None

    @property
    def settled(self) -> bool:
        return self.decision is not Decision.CREATE

    def but(self, **changes: object) -> Routing:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


class Step(Protocol):
    async def __call__(self, routing: Routing, session: AsyncSession) -> Routing:
        """Return the routing with this step's finding added."""
        ...


# Loop guard: our own mail and delivery reports never become tickets; other machine-written mail
# (auto-replies, lists) may, but must never be answered automatically.
NEVER_TICKET = frozenset({"own", "bounce"})


class LoopGuard:
    async def __call__(self, routing: Routing, session: AsyncSession) -> Routing:
        auto = routing.message.auto_generated
        if auto in NEVER_TICKET:
            return routing.but(decision=Decision.IGNORE, reason=f"loop guard: {auto}")
        if auto:
            return routing.but(acknowledge=False, reason=f"auto-generated: {auto}")
        return routing


class Identify:
    def __init__(self, settings: TicketingSettings) -> None:
        self._settings = settings

    async def __call__(self, routing: Routing, session: AsyncSession) -> Routing:
        if routing.contact is not None:  # identified with its whole batch (see prepare_batch)
            return routing
        [routing] = await self.many([routing], session)
        return routing

    async def many(self, routings: Sequence[Routing], session: AsyncSession) -> list[Routing]:
        """Identify the senders of several messages at once, as if one after the other."""
        if not routings:
            return []
        found = await identify_many(
            session,
            [routing.message.sender for routing in routings],
            default_locale=self._settings.default_locale,
            default_timezone=self._settings.default_timezone,
            now=routings[0].now,
        )
        return [
            routing.but(contact=match.contact, new_contact=match.created)
            for routing, match in zip(routings, found, strict=True)
        ]


class Thread:
    """Explicit references win: ticket number, status-page token, replied-to message ids.

    A reference that is not continued (a ticket closed longer than the reopen window, or a
    ``[#N]`` written by somebody who is not its requester) opens a new ticket linked to it.
    """

    def __init__(self, status_hash: StatusHasher, settings: RouterSettings) -> None:
        self._status_hash = status_hash
        self._reopen_within = timedelta(days=settings.reopen_window_days)

    async def __call__(self, routing: Routing, session: AsyncSession) -> Routing:
        assert routing.contact is not None  # noqa: S101 - Identify runs first
        message = routing.message
        number = await find_thread(
            session,
            message,
            routing.contact,
            status_hash=self._status_hash,
            reopen_within=self._reopen_within,
        )
        if number is not None:
            return routing.but(decision=Decision.APPEND, ticket_number=number, reason="thread")
        refs = message.refs
        if refs.ticket_number is None and not refs.message_ids:
            return routing
        return routing.but(related_ticket=await referenced_ticket(session, message))


class Deduplicate:
    """The same requester about the same problem within the window joins the open ticket."""

    def __init__(self, settings: RouterSettings) -> None:
        self._window = timedelta(hours=settings.dedup_window_hours)
        self._threshold = settings.dedup_similarity_threshold

    async def __call__(self, routing: Routing, session: AsyncSession) -> Routing:
        contact = routing.contact
        assert contact is not None  # noqa: S101 - Identify runs first
        message = routing.message
        prints = fingerprint(message.subject, message.text)
        routing = routing.but(fingerprint=prints)
        if self._window <= timedelta(0) or not prints or routing.new_contact:
            return routing
        number = await find_duplicate(
            session,
            requester_id=contact.id,
            prints=prints,
            since=routing.now - self._window,
            threshold=self._threshold,
        )
        if number is None:
            return routing
        return routing.but(decision=Decision.APPEND, ticket_number=number, reason="duplicate")


class Classify:
    def __init__(self, settings: RouterSettings) -> None:
        self._classifier = Classifier(settings.classification_rules)
        self._threshold = settings.classification_threshold

    async def __call__(self, routing: Routing, session: AsyncSession) -> Routing:
        message = routing.message
        found = self._classifier.classify(message.subject, message.text, message.sender.email)
        if found.confidence < self._threshold:
            # Below the threshold nothing is guessed: L1 triages it unclassified.
            found = dataclasses.replace(
                found, type=None, service=None, category=None, rule_id=None
            )
        return routing.but(classification=found)


class Prioritise:
    def __init__(self, settings: RouterSettings) -> None:
        self._settings = settings

    async def __call__(self, routing: Routing, session: AsyncSession) -> Routing:
        message = routing.message
        decision = prioritise(
            subject=message.subject,
            text=message.text,
            impact=None,
            urgency=None,
            service=_service_of(routing),
            vip=bool(routing.contact and routing.contact.vip),
            rules=self._settings.priority_rules,
            matrix=self._settings.priority_matrix,
        )
        return routing.but(priority=decision)


class Route:
    def __init__(
        self,
        settings: RouterSettings,
        services: Sequence[ServiceSettings],
        teams: Sequence[TeamSettings],
    ) -> None:
        self._settings = settings
        self._service_teams = {s.id: s.team for s in services}
        self._members = {t.id: list(t.members) for t in teams}

    async def __call__(self, routing: Routing, session: AsyncSession) -> Routing:
        found = routing.classification
        team = choose_team(
            service=_service_of(routing),
            category=found.category if found else None,
            ticket_type=found.type if found else None,
            rules=self._settings.routing_rules,
            service_teams=self._service_teams,
            default_team=self._settings.default_team,
        )
        members = self._members.get(team or "", [])
        assignee = None
        if members:
            loads = await TicketRepository(session).open_counts(members)
            assignee = least_loaded(members, loads)
        return routing.but(team=team, assignee=assignee)


def _service_of(routing: Routing) -> str | None:
    if routing.message.service:
        return routing.message.service
    return routing.classification.service if routing.classification else None


def ticket_type_of(routing: Routing) -> TicketType:
    found = routing.classification
    return found.type if found and found.type else TicketType.INCIDENT


def priority_of(routing: Routing) -> Priority:
    return routing.priority.priority if routing.priority else Priority.MEDIUM


async def run_pipeline(steps: Sequence[Step], routing: Routing, session: AsyncSession) -> Routing:
    """Run the steps in order until one settles the message."""
    for step in steps:
        if routing.settled:
            break
        routing = await step(routing, session)
    return routing


async def prepare_batch(
    steps: Sequence[Step], routings: Sequence[Routing], session: AsyncSession
) -> tuple[list[Routing], tuple[Step, ...]]:
    """Run the steps up to and including :class:`Identify` for a whole batch at once.

    Returns the routings and the steps still to run for each message, in order, with the
    message's ticket written before the next message goes on (it may join that ticket). The
    steps up to Identify decide on a message and its sender alone, never on what an earlier
    message of the batch wrote, so running them batch-wide changes no answer; it turns one
    identification round trip per message into a few per batch.
    """
    found = [i for i, step in enumerate(steps) if isinstance(step, Identify)]
    if not found:
        return list(routings), tuple(steps)
    head, identify_step, rest = steps[: found[0]], steps[found[0]], tuple(steps[found[0] + 1 :])
    prepared = [await run_pipeline(head, routing, session) for routing in routings]
    assert isinstance(identify_step, Identify)  # noqa: S101 - found by isinstance above
    identified = iter(await identify_step.many([r for r in prepared if not r.settled], session))
    return [r if r.settled else next(identified) for r in prepared], rest
