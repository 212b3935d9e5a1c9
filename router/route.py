"""Which team gets a ticket, and which of its members."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ticketing.domain import TicketType


class RoutingRule(BaseModel):
    """Send tickets matching every given condition to ``team``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str | None = Field(default=None, description="service catalog id to match")
    category: str | None = Field(default=None, description="category to match")
    type: TicketType | None = Field(default=None, description="ticket type to match")
    team: str = Field(pattern=r"^[a-z0-9_\-]{1,100}$", description="team id to route to")

    @model_validator(mode="after")
    def _has_condition(self) -> RoutingRule:
        if self.service is None and self.category is None and self.type is None:
            msg = f"routing rule to team {self.team!r} needs a service, category or type"
            raise ValueError(msg)
        return self

    def matches(
        self, *, service: str | None, category: str | None, ticket_type: TicketType | None
    ) -> bool:
        """Whether every condition the rule gives equals the ticket's value."""
        return (
            (self.service is None or self.service == service)
            and (self.category is None or self.category == category)
            and (self.type is None or self.type == ticket_type)
        )


def choose_team(
    *,
    service: str | None,
    category: str | None,
    ticket_type: TicketType | None,
    rules: Sequence[RoutingRule],
    service_teams: Mapping[str, str | None],
    default_team: str | None,
) -> str | None:
    """Pick the team for a ticket.

    The first matching rule wins (list specific rules before general ones); otherwise the
    service's own team from the catalog; otherwise ``default_team``.

    Args:
        service: The ticket's service, if known.
        category: The ticket's category, if known.
        ticket_type: The ticket's type, if known.
        rules: Routing rules, in order.
        service_teams: Service id to its default team from the service catalog.
        default_team: The team for everything else (typically L1), or ``None``.

    Returns:
        A team id, or ``None`` when nothing applies and there is no default team.
    """
    for rule in rules:
        if rule.matches(service=service, category=category, ticket_type=ticket_type):
            return rule.team
    if service is not None and service_teams.get(service) is not None:
        return service_teams[service]
    return default_team


def least_loaded(members: Sequence[str], open_counts: Mapping[str, int]) -> str | None:
    """The member with the fewest open tickets; the earliest listed wins a tie.

    Args:
        members: The team's agents, in configured order.
        open_counts: Open tickets per agent; a missing agent has none.

    Returns:
        An agent name, or ``None`` for an empty team.
    """
    return min(members, key=lambda member: open_counts.get(member, 0), default=None)
