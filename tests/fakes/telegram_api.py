"""A fake Telegram Bot API server over HTTP on loopback, for aiogram pointed at it.

Routes ``/bot{token}/{method}`` (form, multipart or JSON bodies) and ``/file/bot{token}/{path}``.
It keeps the state a bot sees — message ids per chat, forum topics, members, files, pending
updates for ``getUpdates`` — records every call with its arrival time, checks what real Telegram
checks (HTML that parses, ≤ 4096 characters, callback data ≤ 64 bytes, live topics) and lets
tests inject failures: 429 with ``retry_after``, "message thread not found", a blocked user.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

SEND_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendAudio", "sendVideo"}
    | {"copyMessage", "forwardMessage", "createForumTopic", "sendMediaGroup"}
)
TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"blockquote", "span", "tg-spoiler", "tg-emoji"}
)
ICON_COLOR = 7322096


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: JSON
    files: dict[str, tuple[str, bytes]]
    at: float  # time.monotonic() on arrival
    ok: bool = False
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return None if value is None else int(value)


@dataclass
class _Failure:
    status: int
    description: str
    methods: frozenset[str] | None
    chat_id: int | None
    times: int | None  # None: until ``until``
    until: float | None = None
    retry_after: int | None = None


@dataclass
class _Topic:
    name: str
    closed: bool = False


@dataclass
class FakeTelegramAPI:
    """The fake server; ``await start()`` then point aiogram at :attr:`base_url`."""

    bot_id: int = 7000000001
    bot_username: str = "okno_test_bot"
    #: The bot's token; requests with another one get 401 as from Telegram. None: any token.
    token: str | None = None
    calls: list[Call] = field(default_factory=list)
    forums: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    members: dict[tuple[int, int], str] = field(default_factory=dict)
    webhook: JSON = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    _ids: defaultdict[int, itertools.count[int]] = field(
        default_factory=lambda: defaultdict(lambda: itertools.count(1000))
    )
    _messages: dict[tuple[int, int], JSON] = field(default_factory=dict)
    _topics: dict[tuple[int, int], _Topic] = field(default_factory=dict)
    _files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    _updates: list[JSON] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(900000001))
    _new_update: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None
    base_url: str = ""

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        self._new_update = asyncio.Condition()
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests arrange ---------------------------------------------------------------

    def fail(
        self,
        *,
        status: int,
        description: str,
        methods: Iterable[str] | None = None,
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """The next ``times`` matching calls fail with this error."""
        chosen = frozenset(methods) if methods is not None else None
        self._failures.append(
            _Failure(status, description, chosen, chat_id, times, retry_after=retry_after)
        )

    def storm(self, seconds: float, *, retry_after: int = 1) -> None:
        """Every send answers 429 for ``seconds`` from now."""
        self._failures.append(
            _Failure(
                429,
                f"Too Many Requests: retry after {retry_after}",
                SEND_METHODS,
                None,
                None,
                until=time.monotonic() + seconds,
                retry_after=retry_after,
            )
        )

    def add_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        self.members[(chat_id, user_id)] = status

    def add_file(self, file_id: str, content: bytes, path: str | None = None) -> None:
        self._files[file_id] = (path or f"files/{file_id}", content)

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        self._topics.pop((chat_id, thread_id), None)

    def topic(self, chat_id: int, thread_id: int) -> _Topic | None:
        return self._topics.get((chat_id, thread_id))

    def topics(self, chat_id: int) -> dict[int, _Topic]:
        return {t: topic for (c, t), topic in self._topics.items() if c == chat_id}

    async def push_update(self, update: JSON) -> int:
        """Queue an update for ``getUpdates``; an id is given when it has none."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        assert self._new_update is not None
        async with self._new_update:
            self._updates.append(update)
            self._new_update.notify_all()
        return int(update["update_id"])

    def pending_updates(self) -> list[JSON]:
        return list(self._updates)

    # -- what tests inspect ---------------------------------------------------------------

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[Call]:
        """Successful calls that put something into a chat, oldest first."""
        return [
            c
            for c in self.calls
            if c.ok
            and (method is None or c.method == method)
            and (method is not None or c.method in SEND_METHODS | {"editMessageText"})
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def texts(self, chat_id: int) -> list[str]:
        """The plain text of every message sent to ``chat_id``."""
        return [
            _plain(str(c.params.get("text") or c.params.get("caption") or ""))
            for c in self.sent(chat_id)
            if c.method in {"sendMessage", "sendPhoto", "sendDocument"}
        ]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        return self._messages.get((chat_id, message_id))

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # -- HTTP -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if self.token is not None and request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params, files = await _read_params(request)
        call = Call(method, params, files, time.monotonic())
        self.calls.append(call)
        failure = self._injected(method, call.chat_id)
        if failure is not None:
            return _error(failure.status, failure.description, failure.retry_after)
        handler = getattr(self, "_m_" + _snake(method), None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(params, files) if method == "getUpdates" else handler(params)
        except _ApiError as exc:
            return _error(exc.status, exc.description)
        call.ok = True
        call.result = result
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        wanted = request.match_info["path"]
        for path, content in self._files.values():
            if path == wanted:
                return web.Response(body=content)
        raise web.HTTPNotFound

    def _injected(self, method: str, chat_id: int | None) -> _Failure | None:
        now = time.monotonic()
        if chat_id is not None and chat_id in self.blocked and method in SEND_METHODS:
            return _Failure(403, "Forbidden: bot was blocked by the user", None, None, 1)
        for failure in list(self._failures):
            if failure.until is not None and now >= failure.until:
                self._failures.remove(failure)
                continue
            if failure.methods is not None and method not in failure.methods:
                continue
            if failure.chat_id is not None and failure.chat_id != chat_id:
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
            return failure
        return None

    # -- methods --------------------------------------------------------------------------

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Helpdesk",
            "username": self.bot_username,
        }

    def _chat(self, chat_id: int) -> JSON:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        chat: JSON = {"id": chat_id, "type": "supergroup", "title": "Agents"}
        if chat_id in self.forums:
            chat["is_forum"] = True
        return chat

    def _new_message(self, params: JSON, **content: Any) -> JSON:
        chat_id = int(params["chat_id"])
        thread = params.get("message_thread_id")
        live = thread is None or (chat_id, int(thread)) in self._topics
        if chat_id in self.forums and not live:
            raise _ApiError(400, "Bad Request: message thread not found")
        markup = _json(params.get("reply_markup"))
        _check_markup(markup)
        message: JSON = {
            "message_id": next(self._ids[chat_id]),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            **content,
        }
        if thread is not None and chat_id in self.forums:
            message["message_thread_id"] = int(thread)
            message["is_topic_message"] = True
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # reply keyboards are not echoed back
        self._messages[(chat_id, message["message_id"])] = {**message, "_html": params}
        return message

    def _m_get_me(self, params: JSON) -> JSON:
        return self._bot_user()

    def _m_send_message(self, params: JSON) -> JSON:
        text = str(params.get("text", ""))
        plain = _check_text(text, params.get("parse_mode"), limit=4096)
        return self._new_message(params, text=plain)

    def _m_send_photo(self, params: JSON) -> JSON:
        caption = _check_text(str(params.get("caption", "")), params.get("parse_mode"), 1024)
        size = len(next(iter(params.get("_files", {}).values()), b""))
        photo = [
            {
                "file_id": f"photo-{len(self._files)}",
                "file_unique_id": "u",
                "width": 1,
                "height": 1,
                "file_size": size,
            }
        ]
        return self._new_message(params, photo=photo, **({"caption": caption} if caption else {}))

    def _m_send_document(self, params: JSON) -> JSON:
        caption = _check_text(str(params.get("caption", "")), params.get("parse_mode"), 1024)
        document = {"file_id": f"doc-{len(self._files)}", "file_unique_id": "u"}
        extra = {"caption": caption} if caption else {}
        return self._new_message(params, document=document, **extra)

    def _m_edit_message_text(self, params: JSON) -> JSON:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        old = self._messages.get((chat_id, message_id))
        if old is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        plain = _check_text(str(params["text"]), params.get("parse_mode"), limit=4096)
        markup = _json(params.get("reply_markup"))
        _check_markup(markup)
        if old.get("text") == plain and old.get("reply_markup") == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same",
            )
        old.update(text=plain, reply_markup=markup, _html=params)
        return {k: v for k, v in old.items() if k != "_html" and v is not None}

    def _m_edit_message_reply_markup(self, params: JSON) -> JSON:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        old = self._messages.get((chat_id, message_id))
        if old is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        markup = _json(params.get("reply_markup"))
        _check_markup(markup)
        old["reply_markup"] = markup
        return {k: v for k, v in old.items() if k != "_html" and v is not None}

    def _m_answer_callback_query(self, params: JSON) -> bool:
        return True

    def _m_create_forum_topic(self, params: JSON) -> JSON:
        chat_id = int(params["chat_id"])
        if chat_id not in self.forums:
            raise _ApiError(400, "Bad Request: the chat is not a forum")
        thread_id = next(self._ids[chat_id])
        self._topics[(chat_id, thread_id)] = _Topic(str(params["name"]))
        return {"message_thread_id": thread_id, "name": params["name"], "icon_color": ICON_COLOR}

    def _topic_of(self, params: JSON) -> _Topic:
        topic = self._topics.get((int(params["chat_id"]), int(params["message_thread_id"])))
        if topic is None:
            raise _ApiError(400, "Bad Request: TOPIC_ID_INVALID")
        return topic

    def _m_close_forum_topic(self, params: JSON) -> bool:
        topic = self._topic_of(params)
        if topic.closed:
            raise _ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic.closed = True
        return True

    def _m_reopen_forum_topic(self, params: JSON) -> bool:
        topic = self._topic_of(params)
        if not topic.closed:
            raise _ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic.closed = False
        return True

    def _m_edit_forum_topic(self, params: JSON) -> bool:
        self._topic_of(params).name = str(params.get("name") or self._topic_of(params).name)
        return True

    def _m_get_chat(self, params: JSON) -> JSON:
        chat = self._chat(int(params["chat_id"]))
        gifts = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription"), False
        )
        gifts["gifts_from_channels"] = False
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _m_get_chat_member(self, params: JSON) -> JSON:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.members.get((chat_id, user_id), "left")
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            rights = (
                "can_be_edited",
                "is_anonymous",
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
                "can_send_welcome_messages",
            )
            member |= dict.fromkeys(rights, False) | {"can_manage_topics": True}
        return member

    def _m_get_file(self, params: JSON) -> JSON:
        file_id = str(params["file_id"])
        if file_id not in self._files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        path, content = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": file_id[-8:],
            "file_size": len(content),
            "file_path": path,
        }

    def _m_set_webhook(self, params: JSON) -> bool:
        self.webhook = dict(params)
        return True

    def _m_get_webhook_info(self, params: JSON) -> JSON:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_delete_webhook(self, params: JSON) -> bool:
        self.webhook = {}
        return True

    def _m_set_my_commands(self, params: JSON) -> bool:
        return True

    def _m_send_chat_action(self, params: JSON) -> bool:
        return True

    def _m_delete_message(self, params: JSON) -> bool:
        self._messages.pop((int(params["chat_id"]), int(params["message_id"])), None)
        return True

    async def _m_get_updates(self, params: JSON, _files: object) -> list[JSON]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        assert self._new_update is not None
        async with self._new_update:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0:
                try:
                    await asyncio.wait_for(self._new_update.wait(), timeout)
                except TimeoutError:
                    return []
            return self._updates[:limit]


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, tuple[str, bytes]]]:
    params: JSON = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        params = dict(await request.json())
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            else:
                params[key] = _json(value) if str(value)[:1] in "[{" else value
    else:
        params = dict(request.query)
    # aiogram names an upload ``attach://<random>``; file it under the parameter it fills.
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            files[key] = files.pop(value[9:])
    if files:
        params["_files"] = {k: v[1] for k, v in files.items()}
    return params, files


def _snake(method: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", method).lower()


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


class _TelegramHtml(HTMLParser):
    """Parses like Telegram: only its tags, properly nested; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.error = self.error or f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'Unmatched end tag "{tag}"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _plain(html: str) -> str:
    parser = _TelegramHtml()
    parser.feed(html)
    parser.close()
    return "".join(parser.text)


def _check_text(text: str, parse_mode: Any, limit: int) -> str:
    plain = text
    if parse_mode == "HTML":
        if re.search(r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", text):
            raise _ApiError(400, "Bad Request: can't parse entities: unescaped ampersand")
        parser = _TelegramHtml()
        parser.feed(text)
        parser.close()
        if parser.error or parser.stack:
            detail = parser.error or f"unclosed tag {parser.stack[-1]}"
            raise _ApiError(400, f"Bad Request: can't parse entities: {detail}")
        plain = "".join(parser.text)
    if len(plain.encode("utf-16-le")) // 2 > limit:
        raise _ApiError(400, "Bad Request: message is too long")
    return plain


def _check_markup(markup: Any) -> None:
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def limit_violations(
    calls: Iterable[Call], *, per_chat: float = 1.0, group_per_minute: int = 20, overall: int = 30
) -> list[str]:
    """Where the accepted sends broke Telegram's limits (by arrival time at this server)."""
    sends = sorted((c for c in calls if c.ok and c.method in SEND_METHODS), key=lambda c: c.at)
    problems: list[str] = []
    by_chat: defaultdict[int, list[float]] = defaultdict(list)
    for call in sends:
        if call.chat_id is not None:
            by_chat[call.chat_id].append(call.at)
    for chat, times in by_chat.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        if gaps and min(gaps) < 1.0 / per_chat:
            problems.append(f"chat {chat}: two messages {min(gaps):.3f} s apart")
        if chat < 0:
            worst = _max_in_window(times, 60.0)
            if worst > group_per_minute:
                problems.append(f"group {chat}: {worst} messages in a minute")
    worst = _max_in_window([c.at for c in sends], 1.0)
    if worst > overall:
        problems.append(f"{worst} messages in one second overall")
    return problems


def _max_in_window(times: list[float], period: float) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - period:
            start += 1
        best = max(best, end - start + 1)
    return best
