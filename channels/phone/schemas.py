"""Payloads as they arrive: Mango Office notifications and the generic call record.

Mango writes the same field as a string one day and a number the next (``"seq": "1"``), adds
fields over time and leaves others out, so its models coerce numbers and strings both ways and
ignore what they do not know. The generic record is our own public contract (it is published
in the OpenAPI document), so it is strict: unknown fields and naive times are refused.
:func:`load_json_object` reads either body without letting nesting or odd strings through.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from channels.phone.events import CallResult

MAX_JSON_DEPTH = 16
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_LATEST = 4_102_444_800  # 2100-01-01: a larger "timestamp" is garbage, not a date


def _no_bool(value: object) -> object:
    # JSON true/false are not counters or times, though Python would read them as 1 and 0.
    if isinstance(value, bool):
        msg = "expected a number, got a boolean"
        raise ValueError(msg)
    return value


Number = Annotated[int, BeforeValidator(_no_bool)]
Timestamp = Annotated[Number, Field(ge=0, le=_LATEST)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[!-~]+$")]
Text = Annotated[str, StringConstraints(max_length=255)]


class _Mango(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, populate_by_name=True)


class MangoParty(_Mango):
    """One side of a Mango call: an outside number, an employee's extension, or both."""

    number: Text | None = None
    extension: Text | None = None
    line_number: Text | None = None


class MangoCall(_Mango):
    """``/events/call``: one leg (``call_id``) of a call (``entry_id``) changed state."""

    entry_id: Key
    call_id: Key
    seq: Annotated[Number, Field(ge=0, le=2**31)]
    call_state: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    timestamp: Timestamp | None = None
    location: Text | None = None
    from_: MangoParty = Field(default_factory=MangoParty, alias="from")
    to: MangoParty = Field(default_factory=MangoParty)
    disconnect_reason: Number | None = None


class MangoSummary(_Mango):
    """``/events/summary``: the call is over; sent once per ``entry_id`` (and maybe again)."""

    entry_id: Key
    call_direction: Annotated[Number, Field(ge=0, le=9)]
    from_: MangoParty = Field(default_factory=MangoParty, alias="from")
    to: MangoParty = Field(default_factory=MangoParty)
    line_number: Text | None = None
    create_time: Timestamp
    forward_time: Timestamp | None = None
    talk_time: Timestamp | None = None
    end_time: Timestamp
    entry_result: Annotated[Number, Field(ge=0, le=9)] | None = None
    disconnect_reason: Number | None = None


class MangoRecording(_Mango):
    """``/events/recording``: a recording started, moved to another leg, or finished."""

    recording_id: Key
    recording_state: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    seq: Annotated[Number, Field(ge=0, le=2**31)]
    entry_id: Key
    call_id: Key | None = None
    extension: Text | None = None
    timestamp: Timestamp | None = None
    completion_code: Number | None = None
    recipient: Text | None = None


class CallRecordIn(BaseModel):
    """``POST /api/v1/calls``: one finished call from any PBX (SPEC §6.4)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    call_id: Key = Field(description="the PBX's id of the call; a repeat is the same call")
    direction: Literal["in", "out"] = Field(description="in: a caller rang us; out: we rang")
    from_: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        alias="from", description="caller: a phone number (any format) or our line/extension"
    )
    to: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="callee: our line or extension, or a phone number"
    )
    result: CallResult = Field(description="answered, missed, busy or failed")
    started_at: AwareDatetime = Field(description="when the call began (ISO 8601 with offset)")
    answered_at: AwareDatetime | None = Field(
        default=None, description="when it was answered (answered calls only)"
    )
    ended_at: AwareDatetime | None = Field(default=None, description="when it ended")
    agent: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="who took or made the call"
    )
    recording_url: Annotated[HttpUrl, Field(max_length=2000)] | None = Field(
        default=None, description="link to the recording, kept on the ticket"
    )

    # Fields are validated in order, so each check below sees the fields declared before it.
    @field_validator("answered_at")
    @classmethod
    def _answered_after_start(
        cls, value: datetime | None, info: ValidationInfo
    ) -> datetime | None:
        if value is None:
            return value
        result = info.data.get("result")
        if result is not None and result is not CallResult.ANSWERED:
            msg = f"given, but result is {result.value}"
            raise ValueError(msg)
        started = info.data.get("started_at")
        if started is not None and value < started:
            msg = "is before started_at"
            raise ValueError(msg)
        return value

    @field_validator("ended_at")
    @classmethod
    def _ended_last(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        earlier = info.data.get("answered_at") or info.data.get("started_at")
        if value is not None and earlier is not None and value < earlier:
            msg = (
                "is before answered_at" if info.data.get("answered_at") else "is before started_at"
            )
            raise ValueError(msg)
        return value


def load_json_object(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """Parse a JSON object, refusing deep nesting before the parser can recurse on it.

    Raises:
        ValueError: not JSON, nested deeper than ``max_depth``, or not an object.
    """
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                msg = f"JSON nested deeper than {max_depth} levels"
                raise ValueError(msg)
        elif ch in "]}":
            depth -= 1
    try:
        data = json.loads(text)
    except RecursionError as exc:  # belt and braces: the scan above should prevent it
        msg = "JSON nested too deeply"
        raise ValueError(msg) from exc
    if not isinstance(data, dict):
        msg = "expected a JSON object"
        raise ValueError(msg)
    _check_strings(data)
    return data


def _check_strings(value: object) -> None:
    """Refuse NUL and unpaired surrogates: valid JSON escapes that no database column takes."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            msg = "JSON string with a NUL character or an unpaired surrogate"
            raise ValueError(msg)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
