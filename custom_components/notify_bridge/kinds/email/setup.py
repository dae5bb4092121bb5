"""Setting up an e-mail entry: one SMTP sender, one destination per recipient list."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ...const import DOMAIN
from ...pipeline.models import DeliveryError
from ...redaction import register_secret
from ...runtime import BridgeHub, TargetRuntime
from ...targets.email import (
    EmailAuthError,
    EmailDestination,
    SmtpSender,
    url_downloader,
)
from ...targets.telegram.setup import url_policy_from_options
from ..shared.setup import async_register_destinations
from . import fields
from .fields import (
    CONF_LANGUAGE,
    CONF_SUBJECT,
    recipients_from_data,
    settings_from_data,
    short_detail,
)


@dataclass(slots=True, kw_only=True)
class EmailRuntime(TargetRuntime):
    """Runtime data of an e-mail entry: its recipient lists and the one sender."""

    # Not in the repr: the sender holds the settings (the password is hidden there
    # too, but nothing of a client belongs in a log line).
    sender: SmtpSender = field(repr=False)


type EmailConfigEntry = ConfigEntry[EmailRuntime]


def make_sender(hass: HomeAssistant, entry: EmailConfigEntry) -> SmtpSender:
    """Return the entry's sender; a refused login starts reauth (once)."""
    settings = settings_from_data(entry.data)
    if settings.password:
        # Masked in every log line from now on, whichever library writes it.
        register_secret(settings.password)

    @callback
    def start_reauth() -> None:
        entry.async_start_reauth(hass)

    return SmtpSender(
        settings,
        tls_context=fields.settings_tls(settings),
        on_auth_failed=start_reauth,
    )


async def _async_check(entry: EmailConfigEntry, sender: SmtpSender) -> None:
    """Open the first session; failures say which server and why."""
    placeholders = {
        "name": entry.title,
        "server": f"{sender.settings.host}:{sender.settings.port}",
    }
    try:
        await sender.async_check()
    except EmailAuthError as err:
        await sender.async_close()
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="email_auth_failed",
            translation_placeholders={**placeholders, "error": short_detail(str(err))},
        ) from None
    except DeliveryError as err:
        await sender.async_close()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="email_unreachable",
            translation_placeholders={**placeholders, "error": short_detail(str(err))},
        ) from None


def _recipient_list(
    hass: HomeAssistant,
    entry: EmailConfigEntry,
    sender: SmtpSender,
    subentry: ConfigSubentry,
) -> EmailDestination:
    data = subentry.data
    return EmailDestination(
        sender,
        destination_id=subentry.subentry_id,
        name=subentry.title,
        recipients=recipients_from_data(data),
        default_subject=data.get(CONF_SUBJECT) or None,
        download=url_downloader(
            async_get_clientsession(hass), url_policy_from_options(entry.data)
        ),
        language=data.get(CONF_LANGUAGE) or None,
    )


async def async_setup_email(
    hass: HomeAssistant, hub: BridgeHub, entry: EmailConfigEntry
) -> EmailRuntime:
    """Log in once (checking the account) and register the recipient lists."""
    sender = make_sender(hass, entry)
    await _async_check(entry, sender)
    entry.async_on_unload(sender.async_close)
    runtime = EmailRuntime(sender=sender)
    await async_register_destinations(
        hub,
        entry,
        runtime,
        lambda subentry: _recipient_list(hass, entry, sender, subentry),
    )
    return runtime


def email_diagnostics(entry: EmailConfigEntry) -> dict[str, Any]:
    """Return the server and the sender's counters (never the password)."""
    sender = entry.runtime_data.sender
    return {
        "smtp": {
            "host": sender.settings.host,
            "port": sender.settings.port,
            "security": sender.settings.security.value,
            "verify_tls": sender.settings.verify_tls,
            "media_budget": sender.settings.media_budget,
            "idle_sessions": sender.idle_sessions,
            "auth_failed": sender.auth_failed,
            "stats": asdict(sender.stats),
        }
    }
