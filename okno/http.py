"""Health, readiness and metrics endpoints, and the error middleware of the HTTP app."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from sqlalchemy import text

from okno.api.errors import json_error
from ticketing.db import Database

logger = logging.getLogger(__name__)


class HttpShell:
    def __init__(
        self, *, db: Database, redis: Redis | None, metrics_registry: CollectorRegistry
    ) -> None:
        self._db = db
        self._redis = redis
        self._registry = metrics_registry

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.get("/metrics", self.metrics),
        ]

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            async with self._db.read() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {exc.__class__.__name__}"
        if self._redis is not None:
            try:
                await self._redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"error: {exc.__class__.__name__}"
        ready = all(v == "ok" for v in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=200 if ready else 503,
        )

    async def metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    @web.middleware
    async def error_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Unexpected errors become a JSON 500 on the API, logged with the request path."""
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            logger.exception("unhandled error", extra={"path": request.path})
            if request.path.startswith("/api/"):
                return json_error(500, "internal error")
            raise
        return response
