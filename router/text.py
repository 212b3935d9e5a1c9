"""Text normalisation and stemming shared by dedup, classification and priority rules.

Everything here is pure. Words are stemmed with the Snowball stemmers (the C ones from
PyStemmer when installed), choosing the language per token by its script, so a mixed
«не работает VPN client» stems both halves correctly. The two stemmers and a bounded
word → stem memo live at module level: they hold no configuration, and without them a short
message would cost several times more (about 8 µs per fingerprint with them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from dataclasses import dataclass

import snowballstemmer

# A whitespace-separated chunk holding "@" (an e-mail address, a @mention) or a URL is
# dropped whole; checking chunks is several times faster than a regex over the whole text.
_ADDRESS = re.compile(r"@|://|^\W*www\.")
_TOKEN = re.compile(r"[^\W_]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words, greetings and sign-offs that say nothing about the problem. Also dropped:
# negations, words of inability («не могу», «не получается», "unable") and the generic «не
# работает», «проблема», "issue". Nearly every report is a negative complaint, so these make
# unrelated reports look alike, and two reports of one problem often word them differently.
# Quantifiers («весь», "all", "whole") are kept: impact hints such as «у всего отдела» need them.
RUSSIAN_STOP_WORDS: frozenset[str] = _words(
    """
    а бы был была были было быть в вам вас во вот да день для до добрый его ее ей ему если
    есть еще же за здравствуйте и из или им их к как ко коллеги ли меня мне могу мое может
    можно мои мой мочь моя мы на над нам нас наш не нет ни но о об обо он она они оно опять от
    очень по под пожалуйста получается при привет про проблема проблемой проблему проблемы
    работает работал работала работали работало работать работают с себя снова со спасибо та
    так также те то тоже только тот ты у удается удалось уже что чтобы эта эти это этот я
    """
)
ENGLISH_STOP_WORDS: frozenset[str] = _words(
    """
    a able again am an and are as at be been being but by can cannot could dear did didn do
    does doesn don for from fw fwd had has have he hello her here hi his how i if in is isn
    issue issues it its just me my no not of on or our please problem problems re regards she
    should so than thank thanks that the their them then there these they this those to too
    unable us very was wasn we were what when where which who why will with won work worked
    working works would you your
    """
)
STOP_WORDS: frozenset[str] = RUSSIAN_STOP_WORDS | ENGLISH_STOP_WORDS

# «весь» declines irregularly and Snowball gives its forms five different stems; impact hints
# («у всего отдела», «вся команда») need them to be one word.
_IRREGULAR: dict[str, str] = dict.fromkeys(
    _words("весь вся все всего всей всем всеми всему всех всю"), "весь"
)

_RUSSIAN = snowballstemmer.stemmer("russian")
_ENGLISH = snowballstemmer.stemmer("english")
# Token → stem ("" for a word to skip). Stemming dominates the cost of a short message and
# chat vocabulary is small, so memoising brings a fingerprint down to a few microseconds.
_STEMS: dict[str, str] = {}
_STEMS_LIMIT = 100_000
_WHY = "(only stop words, numbers or punctuation)"


def _words_of(text: str) -> list[str]:
    lowered = text.casefold().replace("ё", "е")
    if "@" in lowered or "://" in lowered or "www." in lowered:
        lowered = " ".join(chunk for chunk in lowered.split() if not _ADDRESS.search(chunk))
    return _TOKEN.findall(lowered)


def normalize(text: str) -> str:
    """Casefold, fold «ё» into «е», drop URLs, e-mail addresses, punctuation and numbers.

    Args:
        text: Any user-supplied text.

    Returns:
        The remaining words separated by single spaces (stop words are kept).
    """
    return " ".join(word for word in _words_of(text) if not word.isdigit())


def _stem_uncached(word: str) -> str:
    if len(word) < 2 or word in STOP_WORDS or word.isdigit():
        return ""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    first = word[0]
    if "а" <= first <= "я":
        return str(_RUSSIAN.stemWord(word))
    if first.isascii():
        return str(_ENGLISH.stemWord(word))
    return word


def _stem(word: str) -> str:
    stem = _STEMS.get(word)
    if stem is None:
        stem = _stem_uncached(word)
        if len(_STEMS) >= _STEMS_LIMIT:
            _STEMS.clear()
        _STEMS[word] = stem
    return stem


def stems(text: str) -> list[str]:
    """Stem the content words of ``text`` in order, dropping stop words and single letters.

    Args:
        text: Any user-supplied text, Russian, English or both.

    Returns:
        Stems in the order their words appear, duplicates included.
    """
    return [stem for stem in map(_stem, _words_of(text)) if stem]


def fingerprint(subject: str, text: str) -> frozenset[str]:
    """The set of stems that stands for a message when looking for duplicates.

    Args:
        subject: The subject line (empty for chat messages).
        text: The body, already stripped of quotes and signatures by the channel.

    Returns:
        Distinct stems of subject and body together.
    """
    return frozenset(stems(f"{subject}\n{text}"))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """How alike two fingerprints are, from 0 (nothing shared) to 1 (the same stems).

    The mean of the overlap coefficient ``|a∩b| / min(|a|, |b|)`` and Jaccard
    ``|a∩b| / |a∪b|``. Overlap alone does not punish a short chat message repeated inside a
    long e-mail about the same problem, but it calls any one-word message a perfect match of
    every text containing that word; Jaccard alone punishes the length difference. The blend
    keeps the first property and damps the second (see the calibration test for the figures).

    Args:
        a: A fingerprint.
        b: Another fingerprint.

    Returns:
        The blended score; 0 when either set is empty.
    """
    if not a or not b:
        return 0.0
    common = len(a & b)
    if not common:
        return 0.0
    return (common / min(len(a), len(b)) + common / (len(a) + len(b) - common)) / 2


def phrase_stems(phrase: str) -> frozenset[str]:
    """Stems a configured keyword or phrase must find in a message to match it.

    Raises:
        ValueError: The phrase has no content words (only stop words, numbers or punctuation).
    """
    found = frozenset(stems(phrase))
    if not found:
        msg = f"keyword {phrase!r} has no content words {_WHY}"
        raise ValueError(msg)
    return found


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile configured regular expressions, case-insensitive.

    Raises:
        ValueError: A pattern is invalid; the message names its index and the reason.
    """
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as error:
            msg = f"regexes[{index}] {pattern!r} is not a valid regular expression: {error}"
            raise ValueError(msg) from error
    return tuple(compiled)


def check_keywords(keywords: Iterable[str], rule_id: object) -> None:
    """Validate a rule's keywords for a settings model.

    Raises:
        ValueError: Naming the rule, the keyword's index and why it cannot match anything.
    """
    for index, keyword in enumerate(keywords):
        if not stems(keyword):
            msg = f"rule {rule_id!r}: keywords[{index}] {keyword!r} has no content words {_WHY}"
            raise ValueError(msg)


def check_regexes(regexes: Iterable[str], rule_id: object) -> None:
    """Validate a rule's regexes for a settings model.

    Raises:
        ValueError: Naming the rule, the regex's index and the compiler's complaint.
    """
    try:
        compile_patterns(regexes)
    except ValueError as error:
        msg = f"rule {rule_id!r}: {error}"
        raise ValueError(msg) from None


@dataclass(frozen=True, slots=True)
class TextMatcher:
    """The text half of a configured rule: keyword phrases by stems and regular expressions.

    A phrase matches when every one of its stems occurs in the message, in any order and any
    inflection, so «принтер не печатает» matches «не печатают принтеры». Negations are stop
    words, so a phrase cannot require «не»; use a regex for that.
    """

    phrases: tuple[frozenset[str], ...]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def build(cls, keywords: Iterable[str], regexes: Iterable[str]) -> TextMatcher:
        """Stem the keywords and compile the regexes.

        Raises:
            ValueError: A keyword has no content words or a regex is invalid.
        """
        return cls(tuple(phrase_stems(k) for k in keywords), compile_patterns(regexes))

    def phrase_hits(self, found: Set[str]) -> int:
        """How many phrases occur in a message whose stems are ``found``."""
        return sum(phrase <= found for phrase in self.phrases)

    def pattern_hits(self, raw: str) -> int:
        """How many regexes match somewhere in the raw (unnormalised) text."""
        return sum(pattern.search(raw) is not None for pattern in self.patterns)
