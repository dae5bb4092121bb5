"""One recipient list of an e-mail target; implements the pipeline's Destination.

A notification (a digest included) becomes exactly one mail. The result follows the
Telegram target's rules: raise DeliveryError when nothing was accepted (transient
ones are retried by the policy and kept in the outbox), else a result that is
`success` only when every recipient and every media item got through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from ...pipeline.log import get_logger
from ...pipeline.models import (
    DeliveryError,
    DeliveryResult,
    Notification,
    OutputFormat,
    truncate_error,
)
from .content import MailBody, body_for, subject_for
from .media import Download, MediaPlan, async_plan_media
from .mime import Recipients, build_message, serialize
from .sender import SmtpSender
from .smtp import MessageTooLargeError, OutgoingMail, SendReport, UnconfirmedError

_LOGGER = get_logger(__name__)
# Messages with more media bytes than this are built in an executor (base64 and
# line folding of megabytes would hold the event loop).
BUILD_IN_EXECUTOR_BYTES = 256 * 1024
# Bytes left free under a server's SIZE limit when attachments must shrink (headers,
# MIME structure, line breaks of base64).
SIZE_MARGIN = 16 * 1024


def local_now() -> datetime:
    """Return the local time, aware (the Date header)."""
    return datetime.now().astimezone()


class EmailDestination:
    """Mails to one set of recipients through a target's `SmtpSender`."""

    def __init__(
        self,
        sender: SmtpSender,
        *,
        destination_id: str,
        name: str,
        recipients: Recipients,
        default_subject: str | None = None,
        download: Download | None = None,
        clock: Callable[[], datetime] = local_now,
        language: str | None = None,
    ) -> None:
        """`default_subject` is used when a notification has no title; `download`
        fetches media URLs (see `url_downloader`); without it URLs are linked;
        `language` is the readers' (the pipeline renders and digests in it)."""
        self.language = language
        self.sender = sender
        self.recipients = recipients
        self.default_subject = default_subject
        self.destination_id = destination_id
        self.name = name
        self._download = download
        self._clock = clock

    @property
    def output_format(self) -> OutputFormat:
        """Return HTML: the HTML part is the render, the text part derived from it."""
        return OutputFormat.HTML

    async def async_deliver(
        self, notification: Notification, *, plain_render: str | None = None
    ) -> DeliveryResult:
        """Send one mail; `plain_render` is a PLAIN render of the same template,
        used as the text part when the caller has one."""
        body = body_for(notification, plain_render)
        settings = self.sender.settings
        plan = await async_plan_media(
            notification.media,
            budget=settings.media_budget,
            domain=settings.domain,
            download=self._download,
        )
        if not body.text and not plan.parts and not plan.linked:
            raise DeliveryError(
                "; ".join(plan.failures)
                or "nothing to send: empty message and no media",
                permanent=not plan.transient,
            )
        subject = subject_for(notification.title, self.default_subject, body)
        try:
            plan, report = await self._send(notification, subject, body, plan)
        except UnconfirmedError as err:
            _LOGGER.warning("E-mail to %s: %s", self.name, err)
            return self._result(plan, errors=[str(err)], sent=0)
        return self._delivered(plan, report)

    async def _send(
        self, notification: Notification, subject: str, body: MailBody, plan: MediaPlan
    ) -> tuple[MediaPlan, SendReport]:
        """Send; over the server's SIZE limit, once more with fewer attachments (what
        no longer fits is linked, as over the budget)."""
        mail = await self._build(subject, body, plan)
        try:
            return plan, await self.sender.async_send(mail)
        except MessageTooLargeError as err:
            if not plan.attached_bytes:
                raise
            # base64 grows media by 4/3; keep a little room for the text parts.
            excess = (err.size - err.limit) * 3 // 4 + SIZE_MARGIN
            budget = max(0, plan.attached_bytes - excess)
            _LOGGER.info("%s; attaching at most %d bytes of media", err, budget)
            plan = await async_plan_media(
                notification.media,
                budget=budget,
                domain=self.sender.settings.domain,
                download=self._download,
            )
            mail = await self._build(subject, body, plan)
            return plan, await self.sender.async_send(mail)

    async def _build(
        self, subject: str, body: MailBody, plan: MediaPlan
    ) -> OutgoingMail:
        now = self._clock()

        def build() -> OutgoingMail:
            msg = build_message(
                self.sender.settings,
                self.recipients,
                subject=subject,
                body=body,
                plan=plan,
                now=now,
            )
            return OutgoingMail.from_bytes(
                self.sender.settings.sender, self.recipients.envelope, serialize(msg)
            )

        if plan.attached_bytes <= BUILD_IN_EXECUTOR_BYTES:
            return build()
        return await asyncio.get_running_loop().run_in_executor(None, build)

    def _delivered(self, plan: MediaPlan, report: SendReport) -> DeliveryResult:
        errors = [
            f"recipient {address} refused ({code} {message}); the others got it"
            for address, (code, message) in report.refused.items()
        ]
        return self._result(plan, errors=errors, sent=1)

    def _result(
        self, plan: MediaPlan, *, errors: list[str], sent: int
    ) -> DeliveryResult:
        notes = [
            f"media {link.index + 1} ({link.item.type}) skipped: {link.reason}"
            for link in plan.linked
        ]
        problems = [*errors, *plan.failures]
        return DeliveryResult(
            destination_id=self.destination_id,
            destination_name=self.name,
            success=sent > 0 and not problems,
            messages_sent=sent,
            media_delivered=len(plan.parts) if sent else 0,
            media_skipped=len(plan.linked),
            media_failed=len(plan.failures),
            errors=tuple(truncate_error(e) for e in (*problems, *notes)),
        )
