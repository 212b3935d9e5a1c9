"""Reading a submission off the wire with hard limits: multipart, urlencoded or JSON.

Bodies are read in chunks against a budget, so an oversized upload is cut off rather than
buffered: the first file over the per-file limit stops the reading. Text must be valid UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, unquote

from aiohttp import BodyPartReader, web

from channels.base import InboundAttachment
from channels.webform.normalize import FieldError, Limits

CHUNK = 64 * 1024
FIELD_BYTES = 256 * 1024  # a 20,000-character Cyrillic description is ~40 KB of UTF-8
FIELDS_BUDGET = 1024 * 1024
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/]")


class BodyError(Exception):
    """The body as a whole is unacceptable (status, message code, parameters)."""

    def __init__(self, status: int, code: str, **params: object) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.params = params


@dataclass(slots=True)
class Upload:
    """What was read: field values, attachments, and per-field problems found on the way."""

    values: dict[str, object] = field(default_factory=dict)
    attachments: list[InboundAttachment] = field(default_factory=list)
    errors: dict[str, FieldError] = field(default_factory=dict)
    status: int = 200


def safe_filename(raw: str) -> str:
    """The last path segment without control characters, at most 255 characters.

    Browsers send UTF-8 names as is (escaping only ``"``, CR and LF as ``%22``, ``%0D``,
    ``%0A``); some clients percent-encode the whole name. An all-ASCII name is unquoted.
    """
    name = raw.encode("utf-8", "replace").decode("utf-8")
    if name.isascii() and "%" in name:
        with contextlib.suppress(UnicodeDecodeError):
            name = unquote(name, errors="strict")
    name = name.replace("\\", "/")
    name = _UNSAFE_NAME.sub("", PurePosixPath(name).name).strip(" .") or "file"
    if len(name) > 255:
        suffix = PurePosixPath(name).suffix[:20]
        name = name[: 255 - len(suffix)] + suffix
    return name


def safe_content_type(raw: str | None) -> str:
    value = (raw or "").split(";", 1)[0].strip().lower()
    return value if _CONTENT_TYPE.fullmatch(value) else "application/octet-stream"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError(400, "encoding") from error


async def read_capped(request: web.Request, cap: int) -> bytes:
    """The whole body, or :class:`BodyError` 413 as soon as it passes ``cap`` bytes."""
    if request.content_length is not None and request.content_length > cap:
        raise BodyError(413, "too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > cap:
            raise BodyError(413, "too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: web.Request, limits: Limits) -> Upload:
    """Read ``multipart/form-data`` or ``application/x-www-form-urlencoded``."""
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request, limits)
    if request.content_type == "application/x-www-form-urlencoded":
        text = _decode(await read_capped(request, FIELDS_BUDGET))
        try:
            pairs = parse_qsl(text, encoding="utf-8", errors="strict")
        except UnicodeDecodeError as error:
            raise BodyError(400, "encoding") from error
        upload = Upload()
        for key, value in pairs:
            upload.values.setdefault(key, value)
        return upload
    raise BodyError(415, "content_type", content_type=request.content_type)


async def _read_part(part: BodyPartReader, cap: int) -> bytes | None:
    """The part's bytes, or None once it passes ``cap`` (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_multipart(request: web.Request, limits: Limits) -> Upload:
    upload = Upload()
    reader = await request.multipart()
    fields_read = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BodyError(400, "content_type", content_type="nested multipart")
        if part.filename is not None:
            if not await _add_file(upload, part, limits):
                return upload
            continue
        data = await _read_part(part, FIELD_BYTES)
        fields_read += len(data or b"")
        if data is None or fields_read > FIELDS_BUDGET:
            raise BodyError(413, "too_large")
        if part.name:
            upload.values.setdefault(part.name, _decode(data))
    return upload


async def _add_file(upload: Upload, part: BodyPartReader, limits: Limits) -> bool:
    """Read one file part into ``upload``; False when reading must stop (a limit was hit)."""
    filename = safe_filename(part.filename or "")
    content = await _read_part(part, limits.max_attachment_bytes)
    if content is None:
        upload.errors["files"] = FieldError(
            "file_too_large", {"filename": filename, "size": limits.max_attachment_bytes}
        )
        upload.status = 413
        return False
    if not content and not part.filename:
        return True  # an empty file input: the visitor chose no file
    if len(upload.attachments) >= limits.max_attachments:
        upload.errors["files"] = FieldError("too_many_files", {"count": limits.max_attachments})
        upload.status = 400
        return False
    upload.attachments.append(
        InboundAttachment(
            filename=filename,
            content_type=safe_content_type(part.headers.get("Content-Type")),
            content=content,
        )
    )
    return True


async def read_json(request: web.Request, limits: Limits) -> Upload:
    """Read a JSON object; ``attachments`` is a list of ``{filename, content_type,
    content_base64}``."""
    if request.content_type != "application/json":
        raise BodyError(415, "content_type", content_type=request.content_type)
    files_budget = (limits.max_attachments * limits.max_attachment_bytes * 4) // 3 + 4
    text = _decode(await read_capped(request, files_budget + FIELDS_BUDGET))
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise BodyError(400, "json") from error
    if not isinstance(document, dict):
        raise BodyError(400, "json")
    upload = Upload(values={k: v for k, v in document.items() if k != "attachments"})
    items = document.get("attachments") or []
    if not isinstance(items, list):
        upload.errors["attachments"] = FieldError("attachment_invalid", {"index": 1})
        upload.status = 400
    elif len(items) > limits.max_attachments:
        upload.errors["attachments"] = FieldError(
            "too_many_files", {"count": limits.max_attachments}
        )
        upload.status = 400
    else:
        for index, item in enumerate(items, start=1):
            if not _add_json_file(upload, item, index, limits):
                break
    return upload


def _add_json_file(upload: Upload, item: object, index: int, limits: Limits) -> bool:
    filename, content_type, encoded = (
        (item.get("filename"), item.get("content_type"), item.get("content_base64"))
        if isinstance(item, dict)
        else (None, None, None)
    )
    content: bytes | None = None
    if isinstance(filename, str) and isinstance(encoded, str) and filename.strip():
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            content = None
    if content is None or not isinstance(content_type, str | None):
        upload.errors["attachments"] = FieldError("attachment_invalid", {"index": index})
        upload.status = 400
        return False
    name = safe_filename(str(filename))
    if len(content) > limits.max_attachment_bytes:
        upload.errors["attachments"] = FieldError(
            "file_too_large", {"filename": name, "size": limits.max_attachment_bytes}
        )
        upload.status = 413
        return False
    upload.attachments.append(
        InboundAttachment(
            filename=name, content_type=safe_content_type(content_type), content=content
        )
    )
    return True
