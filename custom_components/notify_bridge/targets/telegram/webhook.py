"""Receiving updates by webhook, and switching the bot between webhook and polling.

Telegram sends each update as a JSON POST carrying the `secret_token` given to
setWebhook in `X-Telegram-Bot-Api-Secret-Token`. The request goes through the shared
ingress (sources/ingress.py): the header is compared in constant time before a single
body byte is read, a forged or missing secret is 401 with no body read, the body is
bounded (413) and must be a JSON object (400). Only then is it parsed as an Update.

Only one consumer per bot: setWebhook makes getUpdates fail with 409, and the poller
deletes the webhook when it starts; `async_use_polling` does the same explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import logging
import secrets
from typing import Any, Final

from telegram import Bot, Update, WebhookInfo

from ...sources.ingress import (
    MAX_BODY_BYTES,
    AuthConfig,
    AuthMode,
    InboundWebhook,
    IngressConfig,
    IngressResult,
    Outcome,
    PayloadError,
    WebhookRequest,
    async_receive,
)
from .calls import BotCaller
from .inbound import ALLOWED_UPDATES
from .updates import OffsetStore, UpdateHandler, UpdateLedger

_LOGGER = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# 32 random bytes; token_urlsafe's alphabet (A-Z a-z 0-9 _ -) is exactly what
# Telegram allows, and 43 characters is well inside its 1-256.
SECRET_BYTES: Final = 32
# One connection: Telegram then sends updates one after another, in id order, which
# keeps replies in order and makes the repeat check of the ledger sound.
WEBHOOK_MAX_CONNECTIONS: Final = 1


def new_secret_token() -> str:
    """Return a fresh secret_token for setWebhook."""
    return secrets.token_urlsafe(SECRET_BYTES)


@dataclass
class WebhookStats:
    """Requests per outcome (single owner: the event loop)."""

    accepted: int = 0
    repeats: int = 0
    unauthorized: int = 0
    too_large: int = 0
    bad_request: int = 0
    other: int = 0
    body_bytes_read: int = 0


class TelegramWebhook:
    """The webhook endpoint of one bot; call `async_handle` with each request."""

    def __init__(
        self,
        bot: Bot,
        secret: str,
        handle: UpdateHandler,
        store: OffsetStore,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        """Accept requests carrying `secret`; `async_load` before the first one."""
        self._bot = bot
        self._handle = handle
        self.ledger = UpdateLedger(store)
        self._config = IngressConfig(
            auth=AuthConfig(AuthMode.BEARER, secret=secret, token_header=SECRET_HEADER),
            max_body_bytes=max_body_bytes,
            form_payload_field=None,
            header_allowlist=frozenset({"content-length", "content-type"}),
        )
        self.stats = WebhookStats()
        self._in_flight: set[int] = set()

    async def async_load(self) -> None:
        """Load the saved offset (repeats of handled updates are then recognized)."""
        await self.ledger.async_load()

    async def async_handle(self, request: WebhookRequest) -> IngressResult:
        """Check, read, parse and handle one request; never raises.

        The glue answers with `result.status` (or `result.to_response()`); Telegram
        retries an update on anything but 2xx, so handler failures still answer 2xx
        (they are logged by the ledger).
        """
        result = await async_receive(request, self._config, self._hand_off)
        self._count(result)
        return result

    async def _hand_off(self, inbound: InboundWebhook) -> None:
        update_id = inbound.payload.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise PayloadError("not a Telegram update (no update_id)")
        # In flight: Telegram resent it while the first copy is still being handled
        # (a reply waiting out a 429 can outlast Telegram's patience).
        if self.ledger.is_repeat(update_id) or update_id in self._in_flight:
            self.stats.repeats += 1
            return
        update = self._parse(inbound.payload)
        self._in_flight.add(update_id)
        try:
            if update is None:
                # Telegram's own update we cannot read: acknowledge it, or Telegram
                # would send it again forever and hold back every later update.
                await self.ledger.async_skip(update_id)
            else:
                await self.ledger.async_process(update, self._handle)
        finally:
            self._in_flight.discard(update_id)

    def _parse(self, payload: Mapping[str, Any]) -> Update | None:
        try:
            return Update.de_json(dict(payload), self._bot)
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            _LOGGER.warning(
                "Telegram update %s skipped: not readable (%s)",
                payload.get("update_id"),
                type(err).__name__,
            )
            return None

    def _count(self, result: IngressResult) -> None:
        stats = self.stats
        stats.body_bytes_read += result.body_bytes_read
        if result.outcome is Outcome.ACCEPTED:
            stats.accepted += 1
        elif result.outcome in (Outcome.UNAUTHORIZED, Outcome.NOT_CONFIGURED):
            stats.unauthorized += 1
        elif result.outcome is Outcome.TOO_LARGE:
            stats.too_large += 1
        elif result.outcome is Outcome.BAD_REQUEST:
            stats.bad_request += 1
        else:
            stats.other += 1


async def async_set_webhook(
    bot: Bot, url: str, caller: BotCaller, *, secret: str | None = None
) -> str:
    """Point the bot's updates at `url` (HTTPS); return the secret_token it carries.

    Pending updates are kept: what arrived while polling stopped is delivered to the
    webhook. getUpdates fails with 409 from now on (one consumer per bot).
    """
    if not url.lower().startswith("https://"):
        raise ValueError("Telegram delivers webhooks to HTTPS URLs only")
    token = secret or new_secret_token()
    await caller(
        None,
        lambda: bot.set_webhook(
            url,
            secret_token=token,
            allowed_updates=list(ALLOWED_UPDATES),
            max_connections=WEBHOOK_MAX_CONNECTIONS,
            drop_pending_updates=False,
        ),
    )
    return token


async def async_use_polling(bot: Bot, caller: BotCaller) -> None:
    """Delete the webhook (pending updates kept) so getUpdates may consume them."""
    await caller(None, lambda: bot.delete_webhook(drop_pending_updates=False))


async def async_webhook_info(bot: Bot, caller: BotCaller) -> WebhookInfo:
    """Return what Telegram knows of the webhook (URL, pending count, last error)."""
    return await caller(None, bot.get_webhook_info)


__all__ = [
    "SECRET_HEADER",
    "TelegramWebhook",
    "WebhookStats",
    "async_set_webhook",
    "async_use_polling",
    "async_webhook_info",
    "new_secret_token",
]
