"""Bearer tokens for the JSON API: only their SHA-256 is stored; checks are constant-time."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from ticketing.db import Database
from ticketing.models import ApiTokenRow
from ticketing.tokens import new_api_token, sha256_hex


class TokenChecker:
    """Answers "is this bearer token valid?", caching the valid hashes for a few seconds."""

    def __init__(self, db: Database, *, cache_seconds: float = 10.0) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        self._hashes: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    async def _valid_hashes(self) -> frozenset[str]:
        if time.monotonic() - self._loaded_at > self._cache_seconds:
            async with self._db.read() as session:
                rows = await session.scalars(
                    select(ApiTokenRow.token_hash).where(ApiTokenRow.revoked_at.is_(None))
                )
                self._hashes = frozenset(rows.all())
            self._loaded_at = time.monotonic()
        return self._hashes

    async def check(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        presented = sha256_hex(authorization.removeprefix("Bearer ").strip())
        # Compare against every hash so timing does not reveal which prefix matched.
        found = False
        for known in await self._valid_hashes():
            found |= hmac.compare_digest(presented, known)
        return found

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")


async def create_token(db: Database, name: str, now: Callable[[], datetime]) -> str:
    """Create a named token and return its plaintext (shown once, never stored)."""
    token = new_api_token()
    async with db.transaction() as session:
        session.add(ApiTokenRow(name=name, token_hash=sha256_hex(token), created_at=now()))
    return token


async def revoke_token(db: Database, name: str, now: Callable[[], datetime]) -> bool:
    async with db.transaction() as session:
        row = (await session.scalars(select(ApiTokenRow).where(ApiTokenRow.name == name))).first()
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = now()
        return True
