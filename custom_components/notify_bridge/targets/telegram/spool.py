"""Downloads that may be large: in memory while small, else in a temporary file.

With a self-hosted Bot API server a video may be 2000 MB; holding it in memory (and
once per chat) is not an option. A `Spool` receives the body chunk by chunk, keeps
it in memory up to `MEDIA_MEMORY_BYTES` and moves it to a temporary file beyond;
file writes run in a worker thread, in blocks, so the event loop never waits on the
disk. Whoever creates a spooled file removes it (`SpooledFile.remove`), whatever
happens to the delivery.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import hashlib
from pathlib import Path
import tempfile
from typing import IO, Any

from .limits import MEDIA_MEMORY_BYTES, SPOOL_WRITE_BYTES

TEMP_PREFIX = "notify_bridge_media_"


@dataclass(frozen=True, slots=True)
class SpooledFile:
    """A downloaded body on disk: where, how large, and its SHA-256."""

    path: str
    size: int
    sha256: str

    async def open(self) -> IO[bytes]:
        """Open the file for reading (in a worker thread)."""
        return await asyncio.to_thread(open, self.path, "rb")

    async def remove(self) -> None:
        """Delete the file; a file already gone is fine."""
        await asyncio.to_thread(_unlink, self.path)


def body_size(body: bytes | SpooledFile) -> int:
    """Return the size of a body in memory or on disk."""
    return len(body) if isinstance(body, bytes) else body.size


class Spool:
    """Collects one download; `finish` returns bytes or a `SpooledFile`."""

    def __init__(
        self,
        memory_limit: int = MEDIA_MEMORY_BYTES,
        write_block: int = SPOOL_WRITE_BYTES,
    ) -> None:
        """Start empty, in memory."""
        self._memory_limit = memory_limit
        self._write_block = write_block
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None
        self._hash = hashlib.sha256()
        self.size = 0

    @property
    def path(self) -> str | None:
        """Return the temporary file's path once the body moved to disk."""
        return None if self._file is None else self._file.name

    async def write(self, chunk: bytes) -> None:
        """Take the next chunk of the body."""
        self.size += len(chunk)
        self._buffer.extend(chunk)
        if self._file is None and len(self._buffer) <= self._memory_limit:
            return
        if self._file is None:
            self._file = await asyncio.to_thread(
                tempfile.NamedTemporaryFile, prefix=TEMP_PREFIX, delete=False
            )
        if len(self._buffer) >= self._write_block:
            await self._flush()

    async def finish(self) -> bytes | SpooledFile:
        """Return the body: bytes when it stayed small, else the closed file."""
        if self._file is None:
            data = bytes(self._buffer)
            self._buffer = bytearray()
            return data
        await self._flush()
        await asyncio.to_thread(self._file.close)
        return SpooledFile(self._file.name, self.size, self._hash.hexdigest())

    async def discard(self) -> None:
        """Drop what was received (a failed or cancelled download)."""
        self._buffer = bytearray()
        if self._file is not None:
            file, self._file = self._file, None
            await asyncio.to_thread(_close_and_unlink, file)

    async def _flush(self) -> None:
        block, self._buffer = bytes(self._buffer), bytearray()
        if self._file is not None:
            await asyncio.to_thread(_write, self._file, self._hash, block)


def _write(file: IO[bytes], digest: Any, block: bytes) -> None:
    digest.update(block)
    file.write(block)


def _unlink(path: str) -> None:
    Path(path).unlink(missing_ok=True)


def _close_and_unlink(file: IO[bytes]) -> None:
    file.close()
    _unlink(file.name)
