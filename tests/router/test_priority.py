"""Impact × urgency matrix and priority rules."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from router.priority import ITIL_MATRIX, PriorityDecision, PriorityMatrix, PriorityRule, prioritise
from router.settings import default_priority_rules
from ticketing.domain import Priority

C, H, M, L = Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW


def decide(
    text: str,
    *,
    impact: int | None = None,
    urgency: int | None = None,
    service: str | None = None,
    vip: bool = False,
    rules: Sequence[PriorityRule] | None = None,
    matrix: PriorityMatrix | None = None,
) -> PriorityDecision:
    return prioritise(
        subject="",
        text=text,
        impact=impact,
        urgency=urgency,
        service=service,
        vip=vip,
        rules=default_priority_rules() if rules is None else rules,
        matrix=matrix or PriorityMatrix(),
    )


@pytest.mark.parametrize(
    ("impact", "expected"),
    [(1, [C, H, H, M]), (2, [H, H, M, M]), (3, [H, M, M, L]), (4, [M, M, L, L])],
)
def test_default_matrix_is_itil_grid(impact: int, expected: list[Priority]) -> None:
    matrix = PriorityMatrix()

    assert [matrix.lookup(impact, urgency) for urgency in range(1, 5)] == expected


def test_prioritise_gives_medium_when_nothing_known() -> None:
    decision = decide("Принтер не печатает")

    assert (decision.priority, decision.impact, decision.urgency) == (M, 3, 3)
    assert decision.rule_ids == ()


def test_prioritise_uses_given_impact_and_urgency() -> None:
    assert decide("принтер", impact=1, urgency=1).priority == C


@pytest.mark.parametrize("word", ["Срочно!", "СРОЧНАЯ заявка", "urgent", "ASAP please"])
def test_urgent_word_raises_urgency(word: str) -> None:
    decision = decide(f"{word} не печатает принтер")

    assert (decision.urgency, decision.rule_ids) == (2, ("urgent-words",))


@pytest.mark.parametrize(
    "text",
    [
        "Не работает интернет у всего отдела",
        "у всей команды пропала почта",
        "VPN down: whole team",
    ],
)
def test_wide_impact_hint_raises_impact_to_high(text: str) -> None:
    decision = decide(text)

    assert (decision.impact, decision.priority) == (1, H)


def test_team_blocked_sets_critical_regardless_of_matrix() -> None:
    decision = decide("Сбой 1С блокирует работу команды", impact=4, urgency=4)

    assert decision.priority == C
    assert "set to critical" in decision.reason


def test_hints_combine_across_axes_into_critical_with_urgency_and_wide_impact() -> None:
    assert decide("Срочно! у всего отдела нет сети", impact=2, urgency=2).priority == C


def test_bumps_on_same_axis_do_not_stack() -> None:
    assert decide("Срочно, urgent!", vip=True).urgency == 2


def test_vip_contact_raises_urgency() -> None:
    assert decide("вопрос", vip=True).rule_ids == ("vip-contact",)
    assert decide("вопрос", vip=False).rule_ids == ()


def test_rule_conditions_must_all_hold() -> None:
    rule = PriorityRule(id="mail-vip", services=["mail"], vip=True, priority=H)

    assert decide("x", service="mail", vip=True, rules=[rule]).priority == H
    assert decide("x", service="mail", vip=False, rules=[rule]).priority == M
    assert decide("x", service="vpn", vip=True, rules=[rule]).priority == M


def test_rule_can_lower_priority_and_most_urgent_set_priority_wins() -> None:
    low = PriorityRule(id="newsletter", regexes=[r"^\s*рассылка"], priority=L)
    high = PriorityRule(id="payroll", keywords=["зарплата"], priority=H)

    assert decide("Рассылка: новости", impact=1, urgency=2, rules=[low]).priority == L
    assert decide("Рассылка про зарплату", rules=[low, high]).priority == H


def test_impact_and_urgency_never_go_above_one() -> None:
    rule = PriorityRule(id="all", keywords=["сервер"], impact_bump=3, urgency_bump=3)

    decision = decide("сервер", impact=2, urgency=1, rules=[rule])

    assert (decision.impact, decision.urgency) == (1, 1)


def test_prioritise_rejects_impact_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"impact must be 1\.\.4"):
        decide("x", impact=5)


def test_matrix_is_configurable() -> None:
    flat = PriorityMatrix.model_validate([["low"] * 4] * 4)

    assert decide("x", impact=1, urgency=1, matrix=flat, rules=[]).priority == L


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["low"] * 4] * 3, "needs 4 rows"),
        ([["low"] * 4] * 3 + [["low"] * 3], r"row 3 \(impact 4\) needs 4"),
        ([["low"] * 4] * 3 + [["low", "low", "low", "urgent"]], "3.3"),
    ],
)
def test_matrix_rejects_wrong_shape_or_unknown_priority(
    rows: list[list[str]], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        PriorityMatrix.model_validate(rows)


def test_itil_matrix_has_one_critical_cell() -> None:
    assert [cell for row in ITIL_MATRIX for cell in row].count(C) == 1


def test_priority_rule_rejects_rule_without_condition_or_effect() -> None:
    with pytest.raises(ValidationError, match="needs keywords, regexes, vip or services"):
        PriorityRule(id="r", priority=H)
    with pytest.raises(ValidationError, match="does nothing"):
        PriorityRule(id="r", keywords=["сервер"])


def test_priority_rule_rejects_invalid_regex_naming_rule() -> None:
    with pytest.raises(ValidationError, match=r"rule 'r': regexes\[0\]"):
        PriorityRule(id="r", regexes=["[a-"], priority=H)
