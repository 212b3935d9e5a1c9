"""What the e-mail adapter needs to remember, as a protocol the composition root fills in.

``ticketing/email_store.py`` implements it on the ticket database; the adapter never imports
the database layer (an import-linter contract says so). Results are plain structures, so the
implementation needs nothing from this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

__all__ = ["ConnectionState", "EmailStore", "QuarantinedMail"]


class QuarantinedMail(Protocol):
    """A mail that could not be processed, kept raw for ``okno replay``."""

    @property
    def id(self) -> int: ...
    @property
    def mailbox(self) -> str: ...
    @property
    def raw(self) -> bytes: ...


class ConnectionState(Protocol):
    """The last attempt and success of one connection (for ``okno check``)."""

    @property
    def last_attempt_at(self) -> datetime | None: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def last_error(self) -> str | None: ...


class EmailStore(Protocol):
    """Durable state of the e-mail channel."""

    async def mailbox_progress(self, mailbox: str) -> tuple[int, int] | None:
        """``(uidvalidity, last processed uid)`` of ``mailbox``, or None before the first run."""
        ...

    async def save_progress(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        """Remember that every message up to ``last_uid`` is stored or quarantined."""
        ...

    async def quarantine(
        self,
        *,
        mailbox: str,
        uid: int | None,
        message_id: str | None,
        raw: bytes,
        error: str,
        now: datetime,
    ) -> int:
        """Keep ``raw`` with its error; returns the quarantine id."""
        ...

    async def replays_due(self, limit: int) -> Sequence[QuarantinedMail]:
        """Quarantined mail that ``okno replay`` asked to process again."""
        ...

    async def settle_replay(self, quarantine_id: int, error: str | None, now: datetime) -> None:
        """Record a replay: done when ``error`` is None, else back to held with the error."""
        ...

    async def mark_undeliverable(self, address: str, reason: str, now: datetime) -> None:
        """A bounce said ``address`` cannot receive mail."""
        ...

    async def clear_undeliverable(self, address: str) -> None:
        """``address`` wrote to us: it can receive mail again."""
        ...

    async def admit_sends(
        self,
        requests: Sequence[tuple[str, str, bool]],
        *,
        now: datetime,
        per_hour: int,
        per_day: int,
    ) -> list[str | None]:
        """For each ``(address, idempotency key, automatic)``: why that mail must not go out
        now, or None (and count it if automatic); one answer per request, in order.

        Refused: an address a bounce marked undeliverable; an automatic mail past the hourly
        or daily cap for that address (the requests before it in ``requests`` count too). A
        key already counted (a retry of the same outbox row) is admitted again for free. One
        transaction for all of them: sends are frequent and come in groups.
        """
        ...

    async def record_connection(
        self, name: str, *, ok: bool, error: str | None, now: datetime
    ) -> None:
        """Remember an attempt to reach ``name`` (``imap``, ``smtp``)."""
        ...

    async def connection_state(self, name: str) -> ConnectionState | None:
        """The last attempt and success for ``name``."""
        ...
