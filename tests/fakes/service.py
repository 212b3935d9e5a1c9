"""``okno serve`` as a child process, as an operator runs it: for end-to-end tests.

The child gets the test's database, Redis, directories and secret through ``OKNO_*``
variables (``extra_env`` adds a channel's settings) and writes its log to a file that
assertion messages quote.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from okno.settings import Settings

__all__ = ["Service", "free_port"]

# A cold `python -m okno serve` imports aiogram's thousand types: on a busy two-core machine
# that alone has taken 50 s, so readiness gets a generous limit.
READY_WITHIN_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """One ``okno serve`` child process."""

    def __init__(
        self,
        settings: Settings,
        port: int,
        log: Path,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port
        self.log = log
        secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
        self.env = {
            **os.environ,
            "OKNO_DATABASE_URL": settings.database_url,
            "OKNO_HTTP__PORT": str(port),
            "OKNO_SECRET_KEY": secret,
            "OKNO_DATA_DIR": str(settings.data_dir),
            "OKNO_STORAGE__ATTACHMENTS_DIR": str(settings.storage.attachments_dir),
            **(extra_env or {}),
        }
        self.env.pop("OKNO_CONFIG", None)
        if settings.redis_url:
            self.env["OKNO_REDIS_URL"] = settings.redis_url
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "okno", "serve"], env=self.env, stdout=log, stderr=log
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, wait up to ``timeout`` s, then kill; the exit code of a clean stop."""
        if self.process is None:
            return None
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    async def stop_async(self, grace: float = 30) -> int | None:
        """:meth:`stop` without blocking this loop: it may serve fakes the child still calls."""
        return await asyncio.to_thread(self.stop, grace)

    async def wait_ready(self, within: float = READY_WITHIN_SECONDS) -> None:
        deadline = asyncio.get_running_loop().time() + within
        async with aiohttp.ClientSession() as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.base_url}/readyz") as response:
                        if response.status == 200:
                            return
                assert self.process is not None
                assert self.process.poll() is None, self.log.read_text()
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("service did not become ready:\n" + self.log.read_text())
                await asyncio.sleep(0.1)
