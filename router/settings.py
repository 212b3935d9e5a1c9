"""Router settings: dedup windows, classification rules, priority matrix, routing."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict, Field, model_validator

from router.classify import ClassificationRule
from router.priority import PriorityMatrix, PriorityRule
from router.route import RoutingRule
from ticketing.domain import Priority


def default_priority_rules() -> list[PriorityRule]:
    """Built-in hints, used while ``router.priority_rules`` is not configured.

    Phrases are matched by stems, so list the forms whose stems differ («срочно» covers
    «срочный», but «весь отдел» and «всего отдела» need both nouns' stems present).
    """
    return [
        PriorityRule(
            id="urgent-words",
            keywords=["срочно", "немедленно", "urgent", "asap", "immediately", "emergency"],
            urgency_bump=1,
        ),
        PriorityRule(
            id="wide-impact",
            keywords=[
                *("весь отдел", "весь офис", "вся команда", "вся компания", "все пользователи"),
                *("whole team", "entire team", "whole department", "whole office", "everyone"),
                "all users",
            ],
            impact_bump=2,
        ),
        PriorityRule(
            id="team-blocked",
            keywords=[
                *("блокирует работу команды", "блокирует работу отдела", "работа встала"),
                *("blocks the team", "blocking the whole team", "production is down"),
            ],
            priority=Priority.CRITICAL,
        ),
        PriorityRule(id="vip-contact", vip=True, urgency_bump=1),
    ]


class RouterSettings(BaseModel):
    """How the router deduplicates, classifies, prioritises and routes new messages."""

    model_config = ConfigDict(extra="forbid")

    dedup_window_hours: float = Field(
        default=24.0, ge=0, description="join a requester's open ticket within N hours; 0: off"
    )
    dedup_similarity_threshold: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="router.text.similarity at or above which two messages are one problem",
    )
    reopen_window_days: float = Field(
        default=14.0,
        ge=0,
        description="a reply this soon after closing reopens the ticket; later: a new one, linked",
    )
    classification_rules: list[ClassificationRule] = Field(
        default_factory=list, description="type/service/category/tag rules, best score wins"
    )
    classification_threshold: float = Field(
        default=0.5, ge=0, le=1, description="below this confidence L1 triages unclassified"
    )
    priority_matrix: PriorityMatrix = Field(
        default_factory=PriorityMatrix,
        description="4×4 priorities; rows impact 1..4, columns urgency 1..4 (1 = highest)",
    )
    priority_rules: list[PriorityRule] = Field(
        default_factory=default_priority_rules,
        description="bump impact/urgency or set priority; [] turns the built-in hints off",
    )
    routing_rules: list[RoutingRule] = Field(
        default_factory=list, description="service/category/type → team; the first match wins"
    )
    default_team: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_\-]{1,100}$",
        description="team for tickets no rule or service routes (typically L1)",
    )

    @model_validator(mode="after")
    def _rule_ids_unique(self) -> RouterSettings:
        for name, ids in (
            ("classification_rules", [rule.id for rule in self.classification_rules]),
            ("priority_rules", [rule.id for rule in self.priority_rules]),
        ):
            repeated = sorted(rule_id for rule_id, n in Counter(ids).items() if n > 1)
            if repeated:
                msg = f"{name}: rule ids must be unique, repeated: {', '.join(repeated)}"
                raise ValueError(msg)
        return self
