"""Logging set-up: readable lines for people, JSON lines for log collectors."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from okno.settings import LoggingSettings


def configure_logging(settings: LoggingSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.json_output:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(_ExtraFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    # aiohttp's access log repeats what /metrics counts; keep it at WARNING.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class _ExtraFormatter(logging.Formatter):
    """``time level logger: message key=value …`` with the record's ``extra`` fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line
