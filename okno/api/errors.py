"""JSON errors that name the problem: every 4xx body is ``{"error": ..., "fields": {...}}``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from channels.base import field_errors

ModelT = TypeVar("ModelT", bound=BaseModel)


def json_error(
    status: int, error: str, fields: Mapping[str, str] | None = None, **extra: Any
) -> web.Response:
    body: dict[str, Any] = {"error": error, **extra}
    if fields:
        body["fields"] = dict(fields)
    return web.json_response(body, status=status)


class ApiError(web.HTTPException):
    """Raised inside handlers; rendered as a JSON error response."""

    def __init__(self, status: int, error: str, fields: Mapping[str, str] | None = None) -> None:
        self.status_code = status
        super().__init__(
            text=json.dumps({"error": error, **({"fields": dict(fields)} if fields else {})}),
            content_type="application/json",
        )


async def parse_json(request: web.Request, model: type[ModelT]) -> ModelT:
    """Read and validate a JSON body; malformed input becomes a 4xx naming the problem."""
    if request.content_type != "application/json":
        raise ApiError(415, "expected Content-Type: application/json")
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid request", field_errors(exc)) from exc
