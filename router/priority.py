"""Priority from an impact × urgency matrix, adjusted by configured rules.

Impact and urgency run from 1 (highest) to 4 (lowest); both default to 3, which the default
matrix maps to medium. A matching rule either bumps impact or urgency towards 1 or sets the
priority outright. Bumps from several rules do not add up: per axis the largest applies, so
«срочно» and "urgent" in one message count once. A priority set by a rule overrides the
matrix, in both directions; of several, the most urgent wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import (
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from router.rules import TextRule
from router.text import stems
from ticketing.domain import Priority

LEVELS = 4
DEFAULT_LEVEL = 3
_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}
_C, _H, _M, _L = Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW
# Rows are impact 1..4, columns urgency 1..4: the ITIL "impact + urgency" grid over 4 levels.
ITIL_MATRIX: tuple[tuple[Priority, ...], ...] = (
    (_C, _H, _H, _M),
    (_H, _H, _M, _M),
    (_H, _M, _M, _L),
    (_M, _M, _L, _L),
)


class PriorityMatrix(RootModel[tuple[tuple[Priority, ...], ...]]):
    """Four rows (impact 1..4) of four priorities (urgency 1..4)."""

    model_config = ConfigDict(frozen=True)

    root: tuple[tuple[Priority, ...], ...] = Field(
        default=ITIL_MATRIX, description="rows: impact 1..4; columns: urgency 1..4"
    )

    @field_validator("root")
    @classmethod
    def _four_by_four(
        cls, rows: tuple[tuple[Priority, ...], ...]
    ) -> tuple[tuple[Priority, ...], ...]:
        if len(rows) != LEVELS:
            msg = f"the matrix needs {LEVELS} rows (impact 1..{LEVELS}), got {len(rows)}"
            raise ValueError(msg)
        for index, row in enumerate(rows):
            if len(row) != LEVELS:
                msg = f"row {index} (impact {index + 1}) needs {LEVELS} priorities, got {len(row)}"
                raise ValueError(msg)
        return rows

    def lookup(self, impact: int, urgency: int) -> Priority:
        """The priority for impact and urgency, each 1 (highest) to 4 (lowest)."""
        return self.root[impact - 1][urgency - 1]


class PriorityRule(TextRule):
    """When the text, the contact or the service match, bump impact/urgency or set priority.

    The text matches when any keyword (by stems) or any regex does. Every condition given
    must hold: a rule with keywords and ``vip: true`` needs both.
    """

    vip: bool | None = Field(default=None, description="match only (non-)VIP requesters")
    services: list[str] = Field(default_factory=list, description="match only these services")
    priority: Priority | None = Field(default=None, description="set the priority outright")
    impact_bump: int = Field(default=0, ge=0, le=LEVELS - 1, description="raise impact by N")
    urgency_bump: int = Field(default=0, ge=0, le=LEVELS - 1, description="raise urgency by N")

    @model_validator(mode="after")
    def _has_condition_and_effect(self) -> PriorityRule:
        if not (self.keywords or self.regexes or self.services) and self.vip is None:
            msg = f"rule {self.id!r} needs keywords, regexes, vip or services"
            raise ValueError(msg)
        if self.priority is None and not (self.impact_bump or self.urgency_bump):
            msg = f"rule {self.id!r} does nothing: give priority, impact_bump or urgency_bump"
            raise ValueError(msg)
        return self

    def matches(self, *, raw: str, found: frozenset[str], service: str | None, vip: bool) -> bool:
        """Whether every condition of the rule holds for this message."""
        if self.vip is not None and self.vip != vip:
            return False
        if self.services and service not in self.services:
            return False
        if not (self.keywords or self.regexes):
            return True
        return bool(self._matcher.phrase_hits(found) or self._matcher.pattern_hits(raw))


@dataclass(frozen=True, slots=True, kw_only=True)
class PriorityDecision:
    """The priority with the impact and urgency it came from, and why."""

    priority: Priority
    impact: int
    urgency: int
    reason: str
    rule_ids: tuple[str, ...] = ()


def prioritise(
    *,
    subject: str,
    text: str,
    impact: int | None,
    urgency: int | None,
    service: str | None,
    vip: bool,
    rules: Sequence[PriorityRule],
    matrix: PriorityMatrix,
) -> PriorityDecision:
    """Decide a message's priority.

    Args:
        subject: Subject line, empty for chat messages.
        text: Message body.
        impact: Impact stated by the requester or the form, 1..4; ``None`` means 3.
        urgency: Urgency stated likewise, 1..4; ``None`` means 3.
        service: The service the message is about, if known.
        vip: Whether the requester is a VIP contact.
        rules: Priority rules, applied as described in the module docstring.
        matrix: The impact × urgency matrix.

    Returns:
        The decision; ``reason`` reads like "impact 2 × urgency 3 → high (rules: urgent)".

    Raises:
        ValueError: ``impact`` or ``urgency`` is outside 1..4.
    """
    impact = _level("impact", impact)
    urgency = _level("urgency", urgency)
    raw = f"{subject}\n{text}"
    found = frozenset(stems(raw))
    matched = [r for r in rules if r.matches(raw=raw, found=found, service=service, vip=vip)]
    impact = max(1, impact - max((r.impact_bump for r in matched), default=0))
    urgency = max(1, urgency - max((r.urgency_bump for r in matched), default=0))
    priority = matrix.lookup(impact, urgency)
    reason = f"impact {impact} × urgency {urgency} → {priority}"
    set_by_rules = [r.priority for r in matched if r.priority is not None]
    if set_by_rules:
        priority = min(set_by_rules, key=_RANK.__getitem__)
        reason += f", set to {priority} by rule"
    rule_ids = tuple(r.id for r in matched)
    if rule_ids:
        reason += f" (rules: {', '.join(rule_ids)})"
    return PriorityDecision(
        priority=priority, impact=impact, urgency=urgency, reason=reason, rule_ids=rule_ids
    )


def _level(name: str, value: int | None) -> int:
    if value is None:
        return DEFAULT_LEVEL
    if not 1 <= value <= LEVELS:
        msg = f"{name} must be 1..{LEVELS} (1 is highest), got {value}"
        raise ValueError(msg)
    return value
