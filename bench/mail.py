"""E-mail ingestion rate: 1,000 mixed messages from a private Dovecot to tickets and answers.

The mailbox is filled first (IMAP APPEND, not timed). Then okno is built with the e-mail
channel on (``okno.app.build``; the router, the outbox dispatcher and the ``imap`` runner run
as under ``okno serve``) and the clock runs until every message is stored (a ticket, a comment,
or a quarantine row), every inbox row is routed, and every acknowledgement the outbox planned
has arrived at the aiosmtpd server.

The mix: customer mail in Russian and English (plain, HTML-only, multipart with attachments,
8-bit KOI8-R/Windows-1251 without a charset, quoted replies), real-world mail from
``../shared/data/email`` (given fresh Message-IDs), out-of-office replies and bounces (no
answer), and a few redeliveries of the same Message-ID (one ticket).

Reference: django-helpdesk 2.6.1 ingested 300 messages in 18.9 s (≈ 63 ms per message, with its
acknowledgements) from a local Dovecot on this kind of machine; the floor is 10× that rate.
With ``--helpdesk-venv DIR``, django-helpdesk's ``get_email`` runs in the same bench run on a
second mailbox holding the same mails (it deletes what it reads), from a throwaway virtualenv
at DIR (created with pip when missing: django-helpdesk 2.6.1 and pinax-teams, which its
migrations need), sending its acknowledgements to the same aiosmtpd server.

    .venv/bin/python bench/mail.py                    # SQLite (embedded default)
    .venv/bin/python bench/mail.py --backend postgres # PostgreSQL + Redis (scripts/services.sh)
    .venv/bin/python bench/mail.py --helpdesk-venv /tmp/dh-venv   # and django-helpdesk
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import delete, func, select

from channels.base import InboundMessage
from channels.email.inbound import EmailInbound
from channels.email.settings import EmailSettings, ImapSettings, Security, SmtpSettings
from okno.app import build, freeze_startup_heap, run_router, run_service_loop
from okno.settings import Settings
from tests.fakes.dovecot import PASSWORD, FakeDovecot, ImapClient
from tests.fakes.scratch_db import create_postgres, drop_postgres
from tests.fakes.smtp import FakeSmtp
from ticketing.db import Database, DatabaseSettings
from ticketing.domain import IntakeOutcome, IntakeResult
from ticketing.email_store import SqlEmailStore
from ticketing.migrate import upgrade
from ticketing.models import InboundMessageRow, OutboxRow, TicketRow, utcnow
from ticketing.rows_email import MailboxStateRow, QuarantineRow

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "email"
REFERENCE_MS = 18.9 / 300 * 1000
DESK = "support@desk.example"
PROBLEMS = [
    ("Не работает VPN", "VPN не подключается с утра, ошибка 809, перезагрузка не помогла."),
    ("Не печатает принтер", "Принтер HP в кабинете {n} не печатает, горит оранжевая лампа."),
    ("Ошибка 1С", "При проведении документа в 1С ошибка «нет лицензии» у всего отдела."),
    ("Нет доступа к почте", "Outlook пишет «нет соединения с сервером», веб-почта работает."),
    ("Laptop will not boot", "My laptop shows a black screen after the logo, asset {n}."),
    ("Password reset", "Please reset my domain password, account locked after holiday {n}."),
]


def _customer_mail(n: int, rng: random.Random) -> bytes:
    subject, body = rng.choice(PROBLEMS)
    message = EmailMessage()
    message["From"] = f"Сотрудник {n} <user{n}@corp.example>"
    message["To"] = DESK
    message["Subject"] = f"{subject} #{n}"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<bench-{n}-{uuid.uuid4().hex[:8]}@corp.example>"
    text = body.format(n=n) + f" Заявка номер {n}, уникальный текст {uuid.uuid4().hex}."
    kind = n % 5
    if kind == 0:  # HTML only
        message.set_content(
            f"<html><body><p>{text}</p><p>--<br>Сотрудник {n}</p></body></html>", subtype="html"
        )
    elif kind == 1:  # with a quoted history
        message.set_content(
            f"{text}\n\n-----Исходное сообщение-----\nОт: Поддержка\nКому: x\n"
            f"Отправлено: вчера\nТема: старое\n\nстарый текст\n"
        )
    elif kind == 2:  # with an attachment
        message.set_content(text)
        message.add_attachment(
            rng.randbytes(20_000), maintype="application", subtype="pdf", filename=f"скан-{n}.pdf"
        )
    elif kind == 3:  # 8-bit KOI8-R, no charset (set by hand: EmailMessage would declare one)
        head = (
            f"From: user{n}@corp.example\r\nTo: {DESK}\r\nSubject: koi8 {n}\r\n"
            f"Message-ID: <bench-koi8-{n}@corp.example>\r\nContent-Type: text/plain\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        )
        return head.encode() + text.encode("koi8-r", errors="replace") + b"\r\n"
    else:
        message.set_content(text)
    return bytes(message)


def _corpus_mail(path: Path, n: int) -> bytes:
    # A fresh Message-ID first: the parser takes the first one, so each copy is its own mail.
    return f"Message-ID: <bench-corpus-{n}@bench.example>\r\n".encode() + path.read_bytes()


def _auto_mail(n: int) -> bytes:
    kind = "Auto-Submitted: auto-replied" if n % 2 else "Precedence: bulk"
    return (
        f"From: away{n}@corp.example\r\nTo: {DESK}\r\nSubject: Автоответ: в отпуске\r\n"
        f"Message-ID: <bench-oof-{n}@corp.example>\r\n{kind}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode() + "Я в отпуске до понедельника.\r\n".encode()


HELPDESK_SCRIPT = '''
"""django-helpdesk's get_email on one mailbox, timed (run inside django-helpdesk's own venv)."""
import json, os, sys, time
from pathlib import Path

work, imap_port, smtp_port, user, password = sys.argv[1:6]
Path(work, "bench_settings.py").write_text(f"""
SECRET_KEY = "bench"
DEBUG = False
USE_TZ = True
SITE_ID = 1
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.sites",
    "django.contrib.humanize", "rest_framework", "account", "pinax.invitations",
    "pinax.teams", "reversion", "helpdesk"]
MIDDLEWARE = []
ROOT_URLCONF = "bench_urls"
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3",
    "NAME": {str(Path(work, 'helpdesk.db'))!r}}}}}
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {{"context_processors": ["django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages"]}}}}]
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = {smtp_port}
DEFAULT_FROM_EMAIL = "support@desk.example"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
MEDIA_ROOT = {str(Path(work, 'media'))!r}
LOGGING = {{"version": 1, "disable_existing_loggers": True}}
""")
Path(work, "bench_urls.py").write_text(
    "from django.urls import include, path\\n"
    "urlpatterns = [path('helpdesk/', include('helpdesk.urls', namespace='helpdesk'))]\\n"
)
sys.path.insert(0, work)
os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("loaddata", "emailtemplate", verbosity=0)
from helpdesk.models import Queue, Ticket
Queue.objects.create(title="Support", slug="support", email_address="support@desk.example",
    allow_email_submission=True, email_box_type="imap", email_box_host="127.0.0.1",
    email_box_port=imap_port, email_box_ssl=False, email_box_user=user, email_box_pass=password,
    email_box_imap_folder="INBOX", email_box_interval=0, logging_type="none")
started = time.perf_counter()
call_command("get_email")
seconds = time.perf_counter() - started
print(json.dumps({"seconds": round(seconds, 3), "tickets": Ticket.objects.count()}))
'''


async def run_helpdesk(
    venv: Path, work: Path, *, dovecot: FakeDovecot, user: str, smtp: FakeSmtp
) -> dict[str, Any]:
    """django-helpdesk's ``get_email`` on a mailbox holding the same mails (it deletes them)."""
    python = venv / "bin" / "python"
    if not python.exists():
        await _run(sys.executable, "-m", "venv", str(venv))
        await _run(
            str(python), "-m", "pip", "install", "-q", "django-helpdesk==2.6.1", "pinax-teams"
        )
    script = work / "run_helpdesk.py"
    script.write_text(HELPDESK_SCRIPT)
    before = len(smtp.received)
    output = await _run(
        str(python),
        str(script),
        str(work),
        str(dovecot.port),
        str(smtp.port),
        user,
        PASSWORD,
        cwd=work,
    )
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    async with ImapClient(dovecot, user) as client:
        left = await client.count()
    # It stops at a message it cannot handle and leaves the rest in the box: report the rate
    # per message it did turn into a ticket, and what it left.
    return {
        **result,
        "acknowledgements_received": len(smtp.received) - before,
        "left_in_mailbox": left,
        "ms_per_ticket": round(result["seconds"] / max(result["tickets"], 1) * 1000, 2),
    }


async def _run(*command: str, cwd: Path | None = None) -> str:
    # django-helpdesk saves attachments under MEDIA_ROOT (set) or the working directory.
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=cwd
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {err.decode(errors='replace')[-2000:]}")
    return out.decode()


def build_mix(count: int, seed: int) -> list[bytes]:
    """``count`` mails: ~80 % customer mail, ~10 % real-world corpus, ~7 % auto, ~3 % resent."""
    rng = random.Random(seed)
    corpus = sorted(p for p in CORPUS.rglob("*.eml") if p.stat().st_size < 300_000)
    mails: list[bytes] = []
    while len(mails) < count:
        n = len(mails)
        roll = rng.random()
        if roll < 0.10 and corpus:
            mails.append(_corpus_mail(rng.choice(corpus), n))
        elif roll < 0.17:
            mails.append(_auto_mail(n))
        elif roll < 0.20 and mails:
            mails.append(rng.choice(mails))  # redelivered: the same bytes again
        else:
            mails.append(_customer_mail(n, rng))
    return mails


async def fill(dovecot: FakeDovecot, user: str, mails: list[bytes]) -> float:
    started = time.perf_counter()
    async with ImapClient(dovecot, user) as client:
        for raw in mails:
            await client.append(raw)
    return time.perf_counter() - started


def settings_for(
    args: argparse.Namespace,
    tmp: Path,
    *,
    dovecot: FakeDovecot,
    user: str,
    smtp: FakeSmtp,
    database_url: str,
) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=args.redis_url if args.backend == "postgres" else None,
        secret_key=SecretStr("bench-secret-" + "x" * 32),
        data_dir=tmp / "var",
        storage={"attachments_dir": tmp / "attachments"},
        logging={"level": "WARNING"},
        email=EmailSettings(
            enabled=True,
            address=DESK,
            imap=ImapSettings(
                host=dovecot.host,
                port=dovecot.port,
                security=Security.NONE,
                username=user,
                password=SecretStr(PASSWORD),
                poll_seconds=0.2,
                idle_seconds=5,
            ),
            smtp=SmtpSettings(host=smtp.host, port=smtp.port, security=Security.NONE),
            auto_replies_per_hour=1000,
            auto_replies_per_day=1000,
        ),
    )


async def counts(db: Database) -> dict[str, int]:
    """Progress in one query: the bench polls it in the measured process, so keep it cheap."""
    columns = {
        "inbox": select(func.count()).select_from(InboundMessageRow),
        "inbox_pending": select(func.count()).where(InboundMessageRow.state == "pending"),
        "tickets": select(func.count()).select_from(TicketRow),
        "outbox": select(func.count()).select_from(OutboxRow),
        "outbox_pending": select(func.count()).where(OutboxRow.state == "pending"),
        "outbox_sent": select(func.count()).where(OutboxRow.state == "sent"),
        "quarantined": select(func.count()).select_from(QuarantineRow),
    }
    stmt = select(*(query.scalar_subquery().label(name) for name, query in columns.items()))
    async with db.read() as session:
        row = (await session.execute(stmt)).one()
    return {name: int(value or 0) for name, value in row._mapping.items()}


async def run_okno(
    settings: Settings,
    smtp: FakeSmtp,
    distinct: int,
    limit: float,
    profiler: cProfile.Profile | None = None,
) -> dict[str, Any]:
    db = Database(settings.database)
    async with build(settings, metrics_registry=CollectorRegistry()) as okno:
        freeze_startup_heap()  # as `okno serve` does once started
        stop = asyncio.Event()
        started = time.perf_counter()
        cpu_started = time.process_time()
        if profiler is not None:
            profiler.enable()
        tasks = [
            asyncio.create_task(run_router(okno, stop)),
            asyncio.create_task(okno.dispatcher.run(stop)),
            asyncio.create_task(okno.runners["imap"](stop)),
        ]
        try:
            while True:
                now = await counts(db)
                stored = now["inbox"] + now["quarantined"]
                if (
                    stored >= distinct
                    and now["inbox_pending"] == 0
                    and now["outbox_pending"] == 0
                    and len(smtp.received) >= now["outbox_sent"]
                ):
                    break
                if time.perf_counter() - started > limit:
                    raise TimeoutError(f"not done after {limit}s: {now}")
                await asyncio.sleep(0.05)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        finally:
            if profiler is not None:
                profiler.disable()
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    await db.dispose()
    return {
        "seconds": round(seconds, 3),
        # This process's CPU (okno and the aiosmtpd thread; Dovecot is another process): on a
        # shared machine the wall time says how busy it was, this what the work itself cost.
        "cpu_seconds": round(cpu, 3),
        **now,
        "smtp_received": len(smtp.received),
    }


async def run_adapter_only(settings: Settings, count: int) -> dict[str, Any]:
    """The channel alone: IMAP fetch, parse, \\Seen, UID progress; the intake answers at once.

    Tells the adapter's own cost apart from the router's (ticket, dedup, outbox).
    """
    db = Database(settings.database)
    accepted = 0

    async def sink(message: InboundMessage) -> IntakeResult:
        nonlocal accepted
        accepted += 1
        return IntakeResult(outcome=IntakeOutcome.QUEUED, ticket_number=None)

    inbound = EmailInbound(
        settings.email, store=SqlEmailStore(db), now=utcnow, max_attachment_bytes=10 * 2**20
    )
    stop = asyncio.Event()
    # Another user's INBOX, perhaps with the same UIDVALIDITY (Dovecot uses the creation
    # second): forget the okno run's progress, or this run would wait for UIDs past its own.
    async with db.transaction() as session:
        await session.execute(delete(MailboxStateRow))
    before = (await counts(db))["quarantined"]
    started = time.perf_counter()
    task = asyncio.create_task(inbound.run(sink, stop))
    while True:
        quarantined = (await counts(db))["quarantined"] - before
        if accepted + quarantined >= count:
            break
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - started
    stop.set()
    await task
    await db.dispose()
    return {"seconds": round(seconds, 3), "ms_per_message": round(seconds / count * 1000, 2)}


async def database_for(args: argparse.Namespace, tmp: Path) -> str:
    if args.backend == "postgres":
        return await create_postgres(args.postgres_url, "okno_bench_email")
    url = f"sqlite+aiosqlite:///{tmp / 'okno.db'}"
    db = Database(DatabaseSettings(url=url))
    await upgrade(db.engine)
    await db.dispose()
    return url


async def drop_database(args: argparse.Namespace, url: str) -> None:
    if args.backend == "postgres":
        await drop_postgres(args.postgres_url, url)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    mails = build_mix(args.count, args.seed)
    distinct = len(set(mails))
    dovecot, smtp = FakeDovecot(), FakeSmtp()
    dovecot.start()
    smtp.start()
    try:
        with tempfile.TemporaryDirectory(prefix="okno-bench-email-") as scratch:
            tmp = Path(scratch)
            user = dovecot.new_user()
            append_seconds = await fill(dovecot, user, mails)
            helpdesk_user, adapter_user = dovecot.new_user(), dovecot.new_user()
            if args.helpdesk_venv is not None:
                await fill(dovecot, helpdesk_user, mails)
            await fill(dovecot, adapter_user, mails)
            url = await database_for(args, tmp)
            try:
                settings = settings_for(
                    args, tmp, dovecot=dovecot, user=user, smtp=smtp, database_url=url
                )
                profiler = cProfile.Profile() if args.profile else None
                result = await run_okno(settings, smtp, distinct, args.limit, profiler)
                if profiler is not None:
                    profiler.dump_stats(args.profile)
                adapter_settings = settings_for(
                    args, tmp, dovecot=dovecot, user=adapter_user, smtp=smtp, database_url=url
                )
                adapter = await run_adapter_only(adapter_settings, len(mails))
            finally:
                await drop_database(args, url)
            helpdesk = None
            if args.helpdesk_venv is not None:
                helpdesk = await run_helpdesk(
                    args.helpdesk_venv, tmp, dovecot=dovecot, user=helpdesk_user, smtp=smtp
                )
    finally:
        smtp.stop()
        dovecot.stop()
    per_message = result["seconds"] / len(mails) * 1000
    cpu_per_message = result["cpu_seconds"] / len(mails) * 1000
    return {
        "bench": "email",
        "backend": args.backend,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "messages": len(mails),
        "distinct_message_ids": distinct,
        "append_seconds_untimed": round(append_seconds, 3),
        **result,
        "ms_per_message": round(per_message, 2),
        "cpu_ms_per_message": round(cpu_per_message, 2),
        "messages_per_second": round(len(mails) / result["seconds"], 1),
        "reference_ms_per_message": round(REFERENCE_MS, 1),
        "speedup_vs_reference": round(REFERENCE_MS / per_message, 1),
        "floor_10x_met": REFERENCE_MS / per_message >= 10,
        "adapter_only": adapter,
        "django_helpdesk": None
        if helpdesk is None
        else {
            **helpdesk,
            "okno_speedup_per_message": round(helpdesk["ms_per_ticket"] / per_message, 1),
        },
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--limit", type=float, default=600.0, help="give up after seconds")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="cProfile the timed okno run into this file (read it with pstats)",
    )
    parser.add_argument(
        "--helpdesk-venv",
        type=Path,
        default=None,
        help="also run django-helpdesk 2.6.1 get_email from this throwaway virtualenv "
        "(created with pip when missing; never the project's .venv)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    output = run_service_loop(main(parse_args()))  # uvloop, as `okno serve` runs
    print(json.dumps(output, ensure_ascii=False, indent=2))
