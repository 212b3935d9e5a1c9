"""HTTP in: Mango Office webhooks and the generic call-record API, each request one CallEvent.

Both endpoints follow one order, so nothing is parsed before it is trusted and nothing is
stored before it is valid: size limit → form or JSON framing → authentication (the Mango
signature over the raw ``json`` field, or a bearer token) → JSON → schema → the call sink.
Every refusal is a 4xx JSON body naming the problem; the sink is only called with a valid event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import ValidationError

from channels.base import field_errors
from channels.phone.events import CallDirection, CallOutcome, CallSink
from channels.phone.normalize import generic_event, mango_event
from channels.phone.schemas import CallRecordIn, load_json_object
from channels.phone.settings import MangoSettings
from channels.phone.signature import verify_mango
from channels.phones import normalize_phone

logger = logging.getLogger(__name__)

Authorize = Callable[[str | None], Awaitable[bool]]
MANGO_EVENTS = ("call", "summary", "recording")
_MANGO_FIELDS = ("vpbx_api_key", "sign", "json")


class Rejected(web.HTTPException):
    """A refused request, answered as ``{"error": ..., "fields": {...}}``."""

    def __init__(self, status: int, error: str, fields: Mapping[str, str] | None = None) -> None:
        self.status_code = status
        body = {"error": error, **({"fields": dict(fields)} if fields else {})}
        super().__init__(
            text=json.dumps(body, ensure_ascii=False), content_type="application/json"
        )


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refusing it (413) as soon as it passes ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise Rejected(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_mango_form(body: bytes) -> dict[str, str]:
    """The three form fields, each exactly once (a repeated field is ambiguous: refused)."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=20,
        )
    except UnicodeDecodeError as exc:
        raise Rejected(400, "form body is not valid UTF-8") from exc
    except ValueError as exc:
        raise Rejected(400, f"malformed form body: {exc}") from exc
    form: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name, value in pairs:
        if name in _MANGO_FIELDS and name in form:
            problems[name] = "given more than once"
        form[name] = value
    problems |= {name: "Field required" for name in _MANGO_FIELDS if name not in form}
    if problems:
        raise Rejected(400, "invalid form", problems)
    return {name: form[name] for name in _MANGO_FIELDS}


def outcome_body(outcome: CallOutcome) -> dict[str, object]:
    """The JSON answer: what became of the call so far (the same on a redelivery)."""
    return {
        "outcome": outcome.outcome,
        "ticket_number": outcome.ticket_number,
        "reason": outcome.reason,
    }


class MangoInbound:
    """``POST /phone/mango/events/{call,summary,recording}`` from Mango Office VPBX."""

    def __init__(self, settings: MangoSettings, *, region: str, max_body_bytes: int) -> None:
        if settings.vpbx_api_key is None or settings.vpbx_api_salt is None:
            msg = "Mango webhooks need vpbx_api_key and vpbx_api_salt"
            raise ValueError(msg)
        self._key = settings.vpbx_api_key.get_secret_value()
        self._salt = settings.vpbx_api_salt.get_secret_value()
        self._recording_url = settings.recording_url
        self._region = region
        self._limit = max_body_bytes

    def routes(self, sink: CallSink) -> list[web.RouteDef]:
        """One route per event kind, and a signed no-op for the kinds okno does not use."""
        routes = [
            web.post(f"/phone/mango/events/{kind}", self._handler(kind, sink))
            for kind in MANGO_EVENTS
        ]
        # DTMF, SMS, record/added…: checked and answered, never stored (okno does not use them).
        routes.append(web.post("/phone/mango/events/{other:.+}", self._ignored))
        return routes

    async def _verified_json(self, request: web.Request) -> str:
        if request.content_type != "application/x-www-form-urlencoded":
            raise Rejected(415, "expected Content-Type: application/x-www-form-urlencoded")
        form = parse_mango_form(await read_body(request, self._limit))
        if not verify_mango(
            presented_key=form["vpbx_api_key"],
            presented_sign=form["sign"],
            json_text=form["json"],
            key=self._key,
            salt=self._salt,
        ):
            logger.warning(
                "mango event with a wrong key or signature", extra={"path": request.path}
            )
            raise Rejected(403, "wrong vpbx_api_key or sign")
        return form["json"]

    def _handler(
        self, kind: str, sink: CallSink
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            raw = await self._verified_json(request)
            try:
                data = load_json_object(raw)
            except ValueError as exc:
                raise Rejected(400, f"json: {exc}") from exc
            try:
                event = mango_event(
                    kind, data, region=self._region, recording_url=self._recording_url
                )
            except ValidationError as exc:
                raise Rejected(422, "invalid event", field_errors(exc)) from exc
            return web.json_response(outcome_body(await sink(event)))

        return handle

    async def _ignored(self, request: web.Request) -> web.Response:
        await self._verified_json(request)
        return web.json_response({"outcome": "ignored", "reason": "event kind not used"})


class CallsApiInbound:
    """``POST /api/v1/calls``: a finished call from any PBX, behind a bearer token."""

    def __init__(
        self,
        *,
        region: str,
        max_body_bytes: int,
        authorize: Authorize,
        status_url: Callable[[int], str],
    ) -> None:
        self._region = region
        self._limit = max_body_bytes
        self._authorize = authorize
        self._status_url = status_url

    def routes(self, sink: CallSink) -> list[web.RouteDef]:
        """The one route; its body is validated against :class:`CallRecordIn`."""

        async def handle(request: web.Request) -> web.Response:
            event = generic_event(await self._record(request), region=self._region)
            outcome = await sink(event)
            body = outcome_body(outcome)
            body["status_url"] = (
                self._status_url(outcome.ticket_number) if outcome.ticket_number else None
            )
            return web.json_response(body, status=202)

        return [web.post("/api/v1/calls", handle)]

    async def _record(self, request: web.Request) -> CallRecordIn:
        if not await self._authorize(request.headers.get("Authorization")):
            raise Rejected(401, "missing or invalid bearer token")
        if request.content_type != "application/json":
            raise Rejected(415, "expected Content-Type: application/json")
        raw = await read_body(request, self._limit)
        try:
            data = load_json_object(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise Rejected(400, f"body is not valid UTF-8 (byte {exc.start})") from exc
        except ValueError as exc:
            raise Rejected(400, f"malformed JSON: {exc}") from exc
        try:
            record = CallRecordIn.model_validate(data)
        except ValidationError as exc:
            raise Rejected(422, "invalid request", field_errors(exc)) from exc
        inbound = record.direction == CallDirection.IN.value
        field, number = ("from", record.from_) if inbound else ("to", record.to)
        if normalize_phone(number, self._region) is None:
            problem = f"not a valid phone number (one without + is read as {self._region})"
            raise Rejected(422, "invalid request", {field: problem})
        return record
