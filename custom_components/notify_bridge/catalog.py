"""Every entry kind, in the order the config flow menu offers them.

The one place that names each kind: the shared glue reaches kinds through this table
and the hooks of `Kind`, never by importing a kind's package itself.
"""

from __future__ import annotations

from .kinds import (
    email,
    gitea,
    ha_events,
    home_assistant,
    immich,
    planka,
    telegram,
    webhook,
)
from .runtime import Kind

KINDS: dict[str, Kind] = {
    kind.kind.value: kind
    for kind in (
        home_assistant.KIND,
        telegram.KIND,
        email.KIND,
        ha_events.KIND,
        immich.KIND,
        gitea.KIND,
        planka.KIND,
        webhook.KIND,
    )
}
