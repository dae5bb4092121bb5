"""The render worker process: renders templates that could loop, call or compute.

Started by `render_pool` as `python -I -c <boot>`; it imports only the pipeline (never
Home Assistant). Limits set once at start: address space (idle size + the render
memory limit), lowest CPU priority, no core files; and per render a CPU-time limit just above
the budget, so a runaway ends even if Home Assistant is gone.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a body. Requests
are pickles from the parent (trusted); replies are JSON, so a compromised worker
cannot send the parent code to run.
"""

from __future__ import annotations

import json
import math
import os
import resource
import struct
import sys
from types import MappingProxyType
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")
_MAPPED_MARGIN_KB = 4096


def mappingproxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """Rebuild a read-only mapping (pickle cannot name `mappingproxy`)."""
    return MappingProxyType(items)


class Snapshot:
    """What a template can see of an object that is not plain data: its text and its
    public attributes, captured in Home Assistant's process (e.g. a `State`)."""

    __slots__ = ("_attributes", "_repr", "_text")

    def __init__(self, text: str, text_repr: str, attributes: dict[str, Any]) -> None:
        """Keep what was captured."""
        self._text = text
        self._repr = text_repr
        self._attributes = attributes

    def __reduce__(self) -> tuple[Any, ...]:
        return (Snapshot, (self._text, self._repr, self._attributes))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._attributes[name]
        except KeyError:
            raise AttributeError(name) from None

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return self._repr


def read_frame(stream: BinaryIO) -> bytes | None:
    """Read one frame; None at end of input."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    body = stream.read(size)
    return body if len(body) == size else None


def frame(body: bytes) -> bytes:
    """Prefix a body with its length."""
    return _HEADER.pack(len(body)) + body


def _status_kb(field: str) -> int:
    """A size from /proc/self/status (VmSize, VmRSS, VmHWM), in kB."""
    with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _limit_resources(memory_mb: int) -> int:
    """Cap this process; return its resident size at rest (kB)."""
    # Lowest priority once started (a render's budget includes the start, so that
    # runs at normal priority): a runaway must not take the CPU from HA's loop.
    os.nice(19)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The limit is on address space; resident memory can also grow by pages of
    # files mapped at start and first touched later: keep a margin for those, so
    # the resident growth stays within `memory_mb` too.
    idle_kb = _status_kb("VmSize")
    limit = (idle_kb + memory_mb * 1024 - _MAPPED_MARGIN_KB) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return _status_kb("VmRSS")


def _limit_cpu(budget: float) -> None:
    """End this process (SIGXCPU) if this render's CPU time passes the budget."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used + budget) + 1, hard))


def _serve(deadline: float, request: bytes, memory_mb: int) -> dict[str, Any]:
    from .render_core import render_isolated  # noqa: PLC0415
    from .render_errors import TemplateTimeoutError  # noqa: PLC0415

    try:
        source, context, output_format, budget, max_output = _loads(request)
        _limit_cpu(budget)
        text = render_isolated(
            source, context, output_format, budget, max_output, deadline=deadline
        )
    except TemplateTimeoutError as err:
        return {"error": str(err), "timeout": True}
    except MemoryError:
        # What the render built is freed as the error unwinds: the worker goes on.
        return {
            "error": "template error: the render needs more than its memory limit "
            f"of {memory_mb} MB"
        }
    except Exception as err:  # noqa: BLE001 - every failure is a reply, never a hang
        return {"error": str(err) or f"template error: {type(err).__name__}"}
    return {"text": text}


def _loads(request: bytes) -> Any:
    import pickle  # noqa: PLC0415

    return pickle.loads(request)  # noqa: S301 - from our own parent process only


def main(memory_mb: int) -> None:
    """Serve render requests until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Stray output must not corrupt the protocol.
    sys.stdout = sys.stderr
    from .render_core import render_isolated  # noqa: PLC0415

    render_isolated(
        "{{ x | upper }}{% for i in range(2) %}{{ i }}{% endfor %}",
        {"x": "a"},
        "plain",
        1.0,
        100,
    )
    idle_rss = _limit_resources(memory_mb)
    stdout.write(frame(json.dumps({"ready": True, "rss_kb": idle_rss}).encode()))
    stdout.flush()
    # Each request: a frame with its deadline (CLOCK_MONOTONIC), then the pickle.
    while (deadline := read_frame(stdin)) is not None and (
        request := read_frame(stdin)
    ) is not None:
        reply = _serve(struct.unpack(">d", deadline)[0], request, memory_mb)
        reply["peak_kb"] = max(0, _status_kb("VmHWM") - idle_rss)
        stdout.write(frame(json.dumps(reply).encode()))
        stdout.flush()
