"""A fake Telegram Bot API server on 127.0.0.1 that the real python-telegram-bot talks to.

It parses form-urlencoded, JSON and multipart bodies, checks every call against the
Bot API spec (`<repo>/../shared/specs/telegram-bot-api.json`), answers with realistic
objects and fresh file_ids, records calls and uploaded bytes, and can be scripted to
fail (429 with retry_after, 413, Bot API 400/403 strings, 5xx, hangs) or to enforce
Telegram's flood limits by answering 429.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
import io
import itertools
import json
import math
from pathlib import Path
import re
import time
from typing import Any
import uuid

from aiohttp import web

from .telegram_inbound import ApiAnswer, InboundApiMixin

TEST_TOKEN = "123456:TEST-TOKEN"
SPEC_PATH = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs"
SPEC_FILE = SPEC_PATH / "telegram-bot-api.json"

CHAT_NOT_FOUND = "Bad Request: chat not found"
BOT_BLOCKED = "Forbidden: bot was blocked by the user"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
FILE_ID_UNAVAILABLE = (
    "Bad Request: wrong file_id or the file is temporarily unavailable"
)
TYPE_MISMATCH = "Bad Request: type of file mismatch"
TOO_LARGE = "Request Entity Too Large"
MESSAGE_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"

# Methods that post a message into a chat; they count against the flood limits.
SEND_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendVideo", "sendDocument", "sendMediaGroup"}
)
MEDIA_FIELDS = {"sendPhoto": "photo", "sendVideo": "video", "sendDocument": "document"}
FILE_ID_PREFIX = {"photo": "AgAC", "video": "BAAC", "document": "BQAC"}
ALLOWED_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
        "pre", "span", "tg-spoiler", "tg-emoji", "blockquote",
    }
)  # fmt: skip
TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


@dataclass(frozen=True, slots=True)
class FakeRateLimits:
    """Flood limits the fake enforces (scale the durations for quick benchmarks)."""

    per_chat_interval: float = 1.0
    group_max: int = 20
    group_window: float = 60.0
    global_max: int = 30
    global_window: float = 1.0


@dataclass
class RecordedCall:
    """One request the fake answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    content_type: str
    status: int = 200
    description: str | None = None
    at: float = 0.0

    @property
    def upload_bytes(self) -> int:
        """Return how many file bytes this call uploaded."""
        return sum(len(data) for data in self.files.values())


@dataclass
class Scripted:
    """A failure the fake answers with for the next matching calls."""

    status: int
    description: str
    method: str | None = None
    chat_id: str | None = None
    times: int = 1
    retry_after: int | None = None
    hang: float | None = None
    # Hang after the call took effect (delivered), as a lost answer does.
    hang_after: bool = False

    def matches(self, method: str, chat_id: str | None) -> bool:
        """Return whether this failure applies to a call."""
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass
class StoredFile:
    """What a file_id stands for."""

    kind: str
    size: int
    stale: bool = False


class SpecViolation(Exception):
    """A request does not follow the Bot API spec."""


class ApiError(Exception):
    """A Bot API error answer (status and the exact description)."""

    def __init__(self, status: int, description: str) -> None:
        """Keep the HTTP status and description."""
        super().__init__(description)
        self.status = status
        self.description = description


def load_spec(path: Path = SPEC_FILE) -> dict[str, Any] | None:
    """Return the Bot API spec, or None (with a printed note) when it is absent."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"telegram fake: {path} not found, spec checks skipped")
        return None


class FakeTelegramServer(InboundApiMixin):
    """The fake Bot API; use as `async with FakeTelegramServer() as server:`."""

    def __init__(
        self,
        *,
        token: str = TEST_TOKEN,
        bot_id: int = 123456,
        username: str = "notify_bridge_test_bot",
        spec_path: Path = SPEC_FILE,
        enforce_limits: bool = False,
        rate_limits: FakeRateLimits | None = None,
        upload_limit: int = 50 * 1024 * 1024,
        photo_limit: int = 10 * 1024 * 1024,
    ) -> None:
        """Configure the fake; nothing listens until `start`."""
        self.token = token
        self.bot_id = bot_id
        self.username = username
        self.spec = load_spec(spec_path)
        self.enforce_limits = enforce_limits
        self.rate_limits = rate_limits or FakeRateLimits()
        self.upload_limit = upload_limit
        self.photo_limit = photo_limit
        self.calls: list[RecordedCall] = []
        self.spec_violations: list[str] = []
        self.scripted: list[Scripted] = []
        self.files: dict[str, StoredFile] = {}
        self.missing_chats: set[str] = set()
        self.blocked_chats: set[str] = set()
        self.migrated_chats: dict[str, int] = {}
        # Seconds each media download takes (a slow media server).
        self.media_delay = 0.0
        self.media_requests = 0
        self.updates: list[dict[str, Any]] = []
        self.webhook_url = ""
        self.commands: list[dict[str, Any]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.rate_limited = 0
        self._message_ids = itertools.count(1)
        self._chat_sends: dict[str, float] = {}
        self._group_sends: dict[str, deque[float]] = {}
        self._global_sends: deque[float] = deque()
        self._closing = asyncio.Event()
        self._hanging = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._init_inbound()

    # ---- lifecycle -------------------------------------------------------------

    async def start(self) -> FakeTelegramServer:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=self.upload_limit * 2)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/media/{name}", self._serve_media)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        """Stop listening; hanging handlers are released first."""
        self._closing.set()
        await self._idle.wait()  # let released handlers answer first
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        """Start on entering the context."""
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        """Close on leaving the context."""
        await self.close()

    @property
    def base_url(self) -> str:
        """Return the `base_url` for `telegram.Bot`."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def api_root(self) -> str:
        """Return the root URL (what a self-hosted `api_base_url` would be)."""
        return f"http://127.0.0.1:{self.port}"

    # ---- scripting -------------------------------------------------------------

    def fail_next(
        self,
        description: str,
        *,
        status: int = 400,
        method: str | None = None,
        chat_id: int | str | None = None,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next `times` matching calls with an error."""
        self.scripted.append(
            Scripted(
                status=status,
                description=description,
                method=method,
                chat_id=None if chat_id is None else str(chat_id),
                times=times,
                retry_after=retry_after,
            )
        )

    def hang_next(self, seconds: float, *, method: str | None = None) -> None:
        """Answer the next matching call only after `seconds` (client times out)."""
        self.scripted.append(
            Scripted(status=200, description="", method=method, hang=seconds)
        )

    def deliver_then_hang(self, seconds: float, *, method: str | None = None) -> None:
        """Deliver the next matching call, then answer only after `seconds`.

        What Telegram does when the answer is lost: the message is in the chat, the
        client sees a timeout.
        """
        self.scripted.append(
            Scripted(
                status=200, description="", method=method, hang=seconds, hang_after=True
            )
        )

    def migrate_chat(self, chat_id: int | str, new_chat_id: int) -> None:
        """Turn a group into a supergroup: sends to the old id answer migrate_to."""
        self.migrated_chats[str(chat_id)] = new_chat_id

    def invalidate_file_ids(self) -> None:
        """Make every file_id issued so far stale, as after a server-side purge."""
        for stored in self.files.values():
            stored.stale = True

    def add_media(
        self, name: str, data: bytes, content_type: str = "image/jpeg"
    ) -> str:
        """Serve `data` at a URL on this server (for download tests)."""
        self.media[name] = (data, content_type)
        return f"http://127.0.0.1:{self.port}/media/{name}"

    # ---- figures ---------------------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Return the successful calls of one method."""
        return [c for c in self.calls if c.method == method and c.status == 200]

    @property
    def uploaded_bytes(self) -> int:
        """Return the file bytes received by successful calls."""
        return sum(c.upload_bytes for c in self.calls if c.status == 200)

    @property
    def messages(self) -> list[RecordedCall]:
        """Return the successful send calls."""
        return [c for c in self.calls if c.method in SEND_METHODS and c.status == 200]

    # ---- request handling ------------------------------------------------------

    async def _serve_media(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.media:
            raise web.HTTPNotFound
        data, content_type = self.media[name]
        self.media_requests += 1
        if self.media_delay:
            await asyncio.sleep(self.media_delay)
        return web.Response(body=data, content_type=content_type)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params, files, content_type = await _parse_body(request)
        call = RecordedCall(method, params, files, content_type, at=time.monotonic())
        self.calls.append(call)
        status, body = await self._answer(call)
        call.status = status
        if status != 200:
            call.description = body.get("description")
        return web.json_response(body, status=status)

    async def _answer(self, call: RecordedCall) -> tuple[int, dict[str, Any]]:
        chat = _chat_key(call.params.get("chat_id"))
        scripted = self._take_scripted(call.method, chat)
        if scripted is not None and scripted.hang_after:
            answer = await self._answer_call(call, chat)
            await self._hang(scripted.hang or 0.0)
            return answer
        if scripted is not None and scripted.hang is not None:
            await self._hang(scripted.hang)
        elif scripted is not None:
            return _failure(scripted.status, scripted.description, scripted.retry_after)
        return await self._answer_call(call, chat)

    async def _answer_call(
        self, call: RecordedCall, chat: str | None
    ) -> tuple[int, dict[str, Any]]:
        try:
            self._check_spec(call)
        except SpecViolation as err:
            self.spec_violations.append(f"{call.method}: {err}")
            return _failure(400, f"Bad Request: {err}")
        if call.upload_bytes > self.upload_limit:
            return _failure(413, TOO_LARGE)
        if call.method in SEND_METHODS:
            refusal = self._refuse_send(call, chat)
            if refusal is not None:
                return refusal
        try:
            await self._before_result(call)
            result = self._result(call)
        except (ApiError, ApiAnswer) as err:
            return _failure(err.status, err.description)
        return 200, {"ok": True, "result": result}

    async def _hang(self, seconds: float) -> None:
        self._hanging += 1
        self._idle.clear()
        try:
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        except TimeoutError:
            pass
        finally:
            self._hanging -= 1
            if not self._hanging:
                self._idle.set()

    def _take_scripted(self, method: str, chat: str | None) -> Scripted | None:
        for scripted in self.scripted:
            if scripted.matches(method, chat):
                scripted.times -= 1
                if scripted.times <= 0:
                    self.scripted.remove(scripted)
                return scripted
        return None

    def _refuse_send(  # noqa: PLR0911 - one answer per refusal Telegram gives
        self, call: RecordedCall, chat: str | None
    ) -> tuple[int, dict[str, Any]] | None:
        assert chat is not None  # the spec check made chat_id required
        if chat in self.missing_chats:
            return _failure(400, CHAT_NOT_FOUND)
        if chat in self.blocked_chats:
            return _failure(403, BOT_BLOCKED)
        if chat in self.migrated_chats:
            status, body = _failure(400, MIGRATED)
            body["parameters"] = {"migrate_to_chat_id": self.migrated_chats[chat]}
            return status, body
        # Topic 1 is the General topic; Telegram rejects it as a thread id.
        if str(call.params.get("message_thread_id")) == "1":
            return _failure(400, THREAD_NOT_FOUND)
        problem = _check_content(call)
        if problem is not None:
            return _failure(400, problem)
        # Telegram counts every item of an album as one message.
        weight = len(call.params.get("media") or ()) or 1
        if self.enforce_limits:
            wait = self._flood_wait(chat, weight)
            if wait > 0:
                self.rate_limited += 1
                retry = max(1, math.ceil(wait))
                return _failure(429, f"Too Many Requests: retry after {retry}", retry)
            self._record_send(chat, weight)
        return None

    # ---- flood limits ------------------------------------------------------------

    def _flood_wait(self, chat: str, weight: int = 1) -> float:
        """Return how long this chat must still wait; 0 when the send is allowed."""
        now = time.monotonic()
        limits = self.rate_limits
        waits = [0.0]
        last = self._chat_sends.get(chat)
        if last is not None:
            waits.append(last + limits.per_chat_interval - now)
        if _is_group(chat):
            window = self._group_sends.setdefault(chat, deque())
            _expire(window, now - limits.group_window)
            if len(window) + weight > limits.group_max:
                waits.append(
                    _frees_at(window, weight, limits.group_max)
                    + limits.group_window
                    - now
                )
        _expire(self._global_sends, now - limits.global_window)
        if len(self._global_sends) + weight > limits.global_max:
            waits.append(
                _frees_at(self._global_sends, weight, limits.global_max)
                + limits.global_window
                - now
            )
        return max(waits)

    def _record_send(self, chat: str, weight: int = 1) -> None:
        now = time.monotonic()
        self._chat_sends[chat] = now
        if _is_group(chat):
            self._group_sends.setdefault(chat, deque()).extend([now] * weight)
        self._global_sends.extend([now] * weight)

    # ---- spec checks -------------------------------------------------------------

    def _check_spec(self, call: RecordedCall) -> None:
        if self.spec is None:
            # Without the spec, form values are decoded by their look.
            if call.content_type != "application/json":
                call.params = {k: _decode(v) for k, v in call.params.items()}
            return
        methods = self.spec["methods"]
        if call.method not in methods:
            raise SpecViolation(f"unknown method {call.method}")
        fields = {f["name"]: f for f in methods[call.method].get("fields", [])}
        used_parts: set[str] = set()
        for name, value in list(call.params.items()):
            if name not in fields:
                raise SpecViolation(f"unknown field {name}")
            call.params[name] = self._check_value(
                name, value, fields[name]["types"], call, used_parts
            )
        for name in set(call.files) - set(call.params):
            if name in fields and "InputFile" in fields[name]["types"]:
                used_parts.add(name)
        for name, spec_field in fields.items():
            present = name in call.params or name in call.files
            if spec_field["required"] and not present:
                raise SpecViolation(f"missing required field {name}")
        unreferenced = set(call.files) - used_parts
        if unreferenced:
            raise SpecViolation(
                f"multipart parts not referenced: {sorted(unreferenced)}"
            )

    def _check_value(
        self,
        name: str,
        value: Any,
        types: list[str],
        call: RecordedCall,
        used_parts: set[str],
    ) -> Any:
        """Check a top-level value; return it decoded (form values are text)."""
        if "InputFile" in types and str(value).startswith("attach://"):
            _check_attach(value, call, used_parts)
            return value
        if len(types) > 1 and all(t.startswith("Array of ") for t in types):
            # "Array of A | Array of B" lets elements mix (photos and videos).
            element_types = " or ".join(t.removeprefix("Array of ") for t in types)
            types = [f"Array of {element_types}"]
        errors = []
        # Non-text types first, so a form value "42" for Integer|String is a number.
        for type_name in sorted(types, key=lambda t: t == "String"):
            candidate = value
            if call.content_type != "application/json" and isinstance(value, str):
                candidate = _from_form(value, type_name)
            try:
                self._check_type(candidate, type_name, call, used_parts)
            except SpecViolation as err:
                errors.append(str(err))
            else:
                return candidate
        raise SpecViolation(f"field {name}: {'; '.join(errors)}")

    def _check_type(
        self, value: Any, type_name: str, call: RecordedCall, used_parts: set[str]
    ) -> None:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                raise SpecViolation(f"expected {type_name}")
            for item in value:
                self._check_any(item, type_name[9:].split(" or "), call, used_parts)
            return
        simple = _SIMPLE_TYPES.get(type_name)
        if simple is not None:
            if not simple(value):
                raise SpecViolation(f"expected {type_name}, got {value!r:.40}")
            return
        if type_name == "InputFile":
            _check_attach(value, call, used_parts)
            return
        if not isinstance(value, dict):
            raise SpecViolation(f"expected {type_name} object")
        self._check_object(value, type_name, call, used_parts)

    def _check_any(
        self, value: Any, types: list[str], call: RecordedCall, used_parts: set[str]
    ) -> None:
        errors = []
        for type_name in types:
            try:
                self._check_type(value, type_name, call, used_parts)
            except SpecViolation as err:
                errors.append(str(err))
            else:
                return
        raise SpecViolation("; ".join(errors))

    def _check_object(
        self,
        value: dict[str, Any],
        type_name: str,
        call: RecordedCall,
        used_parts: set[str],
    ) -> None:
        spec_type = self.spec["types"].get(type_name) if self.spec else None
        if spec_type is None or "fields" not in spec_type:
            return  # abstract types (BotCommandScope...): shape is checked loosely
        fields = {f["name"]: f for f in spec_type["fields"]}
        expected_kind = _media_kind(type_name)
        if expected_kind and value.get("type") != expected_kind:
            raise SpecViolation(f"{type_name} needs type {expected_kind!r}")
        for key, item in value.items():
            if key not in fields:
                raise SpecViolation(f"unknown field {type_name}.{key}")
            if key in ("media", "thumbnail") and isinstance(item, str):
                _check_media_reference(item, call, used_parts)
                continue
            self._check_type(item, fields[key]["types"][0], call, used_parts)
        for key, spec_field in fields.items():
            if spec_field["required"] and key not in value:
                raise SpecViolation(f"missing {type_name}.{key}")

    # ---- results -----------------------------------------------------------------

    def _result(self, call: RecordedCall) -> Any:
        if call.method in MEDIA_FIELDS:
            return self._media_message(call, MEDIA_FIELDS[call.method])
        handler = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "sendMessage": self._send_message,
            "sendMediaGroup": self._media_group,
            **self._inbound_handlers(),
        }.get(call.method)
        return True if handler is None else handler(call)

    def _get_me(self, _call: RecordedCall) -> dict[str, Any]:
        return self._user()

    def _send_message(self, call: RecordedCall) -> dict[str, Any]:
        return self._message(call, text=call.params["text"])

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Notify Bridge Test",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message(self, call: RecordedCall, **content: Any) -> dict[str, Any]:
        chat_id = call.params["chat_id"]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": self._user(),
            **{k: v for k, v in content.items() if v is not None},
        }
        thread = call.params.get("message_thread_id")
        if thread is not None:
            message["message_thread_id"] = int(thread)
            message["is_topic_message"] = True
        self.remember_message(chat_id, message)
        return message

    def _media_message(self, call: RecordedCall, kind: str) -> dict[str, Any]:
        value = call.params.get(kind)
        data = _resolve_file(value, call.files.get(kind), call)
        media = self._file_object(kind, value, data)
        return self._message(call, caption=call.params.get("caption"), **{kind: media})

    def _media_group(self, call: RecordedCall) -> list[dict[str, Any]]:
        items = call.params["media"]
        if not 2 <= len(items) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the group")
        kinds = {item["type"] for item in items}
        if "document" in kinds and kinds != {"document"}:
            raise ApiError(
                400, "Bad Request: document can't be mixed with other media types"
            )
        messages = []
        group_id = str(uuid.uuid4().int)[:18]
        for item in items:
            data = _resolve_file(item["media"], None, call)
            media = self._file_object(item["type"], item["media"], data)
            message = self._message(
                call, caption=item.get("caption"), **{item["type"]: media}
            )
            message["media_group_id"] = group_id
            messages.append(message)
        return messages

    def _file_object(self, kind: str, value: Any, data: bytes | None) -> Any:
        if data is None:
            stored = self.files.get(value)
            if stored is None:
                raise ApiError(400, WRONG_FILE_ID)
            if stored.stale:
                raise ApiError(400, FILE_ID_UNAVAILABLE)
            if stored.kind != kind:
                raise ApiError(400, TYPE_MISMATCH)
            file_id, size = value, stored.size
        else:
            if kind == "photo" and len(data) > self.photo_limit:
                raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
            file_id = f"{FILE_ID_PREFIX[kind]}{uuid.uuid4().hex}"
            size = len(data)
            self.files[file_id] = StoredFile(kind, size)
        unique = f"AQAD{uuid.uuid5(uuid.NAMESPACE_OID, file_id).hex[:16]}"
        width, height = _dimensions(data)
        base = {"file_id": file_id, "file_unique_id": unique, "file_size": size}
        if kind == "photo":
            thumb = {**base, "file_id": file_id + "s", "width": 90, "height": 90}
            return [thumb, {**base, "width": width, "height": height}]
        if kind == "video":
            return {**base, "width": width, "height": height, "duration": 3}
        return {
            **base,
            "file_name": "file.bin",
            "mime_type": "application/octet-stream",
        }


# ---- helpers ---------------------------------------------------------------------


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SIMPLE_TYPES = {
    "String": lambda v: isinstance(v, str),
    "Integer": _is_int,
    "Boolean": _is_bool,
    "Float": _is_float,
    "True": lambda v: v is True,
}


async def _parse_body(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, bytes], str]:
    """Return (params, files, content type); form values stay text for now."""
    content_type = request.content_type
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None:
                files[part.name] = bytes(await part.read())
            else:
                params[part.name] = await part.text()
    elif request.can_read_body:
        form = await request.post()
        params.update({k: str(v) for k, v in form.items()})
    return params, files, content_type


def _from_form(value: str, type_name: str) -> Any:
    """Decode a form value as the spec type would need it; text stays text."""
    if type_name in ("String", "InputFile"):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _decode(value: Any) -> Any:
    """Decode one form value: JSON when it is JSON (numbers, objects), else text."""
    if not isinstance(value, str):
        return value
    if (
        value[:1] in '[{"'
        or value in ("true", "false")
        or re.fullmatch(r"-?\d+(\.\d+)?", value)
    ):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _media_kind(type_name: str) -> str | None:
    """Return the `type` value an InputMedia* object must carry ("live_photo"...)."""
    if not type_name.startswith("InputMedia") or type_name == "InputMedia":
        return None
    return re.sub(
        r"(?<!^)([A-Z])", r"_\1", type_name.removeprefix("InputMedia")
    ).lower()


def _check_attach(value: Any, call: RecordedCall, used_parts: set[str]) -> None:
    if not isinstance(value, str) or not value.startswith("attach://"):
        raise SpecViolation("expected InputFile")
    _check_media_reference(value, call, used_parts)


def _check_media_reference(value: str, call: RecordedCall, used: set[str]) -> None:
    if value.startswith("attach://"):
        name = value.removeprefix("attach://")
        if name not in call.files:
            raise SpecViolation(f"attach://{name} has no multipart part")
        used.add(name)


def _resolve_file(value: Any, part: bytes | None, call: RecordedCall) -> bytes | None:
    """Return uploaded bytes for a media value, or None when it is a file_id."""
    if part is not None:
        return part
    if isinstance(value, str) and value.startswith("attach://"):
        return call.files[value.removeprefix("attach://")]
    return None


def _check_content(call: RecordedCall) -> str | None:
    params = call.params
    text = params.get("text")
    if isinstance(text, str) and len(text) > 4096:
        return MESSAGE_TOO_LONG
    captioned = [params, *[m for m in params.get("media") or [] if isinstance(m, dict)]]
    for holder in captioned:
        problem = _caption_problem(holder)
        if problem:
            return problem
    # Telegram reads parse mode names in any case.
    html_text = _is_html(params.get("parse_mode")) and isinstance(text, str)
    if html_text and (problem := html_problem(text)):
        return f"Bad Request: can't parse entities: {problem}"
    return None


def _caption_problem(holder: dict[str, Any]) -> str | None:
    caption = holder.get("caption")
    if not isinstance(caption, str):
        return None
    if len(caption) > 1024:
        return CAPTION_TOO_LONG
    if _is_html(holder.get("parse_mode")) and (problem := html_problem(caption)):
        return f"Bad Request: can't parse entities: {problem}"
    return None


def _is_html(parse_mode: Any) -> bool:
    return isinstance(parse_mode, str) and parse_mode.lower() == "html"


def html_problem(text: str) -> str | None:
    """Return why Telegram would reject `text` as HTML, or None."""
    stack: list[str] = []
    position = 0
    for match in TAG_RE.finditer(text):
        problem = _plain_problem(text, position, match.start())
        if problem:
            return problem
        position = match.end()
        closing, tag = match.group(1), match.group(2).lower()
        if tag not in ALLOWED_HTML_TAGS:
            return f'Unsupported start tag "{tag}" at byte offset {match.start()}'
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            return f'Can\'t find end tag corresponding to start tag "{tag}"'
    problem = _plain_problem(text, position, len(text))
    if problem:
        return problem
    if stack:
        return f'Can\'t find end tag corresponding to start tag "{stack[-1]}"'
    return None


def _plain_problem(text: str, start: int, end: int) -> str | None:
    segment = text[start:end]
    if "<" in segment or ">" in segment:
        offset = start + min(
            i for i in (segment.find("<"), segment.find(">")) if i >= 0
        )
        return f"Unsupported start tag at byte offset {offset}"
    for index, char in enumerate(segment):
        if char == "&" and not ENTITY_RE.match(segment, index):
            return f"Unsupported entity at byte offset {start + index}"
    return None


def _chat_key(chat_id: Any) -> str | None:
    return None if chat_id is None else str(chat_id)


def _is_group(chat: str) -> bool:
    return chat.startswith(("-", "@"))


def _chat(chat_id: Any) -> dict[str, Any]:
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        return {"id": -1001000000000 - len(chat_id), "type": "channel",
                "title": chat_id[1:], "username": chat_id[1:]}  # fmt: skip
    chat_id = int(chat_id)
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Group", "is_forum": True}
    return {"id": chat_id, "type": "private", "first_name": "User"}


def _expire(window: deque[float], horizon: float) -> None:
    while window and window[0] <= horizon:
        window.popleft()


def _dimensions(data: bytes | None) -> tuple[int, int]:
    if data:
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                return image.size
        except OSError, ValueError:
            pass
    return 800, 600


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


def _frees_at(window: deque[float], weight: int, size: int) -> float:
    """Return the stamp whose expiry makes room for `weight` more messages."""
    index = min(len(window) - 1, max(0, len(window) + weight - size - 1))
    return window[index]


def _failure(
    status: int, description: str, retry_after: int | None = None
) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": status,
        "description": description,
    }
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return status, body


__all__ = [
    "BOT_BLOCKED",
    "CHAT_NOT_FOUND",
    "FILE_ID_UNAVAILABLE",
    "TEST_TOKEN",
    "THREAD_NOT_FOUND",
    "WRONG_FILE_ID",
    "FakeRateLimits",
    "FakeTelegramServer",
    "RecordedCall",
    "make_jpeg",
]


def make_jpeg(width: int = 64, height: int = 48, *, noise: bool = False) -> bytes:
    """Return a real JPEG of the given size (noise makes it large, as photos are)."""
    from PIL import Image

    if noise:
        size = width * height * 3
        pattern = bytes((i * 97) % 256 for i in range(251))
        image = Image.frombytes(
            "RGB", (width, height), (pattern * (size // 251 + 1))[:size]
        )
    else:
        image = Image.new("RGB", (width, height), (200, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()
