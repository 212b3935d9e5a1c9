"""A private Dovecot for the tests: its own config, port and directories under a temp dir.

It accepts any user name with the password :data:`PASSWORD` (static passdb), so each test
logs in as a fresh user and gets an empty mailbox. Mail is stored as an unprivileged user
(Dovecot refuses to deliver as uid 0). Messages go in with IMAP APPEND, as a mail server would.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from aioimaplib import aioimaplib

PASSWORD = "secret"  # a test server on loopback
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_fsync = never
first_valid_uid = 1
{users}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> bool:
    return Path(DOVECOT).exists()


class FakeDovecot:
    """``dovecot -F`` as a child process, stopped by :meth:`stop`."""

    def __init__(self) -> None:
        # World-traversable: Dovecot's unprivileged processes must reach the mail directories.
        self.root = Path(tempfile.mkdtemp(prefix="okno-dovecot-"))
        self.root.chmod(0o755)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def _identity(self) -> tuple[int, int, str]:
        if os.geteuid() != 0:
            user = pwd.getpwuid(os.geteuid()).pw_name
            lines = f"default_login_user = {user}\ndefault_internal_user = {user}"
            return os.geteuid(), os.getegid(), lines
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid, ""

    def start(self) -> None:
        uid, gid, users = self._identity()
        mail = self.root / "mail"
        mail.mkdir()
        os.chown(mail, uid, gid)
        config = self.root / "dovecot.conf"
        config.write_text(
            CONFIG.format(
                root=self.root, port=self.port, uid=uid, gid=gid, users=users, password=PASSWORD
            )
        )
        with (self.root / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=stderr
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("dovecot exited:\n" + self.log())
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not listen:\n" + self.log())

    def log(self) -> str:
        parts = [p.read_text(errors="replace") for p in self.root.glob("*.log") if p.exists()]
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def new_user() -> str:
        return f"u{uuid.uuid4().hex[:12]}"


class ImapClient:
    """A test-side IMAP client: APPEND mail, read flags, count messages."""

    def __init__(self, server: FakeDovecot, user: str, port: int | None = None) -> None:
        self._server = server
        self._user = user
        self._port = port or server.port
        self._client: aioimaplib.IMAP4 | None = None

    async def __aenter__(self) -> ImapClient:
        self._client = aioimaplib.IMAP4(host=self._server.host, port=self._port, timeout=10)
        await self._client.wait_hello_from_server()
        response = await self._client.login(self._user, PASSWORD)
        assert response.result == "OK", response
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._client is not None
        await self._client.logout()

    async def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        assert self._client is not None
        response = await self._client.append(raw, mailbox=mailbox)
        assert response.result == "OK", response

    async def count(self, mailbox: str = "INBOX") -> int:
        """Messages in ``mailbox`` not flagged \\Deleted (SEARCH answers on one line)."""
        assert self._client is not None
        response = await self._client.select(mailbox)
        assert response.result == "OK", response
        found = await self._client.search("NOT", "DELETED", charset=None)
        assert found.result == "OK", found
        return sum(len(bytes(line).split()) for line in found.lines[:-1])

    async def flags(self, mailbox: str = "INBOX") -> list[str]:
        """The FLAGS of every message in ``mailbox``, in order (small folders: aioimaplib
        parses a response recursively, line by line)."""
        assert self._client is not None
        response = await self._client.select(mailbox)
        assert response.result == "OK", response
        if any(bytes(line) == b"0 EXISTS" for line in response.lines):
            return []  # FETCH 1:* on an empty folder is an error
        found = await self._client.fetch("1:*", "(FLAGS)")
        return [
            bytes(line).decode() for line in found.lines if re.match(rb"^\d+ FETCH", bytes(line))
        ]


async def wait_until(predicate: object, within: float = 15.0) -> None:
    """Poll an async predicate until it is true."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        assert callable(predicate)
        if await predicate():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
