"""Pure translation: phone numbers to E.164, PBX payloads to :class:`CallEvent`, calls to messages.

Nothing here touches a socket or a database, so every rule is tested on the raw samples.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from channels.base import InboundMessage, ReplyAddress, Sender
from channels.phone.events import (
    CallDirection,
    CallEvent,
    CallFacts,
    CallResult,
    Leg,
    LegState,
    Recording,
)
from channels.phone.schemas import (
    CallRecordIn,
    MangoCall,
    MangoParty,
    MangoRecording,
    MangoSummary,
)
from channels.phone.texts import describe_call
from channels.phones import normalize_phone
from ticketing.domain import ChannelKind

_LEG_STATES = {
    "appeared": LegState.APPEARED,
    "connected": LegState.CONNECTED,
    "onhold": LegState.ON_HOLD,
    "disconnected": LegState.DISCONNECTED,
}
# Mango says whether a recording reached the cloud (where the link works) or only a mailbox.
_RECORDING_OK = frozenset({None, 1000})


def _at(timestamp: int | None) -> datetime | None:
    """Mango times are Unix seconds; 0 means "did not happen" (no answer, no forwarding)."""
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def mango_event(kind: str, data: dict[str, Any], *, region: str, recording_url: str) -> CallEvent:
    """Translate one Mango notification (``call``, ``summary`` or ``recording``).

    Raises:
        pydantic.ValidationError: a field is missing or of a wrong type.
    """
    if kind == "summary":
        return _mango_summary(MangoSummary.model_validate(data), data, region)
    if kind == "recording":
        recording = MangoRecording.model_validate(data)
        return CallEvent(
            source="mango",
            call_key=recording.entry_id,
            event_key=f"recording:{recording.recording_id}:{recording.recording_state}:"
            f"{recording.seq}",
            kind="recording",
            payload=data,
            recording=_finished_recording(recording, recording_url),
        )
    call = MangoCall.model_validate(data)
    state = _LEG_STATES.get(call.call_state.lower())
    return CallEvent(
        source="mango",
        call_key=call.entry_id,
        event_key=f"call:{call.call_id}:{call.seq}",
        kind="call",
        payload=data,
        leg=None
        if state is None
        else Leg(leg_id=call.call_id, seq=call.seq, state=state, location=call.location),
    )


def _mango_summary(summary: MangoSummary, data: dict[str, Any], region: str) -> CallEvent:
    direction = {1: CallDirection.IN, 2: CallDirection.OUT}.get(
        summary.call_direction, CallDirection.INTERNAL
    )
    outside, inside = (
        (summary.from_, summary.to)
        if direction is CallDirection.IN
        else (summary.to, summary.from_)
    )
    # talk_time is when somebody answered; entry_result is 1 even for a caller who gave up in
    # the voice menu (nobody talked to them), so the talk time is what says "answered".
    answered = (
        bool(summary.talk_time) if summary.talk_time is not None else bool(summary.entry_result)
    )
    raw = _party_number(outside)
    facts = CallFacts(
        direction=direction,
        result=CallResult.ANSWERED if answered else CallResult.MISSED,
        number=normalize_phone(raw, region),
        number_raw=raw,
        line=summary.line_number or None,
        agent=inside.extension or None,
        started_at=_at(summary.create_time),
        answered_at=_at(summary.talk_time) if answered else None,
        ended_at=_at(summary.end_time),
        disconnect_reason=None
        if summary.disconnect_reason is None
        else str(summary.disconnect_reason),
    )
    return CallEvent(
        source="mango",
        call_key=summary.entry_id,
        event_key="summary",
        kind="summary",
        payload=data,
        facts=facts,
    )


def _party_number(party: MangoParty) -> str:
    return (party.number or "").removeprefix("tel:")


def _finished_recording(recording: MangoRecording, template: str) -> Recording | None:
    """A link only for a recording that finished and was kept in the cloud."""
    if recording.recording_state.lower() != "completed":
        return None
    if recording.completion_code not in _RECORDING_OK:
        return None
    if recording.recipient is not None and "cloud" not in recording.recipient.lower():
        return None
    url = template.replace("{recording_id}", quote(recording.recording_id, safe=""))
    return Recording(ref=recording.recording_id, url=url)


def generic_event(record: CallRecordIn, *, region: str) -> CallEvent:
    """Translate one ``POST /api/v1/calls`` body; the caller checked ``outside_number``."""
    direction = CallDirection(record.direction)
    outside, inside = (
        (record.from_, record.to) if direction is CallDirection.IN else (record.to, record.from_)
    )
    facts = CallFacts(
        direction=direction,
        result=record.result,
        number=normalize_phone(outside, region),
        number_raw=outside,
        line=inside,
        agent=record.agent,
        started_at=record.started_at.astimezone(UTC),
        answered_at=record.answered_at.astimezone(UTC) if record.answered_at else None,
        ended_at=record.ended_at.astimezone(UTC) if record.ended_at else None,
    )
    payload = record.model_dump(mode="json", by_alias=True)
    # A call_id is one call: a second, different record of it may only add a recording, so
    # each distinct body is its own event and an identical one is a redelivery.
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
    url = None if record.recording_url is None else str(record.recording_url)
    return CallEvent(
        source="api",
        call_key=record.call_id,
        event_key=f"record:{digest}",
        kind="record",
        payload=payload,
        facts=facts,
        recording=None
        if url is None
        else Recording(ref="url:" + hashlib.sha256(url.encode()).hexdigest()[:40], url=url),
    )


def call_message(
    *,
    source: str,
    call_key: str,
    facts: CallFacts,
    timezone: str,
    locale: str,
    received_at: datetime,
) -> InboundMessage:
    """The message a finished call becomes when it opens a ticket (it goes through intake).

    Raises:
        ValueError: the call has no callable number (nobody to identify or call back).
    """
    if facts.number is None:
        msg = "a call without a callable number cannot open a ticket"
        raise ValueError(msg)
    subject, text = describe_call(facts, timezone, locale)
    return InboundMessage(
        channel=ChannelKind.PHONE,
        external_id=call_external_id(source, call_key),
        sender=Sender(phone=facts.number),
        subject=subject,
        text=text,
        received_at=received_at,
        reply_to=ReplyAddress(channel=ChannelKind.PHONE, address=facts.number),
        meta={"call": {"source": source, "key": call_key, **facts.to_json()}},
    )


def call_external_id(source: str, call_key: str) -> str:
    """The intake's idempotency key for a call: one message per call, however often reported."""
    return f"call:{source}:{call_key}"
