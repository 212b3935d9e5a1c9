"""The phone channel's vocabulary: one normalised :class:`CallEvent` per PBX notification.

A call is not a message: a PBX reports it as several events (legs ringing, a summary, a
recording), out of order and sometimes twice. The adapter turns each into a ``CallEvent``; the
router's call log (``router/calls.py``) stores them and decides, from the definitive one, whether
the call opens a ticket, is logged on one, or is only recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class CallDirection(enum.StrEnum):
    IN = "in"
    OUT = "out"
    INTERNAL = "internal"


class CallResult(enum.StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"
    BUSY = "busy"
    FAILED = "failed"


class LegState(enum.StrEnum):
    """The state of one leg of a call (Mango ``call_state``)."""

    APPEARED = "appeared"
    CONNECTED = "connected"
    ON_HOLD = "on_hold"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFacts:
    """What a finished call was; only a definitive event (a summary, a call record) has them.

    ``number`` is the outside party in E.164 (the caller of an inbound call, the callee of an
    outbound one), or None when the PBX gave nothing callable (hidden number, SIP URI).
    """

    direction: CallDirection
    result: CallResult
    number: str | None
    number_raw: str = ""
    line: str | None = None
    agent: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    disconnect_reason: str | None = None

    @property
    def answered(self) -> bool:
        return self.result is CallResult.ANSWERED

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction.value,
            "result": self.result.value,
            "number": self.number,
            "number_raw": self.number_raw,
            "line": self.line,
            "agent": self.agent,
            "started_at": _iso(self.started_at),
            "answered_at": _iso(self.answered_at),
            "ended_at": _iso(self.ended_at),
            "disconnect_reason": self.disconnect_reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallFacts:
        """Rebuild facts stored by :meth:`to_json`."""
        return cls(
            direction=CallDirection(data["direction"]),
            result=CallResult(data["result"]),
            number=data.get("number"),
            number_raw=data.get("number_raw") or "",
            line=data.get("line"),
            agent=data.get("agent"),
            started_at=_from_iso(data.get("started_at")),
            answered_at=_from_iso(data.get("answered_at")),
            ended_at=_from_iso(data.get("ended_at")),
            disconnect_reason=data.get("disconnect_reason"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One leg's state at one ``seq``; the highest ``seq`` of a leg is its current state."""

    leg_id: str
    seq: int
    state: LegState
    location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """A finished recording, kept on the ticket as a link (``ref`` is unique per call)."""

    ref: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    """One PBX notification about one call.

    ``(source, call_key)`` names the call (Mango's ``entry_id``, the generic ``call_id``);
    ``event_key`` is unique per distinct event of that call, so a redelivery is recognised.
    """

    source: str
    call_key: str
    event_key: str
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    facts: CallFacts | None = None
    leg: Leg | None = None
    recording: Recording | None = None

    @property
    def definitive(self) -> bool:
        return self.facts is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOutcome:
    """What became of a call so far; the same answer on every redelivery.

    ``outcome``: ``stored`` (not finished yet), ``created`` (a new ticket), ``logged`` (on an
    existing ticket), ``queued`` (the ticket is being made), ``ignored`` (recorded only).
    """

    outcome: str
    ticket_number: int | None = None
    reason: str | None = None


CallSink = Callable[[CallEvent], Awaitable[CallOutcome]]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
