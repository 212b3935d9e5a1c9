"""Telegram: outbound throughput under the flood limiter, and update-to-acknowledgement latency.

Both run against the fake Bot API (``tests/fakes/telegram_api.py``) served from its own thread
and event loop, so the arrival times it records are not skewed by the sender's own loop.

* ``outbound``: ``--messages`` notifications to ``--chats`` private chats (several per chat)
  sent at once through ``TelegramOutbound`` with Telegram's limits (30/s overall, 1/s per chat).
  Reported: messages per second as the fake saw them arrive, its share of the 30/s limit
  (target ≥ 95 %), the most messages in any one-second window, and the smallest gap between
  two messages to one chat (must be ≥ 1 s) — all from the fake server's timestamps.
* ``acknowledgement``: the real service (okno built from settings, webhook route in its HTTP
  app, router, notify dispatcher, telegram role) on a scratch SQLite database (or
  ``--database-url``); ``--updates`` private messages from distinct users are POSTed to the
  webhook ``--concurrency`` at a time; latency runs from the POST to the moment the fake
  receives the acknowledgement (``Заявка #N принята``). Reported: p50/p99/max in ms.

    .venv/bin/python -P bench/telegram.py                    # both, about 40 seconds
    .venv/bin/python -P bench/telegram.py --part outbound --messages 900
    .venv/bin/python -P bench/telegram.py --part outbound --processes 3 \
        --redis-url redis://127.0.0.1:6379/14          # three processes sharing the limits

Writes ``bench/results/telegram.json`` and prints the same JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis.asyncio import Redis

from channels.base import OutboundMessage, ReplyAddress
from channels.telegram.adapter import TelegramOutbound
from channels.telegram.sender import TelegramSender
from channels.telegram.session import build_bot, limiter_for
from channels.telegram.settings import TelegramMode, TelegramSettings
from okno.app import build, build_web_app, run_router
from okno.settings import Settings
from tests.fakes.telegram_api import Call, FakeTelegramAPI, limit_violations
from ticketing.db import Database, DatabaseSettings
from ticketing.domain import ChannelKind
from ticketing.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH"  # noqa: S105 - the fake Bot API takes any token
SECRET = "bench-webhook-secret"  # noqa: S105 - a local bench
OVERALL_LIMIT = 30


@contextlib.contextmanager
def fake_in_thread() -> Iterator[FakeTelegramAPI]:
    """The fake Bot API on its own loop in a thread; its records are read after the run."""
    fake = FakeTelegramAPI()
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(fake.close())
        loop.close()

    thread = threading.Thread(target=serve, name="fake-bot-api", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield fake
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


# -- outbound throughput ----------------------------------------------------------------------


def _most_in_window(times: list[float], period: float) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def _min_gap_per_chat(calls: list[Call]) -> float:
    by_chat: dict[int | None, list[float]] = {}
    for call in calls:
        by_chat.setdefault(call.chat_id, []).append(call.at)
    gaps = [b - a for times in by_chat.values() for a, b in itertools.pairwise(times)]
    return min(gaps) if gaps else float("inf")


async def outbound(
    messages: int, chats: int, *, processes: int = 1, redis_url: str | None = None
) -> dict[str, Any]:
    """``processes`` senders of one bot, each with its own limiter (and Redis connection): with
    ``redis_url`` they share the limits as okno's processes do; without, each has its own."""
    with fake_in_thread() as fake:
        settings = TelegramSettings(
            enabled=True, token=SecretStr(TOKEN), api_base_url=fake.base_url
        )
        clients = [Redis.from_url(redis_url) for _ in range(processes)] if redis_url else []
        bots = [
            build_bot(settings, limiter_for(settings, clients[n] if clients else None))
            for n in range(processes)
        ]
        senders = [TelegramOutbound(TelegramSender(bot)) for bot in bots]
        started = time.monotonic()
        await asyncio.gather(
            *(
                senders[n % processes].send(
                    OutboundMessage(
                        idempotency_key=f"bench:{n}",
                        recipient=ReplyAddress(
                            channel=ChannelKind.TELEGRAM, address=str(1_000_000 + n % chats)
                        ),
                        text=f"Заявка #{n} принята",
                        html=f"<b>Заявка #{n} принята</b>",
                    )
                )
                for n in range(messages)
            )
        )
        elapsed = time.monotonic() - started
        for bot in bots:
            await bot.session.close()
        for client in clients:
            await client.aclose()
        sent = sorted(
            (c for c in fake.calls if c.ok and c.method == "sendMessage"), key=lambda c: c.at
        )
    times = [c.at for c in sent]
    rate = (len(times) - 1) / (times[-1] - times[0])
    return {
        "messages": len(sent),
        "chats": chats,
        "processes": processes,
        "limiter": "redis" if redis_url else "memory",
        "messages_per_s": round(rate, 2),
        "share_of_overall_limit": round(rate / OVERALL_LIMIT, 3),
        "target_share": 0.95,
        "max_in_any_1s_window": _most_in_window(times, 1.0),
        "min_gap_in_one_chat_s": round(_min_gap_per_chat(sent), 3),
        "limit_violations": limit_violations(sent),
        "sender_elapsed_s": round(elapsed, 2),
    }


# -- update → acknowledgement latency ---------------------------------------------------------


@contextlib.asynccontextmanager
async def service(fake: FakeTelegramAPI, database_url: str | None) -> AsyncIterator[str]:
    """okno with Telegram in webhook mode, serving HTTP on a free port; yields the webhook URL."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        url = database_url or f"sqlite+aiosqlite:///{root / 'okno.db'}"
        db = Database(DatabaseSettings(url=url))
        await upgrade(db.engine)
        await db.dispose()
        settings = Settings(
            database_url=url,
            secret_key=SecretStr("bench-" + "x" * 40),
            data_dir=root / "var",
            storage={"attachments_dir": root / "files"},
            telegram=TelegramSettings(
                enabled=True,
                token=SecretStr(TOKEN),
                api_base_url=fake.base_url,
                mode=TelegramMode.WEBHOOK,
                webhook_secret=SecretStr(SECRET),
            ),
        )
        stop = asyncio.Event()
        async with build(settings, metrics_registry=CollectorRegistry()) as okno:
            from aiohttp import web  # noqa: PLC0415 - only here

            runner = web.AppRunner(build_web_app(okno), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            tasks = [
                asyncio.create_task(run_router(okno, stop)),
                asyncio.create_task(okno.dispatcher.run(stop)),
                asyncio.create_task(okno.runners["telegram"](stop)),
            ]
            try:
                yield f"http://127.0.0.1:{port}{settings.telegram.webhook_path}"
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                await runner.cleanup()


def _update(n: int) -> dict[str, Any]:
    user = {"id": 3_000_000 + n, "is_bot": False, "first_name": f"User{n}", "language_code": "ru"}
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    return {
        "update_id": 600_000_000 + n,
        "message": {
            "message_id": 1,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": f"Не работает стенд номер {n}",
        },
    }


async def acknowledgement(
    updates: int, concurrency: int, database_url: str | None
) -> dict[str, Any]:
    with fake_in_thread() as fake:
        async with service(fake, database_url) as url, aiohttp.ClientSession() as http:
            posted: dict[int, float] = {}
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(updates):
                queue.put_nowait(n)

            async def client() -> None:
                while not queue.empty():
                    n = queue.get_nowait()
                    posted[3_000_000 + n] = time.monotonic()
                    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                    async with http.post(url, json=_update(n), headers=headers) as response:
                        assert response.status == 200, await response.text()

            await asyncio.gather(*(client() for _ in range(concurrency)))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                acks = {
                    c.chat_id: c.at
                    for c in list(fake.calls)
                    if c.ok and c.method == "sendMessage" and c.chat_id in posted
                }
                if len(acks) == updates:
                    break
                await asyncio.sleep(0.1)
    latencies = sorted((acks[chat] - posted[chat]) * 1000 for chat in acks)
    return {
        "updates": updates,
        "acknowledged": len(latencies),
        "concurrency": concurrency,
        "backend": "postgresql" if database_url else "sqlite",
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[max(int(len(latencies) * 0.99) - 1, 0)], 1),
        "max_ms": round(latencies[-1], 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--part", choices=["all", "outbound", "acknowledgement"], default="all")
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--processes", type=int, default=1, help="outbound: senders of one bot (each a limiter)"
    )
    parser.add_argument(
        "--redis-url", default=None, help="outbound: share the limits through this Redis db"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}
    if args.part in {"all", "outbound"}:
        result["outbound"] = await outbound(
            args.messages, args.chats, processes=args.processes, redis_url=args.redis_url
        )
    if args.part in {"all", "acknowledgement"}:
        result["acknowledgement"] = await acknowledgement(
            args.updates, args.concurrency, args.database_url
        )
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "telegram.json").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
