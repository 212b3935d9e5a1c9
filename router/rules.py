"""What every configured text rule shares: an id, keyword phrases and regexes, precompiled.

Classification and priority rules both match a message's text the same way (see
:class:`router.text.TextMatcher`); they differ in their other conditions and in what a match
does, which their own modules add.
"""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

from router.text import TextMatcher, check_keywords, check_regexes

__all__ = ["RULE_ID_PATTERN", "TextRule"]

RULE_ID_PATTERN = r"^[a-z0-9_\-.]{1,100}$"


class TextRule(BaseModel):
    """A rule's id and text conditions; checked at load time, compiled once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Declared first: the keyword and regex checks name the rule in their errors.
    id: str = Field(pattern=RULE_ID_PATTERN, description="stable identifier, shown in the audit")
    keywords: list[str] = Field(
        default_factory=list, description="words or phrases, matched by stems in any order"
    )
    regexes: list[str] = Field(
        default_factory=list, description="case-insensitive regexes searched in subject and text"
    )
    _matcher: TextMatcher = PrivateAttr()

    @field_validator("keywords")
    @classmethod
    def _keywords_have_content(cls, keywords: list[str], info: ValidationInfo) -> list[str]:
        check_keywords(keywords, info.data.get("id"))
        return keywords

    @field_validator("regexes")
    @classmethod
    def _regexes_compile(cls, regexes: list[str], info: ValidationInfo) -> list[str]:
        check_regexes(regexes, info.data.get("id"))
        return regexes

    def model_post_init(self, context: object, /) -> None:
        """Precompile the keywords and regexes (already validated above)."""
        self._matcher = TextMatcher.build(self.keywords, self.regexes)
