"""python-telegram-bot requests through an httpx client the bot does not own.

Home Assistant shares one httpx client per TLS setting (`helpers.httpx_client`); the
platinum rule `inject-websession` asks integrations to use it. PTB's own HTTPXRequest
builds a private client instead, which loads the CA bundle on the event loop (a
blocking call HA reports) and keeps another connection pool per bot.

This request class also raises Telegram's flood-control answer itself, as a
`RetryAfter` that carries plain seconds: PTB's own RetryAfter reads its deprecated
int/timedelta property while it is being built, which warns on every 429.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
import json
from typing import Any

import httpx
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

# What a request may take when the caller gives no timeout (seconds).
DEFAULT_TIMEOUT = 30.0
# Uploads get longer to write than plain calls.
MEDIA_WRITE_FACTOR = 4
HTTP_TOO_MANY_REQUESTS = 429
# PTB marks "no timeout given" with instances of its (private) DefaultValue class.
_DEFAULT_TYPE = type(BaseRequest.DEFAULT_NONE)


class FloodWaitError(RetryAfter):
    """Telegram's 429, with the wait in seconds (`seconds`).

    Built without RetryAfter.__init__, which reads the deprecated `retry_after`
    property; the stored value is still set the way each PTB version keeps it, so
    code that reads `retry_after` keeps working.
    """

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        """Create the error for a wait of `seconds`."""
        TelegramError.__init__(
            self, f"Flood control exceeded. Retry in {seconds:g} seconds"
        )
        self.seconds = float(seconds)
        # PTB >= 22.2 stores a timedelta in `_retry_after`; 22.1 an int in
        # `retry_after`. Only one of the two slots exists.
        with suppress(AttributeError):
            self._retry_after = timedelta(seconds=seconds)
        with suppress(AttributeError):
            self.retry_after = int(seconds)  # type: ignore[misc]


class NotSentError(NetworkError):
    """The request never reached the server (no connection): safe to send again."""


class NotSentTimeoutError(TimedOut):
    """Connecting (or waiting for a pooled connection) timed out: nothing was sent."""


def retry_after_seconds(err: RetryAfter) -> float:
    """Return how long Telegram asked to wait, without PTB's deprecation warning."""
    if isinstance(err, FloodWaitError):
        return err.seconds
    stored = getattr(err, "_retry_after", None)  # PTB >= 22.2
    if isinstance(stored, timedelta):
        return stored.total_seconds()
    value = err.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class SharedClientRequest(BaseRequest):
    """A PTB request backend on an httpx.AsyncClient owned by someone else."""

    __slots__ = ("_client", "_timeout")

    def __init__(
        self, client: httpx.AsyncClient, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Use `client` for every call; it is never closed here."""
        self._client = client
        self._timeout = timeout

    @property
    def read_timeout(self) -> float:
        """Return the default read timeout (PTB adds it to long-poll timeouts)."""
        return self._timeout

    async def initialize(self) -> None:
        """Nothing to open: the client belongs to its owner."""

    async def shutdown(self) -> None:
        """Nothing to close: the client belongs to its owner."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one Bot API request; return its status code and body."""
        files = request_data.multipart_data if request_data else None
        write_default = self._timeout * (MEDIA_WRITE_FACTOR if files else 1)
        timeout = httpx.Timeout(
            connect=self._pick(connect_timeout, self._timeout),
            read=self._pick(read_timeout, self._timeout),
            write=self._pick(write_timeout, write_default),
            pool=self._pick(pool_timeout, self._timeout),
        )
        try:
            response = await self._client.request(
                method=method,
                url=url,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                files=files,
                data=request_data.json_parameters if request_data else None,
            )
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as err:
            raise NotSentTimeoutError(
                f"Timed out before sending (httpx.{type(err).__name__})"
            ) from err
        except httpx.TimeoutException as err:
            # Written (or being written) and unanswered: Telegram may have acted on it.
            raise TimedOut(f"Timed out (httpx.{type(err).__name__})") from err
        except httpx.ConnectError as err:
            raise NotSentError(f"httpx.ConnectError: {err}") from err
        except httpx.HTTPError as err:
            raise NetworkError(f"httpx.{type(err).__name__}: {err}") from err
        if response.status_code == HTTP_TOO_MANY_REQUESTS:
            _raise_flood_wait(response.content)
        return response.status_code, response.content

    @staticmethod
    def _pick(value: Any, default: float) -> float | None:
        """Return a caller's timeout, or the default where PTB passed DEFAULT_NONE."""
        if isinstance(value, _DEFAULT_TYPE):
            return default
        timeout: float | None = value  # PTB passes a number or None otherwise
        return timeout


def _raise_flood_wait(payload: bytes) -> None:
    """Raise FloodWaitError when a 429 body names a wait; else let PTB handle it."""
    try:
        parameters = json.loads(payload).get("parameters") or {}
        seconds = float(parameters["retry_after"])
    except ValueError, TypeError, KeyError, AttributeError:
        return
    raise FloodWaitError(seconds)
