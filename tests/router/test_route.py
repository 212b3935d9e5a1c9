"""Team choice and least-loaded assignment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from router.route import RoutingRule, choose_team, least_loaded
from ticketing.domain import TicketType

RULES = [
    RoutingRule(service="mail", category="spam", team="security"),
    RoutingRule(service="mail", team="messaging"),
    RoutingRule(type=TicketType.QUESTION, team="l1"),
]
SERVICE_TEAMS: dict[str, str | None] = {"printing": "office", "vpn": None}


def team(
    service: str | None = None,
    category: str | None = None,
    ticket_type: TicketType | None = None,
    default_team: str | None = "l1",
) -> str | None:
    return choose_team(
        service=service,
        category=category,
        ticket_type=ticket_type,
        rules=RULES,
        service_teams=SERVICE_TEAMS,
        default_team=default_team,
    )


def test_choose_team_first_matching_rule_wins() -> None:
    assert team("mail", "spam") == "security"
    assert team("mail", "quota") == "messaging"


def test_choose_team_matches_type() -> None:
    assert team("printing", ticket_type=TicketType.QUESTION) == "l1"


def test_choose_team_falls_back_to_service_team_then_default() -> None:
    assert team("printing", ticket_type=TicketType.INCIDENT) == "office"
    assert team("vpn") == "l1"
    assert team("unknown-service") == "l1"
    assert team(None, default_team=None) is None


def test_routing_rule_needs_a_condition() -> None:
    with pytest.raises(ValidationError, match="needs a service, category or type"):
        RoutingRule(team="l1")


def test_least_loaded_picks_fewest_open_tickets_counting_missing_as_zero() -> None:
    assert least_loaded(["anna", "boris", "vera"], {"anna": 3, "boris": 1, "vera": 2}) == "boris"
    assert least_loaded(["anna", "boris"], {"anna": 2}) == "boris"


def test_least_loaded_breaks_ties_by_member_order() -> None:
    assert least_loaded(["vera", "anna"], {"anna": 1, "vera": 1}) == "vera"


def test_least_loaded_is_none_for_empty_team() -> None:
    assert least_loaded([], {"anna": 0}) is None
