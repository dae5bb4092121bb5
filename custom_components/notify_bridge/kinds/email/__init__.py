"""The e-mail target: one entry per SMTP account, one "recipient" subentry per list."""

from __future__ import annotations

from ...const import SUBENTRY_EMAIL_RECIPIENT, EntryKind
from ...pipeline.models import OutputFormat
from ...runtime import EntrySteps, Kind
from ..shared.entities import target_entities
from .config_flow import EmailEntryFlow, EmailRecipientFlow
from .setup import async_setup_email, email_diagnostics

KIND = Kind(
    kind=EntryKind.EMAIL,
    manufacturer="E-mail (SMTP)",
    setup=async_setup_email,
    entry_steps=EntrySteps(
        create=EmailEntryFlow.async_step_email,
        reconfigure=EmailEntryFlow.email_reconfigure,
        reauth_confirm=EmailEntryFlow.email_reauth_confirm,
        flow=EmailEntryFlow,
    ),
    subentry_type=SUBENTRY_EMAIL_RECIPIENT,
    subentry_flow=EmailRecipientFlow,
    entities=target_entities("Recipient list"),
    # The HTML part is the render; the text part is derived from it (content.py).
    output_format=lambda _options: OutputFormat.HTML,
    diagnostics=email_diagnostics,
)
