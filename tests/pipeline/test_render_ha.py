"""In Home Assistant: runaway previews neither block the event loop nor starve a
harmless preview (the harness also checks no thread is left behind)."""

from __future__ import annotations

import asyncio
import time

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest

from custom_components.notify_bridge.const import DOMAIN

from .test_render_isolation import HOSTILE, RUNAWAY


async def _preview(hass: HomeAssistant, template: str) -> dict:
    return await hass.services.async_call(
        DOMAIN,
        "preview_template",
        {"template": template, "context": {"s": "x" * 50_000}},
        blocking=True,
        return_response=True,
    )


async def test_runaway_previews_do_not_hurt_home_assistant(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Two C-level runaways and the memory-hungry corpus run while a harmless
    preview answers at once and the loop keeps ticking."""
    gaps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            started = time.monotonic()
            await asyncio.sleep(0.005)
            gaps.append(time.monotonic() - started - 0.005)

    beat = asyncio.create_task(heartbeat())
    runaways = [
        asyncio.create_task(_preview(hass, RUNAWAY)),
        asyncio.create_task(_preview(hass, HOSTILE["ljust"])),
        asyncio.create_task(_preview(hass, RUNAWAY)),
    ]
    await asyncio.sleep(0.3)
    started = time.monotonic()
    shown = await _preview(hass, "{{ s | length }}")
    assert shown["text"] == "50000"
    assert time.monotonic() - started < 0.25
    for task in runaways:
        with pytest.raises(ServiceValidationError, match=r"time budget|memory limit"):
            await task
    stop.set()
    await beat
    gaps.sort()
    assert gaps[int(len(gaps) * 0.99)] < 0.05
