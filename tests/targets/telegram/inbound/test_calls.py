"""RetryAfterCaller: transient failures are retried after a backoff, not crashed on."""

from __future__ import annotations

import pytest
from telegram.error import NetworkError

from custom_components.notify_bridge.targets.telegram.calls import RetryAfterCaller
from custom_components.notify_bridge.targets.telegram.sender import (
    RetryPolicy,
    TelegramSendError,
)


async def test_transient_failure_is_retried_after_a_backoff() -> None:
    """A network error, then success: one wait, the call's result comes back."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    answers: list[Exception | str] = [NetworkError("reset by peer"), "ok"]

    async def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    caller = RetryAfterCaller(RetryPolicy(base_delay=0.5), sleep=sleep)
    assert await caller(42, call) == "ok"
    assert len(waits) == 1 and 0.3 <= waits[0] <= 0.7


async def test_transient_failures_give_up_after_the_attempts() -> None:
    """Always failing: TelegramSendError after the policy's attempts."""

    async def sleep(_seconds: float) -> None:
        return None

    async def call() -> str:
        raise NetworkError("down")

    caller = RetryAfterCaller(RetryPolicy(attempts=3), sleep=sleep)
    with pytest.raises(TelegramSendError):
        await caller(None, call)
