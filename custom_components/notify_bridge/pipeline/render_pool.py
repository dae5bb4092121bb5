"""Worker processes for templates that could loop, call or compute.

Why processes: one C-level call (`'{:>99999999}'.format`, `10**10**8`) holds the GIL,
so neither a deadline nor a thread can stop it; a process can be killed. Each worker
has a memory limit (`RENDER_MEMORY_MB` above its idle size) and a CPU limit; the
parent kills it when a render passes its budget and starts a replacement at once, so
the next render finds a warm worker. Workers start on first use, never at import.

Threads: a render waits for its worker in an executor thread (blocking reads with a
timeout); the event loop only awaits. Each worker serves one render at a time, so a
runaway holds only its own worker; in-process renders never wait for workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
import io
import json
import os
from pathlib import Path
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from types import BuiltinFunctionType, MappingProxyType, NoneType
from typing import Any

from .render_errors import TemplateError, timeout_error
from .render_worker import Snapshot, frame, mappingproxy

# Memory one render may use above a worker's idle size (its address space is capped).
RENDER_MEMORY_MB = 64
# After the deadline, a worker gets this long to report its own timeout before it is
# killed (a C-level runaway never reports).
KILL_GRACE = 0.02
# A new worker (Python start and imports) must be ready within this long.
STARTUP_TIMEOUT = 30.0
# A reply larger than this is refused (rendered output is cut far below it).
MAX_REPLY_BYTES = 16 * 1024 * 1024
# Attributes captured of an object that is not plain data.
MAX_SNAPSHOT_ATTRIBUTES = 64

_PACKAGE = __package__ or "custom_components.notify_bridge.pipeline"
# Modules the worker can import: instances of their classes are pickled as they are
# (datetimes, Markup, OrderedDict, the pipeline's own enums and dataclasses).
_IMPORTABLE_MODULES = frozenset(
    {
        "builtins",
        "copyreg",
        "collections",
        "datetime",
        "_datetime",
        "decimal",
        "_decimal",
        "fractions",
        "ipaddress",
        "uuid",
        "zoneinfo",
        "zoneinfo._zoneinfo",
        "markupsafe",
        f"{_PACKAGE}.models",
        f"{_PACKAGE.rpartition('.')[0]}.const",
    }
)
_PLAIN = frozenset({str, int, float, bool, NoneType, bytes, list, tuple, dict})
_BASES: tuple[Any, ...] = (str, int, float, dict, list, tuple, set, frozenset)


def _boot_code() -> str:
    """Code the worker runs: import the pipeline without the integration's
    `__init__` (which imports Home Assistant), then serve."""
    return (
        "import importlib, json, sys, types\n"
        "paths, stubs, package, memory = json.loads(sys.argv[1])\n"
        "sys.path[:] = paths\n"
        "for name, path in stubs:\n"
        "    module = types.ModuleType(name); module.__path__ = [path]\n"
        "    sys.modules[name] = module\n"
        "importlib.import_module(package + '.render_worker').main(memory)\n"
    )


def _boot_args(memory_mb: int) -> str:
    # custom_components, custom_components.notify_bridge
    parents = _PACKAGE.split(".")[:-1]
    folder = Path(__file__).resolve().parent
    stubs = [
        (".".join(parents[: index + 1]), str(folder.parents[len(parents) - index - 1]))
        for index in range(len(parents))
    ]
    return json.dumps([list(sys.path), stubs, _PACKAGE, memory_mb])


class _Pickler(pickle.Pickler):
    """Pickle a template context so the worker sees what a template here would:
    read-only mappings stay read-only; objects of classes the worker can import stay
    as they are; other subclasses of str/int/float/dict/list/tuple/set become the
    plain type (a StrEnum its value); anything else becomes a `Snapshot` (its text
    and public attributes), since the worker cannot import Home Assistant's
    classes (a `State`). Method calls on such objects are not available there."""

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _PLAIN:
            return NotImplemented
        if kind is MappingProxyType:
            return (mappingproxy, (dict(obj),))
        if kind.__module__ in _IMPORTABLE_MODULES or _importable(obj):
            return NotImplemented
        for base in _BASES:
            if isinstance(obj, base):
                return (base, (base(obj),))
        return (Snapshot, (str(obj), repr(obj), _attributes(obj)))


def _importable(obj: Any) -> bool:
    """Classes and functions the worker can import (the reductions of plain types)."""
    if obj is mappingproxy or obj is Snapshot:
        return True
    if not isinstance(obj, type | BuiltinFunctionType):
        return False
    module = getattr(obj, "__module__", None) or getattr(
        getattr(obj, "__self__", None), "__module__", None
    )
    return module in _IMPORTABLE_MODULES


def _attributes(obj: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(obj, type):
        return found
    for name in dir(obj):
        if name.startswith("_") or len(found) >= MAX_SNAPSHOT_ATTRIBUTES:
            continue
        try:
            value = getattr(obj, name)
        except Exception:  # noqa: BLE001, S112 - a property that fails is not shown
            continue
        if not callable(value):
            found[name] = value
    return found


def encode_request(
    source: str, context: Mapping[str, Any], fmt: str, budget: float, limit: int
) -> bytes:
    """Pickle one render request; a context that cannot be sent is a TemplateError."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(
            (source, dict(context), fmt, budget, limit)
        )
    except (pickle.PicklingError, TypeError, ValueError, RecursionError) as err:
        raise TemplateError(f"template error: cannot pass the data: {err}") from err
    return frame(buffer.getvalue())


class _WorkerLost(Exception):
    """The worker ended or broke the protocol."""


class _Worker:
    """One worker process, used by one render at a time."""

    def __init__(self, memory_mb: int) -> None:
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-I", "-c", _boot_code(), _boot_args(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        # Typeshed has the pipes optional (they are None without PIPE).
        stdin, stdout = self._proc.stdin, self._proc.stdout
        if stdin is None or stdout is None:  # pragma: no cover - PIPE makes both
            raise RuntimeError("render worker started without pipes")
        self._stdin, self._stdout = stdin, stdout
        self._buffer = b""
        self.ready = False
        self.alive = True
        self.idle_rss_kb = 0
        # Growth of its resident memory at its peak, read when it is killed (kB).
        self.final_peak_kb = 0

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self._proc.pid

    def run(self, request: bytes, budget: float) -> dict[str, Any]:
        """Send one request and wait for its reply; kill the worker at the budget
        (which starts once the worker is ready: its start is not the template's)."""
        if not self.ready:
            hello = self._read(STARTUP_TIMEOUT)
            if not hello or not hello.get("ready"):
                raise _WorkerLost
            self.idle_rss_kb = int(hello.get("rss_kb", 0))
            self.ready = True
        # CLOCK_MONOTONIC is one clock for all processes: the worker's deadline is
        # this one, so its own timeout arrives before the kill.
        deadline = time.monotonic() + budget
        try:
            self._stdin.write(frame(struct.pack(">d", deadline)) + request)
            self._stdin.flush()
        except OSError as err:
            raise _WorkerLost from err
        reply = self._read(deadline + KILL_GRACE - time.monotonic())
        if reply is None:
            self.kill()
            raise timeout_error(budget)
        if reply.get("timeout"):
            raise timeout_error(budget)
        return reply

    def _read(self, timeout: float) -> dict[str, Any] | None:
        """Read one JSON frame; None when `timeout` passes first."""
        deadline = time.monotonic() + timeout
        fd = self._stdout.fileno()
        while True:
            if len(self._buffer) >= 4:
                size = int.from_bytes(self._buffer[:4], "big")
                if size > MAX_REPLY_BYTES:
                    raise _WorkerLost
                if len(self._buffer) >= 4 + size:
                    body, self._buffer = (
                        self._buffer[4 : 4 + size],
                        self._buffer[4 + size :],
                    )
                    reply: dict[str, Any] = json.loads(body)
                    return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise _WorkerLost
                self._buffer += chunk

    def _peak_growth_kb(self) -> int:
        """Peak resident size of the process above its idle size (kB)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmHWM:") and self.ready:
                return max(0, int(line.split()[1]) - self.idle_rss_kb)
        return 0

    def kill(self) -> None:
        """End the process now and reap it (no zombie, no CPU left busy)."""
        if self.alive:
            self.final_peak_kb = self._peak_growth_kb()
        self.alive = False
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        for stream in (self._stdin, self._stdout):
            with contextlib.suppress(OSError):
                stream.close()


class WorkerPool:
    """Up to `size` warm workers; a render takes an idle one or waits for one."""

    def __init__(self, size: int, memory_mb: int = RENDER_MEMORY_MB) -> None:
        """Start nothing yet: the first render that needs a worker starts it."""
        self._size = size
        self.memory_mb = memory_mb
        self._idle: list[_Worker] = []
        self._count = 0
        self._closed = False
        self._cond = threading.Condition()
        self._slots = asyncio.Semaphore(size)
        # Largest growth of a worker's resident memory over one render (kB).
        self.peak_memory_kb = 0

    def render(
        self,
        source: str,
        context: Mapping[str, Any],
        fmt: str,
        budget: float,
        limit: int,
    ) -> str:
        """Render in a worker (blocking; call from a worker thread)."""
        request = encode_request(source, context, fmt, budget, limit)
        worker = self._checkout()
        try:
            reply = worker.run(request, budget)
        except _WorkerLost:
            worker.kill()
            raise TemplateError("template error: the render process ended") from None
        finally:
            self._checkin(worker)
        self.peak_memory_kb = max(self.peak_memory_kb, int(reply.get("peak_kb", 0)))
        if "error" in reply:
            raise TemplateError(str(reply["error"]))
        return str(reply["text"])

    async def async_render(
        self,
        source: str,
        context: Mapping[str, Any],
        fmt: str,
        budget: float,
        limit: int,
    ) -> str:
        """Render in a worker; the event loop only awaits."""
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(
                None, self.render, source, context, fmt, budget, limit
            )

    def _checkout(self) -> _Worker:
        with self._cond:
            while not self._idle and self._count >= self._size:
                self._cond.wait()
            if self._closed:
                raise TemplateError("template error: the renderer is closed")
            if self._idle:
                # The longest idle first: a replacement may still be starting.
                return self._idle.pop(0)
            self._count += 1
        try:
            worker = _Worker(self.memory_mb)
        except OSError as err:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise TemplateError(f"template error: no render process: {err}") from err
        return worker

    def _start_spare(self) -> None:
        """After a render, start one more worker while there is room: a render
        after a killed runaway then finds a warm one instead of waiting for a start
        (not with the first render, which would then start two at once)."""
        with self._cond:
            if self._closed or self._count >= self._size:
                return
            self._count += 1
        try:
            spare = _Worker(self.memory_mb)
        except OSError:
            with self._cond:
                self._count -= 1
            return
        with self._cond:
            self._idle.append(spare)
            self._cond.notify()

    def _checkin(self, worker: _Worker) -> None:
        if not worker.alive:
            self.peak_memory_kb = max(self.peak_memory_kb, worker.final_peak_kb)
        with self._cond:
            if worker.alive and not self._closed:
                self._idle.append(worker)
            elif self._closed:
                worker.kill()
                self._count -= 1
            else:
                # Replace a killed worker now: it starts while nothing waits for it.
                try:
                    self._idle.append(_Worker(self.memory_mb))
                except OSError:
                    self._count -= 1
            self._cond.notify()
        self._start_spare()

    def close(self) -> None:
        """Kill every idle worker; busy ones are killed when their render returns."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.kill()

    def pids(self) -> list[int]:
        """Process ids of the idle workers (for tests and benchmarks)."""
        with self._cond:
            return [worker.pid for worker in self._idle]
