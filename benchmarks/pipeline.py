"""Pipeline benchmark.

(a) Median CPU microseconds per event for 10,000 events through router → renderer →
    dispatcher into an in-memory destination (target ≤ 300 µs).
    The typical template renders in-process (it only substitutes values); the same
    template with one computed value (`* 1`) renders in a worker process: its cost
    here (CPU of this process, and wall time) is printed too.
(b) Render time of our cached sandboxed renderer against Home Assistant's
    `Template.async_render` on the same template and context, measured in the same run
    (target: ours at least 2x faster). Two baselines:
    - per call: template text in, text out, as a template arrives in service-call data
      (Home Assistant builds a new `Template` for each call; ours hits its cache);
    - persistent: one `Template` object kept and rendered again (its best case).

Run: .venv/bin/python benchmarks/pipeline.py — the last line is one JSON object.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import json
from pathlib import Path
import statistics
import sys
import tempfile
import time

# Import from the repository, never from this folder (telegram.py here would shadow
# the python-telegram-bot package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from custom_components.notify_bridge.pipeline.dispatch import Dispatcher
from custom_components.notify_bridge.pipeline.engine import Pipeline
from custom_components.notify_bridge.pipeline.models import (
    BridgeEvent,
    DeliveryResult,
    Notification,
    OutputFormat,
    Route,
    freeze,
)
from custom_components.notify_bridge.pipeline.policy import DeliveryPolicy

EVENTS = 10_000
# Events through the worker-process path (each waits for a round trip).
WORKER_EVENTS = 1_000
RENDERS = 20_000
# A typical notification: a Gitea push with its commits.
TEMPLATE = (
    "<b>{{ data.pusher.full_name }}</b> pushed {{ data.commits | length }} commits to "
    "{{ data.repository.full_name }}:{{ data.ref | replace('refs/heads/', '') }}\n"
    "{% for c in data.commits %}• {{ c.id[:7] }} {{ c.message | truncate(60) }}"
    " ({{ c.author.name }})\n{% endfor %}{{ data.compare_url }}"
)
# The same notification with one computed value: renders in a worker process.
WORKER_TEMPLATE = TEMPLATE + " ({{ data.commits | length * 1 }})"
CONTEXT = {
    "data": {
        "pusher": {"full_name": "Alice"},
        "ref": "refs/heads/main",
        "compare_url": "https://git.example/home/automation/compare/1...2",
        "repository": {"full_name": "home/automation"},
        "commits": [
            {
                "id": "abcdef1234567890",
                "message": f"Fix thing number {i} & more",
                "author": {"name": "Bob <bob@example.com>"},
            }
            for i in range(5)
        ],
    }
}


class MemoryDestination:
    """Counts deliveries; does no I/O."""

    destination_id = "memory"
    name = "memory"
    output_format = OutputFormat.HTML

    def __init__(self) -> None:
        self.delivered = 0

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        self.delivered += 1
        return DeliveryResult(
            destination_id=self.destination_id,
            destination_name=self.name,
            success=True,
            messages_sent=1,
        )


async def per_event_cpu_us(
    *, with_policy: bool = False, template: str = TEMPLATE, events: int = EVENTS
) -> tuple[float, float, int]:
    destination = MemoryDestination()
    dispatcher = Dispatcher(
        policy=DeliveryPolicy(clock=lambda: datetime.now(UTC)) if with_policy else None
    )
    pipeline = Pipeline(
        {destination.destination_id: destination}.get, dispatcher=dispatcher
    )
    pipeline.router.set_routes(
        "source",
        [
            Route(
                route_id="route",
                name="route",
                source_entry_id="source",
                event_types=frozenset({"push"}),
                match=freeze({"data.repository.full_name": "home/automation"}),
                destinations=("memory",),
                template=template,
                title_template="{{ data.repository.full_name }}",
            )
        ],
    )
    event = BridgeEvent(
        source_entry_id="source",
        source_kind="bench",
        event_type="push",
        data=freeze(CONTEXT),
        occurred_at=datetime.now(UTC),
    )
    samples: list[float] = []
    wall_started = time.perf_counter()
    for _ in range(events):
        started = time.process_time()
        await pipeline.async_handle_event(event)
        samples.append((time.process_time() - started) * 1e6)
    wall = time.perf_counter() - wall_started
    pipeline.renderer.close()
    assert destination.delivered == events
    return statistics.median(samples), wall / events * 1e6, destination.delivered


def time_renders(render) -> float:
    render()  # compile and warm caches outside the measurement
    started = time.perf_counter()
    for _ in range(RENDERS):
        render()
    return (time.perf_counter() - started) / RENDERS * 1e6


async def render_ratio() -> dict[str, float | bool]:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.template import Template

    from custom_components.notify_bridge.pipeline.render import Renderer

    with tempfile.TemporaryDirectory() as config_dir:
        hass = HomeAssistant(config_dir)
        kept = Template(TEMPLATE, hass)
        ours = Renderer()
        assert ours.render(WORKER_TEMPLATE, CONTEXT) == ours.workers.render(
            WORKER_TEMPLATE, CONTEXT, OutputFormat.PLAIN, 1.0, 32_768
        )
        identical = kept.async_render(CONTEXT, parse_result=False) == ours.render(
            TEMPLATE, CONTEXT, OutputFormat.PLAIN
        )
        our_us = time_renders(
            lambda: ours.render(TEMPLATE, CONTEXT, OutputFormat.PLAIN)
        )
        per_call_us = time_renders(
            lambda: Template(TEMPLATE, hass).async_render(CONTEXT, parse_result=False)
        )
        persistent_us = time_renders(
            lambda: kept.async_render(CONTEXT, parse_result=False)
        )
        await hass.async_stop(force=True)
        ours.close()
    return {
        "render_us_ours": round(our_us, 2),
        "render_us_home_assistant_per_call": round(per_call_us, 2),
        "render_us_home_assistant_persistent": round(persistent_us, 2),
        "render_speedup_vs_home_assistant": round(per_call_us / our_us, 2),
        "render_speedup_vs_home_assistant_persistent": round(persistent_us / our_us, 2),
        "identical_output": identical,
    }


async def main() -> None:
    median_cpu, wall_per_event, delivered = await per_event_cpu_us()
    print(
        f"(a) {delivered} events: median CPU {median_cpu:.1f} µs/event, "
        f"wall {wall_per_event:.1f} µs/event (target ≤ 300 µs CPU)"
    )
    policy_cpu, _, _ = await per_event_cpu_us(with_policy=True)
    print(f"    with the delivery policy in the path: {policy_cpu:.1f} µs/event")
    worker_cpu, worker_wall, _ = await per_event_cpu_us(
        template=WORKER_TEMPLATE, events=WORKER_EVENTS
    )
    print(
        f"    a template rendered in a worker process: median CPU here "
        f"{worker_cpu:.1f} µs/event, wall {worker_wall:.1f} µs/event"
    )
    ratio = await render_ratio()
    print(
        f"(b) render: ours {ratio['render_us_ours']} µs; Home Assistant per call "
        f"{ratio['render_us_home_assistant_per_call']} µs "
        f"({ratio['render_speedup_vs_home_assistant']}x, target ≥ 2x), persistent "
        f"Template {ratio['render_us_home_assistant_persistent']} µs "
        f"({ratio['render_speedup_vs_home_assistant_persistent']}x); identical output: "
        f"{ratio['identical_output']}"
    )
    print(
        json.dumps(
            {
                "events": delivered,
                "median_cpu_us_per_event": round(median_cpu, 1),
                "wall_us_per_event": round(wall_per_event, 1),
                "median_cpu_us_per_event_with_policy": round(policy_cpu, 1),
                "median_cpu_us_per_event_worker_template": round(worker_cpu, 1),
                "wall_us_per_event_worker_template": round(worker_wall, 1),
                **ratio,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
