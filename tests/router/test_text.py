"""Normalisation, stemming, fingerprints and similarity."""

from __future__ import annotations

import pytest

from router import text as text_module
from router.text import TextMatcher, fingerprint, normalize, phrase_stems, similarity, stems


def test_normalize_casefolds_and_folds_yo() -> None:
    assert normalize("ВСЁ Ёлки Straße") == "все елки strasse"


def test_normalize_drops_urls_emails_mentions_punctuation_and_numbers() -> None:
    text = "Пишите на <Ivan.Petrov@corp.ru>, см. https://wiki.corp/x?a=1 (www.corp.ru) @bot 42 x2!"

    assert normalize(text) == "пишите на см x2"


def test_stems_match_russian_inflections_when_word_order_differs() -> None:
    assert set(stems("не работает принтер")) == set(stems("Принтеры не работают!"))


def test_stems_match_english_plural_and_case() -> None:
    assert stems("Printer") == stems("printers")


def test_stems_pick_the_stemmer_per_word_in_mixed_text() -> None:
    assert stems("Не подключается VPN client, пишет connection refused") == [
        "подключа",
        "vpn",
        "client",
        "пишет",
        "connect",
        "refus",
    ]


def test_stems_drop_stop_words_negations_and_single_letters() -> None:
    assert stems("Добрый день! Я не могу, и он тоже. Please, it does not work at all") == ["all"]


def test_stems_fold_irregular_forms_of_ves() -> None:
    assert set(stems("у всего отдела")) == set(stems("весь отдел")) == {"весь", "отдел"}


def test_fingerprint_joins_subject_and_text() -> None:
    assert fingerprint("Почта", "не открывается") == {"почт", "открыва"}


def test_fingerprint_is_empty_when_only_greetings() -> None:
    assert fingerprint("Re: ", "Здравствуйте! Спасибо.") == frozenset()


def test_similarity_is_one_for_same_stems_and_zero_for_disjoint() -> None:
    a = fingerprint("", "принтер не печатает")

    assert similarity(a, fingerprint("", "Принтеры не печатают")) == 1.0
    assert similarity(a, fingerprint("", "VPN отваливается")) == 0.0


def test_similarity_is_zero_when_a_fingerprint_is_empty() -> None:
    assert similarity(frozenset(), frozenset({"принтер"})) == 0.0


def test_similarity_keeps_short_message_close_to_long_one_about_same_problem() -> None:
    short = fingerprint("", "принтер не печатает")
    long = fingerprint(
        "Принтер", "Принтер на третьем этаже не печатает с утра, горит оранжевая лампочка"
    )

    assert similarity(short, long) > 0.5


def test_similarity_damps_one_word_message_inside_long_text() -> None:
    one = fingerprint("", "принтер")
    long = fingerprint("", "нужно заменить картридж принтера и заказать бумагу для отдела")

    assert similarity(one, long) < 0.7


def test_phrase_stems_reject_phrase_of_stop_words() -> None:
    with pytest.raises(ValueError, match="no content words"):
        phrase_stems("и не в 42")


def test_text_matcher_counts_phrases_in_any_order_and_case_insensitive_regexes() -> None:
    matcher = TextMatcher.build(["принтер не печатает", "замятие бумаги"], [r"err-\d+", "x{3}"])
    raw = "ПРИНТЕРЫ опять не печатают: ERR-42"

    assert matcher.phrase_hits(frozenset(stems(raw))) == 1
    assert matcher.pattern_hits(raw) == 1


def test_text_matcher_names_invalid_regex_index() -> None:
    with pytest.raises(ValueError, match=r"regexes\[1\]"):
        TextMatcher.build([], ["ok", "(unclosed"])


def test_stems_keep_words_of_other_scripts_unstemmed() -> None:
    assert stems("Ошибка: αλφα 東京") == ["ошибк", "αλφα", "東京"]


def test_stems_stay_correct_when_memo_overflows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_module, "_STEMS", {})
    monkeypatch.setattr(text_module, "_STEMS_LIMIT", 2)

    assert stems("принтеры сканеры мониторы клавиатуры") == [
        "принтер",
        "сканер",
        "монитор",
        "клавиатур",
    ]
    assert len(text_module._STEMS) <= 2
