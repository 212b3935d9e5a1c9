"""A thin IMAP session over aioimaplib: select, search by UID, fetch, flag/move/delete, IDLE.

aioimaplib leaves a command waiting forever when the connection drops; every call here races
the command against the connection-lost callback and a timeout, so a cut connection surfaces
at once as :class:`ImapError` and the caller reconnects.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from aioimaplib import aioimaplib

from channels.email.settings import AfterStore, ImapSettings, Security

__all__ = ["ImapError", "ImapSession"]

T = TypeVar("T")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(ConnectionError):
    """The server refused a command, or the connection is gone."""


def _uid_set(uids: Sequence[int]) -> str:
    return ",".join(str(u) for u in sorted(uids))


class ImapSession:
    """One logged-in connection with one selected folder."""

    def __init__(self, settings: ImapSettings) -> None:
        self._settings = settings
        self._lost: asyncio.Future[None] | None = None
        self._client: Any = None
        self.uidvalidity = 0

    def _on_lost(self, _exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    async def _call(self, awaitable: Awaitable[T], limit: float | None = None) -> T:
        assert self._lost is not None  # noqa: S101 - open() runs first
        task = asyncio.ensure_future(awaitable)
        limit = self._settings.timeout_seconds if limit is None else limit
        waiting: set[asyncio.Future[Any]] = {task, self._lost}
        done, _ = await asyncio.wait(waiting, timeout=limit, return_when="FIRST_COMPLETED")
        if task in done:
            return task.result()
        task.cancel()
        reason = "connection lost" if self._lost.done() else f"no answer within {limit:.0f}s"
        raise ImapError(f"IMAP {reason}")

    @staticmethod
    def _ok(response: Any, what: str) -> Any:
        if response.result != "OK":
            detail = b" ".join(bytes(line) for line in response.lines[-1:]).decode(
                "ascii", "replace"
            )
            raise ImapError(f"IMAP {what} failed: {response.result} {detail}")
        return response

    async def open(self) -> None:
        """Connect, log in and select the configured folder (reads UIDVALIDITY)."""
        settings = self._settings
        self._lost = asyncio.get_running_loop().create_future()
        context = None
        if settings.security is Security.TLS:
            context = ssl.create_default_context()
            if not settings.verify_certificates:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        self._client = aioimaplib.IMAP4(
            host=settings.host,
            port=settings.port,
            timeout=settings.timeout_seconds,
            conn_lost_cb=self._on_lost,
            ssl_context=context,
        )
        try:
            await self._call(self._client.wait_hello_from_server())
        except (OSError, TimeoutError) as exc:
            raise ImapError(f"IMAP connect to {settings.host}:{settings.port}: {exc}") from exc
        password = settings.password.get_secret_value() if settings.password else ""
        self._ok(await self._call(self._client.login(settings.username, password)), "login")
        if settings.after_store is AfterStore.MOVE:
            # Create the target folder once; "already exists" (NO) is the usual answer.
            await self._call(self._client.create(settings.move_to))
        response = self._ok(await self._call(self._client.select(settings.mailbox)), "select")
        for line in response.lines:
            found = _UIDVALIDITY.search(bytes(line))
            if found:
                self.uidvalidity = int(found.group(1))

    async def search(self, after_uid: int | None) -> list[int]:
        """UIDs above ``after_uid``; before the first run, the unseen ones."""
        criteria = ("UNSEEN",) if after_uid is None else ("UID", f"{after_uid + 1}:*")
        response = self._ok(
            await self._call(self._client.uid_search(*criteria, charset=None)), "search"
        )
        uids: list[int] = []
        for line in response.lines[:-1]:  # the last line is the completion text
            parts = bytes(line).split()
            if parts and parts[0].upper() == b"SEARCH":  # aioimaplib usually strips it
                parts = parts[1:]
            if all(part.isdigit() for part in parts):
                uids.extend(int(part) for part in parts)
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(u for u in set(uids) if after_uid is None or u > after_uid)

    async def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        """``RFC822.SIZE`` of each message, to refuse oversized mail without downloading it."""
        if not uids:
            return {}
        response = self._ok(
            await self._call(self._client.uid("fetch", _uid_set(uids), "(UID RFC822.SIZE)")),
            "fetch sizes",
        )
        found: dict[int, int] = {}
        for line in response.lines:
            uid, size = _UID.search(bytes(line)), _SIZE.search(bytes(line))
            if uid and size:
                found[int(uid.group(1))] = int(size.group(1))
        return found

    async def fetch(self, uids: Sequence[int], part: str = "BODY.PEEK[]") -> dict[int, bytes]:
        """The raw bytes of each message (``PEEK``: fetching must not set ``\\Seen``)."""
        if not uids:
            return {}
        response = self._ok(
            await self._call(self._client.uid("fetch", _uid_set(uids), f"(UID {part})")),
            "fetch",
        )
        found: dict[int, bytes] = {}
        current: int | None = None
        for line in response.lines:
            if isinstance(line, bytearray) and current is not None:
                found[current] = bytes(line)
                current = None
                continue
            uid = _UID.search(bytes(line))
            if uid and bytes(line).rstrip().endswith(b"}"):
                current = int(uid.group(1))
        return found

    async def acknowledge(self, uids: Sequence[int]) -> None:
        """Flag, move or delete messages that are committed (or quarantined)."""
        if not uids:
            return
        uid_set = _uid_set(uids)
        match self._settings.after_store:
            case AfterStore.SEEN:
                response = self._client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Seen)")
                self._ok(await self._call(response), "store \\Seen")
            case AfterStore.MOVE:
                folder = self._settings.move_to
                self._ok(await self._call(self._client.uid("move", uid_set, folder)), "move")
            case AfterStore.DELETE:
                flags = self._client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
                self._ok(await self._call(flags), "store \\Deleted")
                self._ok(await self._call(self._client.uid("expunge", uid_set)), "expunge")

    def supports_idle(self) -> bool:
        return bool(self._settings.idle and self._client.has_capability("IDLE"))

    async def wait(self, seconds: float, stop: asyncio.Event) -> None:
        """Until the server reports a change (IDLE) or ``seconds`` pass (polling), or stop."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            if not self.supports_idle():
                assert self._lost is not None  # noqa: S101
                pending: set[asyncio.Future[Any]] = {stopping, self._lost}
                await asyncio.wait(pending, timeout=seconds, return_when="FIRST_COMPLETED")
                if self._lost.done():
                    raise ImapError("IMAP connection lost")
                return
            idle = await self._call(self._client.idle_start(timeout=seconds))
            push = asyncio.ensure_future(self._client.wait_server_push(timeout=seconds + 5))
            either: set[asyncio.Future[Any]] = {push, stopping}
            await self._call(asyncio.wait(either, return_when="FIRST_COMPLETED"), seconds + 10)
            push.cancel()
            self._client.idle_done()
            await self._call(asyncio.wait_for(idle, timeout=self._settings.timeout_seconds))
        finally:
            stopping.cancel()

    async def close(self) -> None:
        """Log out politely; a dead connection is just dropped."""
        if self._client is None:
            return
        try:
            if self._lost is not None and not self._lost.done():
                await self._call(self._client.logout(), limit=5)
        except (ImapError, aioimaplib.Abort, aioimaplib.Error):
            pass
        finally:
            transport = getattr(self._client.protocol, "transport", None)
            if transport is not None:
                transport.close()
