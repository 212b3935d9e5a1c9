"""A TCP proxy the test controls: forwards to a server, and can cut a connection mid-stream."""

from __future__ import annotations

import asyncio
import contextlib

from tests.fakes.dovecot import free_port


class CuttingProxy:
    """Forwards 127.0.0.1:``port`` to the target; ``cut_after(n)`` drops the next session.

    The cut happens once the server has sent ``n`` bytes to the client in one connection,
    which puts it in the middle of a FETCH of a large message.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._cut_after: int | None = None
        self.cuts = 0
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def cut_after(self, server_bytes: int) -> None:
        self._cut_after = server_bytes

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in self._tasks:
            task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        limit, self._cut_after = self._cut_after, None
        done = asyncio.Event()

        async def pump(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, down: bool
        ) -> None:
            total = 0
            try:
                while data := await source.read(4096):
                    total += len(data)
                    if down and limit is not None and total >= limit:
                        sink.write(data[: max(0, len(data) - (total - limit))])
                        self.cuts += 1
                        break
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                done.set()

        for task in (
            asyncio.create_task(pump(reader, up_writer, down=False)),
            asyncio.create_task(pump(up_reader, writer, down=True)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await done.wait()
        for stream in (writer, up_writer):
            # abort, not close: the client must see the connection vanish mid-answer.
            transport = stream.transport
            with contextlib.suppress(Exception):
                transport.abort()
