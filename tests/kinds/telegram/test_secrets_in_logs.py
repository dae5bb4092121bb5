"""No bot token in any log line, at any level, from any logger (HA 2026.11: httpx2)."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.redaction import redact_text, register_secret
from tests.fakes.telegram_server import FakeTelegramServer, make_jpeg

from .conftest import PRIVATE_ENTITY, TOPIC_ENTITY


def written(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record as a handler would write it, traceback included."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in caplog.records]


@pytest.mark.usefixtures("allow_loopback_media", "every_logger_at_debug")
async def test_no_token_at_debug_on_any_path(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Sends, uploads, a refused chat, a 429 and an error with a traceback."""
    photo = server.add_media("dog.jpg", make_jpeg(40, 40))
    await hass.services.async_call(
        "notify_bridge",
        "send",
        {
            "entity_id": [PRIVATE_ENTITY, TOPIC_ENTITY],
            "message": "hi",
            "media": [{"url": photo}],
        },
        blocking=True,
    )
    server.fail_next("Too Many Requests: retry after 0", status=429, retry_after=0)
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": PRIVATE_ENTITY, "message": "after a 429"},
        blocking=True,
    )
    server.fail_next("Bad Request: chat not found", method="sendMessage")
    with pytest.raises(HomeAssistantError, match="Chat not found"):
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": PRIVATE_ENTITY, "message": "refused"},
            blocking=True,
        )
    try:
        raise RuntimeError(f"failed: {server.base_url}{server.token}/getMe")
    except RuntimeError:
        logging.getLogger("some.library").exception("a library logged a traceback")

    lines = written(caplog)
    secret = server.token.split(":", 1)[1]
    # The paths above really logged request URLs (else this test proves nothing).
    assert any("/bot***/sendMessage" in line for line in lines)
    assert any("Traceback" in line and "/bot***/getMe" in line for line in lines)
    assert [line for line in lines if secret in line] == []


@pytest.mark.usefixtures("setup_telegram")
async def test_any_logger_name_is_covered(
    server: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    """HA 2026.11 aliases httpx to httpx2, which logs under its own name."""
    caplog.set_level(logging.INFO)
    url = f"{server.base_url}{server.token}/sendMessage"
    for name in ("httpx2", "httpx2._client", "httpcore2", "a.future.library"):
        logging.getLogger(name).info('HTTP Request: POST %s "HTTP/1.1 200 OK"', url)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 4
    assert all("/bot***/sendMessage" in message for message in messages)
    assert not any(server.token in message for message in messages)


def test_registered_secret_masked_anywhere() -> None:
    """A registered token is masked whole and by its secret part, not by its id."""
    register_secret("987654:registered-secret-value")
    assert redact_text("token 987654:registered-secret-value") == "token ***"
    assert redact_text("key registered-secret-value.") == "key ***."
    # The id alone is the bot's public user id.
    assert redact_text("bot 987654 said hi") == "bot 987654 said hi"
    # An unregistered token inside a Bot API URL is masked as well.
    assert (
        redact_text("GET https://api.telegram.org/file/bot42:abcDEF_-12/x.jpg")
        == "GET https://api.telegram.org/file/bot***/x.jpg"
    )


@pytest.mark.usefixtures("setup_telegram")
async def test_debug_window_keeps_the_token_masked(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """notify_bridge.debug for Telegram: the library and our modules log at DEBUG,
    and no line holds the token, its secret part or an unmasked Bot API URL."""
    names = ("telegram", "custom_components.notify_bridge.pipeline")
    before = [logging.getLogger(name).level for name in names]
    # As in a real installation: WARNING unless the window says otherwise.
    root = logging.getLogger()
    root_level = root.level
    root.setLevel(logging.WARNING)
    try:
        await _debug_window_run(hass, server, caplog, names)
    finally:
        root.setLevel(root_level)
    # The window ends (here: at once): the levels are the user's again.
    hass.data["notify_bridge"].debug_window.stop()
    assert [logging.getLogger(name).level for name in names] == before


async def _debug_window_run(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    caplog: pytest.LogCaptureFixture,
    names: tuple[str, str],
) -> None:
    logging.getLogger(names[0]).debug("before the window")
    for area in ("telegram", "pipeline"):
        await hass.services.async_call(
            "notify_bridge", "debug", {"area": area}, blocking=True
        )
    server.fail_next("Too Many Requests: retry after 0", status=429, retry_after=0)
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": PRIVATE_ENTITY, "message": "at debug"},
        blocking=True,
    )
    url = f"{server.base_url}{server.token}/sendMessage"
    logging.getLogger("telegram.ext").debug("Request to %s", url)
    debug_lines = [
        line
        for record, line in zip(caplog.records, written(caplog), strict=True)
        if record.levelno == logging.DEBUG
    ]
    # The window really turned DEBUG on for both (else this test proves nothing).
    assert any(line.startswith("telegram") for line in debug_lines)
    assert any(line.startswith(names[1]) for line in debug_lines)
    assert any("/bot***/sendMessage" in line for line in debug_lines)
    secret = server.token.split(":", 1)[1]
    assert [line for line in written(caplog) if secret in line] == []
    assert not any("before the window" in line for line in debug_lines)
