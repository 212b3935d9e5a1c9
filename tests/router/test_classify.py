"""Rule-based classification."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from router.classify import (
    QUESTION_CONFIDENCE,
    Classification,
    ClassificationRule,
    Classifier,
)
from ticketing.domain import TicketType

PRINTER = ClassificationRule(
    id="printer",
    keywords=["принтер не печатает", "замятие бумаги", "printer"],
    type=TicketType.INCIDENT,
    service="printing",
    category="hardware",
    tags=["printer"],
)
ACCESS = ClassificationRule(
    id="access",
    keywords=["доступ к папке", "access to folder"],
    regexes=[r"\\\\fs\d+\\"],
    type=TicketType.SERVICE_REQUEST,
    service="file-shares",
)
BANK = ClassificationRule(id="bank", sender_domains=["@Bank.example"], service="payments")
CEO = ClassificationRule(id="ceo", sender_emails=["CEO@corp.example"], tags=["vip"])


def classifier(*rules: ClassificationRule) -> Classifier:
    return Classifier(rules or (PRINTER, ACCESS, BANK, CEO))


def test_classify_sets_rule_outcome_when_russian_keyword_inflected() -> None:
    found = classifier().classify("", "Принтеры на 3 этаже не печатают", None)

    assert found == Classification(
        type=TicketType.INCIDENT,
        service="printing",
        category="hardware",
        tags=("printer",),
        confidence=found.confidence,
        rule_id="printer",
    )
    assert found.confidence == pytest.approx(0.6)


def test_classify_matches_english_keyword_by_stem() -> None:
    found = classifier().classify("Printers offline", "", None)

    assert found.rule_id == "printer"


def test_classify_confidence_grows_with_more_matches() -> None:
    one = classifier().classify("", "принтер не печатает", None)
    two = classifier().classify("", "принтер не печатает, замятие бумаги", None)

    assert one.confidence < two.confidence < 1


def test_classify_picks_highest_scoring_rule_in_mixed_text() -> None:
    text = "Printer не печатает; и ещё нужен доступ к папке \\\\fs01\\buh"

    assert classifier().classify("", text, None).rule_id == "access"


def test_classify_breaks_ties_by_rule_order() -> None:
    first = ClassificationRule(id="first", keywords=["принтер"], service="a")
    second = ClassificationRule(id="second", keywords=["принтер"], service="b")

    assert Classifier([first, second]).classify("", "принтер", None).rule_id == "first"


def test_classify_weight_scales_confidence() -> None:
    weak = ClassificationRule(id="weak", keywords=["принтер"], service="a", weight=0.5)

    assert Classifier([weak]).classify("", "принтер", None).confidence == pytest.approx(0.3)


def test_classify_matches_sender_domain_and_subdomain_case_insensitively() -> None:
    assert classifier().classify("", "выписка", "Ops@Bank.Example").rule_id == "bank"
    assert classifier().classify("", "выписка", "ops@mail.bank.example").rule_id == "bank"
    assert classifier().classify("", "выписка", "ops@notbank.example").rule_id is None


def test_classify_matches_exact_sender_email() -> None:
    assert classifier().classify("", "привет", "ceo@CORP.example").tags == ("vip",)


def test_classify_returns_nothing_when_no_rule_matches() -> None:
    assert classifier().classify("Отпуск", "Ухожу в отпуск с понедельника.", None) == (
        Classification()
    )


@pytest.mark.parametrize(
    ("subject", "text"),
    [("", "Как настроить подпись в Outlook?"), ("How do I add a printer?", "")],
)
def test_classify_hints_question_with_low_confidence_when_question_unmatched(
    subject: str, text: str
) -> None:
    found = classifier(ACCESS).classify(subject, text, None)

    assert found == Classification(type=TicketType.QUESTION, confidence=QUESTION_CONFIDENCE)


def test_classify_does_not_hint_question_for_complaint_with_question_mark() -> None:
    assert classifier(ACCESS).classify("", "Почему опять не печатает?!", None).type is None


def test_rule_rejects_invalid_regex_naming_rule_and_index() -> None:
    with pytest.raises(ValidationError, match=r"rule 'bad': regexes\[1\] '\(oops'"):
        ClassificationRule(id="bad", regexes=["ok", "(oops"], service="x")


def test_rule_rejects_keyword_without_content_words() -> None:
    with pytest.raises(ValidationError, match=r"keywords\[0\] 'не в' has no content words"):
        ClassificationRule(id="bad", keywords=["не в"], service="x")


def test_rule_rejects_rule_without_matcher() -> None:
    with pytest.raises(ValidationError, match="needs keywords, regexes"):
        ClassificationRule(id="bad", service="x")


def test_rule_rejects_rule_that_sets_nothing() -> None:
    with pytest.raises(ValidationError, match="sets nothing"):
        ClassificationRule(id="bad", keywords=["принтер"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("sender_domains", ["not a domain"]), ("sender_emails", ["no-at-sign.example"])],
)
def test_rule_rejects_malformed_senders(field: str, value: list[str]) -> None:
    with pytest.raises(ValidationError, match=field):
        ClassificationRule.model_validate({"id": "bad", field: value, "service": "x"})


def test_rule_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="keyword"):
        ClassificationRule.model_validate({"id": "r", "keyword": ["x"], "service": "x"})
