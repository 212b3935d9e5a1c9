"""Content-addressed attachment storage on disk: ``<root>/ab/cd/<sha256>``.

Writing the same content twice is a no-op, so storing before the inbox commit is safe to retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path


class AttachmentTooLargeError(ValueError):
    def __init__(self, filename: str, size: int, limit: int) -> None:
        super().__init__(f"attachment {filename!r} is {size} bytes; the limit is {limit} bytes")
        self.filename = filename


class FileStore:
    """Stores blobs under their SHA-256; safe against partial writes (write, fsync, rename)."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self._root = root
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            msg = "not a sha256 hex digest"
            raise ValueError(msg)
        return self._root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, filename: str, content: bytes) -> str:
        """Store ``content`` and return its SHA-256 hex digest."""
        if len(content) > self.max_bytes:
            raise AttachmentTooLargeError(filename, len(content), self.max_bytes)
        return await asyncio.to_thread(self._put_sync, content)

    def _put_sync(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    async def read(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self.path_for(sha256).read_bytes)
