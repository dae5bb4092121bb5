"""Router, dispatcher and the pipeline as a whole, with in-memory destinations."""

from __future__ import annotations

import asyncio
import logging

import pytest

from custom_components.notify_bridge.pipeline.dispatch import (
    Dispatcher,
    dispatch_status,
)
from custom_components.notify_bridge.pipeline.engine import Pipeline, event_context
from custom_components.notify_bridge.pipeline.health import DispatchHistory
from custom_components.notify_bridge.pipeline.limits import MAX_ERROR_LENGTH
from custom_components.notify_bridge.pipeline.models import (
    DeliveryResult,
    DispatchStatus,
    Notification,
    OutputFormat,
    Route,
    freeze,
)
from custom_components.notify_bridge.pipeline.router import Router, route_matches

from .helpers import DeliveryError, MemoryDestination, make_event


def make_route(
    destinations: tuple[str, ...] = ("a",),
    *,
    template: str = "{{ data.text }}",
    match: dict | None = None,
    event_types: frozenset[str] = frozenset({"thing_happened"}),
    title: str | None = None,
) -> Route:
    """Return a route of source `src`."""
    return Route(
        route_id="r1",
        name="route",
        source_entry_id="src",
        event_types=event_types,
        match=freeze(match or {}),
        destinations=destinations,
        template=template,
        title_template=title,
    )


def make_pipeline(*destinations: MemoryDestination, **kwargs) -> Pipeline:
    """Return a pipeline that resolves the given destinations by id."""
    by_id = {dest.destination_id: dest for dest in destinations}
    return Pipeline(by_id.get, **kwargs)


@pytest.mark.parametrize(
    ("match", "data", "expected"),
    [
        ({}, {}, True),
        ({"data.door": "front"}, {"data": {"door": "front"}}, True),
        ({"data.door": "front"}, {"data": {"door": "back"}}, False),
        ({"data.door": "front"}, {"data": {}}, False),
        ({"data.door.side": "x"}, {"data": {"door": "front"}}, False),
        ({"data.count": "3"}, {"data": {"count": 3}}, True),
        ({"data.on": "true"}, {"data": {"on": True}}, True),
        ({"data.on": "false"}, {"data": {"on": True}}, False),
        ({"data.count": 3}, {"data": {"count": 3}}, True),
    ],
)
def test_route_match(match: dict, data: dict, expected: bool) -> None:
    """Dotted keys reach nested data; form strings match numbers and booleans."""
    assert route_matches(make_route(match=match), make_event(data)) is expected


def test_router_scopes_routes_by_source_and_type() -> None:
    """An event only meets its own source's routes of its type."""
    router = Router()
    router.set_routes("src", [make_route()])
    assert router.match(make_event({})) == [make_route()]
    assert router.match(make_event({}, source="other")) == []
    assert router.match(make_event({}, event_type="else")) == []
    assert router.routes_for("src") == (make_route(),)
    router.remove_source("src")
    assert router.match(make_event({})) == []


async def test_event_fans_out_per_format() -> None:
    """Each destination gets text escaped for its own format, plus the title."""
    plain = MemoryDestination("a")
    html = MemoryDestination("b", output_format=OutputFormat.HTML)
    pipeline = make_pipeline(plain, html)
    pipeline.router.set_routes(
        "src", [make_route(("a", "b"), title="T {{ data.text }}")]
    )

    summaries = await pipeline.async_handle_event(make_event({"data": {"text": "<x>"}}))

    assert [s.status for s in summaries] == [DispatchStatus.OK]
    assert plain.received[0].message == "<x>"
    assert html.received[0].message == "&lt;x&gt;"
    assert html.received[0].title == "T <x>"
    assert summaries[0].request_id == "req-1"
    assert pipeline.history.counters.events_routed == 1


async def test_partial_failure_keeps_every_error() -> None:
    """One failing destination makes the dispatch partial; all errors are kept, cut."""
    ok = MemoryDestination("a", name="ok")
    bad = MemoryDestination("b", name="bad", fail_with=DeliveryError("x" * 1000))
    gone = "c"
    pipeline = make_pipeline(ok, bad)
    pipeline.router.set_routes("src", [make_route(("a", "b", gone))])

    [summary] = await pipeline.async_handle_event(make_event({"data": {"text": "t"}}))

    assert summary.status is DispatchStatus.PARTIAL
    assert (summary.delivered, summary.failed) == (1, 2)
    assert len(summary.errors) == 2
    assert summary.errors[0] == "c: destination not found or not loaded"
    assert summary.errors[1].startswith("bad: xxx")
    assert len(summary.errors[1]) <= MAX_ERROR_LENGTH + len("bad: ")
    assert pipeline.history.counters.dispatches_partial == 1


async def test_all_failed_is_fail_never_ok() -> None:
    """No destination delivered: fail, even for unexpected exceptions and timeouts."""
    crash = MemoryDestination("a", fail_with=RuntimeError("boom"))
    slow = MemoryDestination("b", delay=1)
    pipeline = make_pipeline(crash, slow, dispatcher=Dispatcher(delivery_timeout=0.05))
    summary = await pipeline.async_send(["a", "b"], lambda d: Notification(message="m"))
    assert summary.status is DispatchStatus.FAIL
    assert "unexpected error: RuntimeError('boom')" in summary.errors[0]
    assert "timed out" in summary.errors[1]


async def test_no_destinations_is_fail() -> None:
    """A dispatch that reached nobody is not a success."""
    summary = await make_pipeline().async_send([], lambda d: Notification(message="m"))
    assert summary.status is DispatchStatus.FAIL
    assert summary.errors == ("no destinations",)


async def test_template_error_fails_the_route() -> None:
    """A route whose template cannot render fails visibly and is counted."""
    dest = MemoryDestination("a")
    pipeline = make_pipeline(dest)
    pipeline.router.set_routes("src", [make_route(template="{{ 1 / 0 }}")])
    [summary] = await pipeline.async_handle_event(make_event({}))
    assert summary.status is DispatchStatus.FAIL
    assert "division" in summary.errors[0]
    assert pipeline.history.counters.render_errors == 1
    assert dest.received == []


async def test_send_cap_is_process_wide() -> None:
    """However many destinations and dispatches, no more than the cap send at once."""
    active = {"now": 0, "peak": 0}

    class Counting(MemoryDestination):
        async def async_deliver(self, notification: Notification):
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
            try:
                return await super().async_deliver(notification)
            finally:
                active["now"] -= 1

    dests = [Counting(str(i), delay=0.01) for i in range(20)]
    pipeline = make_pipeline(*dests, dispatcher=Dispatcher(max_concurrent_sends=3))
    ids = [d.destination_id for d in dests]
    await asyncio.gather(
        pipeline.async_send(ids[:10], lambda d: Notification(message="m")),
        pipeline.async_send(ids[10:], lambda d: Notification(message="m")),
    )
    assert all(len(d.received) == 1 for d in dests)
    assert active["peak"] == 3


async def test_dispatch_id_tags_every_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every line logged during a dispatch carries its id."""
    caplog.set_level(logging.DEBUG, logger="custom_components.notify_bridge")
    bad = MemoryDestination("a", name="bad", fail_with=DeliveryError("nope"))
    summary = await make_pipeline(bad).async_send(
        ["a"], lambda d: Notification(message="m")
    )
    lines = [
        r.getMessage() for r in caplog.records if r.name.startswith("custom_components")
    ]
    assert len(lines) >= 3
    assert all(f"[dispatch {summary.dispatch_id}]" in line for line in lines)


async def test_listeners_and_history() -> None:
    """Listeners see each summary; history keeps the newest within its size."""
    seen = []
    pipeline = make_pipeline(MemoryDestination("a"), history=DispatchHistory(size=2))
    remove = pipeline.add_listener(seen.append)
    for _ in range(3):
        await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    remove()
    await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    assert len(seen) == 3
    assert len(pipeline.history.summaries) == 2
    assert pipeline.history.counters.as_dict()["dispatches_ok"] == 4
    assert pipeline.history.summaries[-1].as_dict()["status"] == "ok"


async def test_preview_equals_delivery() -> None:
    """Preview and delivery render identically for every format."""
    dest = MemoryDestination("a", output_format=OutputFormat.MARKDOWN)
    pipeline = make_pipeline(dest)
    route = make_route(template="*{{ data.text }}*")
    pipeline.router.set_routes("src", [route])
    event = make_event({"data": {"text": "a_b"}})
    await pipeline.async_handle_event(event)
    preview = await pipeline.async_preview(
        route.template, event_context(event), OutputFormat.MARKDOWN
    )
    assert dest.received[0].message == preview == r"*a\_b*"


def test_delivery_reaching_part_of_its_audience_is_partial() -> None:
    """A mail some recipients refused was still sent: partial, not fail; nothing
    sent is fail, and a queued retry stays queued."""
    partly = DeliveryResult(
        "a", "a", success=False, messages_sent=1, errors=("bob refused",)
    )
    nothing = DeliveryResult("a", "a", success=False, errors=("all refused",))
    queued = DeliveryResult("a", "a", success=False, queued=True)
    ok = DeliveryResult("b", "b", success=True, messages_sent=1)
    assert dispatch_status([partly]) is DispatchStatus.PARTIAL
    assert dispatch_status([ok, partly]) is DispatchStatus.PARTIAL
    assert dispatch_status([nothing]) is DispatchStatus.FAIL
    assert dispatch_status([queued]) is DispatchStatus.QUEUED
    assert dispatch_status([ok]) is DispatchStatus.OK
