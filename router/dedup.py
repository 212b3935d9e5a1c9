"""Same-requester deduplication: a repeat of an open problem within the window joins its ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from router.text import similarity
from ticketing.repository import TicketRepository


async def find_duplicate(
    session: AsyncSession,
    *,
    requester_id: int,
    prints: frozenset[str],
    since: datetime,
    threshold: float,
) -> int | None:
    """The requester's most similar open ticket since ``since`` at or above ``threshold``.

    Channels do not matter: a Telegram message repeating yesterday's e-mail is the same problem.
    """
    best: tuple[float, int] | None = None
    for row in await TicketRepository(session).open_rows_of(requester_id, since):
        score = similarity(prints, frozenset(row.fingerprint or ()))
        if score >= threshold and (best is None or score > best[0]):
            best = (score, row.id)
    return None if best is None else best[1]
