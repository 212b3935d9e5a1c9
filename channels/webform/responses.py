"""HTTP helpers the form (and the status page) share: safe responses and the client's IP."""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from aiohttp import web

# Pages use inline CSS only: no scripts, images, frames or foreign form targets.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _harden(response: web.Response, retry_after: float | None) -> web.Response:
    # Pages may carry a private status link: never cache them, never leak them as a referrer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex"
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after_seconds(retry_after))
    return response


def retry_after_seconds(seconds: float) -> int:
    """A ``Retry-After`` value: whole seconds, at least one."""
    return max(math.ceil(seconds), 1)


def html_response(
    body: str, *, status: int = 200, retry_after: float | None = None
) -> web.Response:
    """An HTML page with security headers."""
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return _harden(response, retry_after)


def json_response(
    data: dict[str, Any], *, status: int = 200, retry_after: float | None = None
) -> web.Response:
    """A JSON document with security headers."""
    return _harden(web.json_response(data, status=status), retry_after)


def client_ip(request: web.Request, *, trust_forwarded_for: bool) -> str:
    """The client's address: the first ``X-Forwarded-For`` hop when the proxy is trusted."""
    if trust_forwarded_for:
        first = request.headers.get("X-Forwarded-For", "").split(",", 1)[0].strip()
        try:
            return str(ipaddress.ip_address(first))
        except ValueError:
            pass
    return request.remote or "unknown"
