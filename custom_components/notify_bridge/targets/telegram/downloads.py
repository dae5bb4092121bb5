"""Media downloads shared between the deliveries of one bot.

The same album to three chats at once would download every file three times (and,
for a large video, keep three temporary files). A download is shared by URL while
any delivery holds it: the first one starts it, the others wait for the same body,
and the body (bytes, or its temporary file) is dropped when the last one lets go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .spool import SpooledFile

Body = bytes | SpooledFile


@dataclass(slots=True)
class _Shared:
    task: asyncio.Task[Body]
    holders: int = 0


@dataclass(slots=True)
class SharedDownloads:
    """URL → the download in flight or done, while a delivery holds it."""

    fetch: Callable[[str], Awaitable[Body]]
    _shared: dict[str, _Shared] = field(default_factory=dict)

    async def acquire(self, url: str) -> Body:
        """Return the body of `url`, fetched once for every holder; raise FetchError.

        Every successful or failed `acquire` must be paired with `release`.
        """
        shared = self._shared.get(url)
        if shared is None:
            task = asyncio.ensure_future(self.fetch(url))
            shared = self._shared[url] = _Shared(task)
        shared.holders += 1
        # Shielded: one holder giving up (cancelled) does not cancel the others'.
        return await asyncio.shield(shared.task)

    async def release(self, url: str) -> None:
        """Let go of `url`; the last holder stops the download or drops the body."""
        shared = self._shared.get(url)
        if shared is None:
            return
        shared.holders -= 1
        if shared.holders > 0:
            return
        del self._shared[url]
        task = shared.task
        if not task.done():
            # The download removes its partial file when cancelled (Spool.discard).
            task.cancel()
        results = await asyncio.gather(task, return_exceptions=True)
        if isinstance(results[0], SpooledFile):
            await results[0].remove()

    def __len__(self) -> int:
        """Return how many URLs are held."""
        return len(self._shared)
