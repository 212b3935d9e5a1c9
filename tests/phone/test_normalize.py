"""Pure translation: numbers to E.164, every Mango sample, the generic record, call texts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from channels.phone.events import CallDirection, CallFacts, CallResult, LegState
from channels.phone.normalize import (
    call_message,
    generic_event,
    mango_event,
)
from channels.phone.schemas import CallRecordIn, load_json_object
from channels.phone.settings import MANGO_RECORDING_URL
from channels.phone.texts import describe_call
from channels.phones import normalize_phone
from tests.phone.mango import FIXTURES, sample
from ticketing.domain import ChannelKind


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The same person, however the PBX or a human wrote the number:
        ("8 (912) 123-45-67", "+79121234567"),
        ("+7 912 123 45 67", "+79121234567"),
        ("79121234567", "+79121234567"),
        ("9121234567", "+79121234567"),
        ("+7 (912) 123-45-67", "+79121234567"),
        ("8-912-123-45-67", "+79121234567"),
        ("７９１２１２３４５６７", "+79121234567"),  # full-width digits from a copy-paste
        # Mango sends city and service numbers as bare international digits:
        ("78442297678", "+78442297678"),
        ("74994509495", "+74994509495"),
        ("8 800 555-35-35", "+78005553535"),
        # Foreign numbers: with +, with the RU exit code 810, or bare international digits:
        ("+44 20 7946 0958", "+442079460958"),
        ("810 44 20 7946 0958", "+442079460958"),
        ("380441234567", "+380441234567"),
        ("00 44 20 7946 0958", "+442079460958"),
        ("+1 650 253 0000", "+16502530000"),
        # Nothing callable:
        ("7800123456789", None),  # 13 digits: the Mango docs' placeholder line number
        ("12345678", None),
        ("sip:user1@хyz.mangosip.ru", None),
        ("anonymous", None),
        ("", None),
        ("7" * 100, None),
    ],
)
def test_numbers_normalise_to_e164_in_the_default_region(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw, "RU") == expected


def test_region_decides_how_a_national_number_reads() -> None:
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    assert normalize_phone("020 7946 0958", "RU") is None


def _event(name: str) -> Any:
    kind = "summary" if "summary" in name else "recording" if "recording" in name else "call"
    data = json.loads(sample(name))
    return mango_event(kind, data, region="RU", recording_url=MANGO_RECORDING_URL)


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in FIXTURES.glob("*.json") if "dtmf" not in p.name),
)
def test_every_mango_sample_translates(name: str) -> None:
    event = _event(name)
    assert event.source == "mango"
    assert event.call_key
    assert event.event_key


def test_summary_of_a_caller_who_hung_up_in_the_voice_menu_is_missed() -> None:
    # entry_result is 1 (the voice menu "answered"), but talk_time 0: nobody talked to them.
    facts = _event("doc-3.1.6-summary-ex2-inbound-missed-in-ivr.json").facts
    assert facts is not None
    assert (facts.direction, facts.result, facts.number) == (
        CallDirection.IN,
        CallResult.MISSED,
        "+79000000000",
    )
    assert facts.started_at == datetime(2014, 5, 12, 15, 2, 56, tzinfo=UTC)
    assert facts.answered_at is None


def test_summaries_of_answered_and_outbound_calls() -> None:
    answered = _event("doc-3.1.6-summary-ex1-inbound-answered.json").facts
    out_ok = _event("doc-3.1.6-summary-ex3-outbound-answered.json").facts
    out_missed = _event("doc-3.1.6-summary-ex4-outbound-not-answered.json").facts
    assert answered is not None
    assert out_ok is not None
    assert out_missed is not None
    assert (answered.result, answered.agent) == (CallResult.ANSWERED, "123")
    assert answered.number is None  # the docs' 13-digit placeholder is no phone number
    assert answered.number_raw == "7800123635242"
    assert (out_ok.direction, out_ok.result, out_ok.agent) == (
        CallDirection.OUT,
        CallResult.ANSWERED,
        "123",
    )
    assert out_missed.result is CallResult.MISSED


def test_leg_events_carry_their_leg_and_sequence_whether_seq_is_a_string_or_a_number() -> None:
    as_string = _event("doc-usecase-outgoing-2-connected.json")  # "seq": "2"
    as_number = _event("doc-3.1.2-events-call-disconnected.json")  # "seq": 2
    assert as_string.leg is not None
    assert as_number.leg is not None
    assert (as_string.leg.seq, as_string.leg.state) == (2, LegState.CONNECTED)
    assert (as_number.leg.seq, as_number.leg.state) == (2, LegState.DISCONNECTED)
    assert as_string.event_key == "call:100:500:256:2"
    assert as_string.facts is None


def test_a_started_recording_is_no_link_but_a_completed_one_in_the_cloud_is() -> None:
    started = _event("doc-3.1.4-recording-ex1-started-by-command.json")
    assert started.recording is None
    data = json.loads(sample("doc-3.1.4-recording-ex1-started-by-command.json"))
    done = mango_event(
        "recording",
        {**data, "recording_state": "Completed", "seq": 2, "completion_code": "1000"},
        region="RU",
        recording_url=MANGO_RECORDING_URL,
    )
    assert done.recording is not None
    assert done.recording.url == (
        "https://app.mango-office.ru/vpbx/queries/recording/issa/r100%3A777%3A500%3A256/play"
    )
    too_short = mango_event(
        "recording",
        {**data, "recording_state": "Completed", "seq": 2, "completion_code": 4002},
        region="RU",
        recording_url=MANGO_RECORDING_URL,
    )
    mailed = mango_event(
        "recording",
        {**data, "recording_state": "Completed", "seq": 2, "recipient": "Mail"},
        region="RU",
        recording_url=MANGO_RECORDING_URL,
    )
    assert too_short.recording is None
    assert mailed.recording is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seq": True}, "seq"),
        ({"seq": 1.5}, "seq"),
        ({"seq": -1}, "seq"),
        ({"entry_id": {"x": 1}}, "entry_id"),
        ({"entry_id": "has space"}, "entry_id"),
        ({"entry_id": ""}, "entry_id"),
        ({"call_id": None}, "call_id"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": 10**12}, "timestamp"),
        ({"from": "79121234567"}, "from"),
        ({"call_state": ["Appeared"]}, "call_state"),
    ],
)
def test_wrong_types_name_the_field(change: dict[str, Any], field: str) -> None:
    data = {**json.loads(sample("doc-usecase-outgoing-1-appeared.json")), **change}
    with pytest.raises(ValidationError) as raised:
        mango_event("call", data, region="RU", recording_url=MANGO_RECORDING_URL)
    assert field in {str(e["loc"][0]) for e in raised.value.errors()}


def test_json_nesting_is_refused_before_parsing() -> None:
    assert load_json_object('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[{{{{"}') == {
        "a": "[[[[[[[[[[[[[[[[[[[[[[[[{{{{"
    }
    with pytest.raises(ValueError, match="nested deeper"):
        load_json_object('{"a":' * 10_000 + "1" + "}" * 10_000)
    with pytest.raises(ValueError, match="object"):
        load_json_object("[1, 2]")
    with pytest.raises(ValueError, match="digits"):
        load_json_object('{"seq": ' + "9" * 10_000 + "}")
    with pytest.raises(ValueError):  # noqa: PT011 - any parse error will do
        load_json_object("{'single': 'quotes'}")


def _record(**changes: Any) -> CallRecordIn:
    body: dict[str, Any] = {
        "call_id": "pbx-1",
        "direction": "in",
        "from": "8 (912) 123-45-67",
        "to": "74951234567",
        "started_at": "2026-11-22T09:00:00+03:00",
        "ended_at": "2026-11-22T09:01:00+03:00",
        "result": "missed",
        "agent": "101",
    }
    body.update(changes)
    return CallRecordIn.model_validate(body)


def test_generic_record_translates_and_is_keyed_by_its_content() -> None:
    event = generic_event(_record(), region="RU")
    again = generic_event(_record(), region="RU")
    recorded = generic_event(
        _record(
            result="answered",
            answered_at="2026-11-22T09:00:05+03:00",
            recording_url="https://pbx.example.ru/rec/1.mp3",
        ),
        region="RU",
    )
    assert event.facts is not None
    assert (event.source, event.call_key, event.facts.number) == ("api", "pbx-1", "+79121234567")
    assert event.facts.started_at == datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    assert event.event_key == again.event_key != recorded.event_key
    assert recorded.recording is not None
    assert recorded.recording.url == "https://pbx.example.ru/rec/1.mp3"


def test_outbound_record_reads_the_callee_as_the_outside_party() -> None:
    event = generic_event(
        _record(direction="out", **{"from": "103"}, to="+7 912 123 45 67"), region="RU"
    )
    assert event.facts is not None
    assert (event.facts.number, event.facts.line) == ("+79121234567", "103")


def test_a_missed_call_becomes_a_phone_message_for_intake() -> None:
    facts = CallFacts(
        direction=CallDirection.IN,
        result=CallResult.MISSED,
        number="+79121234567",
        number_raw="89121234567",
        line="74951234567",
        agent="101",
        started_at=datetime(2026, 11, 22, 6, 0, tzinfo=UTC),
    )
    message = call_message(
        source="mango",
        call_key="e-1",
        facts=facts,
        timezone="Europe/Moscow",
        locale="ru",
        received_at=datetime(2026, 11, 22, 6, 1, tzinfo=UTC),
    )
    assert message.channel is ChannelKind.PHONE
    assert message.external_id == "call:mango:e-1"
    assert message.sender.phone == "+79121234567"
    assert message.reply_to is not None
    assert message.reply_to.channel is ChannelKind.PHONE
    assert message.subject == "Пропущенный звонок от +7 912 123-45-67"
    assert message.text.splitlines() == [
        "Входящий звонок от +7 912 123-45-67 — пропущен, нужно перезвонить.",
        "Время: 22.11.2026 09:00 (Europe/Moscow)",
        "Линия: 74951234567",
        "Не принял: 101",
    ]


def test_call_texts_show_duration_and_speak_english_when_asked() -> None:
    facts = CallFacts(
        direction=CallDirection.OUT,
        result=CallResult.ANSWERED,
        number="+442079460958",
        agent="103",
        started_at=datetime(2026, 11, 22, 6, 0, tzinfo=UTC),
        answered_at=datetime(2026, 11, 22, 6, 0, 10, tzinfo=UTC),
        ended_at=datetime(2026, 11, 22, 6, 2, 15, tzinfo=UTC),
    )
    subject, text = describe_call(facts, "Europe/London", "en")
    assert subject == "Call from +44 20 7946 0958"
    assert text.splitlines()[0] == "Outbound call to +44 20 7946 0958 — talked 2 min 5 s."
    assert "Agent: 103" in text
    _, russian = describe_call(facts, "Europe/Moscow")
    assert russian.splitlines()[0] == "Исходящий звонок на +44 20 7946 0958 — разговор 2 мин 5 с."
