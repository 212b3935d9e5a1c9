"""Classification by configured rules: ticket type, service, category and tags.

Every keyword, regex and sender that a rule finds in a message is a piece of evidence; the
pieces combine as a noisy OR (``1 - Π(1 - e)``), so one keyword gives 0.6, two give 0.84 and
a keyword plus a regex 0.88. The rule's ``weight`` scales that; the highest score wins, ties
going to the rule listed first. The caller compares ``confidence`` with
``RouterSettings.classification_threshold`` and leaves weaker results to L1 triage.

When no rule matches but the message opens like a question («как …?», "how do I …?"), the
result is ``type=question`` with confidence ``QUESTION_CONFIDENCE`` (0.3), below the default
threshold: a hint for the triage view rather than a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from router.rules import TextRule
from router.text import normalize, stems
from ticketing.domain import TicketType

KEYWORD_EVIDENCE = 0.6
REGEX_EVIDENCE = 0.7
SENDER_EMAIL_EVIDENCE = 0.6
SENDER_DOMAIN_EVIDENCE = 0.5
QUESTION_CONFIDENCE = 0.3
_QUESTION_OPENERS = {
    *("как", "где", "куда", "когда", "какой", "какая", "какие", "можно", "подскажите"),
    *("how", "where", "when", "what", "which", "can", "could", "is", "are", "does", "do"),
}


class ClassificationRule(TextRule):
    """One configured rule: what to look for and what it means when found."""

    sender_domains: list[str] = Field(
        default_factory=list, description="sender's e-mail domains, subdomains included"
    )
    sender_emails: list[str] = Field(default_factory=list, description="exact sender addresses")
    type: TicketType | None = Field(default=None, description="ticket type to set")
    service: str | None = Field(default=None, description="service catalog id to set")
    category: str | None = Field(default=None, description="category to set")
    tags: list[str] = Field(default_factory=list, description="tags to add")
    weight: float = Field(default=1.0, gt=0, le=10, description="scales the rule's confidence")

    @field_validator("sender_domains")
    @classmethod
    def _domains_lowercase(cls, domains: list[str]) -> list[str]:
        cleaned = [domain.strip().lower().removeprefix("@") for domain in domains]
        for index, domain in enumerate(cleaned):
            if "." not in domain or "@" in domain or " " in domain:
                msg = f"sender_domains[{index}] {domain!r} is not a domain name"
                raise ValueError(msg)
        return cleaned

    @field_validator("sender_emails")
    @classmethod
    def _emails_lowercase(cls, emails: list[str]) -> list[str]:
        cleaned = [email.strip().lower() for email in emails]
        for index, email in enumerate(cleaned):
            local, at, domain = email.partition("@")
            if not (local and at and "." in domain and "@" not in domain):
                msg = f"sender_emails[{index}] {email!r} is not an e-mail address"
                raise ValueError(msg)
        return cleaned

    @model_validator(mode="after")
    def _matches_and_sets_something(self) -> ClassificationRule:
        if not (self.keywords or self.regexes or self.sender_domains or self.sender_emails):
            msg = f"rule {self.id!r} needs keywords, regexes, sender_domains or sender_emails"
            raise ValueError(msg)
        if self.type is None and self.service is None and self.category is None and not self.tags:
            msg = f"rule {self.id!r} sets nothing: give type, service, category or tags"
            raise ValueError(msg)
        return self

    def evidence(self, *, raw: str, found: frozenset[str], sender: str) -> float:
        """Noisy-OR of everything this rule finds, before ``weight``; 0 when nothing matched."""
        missing = (1 - KEYWORD_EVIDENCE) ** self._matcher.phrase_hits(found)
        missing *= (1 - REGEX_EVIDENCE) ** self._matcher.pattern_hits(raw)
        if sender in self.sender_emails:
            missing *= 1 - SENDER_EMAIL_EVIDENCE
        domain = sender.rpartition("@")[2]
        if domain and any(domain == d or domain.endswith(f".{d}") for d in self.sender_domains):
            missing *= 1 - SENDER_DOMAIN_EVIDENCE
        return 1 - missing


@dataclass(frozen=True, slots=True, kw_only=True)
class Classification:
    """What the rules made of a message; all ``None`` and confidence 0 when nothing matched."""

    type: TicketType | None = None
    service: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    confidence: float = 0.0
    rule_id: str | None = None


class Classifier:
    """Applies a fixed list of rules; build one per configuration and reuse it."""

    def __init__(self, rules: Sequence[ClassificationRule]) -> None:
        """Keep the rules, in order (the earlier rule wins a tie)."""
        self._rules = tuple(rules)

    def classify(self, subject: str, text: str, sender_email: str | None) -> Classification:
        """Pick the best-scoring rule for a message.

        Args:
            subject: Subject line, empty for chat messages.
            text: Message body.
            sender_email: The requester's e-mail address, if known.

        Returns:
            The winning rule's outcome with its confidence, the question hint, or an empty
            ``Classification``.
        """
        raw = f"{subject}\n{text}"
        found = frozenset(stems(raw))
        sender = (sender_email or "").strip().lower()
        best: ClassificationRule | None = None
        best_score = 0.0
        for rule in self._rules:
            score = rule.weight * rule.evidence(raw=raw, found=found, sender=sender)
            if score > best_score:
                best, best_score = rule, score
        if best is None:
            return _question_hint(subject, text, raw)
        return Classification(
            type=best.type,
            service=best.service,
            category=best.category,
            tags=tuple(best.tags),
            confidence=min(1.0, best_score),
            rule_id=best.id,
        )


def _question_hint(subject: str, text: str, raw: str) -> Classification:
    openings = {normalize(part).partition(" ")[0] for part in (subject, text)}
    if "?" in raw and not openings.isdisjoint(_QUESTION_OPENERS):
        return Classification(type=TicketType.QUESTION, confidence=QUESTION_CONFIDENCE)
    return Classification()
