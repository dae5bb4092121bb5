"""E-mail target: an SMTP server account (`SmtpSender`) and its recipient lists
(`EmailDestination`). No Home Assistant here; the glue builds these from entry data."""

from __future__ import annotations

from .content import MailBody, body_for, html_to_text, subject_for
from .destination import EmailDestination
from .media import Download, url_downloader
from .mime import Recipients, build_message
from .sender import SenderStats, SmtpSender
from .settings import (
    DEFAULT_MEDIA_BUDGET,
    DEFAULT_PORTS,
    EmailSettings,
    Security,
    async_plain_host_allowed,
    plain_host_allowed,
)
from .smtp import EmailAuthError, UnconfirmedError
from .validate import FailureReason, ValidationCode, ValidationFailure, async_validate

__all__ = [
    "DEFAULT_MEDIA_BUDGET",
    "DEFAULT_PORTS",
    "Download",
    "EmailAuthError",
    "EmailDestination",
    "EmailSettings",
    "FailureReason",
    "MailBody",
    "Recipients",
    "Security",
    "SenderStats",
    "SmtpSender",
    "UnconfirmedError",
    "ValidationCode",
    "ValidationFailure",
    "async_plain_host_allowed",
    "async_validate",
    "body_for",
    "build_message",
    "html_to_text",
    "plain_host_allowed",
    "subject_for",
    "url_downloader",
]
