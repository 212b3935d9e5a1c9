"""Every ORM table of the installation, on one metadata.

The ticket core's rows live in ``ticketing.models``; a part that needs tables of its own (chat
cards, mailbox state, SLA timers, calls) keeps them in a ``ticketing.rows_<part>`` module.
Alembic and the test setup call :func:`load_all_models` so all of them are registered.
"""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData

import ticketing
from ticketing.models import Base


def load_all_models() -> MetaData:
    for module in pkgutil.iter_modules(ticketing.__path__):
        if module.name.startswith("rows_"):
            importlib.import_module(f"ticketing.{module.name}")
    return Base.metadata
