from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ticketing.files import AttachmentTooLargeError, FileStore


async def test_content_is_stored_once_under_its_sha256(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=1000)
    first = await store.put("a.txt", b"hello")
    second = await store.put("b.txt", b"hello")
    assert first == second == hashlib.sha256(b"hello").hexdigest()
    assert await store.read(first) == b"hello"
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


async def test_put_is_refused_when_content_exceeds_the_limit(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=4)
    with pytest.raises(AttachmentTooLargeError, match=r"big\.bin"):
        await store.put("big.bin", b"12345")
    assert not any(tmp_path.rglob("*"))


def test_path_for_rejects_anything_but_a_digest(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=4)
    with pytest.raises(ValueError, match="sha256"):
        store.path_for("../../etc/passwd")
