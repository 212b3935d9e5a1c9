"""The OpenAPI 3.1 document served at ``/api/v1/openapi.json``, built from the API's models."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from channels.phone.schemas import CallRecordIn
from okno.api.schemas import (
    CommentIn,
    MessageIn,
    MessageOut,
    StatusIn,
    TicketDetailOut,
    TicketListOut,
    TicketOut,
)

_MODELS: tuple[type[BaseModel], ...] = (
    MessageIn,
    MessageOut,
    CommentIn,
    StatusIn,
    TicketOut,
    TicketDetailOut,
    TicketListOut,
    CallRecordIn,
)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _responses(ok: int, model: type[BaseModel], *errors: int) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(ok): {"description": "OK", "content": {"application/json": {"schema": _ref(model)}}}
    }
    for status in (401, *errors):
        responses[str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


FORM_SCHEMA = {
    "type": "object",
    "required": ["name", "subject", "description"],
    "properties": {
        "submission_id": {"type": "string", "description": "idempotency key; generated if absent"},
        "name": {"type": "string", "maxLength": 200},
        "email": {
            "type": "string",
            "format": "email",
            "description": "email or phone is required",
        },
        "phone": {"type": "string", "description": "any format; normalised to E.164"},
        "service": {"type": "string", "description": "an id from the service catalog"},
        "subject": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "minLength": 10, "maxLength": 20000},
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["filename", "content_base64"],
                "properties": {
                    "filename": {"type": "string"},
                    "content_type": {"type": "string"},
                    "content_base64": {"type": "string", "contentEncoding": "base64"},
                },
            },
        },
    },
}

NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}

CALL_OUT_SCHEMA = {
    "type": "object",
    "required": ["outcome", "ticket_number"],
    "properties": {
        "outcome": {
            "type": "string",
            "enum": ["created", "logged", "queued", "ignored"],
            "description": "created: a call-back (or call) ticket; logged: noted on the "
            "caller's open ticket; queued: the ticket is being made; ignored: recorded only",
        },
        "ticket_number": {"type": ["integer", "null"]},
        "status_url": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"], "description": "why a call was only recorded"},
    },
}


@cache
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(m, "validation") for m in _MODELS], ref_template="#/components/schemas/{model}"
    )
    components = dict(schemas.get("$defs", {}))
    components["Error"] = ERROR_SCHEMA
    components["FormIn"] = FORM_SCHEMA
    components["CallOut"] = CALL_OUT_SCHEMA
    list_params = [
        {"name": n, "in": "query", "required": False, "schema": {"type": t}}
        for n, t in (
            ("status", "string"),
            ("priority", "string"),
            ("channel", "string"),
            ("assignee", "string"),
            ("team", "string"),
            ("service", "string"),
            ("requester_id", "integer"),
            ("before", "integer"),
            ("limit", "integer"),
        )
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": "okno API", "version": "1"},
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/messages": {
                "post": {
                    "summary": "Submit a message from any channel (idempotent per external_id)",
                    "requestBody": _body(MessageIn),
                    "responses": _responses(202, MessageOut, 400, 413, 415, 422),
                }
            },
            "/api/v1/calls": {
                "post": {
                    "summary": "Log a finished call from any PBX (idempotent per call_id; served "
                    "when phone.enabled): a missed inbound call opens a call-back ticket unless "
                    "the caller has an open one, where it is logged",
                    "requestBody": _body(CallRecordIn),
                    "responses": {
                        **_responses(202, CallRecordIn, 400, 413, 415, 422),
                        "202": {
                            "description": "Accepted",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/CallOut"}
                                }
                            },
                        },
                    },
                }
            },
            "/api/v1/form": {
                "post": {
                    "summary": "The web form as JSON for embedding (no token; rate-limited)",
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/FormIn"}}
                        },
                    },
                    "responses": {
                        "202": {"description": "Accepted: ticket_number, outcome, status_url"},
                        "400": {
                            "description": "Error",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        },
                        "413": {"description": "Attachment too large"},
                        "415": {"description": "Not JSON"},
                        "422": {
                            "description": "Error",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        },
                        "429": {"description": "Rate limited; see Retry-After"},
                    },
                }
            },
            "/api/v1/tickets": {
                "get": {
                    "summary": "List tickets, newest first, with filters",
                    "parameters": list_params,
                    "responses": _responses(200, TicketListOut, 400),
                }
            },
            "/api/v1/tickets/{number}": {
                "get": {
                    "summary": "A ticket with its comments and events",
                    "parameters": [NUMBER],
                    "responses": _responses(200, TicketDetailOut, 404),
                }
            },
            "/api/v1/tickets/{number}/comments": {
                "post": {
                    "summary": "Add an agent's public reply or private note",
                    "parameters": [NUMBER],
                    "requestBody": _body(CommentIn),
                    "responses": _responses(201, TicketOut, 404, 422),
                }
            },
            "/api/v1/tickets/{number}/status": {
                "post": {
                    "summary": "Change the status (the state machine decides what is allowed)",
                    "parameters": [NUMBER],
                    "requestBody": _body(StatusIn),
                    "responses": _responses(200, TicketOut, 404, 409, 422),
                }
            },
        },
    }
